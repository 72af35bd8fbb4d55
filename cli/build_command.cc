// `tracepack build [SPEC]`: the one command users run. Traces every test of
// the spec (each as a `tracepack trace` child process, up to -j at once, each
// pinned to its own CPU), checks exit codes and expected output, then plans and
// writes the bundle and prints a summary.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "test_runner.h"
#include "verify.h"
#include "tracepack/dpkg.h"
#include "tracepack/error.h"
#include "tracepack/pack.h"

namespace tracepack::cli {
namespace {

namespace fs = std::filesystem;

struct BuildArgs {
  std::string spec = "tracepack.yaml";
  std::string traces_dir;
  std::string output;
  std::string format;
  unsigned jobs = 1;
  bool allow_missing = false;
  bool allow_truncated = false;
  bool json = false;
  bool verify = true;
};

nlohmann::json summary_json(const BundleSpec& spec, const BundlePlan& plan, const WriteResult& w, const std::string& output) {
  nlohmann::json j;
  j["bundle"] = spec.name;
  j["output"] = output;
  j["format"] = w.format;
  j["files"] = w.files;
  j["directories"] = w.directories;
  j["symlinks"] = w.symlinks;
  j["bytes"] = w.bytes;
  j["output_bytes"] = w.output_bytes;
  j["tests"] = spec.tests.size();
  nlohmann::json excluded = nlohmann::json::object();
  for (const auto& [reason, count] : count_exclusions(plan)) excluded[reason] = count;
  j["excluded"] = excluded;
  j["warnings"] = plan.warnings;
  nlohmann::json packages = nlohmann::json::array();
  for (const PackageUsage& u : package_usage(plan))
    packages.push_back({{"package", u.package}, {"files_used", u.files_used}, {"bytes_used", u.bytes_used},
                        {"files_installed", u.files_installed}, {"bytes_installed", u.bytes_installed}});
  j["packages"] = packages;
  return j;
}

// Bytes packed against the installed size of the Debian packages they came from.
void print_packages(const BundlePlan& plan) {
  std::vector<PackageUsage> usage = package_usage(plan);
  if (usage.empty()) return;
  std::uint64_t used = 0, installed = 0;
  for (const PackageUsage& u : usage) {
    used += u.package.empty() ? 0 : u.bytes_used;
    installed += u.bytes_installed;
  }
  std::fprintf(stderr, "tracepack:   %.1f MiB packed from %zu Debian package(s) of %.1f MiB installed; %.1f MiB from no package\n",
               static_cast<double>(used) / 1048576.0, usage.size() - 1, static_cast<double>(installed) / 1048576.0,
               static_cast<double>(usage.back().bytes_used) / 1048576.0);
}

int run_build(const BuildArgs& args) {
  BundleSpec spec = load_spec(args.spec);
  fs::path spec_dir = fs::absolute(args.spec).parent_path();
  // Absolute: each test's tracer runs in the test's own directory.
  fs::path traces_dir = fs::absolute(args.traces_dir.empty() ? spec_dir / ".tracepack" / "traces" : fs::path(args.traces_dir));
  std::string format = !args.format.empty() ? args.format : spec.output.format;
  if (format.empty()) format = format_from_path(args.output.empty() ? spec.output.path : args.output);
  if (std::find(std::begin(kBundleFormats), std::end(kBundleFormats), format) == std::end(kBundleFormats))
    throw Error(format + ": unknown bundle format (use dir, tar, tar.gz, tar.zst, tar.xz, zip, cpio, oci, oci-archive, docker-archive)");
  std::error_code ec;
  fs::create_directories(traces_dir, ec);
  if (ec) throw Error(traces_dir.string() + ": cannot create: " + ec.message());
  if (args.verify) check_tests_can_run_in_a_bundle(spec, spec_dir);  // before minutes of tracing
  bool progress = !args.json && isatty(STDERR_FILENO);
  TestRunOptions on_host;
  on_host.jobs = std::max(1u, args.jobs);
  on_host.progress = progress;
  std::vector<TestRun> runs = run_tests(spec, spec_dir, traces_dir, on_host);
  std::string failures;
  for (const TestRun& run : runs)
    if (std::string why = check_test(run); !why.empty()) failures += "\n  test '" + run.test->name + "': " + why;
  if (!failures.empty()) throw Error("build: test(s) failed, nothing packed:" + failures);

  PackRequest request;
  request.spec = spec;
  for (const TestRun& run : runs) request.trace_files.push_back(run.trace_file);
  request.output = args.output.empty() ? (spec_dir / spec.output.path).string() : args.output;
  request.format = args.format;
  request.allow_missing = args.allow_missing;
  request.allow_truncated = args.allow_truncated;
  if (const char* epoch = std::getenv("SOURCE_DATE_EPOCH"); epoch && *epoch) request.source_date_epoch = std::atoll(epoch);
  BundlePlan plan = plan_bundle(request);
  WriteResult written = pack_bundle(request, plan);
  std::vector<VerifyResult> verified;
  bool verify = args.verify;
  if (verify)
    verified = verify_bundle({request.output, &spec, spec_dir, traces_dir, std::max(1u, args.jobs), progress});
  bool passed = std::all_of(verified.begin(), verified.end(), [](const VerifyResult& r) { return r.passed; });
  if (args.json) {
    nlohmann::json summary = summary_json(spec, plan, written, request.output);
    if (verify) summary["verify"] = verify_json(verified);
    std::printf("%s\n", summary.dump(2).c_str());
    return passed ? 0 : 1;
  }
  std::fprintf(stderr, "tracepack: %zu test(s) traced; packed %llu files (%.1f MiB) into %s (%s, %.1f MiB)\n",
               runs.size(), static_cast<unsigned long long>(written.files),
               static_cast<double>(written.bytes) / 1048576.0, request.output.c_str(), written.format.c_str(),
               static_cast<double>(written.output_bytes) / 1048576.0);
  if (!written.image_digest.empty()) std::fprintf(stderr, "tracepack:   image %s\n", written.image_digest.c_str());
  print_packages(plan);
  for (const auto& [reason, count] : count_exclusions(plan))
    std::fprintf(stderr, "tracepack:   left out %zu: %s\n", count, reason.c_str());
  for (const std::string& w : plan.warnings) std::fprintf(stderr, "tracepack: warning: %s\n", w.c_str());
  std::istringstream lines(verify_text(verified));
  for (std::string line; std::getline(lines, line);) std::fprintf(stderr, "tracepack: verify: %s\n", line.c_str());
  if (!passed) throw Error("build: the bundle failed verification (it was written: " + request.output + ")");
  return 0;
}

}  // namespace

Action add_build_command(CLI::App& app) {
  auto args = std::make_shared<BuildArgs>();
  CLI::App* cmd = app.add_subcommand("build", "Trace every test of a spec, then pack the bundle");
  cmd->add_option("spec", args->spec, "Spec file")->capture_default_str();
  cmd->add_option("-j,--jobs", args->jobs, "Test cases traced at once, each on its own CPU")->capture_default_str();
  cmd->add_option("--traces", args->traces_dir, "Directory for the traces (default: .tracepack/traces beside the spec)");
  cmd->add_option("-o,--output", args->output, "Output path (overrides the spec's output.path)");
  cmd->add_option("-f,--format", args->format, "Output format (overrides the spec's output.format)");
  cmd->add_flag("--allow-missing", args->allow_missing, "Pack even if traced files are gone now");
  cmd->add_flag("--allow-truncated", args->allow_truncated, "Use a trace without its end record (the run was cut short), with a warning");
  cmd->add_flag("--json", args->json, "Print the summary as JSON on stdout");
  cmd->add_flag("!--no-verify", args->verify, "Do not run the tests again in a root holding only the bundle");
  return [args] { return run_build(*args); };
}

}  // namespace tracepack::cli

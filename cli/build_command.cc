// `tracepack build [SPEC]`: the one command users run. Traces every test of
// the spec (each as a `tracepack trace` child process, up to -j at once, each
// pinned to its own CPU), checks exit codes and expected output, then plans and
// writes the bundle and prints a summary (with a line on what each test
// brought that no other did). The output location is checked
// before any test runs; the bundle is written under a staging name beside the
// output, verified there, and only then renamed into place: one that fails
// verification is kept as OUTPUT.failed and the previous output is untouched.
// With --trace-only it stops after the tests, leaving their traces to be
// packed later; with --shard K/N it traces only the tests of shard K
// (shard_of), for runs spread over many machines (docs/sharding.md).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "tracepack/clock.h"
#include "tracepack/dpkg.h"
#include "tracepack/error.h"
#include "tracepack/from_image.h"
#include "tracepack/candidates.h"
#include "tracepack/host_specific.h"
#include "tracepack/output_format.h"
#include "tracepack/pack.h"
#include "tracepack/report.h"
#include "tracepack/shard.h"
#include "tracepack/verify.h"

namespace tracepack::cli {
namespace {

namespace fs = std::filesystem;

struct BuildArgs {
  std::string spec = "tracepack.yaml";
  std::string traces_dir;
  std::string output;
  std::string format;
  std::string from;
  unsigned jobs = 1;
  bool allow_missing = false;
  bool allow_truncated = false;
  bool json = false;
  bool verify = true;
  bool candidates = true;  // look for candidates to review after packing
  bool trace_only = false;
  std::string shard;  ///< "K/N", "" without --shard
  bool shard_given = false;
  std::vector<std::string> sbom;
};

// "K/N" with 1 <= K <= N, as --shard takes it.
Shard parse_shard(const std::string& text) {
  auto number = [](std::string_view digits, unsigned& out) {
    if (digits.empty() || digits.size() > 9 || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return false;
    out = static_cast<unsigned>(std::stoul(std::string(digits)));
    return true;
  };
  Shard shard;
  std::size_t slash = text.find('/');
  if (slash == std::string::npos || !number(std::string_view(text).substr(0, slash), shard.index) ||
      !number(std::string_view(text).substr(slash + 1), shard.count) || shard.index < 1 || shard.index > shard.count)
    throw UsageError("--shard: expected K/N with 1 <= K <= N, not '" + text + "'");
  return shard;
}

// What build says of the candidates (candidates.h): how many, how many from
// the application's own files, and what could not be checked.
struct CandidateCount {
  std::size_t total = 0;
  std::size_t application = 0;
  std::vector<std::string> notes;
};

CandidateCount count_candidates(const BundlePlan& plan, const PathBytes& root, const std::vector<std::string>& search_paths) {
  std::vector<PathBytes> paths;
  for (const PlanEntry& e : plan.entries) paths.push_back(e.path);
  CandidateList found = find_candidates(paths, HostFileSystem(root), root, plan.review_ignore, listed_directories(plan.entries), plan.knowledge,
                                        plan.packs_on, search_paths);
  CandidateCount count{found.candidates.size(), 0, std::move(found.notes)};
  count.application = std::count_if(found.candidates.begin(), found.candidates.end(), [](const Candidate& c) { return c.rank == 1; });
  return count;
}

// The candidate analysis, run in a child process while the bundle is packed
// and verified: it reads the source file system only (and runs the bundle's
// interpreters, each in its own process), and on two or more CPUs its time
// hides behind theirs. The child is forked before packing, while build is
// still a single thread; it writes its count to a pipe and ends with _exit.
// The verification's wait for any child may reap it first, so the answer is
// the pipe's text up to its end marker, not the child's status. When the
// child cannot be had, or its answer is cut short, the analysis runs here.
class CandidatesInBackground {
 public:
  CandidatesInBackground(const BundlePlan& plan, PathBytes root, std::vector<std::string> search_paths)
      : plan_(plan), root_(std::move(root)), search_paths_(std::move(search_paths)) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return;
    std::fflush(nullptr);
    pid_ = fork();
    if (pid_ < 0) {
      close(fds[0]);
      close(fds[1]);
      return;
    }
    if (pid_ == 0) {
      close(fds[0]);
      std::string text;
      try {
        CandidateCount count = count_candidates(plan_, root_, search_paths_);
        text = std::to_string(count.total) + " " + std::to_string(count.application) + "\n";
        for (const std::string& note : count.notes) text += "note " + note + "\n";
        text += "end\n";
      } catch (...) {
        text.clear();  // the parent runs the analysis itself, and reports its error
      }
      for (std::size_t done = 0; done < text.size();) {
        ssize_t n = write(fds[1], text.data() + done, text.size() - done);
        if (n <= 0) break;
        done += static_cast<std::size_t>(n);
      }
      _exit(0);
    }
    close(fds[1]);
    fd_ = fds[0];
  }
  ~CandidatesInBackground() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) close(fd_);
  }
  CandidatesInBackground(const CandidatesInBackground&) = delete;
  CandidatesInBackground& operator=(const CandidatesInBackground&) = delete;

  /// The count, from the child when it answered in full, else computed now.
  CandidateCount result() {
    std::string text;
    if (fd_ >= 0) {
      char buffer[4096];
      for (ssize_t n; (n = read(fd_, buffer, sizeof buffer)) != 0;) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        text.append(buffer, static_cast<std::size_t>(n));
      }
      close(fd_);
      fd_ = -1;
      waitpid(pid_, nullptr, 0);  // ECHILD when the verification reaped it: its answer is the text
      pid_ = -1;
    }
    if (!text.ends_with("end\n")) return count_candidates(plan_, root_, search_paths_);
    CandidateCount count;
    std::istringstream lines(text);
    std::string line;
    std::getline(lines, line);
    std::istringstream(line) >> count.total >> count.application;
    while (std::getline(lines, line))
      if (line.starts_with("note ")) count.notes.push_back(line.substr(5));
    return count;
  }

 private:
  const BundlePlan& plan_;
  PathBytes root_;
  std::vector<std::string> search_paths_;
  pid_t pid_ = -1;
  int fd_ = -1;
};

// "N candidates to review" and where to read them.
void print_candidates(const CandidateCount& count, const std::string& bundle) {
  for (const std::string& note : count.notes) std::fprintf(stderr, "tracepack: warning: candidates: %s\n", note.c_str());
  if (count.total == 0) return;
  std::fprintf(stderr, "tracepack: %zu candidate%s to review, %zu from the application's own files (what it may need that no test used): tracepack report %s\n",
               count.total, count.total == 1 ? "" : "s", count.application, bundle.c_str());
}

// --trace-only's report: where the traces are, and how to pack them.
int report_traces(const BuildArgs& args, const BundleSpec& spec, const std::optional<Shard>& shard, const std::vector<TestRun>& runs,
                  const fs::path& traces_dir) {
  std::string shard_name = shard ? std::to_string(shard->index) + "/" + std::to_string(shard->count) : "";
  if (args.json) {
    nlohmann::json j;
    j["bundle"] = spec.name;
    if (shard) j["shard"] = {{"index", shard->index}, {"count", shard->count}};
    j["spec_tests"] = spec.tests.size();
    j["tests"] = nlohmann::json::array();
    j["traces"] = nlohmann::json::array();
    for (const TestRun& run : runs) {
      j["tests"].push_back(run.test->name);
      j["traces"].push_back(run.trace_file);
    }
    j["traces_dir"] = traces_dir.string();
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  if (runs.empty()) {
    std::fprintf(stderr, "tracepack: shard %s holds none of the spec's %zu test(s): no trace written\n", shard_name.c_str(),
                 spec.tests.size());
    return 0;
  }
  if (shard)
    std::fprintf(stderr, "tracepack: shard %s: %zu of %zu test(s) traced into %s\n", shard_name.c_str(), runs.size(), spec.tests.size(),
                 traces_dir.c_str());
  else
    std::fprintf(stderr, "tracepack: %zu test(s) traced into %s\n", runs.size(), traces_dir.c_str());
  std::fprintf(stderr, "tracepack:   pack them%s with: tracepack pack --spec %s %s/*.jsonl\n", shard ? " (with the other shards')" : "",
               args.spec.c_str(), traces_dir.c_str());
  return 0;
}

nlohmann::json summary_json(const BundleSpec& spec, const BundlePlan& plan, const WriteResult& w, const std::string& output,
                            const PathBytes& root) {
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
  j["host_specific"] = nlohmann::json::array();
  for (const HostSpecificFinding& f : plan.host_specific)
    j["host_specific"].push_back({{"path", encode_path(f.path)}, {"why", f.why}, {"exclude_line", f.exclude_line}});
  nlohmann::json packages = nlohmann::json::array();
  for (const PackageUsage& u : package_usage(plan, dpkg_admin_dir(root), root))
    packages.push_back({{"package", u.package},
                        {"files_used", u.files_used},
                        {"bytes_used", u.bytes_used},
                        {"files_installed", u.files_installed},
                        {"bytes_installed", u.bytes_installed}});
  j["packages"] = packages;
  return j;
}

// A line on stderr as each test ends, on the host or in the bundle.
void print_progress(const TestProgress& progress) { std::fprintf(stderr, "tracepack: %s\n", progress_line(progress).c_str()); }

// Bytes packed against the installed size of the Debian packages they came from.
void print_packages(const BundlePlan& plan, const PathBytes& root) {
  std::vector<PackageUsage> usage = package_usage(plan, dpkg_admin_dir(root), root);
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

double seconds_since(double start) { return monotonic_seconds() - start; }

int run_build(const BuildArgs& args) {
  std::optional<Shard> shard;
  if (args.shard_given) shard = parse_shard(args.shard);
  if (shard && !args.trace_only)
    throw UsageError("build: --shard needs --trace-only: a shard's traces are packed with the other shards' (tracepack pack --spec SPEC "
                     "TRACES...)");
  BundleSpec spec = load_spec(args.spec);
  fs::path spec_dir = fs::absolute(args.spec).parent_path();
  std::string from = base_reference(args.from, spec);  // "" for the host
  // Absolute: each test's tracer runs in the test's own directory.
  fs::path traces_dir = fs::absolute(args.traces_dir.empty() ? spec_dir / ".tracepack" / "traces" : fs::path(args.traces_dir));
  std::string format = !args.format.empty() ? args.format : spec.output.format;
  if (format.empty()) format = format_from_path(args.output.empty() ? spec.output.path : args.output);
  std::vector<std::string> sbom;
  std::string output = args.output.empty() ? (spec_dir / spec.output.path).string() : args.output;
  if (!args.trace_only) {
    parse_output_format(format);  // refused before minutes of tracing
    sbom = sbom_formats(args.sbom);
    std::vector<std::string> inputs = {args.spec, spec_dir.string(), traces_dir.string()};
    if (!from.empty()) inputs.push_back(base_image_path(from));  // the image the tests run in
    check_output_target(output, format, inputs);                 // before minutes of tracing
  }
  std::error_code ec;
  fs::create_directories(traces_dir, ec);
  if (ec) throw Error(traces_dir.string() + ": cannot create: " + ec.message());
  // A test's directory on the host must be one a bundle can hold; in an
  // image it is the image's own, checked when the test starts there.
  if (args.verify && !args.trace_only && from.empty()) check_tests_can_run_in_a_bundle(spec, spec_dir);  // before minutes of tracing
  bool progress = !args.json && isatty(STDERR_FILENO);
  std::optional<OpenedBase> base;
  std::optional<ImageRunEnvironment> in_image;
  PackRequest request;
  if (!from.empty()) {
    double start = monotonic_seconds();
    base.emplace(from);
    const BaseImage& image = base->image();
    check_runs_here(image);
    if (!args.json)
      std::fprintf(stderr, "tracepack: from %s (%s): %llu files, %.1f MB, ready in %.1f s\n", image.reference.c_str(), image.kind.c_str(),
                   static_cast<unsigned long long>(image.files), static_cast<double>(image.bytes) / 1e6, seconds_since(start));
    // The spec's image: keys win over the base's: the tests run as the result will.
    request.spec = spec;
    read_from_base(request, *base);
    spec = request.spec;
    in_image = run_environment(spec.image);
  }
  TestRunOptions on_host;
  on_host.jobs = std::max(1u, args.jobs);
  if (progress) on_host.on_test_end = print_progress;
  on_host.stdout_to_stderr = args.json;  // stdout holds the JSON document alone
  if (base) {
    on_host.sandbox = base->root();
    on_host.image = in_image;
  }
  BundleSpec traced = spec;  // the runs point into its tests
  if (shard) traced.tests = tests_in_shard(spec.tests, *shard);
  std::vector<TestRun> runs;
  if (!traced.tests.empty()) runs = run_tests(traced, spec_dir, traces_dir, on_host);
  std::string failures;
  for (const TestRun& run : runs)
    if (std::string why = check_test(run); !why.empty()) failures += "\n  test '" + run.test->name + "': " + why;
  if (!failures.empty()) throw Error("build: test(s) failed, nothing packed:" + failures);
  if (args.trace_only) return report_traces(args, spec, shard, runs, traces_dir);

  request.spec = spec;
  for (const TestRun& run : runs) request.trace_files.push_back(run.trace_file);
  request.output = output;
  request.format = format;
  request.allow_missing = args.allow_missing;
  request.allow_truncated = args.allow_truncated;
  request.sbom = sbom;
  if (const char* epoch = std::getenv("SOURCE_DATE_EPOCH"); epoch && *epoch) request.source_date_epoch = std::atoll(epoch);
  BundlePlan plan = plan_bundle(request);
  std::optional<CandidatesInBackground> candidates;
  if (args.candidates && !args.json) candidates.emplace(plan, request.root, test_search_paths(spec.tests));
  // Verified under a staging name first; without verification, written in place.
  std::optional<StagedBundle> staged;
  if (args.verify) request.output = staged.emplace(output).path();
  WriteResult written = pack_bundle(request, plan);
  VerifyResult verified;
  bool verify = args.verify;
  if (verify) {
    VerifyRequest in_bundle;
    in_bundle.bundle = request.output;
    in_bundle.spec = spec;
    in_bundle.spec_dir = spec_dir;
    in_bundle.original_traces = traces_dir;
    in_bundle.jobs = std::max(1u, args.jobs);
    if (progress) in_bundle.on_test_end = print_progress;
    in_bundle.stdout_to_stderr = args.json;
    in_bundle.image = in_image;
    if (base) in_bundle.image_root = base->root();
    verified = verify_bundle(in_bundle);
  }
  bool passed = verified.passed;
  std::string failed = passed ? "" : failed_output_path(output);
  bool had_output = fs::exists(fs::symlink_status(output, ec));
  if (staged) staged->publish(passed ? output : failed);
  write_sboms_beside(written, passed ? output : failed);
  if (args.json) {
    nlohmann::json summary = summary_json(spec, plan, written, output, request.root);
    if (base)
      summary["from"] = {{"reference", base->image().reference},
                         {"kind", base->image().kind},
                         {"bytes", base->image().bytes},
                         {"files", base->image().files}};
    if (!passed) summary["failed_bundle"] = failed;
    // The verify document as `tracepack verify --json` prints it, read back to nest it here.
    if (verify) summary["verify"] = nlohmann::json::parse(render_verify_json(verified));
    std::printf("%s\n", summary.dump(2).c_str());
    return passed ? 0 : 1;
  }
  std::fprintf(stderr, "tracepack: %zu test(s) traced; packed %llu files (%.1f MiB) into %s (%s, %.1f MiB)\n", runs.size(),
               static_cast<unsigned long long>(written.files), static_cast<double>(written.bytes) / 1048576.0,
               (passed ? output : failed).c_str(), written.format.c_str(), static_cast<double>(written.output_bytes) / 1048576.0);
  if (!written.image_digest.empty()) std::fprintf(stderr, "tracepack:   image %s\n", written.image_digest.c_str());
  if (base) std::fprintf(stderr, "tracepack:   %s\n", size_reduction_line(base->image().bytes, written.bytes).c_str());
  print_packages(plan, request.root);
  std::fprintf(stderr, "tracepack: %s\n", test_contributions_line(test_contributions(plan)).c_str());
  for (const auto& [reason, count] : count_exclusions(plan)) std::fprintf(stderr, "tracepack:   left out %zu: %s\n", count, reason.c_str());
  for (const std::string& w : plan.warnings) std::fprintf(stderr, "tracepack: warning: %s\n", w.c_str());
  for (const std::string& line : host_specific_lines(plan.host_specific)) std::fprintf(stderr, "tracepack: %s\n", line.c_str());
  if (candidates) print_candidates(candidates->result(), passed ? output : failed);
  std::istringstream lines(render_verify_text(verified));
  for (std::string line; std::getline(lines, line);) std::fprintf(stderr, "tracepack: verify: %s\n", line.c_str());
  if (!passed && had_output)
    throw Error("build: the bundle failed verification and did not replace " + output + " (left as it was); the failed bundle is kept at " +
                failed);
  if (!passed)
    throw Error("build: the bundle failed verification and was not written to " + output + "; the failed bundle is kept at " + failed);
  return 0;
}

}  // namespace

Action add_build_command(CLI::App& app) {
  auto args = std::make_shared<BuildArgs>();
  CLI::App* cmd = add_command(app, "build");
  cmd->add_option("spec", args->spec, "Spec file")->capture_default_str();
  cmd->add_option("-j,--jobs", args->jobs, "Test cases traced at once, each on its own CPU")->capture_default_str();
  cmd->add_option("--traces", args->traces_dir, "Directory for the traces (default: .tracepack/traces beside the spec)");
  cmd->add_option("-o,--output", args->output, "Output path (overrides the spec's output.path)");
  cmd->add_option("-f,--format", args->format, "Output format (overrides the spec's output.format)");
  cmd->add_option("--from", args->from,
                  "Image the tests run in and the bundle is taken from: an OCI layout DIR[:TAG], an oci-archive or docker-archive tar, "
                  "or a root directory (overrides the spec's from:)");
  cmd->add_flag("--allow-missing", args->allow_missing, "Pack even if traced files are gone now");
  cmd->add_flag("--allow-truncated", args->allow_truncated, "Use a trace without its end record (the run was cut short), with a warning");
  cmd->add_option("--sbom", args->sbom, "Also write an SBOM: cyclonedx or spdx (repeat, or comma-separated, for both)")->delimiter(',');
  cmd->add_flag("--json", args->json, "Print the summary as JSON on stdout (the tests' own output goes to stderr)");
  cmd->add_flag("!--no-verify", args->verify, "Do not run the tests again in a root holding only the bundle");
  cmd->add_flag("!--no-candidates", args->candidates,
                "Do not look for candidates to review (what the bundle's files may need that no test used; tracepack report lists them)");
  cmd->add_flag("--trace-only", args->trace_only,
                "Trace the tests and stop: no bundle, no verification (pack the traces later with tracepack pack --spec SPEC)");
  CLI::Option* shard = cmd->add_option("--shard", args->shard,
                                       "With --trace-only: trace only the tests of shard K of N (K/N, 1-based), chosen by a hash of "
                                       "each test's name (docs/sharding.md)");
  cmd->footer(exit_status_footer({{"0", "the bundle was written and passed verification"},
                                  {"0", "with --trace-only: the tests passed and their traces were written"},
                                  {"1", "a test failed, the bundle failed verification, or an error (message on stderr)"}}));
  return [args, shard] {
    args->shard_given = shard->count() > 0;
    return run_build(*args);
  };
}

}  // namespace tracepack::cli

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
#include "tracepack/dpkg.h"
#include "tracepack/error.h"
#include "tracepack/pack.h"

extern char** environ;

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
  bool json = false;
};

struct TestRun {
  const TestCase* test = nullptr;
  std::string trace_file;
  std::string stdout_file;
  pid_t pid = -1;
  int status = 0;
  double seconds = 0;
};

std::vector<std::string> test_environment(const TestCase& test) {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry(*e);
    std::size_t eq = entry.find('=');
    if (eq != entry.npos) env[std::string(entry.substr(0, eq))] = std::string(entry.substr(eq + 1));
  }
  for (const auto& [name, value] : test.env) env[name] = value;
  std::vector<std::string> out;
  for (const auto& [name, value] : env) out.push_back(name + "=" + value);
  return out;
}

// tracepack itself, installed beside this program.
std::string tracepack_program() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("tracepack") : (self.parent_path() / "tracepack").string();
}

std::vector<std::string> tracer_argv(const TestRun& run, unsigned cpu) {
  const TestCase& t = *run.test;
  std::vector<std::string> argv = {tracepack_program(), "trace", "-q", "--cpu", std::to_string(cpu), "--label", t.name,
                                   "-o", run.trace_file};
  if (t.timeout > 0) argv.insert(argv.end(), {"--timeout", std::to_string(t.timeout)});
  argv.push_back("--");
  if (t.argv.empty()) argv.insert(argv.end(), {"/bin/sh", "-c", t.shell});
  else argv.insert(argv.end(), t.argv.begin(), t.argv.end());
  return argv;
}

// Starts one test's tracer as a child process in the test's directory and environment.
pid_t start_test(const TestRun& run, const fs::path& spec_dir, unsigned cpu) {
  std::vector<std::string> argv = tracer_argv(run, cpu);
  std::vector<std::string> env = test_environment(*run.test);
  std::vector<char*> cargv, cenv;
  for (std::string& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  for (std::string& e : env) cenv.push_back(e.data());
  cenv.push_back(nullptr);
  std::string cwd = (spec_dir / run.test->cwd).string();
  int out = -1;
  if (run.test->stdout_text) {
    out = open(run.stdout_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) throw_system_error(run.stdout_file);
  }
  pid_t pid = fork();
  if (pid < 0) throw_system_error("fork");
  if (pid == 0) {
    if (out >= 0) dup2(out, STDOUT_FILENO);
    if (chdir(cwd.c_str()) != 0) {
      std::fprintf(stderr, "tracepack: error: test '%s': cannot change to directory %s: %s\n", run.test->name.c_str(),
                   cwd.c_str(), std::strerror(errno));
      _exit(126);
    }
    execve(cargv[0], cargv.data(), cenv.data());
    _exit(127);
  }
  if (out >= 0) close(out);
  return pid;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// "" when the test did what the spec expects, else why not.
std::string check_test(const TestRun& run) {
  const TestCase& t = *run.test;
  if (WIFSIGNALED(run.status)) return "killed by signal " + std::to_string(WTERMSIG(run.status));
  int code = WEXITSTATUS(run.status);
  if (code == 124 && t.timeout > 0) return "timed out after " + std::to_string(t.timeout) + " s";
  if (code != t.exit) return "exit status " + std::to_string(code) + ", expected " + std::to_string(t.exit);
  if (t.stdout_text && read_file(run.stdout_file) != *t.stdout_text) return "standard output differs from the spec's 'stdout'";
  return "";
}

double now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Runs every test, at most `jobs` at once; returns them with their statuses.
std::vector<TestRun> run_tests(const BundleSpec& spec, const fs::path& spec_dir, const fs::path& traces_dir,
                               unsigned jobs, bool progress) {
  std::vector<TestRun> runs;
  for (const TestCase& t : spec.tests)
    runs.push_back({&t, (traces_dir / (t.name + ".jsonl")).string(), (traces_dir / (t.name + ".stdout")).string()});
  unsigned cpus = std::max(1u, static_cast<unsigned>(sysconf(_SC_NPROCESSORS_ONLN)));
  std::map<pid_t, std::pair<std::size_t, unsigned>> running;  // pid -> (run index, cpu)
  std::vector<bool> cpu_busy(cpus, false);
  std::size_t next = 0, done = 0;
  while (done < runs.size()) {
    while (next < runs.size() && running.size() < jobs) {
      unsigned cpu = 0;
      while (cpu + 1 < cpus && cpu_busy[cpu]) ++cpu;
      cpu_busy[cpu] = true;
      runs[next].seconds = now();
      runs[next].pid = start_test(runs[next], spec_dir, cpu);
      running[runs[next].pid] = {next, cpu};
      ++next;
    }
    int status = 0;
    pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) throw_system_error("waitpid");
    auto it = running.find(pid);
    if (it == running.end()) continue;
    TestRun& run = runs[it->second.first];
    cpu_busy[it->second.second] = false;
    running.erase(it);
    run.status = status;
    run.seconds = now() - run.seconds;
    ++done;
    if (progress)
      std::fprintf(stderr, "tracepack: [%zu/%zu] %s: %s (%.1f s)\n", done, runs.size(), run.test->name.c_str(),
                   check_test(run).empty() ? "ok" : "FAILED", run.seconds);
  }
  return runs;
}

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
    throw Error(format + ": unknown bundle format (use dir, tar, tar.gz, tar.zst, tar.xz, zip, cpio)");
  std::error_code ec;
  fs::create_directories(traces_dir, ec);
  if (ec) throw Error(traces_dir.string() + ": cannot create: " + ec.message());
  bool progress = !args.json && isatty(STDERR_FILENO);
  std::vector<TestRun> runs = run_tests(spec, spec_dir, traces_dir, std::max(1u, args.jobs), progress);
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
  if (const char* epoch = std::getenv("SOURCE_DATE_EPOCH"); epoch && *epoch) request.source_date_epoch = std::atoll(epoch);
  BundlePlan plan = plan_bundle(request);
  WriteResult written = pack_bundle(request, plan);
  if (args.json) {
    std::printf("%s\n", summary_json(spec, plan, written, request.output).dump(2).c_str());
    return 0;
  }
  std::fprintf(stderr, "tracepack: %zu test(s) traced; packed %llu files (%.1f MiB) into %s (%s, %.1f MiB)\n",
               runs.size(), static_cast<unsigned long long>(written.files),
               static_cast<double>(written.bytes) / 1048576.0, request.output.c_str(), written.format.c_str(),
               static_cast<double>(written.output_bytes) / 1048576.0);
  print_packages(plan);
  for (const auto& [reason, count] : count_exclusions(plan))
    std::fprintf(stderr, "tracepack:   left out %zu: %s\n", count, reason.c_str());
  for (const std::string& w : plan.warnings) std::fprintf(stderr, "tracepack: warning: %s\n", w.c_str());
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
  cmd->add_flag("--json", args->json, "Print the summary as JSON on stdout");
  return [args] { return run_build(*args); };
}

}  // namespace tracepack::cli

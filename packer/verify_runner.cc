// Running a spec's tests under `tracepack trace`, up to -j at once, each
// tracer (with its tracees) pinned to its own CPU. Each test's tracer is a
// child process started in the test's directory and environment (or, in a
// sandbox, told the directory inside it); it exits as the test did. A test's
// standard output goes to a file when the spec checks it, else to ours (or
// to our stderr, when our stdout is a JSON document).
//
// In a container image's root the image's config takes the host's place:
// its Env is the test's whole environment (handed to the tracer with --env:
// the tracer itself keeps the caller's), its WorkingDir is where cwd: starts, its User is passed to the
// tracer (--user, resolved in the root) and its Entrypoint + Cmd is what a
// test without run: or shell: runs.
#include "tracepack/verify_runner.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "tracepack/clock.h"
#include "tracepack/error.h"

extern char** environ;

namespace tracepack {
namespace {

namespace fs = std::filesystem;

// The caller's environment (or the image's) with the test's own added, and
// PWD naming the test's directory: a shell trusts PWD when it names its cwd,
// and looks the caller's directory up otherwise (which a bundle need not hold).
std::vector<std::string> test_environment(const TestCase& test, const std::string& cwd, const TestRunOptions& options) {
  std::map<std::string, std::string> env;
  auto add = [&env](std::string_view entry) {
    std::size_t eq = entry.find('=');
    if (eq != entry.npos) env[std::string(entry.substr(0, eq))] = std::string(entry.substr(eq + 1));
  };
  if (options.image) {
    for (const std::string& entry : options.image->env) add(entry);
  } else {
    for (char** e = environ; *e != nullptr; ++e) add(*e);
  }
  env["PWD"] = cwd;
  for (const auto& [name, value] : test.env) env[name] = value;
  std::vector<std::string> out;
  for (const auto& [name, value] : env) out.push_back(name + "=" + value);
  return out;
}

// tracepack itself, installed beside this program.
std::string default_tracepack_program() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("tracepack") : (self.parent_path() / "tracepack").string();
}

std::vector<std::string> tracer_argv(const TestRun& run, const std::filesystem::path& cwd, const TestRunOptions& options, unsigned cpu,
                                     const std::vector<std::string>& env) {
  const TestCase& t = *run.test;
  const std::string& sandbox = options.sandbox;
  std::string program = options.tracepack_program.empty() ? default_tracepack_program() : options.tracepack_program;
  std::vector<std::string> argv = {program, "trace", "-q", "--cpu", std::to_string(cpu), "--label", t.name, "-o", run.trace_file};
  // In a sandbox the test's directory is the same path inside the bundle (an
  // image's: the path in the image's view).
  if (!sandbox.empty()) argv.insert(argv.end(), {"--sandbox", sandbox, "--cwd", cwd.string()});
  // An image without a user runs as root, whoever runs the tests.
  if (options.image) argv.insert(argv.end(), {"--user", options.image->user.empty() ? "0" : options.image->user});
  // The image's environment is the test's alone: the tracer keeps the
  // caller's (an image's TMPDIR or LD_PRELOAD means nothing on the host).
  if (options.image)
    for (const std::string& entry : env) argv.push_back("--env=" + entry);
  if (t.timeout > 0) argv.insert(argv.end(), {"--timeout", std::to_string(t.timeout)});
  argv.push_back("--");
  std::vector<std::string> command = test_command(t, options.image);
  argv.insert(argv.end(), command.begin(), command.end());
  return argv;
}

}  // namespace

std::string test_directory(const fs::path& spec_dir, const TestCase& test) {
  return (test.cwd.empty() ? spec_dir : spec_dir / test.cwd).lexically_normal().string();
}

std::string test_directory(const fs::path& spec_dir, const TestCase& test, const TestRunOptions& options) {
  if (!options.image) return test_directory(spec_dir, test);
  fs::path workdir = options.image->workdir.empty() ? fs::path("/") : fs::path("/") / options.image->workdir;
  return (test.cwd.empty() ? workdir : workdir / test.cwd).lexically_normal().string();
}

std::vector<std::string> test_command(const TestCase& test, const std::optional<ImageRunEnvironment>& image) {
  if (!test.argv.empty()) return test.argv;
  if (image && test.shell.empty()) return image->command;
  return {"/bin/sh", "-c", test.shell};
}

namespace {

// Starts one test's tracer as a child process in the test's directory and environment.
pid_t start_test(const TestRun& run, const fs::path& spec_dir, const TestRunOptions& options, unsigned cpu) {
  const std::string& sandbox = options.sandbox;
  std::string cwd = test_directory(spec_dir, *run.test, options);
  std::vector<std::string> env = test_environment(*run.test, cwd, options);
  std::vector<std::string> argv = tracer_argv(run, cwd, options, cpu, env);
  if (options.image) {  // the tracer's own: the test's went into --env
    env.clear();
    for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  }
  std::vector<char*> cargv, cenv;
  for (std::string& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  for (std::string& e : env) cenv.push_back(e.data());
  cenv.push_back(nullptr);
  int out = -1;
  if (run.test->stdout_text) {
    out = open(run.stdout_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) throw_system_error(run.stdout_file);
  }
  pid_t pid = fork();
  if (pid < 0) throw_system_error("fork");
  if (pid == 0) {
    if (out >= 0)
      dup2(out, STDOUT_FILENO);
    else if (options.stdout_to_stderr)
      dup2(STDERR_FILENO, STDOUT_FILENO);
    if (sandbox.empty() && chdir(cwd.c_str()) != 0) {
      std::fprintf(stderr, "tracepack: error: test '%s': cannot change to directory %s: %s\n", run.test->name.c_str(), cwd.c_str(),
                   std::strerror(errno));
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

double now() { return monotonic_seconds(); }

}  // namespace

std::string check_test(const TestRun& run) {
  const TestCase& t = *run.test;
  if (WIFSIGNALED(run.status)) return "killed by signal " + std::to_string(WTERMSIG(run.status));
  int code = WEXITSTATUS(run.status);
  if (code == 124 && t.timeout > 0) return "timed out after " + std::to_string(t.timeout) + " s";
  if (code != t.exit) return "exit status " + std::to_string(code) + ", expected " + std::to_string(t.exit);
  if (t.stdout_text && read_file(run.stdout_file) != *t.stdout_text) return "standard output differs from the spec's 'stdout'";
  return "";
}

std::vector<TestRun> run_tests(const BundleSpec& spec, const fs::path& spec_dir, const fs::path& traces_dir,
                               const TestRunOptions& options) {
  if (options.image) {
    if (options.sandbox.empty()) throw Error("run_tests: tests in an image need its root as the sandbox");
    for (const TestCase& t : spec.tests)
      if (test_command(t, options.image).empty())
        throw Error("test '" + t.name + "': has no run: or shell: and the image has no entrypoint or cmd");
  }
  const unsigned jobs = std::max(1u, options.jobs);
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
      runs[next].pid = start_test(runs[next], spec_dir, options, cpu);
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
    if (options.on_test_end) options.on_test_end({done, runs.size(), &run, check_test(run)});
  }
  return runs;
}

std::string progress_line(const TestProgress& progress) {
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.1f", progress.run->seconds);
  return "[" + std::to_string(progress.done) + "/" + std::to_string(progress.total) + "] " + progress.run->test->name + ": " +
         (progress.failure.empty() ? "ok" : "FAILED") + " (" + seconds + " s)";
}

}  // namespace tracepack

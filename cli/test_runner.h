// Running a spec's tests, each under its own `tracepack trace` child
// process: shared by `tracepack build` (on the host) and `tracepack verify`
// (inside a sandbox holding only the bundle).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tracepack/spec.h"

namespace tracepack::cli {

/// One test's run.
struct TestRun {
  const TestCase* test = nullptr;
  std::string trace_file;
  std::string stdout_file;
  pid_t pid = -1;
  int status = 0;       ///< wait status of its tracer, which exits as the test did
  double seconds = 0;
};

/// How to run them.
struct TestRunOptions {
  unsigned jobs = 1;       ///< tests traced at once, each pinned to its own CPU
  bool progress = false;   ///< a line on stderr as each test ends
  std::string sandbox;     ///< a bundle directory to run every test in, isolated; "" = the host
  /// A test's standard output, when the spec does not capture it (no
  /// `stdout:`), goes to stderr instead of this program's stdout: with
  /// --json, stdout holds the JSON document alone.
  bool stdout_to_stderr = false;
};

/// Runs every test of `spec` (cwd relative to `spec_dir`), writing
/// NAME.jsonl and NAME.stdout into `traces_dir`. Returns them in spec order.
/// The directory `test` runs in: its cwd, taken from `spec_dir` when relative
/// (spec_dir itself when the test names none), normalised.
std::string test_directory(const std::filesystem::path& spec_dir, const TestCase& test);

std::vector<TestRun> run_tests(const BundleSpec& spec, const std::filesystem::path& spec_dir,
                               const std::filesystem::path& traces_dir, const TestRunOptions& options);

/// "" when the test did what the spec expects, else why not
/// ("exit status 3, expected 0").
std::string check_test(const TestRun& run);

}  // namespace tracepack::cli

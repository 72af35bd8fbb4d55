// Running a spec's tests, each under its own `tracepack trace` child
// process: shared by `tracepack build` (on the host) and verify_bundle
// (inside a sandbox holding only the bundle).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tracepack/spec.h"

namespace tracepack {

/// One test's run.
struct TestRun {
  const TestCase* test = nullptr;
  std::string trace_file;
  std::string stdout_file;
  pid_t pid = -1;
  int status = 0;  ///< wait status of its tracer, which exits as the test did
  double seconds = 0;
};

/// A test that just ended, while the others may still run.
struct TestProgress {
  std::size_t done = 0;          ///< tests ended so far, this one included
  std::size_t total = 0;         ///< tests in the run
  const TestRun* run = nullptr;  ///< the test that ended (status and seconds set)
  std::string failure;           ///< check_test of it: "" when it did what the spec expects
};

/// Called by run_tests as each test ends, in the order they end.
using TestObserver = std::function<void(const TestProgress&)>;

/// How tests run in a container image's root (spec `from:`): the image's config as the base of every test.
struct ImageRunEnvironment {
  std::vector<std::string>
      env;  ///< the image's Env ("NAME=value"): the whole base environment (the caller's is not passed); a test's env: adds to it
  std::string workdir;               ///< the image's WorkingDir: a test without cwd: runs there, a relative cwd: is taken from it; "" = "/"
  std::string user;                  ///< the image's User: "", "NAME", "UID", "NAME:GROUP", "UID:GID"; "" = root
  std::vector<std::string> command;  ///< Entrypoint + Cmd: what a test with neither run: nor shell: runs; empty = such a test is an error
};

/// How to run them.
struct TestRunOptions {
  unsigned jobs = 1;         ///< tests traced at once, each pinned to its own CPU
  TestObserver on_test_end;  ///< told of each test as it ends; may be empty
  std::string sandbox;       ///< a bundle directory to run every test in, isolated; "" = the host
  /// A test's standard output, when the spec does not capture it (no
  /// `stdout:`), goes to stderr instead of this program's stdout: with
  /// --json, stdout holds the JSON document alone.
  bool stdout_to_stderr = false;
  /// The `tracepack` program that traces each test; "" = the one installed
  /// beside this program (/proc/self/exe's directory).
  std::string tracepack_program;
  /// Set: tests run in `sandbox` (the image's root) as the image says: its
  /// environment alone (plus PWD and the test's env:), its working directory
  /// (test_directory), as its user (root when it names none), and a test
  /// with neither run: nor shell: runs its command.
  std::optional<ImageRunEnvironment> image;
};

/// The directory `test` runs in: its cwd, taken from `spec_dir` when relative
/// (spec_dir itself when the test names none), normalised.
std::string test_directory(const std::filesystem::path& spec_dir, const TestCase& test);

/// The directory `test` runs in under `options`: test_directory(spec_dir,
/// test) on the host or in a bundle; in an image (options.image), in the
/// image's view: an absolute cwd as it is, a relative one taken from the
/// image's working directory, which is also where a test without cwd runs
/// ("/" when the image names none), normalised.
std::string test_directory(const std::filesystem::path& spec_dir, const TestCase& test, const TestRunOptions& options);

/// What `test` runs: its run: list, /bin/sh -c and its shell:, or, in an
/// image (`image` set) and when it has neither, the image's entrypoint and
/// cmd (empty when the image has none).
std::vector<std::string> test_command(const TestCase& test, const std::optional<ImageRunEnvironment>& image);

/// Runs every test of `spec` (cwd relative to `spec_dir`, or to the image's
/// working directory), writing NAME.jsonl and NAME.stdout into `traces_dir`.
/// Returns them in spec order. Throws Error when a tracer cannot be started
/// or waited for, and, before any test runs, when options.image is set
/// without a sandbox or a test has nothing to run ("test 'NAME': has no run:
/// or shell: and the image has no entrypoint or cmd").
std::vector<TestRun> run_tests(const BundleSpec& spec, const std::filesystem::path& spec_dir, const std::filesystem::path& traces_dir,
                               const TestRunOptions& options);

/// "" when the test did what the spec expects, else why not
/// ("exit status 3, expected 0").
std::string check_test(const TestRun& run);

/// The line that tells of a test's end on a terminal, without a newline:
/// "[2/5] NAME: ok (1.3 s)", or "FAILED" in place of "ok".
std::string progress_line(const TestProgress& progress);

}  // namespace tracepack

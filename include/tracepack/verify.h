// Verify as a library: a bundle and the tests of a spec in, a verdict per
// test out (what ran, how it ended, what the bundle lacked and the include:
// lines that fix the spec), and its renderings for a terminal and as JSON.
// `tracepack verify`, the verify step of `tracepack build` and `tracepack
// exec` are this library with arguments parsed and results printed.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tracepack/sandbox.h"
#include "tracepack/spec.h"
#include "tracepack/verify_diagnosis.h"
#include "tracepack/verify_runner.h"

namespace tracepack {

/// What to verify.
struct VerifyRequest {
  std::string bundle;                     ///< a bundle directory, archive or container image tracepack wrote
  BundleSpec spec;                        ///< the tests to run
  std::filesystem::path spec_dir;         ///< test directories are relative to it
  std::filesystem::path original_traces;  ///< traces the bundle was packed from (NAME.jsonl); may not exist
  unsigned jobs = 1;                      ///< tests run at once
  TestObserver on_test_end;               ///< told of each test as it ends in the bundle; may be empty
  bool stdout_to_stderr = false;          ///< the tests' own output goes to stderr (stdout holds a JSON document)
  std::string tracepack_program;          ///< the tracer to run the tests under; "" = tracepack beside this program
  /// Set: the bundle was packed from a container image's root (spec
  /// `from:`), and each test runs in it as the image says
  /// (TestRunOptions::image). A failing test without an original trace is
  /// then not re-run on the host: its verdict lists nothing missing.
  std::optional<ImageRunEnvironment> image;
  /// With `image`: the image's unpacked root, where find_missing looks for
  /// what the bundle lacks in place of the host; "" = nothing is named.
  std::filesystem::path image_root;
};

/// How one test did in the bundle.
struct TestVerdict {
  std::string test;                  ///< its name in the spec
  std::vector<std::string> command;  ///< what ran: its run: list, or /bin/sh -c and its shell:
  int exit_status = 0;               ///< its exit status, 0 when a signal killed it
  int signal = 0;                    ///< the signal that killed it, 0 when it exited
  double seconds = 0;                ///< how long it ran, tracing included
  bool passed = false;
  std::string failure;               ///< why it failed ("exit status 1, expected 0"), "" when passed
  std::vector<MissingFile> missing;  ///< sorted by path, each path once (see find_missing)
  std::string include_lines;         ///< include_lines of `missing`, "" when nothing is missing
};

/// How the bundle did: a verdict per test, in the spec's order.
struct VerifyResult {
  bool passed = true;  ///< every test passed (true when there are none)
  std::vector<TestVerdict> tests;
  std::string include_lines;  ///< the include: lines for every test's missing files, "" when none
};

/// Throws Error when a test of `spec` runs in a directory that no bundle
/// holds (under /proc, /sys, /dev or /run: see pseudo_root): inside the
/// sandbox that directory is the run's own, so the test could not run there.
/// A directory under /tmp is fine: the directory a test runs in belongs to
/// the project, which the plan packs wherever it lies (see scratch_root).
/// With `image`, the directories are those in the image's view (see
/// test_directory).
void check_tests_can_run_in_a_bundle(const BundleSpec& spec, const std::filesystem::path& spec_dir,
                                     const std::optional<ImageRunEnvironment>& image = std::nullopt);

/// Unpacks the bundle if it is an archive or an image, runs every test of
/// the spec in a sandbox holding only it (check_tests_can_run_in_a_bundle
/// first), and names what each failing test missed: find_missing against
/// the test's original trace, or, when `original_traces` has none, a run of
/// the test traced on the host now (not for an image's tests: see
/// VerifyRequest::image). Throws Error when the bundle cannot be
/// read or the sandbox built; a test that fails is a verdict, not an error.
VerifyResult verify_bundle(const VerifyRequest& request);

/// Runs `argv` with run_in_sandbox in the tree of `bundle` (a directory,
/// archive or image, unpacked as verify_bundle does), in `cwd` inside it
/// ("" = its root). Throws Error when the bundle cannot be read or the
/// sandbox built.
SandboxRun run_in_bundle(const std::string& bundle, const std::vector<std::string>& argv, const std::string& cwd);

/// The result for a terminal: one line per test, and for each failure the
/// missing files and who wanted them, then the include: lines that fix the
/// spec ("add to the spec:\n" + result.include_lines).
std::string render_verify_text(const VerifyResult& result);

/// The result as a JSON document, indented by 2, ending in a newline
/// (format "tracepack-verify" version 1, documented in docs/verify.md).
std::string render_verify_json(const VerifyResult& result);

}  // namespace tracepack

// Running a spec's tests inside a bundle: shared by `tracepack verify` and
// the verify step that ends `tracepack build`.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tracepack/spec.h"
#include "tracepack/verify.h"

namespace tracepack::cli {

/// What to verify.
struct VerifyRequest {
  std::string bundle;                      ///< a bundle directory or archive
  const BundleSpec* spec = nullptr;        ///< the tests to run
  std::filesystem::path spec_dir;          ///< test directories are relative to it
  std::filesystem::path original_traces;   ///< traces the bundle was packed from (NAME.jsonl); may not exist
  unsigned jobs = 1;
  bool progress = false;
  bool stdout_to_stderr = false;           ///< the tests' own output goes to stderr (stdout holds --json's document)
};

/// Throws Error when a test of `spec` runs in a directory that no bundle
/// holds (under /proc, /sys, /dev or /run: see pseudo_root): inside the
/// sandbox that directory is the run's own, so the test could not run there.
/// A directory under /tmp is fine: the directory a test runs in belongs to
/// the project, which the plan packs wherever it lies (see scratch_root).
void check_tests_can_run_in_a_bundle(const BundleSpec& spec, const std::filesystem::path& spec_dir);

/// Unpacks the bundle if it is an archive, runs every test of the spec in a
/// sandbox holding only it, and names what each failing test missed.
/// Throws Error when the bundle cannot be read or the sandbox built.
std::vector<VerifyResult> verify_bundle(const VerifyRequest& request);

/// The results for a terminal: one line per test, and for each failure the
/// missing files, who wanted them, and the include: lines that fix the spec.
std::string verify_text(const std::vector<VerifyResult>& results);

/// The results as JSON (documented in docs/verify.md).
nlohmann::json verify_json(const std::vector<VerifyResult>& results);

}  // namespace tracepack::cli

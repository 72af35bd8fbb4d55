// Helpers shared by the end-to-end tests that run tracepack and real clients
// as child processes: temporary directories, running a command with its
// output captured, reading a bundle's manifest and report, counting what a
// bundle holds, and rendering an HTML report in headless Chromium.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

namespace tracepack::cli_test {

using Json = nlohmann::json;

/// A fresh directory under `base` made by mkdtemp, removed with its contents
/// when destroyed; its path is canonical. Mode 0755, so an unprivileged user
/// can reach what it holds.
class TempDir {
 public:
  explicit TempDir(const std::string& base = "/tmp");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  /// `path()/name`.
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// How a child process is started.
struct RunOptions {
  std::vector<std::string> env{};  ///< "NAME=value", added to (or replacing in) the environment
  std::string cwd{};               ///< the caller's when empty
  std::string stdin_file{};        ///< /dev/null when empty
};

/// How a child process ended, and what it wrote.
struct RunResult {
  std::string command;  ///< the argv joined, for messages
  int exit_code = -1;   ///< the exit status, or -1 when a signal ended it
  std::string out;
  std::string err;
};

/// Runs argv (looked up in PATH when it has no '/') to completion, stdout and
/// stderr captured.
RunResult run(const std::vector<std::string>& argv, const RunOptions& options = {});

/// Runs this build's tracepack with `args`.
RunResult tracepack(std::vector<std::string> args, const RunOptions& options = {});

/// Success when `r` exited with `code`; else the command, its status and its output.
::testing::AssertionResult exited_with(const RunResult& r, int code);

/// Whether `name` is a command found in PATH.
bool have_program(const std::string& name);

/// Skips the test when `program` is not installed, naming its Debian package.
#define REQUIRE_PROGRAM(program, package)                                                    \
  do {                                                                                       \
    if (!::tracepack::cli_test::have_program(program))                                       \
      GTEST_SKIP() << (program) << " is not installed (Debian package " << (package) << ")"; \
  } while (false)

/// The whole file (empty when it cannot be read: the test's assertions then say what is missing).
std::string read_file(const std::string& path);
/// Writes `text` to `path`, replacing it; throws when it cannot.
void write_file(const std::string& path, const std::string& text);

/// Copies the program `program` (a test fixture in the build directory) into
/// `dir`, the test's project, and returns the copy's path. A bundle built
/// from a project holds the project's files; the build directory may lie in
/// /tmp, whose files outside the project are left out by default.
std::string copy_program(const std::string& program, const std::string& dir);

/// `tracepack report INPUT --format json EXTRA...`, parsed; throws when it fails.
Json report_json(const std::string& input, const std::vector<std::string>& extra = {});

/// A bundle's .tracepack/manifest.json: read from a directory bundle, or
/// extracted with bsdtar from an archive of any other format.
Json manifest_of(const std::string& bundle, const std::string& format);

/// Entry counts and bytes, as the report's totals define them.
struct Counts {
  std::uint64_t files = 0, hardlinks = 0, directories = 0, symlinks = 0, bytes = 0;
  bool operator==(const Counts&) const = default;
};
std::ostream& operator<<(std::ostream& out, const Counts& c);

/// The counts of a report's "totals".
Counts counts_of(const Json& report);
/// The counts of a manifest's entries (the root entry "/" is not counted).
Counts count_manifest(const Json& manifest);

/// The DOM of an HTML file after headless Chromium ran its scripts
/// (`--dump-dom`), in `out`; exit_code says whether Chromium succeeded.
RunResult render_in_chromium(const std::string& html);
/// The text of the element with `id` in a DOM dump, or "<missing>".
std::string element_text(const std::string& dom, const std::string& id);
/// The value of attribute `name` of the element with `id`, or "<missing>".
std::string attribute(const std::string& dom, const std::string& id, const std::string& name);

}  // namespace tracepack::cli_test

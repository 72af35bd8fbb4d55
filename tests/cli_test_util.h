// Helpers shared by the end-to-end tests that run tracepack and real clients
// as child processes: temporary directories, running a command with its
// output captured, reading a bundle's manifest and report, counting what a
// bundle holds, and rendering an HTML report in headless Chromium.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

namespace tracepack::cli_test {

using Json = nlohmann::json;

/// A directory under /tmp made by mkdtemp, removed with its contents when
/// destroyed. Mode 0755, so an unprivileged user can reach what it holds.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "tracepack-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  /// `path()/name`.
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// How a child process ended, and what it wrote.
struct RunResult {
  int exit_code = -1;  ///< the exit status, or -1 when a signal ended it
  std::string out;
  std::string err;
};

/// Runs argv (looked up in PATH) with stdin from /dev/null and stdout and
/// stderr captured; `env` entries ("NAME=value") are added to the environment.
RunResult run(const std::vector<std::string>& argv, const std::vector<std::string>& env = {});

/// Runs this build's tracepack with `args`.
RunResult tracepack(std::vector<std::string> args, const std::vector<std::string>& env = {});

/// Whether `name` is a command found in PATH.
bool have_program(const std::string& name);

/// The whole file (empty when it cannot be read: the test's assertions then say what is missing).
std::string read_file(const std::string& path);
/// Writes `text` to `path`, replacing it; throws when it cannot.
void write_file(const std::string& path, const std::string& text);

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

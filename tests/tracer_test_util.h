// Helpers for the tracer tests: run `tracepack trace` on a real command as a
// child process, read the trace it wrote, and query or describe what it holds.
//
// The tests follow strace's method: a fixture program (fixtures/programs/*.c)
// performs known system calls on files in a temporary directory the test made,
// and the test compares the accesses recorded under that directory with the
// exact expected list. describe_under() turns accesses into one line each, with
// the directory written as "$D", so a mismatch shows as a readable diff.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tracepack/trace.h"

namespace tracepack::test {

/// A fresh directory under $TMPDIR (or /tmp), its path canonical (no symlinks,
/// so it equals what a tracer resolves); removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  /// path() + "/" + name.
  std::string operator/(std::string_view name) const;

 private:
  std::string path_;
};

/// How a child process is started.
struct SpawnOptions {
  std::optional<std::string> stdin_data{};  ///< fed through a pipe; stdin is /dev/null when absent
  std::string cwd{};                        ///< working directory; the caller's when empty
  std::vector<std::string> env_set{};       ///< "NAME=value" entries added to (or replacing in) the environment
  std::optional<uid_t> run_as{};            ///< run with this uid, gid and no supplementary groups (needs root)
};

/// How a child process ended.
struct ProcessResult {
  bool finished = false;  ///< false: still running at the deadline, so it was killed (a hang)
  int status = 0;         ///< raw wait status
  double seconds = 0;     ///< wall time from start to exit
  std::string out;        ///< captured stdout
  std::string err;        ///< captured stderr

  bool exited() const;
  int exit_code() const;    ///< -1 unless exited()
  int term_signal() const;  ///< 0 unless killed by a signal
  /// "exit 3", "signal 15 (Terminated)" or "hung"; for failure messages.
  std::string summary() const;
};

/// A child process in its own process group, stdout and stderr captured to
/// files. The destructor kills the group and reaps the child if still running.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const SpawnOptions& options = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  /// Waits up to timeout_seconds; past it the whole process group is killed
  /// and the result says finished == false.
  ProcessResult wait(double timeout_seconds);
  /// Sends `sig` to the child (not to its group).
  void send_signal(int sig) const;

 private:
  TempDir capture_;
  pid_t pid_ = -1;
  bool reaped_ = false;
  double start_ = 0;
};

/// Runs argv to completion (or the deadline).
ProcessResult run_process(const std::vector<std::string>& argv, const SpawnOptions& options = {}, double timeout_seconds = 60);

/// FIXTURE_BIN_DIR + "/" + name.
std::string fixture(std::string_view name);

/// TRACEPACK_BIN trace -q -o TRACE_FILE OPTIONS... -- COMMAND...
std::vector<std::string> tracer_command(const std::string& trace_file, const std::vector<std::string>& options,
                                        const std::vector<std::string>& command);

/// One traced run: how the tracer ended and the trace it wrote.
struct TracedRun {
  ProcessResult process;
  std::optional<Trace> trace;  ///< nullopt when the file is missing or read_trace threw
  std::string trace_error;     ///< read_trace's message in that case
};

/// Runs `tracepack trace` on `command`, the trace written to trace_file.
TracedRun run_traced(const std::string& trace_file, const std::vector<std::string>& command, const std::vector<std::string>& options = {},
                     const SpawnOptions& spawn = {}, double timeout_seconds = 60);

// ---- Queries ----

/// Which accesses to select; unset fields match anything.
struct AccessQuery {
  std::optional<AccessKind> kind{};
  std::optional<std::string> syscall{};
  std::optional<PathBytes> path{};
  std::optional<PathBytes> resolved{};
  std::optional<AccessOrigin> origin{};
  std::optional<std::uint64_t> process{};
};

std::vector<const FileAccess*> find_accesses(const Trace& trace, const AccessQuery& query);
/// The single access matching `query`; nullptr when there is none or more than one.
const FileAccess* find_access(const Trace& trace, const AccessQuery& query);
/// Accesses whose path, resolved, path2 or resolved2 is `dir` or lies under it.
std::vector<const FileAccess*> accesses_under(const Trace& trace, std::string_view dir);

const Process* find_process(const Trace& trace, std::uint64_t id);
/// The first process (parent == 0).
const Process* root_process(const Trace& trace);
/// Processes with an Exec whose exe is `exe`.
std::vector<const Process*> processes_with_exe(const Trace& trace, std::string_view exe);
/// True when some warning's message contains `keyword`.
bool has_warning(const Trace& trace, std::string_view keyword);

// ---- Descriptions for exact comparisons ----

/// One line per access:
///   "<syscall> <kind> <path> -> <resolved> <ERRNO|ok> <type>[ x<count>][ | <path2> -> <resolved2>][ [origin]]"
/// with `dir` written as "$D" and bytes outside printable UTF-8 escaped as by
/// encode_path. The type is left out for kinds that create or remove the name
/// (create, mkdir, remove, rename, link, symlink), where "at the time of the
/// access" can mean before or after the change, and so is `resolved` for
/// symlink (whose `path` is link text, not a path). Origins other than
/// syscall are appended in brackets.
std::string describe(const FileAccess& access, std::string_view dir = {});
/// describe() of every access under `dir`, sorted.
std::vector<std::string> describe_under(const Trace& trace, std::string_view dir);
/// Every access, process, warning; for failure messages.
std::string dump(const Trace& trace);
/// The symlinks of an access as "link => target" lines, `dir` written as "$D".
std::vector<std::string> describe_links(const std::vector<Symlink>& links, std::string_view dir = {});

/// "ENOENT" for ENOENT, "ok" for 0.
std::string error_name(int err);

// ---- Files ----

/// Writes `contents` to `path` with permission bits `mode`. Throws on failure.
void write_file(const std::string& path, std::string_view contents, unsigned mode = 0644);
std::string read_file(const std::string& path);
void make_dirs(const std::string& path);
void make_symlink(const std::string& target, const std::string& link);
/// realpath(3); the path unchanged when it cannot be resolved.
std::string real_path(const std::string& path);

/// What a correct resolver gives for an absolute path: `resolved` and the
/// symlinks met, component by component, ".." taken physically. The final
/// component is followed when follow_last. Used only for system paths the test
/// does not control (merged-/usr links, the ELF loader).
struct Resolution {
  PathBytes resolved;
  std::vector<Symlink> links;
};
Resolution reference_resolve(const PathBytes& path, bool follow_last = true);

/// The PT_INTERP string of an ELF file; empty when it has none.
std::string elf_interpreter(const std::string& path);

/// Waits until `path` exists (up to timeout_seconds); true when it does.
bool wait_for_file(const std::string& path, double timeout_seconds);

// ---- GoogleTest glue ----

/// Success when the tracer exited with `code` and wrote a readable trace;
/// otherwise a message with its stderr and what the trace holds.
::testing::AssertionResult exited_with(const TracedRun& run, int code);
/// Success when `recorded` and `expected` hold the same lines (as multisets);
/// otherwise lists the lines missing from `recorded` and the unexpected ones.
::testing::AssertionResult same_lines(std::vector<std::string> recorded, std::vector<std::string> expected);
/// Same, for a tracer that must die of signal `sig`.
::testing::AssertionResult killed_by(const TracedRun& run, int sig);

/// Base for tracer tests: data() for the files a fixture works on (its path is
/// what describe_under() writes as "$D"), and a separate scratch() for the
/// trace file and anything else the test needs, so the two never mix.
class TracerTest : public ::testing::Test {
 protected:
  const TempDir& data() const { return data_; }
  const TempDir& scratch() const { return scratch_; }
  std::string trace_file() const { return scratch_ / "trace.jsonl"; }
  /// run_traced() into trace_file().
  TracedRun trace(const std::vector<std::string>& command, const std::vector<std::string>& options = {}, const SpawnOptions& spawn = {},
                  double timeout_seconds = 60) const;
  /// Runs a fixture once without the tracer; when it exits 77 (the kernel
  /// lacks what it needs), returns the reason to skip, else an empty string.
  std::string unsupported_reason(const std::vector<std::string>& command, const std::string& what) const;

 private:
  TempDir data_;
  TempDir scratch_;
};

}  // namespace tracepack::test

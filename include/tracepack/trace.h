// The trace: what one traced run did to the file system, as plain data.
//
// A Trace is produced by tracer::record_trace (streamed to disk through
// TraceWriter as the run goes) and consumed by the packer and the reports
// (through read_trace). The on-disk form is JSON Lines, documented in
// docs/trace-format.md.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tracepack {

/// A path exactly as the kernel sees it: any bytes but NUL, not necessarily
/// UTF-8. Never re-encoded in memory; only the JSON form escapes it.
using PathBytes = std::string;

/// The version written in, and required of, a trace file's header line.
inline constexpr int kTraceFormatVersion = 1;

/// What an access did with the file it named.
enum class AccessKind {
  read,      ///< opened for reading only (or O_PATH)
  write,     ///< opened for writing an existing file (O_WRONLY/O_RDWR, no O_CREAT effect), truncate
  create,    ///< opened with O_CREAT (file may or may not have existed), mknod, creat
  exec,      ///< executed: execve target, #! interpreter, ELF PT_INTERP loader
  stat,      ///< metadata lookup: stat family, access family, statfs, getxattr, name_to_handle_at
  readlink,  ///< readlink / readlinkat
  list,      ///< directory contents read (getdents on an open directory)
  chdir,     ///< chdir / fchdir / chroot
  mkdir,     ///< mkdir / mkdirat
  remove,    ///< unlink / unlinkat / rmdir
  rename,    ///< rename family: path is the source, path2 the destination
  link,      ///< hard link: path is the existing file, path2 the new name
  symlink,   ///< symlink: path2 is the new link, path the target text as given
  attr,      ///< chmod / chown / utime / setxattr families
  watch,     ///< inotify_add_watch
  other,     ///< a syscall tracepack does not classify (recorded, not interpreted)
};

/// How the file came to be touched.
enum class AccessOrigin {
  syscall,     ///< the tracee named it in a system call
  shebang,     ///< the kernel ran it as the interpreter of a "#!" script
  elf_interp,  ///< the kernel loaded it as an ELF program's PT_INTERP
  exe,         ///< /proc/PID/exe after an exec (binfmt_misc and other kernel-run programs)
};

/// Type of the file the resolved path named, at the time of the access.
enum class FileType { none, regular, directory, symlink, fifo, socket, char_device, block_device, other };

/// One symbolic link met while resolving a path, one component at a time.
struct Symlink {
  PathBytes path;    ///< absolute path of the link itself (its parents already resolved)
  PathBytes target;  ///< the link's contents, exactly as readlink returns them

  bool operator==(const Symlink&) const = default;  ///< every field equal
};

/// One file-system access. Identical accesses by one process are recorded once
/// with a count.
struct FileAccess {
  std::uint64_t id = 0;       ///< unique within the trace, in the order recorded
  std::uint64_t process = 0;  ///< Process::id of the process that made it
  int tid = 0;                ///< the thread that made it
  std::string syscall;        ///< e.g. "openat"; for kernel-made accesses the exec call
  AccessKind kind = AccessKind::other;
  AccessOrigin origin = AccessOrigin::syscall;
  PathBytes path;              ///< the path as the tracee gave it (may be relative or empty)
  PathBytes resolved;          ///< absolute path after resolving every symlink on the way
  std::vector<Symlink> links;  ///< every symlink met on the way to `resolved`, in order
  PathBytes path2;             ///< second path of rename / link / symlink, as given
  PathBytes resolved2;         ///< second path, resolved (its final component is not followed)
  std::vector<Symlink> links2;
  std::uint64_t flags = 0;         ///< open flags, AT_* flags or access mode, as the syscall got them
  int error = 0;                   ///< 0 on success, else the errno value (e.g. ENOENT)
  bool observed = false;           ///< true: result read at syscall exit; false: predicted by the tracer's own lookup
  FileType type = FileType::none;  ///< type of `resolved` (none when it does not exist)
  std::uint64_t count = 1;         ///< how many identical accesses this record stands for

  bool operator==(const FileAccess&) const = default;  ///< every field equal, id and count included
};

/// One successful exec within a process.
struct Exec {
  double time = 0;                      ///< seconds since the run started
  PathBytes path;                       ///< the executable as named to execve (resolved, absolute)
  PathBytes exe;                        ///< /proc/PID/exe after the exec: the program really running
  std::vector<PathBytes> argv;          ///< arguments, read at the execve entry
  PathBytes cwd;                        ///< working directory at the exec
  std::vector<PathBytes> interpreters;  ///< kernel-run chain after `path`: "#!" interpreters, then PT_INTERP

  bool operator==(const Exec&) const = default;  ///< every field equal
};

/// One process (a thread group), from creation to exit.
struct Process {
  std::uint64_t id = 0;  ///< unique within the trace (pids can be reused)
  int pid = 0;
  std::uint64_t parent = 0;  ///< Process::id of the parent, 0 for the first process
  double start = 0;          ///< seconds since the run started
  std::string test;          ///< test case (label) it belongs to in a merged trace; empty = the run's label
  std::vector<Exec> execs;
  bool exited = false;  ///< false if the trace ended before the process did
  double end = 0;
  int exit_code = 0;  ///< valid when signal == 0
  int signal = 0;     ///< the fatal signal, 0 if it exited normally
  bool core_dumped = false;

  bool operator==(const Process&) const = default;  ///< every field equal, execs included
};

/// Something the reader of a trace must know: a file access the tracer could
/// not see (io_uring, an untraced clone), a process killed after the grace period...
struct Warning {
  std::uint64_t process = 0;  ///< 0 when it concerns the whole run
  std::string message;

  bool operator==(const Warning&) const = default;  ///< every field equal
};

/// Facts about the run as a whole (the header line).
struct RunInfo {
  int format_version = kTraceFormatVersion;
  std::string tracepack_version;
  std::string label;            ///< test case name (defaults to the command line)
  std::string kernel;           ///< uname release
  std::string arch;             ///< uname machine
  std::vector<PathBytes> argv;  ///< the traced command
  PathBytes cwd;
  std::string start_time;                         ///< UTC, ISO 8601 with microseconds
  std::vector<std::string> env_names;             ///< names only, sorted
  std::map<std::string, std::string> env_values;  ///< only when asked for (--record-env)

  bool operator==(const RunInfo&) const = default;  ///< every field equal
};

/// How the run ended (the last line). Absent from a truncated trace.
struct RunEnd {
  double end = 0;          ///< seconds since the run started
  int exit_code = 0;       ///< the traced command's exit code (valid when signal == 0)
  int signal = 0;          ///< the traced command's fatal signal
  bool timed_out = false;  ///< --timeout expired and the tracees were killed

  bool operator==(const RunEnd&) const = default;  ///< every field equal
};

/// A whole trace in memory.
struct Trace {
  RunInfo run;
  std::vector<Process> processes;    ///< ordered by id
  std::vector<FileAccess> accesses;  ///< ordered by id, counts already folded in
  std::vector<Warning> warnings;
  std::optional<RunEnd> end;  ///< nullopt: the trace was cut short (tracer killed)
  std::size_t cut_line = 0;   ///< read_trace: number of a last line cut mid-write and dropped; 0 if none

  bool operator==(const Trace&) const = default;  ///< every record equal, in the same order
};

/// Why `trace` is incomplete, for messages: "" when it has its end record,
/// else "no end record" or "line 12 cut short, no end record".
std::string truncation_of(const Trace& trace);

/// The one check made before a trace is packed, planned or merged: "" for a
/// complete trace. A truncated one (truncation_of) is refused with an Error
/// naming `file` and saying that the run was cut short, unless
/// `allow_truncated`; then the warning to show about it is returned.
std::string check_trace_complete(const Trace& trace, const std::string& file, bool allow_truncated);

/// The path an access makes with the run's own content: the file it creates
/// or writes, the directory it makes, the new name of a link, symlink or
/// rename; empty for every other access and for a failed one.
const PathBytes& made_path(const FileAccess& access);

/// A run's outputs: each path whose first successful use in `trace` (in
/// record order) made it (made_path), with the access that did. A path looked
/// up or read before the run made it is an input, not an output.
std::map<PathBytes, const FileAccess*> outputs_of(const Trace& trace);

/// JSON form of a path: valid UTF-8 passes through, except '%'; '%' and every
/// byte that is not part of valid UTF-8 become "%XX" (two upper-case hex digits).
std::string encode_path(std::string_view bytes);

/// Inverse of encode_path. Throws Error on a malformed escape.
PathBytes decode_path(std::string_view text);

/// Inverse of encode_path without throwing: nullopt on a malformed escape,
/// and `problem` then says which ("invalid escape '%G1' at offset 4").
std::optional<PathBytes> decode_path(std::string_view text, std::string& problem);

/// Stable lower-case names used in the file format ("read", "elf_interp", "regular").
std::string_view to_string(AccessKind kind);
std::string_view to_string(AccessOrigin origin);
std::string_view to_string(FileType type);

/// Streams a trace to a file as the run goes, one JSON line per record.
/// Lines are buffered and reach the file at least every flush_interval seconds
/// and on flush()/finish(), so a killed tracer leaves a readable prefix.
class TraceWriter {
 public:
  /// Creates (truncates) `file` and writes the header line. Throws Error.
  TraceWriter(const std::string& file, const RunInfo& run);
  ~TraceWriter();
  TraceWriter(const TraceWriter&) = delete;
  TraceWriter& operator=(const TraceWriter&) = delete;

  void write_process(const Process& process);  ///< creation: id, pid, parent, start
  void write_exec(std::uint64_t process, const Exec& exec);
  void write_access(const FileAccess& access);                      ///< `count` is ignored; see write_repeat
  void write_repeat(std::uint64_t access_id, std::uint64_t count);  ///< total count of an access record
  void write_exit(const Process& process);                          ///< end, exit_code, signal, core_dumped
  void write_warning(const Warning& warning);
  void finish(const RunEnd& end);  ///< writes the last line and flushes
  void flush();                    ///< hands buffered lines to the kernel; throws Error
  bool flush_due() const;          ///< true when buffered lines are older than the interval

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Reads a trace file. Throws Error naming "file:line" for an unknown format
/// version, a malformed line or an inconsistent record (an access of an unknown
/// process...); never another exception for any bytes. A trace without its
/// end record is returned with end == nullopt (truncated); a last line cut
/// mid-write (no final newline, not valid JSON) is dropped and its number
/// kept in cut_line, not reported as an error.
Trace read_trace(const std::string& file);

/// Writes a complete in-memory trace (used by merge and by tests). Atomic: the
/// file is written beside its target and renamed. Throws Error. A device or
/// FIFO target (/dev/stdout) is written in place instead of being replaced.
void write_trace(const Trace& trace, const std::string& file);

}  // namespace tracepack

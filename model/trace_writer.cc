// The trace file format: JSON Lines, one record per line, after a header line.
//
// Writing builds each line by hand into one in-memory buffer: field names are
// fixed ASCII, numbers go through std::to_chars (shortest form that reads back
// exactly), and every string goes through the path escaping of encode_path
// fused with JSON string escaping, in a single pass and without a temporary.
// That keeps the tracer's hot loop free of allocations besides the buffer's
// own growth. The buffer is handed to write(2) when it reaches kFlushBytes,
// when the caller asks (flush_due() says lines have waited kFlushInterval),
// and at finish(). The header line is written at once, so even a tracer killed
// at its first syscall leaves a file that read_trace recognises.
//
// A trace is replaced as a whole (write_trace) through an AtomicFile: written
// beside it under a temporary name and renamed over it once complete.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <memory>
#include <utility>

#include "path_escaping.h"
#include "trace_names.h"
#include "tracepack/atomic_file.h"
#include "tracepack/clock.h"
#include "tracepack/error.h"
#include "tracepack/posix.h"
#include "tracepack/trace.h"

namespace tracepack {
namespace {

using namespace trace_format;

constexpr double kFlushInterval = 0.1;          // seconds a line may wait in the buffer
constexpr std::size_t kFlushBytes = 64 * 1024;  // buffer size that forces a write

// ---------------------------------------------------------------------------
// Building lines. Each record opens with its first field and appends the
// others as `,"key":value`; keys are fixed ASCII and need no escaping.

template <class Number>
void append_number(std::string& out, Number value) {
  char digits[32];
  auto result = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, result.ptr);
}

void put_key(std::string& out, std::string_view key) {
  out += ",\"";
  out += key;
  out += "\":";
}

void put_u64(std::string& out, std::string_view key, std::uint64_t value) {
  put_key(out, key);
  append_number(out, value);
}

void put_int(std::string& out, std::string_view key, int value) {
  put_key(out, key);
  append_number(out, value);
}

void put_real(std::string& out, std::string_view key, double value) {
  put_key(out, key);
  // JSON has no inf or NaN; times never are, but a line must stay readable.
  if (!std::isfinite(value)) value = 0;
  // Shortest fixed notation that reads back exactly ("0.0004", not "4e-04");
  // magnitudes too large or too small for the buffer fall back to exponents.
  char digits[64];
  auto result = std::to_chars(digits, digits + sizeof digits, value, std::chars_format::fixed);
  if (result.ec != std::errc()) result = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, result.ptr);
}

void put_bool(std::string& out, std::string_view key, bool value) {
  put_key(out, key);
  out += value ? "true" : "false";
}

void append_string(std::string& out, std::string_view bytes) {
  out += '"';
  append_encoded<true>(out, bytes);
  out += '"';
}

void put_text(std::string& out, std::string_view key, std::string_view bytes) {
  put_key(out, key);
  append_string(out, bytes);
}

void put_errno(std::string& out, std::string_view key, int number) {
  put_key(out, key);
  out += '"';
  append_errno_name(out, number);  // names hold no character that needs escaping
  out += '"';
}

void put_text_list(std::string& out, std::string_view key, const std::vector<std::string>& list) {
  put_key(out, key);
  out += '[';
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (i > 0) out += ',';
    append_string(out, list[i]);
  }
  out += ']';
}

void put_links(std::string& out, std::string_view key, const std::vector<Symlink>& links) {
  put_key(out, key);
  out += '[';
  for (std::size_t i = 0; i < links.size(); ++i) {
    out += i > 0 ? ",{\"path\":" : "{\"path\":";
    append_string(out, links[i].path);
    out += ",\"target\":";
    append_string(out, links[i].target);
    out += '}';
  }
  out += ']';
}

void open_record(std::string& out, std::string_view type) {
  out += "{\"t\":\"";
  out += type;
  out += '"';
}

void close_record(std::string& out) { out += "}\n"; }

void append_env(std::string& out, const std::map<std::string, std::string>& env) {
  put_key(out, "env");
  out += '{';
  bool first = true;
  for (const auto& [name, value] : env) {
    if (!first) out += ',';
    first = false;
    append_string(out, name);
    out += ':';
    append_string(out, value);
  }
  out += '}';
}

void append_header_line(std::string& out, const RunInfo& run) {
  out += "{\"format\":\"";
  out += kFormatName;
  out += '"';
  put_int(out, "version", kTraceFormatVersion);
  put_text(out, "tracepack", run.tracepack_version);
  put_text(out, "label", run.label);
  put_text(out, "kernel", run.kernel);
  put_text(out, "arch", run.arch);
  put_text_list(out, "argv", run.argv);
  put_text(out, "cwd", run.cwd);
  put_text(out, "start_time", run.start_time);
  put_text_list(out, "env_names", run.env_names);
  if (!run.env_values.empty()) append_env(out, run.env_values);
  close_record(out);
}

void append_process_line(std::string& out, const Process& process) {
  open_record(out, "process");
  put_u64(out, "id", process.id);
  put_int(out, "pid", process.pid);
  put_u64(out, "parent", process.parent);
  put_real(out, "start", process.start);
  if (!process.test.empty()) put_text(out, "test", process.test);
  close_record(out);
}

void append_exec_line(std::string& out, std::uint64_t process, const Exec& exec) {
  open_record(out, "exec");
  put_u64(out, "process", process);
  put_real(out, "time", exec.time);
  put_text(out, "path", exec.path);
  put_text(out, "exe", exec.exe);
  put_text_list(out, "argv", exec.argv);
  put_text(out, "cwd", exec.cwd);
  put_text_list(out, "interpreters", exec.interpreters);
  close_record(out);
}

// Fields at their default value are left out to keep the most frequent line short.
void append_access_line(std::string& out, const FileAccess& access) {
  open_record(out, "access");
  put_u64(out, "id", access.id);
  put_u64(out, "process", access.process);
  put_int(out, "tid", access.tid);
  put_text(out, "syscall", access.syscall);
  put_text(out, "kind", to_string(access.kind));
  if (access.origin != AccessOrigin::syscall) put_text(out, "origin", to_string(access.origin));
  put_text(out, "path", access.path);
  put_text(out, "resolved", access.resolved);
  if (!access.links.empty()) put_links(out, "links", access.links);
  if (!access.path2.empty()) put_text(out, "path2", access.path2);
  if (!access.resolved2.empty()) put_text(out, "resolved2", access.resolved2);
  if (!access.links2.empty()) put_links(out, "links2", access.links2);
  if (access.flags != 0) put_u64(out, "flags", access.flags);
  if (access.error != 0) put_errno(out, "error", access.error);
  if (access.observed) put_bool(out, "observed", true);
  if (access.type != FileType::none) put_text(out, "type", to_string(access.type));
  close_record(out);
}

void append_repeat_line(std::string& out, std::uint64_t access_id, std::uint64_t count) {
  open_record(out, "repeat");
  put_u64(out, "access", access_id);
  put_u64(out, "count", count);
  close_record(out);
}

void append_exit_line(std::string& out, const Process& process) {
  open_record(out, "exit");
  put_u64(out, "process", process.id);
  put_real(out, "end", process.end);
  if (process.signal != 0) {
    put_int(out, "signal", process.signal);
    put_bool(out, "core_dumped", process.core_dumped);
  } else {
    put_int(out, "exit_code", process.exit_code);
  }
  close_record(out);
}

void append_warning_line(std::string& out, const Warning& warning) {
  open_record(out, "warning");
  put_u64(out, "process", warning.process);
  put_text(out, "message", warning.message);
  close_record(out);
}

void append_end_line(std::string& out, const RunEnd& end) {
  open_record(out, "end");
  put_real(out, "end", end.end);
  put_int(out, "exit_code", end.exit_code);
  put_int(out, "signal", end.signal);
  put_bool(out, "timed_out", end.timed_out);
  close_record(out);
}

// ---------------------------------------------------------------------------
// Output files

/// A file written in large chunks from an in-memory buffer of whole lines.
/// `name` is the file name used in error messages.
class LineFile {
 public:
  LineFile(UniqueFd fd, std::string name) : fd_(std::move(fd)), name_(std::move(name)) { buffer_.reserve(kFlushBytes + 4096); }

  std::string& buffer() { return buffer_; }
  const std::string& buffer() const { return buffer_; }

  void flush_if_full() {
    if (buffer_.size() >= kFlushBytes) flush();
  }

  /// Writes the whole buffer. On failure, keeps what was not written and throws.
  void flush() {
    std::size_t done = 0;
    while (done < buffer_.size()) {
      ssize_t n = ::write(fd_.get(), buffer_.data() + done, buffer_.size() - done);
      if (n > 0) {
        done += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      int err = n < 0 ? errno : EIO;  // write returning 0 makes no progress: report it
      buffer_.erase(0, done);
      throw Error(system_error_message(name_ + ": cannot write", err));
    }
    buffer_.clear();
  }

  /// Closes the file, reporting a deferred write error (NFS, quotas).
  void close() {
    // On Linux the descriptor is released even when close fails with EINTR.
    if (::close(fd_.release()) != 0 && errno != EINTR) throw_system_error(name_ + ": cannot write");
  }

 private:
  UniqueFd fd_;
  std::string name_;
  std::string buffer_;
};

UniqueFd create_for_writing(const std::string& file) {
  UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666));
  if (fd.get() < 0) throw_system_error(file + ": cannot create");
  return fd;
}

/// True when `file` names a device, a FIFO or a socket (after symlinks), such
/// as /dev/stdout: renaming a file over it would replace the node itself.
bool is_special_file(const std::string& file) {
  struct stat st {};
  return ::stat(file.c_str(), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
}

/// Writes every record of `trace`, in an order read_trace accepts.
void append_trace(LineFile& out, const Trace& trace) {
  std::string& b = out.buffer();
  append_header_line(b, trace.run);
  for (const Process& p : trace.processes) {
    append_process_line(b, p);
    out.flush_if_full();
  }
  for (const Process& p : trace.processes) {
    for (const Exec& e : p.execs) {
      append_exec_line(b, p.id, e);
      out.flush_if_full();
    }
  }
  for (const FileAccess& a : trace.accesses) {
    append_access_line(b, a);
    out.flush_if_full();
  }
  for (const FileAccess& a : trace.accesses) {
    if (a.count > 1) append_repeat_line(b, a.id, a.count);
    out.flush_if_full();
  }
  for (const Process& p : trace.processes) {
    if (p.exited) append_exit_line(b, p);
    out.flush_if_full();
  }
  for (const Warning& w : trace.warnings) {
    append_warning_line(b, w);
    out.flush_if_full();
  }
  if (trace.end) append_end_line(b, *trace.end);
}

}  // namespace

struct TraceWriter::Impl {
  LineFile out;
  double oldest_pending = 0;  // CLOCK_MONOTONIC time the oldest unflushed line was added

  /// Runs `append` on the buffer, then writes the buffer out if it is full.
  template <class Append>
  void add(Append&& append) {
    bool was_empty = out.buffer().empty();
    append(out.buffer());
    if (was_empty) oldest_pending = monotonic_seconds();
    out.flush_if_full();
  }
};

TraceWriter::TraceWriter(const std::string& file, const RunInfo& run)
    : impl_(std::make_unique<Impl>(Impl{LineFile(create_for_writing(file), file)})) {
  append_header_line(impl_->out.buffer(), run);
  impl_->out.flush();
}

TraceWriter::~TraceWriter() {
  try {
    impl_->out.flush();
  } catch (...) {
    // Best effort: a destructor cannot report, and finish() or flush() already had the chance.
  }
}

void TraceWriter::write_process(const Process& process) {
  impl_->add([&](std::string& b) { append_process_line(b, process); });
}

void TraceWriter::write_exec(std::uint64_t process, const Exec& exec) {
  impl_->add([&](std::string& b) { append_exec_line(b, process, exec); });
}

void TraceWriter::write_access(const FileAccess& access) {
  impl_->add([&](std::string& b) { append_access_line(b, access); });
}

void TraceWriter::write_repeat(std::uint64_t access_id, std::uint64_t count) {
  impl_->add([&](std::string& b) { append_repeat_line(b, access_id, count); });
}

void TraceWriter::write_exit(const Process& process) {
  impl_->add([&](std::string& b) { append_exit_line(b, process); });
}

void TraceWriter::write_warning(const Warning& warning) {
  impl_->add([&](std::string& b) { append_warning_line(b, warning); });
}

void TraceWriter::finish(const RunEnd& end) {
  append_end_line(impl_->out.buffer(), end);
  impl_->out.flush();
}

void TraceWriter::flush() { impl_->out.flush(); }

bool TraceWriter::flush_due() const {
  const std::string& buffer = impl_->out.buffer();
  if (buffer.empty()) return false;
  return buffer.size() >= kFlushBytes || monotonic_seconds() - impl_->oldest_pending >= kFlushInterval;
}

void write_trace(const Trace& trace, const std::string& file) {
  if (is_special_file(file)) {
    LineFile out(create_for_writing(file), file);
    append_trace(out, trace);
    out.flush();
    out.close();
    return;
  }
  AtomicFile temp(file);
  LineFile out(temp.take_fd(), file);
  append_trace(out, trace);
  out.flush();
  out.close();
  temp.commit(file, file + ": cannot replace");
}

}  // namespace tracepack

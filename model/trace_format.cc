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
// Escaping: a string is a sequence of bytes. Each maximal well-formed UTF-8
// sequence (Unicode Table 3-7: no overlongs, no surrogates, nothing above
// U+10FFFF) is kept as is, except '%'; '%' and every byte that does not start a
// well-formed sequence become "%XX". The result is valid UTF-8, hence a valid
// JSON string once '"', '\' and control characters are escaped the JSON way.
//
// Reading splits the file into lines with read(2) into a growing buffer (a
// line may hold a long argv), parses each line with nlohmann::json and folds
// the records into a Trace: processes and accesses are indexed by id so that
// later records can be checked against them, and "repeat" records overwrite
// the count of their access. A last line without its newline that does not
// parse is the mark of a tracer killed mid-write: it ends the trace like a
// missing "end" record does, instead of failing, and its number is kept in
// Trace::cut_line. Whether a truncated trace may be used is not the reader's
// call: check_trace_complete, made by every command that packs or merges,
// refuses it unless told otherwise.
#include "tracepack/trace.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>
#include <unordered_map>
#include <utility>

#include "tracepack/error.h"
#include "tracepack/posix.h"

namespace tracepack {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kFormatName = "tracepack-trace";
constexpr double kFlushInterval = 0.1;              // seconds a line may wait in the buffer
constexpr std::size_t kFlushBytes = 64 * 1024;      // buffer size that forces a write
constexpr std::size_t kReadChunk = 1024 * 1024;     // read(2) size when reading a trace
constexpr std::size_t kMaxLineBytes = 256u << 20;   // longer lines are refused, not buffered

// ---------------------------------------------------------------------------
// Enum and errno names

constexpr std::array<std::string_view, 16> kAccessKindNames = {
    "read", "write", "create", "exec",    "stat",    "readlink", "list",  "chdir",
    "mkdir", "remove", "rename", "link", "symlink", "attr",     "watch", "other"};
constexpr std::array<std::string_view, 4> kOriginNames = {"syscall", "shebang", "elf_interp", "exe"};
constexpr std::array<std::string_view, 9> kFileTypeNames = {
    "none", "regular", "directory", "symlink", "fifo", "socket", "char_device", "block_device", "other"};

template <class Enum, std::size_t N>
std::string_view enum_name(const std::array<std::string_view, N>& names, Enum value) {
  auto index = static_cast<std::size_t>(value);
  return index < N ? names[index] : std::string_view("unknown");
}

template <class Enum, std::size_t N>
std::optional<Enum> enum_from_name(const std::array<std::string_view, N>& names, std::string_view name) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == name) return static_cast<Enum>(i);
  }
  return std::nullopt;
}

struct ErrnoName {
  int number;
  std::string_view name;
};

// Every errno Linux defines, in increasing order. The first group is the
// user-space set from <errno.h>; the second holds the kernel-internal values
// (include/linux/errno.h) that a tracer can still see in a syscall's return
// register at the exit stop, e.g. ERESTARTSYS when a signal interrupts a call.
#define TRACEPACK_ERRNO(name) {name, #name}
constexpr ErrnoName kErrnoNames[] = {
    TRACEPACK_ERRNO(EPERM), TRACEPACK_ERRNO(ENOENT), TRACEPACK_ERRNO(ESRCH), TRACEPACK_ERRNO(EINTR),
    TRACEPACK_ERRNO(EIO), TRACEPACK_ERRNO(ENXIO), TRACEPACK_ERRNO(E2BIG), TRACEPACK_ERRNO(ENOEXEC),
    TRACEPACK_ERRNO(EBADF), TRACEPACK_ERRNO(ECHILD), TRACEPACK_ERRNO(EAGAIN), TRACEPACK_ERRNO(ENOMEM),
    TRACEPACK_ERRNO(EACCES), TRACEPACK_ERRNO(EFAULT), TRACEPACK_ERRNO(ENOTBLK), TRACEPACK_ERRNO(EBUSY),
    TRACEPACK_ERRNO(EEXIST), TRACEPACK_ERRNO(EXDEV), TRACEPACK_ERRNO(ENODEV), TRACEPACK_ERRNO(ENOTDIR),
    TRACEPACK_ERRNO(EISDIR), TRACEPACK_ERRNO(EINVAL), TRACEPACK_ERRNO(ENFILE), TRACEPACK_ERRNO(EMFILE),
    TRACEPACK_ERRNO(ENOTTY), TRACEPACK_ERRNO(ETXTBSY), TRACEPACK_ERRNO(EFBIG), TRACEPACK_ERRNO(ENOSPC),
    TRACEPACK_ERRNO(ESPIPE), TRACEPACK_ERRNO(EROFS), TRACEPACK_ERRNO(EMLINK), TRACEPACK_ERRNO(EPIPE),
    TRACEPACK_ERRNO(EDOM), TRACEPACK_ERRNO(ERANGE), TRACEPACK_ERRNO(EDEADLK), TRACEPACK_ERRNO(ENAMETOOLONG),
    TRACEPACK_ERRNO(ENOLCK), TRACEPACK_ERRNO(ENOSYS), TRACEPACK_ERRNO(ENOTEMPTY), TRACEPACK_ERRNO(ELOOP),
    TRACEPACK_ERRNO(ENOMSG), TRACEPACK_ERRNO(EIDRM), TRACEPACK_ERRNO(ECHRNG), TRACEPACK_ERRNO(EL2NSYNC),
    TRACEPACK_ERRNO(EL3HLT), TRACEPACK_ERRNO(EL3RST), TRACEPACK_ERRNO(ELNRNG), TRACEPACK_ERRNO(EUNATCH),
    TRACEPACK_ERRNO(ENOCSI), TRACEPACK_ERRNO(EL2HLT), TRACEPACK_ERRNO(EBADE), TRACEPACK_ERRNO(EBADR),
    TRACEPACK_ERRNO(EXFULL), TRACEPACK_ERRNO(ENOANO), TRACEPACK_ERRNO(EBADRQC), TRACEPACK_ERRNO(EBADSLT),
    TRACEPACK_ERRNO(EBFONT), TRACEPACK_ERRNO(ENOSTR), TRACEPACK_ERRNO(ENODATA), TRACEPACK_ERRNO(ETIME),
    TRACEPACK_ERRNO(ENOSR), TRACEPACK_ERRNO(ENONET), TRACEPACK_ERRNO(ENOPKG), TRACEPACK_ERRNO(EREMOTE),
    TRACEPACK_ERRNO(ENOLINK), TRACEPACK_ERRNO(EADV), TRACEPACK_ERRNO(ESRMNT), TRACEPACK_ERRNO(ECOMM),
    TRACEPACK_ERRNO(EPROTO), TRACEPACK_ERRNO(EMULTIHOP), TRACEPACK_ERRNO(EDOTDOT), TRACEPACK_ERRNO(EBADMSG),
    TRACEPACK_ERRNO(EOVERFLOW), TRACEPACK_ERRNO(ENOTUNIQ), TRACEPACK_ERRNO(EBADFD), TRACEPACK_ERRNO(EREMCHG),
    TRACEPACK_ERRNO(ELIBACC), TRACEPACK_ERRNO(ELIBBAD), TRACEPACK_ERRNO(ELIBSCN), TRACEPACK_ERRNO(ELIBMAX),
    TRACEPACK_ERRNO(ELIBEXEC), TRACEPACK_ERRNO(EILSEQ), TRACEPACK_ERRNO(ERESTART), TRACEPACK_ERRNO(ESTRPIPE),
    TRACEPACK_ERRNO(EUSERS), TRACEPACK_ERRNO(ENOTSOCK), TRACEPACK_ERRNO(EDESTADDRREQ), TRACEPACK_ERRNO(EMSGSIZE),
    TRACEPACK_ERRNO(EPROTOTYPE), TRACEPACK_ERRNO(ENOPROTOOPT), TRACEPACK_ERRNO(EPROTONOSUPPORT),
    TRACEPACK_ERRNO(ESOCKTNOSUPPORT), TRACEPACK_ERRNO(EOPNOTSUPP), TRACEPACK_ERRNO(EPFNOSUPPORT),
    TRACEPACK_ERRNO(EAFNOSUPPORT), TRACEPACK_ERRNO(EADDRINUSE), TRACEPACK_ERRNO(EADDRNOTAVAIL),
    TRACEPACK_ERRNO(ENETDOWN), TRACEPACK_ERRNO(ENETUNREACH), TRACEPACK_ERRNO(ENETRESET),
    TRACEPACK_ERRNO(ECONNABORTED), TRACEPACK_ERRNO(ECONNRESET), TRACEPACK_ERRNO(ENOBUFS),
    TRACEPACK_ERRNO(EISCONN), TRACEPACK_ERRNO(ENOTCONN), TRACEPACK_ERRNO(ESHUTDOWN),
    TRACEPACK_ERRNO(ETOOMANYREFS), TRACEPACK_ERRNO(ETIMEDOUT), TRACEPACK_ERRNO(ECONNREFUSED),
    TRACEPACK_ERRNO(EHOSTDOWN), TRACEPACK_ERRNO(EHOSTUNREACH), TRACEPACK_ERRNO(EALREADY),
    TRACEPACK_ERRNO(EINPROGRESS), TRACEPACK_ERRNO(ESTALE), TRACEPACK_ERRNO(EUCLEAN), TRACEPACK_ERRNO(ENOTNAM),
    TRACEPACK_ERRNO(ENAVAIL), TRACEPACK_ERRNO(EISNAM), TRACEPACK_ERRNO(EREMOTEIO), TRACEPACK_ERRNO(EDQUOT),
    TRACEPACK_ERRNO(ENOMEDIUM), TRACEPACK_ERRNO(EMEDIUMTYPE), TRACEPACK_ERRNO(ECANCELED),
    TRACEPACK_ERRNO(ENOKEY), TRACEPACK_ERRNO(EKEYEXPIRED), TRACEPACK_ERRNO(EKEYREVOKED),
    TRACEPACK_ERRNO(EKEYREJECTED), TRACEPACK_ERRNO(EOWNERDEAD), TRACEPACK_ERRNO(ENOTRECOVERABLE),
    TRACEPACK_ERRNO(ERFKILL), TRACEPACK_ERRNO(EHWPOISON),
    {512, "ERESTARTSYS"}, {513, "ERESTARTNOINTR"}, {514, "ERESTARTNOHAND"}, {515, "ENOIOCTLCMD"},
    {516, "ERESTART_RESTARTBLOCK"}, {517, "EPROBE_DEFER"}, {518, "EOPENSTALE"}, {519, "ENOPARAM"},
    {521, "EBADHANDLE"}, {522, "ENOTSYNC"}, {523, "EBADCOOKIE"}, {524, "ENOTSUPP"},
    {525, "ETOOSMALL"}, {526, "ESERVERFAULT"}, {527, "EBADTYPE"}, {528, "EJUKEBOX"},
    {529, "EIOCBQUEUED"}, {530, "ERECALLCONFLICT"}, {531, "ENOGRACE"},
};
#undef TRACEPACK_ERRNO
static_assert(std::is_sorted(std::begin(kErrnoNames), std::end(kErrnoNames),
                             [](const ErrnoName& a, const ErrnoName& b) { return a.number < b.number; }),
              "errno_name() searches kErrnoNames by binary search");

// Other spellings of the same numbers, accepted when reading.
constexpr ErrnoName kErrnoAliases[] = {
    {EWOULDBLOCK, "EWOULDBLOCK"}, {EDEADLOCK, "EDEADLOCK"}, {ENOTSUP, "ENOTSUP"}};

/// Appends "ENOENT" for a known errno, "E<number>" for any other value.
void append_errno_name(std::string& out, int number) {
  auto it = std::lower_bound(std::begin(kErrnoNames), std::end(kErrnoNames), number,
                             [](const ErrnoName& e, int n) { return e.number < n; });
  if (it != std::end(kErrnoNames) && it->number == number) {
    out += it->name;
  } else {
    out += 'E';
    out += std::to_string(number);
  }
}

/// Inverse of errno_name; also accepts the aliases. nullopt for anything else.
std::optional<int> errno_from_name(std::string_view name) {
  static const std::unordered_map<std::string_view, int> names = [] {
    std::unordered_map<std::string_view, int> map;
    for (const ErrnoName& e : kErrnoNames) map.emplace(e.name, e.number);
    for (const ErrnoName& e : kErrnoAliases) map.emplace(e.name, e.number);
    return map;
  }();
  if (auto it = names.find(name); it != names.end()) return it->second;
  if (name.size() < 2 || name[0] != 'E') return std::nullopt;
  int number = 0;
  auto [end, ec] = std::from_chars(name.data() + 1, name.data() + name.size(), number);
  if (ec != std::errc() || end != name.data() + name.size()) return std::nullopt;
  return number;
}

// ---------------------------------------------------------------------------
// Path escaping

/// Length of the well-formed UTF-8 sequence that starts at s[i], 0 if s[i]
/// starts none (Unicode Table 3-7).
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  // 0x100 stands for "past the end": it is in no byte range below.
  auto byte = [&](std::size_t k) -> unsigned {
    return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0x100u;
  };
  auto in = [](unsigned b, unsigned lo, unsigned hi) { return b >= lo && b <= hi; };
  unsigned b0 = byte(0);
  if (b0 < 0x80) return 1;
  std::size_t length = 0;
  unsigned lo = 0x80, hi = 0xBF;  // range of the second byte
  if (in(b0, 0xC2, 0xDF)) {
    length = 2;
  } else if (in(b0, 0xE0, 0xEF)) {
    length = 3;
    if (b0 == 0xE0) lo = 0xA0;  // shorter forms are overlong
    if (b0 == 0xED) hi = 0x9F;  // ED A0..BF would be a surrogate
  } else if (in(b0, 0xF0, 0xF4)) {
    length = 4;
    if (b0 == 0xF0) lo = 0x90;  // overlong
    if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;  // continuation byte, C0/C1 (always overlong) or F5..FF
  }
  if (!in(byte(1), lo, hi)) return 0;
  for (std::size_t k = 2; k < length; ++k) {
    if (!in(byte(k), 0x80, 0xBF)) return 0;
  }
  return length;
}

void append_percent(std::string& out, unsigned char byte) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  out += '%';
  out += kHex[byte >> 4];
  out += kHex[byte & 0xF];
}

/// Appends an ASCII character as it must appear inside a JSON string.
void append_json_ascii(std::string& out, char c) {
  switch (c) {
    case '"': out += "\\\""; return;
    case '\\': out += "\\\\"; return;
    case '\n': out += "\\n"; return;
    case '\t': out += "\\t"; return;
    case '\r': out += "\\r"; return;
    case '\b': out += "\\b"; return;
    case '\f': out += "\\f"; return;
    default: break;
  }
  if (static_cast<unsigned char>(c) < 0x20) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += "\\u00";
    out += kHex[c >> 4];
    out += kHex[c & 0xF];
  } else {
    out += c;
  }
}

/// True for ASCII that passes through both escapings untouched.
bool is_plain_ascii(char c) {
  return c >= 0x20 && c < 0x7F && c != '%' && c != '"' && c != '\\';
}

/// Appends the escaped form of `bytes` (see encode_path); with kJson, also
/// escapes it for the inside of a JSON string literal.
template <bool kJson>
void append_encoded(std::string& out, std::string_view bytes) {
  std::size_t i = 0;
  while (i < bytes.size()) {
    std::size_t run = i;
    while (run < bytes.size() && is_plain_ascii(bytes[run])) ++run;
    out.append(bytes.data() + i, run - i);
    if (run == bytes.size()) return;
    i = run;
    auto c = static_cast<unsigned char>(bytes[i]);
    std::size_t length = c < 0x80 ? 1 : utf8_sequence_length(bytes, i);
    if (c == '%' || length == 0) {
      append_percent(out, c);
      length = 1;
    } else if (c < 0x80) {
      if constexpr (kJson) append_json_ascii(out, bytes[i]);
      else out += bytes[i];
    } else {
      out.append(bytes.data() + i, length);
    }
    i += length;
  }
}

int hex_value(std::string_view text, std::size_t i) {
  if (i >= text.size()) return -1;
  char c = text[i];
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/// Decodes `text` into `out`. On a malformed escape returns false and sets
/// `bad` to the offset of its '%'.
bool decode_into(std::string_view text, std::string& out, std::size_t& bad) {
  out.clear();
  out.reserve(text.size());
  std::size_t i = 0;
  for (;;) {
    std::size_t percent = text.find('%', i);
    if (percent == std::string_view::npos) {
      out.append(text.substr(i));
      return true;
    }
    out.append(text.substr(i, percent - i));
    int high = hex_value(text, percent + 1);
    int low = high < 0 ? -1 : hex_value(text, percent + 2);
    if (low < 0) {
      bad = percent;
      return false;
    }
    out += static_cast<char>(high * 16 + low);
    i = percent + 3;
  }
}

std::string bad_escape_message(std::string_view text, std::size_t bad) {
  return "invalid escape '" + std::string(text.substr(bad, 3)) + "' at offset " + std::to_string(bad);
}

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
  LineFile(UniqueFd fd, std::string name) : fd_(std::move(fd)), name_(std::move(name)) {
    buffer_.reserve(kFlushBytes + 4096);
  }

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

double monotonic_seconds() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

struct TempFile {
  UniqueFd fd;
  std::string path;
};

/// Creates FILE.tmp.XXXXXX beside `file`, with the permissions a plain
/// creation would give (mkstemp would force 0600).
TempFile create_temp_beside(const std::string& file) {
  static constexpr std::string_view kChars =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::random_device random;
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string path = file + ".tmp.";
    for (int k = 0; k < 6; ++k) path += kChars[random() % kChars.size()];
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) return {UniqueFd(fd), std::move(path)};
    if (errno != EEXIST) throw_system_error(file + ": cannot create temporary file");
  }
  throw Error(file + ": cannot create temporary file: every name tried exists");
}

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

// ---------------------------------------------------------------------------
// Reading

/// Splits a file into lines, reading it in large chunks.
class LineReader {
 public:
  explicit LineReader(const std::string& file) : file_(file) {
    fd_.reset(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd_.get() < 0) throw_system_error(file + ": cannot open");
  }

  /// Sets `line` to the next line without its '\n' (valid until the next
  /// call) and `terminated` to whether a '\n' ended it. False at end of file.
  bool next(std::string_view& line, bool& terminated) {
    std::size_t scanned = begin_;
    for (;;) {
      const char* data = buffer_.data();
      if (const void* newline = std::memchr(data + scanned, '\n', end_ - scanned)) {
        std::size_t at = static_cast<const char*>(newline) - data;
        line = std::string_view(data + begin_, at - begin_);
        begin_ = at + 1;
        terminated = true;
        return true;
      }
      std::size_t pending = end_ - begin_;
      if (!fill()) break;
      scanned = begin_ + pending;
    }
    if (begin_ == end_) return false;
    line = std::string_view(buffer_.data() + begin_, end_ - begin_);
    begin_ = end_;
    terminated = false;
    return true;
  }

  /// Size of the file, 0 when it is not a regular file.
  std::size_t file_size() const {
    struct stat st {};
    return ::fstat(fd_.get(), &st) == 0 && S_ISREG(st.st_mode) ? static_cast<std::size_t>(st.st_size) : 0;
  }

  /// 1-based number of the line last returned by next().
  std::size_t line_number() const { return line_number_; }
  void count_line() { ++line_number_; }

 private:
  /// Moves the unread bytes to the front and reads more. False at end of file.
  bool fill() {
    std::size_t pending = end_ - begin_;
    if (begin_ > 0) {
      std::memmove(buffer_.data(), buffer_.data() + begin_, pending);
      begin_ = 0;
      end_ = pending;
    }
    if (pending >= kMaxLineBytes) {
      throw Error(file_ + ":" + std::to_string(line_number_ + 1) + ": line longer than " +
                  std::to_string(kMaxLineBytes) + " bytes");
    }
    if (buffer_.size() - end_ < kReadChunk / 2) buffer_.resize(std::max(kReadChunk, buffer_.size() * 2));
    for (;;) {
      ssize_t n = ::read(fd_.get(), buffer_.data() + end_, buffer_.size() - end_);
      if (n >= 0) {
        end_ += static_cast<std::size_t>(n);
        return n > 0;
      }
      if (errno != EINTR) throw_system_error(file_ + ": cannot read");
    }
  }

  std::string file_;
  UniqueFd fd_;
  std::string buffer_;
  std::size_t begin_ = 0;  // first unread byte
  std::size_t end_ = 0;    // end of the bytes read so far
  std::size_t line_number_ = 0;
};

/// One parsed line, with what error messages about it need. Reading a string
/// field moves it out of the parsed line when it needs no decoding, so each
/// field is read once.
struct Fields {
  Json& object;
  const std::string& file;
  std::size_t line;
  std::string_view record;  // "header", "access record"...

  [[noreturn]] void fail(const std::string& problem) const {
    throw Error(file + ":" + std::to_string(line) + ": " + std::string(record) + ": " + problem);
  }
  [[noreturn]] void fail_type(std::string_view key, std::string_view type) const {
    fail("field '" + std::string(key) + "' is not " + std::string(type));
  }

  Json* find(std::string_view key) const {
    auto it = object.find(key);
    return it == object.end() ? nullptr : &*it;
  }
  Json& get(std::string_view key) const {
    Json* value = find(key);
    if (value == nullptr) fail("missing field '" + std::string(key) + "'");
    return *value;
  }

  std::uint64_t u64(std::string_view key) const { return as_u64(get(key), key); }
  int int32(std::string_view key) const { return as_int(get(key), key); }
  double real(std::string_view key) const {
    const Json& value = get(key);
    if (!value.is_number()) fail_type(key, "a number");
    return value.get<double>();
  }
  bool flag(std::string_view key) const { return as_bool(get(key), key); }
  std::string_view name(std::string_view key) const { return as_name(get(key), key); }
  std::string text(std::string_view key) const { return as_text(get(key), key); }
  std::vector<std::string> text_list(std::string_view key) const { return as_text_list(get(key), key); }

  std::uint64_t as_u64(const Json& value, std::string_view key) const {
    if (!value.is_number_unsigned()) fail_type(key, "a non-negative integer");
    return value.get<std::uint64_t>();
  }
  int as_int(const Json& value, std::string_view key) const {
    if (value.is_number_unsigned()) {
      auto n = value.get<std::uint64_t>();
      if (n > static_cast<std::uint64_t>(INT_MAX)) fail("field '" + std::string(key) + "' is out of range");
      return static_cast<int>(n);
    }
    if (!value.is_number_integer()) fail_type(key, "an integer");
    auto n = value.get<std::int64_t>();
    if (n < INT_MIN) fail("field '" + std::string(key) + "' is out of range");
    return static_cast<int>(n);
  }
  bool as_bool(const Json& value, std::string_view key) const {
    if (!value.is_boolean()) fail_type(key, "a boolean");
    return value.get<bool>();
  }
  std::string_view as_name(const Json& value, std::string_view key) const {
    if (!value.is_string()) fail_type(key, "a string");
    return value.get_ref<const std::string&>();
  }
  std::string as_text(Json& value, std::string_view key) const {
    if (!value.is_string()) fail_type(key, "a string");
    auto& encoded = value.get_ref<std::string&>();
    if (encoded.find('%') == std::string::npos) return std::move(encoded);  // nothing to decode
    return decoded(encoded, key);
  }
  std::string decoded(std::string_view encoded, std::string_view key) const {
    std::string bytes;
    std::size_t bad = 0;
    if (!decode_into(encoded, bytes, bad)) {
      fail("field '" + std::string(key) + "': " + bad_escape_message(encoded, bad));
    }
    return bytes;
  }
  std::vector<std::string> as_text_list(Json& value, std::string_view key) const {
    if (!value.is_array()) fail_type(key, "an array of strings");
    std::vector<std::string> list;
    list.reserve(value.size());
    for (Json& item : value) {
      if (!item.is_string()) fail_type(key, "an array of strings");
      list.push_back(as_text(item, key));
    }
    return list;
  }
  std::vector<Symlink> links(std::string_view key) const {
    Json* value = find(key);
    if (value == nullptr) return {};
    if (!value->is_array()) fail_type(key, "an array of {\"path\", \"target\"} objects");
    std::vector<Symlink> links;
    links.reserve(value->size());
    for (Json& item : *value) {
      if (!item.is_object()) fail_type(key, "an array of {\"path\", \"target\"} objects");
      Fields link{item, file, line, record};
      links.push_back({link.text("path"), link.text("target")});
    }
    return links;
  }

  template <class Enum, std::size_t N>
  Enum enum_value(std::string_view key, const std::array<std::string_view, N>& names, Enum fallback,
                  bool required) const {
    const Json* value = find(key);
    if (value == nullptr) {
      if (required) get(key);
      return fallback;
    }
    std::string_view name = as_name(*value, key);
    if (auto parsed = enum_from_name<Enum>(names, name)) return *parsed;
    fail("unknown " + std::string(key) + " '" + std::string(name) + "'");
  }

  int error_number(std::string_view key) const {
    const Json* value = find(key);
    if (value == nullptr) return 0;
    if (value->is_number()) return as_int(*value, key);
    std::string_view name = as_name(*value, key);
    if (auto number = errno_from_name(name)) return *number;
    fail("unknown error name '" + std::string(name) + "'");
  }

  /// The field read with `get_value`, or `fallback` when it is absent.
  template <class T, class Get>
  T value_or(std::string_view key, T fallback, Get get_value) const {
    Json* value = find(key);
    return value == nullptr ? fallback : (this->*get_value)(*value, key);
  }
};

/// Folds the lines of one trace file into a Trace.
class TraceReader {
 public:
  explicit TraceReader(const std::string& file) : file_(file), lines_(file) {}

  Trace read() {
    read_header();
    reserve_accesses();
    std::string_view line;
    bool terminated = false;
    while (lines_.next(line, terminated)) {
      lines_.count_line();
      if (!read_record(line, terminated)) break;
    }
    sort_by_id(trace_.processes);
    sort_by_id(trace_.accesses);
    return std::move(trace_);
  }

 private:
  std::string location() const { return file_ + ":" + std::to_string(lines_.line_number()); }

  void read_header() {
    std::string_view line;
    bool terminated = false;
    if (!lines_.next(line, terminated)) throw Error(file_ + ": empty file, not a tracepack trace");
    lines_.count_line();
    Json header = Json::parse(line.begin(), line.end(), nullptr, false);
    Fields f{header, file_, 1, "header"};
    const Json* format = header.is_object() ? f.find("format") : nullptr;
    if (format == nullptr || !format->is_string() || format->get_ref<const std::string&>() != kFormatName) {
      throw Error(location() + ": not a tracepack trace");
    }
    check_version(f);
    RunInfo& run = trace_.run;
    run.format_version = kTraceFormatVersion;
    run.tracepack_version = f.text("tracepack");
    run.label = f.text("label");
    run.kernel = f.text("kernel");
    run.arch = f.text("arch");
    run.argv = f.text_list("argv");
    run.cwd = f.text("cwd");
    run.start_time = f.text("start_time");
    run.env_names = f.text_list("env_names");
    if (Json* env = f.find("env")) run.env_values = read_env(f, *env);
  }

  /// Sizes trace_.accesses from the file size. Without it, growing the vector
  /// moves every access about twice, into freshly faulted pages: a third of
  /// the reading time. An overestimate only reserves untouched address space.
  void reserve_accesses() {
    constexpr std::size_t kShortestAccessLine = 100;  // typical lines are two to three times longer
    constexpr std::size_t kMaxReserved = std::size_t{1} << 20;  // about 330 MB of address space
    trace_.accesses.reserve(std::min(lines_.file_size() / kShortestAccessLine, kMaxReserved));
  }

  void check_version(const Fields& f) const {
    const Json& version = f.get("version");
    if (!version.is_number_integer()) f.fail_type("version", "an integer");
    auto number = version.get<std::int64_t>();
    if (number != kTraceFormatVersion) {
      throw Error(location() + ": unsupported trace format version " + std::to_string(number) +
                  " (this tracepack reads version " + std::to_string(kTraceFormatVersion) + ")");
    }
  }

  static std::map<std::string, std::string> read_env(const Fields& f, Json& env) {
    if (!env.is_object()) f.fail_type("env", "an object of strings");
    std::map<std::string, std::string> values;
    for (auto [name, value] : env.items()) {
      if (!value.is_string()) f.fail_type("env", "an object of strings");
      values.emplace(f.decoded(name, "env"), f.as_text(value, "env"));
    }
    return values;
  }

  /// Adds one record line. False when the line is a cut-off last line.
  bool read_record(std::string_view line, bool terminated) {
    if (trace_.end) throw Error(location() + ": record after the end record");
    Json object;
    try {
      object = Json::parse(line.begin(), line.end());
    } catch (const Json::exception& e) {  // parse_error, and out_of_range for a number like 1e999
      if (!terminated) {  // the tracer was killed while writing this line
        trace_.cut_line = lines_.line_number();
        return false;
      }
      throw Error(location() + ": malformed JSON: " + parse_error_detail(e.what()));
    }
    if (!object.is_object()) throw Error(location() + ": record: not a JSON object");
    std::string_view type = Fields{object, file_, lines_.line_number(), "record"}.name("t");
    dispatch(type, object);
    return true;
  }

  void dispatch(std::string_view type, Json& object) {
    std::size_t line = lines_.line_number();
    if (type == "access") return read_access(Fields{object, file_, line, "access record"});
    if (type == "repeat") return read_repeat(Fields{object, file_, line, "repeat record"});
    if (type == "process") return read_process(Fields{object, file_, line, "process record"});
    if (type == "exec") return read_exec(Fields{object, file_, line, "exec record"});
    if (type == "exit") return read_exit(Fields{object, file_, line, "exit record"});
    if (type == "warning") return read_warning(Fields{object, file_, line, "warning record"});
    if (type == "end") return read_end(Fields{object, file_, line, "end record"});
    throw Error(location() + ": unknown record type '" + std::string(type) + "'");
  }

  /// nlohmann's message without its "[json.exception...] ... column N: " prefix,
  /// cut short when it quotes a long token.
  static std::string parse_error_detail(std::string_view what) {
    std::size_t column = what.find("column ");
    std::size_t colon = column == std::string_view::npos ? column : what.find(": ", column);
    if (colon != std::string_view::npos) what.remove_prefix(colon + 2);
    else if (std::size_t id = what.find("] "); what.starts_with("[json.exception.") && id != what.npos)
      what.remove_prefix(id + 2);  // no position: "[json.exception.out_of_range.406] number overflow..."
    constexpr std::size_t kMax = 160;
    if (what.size() <= kMax) return std::string(what);
    std::size_t cut = kMax;
    while (cut > 0 && (static_cast<unsigned char>(what[cut]) & 0xC0) == 0x80) --cut;
    return std::string(what.substr(0, cut)) + "...";
  }

  Process& known_process(const Fields& f, std::uint64_t id) {
    auto it = process_index_.find(id);
    if (it == process_index_.end()) f.fail("unknown process " + std::to_string(id));
    return trace_.processes[it->second];
  }

  void read_process(const Fields& f) {
    Process process;
    process.id = f.u64("id");
    process.pid = f.int32("pid");
    process.parent = f.u64("parent");
    process.start = f.real("start");
    process.test = f.value_or("test", std::string(), &Fields::as_text);
    if (!process_index_.emplace(process.id, trace_.processes.size()).second) {
      f.fail("duplicate process id " + std::to_string(process.id));
    }
    trace_.processes.push_back(std::move(process));
  }

  void read_exec(const Fields& f) {
    Process& process = known_process(f, f.u64("process"));
    Exec exec;
    exec.time = f.real("time");
    exec.path = f.text("path");
    exec.exe = f.text("exe");
    exec.argv = f.text_list("argv");
    exec.cwd = f.text("cwd");
    exec.interpreters = f.text_list("interpreters");
    process.execs.push_back(std::move(exec));
  }

  void read_access(const Fields& f) {
    FileAccess a;
    a.id = f.u64("id");
    a.process = known_process(f, f.u64("process")).id;
    a.tid = f.int32("tid");
    a.syscall = f.text("syscall");
    a.kind = f.enum_value("kind", kAccessKindNames, AccessKind::other, true);
    a.origin = f.enum_value("origin", kOriginNames, AccessOrigin::syscall, false);
    a.path = f.text("path");
    a.resolved = f.text("resolved");
    a.links = f.links("links");
    a.path2 = f.value_or("path2", std::string(), &Fields::as_text);
    a.resolved2 = f.value_or("resolved2", std::string(), &Fields::as_text);
    a.links2 = f.links("links2");
    a.flags = f.value_or("flags", std::uint64_t{0}, &Fields::as_u64);
    a.error = f.error_number("error");
    a.observed = f.value_or("observed", false, &Fields::as_bool);
    a.type = f.enum_value("type", kFileTypeNames, FileType::none, false);
    if (!access_index_.emplace(a.id, trace_.accesses.size()).second) {
      f.fail("duplicate access id " + std::to_string(a.id));
    }
    trace_.accesses.push_back(std::move(a));
  }

  void read_repeat(const Fields& f) {
    std::uint64_t id = f.u64("access");
    std::uint64_t count = f.u64("count");
    auto it = access_index_.find(id);
    if (it == access_index_.end()) f.fail("unknown access " + std::to_string(id));
    if (count == 0) f.fail("field 'count' is 0");
    trace_.accesses[it->second].count = count;  // a total, not an increment: the last one wins
  }

  void read_exit(const Fields& f) {
    Process& process = known_process(f, f.u64("process"));
    if (process.exited) f.fail("process " + std::to_string(process.id) + " exited twice");
    process.exited = true;
    process.end = f.real("end");
    if (f.find("signal") != nullptr) {
      process.signal = f.int32("signal");
      process.core_dumped = f.value_or("core_dumped", false, &Fields::as_bool);
    } else {
      process.exit_code = f.int32("exit_code");
    }
  }

  void read_warning(const Fields& f) {
    Warning warning;
    warning.process = f.u64("process");
    if (warning.process != 0) known_process(f, warning.process);
    warning.message = f.text("message");
    trace_.warnings.push_back(std::move(warning));
  }

  void read_end(const Fields& f) {
    RunEnd end;
    end.end = f.real("end");
    end.exit_code = f.int32("exit_code");
    end.signal = f.int32("signal");
    end.timed_out = f.flag("timed_out");
    trace_.end = end;
  }

  template <class Item>
  static void sort_by_id(std::vector<Item>& items) {
    auto by_id = [](const Item& a, const Item& b) { return a.id < b.id; };
    if (!std::is_sorted(items.begin(), items.end(), by_id)) std::sort(items.begin(), items.end(), by_id);
  }

  std::string file_;
  LineReader lines_;
  Trace trace_;
  std::unordered_map<std::uint64_t, std::size_t> process_index_;  // id -> index in trace_.processes
  std::unordered_map<std::uint64_t, std::size_t> access_index_;   // id -> index in trace_.accesses
};

}  // namespace

// ---------------------------------------------------------------------------
// Public interface

std::string encode_path(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  append_encoded<false>(out, bytes);
  return out;
}

PathBytes decode_path(std::string_view text) {
  std::string problem;
  std::optional<PathBytes> bytes = decode_path(text, problem);
  if (!bytes) throw Error("path: " + problem);
  return std::move(*bytes);
}

std::optional<PathBytes> decode_path(std::string_view text, std::string& problem) {
  PathBytes bytes;
  std::size_t bad = 0;
  if (decode_into(text, bytes, bad)) return bytes;
  problem = bad_escape_message(text, bad);
  return std::nullopt;
}

std::string truncation_of(const Trace& trace) {
  if (trace.end) return "";
  if (trace.cut_line == 0) return "no end record";
  return "line " + std::to_string(trace.cut_line) + " cut short, no end record";
}

std::string check_trace_complete(const Trace& trace, const std::string& file, bool allow_truncated) {
  std::string why = truncation_of(trace);
  if (why.empty()) return "";
  std::string head = file + ": truncated trace (" + why + "): the traced run was cut short";
  if (!allow_truncated)
    throw Error(head + ", so a bundle made from it would be incomplete (--allow-truncated uses what it holds)");
  return head + "; using what it holds, the bundle may lack files the run used after the cut";
}

std::string_view to_string(AccessKind kind) { return enum_name(kAccessKindNames, kind); }
std::string_view to_string(AccessOrigin origin) { return enum_name(kOriginNames, origin); }
std::string_view to_string(FileType type) { return enum_name(kFileTypeNames, type); }

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

Trace read_trace(const std::string& file) { return TraceReader(file).read(); }

void write_trace(const Trace& trace, const std::string& file) {
  if (is_special_file(file)) {
    LineFile out(create_for_writing(file), file);
    append_trace(out, trace);
    out.flush();
    out.close();
    return;
  }
  TempFile temp = create_temp_beside(file);
  try {
    LineFile out(std::move(temp.fd), file);
    append_trace(out, trace);
    out.flush();
    out.close();
    if (::rename(temp.path.c_str(), file.c_str()) != 0) throw_system_error(file + ": cannot replace");
  } catch (...) {
    ::unlink(temp.path.c_str());
    throw;
  }
}

}  // namespace tracepack

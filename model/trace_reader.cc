// The trace file format, read.
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
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <utility>

#include "path_escaping.h"
#include "trace_names.h"
#include "tracepack/error.h"
#include "tracepack/posix.h"
#include "tracepack/trace.h"

namespace tracepack {
namespace {

using namespace trace_format;
using Json = nlohmann::json;

constexpr std::size_t kReadChunk = 1024 * 1024;    // read(2) size when reading a trace
constexpr std::size_t kMaxLineBytes = 256u << 20;  // longer lines are refused, not buffered

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
      throw Error(file_ + ":" + std::to_string(line_number_ + 1) + ": line longer than " + std::to_string(kMaxLineBytes) + " bytes");
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
  Enum enum_value(std::string_view key, const std::array<std::string_view, N>& names, Enum fallback, bool required) const {
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
    constexpr std::size_t kShortestAccessLine = 100;            // typical lines are two to three times longer
    constexpr std::size_t kMaxReserved = std::size_t{1} << 20;  // about 330 MB of address space
    trace_.accesses.reserve(std::min(lines_.file_size() / kShortestAccessLine, kMaxReserved));
  }

  void check_version(const Fields& f) const {
    const Json& version = f.get("version");
    if (!version.is_number_integer()) f.fail_type("version", "an integer");
    auto number = version.get<std::int64_t>();
    if (number != kTraceFormatVersion) {
      throw Error(location() + ": unsupported trace format version " + std::to_string(number) + " (this tracepack reads version " +
                  std::to_string(kTraceFormatVersion) + ")");
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
      if (!terminated) {                  // the tracer was killed while writing this line
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
    if (colon != std::string_view::npos)
      what.remove_prefix(colon + 2);
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

std::string truncation_of(const Trace& trace) {
  if (trace.end) return "";
  if (trace.cut_line == 0) return "no end record";
  return "line " + std::to_string(trace.cut_line) + " cut short, no end record";
}

std::string check_trace_complete(const Trace& trace, const std::string& file, bool allow_truncated) {
  std::string why = truncation_of(trace);
  if (why.empty()) return "";
  std::string head = file + ": truncated trace (" + why + "): the traced run was cut short";
  if (!allow_truncated) throw Error(head + ", so a bundle made from it would be incomplete (--allow-truncated uses what it holds)");
  return head + "; using what it holds, the bundle may lack files the run used after the cut";
}

Trace read_trace(const std::string& file) { return TraceReader(file).read(); }

}  // namespace tracepack

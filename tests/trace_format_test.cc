// Tests of the trace file format: path escaping, the exact text of each record
// type, round trips through write_trace and TraceWriter, every reader error
// (asserted byte for byte), truncated traces and the writer's flushing rules.
// Every test works on real files in its own temporary directory.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tracepack/error.h"
#include "tracepack/trace.h"

namespace tracepack {

// Readable failure output for the records compared below.
void PrintTo(const Symlink& link, std::ostream* os) { *os << "{" << encode_path(link.path) << " -> " << encode_path(link.target) << "}"; }
void PrintTo(const FileAccess& a, std::ostream* os) {
  *os << "access{id " << a.id << ", process " << a.process << ", tid " << a.tid << ", " << a.syscall << ", " << to_string(a.kind) << ", "
      << to_string(a.origin) << ", path " << encode_path(a.path) << ", resolved " << encode_path(a.resolved) << ", path2 "
      << encode_path(a.path2) << ", resolved2 " << encode_path(a.resolved2) << ", " << a.links.size() << "+" << a.links2.size()
      << " links, flags " << a.flags << ", error " << a.error << ", observed " << a.observed << ", " << to_string(a.type) << ", count "
      << a.count << "}";
}
void PrintTo(const Process& p, std::ostream* os) {
  *os << "process{id " << p.id << ", pid " << p.pid << ", parent " << p.parent << ", start " << p.start << ", " << p.execs.size()
      << " execs, exited " << p.exited << ", end " << p.end << ", exit_code " << p.exit_code << ", signal " << p.signal << ", core_dumped "
      << p.core_dumped << "}";
}

namespace {

namespace fs = std::filesystem;

// --- test utilities ----------------------------------------------------------

/// A fresh directory under $TMPDIR (or /tmp), removed with its contents.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/trace-format-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  ASSERT_TRUE(out.good()) << path;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

/// The message of the Error that read_trace(file) throws, or "" if none.
std::string read_error(const std::string& file) {
  try {
    read_trace(file);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

Process make_process(std::uint64_t id, int pid, std::uint64_t parent = 0, double start = 0) {
  Process process;
  process.id = id;
  process.pid = pid;
  process.parent = parent;
  process.start = start;
  return process;
}

Process exited_process(Process process, double end, int exit_code, int signal = 0, bool core_dumped = false) {
  process.exited = true;
  process.end = end;
  process.exit_code = exit_code;
  process.signal = signal;
  process.core_dumped = core_dumped;
  return process;
}

Exec make_exec(double time, const std::string& path, const std::string& exe, std::vector<std::string> argv, const std::string& cwd,
               std::vector<std::string> interpreters = {}) {
  Exec exec;
  exec.time = time;
  exec.path = path;
  exec.exe = exe;
  exec.argv = std::move(argv);
  exec.cwd = cwd;
  exec.interpreters = std::move(interpreters);
  return exec;
}

FileAccess make_access(std::uint64_t id, std::uint64_t process, int tid, const std::string& syscall, AccessKind kind,
                       const std::string& path = "", const std::string& resolved = "") {
  FileAccess access;
  access.id = id;
  access.process = process;
  access.tid = tid;
  access.syscall = syscall;
  access.kind = kind;
  access.path = path;
  access.resolved = resolved;
  return access;
}

RunEnd make_end(double end, int exit_code, int signal, bool timed_out) {
  RunEnd run_end;
  run_end.end = end;
  run_end.exit_code = exit_code;
  run_end.signal = signal;
  run_end.timed_out = timed_out;
  return run_end;
}

std::vector<std::string> directory_entries(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

/// An independent UTF-8 check: decode each code point arithmetically and
/// refuse overlong forms, surrogates and values above U+10FFFF.
bool is_valid_utf8(std::string_view s) {
  static constexpr std::uint32_t kMinimum[] = {0, 0x80, 0x800, 0x10000};
  std::size_t i = 0;
  while (i < s.size()) {
    auto lead = static_cast<unsigned char>(s[i]);
    std::size_t more = 0;
    std::uint32_t cp = 0;
    if (lead < 0x80) {
      ++i;
      continue;
    } else if ((lead & 0xE0) == 0xC0) {
      more = 1, cp = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
      more = 2, cp = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
      more = 3, cp = lead & 0x07;
    } else {
      return false;
    }
    if (i + more >= s.size()) return false;
    for (std::size_t k = 1; k <= more; ++k) {
      auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < kMinimum[more] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += more + 1;
  }
  return true;
}

/// Paths a file system accepts but JSON cannot hold as they are.
std::vector<std::string> awkward_paths() {
  std::string long_path;
  while (long_path.size() < 4000) long_path += "/d\xff\xc3\xa9%\n";
  long_path.resize(4000);
  return {
      "/tmp/new\nline",
      "/tmp/tab\there",
      "/bad/\xff",
      "/lone/\x80/continuation",
      "/truncated/\xe2\x82",
      "/overlong/\xc0\xaf",
      "/surrogate/\xed\xa0\x80",
      "/too-big/\xf4\x90\x80\x80",
      "/percent/100%/%25",
      "/quote\"back\\slash\x01\x7f",
      "/ok/\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
      long_path,
  };
}

RunInfo sample_run() {
  RunInfo run;
  run.tracepack_version = "0.1.0";
  run.label = "label 100% \xff\n";
  run.kernel = "6.1.0-18-amd64";
  run.arch = "x86_64";
  run.argv = {"/bin/sh", "-c", "echo\t\"x\"\n", "\xff"};
  run.cwd = "/home/u/dir\xc0\xaf";
  run.start_time = "2024-05-01T12:00:00.123456Z";
  run.env_names = {"HOME", "PATH", "WEIRD\xff"};
  run.env_values = {{"HOME", "/root"}, {"WEIRD\xff", "v%\n\xfe"}};
  return run;
}

/// A trace with every field of every record set, and every awkward path in
/// every kind of path field.
Trace full_trace() {
  Trace trace;
  trace.run = sample_run();
  std::vector<std::string> paths = awkward_paths();

  Process sh = exited_process(make_process(1, 100), 1.5, 3);
  sh.execs.push_back(make_exec(0.001, "/bin/sh", "/usr/bin/dash", {"sh", "-c", paths[0]}, paths[6]));
  Process script = exited_process(make_process(2, 101, 1, 0.25), 1.25, 0, 11, true);
  script.execs.push_back(make_exec(0.26, paths[1], paths[2], paths, paths[11], {paths[3], "/lib64/ld-linux-x86-64.so.2"}));
  script.execs.push_back(make_exec(0.3, "/bin/true", "/usr/bin/true", {"true"}, "/"));
  Process running = make_process(3, 102, 2, 0.5);
  trace.processes = {sh, script, running};

  // One access per kind, cycling through origins and types, each with an
  // awkward path in every path field.
  for (int k = 0; k < 16; ++k) {
    FileAccess a;
    a.id = static_cast<std::uint64_t>(k + 1);
    a.process = static_cast<std::uint64_t>(k % 3 + 1);
    a.tid = 100 + k;
    a.syscall = k % 2 == 0 ? "openat" : "renameat2";
    a.kind = static_cast<AccessKind>(k);
    a.origin = static_cast<AccessOrigin>(k % 4);
    a.path = paths[k % paths.size()];
    a.resolved = "/r" + paths[(k + 1) % paths.size()];
    a.links = {{paths[(k + 2) % paths.size()], paths[(k + 3) % paths.size()]}, {"/lib64", "usr/lib64"}};
    a.path2 = paths[(k + 4) % paths.size()];
    a.resolved2 = "/r2" + paths[(k + 5) % paths.size()];
    a.links2 = {{paths[(k + 6) % paths.size()], "t"}};
    a.flags = 0x80000u + static_cast<std::uint64_t>(k);
    a.error = k % 3 == 0 ? ENOENT : (k % 3 == 1 ? EXDEV : 0);
    a.observed = k % 2 == 1;
    a.type = static_cast<FileType>(k % 9);
    a.count = static_cast<std::uint64_t>(k % 4 == 0 ? 1 : k * 1000);
    trace.accesses.push_back(a);
  }
  // And one with every optional field at its default.
  FileAccess plain;
  plain.id = 17;
  plain.process = 1;
  plain.tid = 100;
  plain.syscall = "getdents64";
  plain.kind = AccessKind::list;
  plain.resolved = "/home";
  trace.accesses.push_back(plain);

  trace.warnings = {{0, "timeout: killed every tracee after 5 s"}, {2, "io_uring: 100% \xff unseen"}};
  trace.end = make_end(2.5, 0, 9, true);
  return trace;
}

/// Streams `trace` through a TraceWriter in the order a tracer would.
void stream_trace(const Trace& trace, const std::string& file, bool finish) {
  TraceWriter writer(file, trace.run);
  for (const Process& p : trace.processes) {
    writer.write_process(p);
    for (const Exec& e : p.execs) writer.write_exec(p.id, e);
  }
  for (const FileAccess& a : trace.accesses) {
    writer.write_access(a);
    if (a.count > 2) writer.write_repeat(a.id, a.count / 2);  // an earlier total, superseded below
  }
  for (const FileAccess& a : trace.accesses) {
    if (a.count > 1) writer.write_repeat(a.id, a.count);
  }
  for (const Process& p : trace.processes) {
    if (p.exited) writer.write_exit(p);
  }
  for (const Warning& w : trace.warnings) writer.write_warning(w);
  if (finish && trace.end) writer.finish(*trace.end);
}

void expect_same_trace(const Trace& expected, const Trace& actual) {
  EXPECT_TRUE(expected.run == actual.run);
  ASSERT_EQ(expected.processes.size(), actual.processes.size());
  for (std::size_t i = 0; i < expected.processes.size(); ++i) {
    EXPECT_EQ(expected.processes[i], actual.processes[i]);
  }
  ASSERT_EQ(expected.accesses.size(), actual.accesses.size());
  for (std::size_t i = 0; i < expected.accesses.size(); ++i) {
    EXPECT_EQ(expected.accesses[i], actual.accesses[i]);
  }
  EXPECT_TRUE(expected.warnings == actual.warnings);
  EXPECT_TRUE(expected.end == actual.end);
  EXPECT_TRUE(expected == actual);
}

// A valid header line, for hand-written traces.
const std::string kHeader = R"({"format":"tracepack-trace","version":1,"tracepack":"0.1.0","label":"t","kernel":"6.1.0",)"
                            R"("arch":"x86_64","argv":["true"],"cwd":"/","start_time":"2024-05-01T12:00:00.000000Z","env_names":[]})"
                            "\n";
const std::string kProcess1 = R"({"t":"process","id":1,"pid":10,"parent":0,"start":0})"
                              "\n";
const std::string kAccess1 = R"({"t":"access","id":1,"process":1,"tid":10,"syscall":"openat","kind":"read","path":"a","resolved":"/a"})"
                             "\n";
const std::string kEnd = R"({"t":"end","end":1,"exit_code":0,"signal":0,"timed_out":false})"
                         "\n";

// --- path escaping ---------------------------------------------------------

TEST(EncodePath, EscapesPercentAndBytesOutsideValidUtf8Only) {
  const std::pair<std::string, std::string> cases[] = {
      {"", ""},
      {"/usr/bin/ls", "/usr/bin/ls"},
      {"new\nline\ttab\"quote\\", "new\nline\ttab\"quote\\"},
      {"100%", "100%25"},
      {"%25", "%2525"},
      {"\xff", "%FF"},
      {"a\x80"
       "b",
       "a%80b"},                                        // lone continuation byte
      {"\xe2\x82", "%E2%82"},                           // truncated 3-byte sequence at the end
      {"\xe2\x82x", "%E2%82x"},                         // ...and in the middle
      {"\xe2\x82\xac", "\xe2\x82\xac"},                 // the complete sequence (U+20AC) stays
      {"\xc0\xaf", "%C0%AF"},                           // overlong '/'
      {"\xe0\x80\xaf", "%E0%80%AF"},                    // overlong '/' in three bytes
      {"\xf0\x80\x80\xaf", "%F0%80%80%AF"},             // ...and in four
      {"\xed\xa0\x80", "%ED%A0%80"},                    // surrogate U+D800
      {"\xed\x9f\xbf", "\xed\x9f\xbf"},                 // U+D7FF, just below the surrogates
      {"\xf4\x90\x80\x80", "%F4%90%80%80"},             // U+110000
      {"\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"},         // U+10FFFF
      {"\xc3\xa9\xff\xc3\xa9", "\xc3\xa9%FF\xc3\xa9"},  // é, a bad byte, é
      {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"},         // an emoji
  };
  for (const auto& [bytes, encoded] : cases) {
    EXPECT_EQ(encode_path(bytes), encoded) << "input " << ::testing::PrintToString(bytes);
    EXPECT_EQ(decode_path(encoded), bytes);
  }
}

// Every 1- and 2-byte string and a large slice of the 3- and 4-byte ones:
// the encoding is valid UTF-8, decodes back exactly, and leaves valid UTF-8
// without '%' unchanged.
TEST(EncodePath, IsValidUtf8AndInvertibleForAllShortStrings) {
  std::size_t checked = 0;
  auto check = [&](const std::string& s) {
    std::string encoded = encode_path(s);
    ASSERT_TRUE(is_valid_utf8(encoded)) << ::testing::PrintToString(s);
    ASSERT_EQ(decode_path(encoded), s) << ::testing::PrintToString(s);
    if (is_valid_utf8(s) && s.find('%') == std::string::npos) {
      ASSERT_EQ(encoded, s);
    }
    if (!is_valid_utf8(s)) {
      ASSERT_NE(encoded, s);
    }
    ++checked;
  };
  for (int a = 0; a < 256; ++a) {
    check(std::string(1, static_cast<char>(a)));
    for (int b = 0; b < 256; ++b) check({static_cast<char>(a), static_cast<char>(b)});
  }
  for (int lead : {0xC2, 0xE0, 0xE1, 0xED, 0xEF, 0xF0, 0xF4, 0xF5}) {
    for (int b = 0; b < 256; ++b) {
      for (int c = 0; c < 256; ++c) {
        check({static_cast<char>(lead), static_cast<char>(b), static_cast<char>(c)});
        if (lead >= 0xF0 && (c == 0x80 || c == 0xBF || c == 0x41)) {
          check({static_cast<char>(lead), static_cast<char>(b), static_cast<char>(c), '\x80'});
          check({static_cast<char>(lead), static_cast<char>(b), static_cast<char>(c), '\xbf'});
        }
      }
    }
  }
  EXPECT_GT(checked, 500000u);
}

TEST(EncodePath, AwkwardPathsRoundTrip) {
  for (const std::string& path : awkward_paths()) {
    std::string encoded = encode_path(path);
    EXPECT_TRUE(is_valid_utf8(encoded));
    EXPECT_EQ(decode_path(encoded), path);
  }
}

TEST(DecodePath, AcceptsLowerCaseHexDigits) { EXPECT_EQ(decode_path("a%ff%2a"), "a\xff*"); }

TEST(DecodePath, RefusesMalformedEscapes) {
  const std::pair<std::string, std::string> cases[] = {
      {"%G1", "path: invalid escape '%G1' at offset 0"}, {"/a%1G", "path: invalid escape '%1G' at offset 2"},
      {"/abc%", "path: invalid escape '%' at offset 4"}, {"/abc%4", "path: invalid escape '%4' at offset 4"},
      {"%41%", "path: invalid escape '%' at offset 3"},
  };
  for (const auto& [text, message] : cases) {
    try {
      decode_path(text);
      ADD_FAILURE() << "no error for " << text;
    } catch (const Error& e) {
      EXPECT_EQ(e.what(), message);
    }
  }
}

TEST(ToString, GivesTheFormatNames) {
  const char* kinds[] = {"read",  "write",  "create", "exec", "stat",    "readlink", "list",  "chdir",
                         "mkdir", "remove", "rename", "link", "symlink", "attr",     "watch", "other"};
  for (int k = 0; k < 16; ++k) EXPECT_EQ(to_string(static_cast<AccessKind>(k)), kinds[k]);
  EXPECT_EQ(to_string(AccessOrigin::syscall), "syscall");
  EXPECT_EQ(to_string(AccessOrigin::shebang), "shebang");
  EXPECT_EQ(to_string(AccessOrigin::elf_interp), "elf_interp");
  EXPECT_EQ(to_string(AccessOrigin::exe), "exe");
  const char* types[] = {"none", "regular", "directory", "symlink", "fifo", "socket", "char_device", "block_device", "other"};
  for (int t = 0; t < 9; ++t) EXPECT_EQ(to_string(static_cast<FileType>(t)), types[t]);
}

// --- the exact text of each record ----------------------------------------

TEST(TraceWriter, WritesEachRecordExactlyAsDocumented) {
  TempDir dir;
  std::string file = dir.file("t.jsonl");
  RunInfo run;
  run.tracepack_version = "0.1.0";
  run.label = "demo";
  run.kernel = "6.1.0";
  run.arch = "x86_64";
  run.argv = {"ls", "-l"};
  run.cwd = "/home/me";
  run.start_time = "2024-05-01T12:00:00.000000Z";
  run.env_names = {"HOME", "PATH"};
  run.env_values = {{"HOME", "/home/me"}};
  {
    TraceWriter writer(file, run);
    writer.write_process(make_process(1, 4242));
    writer.write_exec(1, make_exec(0.0004, "/usr/bin/ls", "/usr/bin/ls", {"ls", "-l"}, "/home/me", {"/lib64/ld-linux-x86-64.so.2"}));
    writer.write_access(make_access(1, 1, 4242, "openat", AccessKind::read, "/etc/ld.so.cache", "/etc/ld.so.cache"));
    FileAccess loader = make_access(2, 1, 4243, "execve", AccessKind::exec, "/lib64/ld-linux-x86-64.so.2",
                                    "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2");
    loader.origin = AccessOrigin::elf_interp;
    loader.links = {{"/lib64", "usr/lib64"}, {"/usr/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"}};
    loader.observed = true;
    loader.type = FileType::regular;
    writer.write_access(loader);
    FileAccess rename = make_access(3, 1, 4242, "rename", AccessKind::rename, "a%\n", "/home/me/a%\n");
    rename.path2 = "b\x01\xff\xc3\xa9";
    rename.resolved2 = "/mnt/b";
    rename.links2 = {{"/mnt", "/media/usb"}};
    rename.flags = 2048;
    rename.error = EXDEV;
    rename.count = 99;  // ignored by write_access
    writer.write_access(rename);
    writer.write_repeat(1, 4);
    writer.write_process(make_process(2, 4250, 1, 0.125));
    writer.write_exit(exited_process(make_process(2, 4250, 1, 0.125), 0.5, 0, 9, false));
    writer.write_exit(exited_process(make_process(1, 4242), 0.75, 2));
    writer.write_warning({0, "grace period: killed 1 process"});
    writer.finish(make_end(0.75, 2, 0, false));
  }
  const std::string expected = R"({"format":"tracepack-trace","version":1,"tracepack":"0.1.0","label":"demo","kernel":"6.1.0",)"
                               R"("arch":"x86_64","argv":["ls","-l"],"cwd":"/home/me","start_time":"2024-05-01T12:00:00.000000Z",)"
                               R"("env_names":["HOME","PATH"],"env":{"HOME":"/home/me"}})"
                               "\n"
                               R"({"t":"process","id":1,"pid":4242,"parent":0,"start":0})"
                               "\n"
                               R"({"t":"exec","process":1,"time":0.0004,"path":"/usr/bin/ls","exe":"/usr/bin/ls","argv":["ls","-l"],)"
                               R"("cwd":"/home/me","interpreters":["/lib64/ld-linux-x86-64.so.2"]})"
                               "\n"
                               R"({"t":"access","id":1,"process":1,"tid":4242,"syscall":"openat","kind":"read",)"
                               R"("path":"/etc/ld.so.cache","resolved":"/etc/ld.so.cache"})"
                               "\n"
                               R"({"t":"access","id":2,"process":1,"tid":4243,"syscall":"execve","kind":"exec","origin":"elf_interp",)"
                               R"("path":"/lib64/ld-linux-x86-64.so.2","resolved":"/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",)"
                               R"("links":[{"path":"/lib64","target":"usr/lib64"},)"
                               R"({"path":"/usr/lib64/ld-linux-x86-64.so.2","target":"/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"}],)"
                               R"("observed":true,"type":"regular"})"
                               "\n"
                               R"({"t":"access","id":3,"process":1,"tid":4242,"syscall":"rename","kind":"rename",)"
                               R"("path":"a%25\n","resolved":"/home/me/a%25\n","path2":"b\u0001%FF)"
                               "\xc3\xa9"
                               R"(","resolved2":"/mnt/b","links2":[{"path":"/mnt","target":"/media/usb"}],"flags":2048,"error":"EXDEV"})"
                               "\n"
                               R"({"t":"repeat","access":1,"count":4})"
                               "\n"
                               R"({"t":"process","id":2,"pid":4250,"parent":1,"start":0.125})"
                               "\n"
                               R"({"t":"exit","process":2,"end":0.5,"signal":9,"core_dumped":false})"
                               "\n"
                               R"({"t":"exit","process":1,"end":0.75,"exit_code":2})"
                               "\n"
                               R"({"t":"warning","process":0,"message":"grace period: killed 1 process"})"
                               "\n"
                               R"({"t":"end","end":0.75,"exit_code":2,"signal":0,"timed_out":false})"
                               "\n";
  EXPECT_EQ(read_file(file), expected);
  Trace trace = read_trace(file);
  ASSERT_EQ(trace.accesses.size(), 3u);
  EXPECT_EQ(trace.accesses[0].count, 4u);
  EXPECT_EQ(trace.accesses[2].count, 1u);
  EXPECT_EQ(trace.accesses[2].path2, "b\x01\xff\xc3\xa9");
}

TEST(TraceWriter, WritesErrnoNamesAndReadsThemBack) {
  TempDir dir;
  std::string file = dir.file("t.jsonl");
  const std::pair<int, std::string> cases[] = {
      {ENOENT, "ENOENT"},
      {EACCES, "EACCES"},
      {EAGAIN, "EAGAIN"},
      {EDEADLK, "EDEADLK"},
      {EOPNOTSUPP, "EOPNOTSUPP"},
      {ENOTRECOVERABLE, "ENOTRECOVERABLE"},
      {133, "EHWPOISON"},
      {512, "ERESTARTSYS"},
      {531, "ENOGRACE"},
      {134, "E134"},
      {520, "E520"},
      {4000, "E4000"},
      {-5, "E-5"},
  };
  {
    TraceWriter writer(file, sample_run());
    writer.write_process(make_process(1, 1));
    std::uint64_t id = 0;
    for (const auto& [number, name] : cases) {
      FileAccess access = make_access(++id, 1, 1, "stat", AccessKind::stat, "x", "/x");
      access.error = number;
      writer.write_access(access);
    }
  }
  std::string text = read_file(file);
  for (const auto& [number, name] : cases) {
    EXPECT_NE(text.find(",\"error\":\"" + name + "\"}"), std::string::npos) << name;
  }
  Trace trace = read_trace(file);
  ASSERT_EQ(trace.accesses.size(), std::size(cases));
  for (std::size_t i = 0; i < std::size(cases); ++i) EXPECT_EQ(trace.accesses[i].error, cases[i].first);
}

TEST(TraceReader, AcceptsErrnoNumbersAndAliases) {
  TempDir dir;
  std::string file = dir.file("t.jsonl");
  auto access = [](int id, const std::string& error) {
    return R"({"t":"access","id":)" + std::to_string(id) +
           R"(,"process":1,"tid":1,"syscall":"open","kind":"read","path":"","resolved":"/","error":)" + error + "}\n";
  };
  write_file(file, kHeader + kProcess1 + access(1, "2") + access(2, R"("EWOULDBLOCK")") + access(3, R"("EDEADLOCK")") +
                       access(4, R"("ENOTSUP")") + access(5, "0"));
  Trace trace = read_trace(file);
  ASSERT_EQ(trace.accesses.size(), 5u);
  EXPECT_EQ(trace.accesses[0].error, ENOENT);
  EXPECT_EQ(trace.accesses[1].error, EAGAIN);
  EXPECT_EQ(trace.accesses[2].error, EDEADLK);
  EXPECT_EQ(trace.accesses[3].error, EOPNOTSUPP);
  EXPECT_EQ(trace.accesses[4].error, 0);
}

// --- round trips -----------------------------------------------------------

TEST(TraceFile, WriteTraceRoundTripsEveryField) {
  TempDir dir;
  std::string file = dir.file("trace.jsonl");
  Trace trace = full_trace();
  write_trace(trace, file);
  expect_same_trace(trace, read_trace(file));
  EXPECT_EQ(directory_entries(dir.path()), std::vector<std::string>{"trace.jsonl"});
}

TEST(TraceFile, TraceWriterRoundTripsEveryField) {
  TempDir dir;
  std::string file = dir.file("trace.jsonl");
  Trace trace = full_trace();
  stream_trace(trace, file, true);
  expect_same_trace(trace, read_trace(file));
}

TEST(TraceFile, EveryLineIsValidUtf8AndOneLinePerRecord) {
  TempDir dir;
  std::string file = dir.file("trace.jsonl");
  Trace trace = full_trace();
  write_trace(trace, file);
  std::string text = read_file(file);
  EXPECT_TRUE(is_valid_utf8(text));
  std::size_t repeats = 0, execs = 0, exits = 0;
  for (const FileAccess& a : trace.accesses) repeats += a.count > 1;
  for (const Process& p : trace.processes) execs += p.execs.size(), exits += p.exited;
  std::size_t records = 1 + trace.processes.size() + execs + trace.accesses.size() + repeats + exits + trace.warnings.size() + 1;
  EXPECT_EQ(static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')), records);
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
}

TEST(TraceFile, WriteTraceReplacesAnExistingFile) {
  TempDir dir;
  std::string file = dir.file("trace.jsonl");
  write_file(file, "old content\n");
  Trace trace = full_trace();
  write_trace(trace, file);
  expect_same_trace(trace, read_trace(file));
  EXPECT_EQ(directory_entries(dir.path()), std::vector<std::string>{"trace.jsonl"});
}

TEST(TraceFile, RepeatRecordsGiveTheTotalAndTheLastOneWins) {
  TempDir dir;
  std::string file = dir.file("t.jsonl");
  std::string access2 = R"({"t":"access","id":2,"process":1,"tid":10,"syscall":"stat","kind":"stat","path":"b","resolved":"/b"})"
                        "\n";
  write_file(file, kHeader + kProcess1 + kAccess1 + access2 +
                       R"({"t":"repeat","access":1,"count":5})"
                       "\n"
                       R"({"t":"repeat","access":1,"count":3})"
                       "\n"
                       R"({"t":"repeat","access":2,"count":2})"
                       "\n" +
                       kEnd);
  Trace trace = read_trace(file);
  ASSERT_EQ(trace.accesses.size(), 2u);
  EXPECT_EQ(trace.accesses[0].count, 3u);
  EXPECT_EQ(trace.accesses[1].count, 2u);
}

TEST(TraceFile, RecordsAreOrderedByIdWhateverTheFileOrder) {
  TempDir dir;
  std::string file = dir.file("t.jsonl");
  write_file(file, kHeader +
                       R"({"t":"process","id":7,"pid":70,"parent":0,"start":0})"
                       "\n" +
                       kProcess1 +
                       R"({"t":"access","id":9,"process":7,"tid":70,"syscall":"stat","kind":"stat","path":"","resolved":"/"})"
                       "\n" +
                       kAccess1 +
                       R"({"t":"repeat","access":9,"count":4})"
                       "\n");
  Trace trace = read_trace(file);
  ASSERT_EQ(trace.processes.size(), 2u);
  EXPECT_EQ(trace.processes[0].id, 1u);
  EXPECT_EQ(trace.processes[1].id, 7u);
  ASSERT_EQ(trace.accesses.size(), 2u);
  EXPECT_EQ(trace.accesses[0].id, 1u);
  EXPECT_EQ(trace.accesses[1].id, 9u);
  EXPECT_EQ(trace.accesses[1].count, 4u);
}

TEST(TraceFile, UnknownFieldsAreIgnored) {
  TempDir dir;
  std::string file = dir.file("t.jsonl");
  write_file(file, kHeader +
                       R"({"t":"process","id":1,"pid":10,"parent":0,"start":0,"cgroup":"/user.slice"})"
                       "\n" +
                       kEnd);
  Trace trace = read_trace(file);
  ASSERT_EQ(trace.processes.size(), 1u);
  EXPECT_EQ(trace.processes[0].pid, 10);
}

TEST(TraceFile, LinesLongerThanTheReadBufferRoundTrip) {
  TempDir dir;
  std::string file = dir.file("t.jsonl");
  Trace trace;
  trace.run = sample_run();
  Process p = make_process(1, 5);
  Exec exec = make_exec(0, "/bin/echo", "/bin/echo", {}, "/");
  // About 3 MB of arguments, a third of it escaped: more than one read(2) chunk.
  for (int i = 0; i < 600; ++i) exec.argv.push_back(std::string(4000, static_cast<char>(i % 3 == 0 ? '\xff' : 'a')));
  p.execs.push_back(exec);
  trace.processes.push_back(p);
  trace.end = make_end(1, 0, 0, false);
  write_trace(trace, file);
  EXPECT_GT(fs::file_size(file), 3'000'000u);
  expect_same_trace(trace, read_trace(file));
}

TEST(TraceFile, ReadsAHundredThousandLines) {
  TempDir dir;
  std::string file = dir.file("t.jsonl");
  constexpr std::uint64_t kAccesses = 100'000;
  {
    TraceWriter writer(file, sample_run());
    writer.write_process(make_process(1, 1));
    for (std::uint64_t id = 1; id <= kAccesses; ++id) {
      std::string path = "/usr/lib/python3.11/encodings/__pycache__/module" + std::to_string(id) + ".cpython-311.pyc";
      FileAccess a = make_access(id, 1, 1, "openat", AccessKind::read, path, path);
      a.links = {{"/usr/lib", "../lib64"}};
      a.flags = 0x80000;
      a.error = id % 2 == 0 ? ENOENT : 0;
      a.type = id % 2 == 0 ? FileType::none : FileType::regular;
      writer.write_access(a);
    }
    writer.finish(make_end(3, 0, 0, false));
  }
  auto start = std::chrono::steady_clock::now();
  Trace trace = read_trace(file);
  std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  ::testing::Test::RecordProperty("lines_per_second", std::to_string(static_cast<long>(kAccesses / elapsed.count())));
  ASSERT_EQ(trace.accesses.size(), kAccesses);
  EXPECT_EQ(trace.accesses.back().id, kAccesses);
  EXPECT_EQ(trace.accesses.back().error, ENOENT);
  EXPECT_TRUE(trace.end.has_value());
}

// --- truncated traces ------------------------------------------------------

TEST(TraceFile, WriterDestroyedWithoutFinishLeavesATruncatedTrace) {
  TempDir dir;
  std::string file = dir.file("t.jsonl");
  Trace trace = full_trace();
  stream_trace(trace, file, false);
  Trace read = read_trace(file);
  EXPECT_FALSE(read.end.has_value());
  trace.end.reset();
  expect_same_trace(trace, read);
}

TEST(TraceFile, LineCutMidwayEndsTheTrace) {
  TempDir dir;
  std::string whole = dir.file("whole.jsonl");
  write_file(whole, kHeader + kProcess1 + kAccess1 + kEnd);
  std::string text = read_file(whole);
  std::size_t access_start = text.find(R"({"t":"access")");
  ASSERT_NE(access_start, std::string::npos);
  // Cut inside the access line at every position: the process survives, the access does not.
  for (std::size_t cut = access_start + 1; cut < access_start + kAccess1.size() - 1; ++cut) {
    std::string file = dir.file("cut.jsonl");
    write_file(file, text.substr(0, cut));
    Trace trace = read_trace(file);
    EXPECT_FALSE(trace.end.has_value());
    EXPECT_EQ(trace.processes.size(), 1u);
    EXPECT_TRUE(trace.accesses.empty()) << "cut at " << cut;
    EXPECT_EQ(trace.cut_line, 3u) << "cut at " << cut;
    EXPECT_EQ(truncation_of(trace), "line 3 cut short, no end record") << "cut at " << cut;
  }
  // A complete last line without its newline is still a record.
  std::string file = dir.file("no-newline.jsonl");
  write_file(file, text.substr(0, text.size() - 1));
  EXPECT_TRUE(read_trace(file).end.has_value());
  EXPECT_EQ(read_trace(file).cut_line, 0u);
}

TEST(TraceFile, TraceCutAtALineBoundaryHasNoEnd) {
  TempDir dir;
  std::string file = dir.file("t.jsonl");
  write_file(file, kHeader + kProcess1 + kAccess1);
  Trace trace = read_trace(file);
  EXPECT_FALSE(trace.end.has_value());
  EXPECT_EQ(trace.accesses.size(), 1u);
  EXPECT_EQ(trace.cut_line, 0u);
  EXPECT_EQ(truncation_of(trace), "no end record");

  write_file(file, kHeader);
  trace = read_trace(file);
  EXPECT_FALSE(trace.end.has_value());
  EXPECT_TRUE(trace.processes.empty());
  EXPECT_EQ(trace.run.label, "t");
}

// --- reader errors, byte for byte ------------------------------------------

TEST(TraceReader, RefusesAFileThatCannotBeOpened) {
  TempDir dir;
  std::string file = dir.file("missing.jsonl");
  EXPECT_EQ(read_error(file), file + ": cannot open: No such file or directory");
}

TEST(TraceReader, RefusesAnEmptyFile) {
  TempDir dir;
  std::string file = dir.file("t.jsonl");
  write_file(file, "");
  EXPECT_EQ(read_error(file), file + ": empty file, not a tracepack trace");
}

TEST(TraceReader, RefusesAFileThatIsNotATrace) {
  TempDir dir;
  std::string file = dir.file("t.jsonl");
  for (const std::string content : {"hello world\n", "\n", "[1,2]\n",
                                    R"({"format":"other-trace","version":1})"
                                    "\n",
                                    R"({"format":1})"
                                    "\n",
                                    "\x7f"
                                    "ELF\x02\x01\x01"}) {
    write_file(file, content);
    EXPECT_EQ(read_error(file), file + ":1: not a tracepack trace") << content;
  }
}

TEST(TraceReader, RefusesAnUnknownVersion) {
  TempDir dir;
  std::string file = dir.file("t.jsonl");
  write_file(file, R"({"format":"tracepack-trace","version":7,"something":"new"})"
                   "\n");
  EXPECT_EQ(read_error(file), file + ":1: unsupported trace format version 7 (this tracepack reads version 1)");
  write_file(file, R"({"format":"tracepack-trace","version":"1"})"
                   "\n");
  EXPECT_EQ(read_error(file), file + ":1: header: field 'version' is not an integer");
}

TEST(TraceReader, RefusesAnIncompleteHeader) {
  TempDir dir;
  std::string file = dir.file("t.jsonl");
  write_file(file, R"({"format":"tracepack-trace","version":1,"tracepack":"0.1.0"})"
                   "\n");
  EXPECT_EQ(read_error(file), file + ":1: header: missing field 'label'");
  std::string bad_env = kHeader;
  bad_env.replace(bad_env.rfind('}'), 1, R"(,"env":{"HOME":1}})");
  write_file(file, bad_env);
  EXPECT_EQ(read_error(file), file + ":1: header: field 'env' is not an object of strings");
}

struct BadLine {
  std::string lines;    // after the header
  std::string message;  // after "FILE:"
};

void PrintTo(const BadLine& bad, std::ostream* os) { *os << "\"" << bad.message << "\""; }

class TraceReaderBadLine : public ::testing::TestWithParam<BadLine> {};

TEST_P(TraceReaderBadLine, IsRefusedWithFileAndLine) {
  TempDir dir;
  std::string file = dir.file("t.jsonl");
  write_file(file, kHeader + GetParam().lines);
  EXPECT_EQ(read_error(file), file + ":" + GetParam().message);
}

const BadLine kBadLines[] = {
    {"{\"t\":\"process\",\n" + kEnd,
     "2: malformed JSON: syntax error while parsing object key - unexpected end of input; expected string literal"},
    {kProcess1 + "\n" + kEnd,
     "3: malformed JSON: syntax error while parsing value - unexpected end of input; "
     "expected '[', '{', or a literal"},
    {kProcess1 + R"({"t":"end"} x)" + "\n",
     "3: malformed JSON: syntax error while parsing value - invalid literal; last read: '\"end\"} x'; "
     "expected end of input"},
    {R"({"t":"process","id":1e999,"pid":10,"parent":0,"start":0})"
     "\n" +
         kEnd,
     "2: malformed JSON: number overflow parsing '1e999'"},
    {R"([1])"
     "\n",
     "2: record: not a JSON object"},
    {R"({"type":"process"})"
     "\n",
     "2: record: missing field 't'"},
    {R"({"t":3})"
     "\n",
     "2: record: field 't' is not a string"},
    {R"({"t":"mystery","id":1})"
     "\n",
     "2: unknown record type 'mystery'"},
    {kProcess1 + R"({"t":"access","id":1,"process":1,"tid":10,"syscall":"openat","path":"a","resolved":"/a"})"
                 "\n",
     "3: access record: missing field 'kind'"},
    {kProcess1 + R"({"t":"access","id":1,"process":1,"tid":10,"syscall":"openat","kind":"peek","path":"a","resolved":"/a"})"
                 "\n",
     "3: access record: unknown kind 'peek'"},
    {kProcess1 + R"({"t":"access","id":1,"process":1,"tid":10,"syscall":"openat","kind":"read","path":"a","resolved":"/a","type":"file"})"
                 "\n",
     "3: access record: unknown type 'file'"},
    {kProcess1 +
         R"({"t":"access","id":1,"process":1,"tid":10,"syscall":"openat","kind":"read","path":"a","resolved":"/a","error":"EBOGUS"})"
         "\n",
     "3: access record: unknown error name 'EBOGUS'"},
    {kProcess1 + R"({"t":"access","id":1,"process":1,"tid":10,"syscall":"openat","kind":"read","path":"a%G1","resolved":"/a"})"
                 "\n",
     "3: access record: field 'path': invalid escape '%G1' at offset 1"},
    {kProcess1 + R"({"t":"access","id":1,"process":1,"tid":10,"syscall":"openat","kind":"read","path":"a","resolved":"/a","links":["/x"]})"
                 "\n",
     "3: access record: field 'links' is not an array of {\"path\", \"target\"} objects"},
    {kProcess1 +
         R"({"t":"access","id":1,"process":1,"tid":10,"syscall":"openat","kind":"read","path":"a","resolved":"/a","links":[{"path":"/x"}]})"
         "\n",
     "3: access record: missing field 'target'"},
    {R"({"t":"process","id":1,"pid":"10","parent":0,"start":0})"
     "\n",
     "2: process record: field 'pid' is not an integer"},
    {R"({"t":"process","id":-1,"pid":10,"parent":0,"start":0})"
     "\n",
     "2: process record: field 'id' is not a non-negative integer"},
    {R"({"t":"process","id":1,"pid":4294967296,"parent":0,"start":0})"
     "\n",
     "2: process record: field 'pid' is out of range"},
    {R"({"t":"process","id":1,"pid":10,"parent":0,"start":"now"})"
     "\n",
     "2: process record: field 'start' is not a number"},
    {kProcess1 + kProcess1, "3: process record: duplicate process id 1"},
    {kProcess1 + kAccess1 + kAccess1, "4: access record: duplicate access id 1"},
    {kAccess1, "2: access record: unknown process 1"},
    {R"({"t":"exec","process":4,"time":0,"path":"/bin/ls","exe":"/bin/ls","argv":[],"cwd":"/","interpreters":[]})"
     "\n",
     "2: exec record: unknown process 4"},
    {kProcess1 + R"({"t":"exec","process":1,"time":0,"path":"/bin/ls","exe":"/bin/ls","argv":[1],"cwd":"/","interpreters":[]})"
                 "\n",
     "3: exec record: field 'argv' is not an array of strings"},
    {R"({"t":"exit","process":2,"end":1,"exit_code":0})"
     "\n",
     "2: exit record: unknown process 2"},
    {kProcess1 + R"({"t":"exit","process":1,"end":1})"
                 "\n",
     "3: exit record: missing field 'exit_code'"},
    {kProcess1 + R"({"t":"exit","process":1,"end":1,"exit_code":0})"
                 "\n"
                 R"({"t":"exit","process":1,"end":1,"exit_code":0})"
                 "\n",
     "4: exit record: process 1 exited twice"},
    {R"({"t":"warning","process":5,"message":"hi"})"
     "\n",
     "2: warning record: unknown process 5"},
    {kProcess1 + kAccess1 +
         R"({"t":"repeat","access":4,"count":2})"
         "\n",
     "4: repeat record: unknown access 4"},
    {kProcess1 + kAccess1 +
         R"({"t":"repeat","access":1,"count":0})"
         "\n",
     "4: repeat record: field 'count' is 0"},
    {R"({"t":"end","end":1,"exit_code":0,"signal":0})"
     "\n",
     "2: end record: missing field 'timed_out'"},
    {kEnd + kProcess1, "3: record after the end record"},
};

INSTANTIATE_TEST_SUITE_P(AllErrors, TraceReaderBadLine, ::testing::ValuesIn(kBadLines));

// --- the writer ------------------------------------------------------------

TEST(TraceWriter, HeaderReachesTheFileAtOnceAndLinesWaitForFlush) {
  TempDir dir;
  std::string file = dir.file("t.jsonl");
  TraceWriter writer(file, sample_run());
  std::string header = read_file(file);
  EXPECT_EQ(std::count(header.begin(), header.end(), '\n'), 1);
  EXPECT_FALSE(writer.flush_due());  // nothing buffered

  writer.write_process(make_process(1, 10));
  EXPECT_FALSE(writer.flush_due());  // buffered just now
  EXPECT_EQ(read_file(file), header);

  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  EXPECT_TRUE(writer.flush_due());  // older than 0.1 s
  EXPECT_EQ(read_file(file), header);

  writer.flush();
  EXPECT_FALSE(writer.flush_due());
  EXPECT_EQ(read_file(file), header + R"({"t":"process","id":1,"pid":10,"parent":0,"start":0})"
                                      "\n");
}

TEST(TraceWriter, FlushesByItselfAt64KiB) {
  TempDir dir;
  std::string file = dir.file("t.jsonl");
  TraceWriter writer(file, sample_run());
  std::size_t header_size = fs::file_size(file);
  writer.write_process(make_process(1, 10));
  std::size_t buffered = read_file(file).size();  // unchanged so far
  ASSERT_EQ(buffered, header_size);
  std::size_t pending = 0;
  std::uint64_t id = 0;
  FileAccess a = make_access(0, 1, 10, "openat", AccessKind::read, std::string(1000, 'p'), std::string(1000, 'p'));
  // Each access line is about 2 KiB: the 32nd one takes the buffer past 64 KiB.
  while (fs::file_size(file) == header_size) {
    ASSERT_LT(pending, 64u * 1024) << "the writer did not flush by itself";
    a.id = ++id;
    writer.write_access(a);
    pending = id * 2100;
  }
  EXPECT_GE(fs::file_size(file) - header_size, 64u * 1024);
  EXPECT_FALSE(writer.flush_due());  // everything went out
  EXPECT_EQ(read_trace(file).accesses.size(), id);
}

TEST(TraceWriter, ReportsAFullDisk) {
  if (::access("/dev/full", W_OK) != 0) GTEST_SKIP() << "/dev/full is not writable here";
  try {
    TraceWriter writer("/dev/full", sample_run());
    ADD_FAILURE() << "writing the header to /dev/full did not fail";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "/dev/full: cannot write: No space left on device");
  }
}

TEST(WriteTrace, WritesDevicesInPlaceAndReportsAFullDisk) {
  if (::access("/dev/full", W_OK) != 0 || ::access("/dev/null", W_OK) != 0) {
    GTEST_SKIP() << "/dev/full or /dev/null is not writable here";
  }
  write_trace(full_trace(), "/dev/null");
  try {
    write_trace(full_trace(), "/dev/full");
    ADD_FAILURE() << "writing to /dev/full did not fail";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "/dev/full: cannot write: No space left on device");
  }
  struct stat st {};
  ASSERT_EQ(::stat("/dev/full", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode)) << "/dev/full was replaced";
}

TEST(TraceWriter, ReportsAFileThatCannotBeCreated) {
  TempDir dir;
  std::string file = dir.file("no/such/dir/t.jsonl");
  try {
    TraceWriter writer(file, sample_run());
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), file + ": cannot create: No such file or directory");
  }
}

TEST(WriteTrace, ReportsADirectoryThatDoesNotExist) {
  TempDir dir;
  std::string file = dir.file("no/such/t.jsonl");
  try {
    write_trace(full_trace(), file);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), file + ": cannot create temporary file: No such file or directory");
  }
}

TEST(WriteTrace, RemovesItsTemporaryFileWhenTheRenameFails) {
  TempDir dir;
  std::string file = dir.file("target");
  fs::create_directory(file);
  write_file(file + "/keep", "x");
  try {
    write_trace(full_trace(), file);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), file + ": cannot replace: Is a directory");
  }
  EXPECT_EQ(directory_entries(dir.path()), std::vector<std::string>{"target"});
}

}  // namespace
}  // namespace tracepack

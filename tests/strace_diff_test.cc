// Differential test against strace: every file strace sees a command open or
// execute successfully must be in tracepack's trace of the same command.
//
// Each command runs once untraced first (so caches such as Python's
// __pycache__ are already written), then under
//   strace -f -qq -y -s 65535 -e trace=%file,%process -o FILE
// and under `tracepack trace`. From strace's output we take:
//  - open, openat, openat2 and creat with a non-negative result: the path
//    strace prints for the returned fd (-y), which is the kernel's own name
//    for the opened file, so dirfd-relative and cwd-relative opens need no
//    reconstruction;
//  - execve with result 0 and an absolute path argument, made canonical with
//    realpath. execve with a relative path and execveat are left out: the
//    tracee's cwd and fds are not in strace's output.
// Calls split by other processes' lines ("<unfinished ...>" then
// "<... NAME resumed>") are joined per pid before parsing. Paths that are not
// file system paths (pipe:, socket:, anon_inode:, memfd, deleted files) and
// files under the run's private TMPDIR (whose names are random per run) are
// dropped on both sides, and /proc/<pid> is written /proc/PID on both.
//
// tracepack's side: `resolved` of every access with error 0 and kind read,
// write, create or exec, plus the path of every symlink met on the way.
// The test asserts strace ⊆ tracepack and prints both differences.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

#include "tracer_test_util.h"

namespace tracepack::test {
namespace {

using PathSet = std::set<std::string>;

// Undoes strace's C-style string escapes (\n, \t, \", \\, \xHH, \ooo).
std::string unescape(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      out += text[i];
      continue;
    }
    char c = text[++i];
    if (c == 'x' && i + 2 < text.size() + 1) {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else if (c >= '0' && c <= '7') {
      std::size_t len = 1;
      while (len < 3 && i + len < text.size() && text[i + len] >= '0' && text[i + len] <= '7') ++len;
      out += static_cast<char>(std::stoi(std::string(text.substr(i, len)), nullptr, 8));
      i += len - 1;
    } else {
      static const std::map<char, char> simple = {{'n', '\n'}, {'t', '\t'}, {'r', '\r'}, {'v', '\v'},
                                                  {'f', '\f'}, {'a', '\a'}, {'b', '\b'}};
      auto it = simple.find(c);
      out += it == simple.end() ? c : it->second;
    }
  }
  return out;
}

// The first double-quoted string in `call`, unescaped; empty when none.
std::string first_string_argument(std::string_view call) {
  std::size_t open = call.find('"');
  if (open == std::string_view::npos) return {};
  std::size_t i = open + 1;
  while (i < call.size() && call[i] != '"') i += call[i] == '\\' ? 2 : 1;
  return unescape(call.substr(open + 1, i - open - 1));
}

struct Result {
  long value = -1;
  std::string fd_path;  ///< the -y decoration of a returned fd
};

// ")   = 3</usr/lib/libc.so.6>" -> {3, "/usr/lib/libc.so.6"}. A resumed
// call pads before the "=".
std::optional<Result> parse_result(std::string_view call) {
  std::size_t eq = call.rfind(" = ");
  if (eq == std::string_view::npos) return std::nullopt;
  std::string_view text = call.substr(eq + 3);
  Result result;
  std::size_t used = 0;
  try {
    result.value = std::stol(std::string(text), &used);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (used < text.size() && text[used] == '<') {
    std::size_t close = text.rfind('>');
    if (close != std::string_view::npos && close > used) result.fd_path = unescape(text.substr(used + 1, close - used - 1));
  }
  return result;
}

bool is_file_system_path(const std::string& path) {
  return path.starts_with('/') && !path.starts_with("/memfd:") && !path.ends_with(" (deleted)");
}

// One complete call line ("openat(...) = 3</x>") -> the path it opened or ran.
std::optional<std::string> path_of_call(std::string_view call) {
  std::size_t paren = call.find('(');
  if (paren == std::string_view::npos) return std::nullopt;
  std::string name(call.substr(0, paren));
  std::optional<Result> result = parse_result(call);
  if (!result || result->value < 0) return std::nullopt;
  if (name == "open" || name == "openat" || name == "openat2" || name == "creat") {
    if (is_file_system_path(result->fd_path)) return real_path(result->fd_path);
    return std::nullopt;
  }
  if (name == "execve") {
    std::string path = first_string_argument(call.substr(paren));
    if (path.starts_with('/')) return real_path(path);
  }
  return std::nullopt;
}

// Parses `strace -f -y -o FILE` output.
PathSet strace_paths(const std::string& file) {
  PathSet paths;
  std::map<std::string, std::string> unfinished;  // pid -> the call's first half
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    std::size_t space = line.find(' ');
    if (space == std::string::npos) continue;
    std::string pid = line.substr(0, space);
    std::string call = line.substr(line.find_first_not_of(' ', space));
    if (call.starts_with("---") || call.starts_with("+++")) continue;
    if (std::size_t cut = call.find(" <unfinished ...>"); cut != std::string::npos) {
      unfinished[pid] = call.substr(0, cut);
      continue;
    }
    if (call.starts_with("<... ")) {
      std::size_t resumed = call.find(" resumed>");
      if (resumed == std::string::npos || !unfinished.count(pid)) continue;
      call = unfinished[pid] + call.substr(resumed + 9);
      unfinished.erase(pid);
    }
    if (std::optional<std::string> path = path_of_call(call)) paths.insert(*path);
  }
  return paths;
}

bool counts_as_file_use(AccessKind kind) {
  return kind == AccessKind::read || kind == AccessKind::write || kind == AccessKind::create || kind == AccessKind::exec;
}

PathSet tracepack_paths(const Trace& trace) {
  PathSet paths;
  for (const FileAccess& a : trace.accesses) {
    if (a.error != 0 || !counts_as_file_use(a.kind)) continue;
    paths.insert(a.resolved);
    for (const Symlink& link : a.links) paths.insert(link.path);
  }
  return paths;
}

// "/proc/1234/task/1235/maps" -> "/proc/PID/task/PID/maps": pids differ
// between the two runs.
std::string without_pids(const std::string& path) {
  if (!path.starts_with("/proc/")) return path;
  std::string out;
  std::size_t i = 0;
  while (i < path.size()) {
    std::size_t end = path.find('/', i + 1);
    if (end == std::string::npos) end = path.size();
    std::string part = path.substr(i, end - i);  // "/name"
    bool digits =
        part.size() > 1 && std::all_of(part.begin() + 1, part.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
    out += digits ? "/PID" : part;
    i = end;
  }
  return out;
}

// Drops paths under `dir` and writes pids in /proc as "PID".
PathSet normalised(const PathSet& paths, const std::string& dir) {
  PathSet kept;
  for (const std::string& p : paths) {
    if (!(p == dir || p.starts_with(dir + "/"))) kept.insert(without_pids(p));
  }
  return kept;
}

std::vector<std::string> minus(const PathSet& a, const PathSet& b) {
  std::vector<std::string> out;
  for (const std::string& p : a) {
    if (!b.count(p)) out.push_back(p);
  }
  return out;
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += "  " + encode_path(l) + "\n";
  return out;
}

class StraceDiffTest : public TracerTest {
 protected:
  void SetUp() override {
    if (access("/usr/bin/strace", X_OK) != 0) GTEST_SKIP() << "strace is not installed (/usr/bin/strace)";
  }

  // A private TMPDIR per run, so temporary names never need matching.
  SpawnOptions spawn_in(const std::string& tmp) const {
    make_dirs(tmp);
    return {.cwd = data().path(), .env_set = {"TMPDIR=" + tmp}};
  }

  void compare(const std::vector<std::string>& command) {
    ProcessResult warm = run_process(command, spawn_in(scratch() / "tmp-warm"), 300);
    ASSERT_EQ(warm.exit_code(), 0) << warm.summary() << warm.err;

    const std::string strace_tmp = scratch() / "tmp-strace";
    const std::string strace_out = scratch() / "strace.txt";
    std::vector<std::string> strace_argv = {"/usr/bin/strace",      "-f", "-qq",     "-y", "-s", "65535", "-e",
                                            "trace=%file,%process", "-o", strace_out};
    strace_argv.insert(strace_argv.end(), command.begin(), command.end());
    ProcessResult straced = run_process(strace_argv, spawn_in(strace_tmp), 300);
    ASSERT_EQ(straced.exit_code(), 0) << straced.summary() << straced.err;

    const std::string traced_tmp = scratch() / "tmp-tracepack";
    TracedRun traced = trace(command, {}, spawn_in(traced_tmp), 300);
    ASSERT_TRUE(exited_with(traced, 0));

    PathSet expected = normalised(strace_paths(strace_out), strace_tmp);
    PathSet recorded = normalised(tracepack_paths(*traced.trace), traced_tmp);
    ASSERT_FALSE(expected.empty()) << "nothing parsed from strace's output " << strace_out;
    std::vector<std::string> missing = minus(expected, recorded);
    std::vector<std::string> extra = minus(recorded, expected);
    std::cout << "strace saw " << expected.size() << " paths, tracepack " << recorded.size() << "; " << extra.size()
              << " only in tracepack:\n"
              << join_lines(extra);
    if (!missing.empty()) {
      ADD_FAILURE() << missing.size() << " paths strace saw opened or executed are missing from the trace:\n" << join_lines(missing);
    }
  }
};

std::string python3() { return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3"; }

TEST_F(StraceDiffTest, PythonImportingTheStandardLibrary) {
  compare({python3(), "-c",
           "import json, email, http.client, xml.dom.minidom, sqlite3, asyncio, decimal, unittest, csv, "
           "argparse, logging, hashlib"});
}

TEST_F(StraceDiffTest, ShellPipeline) { compare({"/bin/sh", "-c", "printf \"b\\na\\n\" | sort | grep a | sed s/a/x/ | wc -l"}); }

TEST_F(StraceDiffTest, GccCompilingOneFile) {
  write_file(data() / "hello.c", "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n");
  compare({"/usr/bin/gcc", "-O2", "-c", data() / "hello.c", "-o", data() / "hello.o"});
}

// The parser itself, on the line shapes strace prints.
TEST(StraceParser, JoinsUnfinishedCallsAndReadsFdPaths) {
  TempDir dir;
  write_file(dir / "out.txt",
             "100   openat(AT_FDCWD, \"/etc/passwd\", O_RDONLY|O_CLOEXEC <unfinished ...>\n"
             "101   execve(\"/bin/true\", [\"true\"], 0x7ffc /* 3 vars */) = 0\n"
             "100   <... openat resumed>) = 3</etc/passwd>\n"
             "101   openat(AT_FDCWD, \"/nonexistent\", O_RDONLY) = -1 ENOENT (No such file or directory)\n"
             "101   openat(3</etc>, \"hostname\", O_RDONLY) = 4</etc/hostname>\n"
             "100   vfork( <unfinished ...>\n"
             "100   <... vfork resumed>)              = 102\n"
             "101   --- SIGCHLD {si_signo=SIGCHLD} ---\n"
             "101   execve(\"rel\", [\"rel\"], 0x7ffc /* 3 vars */) = 0\n");
  PathSet expected = {real_path("/etc/passwd"), real_path("/bin/true"), real_path("/etc/hostname")};
  PathSet parsed = strace_paths(dir / "out.txt");
  for (const std::string& p : expected) EXPECT_TRUE(parsed.count(p)) << p;
  EXPECT_FALSE(parsed.count("/nonexistent"));
}

TEST(StraceParser, WritesProcPidsAsPid) {
  EXPECT_EQ(without_pids("/proc/12/task/13/maps"), "/proc/PID/task/PID/maps");
  EXPECT_EQ(without_pids("/proc/self/maps"), "/proc/self/maps");
  EXPECT_EQ(without_pids("/usr/lib/12"), "/usr/lib/12");
}

}  // namespace
}  // namespace tracepack::test

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
#include <iostream>
#include <set>

#include "strace_output.h"
#include "tracer_test_util.h"

namespace tracepack::test {
namespace {

using PathSet = std::set<std::string>;

bool is_file_system_path(const std::string& path) {
  return path.starts_with('/') && !path.starts_with("/memfd:") && !path.ends_with(" (deleted)");
}

// One call -> the path it opened or ran.
std::optional<std::string> path_of_call(const StraceCall& call) {
  std::optional<StraceResult> result = parse_strace_result(call.result);
  if (!result || result->value < 0) return std::nullopt;
  if (call.name == "open" || call.name == "openat" || call.name == "openat2" || call.name == "creat") {
    if (is_file_system_path(result->fd_path)) return real_path(result->fd_path);
    return std::nullopt;
  }
  if (call.name == "execve" && !call.args.empty()) {
    std::optional<StraceString> path = string_argument(call.args[0]);
    if (path && path->bytes.starts_with('/')) return real_path(path->bytes);
  }
  return std::nullopt;
}

// Parses `strace -f -y -o FILE` output.
PathSet strace_paths(const std::string& file) {
  PathSet paths;
  for (const StraceCall& call : read_strace_calls(file)) {
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

TEST(StraceParser, SplitsArgumentsAndReadsStringsAndDescriptorPaths) {
  std::optional<StraceCall> call =
      parse_strace_call("renameat2(3</tmp/a\\76b>, \"x, (y)\", AT_FDCWD</w>, \"q\\\"\"..., RENAME_NOREPLACE) = -1 ENOENT (No such file)");
  ASSERT_TRUE(call);
  EXPECT_EQ(call->name, "renameat2");
  ASSERT_EQ(call->args.size(), 5u);
  EXPECT_EQ(call->args[1], "\"x, (y)\"");
  EXPECT_EQ(call->result, "-1 ENOENT (No such file)");
  std::optional<StraceString> name = string_argument(call->args[1]);
  ASSERT_TRUE(name);
  EXPECT_EQ(name->bytes, "x, (y)");
  EXPECT_FALSE(name->cut);
  std::optional<StraceString> cut = string_argument(call->args[3]);
  ASSERT_TRUE(cut);
  EXPECT_EQ(cut->bytes, "q\"");
  EXPECT_TRUE(cut->cut);
  EXPECT_FALSE(string_argument(call->args[4]));
  EXPECT_EQ(fd_paths(call->args[0]), std::vector<std::string>{"/tmp/a>b"});
  EXPECT_EQ(fd_paths(call->args[2]), std::vector<std::string>{"/w"});
  EXPECT_EQ(fd_paths("fsync(3</d/\\1\\0020\\n>) = 0"), std::vector<std::string>{std::string("/d/\1\0020\n")});
  EXPECT_EQ(fd_paths("3</dev/full<char 1:7>>"), std::vector<std::string>{"/dev/full"});
}

TEST(StraceParser, WritesProcPidsAsPid) {
  EXPECT_EQ(without_pids("/proc/12/task/13/maps"), "/proc/PID/task/PID/maps");
  EXPECT_EQ(without_pids("/proc/self/maps"), "/proc/self/maps");
  EXPECT_EQ(without_pids("/usr/lib/12"), "/usr/lib/12");
}

}  // namespace
}  // namespace tracepack::test

// strace's own test programs for file and process system calls, each run
// under strace and under `tracepack trace`: every path strace prints for the
// program's calls must be in tracepack's trace, failed calls included.
//
// The programs come from Debian's strace 6.1 source package, which
// .ci/install-deps downloads; build.sh builds them into a cache outside the
// build directory. Which ones (select_programs.py): the programs of strace's
// tests/pure_executables.list, less their -Xabbrev/-Xraw/-Xverbose variants,
// whose traced calls (the -e trace= list of their tests/gen_tests.in line, or
// else their name without a -y, -yy or -P suffix) are all in strace's %file
// or %process class on x86_64; plus fsync-y.
//
// Each program runs in the same fresh directory under the build tree twice,
// its standard descriptors and the redirections its gen_tests.in line gives
// it opened by /bin/sh, which then execs it:
//   strace -f -qq -y -s 65535 -e trace=CALLS -o FILE PROGRAM
//   tracepack trace -o TRACE -- PROGRAM
// and must exit 0 both times. From strace's output we take, for every call:
//  - the quoted string arguments that name files (kPathArguments, by call),
//    except "" and strings strace could not read to their end (printed with
//    "..." after them, such as a name running into an unmapped page): the
//    kernel saw no such path either;
//  - every path -y prints after a descriptor ("3</dir>", "AT_FDCWD</cwd>"),
//    other than pipes, sockets, anonymous inodes, memfds and deleted files.
// Each must be one of the trace's recorded paths: an access's path or
// resolved (first or second), a symlink met on the way, or a working
// directory (the run's, an exec's). A failure lists the missing paths,
// escaped as in traces (encode_path), names over 160 characters cut short.
//
// Programs that cannot run here are in kCannotRun with the reason; they are
// still run under strace, and the test fails if one exits 0 (the entry is
// then stale). Without the downloaded source or /usr/bin/strace the test skips.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "strace_output.h"
#include "tracer_test_util.h"

namespace tracepack::test {
namespace {

using PathSet = std::set<std::string>;

// The argument positions (from 0) that strace prints as the names of files.
// Left out: symlink targets are text, not names looked up (symlink's first,
// symlinkat's first argument are included because the trace records them),
// readlink's buffer, mount's file system type and data, xattr names and values.
const std::map<std::string, std::vector<std::size_t>> kPathArguments = {
    {"access", {0}},
    {"acct", {0}},
    {"chdir", {0}},
    {"chmod", {0}},
    {"chown", {0}},
    {"chroot", {0}},
    {"creat", {0}},
    {"execve", {0}},
    {"execveat", {1}},
    {"faccessat", {1}},
    {"faccessat2", {1}},
    {"fanotify_mark", {4}},
    {"fchmodat", {1}},
    {"fchownat", {1}},
    {"fspick", {1}},
    {"futimesat", {1}},
    {"getcwd", {0}},
    {"lchown", {0}},
    {"link", {0, 1}},
    {"linkat", {1, 3}},
    {"lstat", {0}},
    {"mkdir", {0}},
    {"mkdirat", {1}},
    {"mknod", {0}},
    {"mknodat", {1}},
    {"mount", {0, 1}},
    {"mount_setattr", {1}},
    {"move_mount", {1, 3}},
    {"newfstatat", {1}},
    {"open", {0}},
    {"open_tree", {1}},
    {"openat", {1}},
    {"openat2", {1}},
    {"quotactl", {1}},
    {"readlink", {0}},
    {"readlinkat", {1}},
    {"rename", {0, 1}},
    {"renameat", {1, 3}},
    {"renameat2", {1, 3}},
    {"rmdir", {0}},
    {"stat", {0}},
    {"statfs", {0}},
    {"statx", {1}},
    {"swapoff", {0}},
    {"swapon", {0}},
    {"symlink", {0, 1}},
    {"symlinkat", {0, 2}},
    {"truncate", {0}},
    {"umount2", {0}},
    {"unlink", {0}},
    {"unlinkat", {1}},
    {"uselib", {0}},
    {"utime", {0}},
    {"utimensat", {1}},
    {"utimes", {0}},
    {"name_to_handle_at", {1}},
    {"inotify_add_watch", {1}},
    {"getxattr", {0}},
    {"lgetxattr", {0}},
    {"setxattr", {0}},
    {"lsetxattr", {0}},
    {"listxattr", {0}},
    {"llistxattr", {0}},
    {"removexattr", {0}},
    {"lremovexattr", {0}},
};

// Programs that cannot run on this machine at all, and why.
const std::map<std::string, std::string> kCannotRun = {
    {"umovestr-illptr", "checks pointers a 32-bit tracee cannot hold; exits 77 on x86_64"},
    {"printpath-umovestr", "its child calls PTRACE_TRACEME, which fails under a tracer that follows forks"},
    {"printpath-umovestr-peekdata", "its child calls PTRACE_TRACEME, which fails under a tracer that follows forks"},
    {"printpath-umovestr-undumpable", "its child calls PTRACE_TRACEME, which fails under a tracer that follows forks"},
};

struct Program {
  std::string name;
  std::string path;          // the built executable
  std::string calls;         // for -e trace=
  std::string redirections;  // "9>>/dev/full", "</dev/full" or ""
};

bool is_file_system_path(const std::string& path) {
  return path.starts_with('/') && !path.starts_with("/memfd:") && !path.ends_with(" (deleted)");
}

// Every path strace printed for the calls in `file` (see the top of this file).
PathSet strace_printed_paths(const std::string& file) {
  PathSet paths;
  for (const StraceCall& call : read_strace_calls(file)) {
    if (auto it = kPathArguments.find(call.name); it != kPathArguments.end()) {
      for (std::size_t index : it->second) {
        if (index >= call.args.size()) continue;
        std::optional<StraceString> s = string_argument(call.args[index]);
        if (s && !s->cut && !s->bytes.empty()) paths.insert(s->bytes);
      }
    }
    std::vector<std::string> texts = call.args;
    texts.push_back(call.result);
    for (const std::string& text : texts) {
      for (const std::string& p : fd_paths(text)) {
        if (is_file_system_path(p)) paths.insert(p);
      }
    }
  }
  return paths;
}

PathSet recorded_paths(const Trace& trace) {
  PathSet paths = {trace.run.cwd};
  for (const FileAccess& a : trace.accesses) {
    for (const std::string* p : {&a.path, &a.resolved, &a.path2, &a.resolved2}) paths.insert(*p);
    for (const auto* links : {&a.links, &a.links2}) {
      for (const Symlink& link : *links) paths.insert(link.path);
    }
  }
  for (const Process& process : trace.processes) {
    for (const Exec& exec : process.execs) paths.insert({exec.path, exec.cwd});
  }
  return paths;
}

// The program with its standard descriptors and its test's redirections
// opened by a shell that then execs it, so that every descriptor it starts
// with was opened in the traced run (and has its path in the trace).
std::vector<std::string> program_command(const Program& program, const std::string& out) {
  return {"/bin/sh",       "-c",           "exec \"$0\" </dev/null >\"$1\" 2>\"$2\" " + program.redirections, program.path,
          out + "/stdout", out + "/stderr"};
}

// A path as a failure shows it: escaped, and a long one cut to its start.
std::string shown(const std::string& path) {
  std::string text = encode_path(path);
  if (text.size() <= 160) return text;
  return text.substr(0, 80) + "... (" + std::to_string(path.size()) + " bytes)";
}

void fresh_directory(const std::string& dir) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
}

void check_program(const Program& program) {
  const std::string work = std::string(STRACE_PROGRAMS_WORK_DIR) + "/" + program.name;
  const std::string out = std::string(STRACE_PROGRAMS_WORK_DIR) + "/" + program.name + ".out";
  std::filesystem::create_directories(out);
  const std::string strace_file = out + "/strace.txt";
  const std::string trace_file = out + "/trace.jsonl";
  const std::vector<std::string> command = program_command(program, out);

  fresh_directory(work);
  std::vector<std::string> strace_argv = {"/usr/bin/strace",        "-f", "-qq",      "-y", "-s", "65535", "-e",
                                          "trace=" + program.calls, "-o", strace_file};
  strace_argv.insert(strace_argv.end(), command.begin(), command.end());
  ProcessResult straced = run_process(strace_argv, {.cwd = work}, 120);
  if (auto it = kCannotRun.find(program.name); it != kCannotRun.end()) {
    ASSERT_NE(straced.exit_code(), 0) << program.name << " ran under strace: remove it from kCannotRun";
    GTEST_SKIP() << program.name << ": " << it->second;
  }
  ASSERT_EQ(straced.exit_code(), 0) << program.name << " under strace: " << straced.summary() << "\n" << straced.err;

  fresh_directory(work);
  TracedRun traced = run_traced(trace_file, command, {}, {.cwd = work}, 120);
  ASSERT_TRUE(exited_with(traced, 0)) << program.name << " under tracepack trace";

  PathSet expected = strace_printed_paths(strace_file);
  PathSet recorded = recorded_paths(*traced.trace);
  std::string missing;
  std::size_t count = 0;
  for (const std::string& p : expected) {
    if (!recorded.count(p)) missing += "  " + shown(p) + "\n", ++count;
  }
  std::cout << program.name << ": " << expected.size() << " paths printed by strace, " << count << " missing from the trace\n";
  if (count > 0) {
    ADD_FAILURE() << program.name << ": " << count << " of the " << expected.size() << " paths strace printed are missing from the trace ("
                  << strace_file << ", " << trace_file << "):\n"
                  << missing;
  }
}

class ProgramTest : public ::testing::Test {
 public:
  explicit ProgramTest(Program program) : program_(std::move(program)) {}
  void TestBody() override { check_program(program_); }

 private:
  Program program_;
};

class NotAvailable : public ::testing::Test {
 public:
  NotAvailable(std::string reason, bool skip) : reason_(std::move(reason)), skip_(skip) {}
  void TestBody() override {
    if (skip_) GTEST_SKIP() << reason_;
    FAIL() << reason_;
  }

 private:
  std::string reason_;
  bool skip_;
};

void register_not_available(const std::string& reason, bool skip) {
  ::testing::RegisterTest("StracePrograms", "Build", nullptr, nullptr, __FILE__, __LINE__,
                          [=]() -> ::testing::Test* { return new NotAvailable(reason, skip); });
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value && *value ? value : fallback;
}

// Builds (or finds in the cache) the programs and registers one test each.
void register_programs() {
  const std::string tarball = env_or("TRACEPACK_STRACE_CACHE", "/var/cache/tracepack/strace") + "/strace_6.1.orig.tar.xz";
  if (access(tarball.c_str(), R_OK) != 0) {
    return register_not_available("strace's source is not downloaded (run .ci/install-deps): " + tarball, true);
  }
  if (access("/usr/bin/strace", X_OK) != 0) return register_not_available("strace is not installed (/usr/bin/strace)", true);
  ProcessResult built = run_process({std::string(STRACE_PROGRAMS_SRC_DIR) + "/build.sh", tarball}, {}, 1800);
  if (built.exit_code() != 0) return register_not_available("build.sh failed: " + built.summary() + "\n" + built.err, false);
  const std::string dir = built.out.substr(0, built.out.find('\n'));
  std::ifstream list(dir + "/programs.tsv");
  std::string line;
  while (std::getline(list, line)) {
    std::istringstream fields(line);
    Program program;
    std::getline(fields, program.name, '\t');
    std::getline(fields, program.calls, '\t');
    std::getline(fields, program.redirections, '\t');
    program.path = dir + "/src/tests/" + program.name;
    std::string test_name = program.name;
    for (char& c : test_name) c = c == '-' ? '_' : c;  // '-' starts a negative --gtest_filter
    ::testing::RegisterTest("StracePrograms", test_name.c_str(), nullptr, nullptr, __FILE__, __LINE__,
                            [=]() -> ::testing::Test* { return new ProgramTest(program); });
  }
}

}  // namespace
}  // namespace tracepack::test

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  tracepack::test::register_programs();
  return RUN_ALL_TESTS();
}

// One test per corner case of docs/tracer-cases.md (the number is in the
// test's comment), plus the exec, path and special-file situations around them.
//
// Each test runs a fixture (fixtures/programs/*.c) under `tracepack trace` on
// files in data() and compares every access recorded under that directory
// with the exact expected list (see describe() for the line format: the
// directory is "$D"). Accesses the dynamic loader and libc make under /usr,
// /lib and /etc are ignored unless the case is about them.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tracer_test_util.h"

namespace tracepack::test {
namespace {

std::vector<std::string> sorted(std::vector<std::string> lines) {
  std::sort(lines.begin(), lines.end());
  return lines;
}

std::vector<std::string> describe_syscall_under(const Trace& trace, std::string_view dir, std::string_view syscall) {
  std::vector<std::string> lines;
  for (const FileAccess* a : accesses_under(trace, dir)) {
    if (a->syscall == syscall) lines.push_back(describe(*a, dir));
  }
  return sorted(lines);
}

// The single access with this syscall and path (as the tracee gave it).
const FileAccess* access_by_path(const Trace& trace, std::string_view syscall, const PathBytes& path) {
  return find_access(trace, {.syscall = std::string(syscall), .path = path});
}

// `access` resolved exactly as a component-by-component walk of the real
// file system does, with every symlink met on the way.
void expect_resolved_like_kernel(const FileAccess* access, const PathBytes& path) {
  ASSERT_NE(access, nullptr) << "no single access for " << path;
  Resolution expected = reference_resolve(path);
  EXPECT_EQ(access->resolved, expected.resolved) << path;
  EXPECT_EQ(describe_links(access->links), describe_links(expected.links)) << path;
}

// The pid a fixture wrote to `path`.
std::string read_pid_file(const std::string& path) {
  std::string text = read_file(path);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// True when `pid` no longer runs: gone, or a zombie waiting for its reaper.
bool process_is_dead(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  std::string line;
  std::getline(stat, line);
  std::size_t paren = line.rfind(')');
  return paren == std::string::npos || paren + 2 >= line.size() || line[paren + 2] == 'Z' || line[paren + 2] == 'X';
}

// errno of execv(path) in a child; 0 when the exec succeeded.
int exec_errno(const std::string& path) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return errno;
  pid_t pid = fork();
  if (pid == 0) {
    char* argv[] = {const_cast<char*>(path.c_str()), nullptr};
    execv(path.c_str(), argv);
    int err = errno;
    (void)!write(fds[1], &err, sizeof err);
    _exit(127);
  }
  close(fds[1]);
  int err = 0;
  if (read(fds[0], &err, sizeof err) != sizeof err) err = 0;
  close(fds[0]);
  waitpid(pid, nullptr, 0);
  return err;
}

bool wait_until_dead(pid_t pid, double seconds) {
  for (int i = 0; i < static_cast<int>(seconds * 50); ++i) {
    if (process_is_dead(pid)) return true;
    usleep(20000);
  }
  return process_is_dead(pid);
}

// ---- 7, 8: every classic file system call, flags deciding meaning ----

class FileOpsTest : public TracerTest {
 protected:
  // The accesses file_ops makes, given what getxattr and name_to_handle_at
  // really returned (printed by the fixture).
  static std::vector<std::string> expected(const std::string& fixture_output) {
    std::string getxattr_error = error_name(printed_errno(fixture_output, "getxattr"));
    std::string handle_error = error_name(printed_errno(fixture_output, "name_to_handle_at"));
    return sorted({
        "open create $D/a -> $D/a ok",
        "open read $D/a -> $D/a ok regular x2",
        "open write $D/a -> $D/a ok regular",
        "open write $D/a -> $D/a ok regular",
        "creat create $D/b -> $D/b ok",
        "openat create $D/c -> $D/c ok",
        "open read $D -> $D ok directory",
        "symlink symlink a ok | $D/sl -> $D/sl",
        "stat stat $D/sl -> $D/a ok regular",
        "lstat stat $D/sl -> $D/sl ok symlink",
        "newfstatat stat $D/sl -> $D/sl ok symlink",
        "access stat $D/a -> $D/a ok regular",
        "faccessat stat $D/missing -> $D/missing ENOENT none",
        "readlink readlink $D/sl -> $D/sl ok symlink",
        "statfs stat $D -> $D ok directory",
        "getxattr stat $D/a -> $D/a " + getxattr_error + " regular",
        "mkdir mkdir $D/d1 -> $D/d1 ok",
        "mkdirat mkdir $D/d2 -> $D/d2 ok",
        "rename rename $D/b -> $D/b ok | $D/b2 -> $D/b2",
        "renameat2 rename $D/c -> $D/c ok | $D/c2 -> $D/c2",
        "link link $D/a -> $D/a ok | $D/h1 -> $D/h1",
        "linkat link $D/a -> $D/a ok | $D/h2 -> $D/h2",
        "unlink remove $D/h1 -> $D/h1 ok",
        "unlinkat remove $D/h2 -> $D/h2 ok",
        "rmdir remove $D/d2 -> $D/d2 ok",
        "mknod create $D/fifo -> $D/fifo ok",
        "chmod attr $D/a -> $D/a ok regular",
        "fchmodat attr $D/b2 -> $D/b2 ok regular",
        "chown attr $D/a -> $D/a ok regular",
        "lchown attr $D/sl -> $D/sl ok symlink",
        "utimensat attr $D/a -> $D/a ok regular",
        "utimes attr $D/c2 -> $D/c2 ok regular",
        "truncate write $D/a -> $D/a ok regular",
        "inotify_add_watch watch $D -> $D ok directory",
        "name_to_handle_at stat $D/c2 -> $D/c2 " + handle_error + " regular",
    });
  }

  static int printed_errno(const std::string& output, const std::string& name) {
    std::istringstream in(output);
    std::string word;
    int value = -1;
    while (in >> word >> value) {
      if (word == name) return value;
    }
    ADD_FAILURE() << "file_ops did not print " << name;
    return -1;
  }

  TracedRun run_file_ops(const std::vector<std::string>& options = {}) const {
    return trace({fixture("file_ops"), data().path()}, options);
  }
};

// 7: the classic calls, each by its own number, with kind, error and type.
TEST_F(FileOpsTest, RecordsEveryClassicFileSyscall) {
  TracedRun run = run_file_ops();
  ASSERT_TRUE(exited_with(run, 0));
  EXPECT_TRUE(same_lines(describe_under(*run.trace, data().path()), expected(run.process.out)));
}

// 8: open flags decide input vs output, and are recorded as the call got them.
TEST_F(FileOpsTest, RecordsOpenFlagsAsGiven) {
  TracedRun run = run_file_ops();
  ASSERT_TRUE(exited_with(run, 0));
  const Trace& t = *run.trace;
  const FileAccess* created = find_access(t, {.kind = AccessKind::create, .syscall = "open"});
  ASSERT_NE(created, nullptr);
  EXPECT_EQ(created->flags, static_cast<std::uint64_t>(O_WRONLY | O_CREAT | O_TRUNC));
  const FileAccess* exclusive = find_access(t, {.syscall = "openat", .path = data() / "c"});
  ASSERT_NE(exclusive, nullptr);
  EXPECT_EQ(exclusive->flags, static_cast<std::uint64_t>(O_RDWR | O_CREAT | O_EXCL));
  std::vector<std::uint64_t> write_flags;
  for (const FileAccess* a : find_accesses(t, {.kind = AccessKind::write, .syscall = "open"})) {
    write_flags.push_back(a->flags);
  }
  std::sort(write_flags.begin(), write_flags.end());
  EXPECT_EQ(write_flags, (std::vector<std::uint64_t>{O_WRONLY, O_RDWR}));
}

// 8: AT_SYMLINK_NOFOLLOW names the link; without it, stat names the target.
TEST_F(FileOpsTest, SymlinkNoFollowNamesTheLinkItself) {
  TracedRun run = run_file_ops();
  ASSERT_TRUE(exited_with(run, 0));
  const FileAccess* nofollow = access_by_path(*run.trace, "newfstatat", data() / "sl");
  ASSERT_NE(nofollow, nullptr);
  EXPECT_EQ(nofollow->flags, static_cast<std::uint64_t>(AT_SYMLINK_NOFOLLOW));
  EXPECT_EQ(nofollow->resolved, data() / "sl");
  const FileAccess* followed = access_by_path(*run.trace, "stat", data() / "sl");
  ASSERT_NE(followed, nullptr);
  EXPECT_EQ(describe_links(followed->links, data().path()), std::vector<std::string>{"$D/sl => a"});
}

// 13: whatever order the kernel delivers seccomp and syscall stops in, the
// filtered run, the stop-at-everything run and the exact-results run agree.
TEST_F(FileOpsTest, EveryStopModeRecordsTheSameAccesses) {
  for (const std::vector<std::string>& options :
       {std::vector<std::string>{}, std::vector<std::string>{"--no-seccomp"}, std::vector<std::string>{"--exact-results"}}) {
    TempDir fresh;  // file_ops needs an empty directory each time
    TracedRun run = trace({fixture("file_ops"), fresh.path()}, options);
    ASSERT_TRUE(exited_with(run, 0)) << (options.empty() ? "default" : options.front());
    EXPECT_TRUE(same_lines(describe_under(*run.trace, fresh.path()), expected(run.process.out)))
        << (options.empty() ? "default" : options.front());
  }
}

// ---- 14: results that only the kernel knows ----

// Exit stops are skipped where the tracer can predict the result; these calls'
// results cannot be predicted from a lookup, so they must be the kernel's.
TEST_F(TracerTest, RecordsResultsOnlyTheKernelKnows) {
  write_file(data() / "file", "x");
  make_dirs(data() / "full");
  write_file(data() / "full/x", "x");
  TracedRun run = trace({fixture("result_errors"), data().path()});
  ASSERT_TRUE(exited_with(run, 0));
  EXPECT_TRUE(same_lines(describe_under(*run.trace, data().path()), {
                                                                        "openat create $D/file -> $D/file EEXIST",
                                                                        "openat write $D -> $D EISDIR directory",
                                                                        "rmdir remove $D/full -> $D/full ENOTEMPTY",
                                                                        "unlink remove $D/full -> $D/full EISDIR",
                                                                        "getxattr stat $D/file -> $D/file ENODATA regular",
                                                                        "openat read $D/file -> $D/file ok regular",
                                                                    }));
}

// ---- 5: dirfd and AT_EMPTY_PATH ----

TEST_F(TracerTest, ResolvesPathsRelativeToDirectoryFds) {
  make_dirs(data() / "sub");
  write_file(data() / "sub/f", "f");
  TracedRun run = trace({fixture("dirfd_ops"), data().path()});
  ASSERT_TRUE(exited_with(run, 0));
  // The AT_EMPTY_PATH newfstatat and statx name no new path: not recorded.
  EXPECT_TRUE(same_lines(describe_under(*run.trace, data().path()), {
                                                                        "openat read $D/sub -> $D/sub ok directory",
                                                                        "openat read f -> $D/sub/f ok regular",
                                                                        "openat create new -> $D/sub/new ok",
                                                                        "newfstatat stat f -> $D/sub/f ok regular",
                                                                        "faccessat stat f -> $D/sub/f ok regular",
                                                                        "symlinkat symlink f ok | l -> $D/sub/l",
                                                                        "readlinkat readlink l -> $D/sub/l ok symlink",
                                                                        "mkdirat mkdir d -> $D/sub/d ok",
                                                                        "renameat rename d -> $D/sub/d ok | d2 -> $D/sub/d2",
                                                                        "unlinkat remove d2 -> $D/sub/d2 ok",
                                                                        "linkat link f -> $D/sub/f ok | h -> $D/sub/h",
                                                                        "fchmodat attr f -> $D/sub/f ok regular",
                                                                    }));
}

// 5: execveat(fd, "", AT_EMPTY_PATH) (fexecve) names the file through the fd.
TEST_F(TracerTest, ExecveatWithEmptyPathResolvesThroughTheFd) {
  std::filesystem::copy_file(fixture("exit_code"), data() / "prog");
  chmod((data() / "prog").c_str(), 0755);
  TracedRun run = trace({fixture("execveat_ops"), "fd", data().path(), "prog", "6"});
  ASSERT_TRUE(exited_with(run, 6));
  EXPECT_TRUE(same_lines(describe_under(*run.trace, data().path()), {
                                                                        "openat read $D/prog -> $D/prog ok regular",
                                                                        "execveat exec  -> $D/prog ok regular",
                                                                    }));
  const Process* root = root_process(*run.trace);
  ASSERT_NE(root, nullptr);
  ASSERT_EQ(root->execs.size(), 2u);
  EXPECT_EQ(root->execs[1].exe, data() / "prog");
  EXPECT_EQ(root->execs[1].argv, (std::vector<PathBytes>{"prog", "6"}));
}

// 5: execveat(dirfd, name, 0).
TEST_F(TracerTest, ExecveatRelativeToDirectoryFd) {
  std::filesystem::copy_file(fixture("exit_code"), data() / "prog");
  chmod((data() / "prog").c_str(), 0755);
  TracedRun run = trace({fixture("execveat_ops"), "dirfd", data().path(), "prog", "5"});
  ASSERT_TRUE(exited_with(run, 5));
  EXPECT_TRUE(same_lines(describe_under(*run.trace, data().path()), {
                                                                        "openat read $D -> $D ok directory",
                                                                        "execveat exec prog -> $D/prog ok regular",
                                                                    }));
}

// ---- 7: the new calls ----

class NewSyscallsTest : public TracerTest {
 protected:
  void SetUp() override {
    write_file(data() / "f", "f");
    make_symlink("f", data() / "l");
    std::string reason = unsupported_reason({fixture("new_syscalls"), data().path()}, "kernel has no openat2");
    std::filesystem::remove(data() / "n");
    if (!reason.empty()) GTEST_SKIP() << reason;
    run_ = trace({fixture("new_syscalls"), data().path()});
    ASSERT_TRUE(exited_with(run_, 0));
  }
  TracedRun run_;
};

TEST_F(NewSyscallsTest, Openat2TakesFlagsFromOpenHow) {
  EXPECT_TRUE(same_lines(describe_syscall_under(*run_.trace, data().path(), "openat2"), {
                                                                                            "openat2 read $D/f -> $D/f ok regular",
                                                                                            "openat2 create $D/n -> $D/n ok",
                                                                                        }));
  const FileAccess* created = access_by_path(*run_.trace, "openat2", data() / "n");
  ASSERT_NE(created, nullptr);
  EXPECT_EQ(created->flags, static_cast<std::uint64_t>(O_WRONLY | O_CREAT));
}

TEST_F(NewSyscallsTest, Statx) {
  EXPECT_TRUE(same_lines(describe_syscall_under(*run_.trace, data().path(), "statx"), {
                                                                                          "statx stat $D/f -> $D/f ok regular",
                                                                                          "statx stat $D/l -> $D/l ok symlink",
                                                                                          "statx stat $D/missing -> $D/missing ENOENT none",
                                                                                      }));
}

TEST_F(NewSyscallsTest, Faccessat2) {
  EXPECT_TRUE(same_lines(describe_syscall_under(*run_.trace, data().path(), "faccessat2"), {
                                                                                               "faccessat2 stat $D/l -> $D/f ok regular",
                                                                                               "faccessat2 stat $D/l -> $D/l ok symlink",
                                                                                           }));
}

// ---- 6: working directories ----

TEST_F(TracerTest, RelativePathsFollowChdirFchdirAndPerThreadCwd) {
  for (const char* sub : {"a", "b", "c"}) {
    make_dirs(data() / sub);
    write_file(data() / (std::string(sub) + "/f"), sub);
  }
  TracedRun run = trace({fixture("cwd_ops"), data().path()});
  ASSERT_TRUE(exited_with(run, 0));
  EXPECT_TRUE(same_lines(describe_under(*run.trace, data().path()), {
                                                                        "chdir chdir $D/a -> $D/a ok directory",
                                                                        "openat read f -> $D/a/f ok regular",
                                                                        "openat read $D/b -> $D/b ok directory",
                                                                        "fchdir chdir  -> $D/b ok directory",
                                                                        "openat read f -> $D/b/f ok regular x2",
                                                                        "chdir chdir $D/c -> $D/c ok directory",
                                                                        "openat read f -> $D/c/f ok regular",
                                                                    }));
  const FileAccess* in_thread = find_access(*run.trace, {.resolved = data() / "c/f"});
  ASSERT_NE(in_thread, nullptr);
  EXPECT_EQ("thread " + std::to_string(in_thread->tid) + "\n", run.process.out);
}

// ---- 4: symlinks along the path ----

class SymlinkTest : public TracerTest {
 protected:
  void SetUp() override {
    make_dirs(data() / "real/deep");
    write_file(data() / "real/file", "real");
    write_file(data() / "file", "decoy: the lexical reading of ld/../file");
    make_symlink("l2", data() / "l1");
    make_symlink("real/file", data() / "l2");
    make_symlink("real/deep", data() / "ld");
    make_symlink(data() / "real", data() / "abs");
    make_symlink("nowhere", data() / "dangling");
  }
};

TEST_F(SymlinkTest, ResolvesChainsDotDotAndAbsoluteTargets) {
  TracedRun run = trace({fixture("open_paths"), data() / "l1", data() / "ld/../file", data() / "abs/file", data() / "dangling"});
  ASSERT_TRUE(exited_with(run, 0));
  EXPECT_EQ(run.process.out, "0\n0\n0\n2\n");
  EXPECT_TRUE(same_lines(describe_under(*run.trace, data().path()), {
                                                                        "openat read $D/l1 -> $D/real/file ok regular",
                                                                        "openat read $D/ld/../file -> $D/real/file ok regular",
                                                                        "openat read $D/abs/file -> $D/real/file ok regular",
                                                                        "openat read $D/dangling -> $D/nowhere ENOENT none",
                                                                    }));
}

TEST_F(SymlinkTest, KeepsEverySymlinkMetAsLinkAndTarget) {
  TracedRun run = trace({fixture("open_paths"), data() / "l1", data() / "ld/../file", data() / "abs/file", data() / "dangling"});
  ASSERT_TRUE(exited_with(run, 0));
  const Trace& t = *run.trace;
  auto links_of = [&](const std::string& name) {
    const FileAccess* a = access_by_path(t, "openat", data() / name);
    return a ? describe_links(a->links, data().path()) : std::vector<std::string>{"<no single access>"};
  };
  EXPECT_EQ(links_of("l1"), (std::vector<std::string>{"$D/l1 => l2", "$D/l2 => real/file"}));
  EXPECT_EQ(links_of("ld/../file"), (std::vector<std::string>{"$D/ld => real/deep"}));
  EXPECT_EQ(links_of("abs/file"), (std::vector<std::string>{"$D/abs => " + encode_path(data() / "real")}));
  EXPECT_EQ(links_of("dangling"), (std::vector<std::string>{"$D/dangling => nowhere"}));
}

// 4: merged /usr: /bin -> usr/bin, /usr/bin/sh -> dash, /lib64 -> usr/lib64...
TEST_F(TracerTest, ResolvesMergedUsrSymlinkChains) {
  const std::vector<PathBytes> system_paths = {"/bin/sh", "/lib64/ld-linux-x86-64.so.2", "/usr/bin/../bin/sh"};
  std::vector<std::string> command = {fixture("open_paths")};
  command.insert(command.end(), system_paths.begin(), system_paths.end());
  TracedRun run = trace(command);
  ASSERT_TRUE(exited_with(run, 0));
  for (const PathBytes& path : system_paths) {
    expect_resolved_like_kernel(access_by_path(*run.trace, "openat", path), path);
  }
}

// ---- 1, 2, 3: what the kernel opens at exec ----

class ExecTest : public TracerTest {
 protected:
  // The accesses with this origin, in recording order.
  static std::vector<const FileAccess*> with_origin(const Trace& trace, AccessOrigin origin) {
    return find_accesses(trace, {.kind = AccessKind::exec, .origin = origin});
  }
};

// 1: the ELF loader (PT_INTERP), with its symlink chain.
TEST_F(ExecTest, RecordsElfInterpreterWithItsLinks) {
  const std::string program = fixture("exit_code");
  const std::string interp = elf_interpreter(program);
  ASSERT_FALSE(interp.empty()) << program << " has no PT_INTERP";
  TracedRun run = trace({program, "0"});
  ASSERT_TRUE(exited_with(run, 0));
  std::vector<const FileAccess*> loaders = with_origin(*run.trace, AccessOrigin::elf_interp);
  ASSERT_EQ(loaders.size(), 1u) << dump(*run.trace);
  EXPECT_EQ(describe(*loaders[0]), "execve exec " + interp + " -> " + real_path(interp) + " ok regular [elf_interp]");
  expect_resolved_like_kernel(loaders[0], interp);
  const Process* root = root_process(*run.trace);
  ASSERT_NE(root, nullptr);
  ASSERT_EQ(root->execs.size(), 1u);
  EXPECT_EQ(root->execs[0].path, program);
  EXPECT_EQ(root->execs[0].exe, program);
  ASSERT_EQ(root->execs[0].interpreters.size(), 1u);
  EXPECT_TRUE(root->execs[0].interpreters[0] == interp || root->execs[0].interpreters[0] == real_path(interp))
      << root->execs[0].interpreters[0];
}

// 2: a script whose interpreter is itself a script, ending in /bin/sh.
TEST_F(ExecTest, FollowsNestedShebangs) {
  write_file(data() / "inner.sh", "#!/bin/sh\nexit 4\n", 0755);
  write_file(data() / "outer", "#!" + data() / "inner.sh" + "\n", 0755);
  TracedRun run = trace({data() / "outer"});
  ASSERT_TRUE(exited_with(run, 4));
  EXPECT_TRUE(same_lines(describe_under(*run.trace, data().path()),
                         {
                             "execve exec $D/outer -> $D/outer ok regular", "execve exec $D/inner.sh -> $D/inner.sh ok regular [shebang]",
                             "openat read $D/inner.sh -> $D/inner.sh ok regular",  // sh reading its script
                         }));
  std::vector<const FileAccess*> shebangs = with_origin(*run.trace, AccessOrigin::shebang);
  ASSERT_EQ(shebangs.size(), 2u) << dump(*run.trace);
  EXPECT_EQ(shebangs[1]->path, "/bin/sh");
  expect_resolved_like_kernel(shebangs[1], "/bin/sh");
  EXPECT_EQ(with_origin(*run.trace, AccessOrigin::elf_interp).size(), 1u);
}

// 2, 3: Exec records the interpreter chain and what really runs (/proc/PID/exe).
TEST_F(ExecTest, ExecRecordsInterpreterChainAndRealExe) {
  write_file(data() / "inner.sh", "#!/bin/sh\nexit 4\n", 0755);
  write_file(data() / "outer", "#!" + data() / "inner.sh" + "\n", 0755);
  TracedRun run = trace({data() / "outer"});
  ASSERT_TRUE(exited_with(run, 4));
  const Process* root = root_process(*run.trace);
  ASSERT_NE(root, nullptr);
  ASSERT_EQ(root->execs.size(), 1u);
  const Exec& exec = root->execs[0];
  EXPECT_EQ(exec.path, data() / "outer");
  EXPECT_EQ(exec.exe, real_path("/bin/sh"));
  EXPECT_EQ(exec.argv, std::vector<PathBytes>{data() / "outer"});
  ASSERT_EQ(exec.interpreters.size(), 3u);
  EXPECT_EQ(exec.interpreters[0], data() / "inner.sh");
  EXPECT_TRUE(exec.interpreters[1] == "/bin/sh" || exec.interpreters[1] == real_path("/bin/sh")) << exec.interpreters[1];
}

// 2: "#!/usr/bin/env sh": the kernel runs env, env then execs sh from PATH.
TEST_F(ExecTest, FollowsEnvShebangThroughPath) {
  write_file(data() / "envscript", "#!/usr/bin/env sh\nexit 5\n", 0755);
  TracedRun run = trace({data() / "envscript"}, {}, {.env_set = {"PATH=/usr/bin:/bin"}});
  ASSERT_TRUE(exited_with(run, 5));
  EXPECT_TRUE(same_lines(describe_under(*run.trace, data().path()), {
                                                                        "execve exec $D/envscript -> $D/envscript ok regular",
                                                                        "openat read $D/envscript -> $D/envscript ok regular",
                                                                    }));
  const FileAccess* env = find_access(*run.trace, {.kind = AccessKind::exec, .origin = AccessOrigin::shebang});
  ASSERT_NE(env, nullptr) << dump(*run.trace);
  EXPECT_EQ(describe(*env), "execve exec /usr/bin/env -> " + real_path("/usr/bin/env") + " ok regular [shebang]");
  const FileAccess* sh = access_by_path(*run.trace, "execve", "/usr/bin/sh");
  ASSERT_NE(sh, nullptr) << dump(*run.trace);
  expect_resolved_like_kernel(sh, "/usr/bin/sh");
  const Process* root = root_process(*run.trace);
  ASSERT_NE(root, nullptr);
  ASSERT_EQ(root->execs.size(), 2u);
  EXPECT_EQ(root->execs[0].exe, real_path("/usr/bin/env"));
  EXPECT_EQ(root->execs[1].exe, real_path("/usr/bin/sh"));
}

// 21: a PATH search leaves failed execs behind.
TEST_F(ExecTest, RecordsFailedExecsOfPathSearch) {
  TracedRun run = trace({"/usr/bin/env", "sh", "-c", "exit 0"}, {}, {.env_set = {"PATH=" + data() / "nope" + ":/usr/bin"}});
  ASSERT_TRUE(exited_with(run, 0));
  EXPECT_TRUE(
      same_lines(describe_under(*run.trace, data().path()), std::vector<std::string>{"execve exec $D/nope/sh -> $D/nope/sh ENOENT none"}));
}

// 21: every outcome of execve: a missing file's error is predicted at entry
// (no exit stop: no exec event will come); any other failure is read at the
// exit stop; the exec that succeeds is recorded at its exec event as always.
TEST_F(ExecTest, RecordsEveryExecOutcome) {
  write_file(data() / "plain", "not a program\n", 0644);
  TracedRun run = trace({fixture("exec_outcomes"), data().path()});
  ASSERT_TRUE(exited_with(run, 0));
  EXPECT_TRUE(same_lines(describe_under(*run.trace, data().path()), {
                                                                        "execve exec $D/missing -> $D/missing ENOENT none",
                                                                        "execve exec $D/plain -> $D/plain EACCES regular",
                                                                    }));
  const FileAccess* missing = find_access(*run.trace, {.path = data() / "missing"});
  const FileAccess* plain = find_access(*run.trace, {.path = data() / "plain"});
  ASSERT_TRUE(missing != nullptr && plain != nullptr) << dump(*run.trace);
  EXPECT_FALSE(missing->observed);
  EXPECT_TRUE(plain->observed);
  const Process* root = root_process(*run.trace);
  ASSERT_NE(root, nullptr);
  ASSERT_EQ(root->execs.size(), 2u) << dump(*run.trace);
  EXPECT_EQ(root->execs[1].path, fixture("exec_outcomes"));  // /proc/self/exe, resolved
  EXPECT_EQ(root->execs[1].exe, fixture("exec_outcomes"));
  EXPECT_EQ(root->execs[1].argv, (std::vector<PathBytes>{"exec_outcomes", "again"}));
  const FileAccess* again = find_access(*run.trace, {.kind = AccessKind::exec, .path = "/proc/self/exe"});
  ASSERT_NE(again, nullptr) << dump(*run.trace);
  EXPECT_EQ(again->error, 0);
  EXPECT_TRUE(again->observed);
}

// 21: a missing file's exec is predicted to fail from the tracer's lookup; when
// a process it does not trace made the file meanwhile, the exec succeeds, and
// it is recorded from its exec event all the same.
TEST_F(ExecTest, RecordsAnExecPredictedToFailThatSucceeds) {
  ASSERT_EQ(mkfifo((data() / "go").c_str(), 0600), 0) << std::strerror(errno);
  ChildProcess tracer(tracer_command(trace_file(), {}, {fixture("exec_appearing"), data().path(), "5"}));
  // The fifo opens for writing once the fixture has opened it for reading,
  // after its lookup of prog; only then is prog made.
  int go = -1;
  for (int tries = 0; go < 0 && tries < 6000; ++tries) {
    go = open((data() / "go").c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (go < 0) usleep(10000);
  }
  ASSERT_GE(go, 0) << "the fixture never opened the fifo: " << tracer.wait(1).err;
  std::filesystem::copy_file(fixture("exit_code"), data() / "prog");
  std::filesystem::permissions(data() / "prog", std::filesystem::perms(0755));
  ASSERT_EQ(write(go, "g", 1), 1);
  close(go);
  TracedRun run;
  run.process = tracer.wait(60);
  run.trace = read_trace(trace_file());
  ASSERT_TRUE(exited_with(run, 5));
  const Process* root = root_process(*run.trace);
  ASSERT_NE(root, nullptr);
  ASSERT_EQ(root->execs.size(), 2u) << dump(*run.trace);
  EXPECT_EQ(root->execs[1].exe, data() / "prog");
  EXPECT_EQ(root->execs[1].argv, (std::vector<PathBytes>{"prog", "5"}));
  std::vector<std::string> lines = describe_under(*run.trace, data().path());
  EXPECT_NE(std::find(lines.begin(), lines.end(), "execve exec $D/prog -> $D/prog ok regular"), lines.end()) << dump(*run.trace);
}

// 4: the command itself through the merged-/usr link.
TEST_F(ExecTest, ResolvesExecThroughMergedUsr) {
  TracedRun run = trace({"/bin/sh", "-c", "exit 0"});
  ASSERT_TRUE(exited_with(run, 0));
  const FileAccess* sh = find_access(*run.trace, {.kind = AccessKind::exec, .path = "/bin/sh"});
  ASSERT_NE(sh, nullptr) << dump(*run.trace);
  expect_resolved_like_kernel(sh, "/bin/sh");
  const Process* root = root_process(*run.trace);
  ASSERT_NE(root, nullptr);
  ASSERT_FALSE(root->execs.empty());
  EXPECT_EQ(root->execs[0].exe, real_path("/bin/sh"));
}

// ---- 9: compat system calls ----

// 9: an i386 process: i386 system call names.
TEST_F(TracerTest, RecordsI386ProcessesByTheirOwnSyscallNames) {
  const std::string program = fixture("i386_syscalls");
  if (access(program.c_str(), X_OK) != 0) GTEST_SKIP() << "the compiler cannot build -m32 programs";
  if (int err = exec_errno(program); err != 0) {
    GTEST_SKIP() << "this kernel cannot run i386 programs: execve: " << std::strerror(err);
  }
  write_file(data() / "f", "f");
  TracedRun run = trace({program, data().path()});
  ASSERT_TRUE(exited_with(run, 0));
  EXPECT_TRUE(same_lines(describe_under(*run.trace, data().path()), {
                                                                        "open read $D/f -> $D/f ok regular",
                                                                        "stat64 stat $D/f -> $D/f ok regular",
                                                                        "openat create $D/g -> $D/g ok",
                                                                    }));
}

// 9: int $0x80 from 64-bit code is an i386 call: number 5 is open, not fstat.
TEST_F(TracerTest, RecordsInt80FromSixtyFourBitCodeAsI386) {
  write_file(data() / "f", "f");
  std::string reason =
      unsupported_reason({fixture("int80_open"), data().path()}, "this kernel has no int $0x80 entry for 64-bit processes");
  if (!reason.empty()) GTEST_SKIP() << reason;
  TracedRun run = trace({fixture("int80_open"), data().path()});
  ASSERT_TRUE(exited_with(run, 0));
  EXPECT_TRUE(same_lines(describe_under(*run.trace, data().path()), std::vector<std::string>{"open read $D/f -> $D/f ok regular"}));
}

// ---- 10, 11, 12: process creation ----

// 10: execve from a thread that is not the leader; the tracer must not hang.
TEST_F(TracerTest, FollowsExecFromNonLeaderThread) {
  TracedRun run = trace({fixture("thread_exec"), fixture("exit_code"), "7"}, {}, {}, 30);
  ASSERT_TRUE(exited_with(run, 7));
  ASSERT_EQ(run.trace->processes.size(), 1u) << dump(*run.trace);
  const Process& process = run.trace->processes[0];
  ASSERT_EQ(process.execs.size(), 2u);
  EXPECT_EQ(process.execs[1].exe, fixture("exit_code"));
  EXPECT_EQ(process.execs[1].argv, (std::vector<PathBytes>{fixture("exit_code"), "7"}));
  EXPECT_TRUE(process.exited);
  EXPECT_EQ(process.exit_code, 7);
}

// 11: vfork children, each exec'ing; repeated to meet the SIGSTOP/event race.
TEST_F(TracerTest, FollowsVforkChildren) {
  constexpr int kChildren = 20;
  TracedRun run = trace({fixture("vfork_exec"), std::to_string(kChildren), fixture("exit_code"), "3"});
  ASSERT_TRUE(exited_with(run, 3));
  const Process* root = root_process(*run.trace);
  ASSERT_NE(root, nullptr);
  std::vector<const Process*> children = processes_with_exe(*run.trace, fixture("exit_code"));
  ASSERT_EQ(children.size(), static_cast<std::size_t>(kChildren)) << dump(*run.trace);
  for (const Process* child : children) {
    EXPECT_EQ(child->parent, root->id);
    EXPECT_TRUE(child->exited);
    EXPECT_EQ(child->exit_code, 3);
  }
  EXPECT_EQ(run.trace->processes.size(), static_cast<std::size_t>(kChildren + 1));
}

// 12: a child made by clone3 is followed.
TEST_F(TracerTest, FollowsClone3Children) {
  write_file(data() / "f", "f");
  std::string reason = unsupported_reason({fixture("clone3_open"), data() / "f"}, "kernel has no clone3");
  if (!reason.empty()) GTEST_SKIP() << reason;
  TracedRun run = trace({fixture("clone3_open"), data() / "f"});
  ASSERT_TRUE(exited_with(run, 0));
  EXPECT_TRUE(same_lines(describe_under(*run.trace, data().path()), std::vector<std::string>{"openat read $D/f -> $D/f ok regular"}));
  const FileAccess* open = find_access(*run.trace, {.resolved = data() / "f"});
  const Process* root = root_process(*run.trace);
  ASSERT_TRUE(open && root);
  const Process* child = find_process(*run.trace, open->process);
  ASSERT_NE(child, nullptr);
  EXPECT_EQ(child->parent, root->id);
}

// 12: CLONE_UNTRACED: the child escapes; the trace must say so.
TEST_F(TracerTest, WarnsAboutCloneUntraced) {
  write_file(data() / "f", "f");
  TracedRun run = trace({fixture("clone_untraced"), data() / "f"});
  ASSERT_TRUE(run.trace) << run.trace_error;
  EXPECT_TRUE(has_warning(*run.trace, "CLONE_UNTRACED")) << dump(*run.trace);
}

// 12: the escaped child still runs as it would untraced. (It inherits the
// tracer's seccomp filter; a SECCOMP_RET_TRACE with no tracer attached fails
// the call with ENOSYS, and the child then exits 99.)
TEST_F(TracerTest, CloneUntracedChildStillWorks) {
  write_file(data() / "f", "f");
  TracedRun run = trace({fixture("clone_untraced"), data() / "f"});
  EXPECT_TRUE(exited_with(run, 0));
}

// ---- 15: tracer death ----

TEST_F(TracerTest, TraceeDiesWithTheTracer) {
  const std::string ready = scratch() / "ready";
  ChildProcess tracer(tracer_command(trace_file(), {}, {fixture("sleeper"), ready}));
  ASSERT_TRUE(wait_for_file(ready, 30)) << "the tracee never started";
  pid_t tracee = std::stoi(read_pid_file(ready));
  tracer.send_signal(SIGKILL);
  ProcessResult result = tracer.wait(10);
  EXPECT_EQ(result.term_signal(), SIGKILL);
  bool died = wait_until_dead(tracee, 5);
  if (!died) kill(tracee, SIGKILL);
  EXPECT_TRUE(died) << "tracee " << tracee << " outlived its tracer";
}

// ---- 16: signals and job control ----

TEST_F(TracerTest, JobControlStopsReachTheParent) {
  TracedRun run = trace({fixture("job_control")}, {}, {}, 30);
  ASSERT_TRUE(exited_with(run, 0));
  EXPECT_EQ(run.trace->processes.size(), 2u);
}

TEST_F(TracerTest, SignalsReachTheTraceesHandlers) {
  TracedRun run = trace({fixture("signal_handler")}, {}, {}, 30);
  EXPECT_TRUE(exited_with(run, 3));
}

TEST_F(TracerTest, TracerDiesOfTheTraceesFatalSignal) {
  TracedRun run = trace({fixture("kill_self"), std::to_string(SIGUSR1)});
  ASSERT_TRUE(killed_by(run, SIGUSR1));
  ASSERT_TRUE(run.trace->end.has_value());
  EXPECT_EQ(run.trace->end->signal, SIGUSR1);
  const Process* root = root_process(*run.trace);
  ASSERT_NE(root, nullptr);
  EXPECT_EQ(root->signal, SIGUSR1);
}

// ---- 17: processes outliving the main one ----

TEST_F(TracerTest, WaitsForDaemonWithinGracePeriod) {
  write_file(data() / "late", "");
  TracedRun run = trace({fixture("daemonize"), data() / "late", "500", scratch() / "daemon.pid"}, {"--grace", "20"});
  ASSERT_TRUE(exited_with(run, 0));
  EXPECT_GE(run.process.seconds, 0.5);
  EXPECT_TRUE(same_lines(describe_under(*run.trace, data().path()), std::vector<std::string>{"openat read $D/late -> $D/late ok regular"}));
  EXPECT_FALSE(has_warning(*run.trace, "grace period")) << dump(*run.trace);
  EXPECT_EQ(run.trace->processes.size(), 3u);
}

TEST_F(TracerTest, KillsDaemonAfterGracePeriod) {
  const std::string pid_file = scratch() / "daemon.pid";
  TracedRun run = trace({fixture("daemonize"), data() / "late", "60000", pid_file}, {"--grace", "1"}, {}, 30);
  ASSERT_TRUE(exited_with(run, 0));
  EXPECT_LT(run.process.seconds, 15);
  EXPECT_TRUE(has_warning(*run.trace, "grace period")) << dump(*run.trace);
  EXPECT_TRUE(describe_under(*run.trace, data().path()).empty());
  ASSERT_TRUE(wait_for_file(pid_file, 1));
  pid_t daemon = std::stoi(read_pid_file(pid_file));
  EXPECT_TRUE(wait_until_dead(daemon, 5)) << "daemon " << daemon << " still runs";
  const Process* record = nullptr;
  for (const Process& p : run.trace->processes) {
    if (p.pid == daemon) record = &p;
  }
  ASSERT_NE(record, nullptr) << dump(*run.trace);
  EXPECT_TRUE(record->exited);
  EXPECT_EQ(record->signal, SIGKILL);
}

// ---- 18: reading tracee memory ----

TEST_F(TracerTest, ReadsPathsAcrossPageBoundariesAndMappingEnds) {
  write_file(data() / "straddle", "");
  write_file(data() / "edge", "");
  TracedRun run = trace({fixture("memory_edges"), data().path()});
  ASSERT_TRUE(exited_with(run, 0));
  EXPECT_TRUE(same_lines(describe_under(*run.trace, data().path()), {
                                                                        "openat read $D/straddle -> $D/straddle ok regular",
                                                                        "openat read $D/edge -> $D/edge ok regular",
                                                                    }));
}

TEST_F(TracerTest, ReadsExecArgumentsAtEntry) {
  const std::vector<PathBytes> argv = {fixture("exit_code"), "0", std::string(100000, 'a'), "", "two words", "tab\there"};
  TracedRun run = trace(argv);
  ASSERT_TRUE(exited_with(run, 0));
  const Process* root = root_process(*run.trace);
  ASSERT_NE(root, nullptr);
  ASSERT_EQ(root->execs.size(), 1u);
  EXPECT_TRUE(root->execs[0].argv == argv) << "argv differs (sizes " << root->execs[0].argv.size() << " vs " << argv.size() << ")";
  EXPECT_EQ(run.trace->run.argv, argv);
}

// ---- 19: outputs are not inputs ----

TEST_F(TracerTest, RecordsFilesWrittenThenRead) {
  TracedRun run = trace({fixture("write_then_read"), data().path()});
  ASSERT_TRUE(exited_with(run, 0));
  EXPECT_TRUE(same_lines(describe_under(*run.trace, data().path()), {
                                                                        "openat create $D/out -> $D/out ok",
                                                                        "openat read $D/out -> $D/out ok regular",
                                                                        "rename rename $D/out -> $D/out ok | $D/moved -> $D/moved",
                                                                        "openat read $D/moved -> $D/moved ok regular",
                                                                        "unlink remove $D/moved -> $D/moved ok",
                                                                    }));
  const FileAccess* created = find_access(*run.trace, {.kind = AccessKind::create, .resolved = data() / "out"});
  const FileAccess* read = find_access(*run.trace, {.kind = AccessKind::read, .resolved = data() / "out"});
  ASSERT_TRUE(created && read);
  EXPECT_LT(created->id, read->id) << "the create must come first";
}

// ---- 20: directory listings ----

TEST_F(TracerTest, RecordsDirectoryListings) {
  write_file(data() / "x", "");
  write_file(data() / "y", "");
  TracedRun run = trace({fixture("list_dir"), data().path()});
  ASSERT_TRUE(exited_with(run, 0));
  ASSERT_EQ(run.process.out, "2\n");  // getdents64 calls: the entries, then the end
  EXPECT_TRUE(same_lines(describe_under(*run.trace, data().path()), {
                                                                        "openat read $D -> $D ok directory",
                                                                        "getdents64 list  -> $D ok directory x2",
                                                                    }));
}

// ---- 21: failed lookups ----

TEST_F(TracerTest, RecordsFailedLookups) {
  write_file(data() / "file", "");
  TracedRun run = trace({fixture("failed_lookups"), data().path()});
  ASSERT_TRUE(exited_with(run, 0));
  EXPECT_TRUE(same_lines(describe_under(*run.trace, data().path()), {
                                                                        "openat read $D/missing -> $D/missing ENOENT none",
                                                                        "stat stat $D/nodir/x -> $D/nodir/x ENOENT none",
                                                                        "access stat $D/missing2 -> $D/missing2 ENOENT none",
                                                                        "openat read $D/file/sub -> $D/file/sub ENOTDIR none",
                                                                        "readlink readlink $D/file -> $D/file EINVAL regular",
                                                                        "execve exec $D/nobin -> $D/nobin ENOENT none",
                                                                    }));
}

// ---- 22: dlopen ----

TEST_F(TracerTest, RecordsDlopenedPlugins) {
  std::filesystem::copy_file(fixture("plugin.so"), data() / "plugin.so");
  TracedRun run = trace({fixture("dlopen_plugin"), data() / "plugin.so", data() / "missing.so"});
  ASSERT_TRUE(exited_with(run, 0));
  EXPECT_TRUE(same_lines(describe_under(*run.trace, data().path()), {
                                                                        "openat read $D/plugin.so -> $D/plugin.so ok regular",
                                                                        "openat read $D/missing.so -> $D/missing.so ENOENT none",
                                                                    }));
  const FileAccess* plugin = find_access(*run.trace, {.resolved = data() / "plugin.so"});
  ASSERT_NE(plugin, nullptr);
  EXPECT_EQ(plugin->flags, static_cast<std::uint64_t>(O_RDONLY | O_CLOEXEC));
}

// ---- 23: special paths ----

TEST_F(TracerTest, ReexecThroughProcSelfExe) {
  const std::string program = fixture("reexec_self");
  TracedRun run = trace({program});
  ASSERT_TRUE(exited_with(run, 0));
  const FileAccess* reexec = find_access(*run.trace, {.kind = AccessKind::exec, .path = "/proc/self/exe"});
  ASSERT_NE(reexec, nullptr) << dump(*run.trace);
  const Process* root = root_process(*run.trace);
  ASSERT_NE(root, nullptr);
  EXPECT_EQ(describe(*reexec), "execve exec /proc/self/exe -> " + program + " ok regular");
  const std::string pid = std::to_string(root->pid);
  EXPECT_EQ(describe_links(reexec->links), (std::vector<std::string>{"/proc/self => " + pid, "/proc/" + pid + "/exe => " + program}));
  ASSERT_EQ(root->execs.size(), 2u);
  EXPECT_EQ(root->execs[1].exe, program);
  EXPECT_EQ(root->execs[1].argv, (std::vector<PathBytes>{"reexec_self", "again"}));
}

class SpecialFilesTest : public TracerTest {
 protected:
  void SetUp() override {
    write_file(data() / "reg", "reg");
    ASSERT_EQ(mkfifo((data() / "fifo").c_str(), 0644), 0);
    socket_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::string path = data() / "sock";
    ASSERT_LT(path.size(), sizeof address.sun_path);
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    ASSERT_EQ(bind(socket_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0) << std::strerror(errno);
    run_ = trace({fixture("special_files"), data().path()});
    ASSERT_TRUE(exited_with(run_, 0));
  }
  void TearDown() override { close(socket_); }

  int printed_fd(const std::string& what) const {
    std::istringstream in(run_.process.out);
    std::string word;
    int fd = -1;
    while (in >> word >> fd) {
      if (word == what) return fd;
    }
    return -1;
  }

  int socket_ = -1;
  TracedRun run_;
};

// /dev/fd/N of a regular file resolves to the file; FIFOs and sockets keep their type.
TEST_F(SpecialFilesTest, TypesFifosSocketsAndFdLinksAsWhatTheyAre) {
  const std::string reg_fd = "/dev/fd/" + std::to_string(printed_fd("reg"));
  EXPECT_TRUE(same_lines(describe_under(*run_.trace, data().path()), {
                                                                         "openat read $D/reg -> $D/reg ok regular",
                                                                         "openat read " + reg_fd + " -> $D/reg ok regular",
                                                                         "openat write $D/fifo -> $D/fifo ok fifo",
                                                                         "stat stat $D/sock -> $D/sock ok socket",
                                                                     }));
}

TEST_F(SpecialFilesTest, PipeThroughDevFdIsAFifo) {
  const std::string pipe_fd = "/dev/fd/" + std::to_string(printed_fd("pipe"));
  const FileAccess* pipe = access_by_path(*run_.trace, "openat", pipe_fd);
  ASSERT_NE(pipe, nullptr) << dump(*run_.trace);
  EXPECT_EQ(pipe->error, 0);
  EXPECT_EQ(pipe->type, FileType::fifo);
}

TEST_F(SpecialFilesTest, DevNullIsACharacterDevice) {
  const FileAccess* null = access_by_path(*run_.trace, "openat", "/dev/null");
  ASSERT_NE(null, nullptr) << dump(*run_.trace);
  EXPECT_EQ(describe(*null), "openat write /dev/null -> /dev/null ok char_device");
}

// A program run from a memfd: recorded, but not typed as a regular file on disk.
TEST_F(TracerTest, RecordsMemfdExecWithoutCallingItARegularFile) {
  TracedRun run = trace({fixture("memfd_exec"), fixture("exit_code"), "exit_code", "9"});
  ASSERT_TRUE(exited_with(run, 9));
  const FileAccess* exec = find_access(*run.trace, {.kind = AccessKind::exec, .syscall = "execveat", .origin = AccessOrigin::syscall});
  ASSERT_NE(exec, nullptr) << dump(*run.trace);
  EXPECT_EQ(exec->path, "");
  EXPECT_EQ(exec->error, 0);
  EXPECT_TRUE(exec->resolved.starts_with("/memfd:tp-memfd")) << exec->resolved;
  EXPECT_NE(exec->type, FileType::regular) << to_string(exec->type);
  const Process* root = root_process(*run.trace);
  ASSERT_TRUE(root && root->execs.size() == 2u) << dump(*run.trace);
  EXPECT_TRUE(root->execs[1].exe.starts_with("/memfd:tp-memfd")) << root->execs[1].exe;
}

// Names are bytes: a newline, invalid UTF-8 and a 4000-byte path come back exactly.
TEST_F(TracerTest, PathsRoundTripAsExactBytes) {
  std::string deep = data().path();
  while (deep.size() < 3700) deep += "/" + std::string(200, 'd');
  make_dirs(deep);
  const std::vector<PathBytes> names = {data() / "new\nline", data() / "bad\xff\xfe", data() / "pct%41",
                                        deep + "/" + std::string(4000 - deep.size() - 1, 'f')};
  ASSERT_EQ(names.back().size(), 4000u);
  for (const PathBytes& name : names) write_file(name, "x");
  std::vector<std::string> command = {fixture("open_paths")};
  command.insert(command.end(), names.begin(), names.end());
  TracedRun run = trace(command);
  ASSERT_TRUE(exited_with(run, 0));
  ASSERT_EQ(run.process.out, "0\n0\n0\n0\n");
  for (const PathBytes& name : names) {
    const FileAccess* a = access_by_path(*run.trace, "openat", name);
    ASSERT_NE(a, nullptr) << encode_path(name) << "\n" << dump(*run.trace);
    EXPECT_EQ(a->resolved, name);
    EXPECT_EQ(a->type, FileType::regular);
  }
  EXPECT_EQ(run.trace->run.argv, command);
}

// ---- 24: tracees that trace or filter ----

TEST_F(TracerTest, WarnsWhenTraceeUsesPtrace) {
  TracedRun run = trace({fixture("use_ptrace")});
  ASSERT_TRUE(exited_with(run, 0));
  EXPECT_TRUE(has_warning(*run.trace, "ptrace")) << dump(*run.trace);
}

TEST_F(TracerTest, WarnsWhenTraceeInstallsSeccompFilter) {
  write_file(data() / "f", "f");
  TracedRun run = trace({fixture("use_seccomp"), data() / "f"});
  ASSERT_TRUE(exited_with(run, 0));
  EXPECT_TRUE(has_warning(*run.trace, "seccomp")) << dump(*run.trace);
  EXPECT_TRUE(same_lines(describe_under(*run.trace, data().path()), std::vector<std::string>{"openat read $D/f -> $D/f ok regular"}));
}

// ---- 25: setuid ----

// Run unprivileged: a tracer with CAP_SYS_PTRACE (root) does not take the
// privileges away, so only then is there something to warn about.
// The first directory on the way to `path` that a user outside its owner and
// group cannot search, or "" when every one can be.
std::string first_unsearchable_dir(const std::filesystem::path& path) {
  std::filesystem::path dir = std::filesystem::absolute(path).parent_path();
  for (;; dir = dir.parent_path()) {
    struct stat st;
    if (stat(dir.c_str(), &st) != 0 || !(st.st_mode & S_IXOTH)) return dir.string();
    if (dir == dir.root_path()) return "";
  }
}

TEST_F(TracerTest, WarnsAboutSetuidPrograms) {
  std::filesystem::copy_file(fixture("exit_code"), data() / "suid");
  ASSERT_EQ(chmod((data() / "suid").c_str(), 04755), 0);
  SpawnOptions spawn;
  if (geteuid() == 0) {
    // Under a root tracer the kernel keeps setuid privileges: test as nobody.
    spawn.run_as = 65534;
    ASSERT_EQ(chmod(data().path().c_str(), 0755), 0);
    ASSERT_EQ(chmod(scratch().path().c_str(), 0777), 0);
    for (const std::string& needed : {std::string(TRACEPACK_BIN), std::string(data() / "suid")}) {
      std::string blocked = first_unsearchable_dir(needed);
      if (!blocked.empty()) GTEST_SKIP() << "uid 65534 cannot reach " << needed << ": " << blocked << " is not searchable by others";
    }
  }
  TracedRun run = trace({data() / "suid", "0"}, {}, spawn);
  ASSERT_TRUE(exited_with(run, 0));
  EXPECT_TRUE(has_warning(*run.trace, "setuid")) << dump(*run.trace);
}

// ---- 26: ptrace refused ----

::testing::AssertionResult refused_clearly(const ProcessResult& result) {
  if (!result.finished) return ::testing::AssertionFailure() << "tracepack hung";
  if (result.exited() && result.exit_code() == 0) return ::testing::AssertionFailure() << "tracepack exited 0";
  if (!result.err.starts_with("tracepack: error: ") || result.err.find("ptrace") == std::string::npos) {
    return ::testing::AssertionFailure() << "stderr is not a clear ptrace error: " << result.err;
  }
  return ::testing::AssertionSuccess();
}

TEST_F(TracerTest, ReportsPtraceDeniedBySeccomp) {
  std::vector<std::string> command = {fixture("deny_syscalls"), "ptrace"};
  for (const std::string& arg : tracer_command(trace_file(), {}, {fixture("exit_code"), "0"})) command.push_back(arg);
  ProcessResult result = run_process(command, {}, 30);
  EXPECT_TRUE(refused_clearly(result)) << result.summary();
}

TEST_F(TracerTest, ReportsPtraceRefusedUnderAnotherTracer) {
  if (access("/usr/bin/strace", X_OK) != 0) GTEST_SKIP() << "strace is not installed";
  std::vector<std::string> command = {"/usr/bin/strace", "-f", "-qq", "-o", "/dev/null"};
  for (const std::string& arg : tracer_command(trace_file(), {}, {fixture("exit_code"), "0"})) command.push_back(arg);
  ProcessResult result = run_process(command, {}, 30);
  EXPECT_TRUE(refused_clearly(result)) << result.summary();
}

// ---- 27: io_uring ----

TEST_F(TracerTest, WarnsAboutIoUring) {
  std::string reason = unsupported_reason({fixture("io_uring_setup")}, "io_uring is unavailable or disabled");
  if (!reason.empty()) GTEST_SKIP() << reason;
  TracedRun run = trace({fixture("io_uring_setup")});
  ASSERT_TRUE(exited_with(run, 0));
  EXPECT_TRUE(has_warning(*run.trace, "io_uring")) << dump(*run.trace);
}

}  // namespace
}  // namespace tracepack::test

// The syscall table, its generated per-arch index, and the generated seccomp
// filter's behaviour in a real process.
#include "syscall_table.h"

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/sched.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <string>

#include "seccomp_filter.h"

namespace tracepack::tracer {
namespace {

TEST(SyscallTable, EveryRowNamesACallLibseccompKnows) {
  for (const SyscallSpec& spec : syscall_specs()) {
    bool known = false;
    for (const ArchInfo& arch : supported_arches())
      known = known || seccomp_syscall_resolve_name_arch(arch.seccomp_arch, std::string(spec.name).c_str()) >= 0;
    EXPECT_TRUE(known) << spec.name;
  }
}

TEST(SyscallTable, RowsAreUniqueAndArgumentsInRange) {
  std::set<std::string_view> names;
  for (const SyscallSpec& spec : syscall_specs()) {
    EXPECT_TRUE(names.insert(spec.name).second) << "duplicate row " << spec.name;
    for (std::int8_t arg : {spec.dirfd, spec.path, spec.flags, spec.dirfd2, spec.path2})
      EXPECT_TRUE(arg == kNoArg || (arg >= 0 && arg < 6)) << spec.name;
  }
}

TEST(SyscallIndex, FindsNativeCallsByNumber) {
  SyscallIndex index;
  const SyscallSpec* openat = index.find(AUDIT_ARCH_X86_64, SYS_openat);
  ASSERT_NE(openat, nullptr);
  EXPECT_EQ(openat->name, "openat");
  EXPECT_EQ(index.name(AUDIT_ARCH_X86_64, SYS_newfstatat), "newfstatat");
  EXPECT_EQ(index.find(AUDIT_ARCH_X86_64, SYS_read), nullptr);
  EXPECT_TRUE(index.known(AUDIT_ARCH_X86_64, SYS_read));
}

TEST(SyscallIndex, UsesEachArchitecturesOwnNumbering) {
  SyscallIndex index;
  // i386: 5 is open, 195 is stat64; on x86_64 5 is fstat.
  EXPECT_EQ(index.name(AUDIT_ARCH_I386, 5), "open");
  EXPECT_EQ(index.name(AUDIT_ARCH_I386, 195), "stat64");
  EXPECT_EQ(index.name(AUDIT_ARCH_X86_64, 5), "fstat");
  ASSERT_NE(index.find(AUDIT_ARCH_I386, 195), nullptr);
  EXPECT_EQ(index.arch(AUDIT_ARCH_I386, 5)->pointer_size, 4u);
  // x32: x86_64's audit arch with bit 30; 520 is its execve.
  EXPECT_EQ(index.arch(AUDIT_ARCH_X86_64, 0x40000000 | 520)->name, "x32");
  EXPECT_EQ(index.name(AUDIT_ARCH_X86_64, 0x40000000 | 520), "execve");
}

TEST(SyscallIndex, UnknownNumbersAndArchesAreNamedNotFound) {
  SyscallIndex index;
  EXPECT_EQ(index.find(AUDIT_ARCH_X86_64, 1000), nullptr);
  EXPECT_FALSE(index.known(AUDIT_ARCH_X86_64, 1000));
  EXPECT_EQ(index.name(AUDIT_ARCH_X86_64, 1000), "syscall_1000");
  EXPECT_EQ(index.arch(0x12345678, 1), nullptr);
}

// Runs `probe` in a child that installed the filter with no tracer attached:
// calls the filter lets through behave normally, traced ones fail with ENOSYS.
int errno_under_filter(long (*probe)()) {
  pid_t pid = fork();
  if (pid == 0) {
    if (install_seccomp_filter(seccomp_program()) != 0) _exit(200);
    long rc = probe();
    _exit(rc >= 0 ? 0 : (errno > 199 ? 199 : errno));
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(SeccompFilter, NonFileCallsRunFileCallsStop) {
  EXPECT_EQ(errno_under_filter([] { return static_cast<long>(getppid()); }), 0);
  EXPECT_EQ(errno_under_filter([] { return syscall(SYS_openat, AT_FDCWD, "/", O_RDONLY); }), ENOSYS);
  EXPECT_EQ(errno_under_filter([] { return syscall(SYS_execve, "/bin/true", nullptr, nullptr); }), ENOSYS);
  EXPECT_EQ(errno_under_filter([] { return syscall(SYS_getdents64, 0, nullptr, 0); }), ENOSYS);
}

TEST(SeccompFilter, FstatOnAnFdDoesNotStop) {
  EXPECT_EQ(errno_under_filter([] {
              struct stat st;
              return syscall(SYS_newfstatat, 0, "", &st, AT_EMPTY_PATH);
            }),
            0);
  EXPECT_EQ(errno_under_filter([] {
              struct stat st;
              return syscall(SYS_newfstatat, AT_FDCWD, "/", &st, 0);
            }),
            ENOSYS);
}

TEST(SeccompFilter, OnlyUntracedCloneAndSeccompPrctlStop) {
  EXPECT_EQ(errno_under_filter([] { return static_cast<long>(prctl(PR_SET_NAME, "probe", 0, 0, 0)); }), 0);
  EXPECT_EQ(errno_under_filter([] { return static_cast<long>(prctl(PR_SET_SECCOMP, 99, 0, 0, 0)); }), ENOSYS);
  EXPECT_EQ(errno_under_filter([] { return syscall(SYS_clone, CLONE_UNTRACED | SIGCHLD, 0, 0, 0, 0); }), ENOSYS);
}

}  // namespace
}  // namespace tracepack::tracer

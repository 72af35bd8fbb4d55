// The file-related system calls, as one flat table.
//
// Each row names a call and says how to decode it; syscall numbers are not
// written here: at build time, gen/gen_syscall_tables asks libseccomp for the
// number of each name on every supported architecture (x86_64, i386, x32 on an
// x86_64 machine) and compiles the seccomp filter, so a 32-bit tracee's
// "stat64" or "open" is found by the same row logic as a 64-bit "newfstatat",
// and the tracer starts without building anything. Calls that only name an open fd (fstat, read) are not here;
// getdents is, because listing a directory is an access the packer needs.
#include "syscall_table.h"

#include <algorithm>

namespace tracepack::tracer {
namespace {

using enum Decode;
using K = AccessKind;
constexpr std::int8_t N = kNoArg;

// name, decode, kind, dirfd, path, flags, dirfd2, path2, follow, exit
constexpr SyscallSpec kSpecs[] = {
    {"open", open, K::read, N, 0, 1, N, N, Follow::open_flags, ExitStop::if_writing},
    {"openat", open, K::read, 0, 1, 2, N, N, Follow::open_flags, ExitStop::if_writing},
    {"openat2", open2, K::read, 0, 1, 2, N, N, Follow::open_flags, ExitStop::if_writing},
    {"creat", path, K::create, N, 0, N, N, N, Follow::yes, ExitStop::always},
    {"stat", path, K::stat, N, 0, N, N, N, Follow::yes, ExitStop::never},
    {"lstat", path, K::stat, N, 0, N, N, N, Follow::no, ExitStop::never},
    {"oldstat", path, K::stat, N, 0, N, N, N, Follow::yes, ExitStop::never},
    {"oldlstat", path, K::stat, N, 0, N, N, N, Follow::no, ExitStop::never},
    {"stat64", path, K::stat, N, 0, N, N, N, Follow::yes, ExitStop::never},
    {"lstat64", path, K::stat, N, 0, N, N, N, Follow::no, ExitStop::never},
    {"newfstatat", path, K::stat, 0, 1, 3, N, N, Follow::unless_nofollow_flag, ExitStop::never},
    {"fstatat64", path, K::stat, 0, 1, 3, N, N, Follow::unless_nofollow_flag, ExitStop::never},
    {"statx", path, K::stat, 0, 1, 2, N, N, Follow::unless_nofollow_flag, ExitStop::never},
    {"statfs", path, K::stat, N, 0, N, N, N, Follow::yes, ExitStop::never},
    {"statfs64", path, K::stat, N, 0, N, N, N, Follow::yes, ExitStop::never},
    {"access", path, K::stat, N, 0, N, N, N, Follow::yes, ExitStop::never},
    {"faccessat", path, K::stat, 0, 1, N, N, N, Follow::yes, ExitStop::never},
    {"faccessat2", path, K::stat, 0, 1, 3, N, N, Follow::unless_nofollow_flag, ExitStop::never},
    {"getxattr", path, K::stat, N, 0, N, N, N, Follow::yes, ExitStop::always},
    {"lgetxattr", path, K::stat, N, 0, N, N, N, Follow::no, ExitStop::always},
    {"listxattr", path, K::stat, N, 0, N, N, N, Follow::yes, ExitStop::always},
    {"llistxattr", path, K::stat, N, 0, N, N, N, Follow::no, ExitStop::always},
    {"name_to_handle_at", path, K::stat, 0, 1, 4, N, N, Follow::if_follow_flag, ExitStop::never},
    {"readlink", path, K::readlink, N, 0, N, N, N, Follow::no, ExitStop::never},
    {"readlinkat", path, K::readlink, 0, 1, N, N, N, Follow::no, ExitStop::never},
    {"inotify_add_watch", path, K::watch, N, 1, N, N, N, Follow::yes, ExitStop::never},
    {"getdents", fd, K::list, N, 0, N, N, N, Follow::yes, ExitStop::never},
    {"getdents64", fd, K::list, N, 0, N, N, N, Follow::yes, ExitStop::never},
    {"uselib", path, K::read, N, 0, N, N, N, Follow::yes, ExitStop::never},
    {"execve", exec, K::exec, N, 0, N, N, N, Follow::yes, ExitStop::always},
    {"execveat", exec, K::exec, 0, 1, 4, N, N, Follow::unless_nofollow_flag, ExitStop::always},
    {"chdir", path, K::chdir, N, 0, N, N, N, Follow::yes, ExitStop::always},
    {"fchdir", fd, K::chdir, N, 0, N, N, N, Follow::yes, ExitStop::always},
    {"chroot", path, K::chdir, N, 0, N, N, N, Follow::yes, ExitStop::always},
    {"mkdir", path, K::mkdir, N, 0, N, N, N, Follow::no, ExitStop::always},
    {"mkdirat", path, K::mkdir, 0, 1, N, N, N, Follow::no, ExitStop::always},
    {"mknod", path, K::create, N, 0, N, N, N, Follow::no, ExitStop::always},
    {"mknodat", path, K::create, 0, 1, N, N, N, Follow::no, ExitStop::always},
    {"rmdir", path, K::remove, N, 0, N, N, N, Follow::no, ExitStop::always},
    {"unlink", path, K::remove, N, 0, N, N, N, Follow::no, ExitStop::always},
    {"unlinkat", path, K::remove, 0, 1, 2, N, N, Follow::no, ExitStop::always},
    {"rename", path_pair, K::rename, N, 0, N, N, 1, Follow::no, ExitStop::always},
    {"renameat", path_pair, K::rename, 0, 1, N, 2, 3, Follow::no, ExitStop::always},
    {"renameat2", path_pair, K::rename, 0, 1, 4, 2, 3, Follow::no, ExitStop::always},
    {"link", path_pair, K::link, N, 0, N, N, 1, Follow::no, ExitStop::always},
    {"linkat", path_pair, K::link, 0, 1, 4, 2, 3, Follow::if_follow_flag, ExitStop::always},
    {"symlink", symlink, K::symlink, N, 0, N, N, 1, Follow::no, ExitStop::always},
    {"symlinkat", symlink, K::symlink, N, 0, N, 1, 2, Follow::no, ExitStop::always},
    {"truncate", path, K::write, N, 0, N, N, N, Follow::yes, ExitStop::always},
    {"truncate64", path, K::write, N, 0, N, N, N, Follow::yes, ExitStop::always},
    {"utime", path, K::attr, N, 0, N, N, N, Follow::yes, ExitStop::always},
    {"utimes", path, K::attr, N, 0, N, N, N, Follow::yes, ExitStop::always},
    {"futimesat", path, K::attr, 0, 1, N, N, N, Follow::yes, ExitStop::always},
    {"utimensat", path, K::attr, 0, 1, 3, N, N, Follow::unless_nofollow_flag, ExitStop::always},
    {"chmod", path, K::attr, N, 0, N, N, N, Follow::yes, ExitStop::always},
    {"fchmodat", path, K::attr, 0, 1, N, N, N, Follow::yes, ExitStop::always},
    {"fchmodat2", path, K::attr, 0, 1, 3, N, N, Follow::unless_nofollow_flag, ExitStop::always},
    {"chown", path, K::attr, N, 0, N, N, N, Follow::yes, ExitStop::always},
    {"chown32", path, K::attr, N, 0, N, N, N, Follow::yes, ExitStop::always},
    {"lchown", path, K::attr, N, 0, N, N, N, Follow::no, ExitStop::always},
    {"lchown32", path, K::attr, N, 0, N, N, N, Follow::no, ExitStop::always},
    {"fchownat", path, K::attr, 0, 1, 4, N, N, Follow::unless_nofollow_flag, ExitStop::always},
    {"setxattr", path, K::attr, N, 0, N, N, N, Follow::yes, ExitStop::always},
    {"lsetxattr", path, K::attr, N, 0, N, N, N, Follow::no, ExitStop::always},
    {"removexattr", path, K::attr, N, 0, N, N, N, Follow::yes, ExitStop::always},
    {"lremovexattr", path, K::attr, N, 0, N, N, N, Follow::no, ExitStop::always},
    // Mount family and system administration: the paths name mount points,
    // devices, swap and accounting files, never files a bundle needs, so
    // their kind is `other` (recorded, never packed). The exit is always
    // taken: these calls fail for many reasons the tracer cannot predict
    // (EPERM, EINVAL, EBUSY). mount's path is the target and path2 the
    // source; own_flags calls read follow/empty-path bits of their own.
    {"mount", own_flags, K::other, N, 1, 3, N, 0, Follow::yes, ExitStop::always},
    {"umount", path, K::other, N, 0, N, N, N, Follow::yes, ExitStop::always},
    {"umount2", own_flags, K::other, N, 0, 1, N, N, Follow::yes, ExitStop::always},
    {"pivot_root", own_flags, K::other, N, 0, N, N, 1, Follow::yes, ExitStop::always},
    {"open_tree", path, K::other, 0, 1, 2, N, N, Follow::unless_nofollow_flag, ExitStop::always},
    {"move_mount", own_flags, K::other, 0, 1, 4, 2, 3, Follow::no, ExitStop::always},
    {"fspick", own_flags, K::other, 0, 1, 2, N, N, Follow::yes, ExitStop::always},
    {"mount_setattr", path, K::other, 0, 1, 2, N, N, Follow::unless_nofollow_flag, ExitStop::always},
    {"acct", path, K::other, N, 0, N, N, N, Follow::yes, ExitStop::always},
    {"swapon", path, K::other, N, 0, 1, N, N, Follow::yes, ExitStop::always},
    {"swapoff", path, K::other, N, 0, N, N, N, Follow::yes, ExitStop::always},
    {"quotactl", path, K::other, N, 1, 0, N, N, Follow::yes, ExitStop::always},
    {"quotactl_fd", fd, K::other, N, 0, 1, N, N, Follow::yes, ExitStop::always},
    // A watch like inotify's; on i386 the 64-bit mask takes two arguments,
    // which moves dirfd and path one place on (tracer.cc).
    {"fanotify_mark", own_flags, K::watch, 3, 4, 1, N, N, Follow::yes, ExitStop::always},
    {"clone", clone, K::other, N, N, 0, N, N, Follow::no, ExitStop::never},
    {"clone3", clone3, K::other, N, 0, N, N, N, Follow::no, ExitStop::never},
    {"io_uring_setup", warn, K::other, N, N, N, N, N, Follow::no, ExitStop::never},
    {"seccomp", warn, K::other, N, N, N, N, N, Follow::no, ExitStop::never},
    {"prctl", warn, K::other, N, N, 0, N, N, Follow::no, ExitStop::never},
    {"ptrace", warn, K::other, N, N, N, N, N, Follow::no, ExitStop::never},
    {"open_by_handle_at", warn, K::other, N, N, N, N, N, Follow::no, ExitStop::never},
};

}  // namespace

std::span<const SyscallSpec> syscall_specs() { return kSpecs; }

const SyscallSpec* find_syscall_spec(std::string_view name) {
  auto it = std::find_if(std::begin(kSpecs), std::end(kSpecs), [&](const SyscallSpec& s) { return s.name == name; });
  return it == std::end(kSpecs) ? nullptr : &*it;
}

}  // namespace tracepack::tracer

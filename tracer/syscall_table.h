// The one table of file-related system calls: what each one means to the
// tracer, where its arguments are, and whether its result is needed.
// The seccomp filter (seccomp_filter.cc) and the stop handler (tracer.cc) are
// both generated from it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tracepack/trace.h"

namespace tracepack::tracer {

/// How a syscall's arguments are decoded.
enum class Decode : std::uint8_t {
  path,       ///< [dirfd,] path [, flags]
  open,       ///< open/openat: flags decide kind and whether the exit matters
  open2,      ///< openat2: flags inside struct open_how
  path_pair,  ///< rename/link: two (dirfd, path) pairs
  symlink,    ///< target text, then (dirfd, linkpath)
  exec,       ///< execve/execveat: also reads argv
  fd,         ///< names an open fd only (getdents, fchdir)
  clone,      ///< clone with CLONE_UNTRACED (others are not stopped)
  clone3,     ///< clone3: flags inside struct clone_args
  warn,       ///< a call the tracer only warns about (io_uring_setup, seccomp, ptrace...)
  own_flags,  ///< (dirfd,) path [, (dirfd2,) path2] under the call's own flag bits: mount family, fanotify_mark
};

/// When the tracee is stopped again at syscall exit.
enum class ExitStop : std::uint8_t {
  never,       ///< the tracer's own lookup gives the result
  always,      ///< the call changes the file system or the process
  if_writing,  ///< open family: only with O_CREAT, O_TRUNC, O_WRONLY or O_RDWR
};

/// How the final path component treats a symlink.
enum class Follow : std::uint8_t {
  yes,                   ///< always followed (stat, access, chdir, execve)
  no,                    ///< never followed (lstat, readlink, unlink, rename)
  unless_nofollow_flag,  ///< followed unless AT_SYMLINK_NOFOLLOW is in the flags
  if_follow_flag,        ///< followed only with AT_SYMLINK_FOLLOW (linkat, name_to_handle_at)
  open_flags,            ///< open family: not with O_NOFOLLOW, or O_CREAT|O_EXCL
};

inline constexpr std::int8_t kNoArg = -1;

/// One row of the table. Argument positions are indices into the six syscall
/// arguments, or kNoArg.
struct SyscallSpec {
  std::string_view name;
  Decode decode;
  AccessKind kind;
  std::int8_t dirfd;   ///< dirfd argument of the (first) path
  std::int8_t path;    ///< the (first) path, or the fd for Decode::fd
  std::int8_t flags;   ///< flags argument (open flags, AT_* flags, clone flags, prctl option)
  std::int8_t dirfd2;  ///< second dirfd (rename/link/symlink)
  std::int8_t path2;   ///< second path
  Follow follow;
  ExitStop exit;
};

/// Every row, in no particular order.
std::span<const SyscallSpec> syscall_specs();

/// The row named `name`, or nullptr.
const SyscallSpec* find_syscall_spec(std::string_view name);

/// An architecture a tracee may run in, as seccomp and PTRACE_GET_SYSCALL_INFO name it.
struct ArchInfo {
  std::uint32_t audit_arch;       ///< AUDIT_ARCH_* value reported by seccomp and ptrace
  std::uint32_t seccomp_arch;     ///< libseccomp's token (differs for x32)
  std::string_view name;          ///< "x86_64", "i386", "x32"
  unsigned pointer_size;          ///< bytes in a tracee pointer (argv entries)
  std::uint64_t abi_bit;          ///< syscall-number bit that selects this ABI (x32), else 0
  bool splits_wide_args = false;  ///< a 64-bit argument takes two argument registers (i386's fanotify_mark mask)
};

/// The architectures of this build's machine (defined in arch/<machine>.cc).
std::span<const ArchInfo> supported_arches();

/// Rewrites argument `index` of the system call `tid` is stopped at (the
/// register the ABI of `audit_arch` uses). False when the registers cannot be
/// written. Defined in arch/<machine>.cc.
bool set_syscall_argument(int tid, std::uint32_t audit_arch, int index, std::uint64_t value);

/// Highest syscall number (without ABI bits) the generated tables cover.
inline constexpr int kMaxSyscallNr = 1024;

/// Lookup from (arch, number) to table row. The per-arch numbering comes from
/// libseccomp at build time (gen/gen_syscall_tables.cc), so a lookup is two
/// array reads and the tracer starts without building anything.
class SyscallIndex {
 public:
  /// The row for this call, or nullptr when the call is not file-related.
  const SyscallSpec* find(std::uint32_t audit_arch, std::uint64_t nr) const;

  /// The kernel's name for the call ("openat"), or "syscall_<nr>" when unknown.
  std::string name(std::uint32_t audit_arch, std::uint64_t nr) const;

  /// True when libseccomp knew the number on this arch at build time.
  bool known(std::uint32_t audit_arch, std::uint64_t nr) const;

  /// The ABI of a call: the arch row for an audit arch value and syscall
  /// number (x32 shares x86_64's audit arch), or nullptr for an unknown arch.
  const ArchInfo* arch(std::uint32_t audit_arch, std::uint64_t nr) const;

 private:
  /// Index into supported_arches() and the number without ABI bits; -1 when unknown.
  std::pair<int, std::uint64_t> locate(std::uint32_t audit_arch, std::uint64_t nr) const;
};

}  // namespace tracepack::tracer

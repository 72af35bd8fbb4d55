// Kernel ptrace ABI pieces that glibc 2.36's <sys/ptrace.h> does not declare.
// <linux/ptrace.h> cannot be included beside <sys/ptrace.h> (their request
// names collide), so the few definitions needed are restated from the kernel's
// stable user ABI.
#pragma once

#include <cstdint>

namespace tracepack::tracer {

inline constexpr int kPtraceGetSyscallInfo = 0x420e;

inline constexpr std::uint8_t kSyscallInfoNone = 0;
inline constexpr std::uint8_t kSyscallInfoEntry = 1;
inline constexpr std::uint8_t kSyscallInfoExit = 2;
inline constexpr std::uint8_t kSyscallInfoSeccomp = 3;

/// struct ptrace_syscall_info (Linux 5.3+).
struct SyscallInfo {
  std::uint8_t op;
  std::uint8_t pad[3];
  std::uint32_t arch;
  std::uint64_t instruction_pointer;
  std::uint64_t stack_pointer;
  union {
    struct {
      std::uint64_t nr;
      std::uint64_t args[6];
    } entry;
    struct {
      std::int64_t rval;
      std::uint8_t is_error;
    } exit;
    struct {
      std::uint64_t nr;
      std::uint64_t args[6];
      std::uint32_t ret_data;
    } seccomp;
  };
};

}  // namespace tracepack::tracer

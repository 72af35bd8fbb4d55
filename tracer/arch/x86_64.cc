// x86_64 machines run three syscall ABIs: native 64-bit, i386 (a -m32 program
// or `int 0x80` from 64-bit code; seccomp reports AUDIT_ARCH_I386 for both) and
// x32 (reported as AUDIT_ARCH_X86_64 with bit 30 set in the syscall number).
#include <linux/audit.h>
#include <seccomp.h>
#include <sys/ptrace.h>
#include <sys/user.h>

#include "syscall_table.h"

namespace tracepack::tracer {
namespace {

constexpr std::uint64_t kX32SyscallBit = 0x40000000;

constexpr ArchInfo kArches[] = {
    {AUDIT_ARCH_X86_64, SCMP_ARCH_X86_64, "x86_64", 8, 0},
    {AUDIT_ARCH_I386, SCMP_ARCH_X86, "i386", 4, 0, true},
    {AUDIT_ARCH_X86_64, SCMP_ARCH_X32, "x32", 4, kX32SyscallBit},
};

}  // namespace

std::span<const ArchInfo> supported_arches() { return kArches; }

bool set_syscall_argument(int tid, std::uint32_t audit_arch, int index, std::uint64_t value) {
  user_regs_struct regs;
  if (ptrace(PTRACE_GETREGS, tid, nullptr, &regs) != 0) return false;
  // The 64-bit register file holds an i386 tracee's registers in their low halves.
  unsigned long long* x86_64_args[] = {&regs.rdi, &regs.rsi, &regs.rdx, &regs.r10, &regs.r8, &regs.r9};
  unsigned long long* i386_args[] = {&regs.rbx, &regs.rcx, &regs.rdx, &regs.rsi, &regs.rdi, &regs.rbp};
  if (index < 0 || index > 5) return false;
  *(audit_arch == AUDIT_ARCH_I386 ? i386_args : x86_64_args)[index] = value;
  return ptrace(PTRACE_SETREGS, tid, nullptr, &regs) == 0;
}

}  // namespace tracepack::tracer

// x86_64 machines run three syscall ABIs: native 64-bit, i386 (a -m32 program
// or `int 0x80` from 64-bit code; seccomp reports AUDIT_ARCH_I386 for both) and
// x32 (reported as AUDIT_ARCH_X86_64 with bit 30 set in the syscall number).
#include <linux/audit.h>
#include <seccomp.h>

#include "syscall_table.h"

namespace tracepack::tracer {
namespace {

constexpr std::uint64_t kX32SyscallBit = 0x40000000;

constexpr ArchInfo kArches[] = {
    {AUDIT_ARCH_X86_64, SCMP_ARCH_X86_64, "x86_64", 8, 0},
    {AUDIT_ARCH_I386, SCMP_ARCH_X86, "i386", 4, 0},
    {AUDIT_ARCH_X86_64, SCMP_ARCH_X32, "x32", 4, kX32SyscallBit},
};

}  // namespace

std::span<const ArchInfo> supported_arches() { return kArches; }

}  // namespace tracepack::tracer

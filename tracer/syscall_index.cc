// Run-time lookups into the tables generated at build time from the syscall
// table and libseccomp's per-architecture numbering (see gen/).
#include <linux/filter.h>

#include "syscall_table.h"
#include "syscall_tables.inc"

namespace tracepack::tracer {

// x32 shares x86_64's audit arch: the ABI bit in the number tells them apart.
std::pair<int, std::uint64_t> SyscallIndex::locate(std::uint32_t audit_arch, std::uint64_t nr) const {
  std::span<const ArchInfo> arches = supported_arches();
  int plain = -1;
  for (std::size_t i = 0; i < arches.size(); ++i) {
    if (arches[i].audit_arch != audit_arch) continue;
    if (arches[i].abi_bit == 0)
      plain = static_cast<int>(i);
    else if ((nr & arches[i].abi_bit) != 0)
      return {static_cast<int>(i), nr & ~arches[i].abi_bit};
  }
  return {plain, nr};
}

const ArchInfo* SyscallIndex::arch(std::uint32_t audit_arch, std::uint64_t nr) const {
  int i = locate(audit_arch, nr).first;
  return i < 0 ? nullptr : &supported_arches()[static_cast<std::size_t>(i)];
}

const SyscallSpec* SyscallIndex::find(std::uint32_t audit_arch, std::uint64_t nr) const {
  auto [i, index] = locate(audit_arch, nr);
  if (i < 0 || index >= static_cast<std::uint64_t>(kMaxSyscallNr)) return nullptr;
  int row = generated::kSpecRows[i][index];
  return row < 0 ? nullptr : &syscall_specs()[static_cast<std::size_t>(row)];
}

bool SyscallIndex::known(std::uint32_t audit_arch, std::uint64_t nr) const {
  auto [i, index] = locate(audit_arch, nr);
  return i >= 0 && index < static_cast<std::uint64_t>(kMaxSyscallNr) && generated::kNames[i][index] != nullptr;
}

std::string SyscallIndex::name(std::uint32_t audit_arch, std::uint64_t nr) const {
  auto [i, index] = locate(audit_arch, nr);
  if (i >= 0 && index < static_cast<std::uint64_t>(kMaxSyscallNr) && generated::kNames[i][index] != nullptr)
    return generated::kNames[i][index];
  return "syscall_" + std::to_string(nr);
}

}  // namespace tracepack::tracer

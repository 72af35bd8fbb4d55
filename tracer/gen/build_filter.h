// Build-time half of the seccomp filter: compiled with libseccomp by
// gen_syscall_tables, whose output (syscall_tables.inc) the tracer includes.
#pragma once

#include <linux/filter.h>

#include <string>
#include <vector>

namespace tracepack::tracer {

/// Compiles the filter from the syscall table with libseccomp for every
/// supported architecture (see seccomp_filter.h for what it lets through).
/// Throws Error.
std::vector<sock_filter> build_seccomp_filter();

/// For each supported architecture, libseccomp's name of every syscall number
/// below kMaxSyscallNr ("" when it knows none).
std::vector<std::vector<std::string>> syscall_names_by_arch();

}  // namespace tracepack::tracer

// The seccomp-bpf filter that makes only file-related calls stop the tracee.
#pragma once

#include <linux/filter.h>

#include <span>

namespace tracepack::tracer {

/// The filter, compiled at build time from the syscall table (gen/): every
/// call libseccomp knows on a supported architecture and the table does not
/// list runs without a stop; table calls, numbers libseccomp does not know and
/// unknown architectures stop the tracee (SECCOMP_RET_TRACE). fstat-like calls
/// (newfstatat/statx with AT_EMPTY_PATH), clone without CLONE_UNTRACED and
/// prctl other than PR_SET_SECCOMP run without a stop as well.
std::span<const sock_filter> seccomp_program();

/// Installs `program` in the calling process, setting no_new_privs first only
/// when the process lacks the privilege to install a filter without it.
/// Async-signal-safe (runs between fork and exec). Returns 0 or an errno value.
int install_seccomp_filter(std::span<const sock_filter> program) noexcept;

}  // namespace tracepack::tracer

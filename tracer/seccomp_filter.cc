// Installing the seccomp filter compiled at build time (see gen/build_filter.cc
// for how it is made and why its default action is to trace).
#include "seccomp_filter.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>

#include "syscall_table.h"
#include "syscall_tables.inc"

namespace tracepack::tracer {

std::span<const sock_filter> seccomp_program() { return generated::kSeccompProgram; }

int install_seccomp_filter(std::span<const sock_filter> program) noexcept {
  sock_fprog fprog{};
  fprog.len = static_cast<unsigned short>(program.size());
  fprog.filter = const_cast<sock_filter*>(program.data());
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) == 0) return 0;
  if (errno != EACCES) return errno;
  // Without CAP_SYS_ADMIN the kernel requires no_new_privs (setuid programs then run unprivileged).
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno;
  return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) == 0 ? 0 : errno;
}

}  // namespace tracepack::tracer

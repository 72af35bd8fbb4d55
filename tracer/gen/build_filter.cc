// Builds the tracer's seccomp-bpf filter from the syscall table (at build time).
//
// The filter is inverted on purpose: its default action is SECCOMP_RET_TRACE,
// and it ALLOWs, by name, every call that libseccomp knows on each supported
// architecture except those in the table. So a call added to a future kernel
// (a number libseccomp does not know yet), or a tracee running in an
// architecture we did not add, still stops the tracee and is reported instead
// of passing unseen. libseccomp's binary-tree layout keeps the per-call cost at
// a handful of BPF instructions. The program is compiled into the tracer, which
// installs it in the child with a bare prctl, so start-up builds nothing and
// nothing between fork and exec allocates.
#include "build_filter.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <set>
#include <string>

#include "syscall_table.h"
#include "tracepack/error.h"

namespace tracepack::tracer {
namespace {

struct ContextDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using Context = std::unique_ptr<void, ContextDeleter>;

void check(int rc, const std::string& what) {
  if (rc < 0) throw Error(system_error_message("seccomp filter: " + what, -rc));
}

// Names of every call libseccomp knows on some supported arch and the table does not list.
std::set<std::string> untraced_syscall_names() {
  std::set<std::string> names;
  for (const ArchInfo& arch : supported_arches()) {
    for (int nr = 0; nr < kMaxSyscallNr; ++nr) {
      int full_nr = static_cast<int>(arch.abi_bit | static_cast<std::uint64_t>(nr));
      char* name = seccomp_syscall_resolve_num_arch(arch.seccomp_arch, full_nr);
      if (name == nullptr) continue;
      if (find_syscall_spec(name) == nullptr) names.insert(name);
      std::free(name);
    }
  }
  return names;
}

void allow_if(scmp_filter_ctx ctx, const char* name, scmp_arg_cmp cmp) {
  int nr = seccomp_syscall_resolve_name(name);
  if (nr == __NR_SCMP_ERROR) return;
  check(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, cmp), std::string("rule for ") + name);
}

// Calls in the table that run without a stop for some argument values.
void add_argument_rules(scmp_filter_ctx ctx) {
  // fstat() is newfstatat(fd, "", AT_EMPTY_PATH): an fd already recorded at its open.
  allow_if(ctx, "newfstatat", SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH));
  allow_if(ctx, "fstatat64", SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH));
  allow_if(ctx, "statx", SCMP_A2(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH));
  // New processes are followed through ptrace events; only an untraced clone matters.
  allow_if(ctx, "clone", SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_UNTRACED, 0));
  allow_if(ctx, "prctl", SCMP_A0(SCMP_CMP_NE, PR_SET_SECCOMP));
}

Context make_context() {
  Context ctx(seccomp_init(SCMP_ACT_TRACE(0)));
  if (!ctx) throw Error("seccomp filter: libseccomp could not create a filter");
  for (const ArchInfo& arch : supported_arches()) {
    int rc = seccomp_arch_add(ctx.get(), arch.seccomp_arch);
    if (rc != -EEXIST) check(rc, std::string("architecture ") + std::string(arch.name));
  }
  check(seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_TRACE(0)), "bad-arch action");
  check(seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0), "no_new_privs attribute");
  check(seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2), "optimize attribute");
  return ctx;
}

std::vector<sock_filter> export_program(scmp_filter_ctx ctx) {
  int fd = memfd_create("tracepack-bpf", MFD_CLOEXEC);
  if (fd < 0) throw_system_error("seccomp filter: memfd_create");
  std::unique_ptr<int, void (*)(int*)> guard(&fd, [](int* p) { close(*p); });
  check(seccomp_export_bpf(ctx, fd), "export");
  off_t size = lseek(fd, 0, SEEK_END);
  if (size <= 0 || size % sizeof(sock_filter) != 0) throw Error("seccomp filter: export gave a malformed program");
  std::vector<sock_filter> program(static_cast<std::size_t>(size) / sizeof(sock_filter));
  if (pread(fd, program.data(), static_cast<std::size_t>(size), 0) != size)
    throw_system_error("seccomp filter: reading the exported program");
  return program;
}

}  // namespace

std::vector<std::vector<std::string>> syscall_names_by_arch() {
  std::vector<std::vector<std::string>> tables;
  for (const ArchInfo& arch : supported_arches()) {
    std::vector<std::string>& names = tables.emplace_back(kMaxSyscallNr);
    for (int nr = 0; nr < kMaxSyscallNr; ++nr) {
      int full_nr = static_cast<int>(arch.abi_bit | static_cast<std::uint64_t>(nr));
      if (char* name = seccomp_syscall_resolve_num_arch(arch.seccomp_arch, full_nr)) {
        names[static_cast<std::size_t>(nr)] = name;
        std::free(name);
      }
    }
  }
  return tables;
}

std::vector<sock_filter> build_seccomp_filter() {
  Context ctx = make_context();
  for (const std::string& name : untraced_syscall_names()) {
    int nr = seccomp_syscall_resolve_name(name.c_str());
    if (nr == __NR_SCMP_ERROR) continue;
    check(seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, nr, 0), "rule for " + name);
  }
  add_argument_rules(ctx.get());
  return export_program(ctx.get());
}

}  // namespace tracepack::tracer

// How a child that the tracer or the sandbox starts tells its parent why it
// could not run the command: an exit status, as a shell gives one, and a
// report written to a close-on-exec pipe (which a successful exec closes, so
// the parent reads nothing). Shared by tracer.cc and sandbox.cc.
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "tracepack/error.h"
#include "tracepack/posix.h"

namespace tracepack::tracer {

/// What failed in the child between fork and exec.
enum class ChildFailure : int {
  none = 0,  ///< nothing: the child executed the command (or wrote no report)
  sandbox,   ///< a step of Sandbox::enter(); ChildReport::step says which
  seccomp,   ///< installing the seccomp filter
  cwd,       ///< changing to the command's working directory
  exec,      ///< execvp: the command was not found or could not be executed
};

/// The exit status of a child that could not run the command.
enum class ChildExit : int {
  cannot_run = 126,  ///< a setup step failed, or the command is not executable
  not_found = 127,   ///< execvp failed with ENOENT
};

/// What the child writes, in one write() (atomic on a pipe), before exiting.
struct ChildReport {
  ChildFailure failure = ChildFailure::none;
  int step = -1;  ///< the Sandbox step, for ChildFailure::sandbox
  int error = 0;  ///< errno
};

/// Both ends of a pipe, close-on-exec.
struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

/// A close-on-exec pipe; throws Error ("pipe: <strerror>").
inline Pipe open_pipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw_system_error("pipe");
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

/// The status execvp's failure with `err` ends the child with.
inline ChildExit exec_failure_exit(int err) noexcept { return err == ENOENT ? ChildExit::not_found : ChildExit::cannot_run; }

/// In the child, between fork and exec (async-signal-safe): writes `report`
/// to `fd` (none when fd < 0) and exits with `status`.
[[noreturn]] inline void fail_child(int fd, ChildReport report, ChildExit status) noexcept {
  if (fd >= 0) (void)!::write(fd, &report, sizeof report);
  _exit(static_cast<int>(status));
}

/// In the parent, once the child has exec'd or ended: the report it wrote to
/// the pipe whose read end is `fd`, or one with ChildFailure::none.
inline ChildReport read_child_report(int fd) noexcept {
  ChildReport report;
  ssize_t n;
  while ((n = ::read(fd, &report, sizeof report)) < 0 && errno == EINTR) {
  }
  return n == sizeof report ? report : ChildReport{};
}

}  // namespace tracepack::tracer

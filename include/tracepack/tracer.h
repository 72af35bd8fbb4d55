// The tracer's entry point: run a command and record every file it uses.
#pragma once

#include <string>
#include <vector>

namespace tracepack {

/// What to run and how to watch it.
struct TraceOptions {
  std::vector<std::string> argv;   ///< the command; argv[0] is searched in PATH
  std::string output;              ///< trace file to write (JSON Lines)
  std::string label;               ///< test-case name; empty means the command line
  double timeout = 0;              ///< seconds before every tracee is killed; 0 = none
  double grace = 5;                ///< seconds left to other processes once the first one exits
  bool record_env_values = false;  ///< store environment values, not only names
  bool use_seccomp = true;         ///< false: stop at every syscall (slow fallback)
  bool exact_results = false;      ///< stop at syscall exit for every traced call
  bool pin_cpu = true;             ///< keep tracer and single-threaded tracees on one CPU
  int cpu = -1;                    ///< the CPU to pin to; -1 = the one the tracer is running on
  std::string cwd;                 ///< directory to run the command in; empty = the current one
  std::vector<std::string> env;    ///< the command's whole environment ("NAME=value"); empty = inherit
  int stdout_fd = -1;              ///< the command's standard output; -1 = inherit
  std::string sandbox;             ///< a bundle directory to run the command in, isolated (see sandbox.h);
                                   ///< cwd and paths are then the command's view of that root
  std::string user;                ///< with a sandbox: the user to run as, resolved in its root (see
                                   ///< resolve_sandbox_user); "" = the caller. Error without a sandbox
};

/// How many times the tracees were stopped, by cause. Each stop is a switch
/// to the tracer and back, which dominates what tracing costs.
struct StopCounts {
  std::size_t seccomp = 0;        ///< a traced call's entry, sent by the seccomp filter
  std::size_t syscall_entry = 0;  ///< a syscall-entry stop (without seccomp, every call's)
  std::size_t syscall_exit = 0;   ///< a syscall-exit stop, to read a call's result
  std::size_t exec = 0;           ///< an exec event (PTRACE_EVENT_EXEC)
  std::size_t new_task = 0;       ///< a fork, vfork or clone event in the parent
  std::size_t event_stop = 0;     ///< PTRACE_EVENT_STOP: a new task's first stop, a group-stop
  std::size_t signal = 0;         ///< a signal about to be delivered to a tracee

  std::size_t total() const { return seccomp + syscall_entry + syscall_exit + exec + new_task + event_stop + signal; }
};

/// How the run ended.
struct TraceOutcome {
  int exit_code = 0;  ///< the command's exit code (valid when signal == 0)
  int signal = 0;     ///< the signal that killed the command, or 0
  bool timed_out = false;
  int start_error = 0;  ///< errno when the command could not be executed, else 0
  std::size_t processes = 0;
  std::size_t accesses = 0;        ///< distinct access records written
  std::size_t total_accesses = 0;  ///< accesses including repeats
  double seconds = 0;
  std::vector<std::string> warnings;
  StopCounts stops;
};

/// Runs options.argv under ptrace with a seccomp filter, following every
/// process it starts, and streams the trace to options.output. Returns when
/// every tracee has ended (or was killed after the grace period or timeout).
/// Throws Error when tracing cannot start (ptrace refused, output not writable).
TraceOutcome record_trace(const TraceOptions& options);

}  // namespace tracepack

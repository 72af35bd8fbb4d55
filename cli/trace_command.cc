// `tracepack trace [OPTIONS] [--] COMMAND [ARGS...]`: runs a command under
// the tracer and exits as it did.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "commands.h"
#include "tracepack/error.h"
#include "tracepack/tracer.h"

namespace tracepack::cli {
namespace {

// Dies of `sig` as the traced command did, without leaving a core of our own.
[[noreturn]] void reraise(int sig) {
  rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  signal(sig, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  sigprocmask(SIG_UNBLOCK, &set, nullptr);
  raise(sig);
  _exit(128 + sig);
}

void print_stop_counts(const StopCounts& s) {
  std::fprintf(stderr,
               "tracepack: %zu stops: %zu seccomp, %zu syscall-entry, %zu syscall-exit, %zu exec, %zu fork/clone, %zu event-stop, "
               "%zu signal\n",
               s.total(), s.seccomp, s.syscall_entry, s.syscall_exit, s.exec, s.new_task, s.event_stop, s.signal);
}

int exit_status(const TraceOptions& options, const TraceOutcome& outcome, bool quiet, bool stop_counts) {
  for (const std::string& warning : outcome.warnings) std::fprintf(stderr, "tracepack: warning: %s\n", warning.c_str());
  if (stop_counts) print_stop_counts(outcome.stops);
  if (outcome.start_error != 0) {
    std::fprintf(stderr, "tracepack: error: %s\n", system_error_message(options.argv[0], outcome.start_error).c_str());
    return outcome.start_error == ENOENT ? 127 : 126;
  }
  if (!quiet)
    std::fprintf(stderr, "tracepack: %zu process(es), %zu file accesses (%zu distinct) in %.2f s; trace in %s\n", outcome.processes,
                 outcome.total_accesses, outcome.accesses, outcome.seconds, options.output.c_str());
  if (outcome.timed_out) return 124;
  if (outcome.signal != 0) reraise(outcome.signal);
  return outcome.exit_code;
}

}  // namespace

Action add_trace_command(CLI::App& app) {
  auto options = std::make_shared<TraceOptions>();
  auto quiet = std::make_shared<bool>(false);
  auto stop_counts = std::make_shared<bool>(false);
  options->output = "trace.jsonl";
  CLI::App* cmd = add_command(app, "trace");
  cmd->add_option("-o,--output", options->output, "Trace file to write (JSON Lines)")->capture_default_str();
  cmd->add_option("--label", options->label, "Test-case name stored in the trace (default: the command line)");
  cmd->add_option("--timeout", options->timeout, "Kill every traced process after SECONDS (exit status 124)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--grace", options->grace, "Seconds left to other processes once the command exits, before they are killed")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_flag("--record-env", options->record_env_values, "Store environment values, not only their names");
  cmd->add_flag("!--no-seccomp", options->use_seccomp, "Stop at every system call instead of using seccomp (slow)");
  cmd->add_flag("--exact-results", options->exact_results,
                "Read every traced call's result at syscall exit (slower; default predicts lookups)");
  cmd->add_flag("!--no-pin", options->pin_cpu, "Do not keep the tracer and its tracees on one CPU");
  cmd->add_option("--cpu", options->cpu, "The CPU to keep the tracer and its tracees on (default: the current one)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--sandbox", options->sandbox,
                  "Run the command in an isolated root holding only this bundle directory (see tracepack exec)");
  cmd->add_option("--cwd", options->cwd, "Directory to run the command in (inside the sandbox with --sandbox)");
  cmd->add_option("--user", options->user,
                  "With --sandbox: run as USER (NAME, UID, NAME:GROUP or UID:GID), named in the sandbox's /etc/passwd and /etc/group");
  cmd->add_option("--env", options->env,
                  "The command's whole environment, one NAME=VALUE per --env (default: this one's, which tracepack itself keeps)");
  cmd->add_flag("-q,--quiet", *quiet, "No summary line on stderr");
  cmd->add_flag("--stop-counts", *stop_counts, "Print on stderr how many times the traced processes were stopped, by cause");
  // The first argument that is not an option starts the command; it and
  // everything after it are the command's, untouched (as strace, env, nice).
  auto command = std::make_shared<std::vector<std::string>>();
  take_command_line(cmd, command, "[--] COMMAND [ARGS...]");
  cmd->footer(
      "The command starts at the first argument that is not an option (or at the one after --);\n"
      "it and everything after it are the command's.\n\n" +
      exit_status_footer({{"N", "the command's exit status, or its fatal signal re-raised"},
                          {"124", "the command was killed after --timeout"},
                          {"126", "the command cannot be executed"},
                          {"127", "the command is not found"},
                          {"1", "tracepack could not trace it (message on stderr)"}}));
  return [options, command, quiet, stop_counts] {
    options->argv = *command;
    if (options->argv.empty()) throw UsageError("trace: no command given (usage: tracepack trace [OPTIONS] [--] COMMAND [ARGS...])");
    if (!options->user.empty() && options->sandbox.empty()) throw UsageError("trace: --user needs --sandbox");
    return exit_status(*options, record_trace(*options), *quiet, *stop_counts);
  };
}

}  // namespace tracepack::cli

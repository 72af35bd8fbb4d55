// End-to-end tests of `tracepack trace`'s command line: one behaviour each,
// named after the flag or the exit-status rule of notes/contract.md, run on
// the real binary with real commands.
#include <signal.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "tracer_test_util.h"

namespace tracepack::test {
namespace {

using CliTest = TracerTest;

std::vector<std::string> file_set(const Trace& trace, std::string_view dir) { return describe_under(trace, dir); }

// ---- exit status ----

TEST_F(CliTest, ExitCodeIsPassedThrough) {
  TracedRun run = trace({fixture("exit_code"), "42"});
  ASSERT_TRUE(exited_with(run, 42));
  ASSERT_TRUE(run.trace->end.has_value());
  EXPECT_EQ(run.trace->end->exit_code, 42);
  EXPECT_EQ(run.trace->end->signal, 0);
}

TEST_F(CliTest, FatalSignalIsReRaised) {
  TracedRun run = trace({fixture("kill_self"), std::to_string(SIGTERM)});
  ASSERT_TRUE(killed_by(run, SIGTERM));
  ASSERT_TRUE(run.trace->end.has_value());
  EXPECT_EQ(run.trace->end->signal, SIGTERM);
}

TEST_F(CliTest, MissingCommandExits127WithMessage) {
  const std::string missing = data() / "no-such-command";
  TracedRun run = trace({missing});
  ASSERT_TRUE(exited_with(run, 127));
  EXPECT_EQ(run.process.err, "tracepack: error: " + missing + ": No such file or directory\n");
}

TEST_F(CliTest, CommandNotOnPathExits127WithMessage) {
  TracedRun run = trace({"tracepack-no-such-command"}, {}, {.env_set = {"PATH=" + data().path()}});
  ASSERT_TRUE(exited_with(run, 127));
  EXPECT_EQ(run.process.err, "tracepack: error: tracepack-no-such-command: No such file or directory\n");
}

TEST_F(CliTest, NonExecutableCommandExits126) {
  write_file(data() / "plain", "not a program\n", 0644);
  TracedRun run = trace({data() / "plain"});
  ASSERT_TRUE(exited_with(run, 126));
  EXPECT_TRUE(run.process.err.starts_with("tracepack: error: " + data() / "plain" + ": ")) << run.process.err;
}

// ---- --timeout ----

TEST_F(CliTest, TimeoutKillsTheTraceesAndExits124) {
  TracedRun run = trace({"sleep", "100"}, {"--timeout", "1"}, {}, 30);
  ASSERT_TRUE(exited_with(run, 124));
  EXPECT_LT(run.process.seconds, 15);
  EXPECT_TRUE(has_warning(*run.trace, "timeout")) << dump(*run.trace);
  ASSERT_TRUE(run.trace->end.has_value());
  EXPECT_TRUE(run.trace->end->timed_out);
}

// ---- --grace ----

TEST_F(CliTest, GraceBoundsTheWaitForLeftoverProcesses) {
  TracedRun run = trace({fixture("daemonize"), data() / "late", "60000", scratch() / "pid"}, {"--grace", "1"}, {}, 30);
  ASSERT_TRUE(exited_with(run, 0));
  EXPECT_LT(run.process.seconds, 15);
  EXPECT_TRUE(has_warning(*run.trace, "grace period")) << dump(*run.trace);
}

TEST_F(CliTest, DefaultGraceWaitsForAShortLivedDaemon) {
  write_file(data() / "late", "");
  TracedRun run = trace({fixture("daemonize"), data() / "late", "2000", scratch() / "pid"}, {}, {}, 30);
  ASSERT_TRUE(exited_with(run, 0));
  EXPECT_TRUE(same_lines(file_set(*run.trace, data().path()), std::vector<std::string>{"openat read $D/late -> $D/late ok regular"}));
  EXPECT_FALSE(has_warning(*run.trace, "grace period")) << dump(*run.trace);
}

// ---- --label ----

TEST_F(CliTest, LabelIsStoredInTheHeader) {
  TracedRun run = trace({fixture("exit_code"), "0"}, {"--label", "unit: my case"});
  ASSERT_TRUE(exited_with(run, 0));
  EXPECT_EQ(run.trace->run.label, "unit: my case");
}

TEST_F(CliTest, DefaultLabelIsTheCommandLine) {
  TracedRun run = trace({fixture("exit_code"), "0", "two"});
  ASSERT_TRUE(exited_with(run, 0));
  EXPECT_EQ(run.trace->run.label, fixture("exit_code") + " 0 two");
}

// ---- header ----

TEST_F(CliTest, HeaderRecordsTheRun) {
  TracedRun run = trace({fixture("exit_code"), "0"}, {}, {.cwd = data().path()});
  ASSERT_TRUE(exited_with(run, 0));
  const RunInfo& info = run.trace->run;
  utsname host{};
  uname(&host);
  EXPECT_EQ(info.format_version, kTraceFormatVersion);
  EXPECT_EQ(info.tracepack_version, TRACEPACK_VERSION);
  EXPECT_EQ(info.argv, (std::vector<PathBytes>{fixture("exit_code"), "0"}));
  EXPECT_EQ(info.cwd, data().path());
  EXPECT_EQ(info.kernel, host.release);
  EXPECT_EQ(info.arch, host.machine);
  EXPECT_FALSE(info.start_time.empty());
}

// ---- --help, --version ----

TEST_F(CliTest, HelpListsEveryFlag) {
  ProcessResult help = run_process({TRACEPACK_BIN, "trace", "--help"});
  ASSERT_EQ(help.exit_code(), 0) << help.summary() << help.err;
  for (const char* flag : {"-o", "--label", "--timeout", "--grace", "--record-env", "--no-seccomp", "--exact-results", "--no-pin", "--stop-counts", "-q"}) {
    EXPECT_NE(help.out.find(flag), std::string::npos) << flag << " missing from:\n" << help.out;
  }
}

TEST_F(CliTest, VersionPrintsTheVersion) {
  ProcessResult version = run_process({TRACEPACK_BIN, "--version"});
  ASSERT_EQ(version.exit_code(), 0) << version.summary() << version.err;
  EXPECT_NE(version.out.find(TRACEPACK_VERSION), std::string::npos) << version.out;
}

// ---- signals, stdio, environment ----

TEST_F(CliTest, SigtermToTheTracerIsForwardedToTheTracee) {
  const std::string ready = scratch() / "ready";
  ChildProcess tracer(tracer_command(trace_file(), {}, {fixture("sleeper"), ready}));
  ASSERT_TRUE(wait_for_file(ready, 30)) << "the tracee never started";
  tracer.send_signal(SIGTERM);
  ProcessResult result = tracer.wait(30);
  // The tracee's SIGTERM handler exits 42; the tracer passes that on.
  EXPECT_EQ(result.exit_code(), 42) << result.summary() << "\n" << result.err;
}

TEST_F(CliTest, StdinAndStdoutPassThrough) {
  const std::string data_in = "first line\nsecond line\n\x01\xff binary tail";
  TracedRun run = trace({"cat"}, {}, {.stdin_data = data_in});
  ASSERT_TRUE(exited_with(run, 0));
  EXPECT_EQ(run.process.out, data_in);
}

TEST_F(CliTest, EnvironmentPassesThrough) {
  TracedRun run = trace({"/bin/sh", "-c", "exit $TRACEPACK_TEST_CODE"}, {}, {.env_set = {"TRACEPACK_TEST_CODE=17"}});
  EXPECT_TRUE(exited_with(run, 17));
}

// ---- the trace survives a killed tracer ----

TEST_F(CliTest, KilledTracerLeavesAReadablePrefix) {
  write_file(data() / "one", "1");
  write_file(data() / "two", "2");
  const std::string ready = scratch() / "ready";
  ChildProcess tracer(tracer_command(trace_file(), {}, {fixture("sleeper"), ready, data() / "one", data() / "two"}));
  ASSERT_TRUE(wait_for_file(ready, 30)) << "the tracee never started";
  // The writer flushes on its own interval: wait until both opens are on disk.
  std::vector<std::string> seen;
  for (int i = 0; i < 300 && seen.size() < 2; ++i) {
    usleep(50000);
    try {
      seen = file_set(read_trace(trace_file()), data().path());
    } catch (const std::exception&) {
      seen.clear();  // a line half-written at this instant
    }
  }
  tracer.send_signal(SIGKILL);
  ProcessResult result = tracer.wait(10);
  ASSERT_EQ(result.term_signal(), SIGKILL);
  Trace t = read_trace(trace_file());
  EXPECT_FALSE(t.end.has_value());
  EXPECT_TRUE(same_lines(file_set(t, data().path()),
                         (std::vector<std::string>{"openat read $D/one -> $D/one ok regular", "openat read $D/two -> $D/two ok regular"})));
  const Process* root = root_process(t);
  ASSERT_NE(root, nullptr);
  EXPECT_FALSE(root->exited);
}

// ---- -o, -q ----

TEST_F(CliTest, OutputDefaultsToTraceJsonlInTheWorkingDirectory) {
  ProcessResult result = run_process({TRACEPACK_BIN, "trace", "-q", "--", fixture("exit_code"), "0"}, {.cwd = scratch().path()});
  ASSERT_EQ(result.exit_code(), 0) << result.err;
  Trace t = read_trace(scratch() / "trace.jsonl");
  EXPECT_EQ(t.run.argv, (std::vector<PathBytes>{fixture("exit_code"), "0"}));
}

TEST_F(CliTest, QuietSuppressesTheSummaryLine) {
  const std::vector<std::string> command = {fixture("exit_code"), "0"};
  ProcessResult quiet = run_process(tracer_command(trace_file(), {}, command));
  ASSERT_EQ(quiet.exit_code(), 0) << quiet.err;
  EXPECT_EQ(quiet.err, "");
  std::vector<std::string> loud_argv = {TRACEPACK_BIN, "trace", "-o", trace_file(), "--"};
  loud_argv.insert(loud_argv.end(), command.begin(), command.end());
  ProcessResult loud = run_process(loud_argv);
  ASSERT_EQ(loud.exit_code(), 0) << loud.err;
  EXPECT_NE(loud.err, "") << "no summary line without -q";
}

// ---- --no-seccomp, --exact-results ----

TEST_F(CliTest, NoSeccompRecordsTheSameFiles) {
  TempDir filtered_dir, unfiltered_dir;
  TracedRun filtered = trace({fixture("file_ops"), filtered_dir.path()});
  ASSERT_TRUE(exited_with(filtered, 0));
  TracedRun unfiltered = trace({fixture("file_ops"), unfiltered_dir.path()}, {"--no-seccomp"});
  ASSERT_TRUE(exited_with(unfiltered, 0));
  std::vector<std::string> expected = file_set(*filtered.trace, filtered_dir.path());
  EXPECT_FALSE(expected.empty());
  EXPECT_TRUE(same_lines(file_set(*unfiltered.trace, unfiltered_dir.path()), expected));
}

// Without seccomp (here: a filter makes seccomp(2) fail with ENOSYS, as on a
// kernel built without it) the tracer falls back to --no-seccomp, says so
// on stderr and in the trace, and records the same files.
TEST_F(CliTest, NoSeccompFallbackWarnsAndRecordsTheSameFiles) {
  TempDir filtered_dir, fallback_dir;
  TracedRun filtered = trace({fixture("file_ops"), filtered_dir.path()});
  ASSERT_TRUE(exited_with(filtered, 0));
  std::vector<std::string> argv = {fixture("deny_syscalls"), "seccomp"};
  for (const std::string& arg : tracer_command(trace_file(), {}, {fixture("file_ops"), fallback_dir.path()})) {
    argv.push_back(arg);
  }
  TracedRun fallback;
  fallback.process = run_process(argv);
  fallback.trace = read_trace(trace_file());
  ASSERT_TRUE(exited_with(fallback, 0));
  EXPECT_NE(fallback.process.err.find("tracepack: warning: seccomp"), std::string::npos) << "stderr: " << fallback.process.err;
  EXPECT_TRUE(has_warning(*fallback.trace, "seccomp")) << dump(*fallback.trace);
  EXPECT_TRUE(same_lines(file_set(*fallback.trace, fallback_dir.path()), file_set(*filtered.trace, filtered_dir.path())));
}

TEST_F(CliTest, ExactResultsMarksEveryAccessObserved) {
  write_file(data() / "file", "");
  TracedRun run = trace({fixture("failed_lookups"), data().path()}, {"--exact-results"});
  ASSERT_TRUE(exited_with(run, 0));
  ASSERT_FALSE(run.trace->accesses.empty());
  for (const FileAccess& a : run.trace->accesses) EXPECT_TRUE(a.observed) << describe(a);
}

// ---- --stop-counts ----

// exec_outcomes is linked statically, so no loader adds stops: its start
// (entry and exec event), static glibc's readlink of /proc/self/exe, execve
// of a missing file (entry only: its error is predicted), of a file without
// execute permission (entry and exit), and of itself (entry and exec event:
// the event says it succeeded, so no exit stop), then the readlink again.
TEST_F(CliTest, StopCountsPrintsTheStopsByCause) {
  write_file(data() / "plain", "not a program\n", 0644);
  TracedRun run = trace({fixture("exec_outcomes"), data().path()}, {"--stop-counts"});
  ASSERT_TRUE(exited_with(run, 0));
  EXPECT_EQ(run.process.err,
            "tracepack: 9 stops: 6 seccomp, 0 syscall-entry, 1 syscall-exit, 2 exec, 0 fork/clone, 0 event-stop, 0 signal\n");
}

// An exec from a thread that is not the leader ends with the exec event too,
// which tells its success: no exit stop.
TEST_F(CliTest, StopCountsExecFromAThreadTakesNoExitStop) {
  TracedRun run = trace({fixture("thread_exec"), fixture("exit_code"), "7"}, {"--stop-counts"}, {}, 30);
  ASSERT_TRUE(exited_with(run, 7));
  EXPECT_NE(run.process.err.find(" 0 syscall-exit, 2 exec, 1 fork/clone, "), std::string::npos) << run.process.err;
}

// ---- --record-env ----

TEST_F(CliTest, RecordEnvStoresValues) {
  TracedRun run = trace({fixture("exit_code"), "0"}, {"--record-env"}, {.env_set = {"TRACEPACK_TEST_SECRET=s3cret"}});
  ASSERT_TRUE(exited_with(run, 0));
  const RunInfo& info = run.trace->run;
  ASSERT_TRUE(info.env_values.count("TRACEPACK_TEST_SECRET"));
  EXPECT_EQ(info.env_values.at("TRACEPACK_TEST_SECRET"), "s3cret");
  EXPECT_TRUE(std::is_sorted(info.env_names.begin(), info.env_names.end()));
}

TEST_F(CliTest, DefaultStoresEnvNamesOnly) {
  TracedRun run = trace({fixture("exit_code"), "0"}, {}, {.env_set = {"TRACEPACK_TEST_SECRET=s3cret"}});
  ASSERT_TRUE(exited_with(run, 0));
  const RunInfo& info = run.trace->run;
  EXPECT_TRUE(std::binary_search(info.env_names.begin(), info.env_names.end(), "TRACEPACK_TEST_SECRET"));
  EXPECT_TRUE(info.env_values.empty());
  EXPECT_EQ(read_file(trace_file()).find("s3cret"), std::string::npos) << "the value leaked into the file";
}

// ---- --no-pin ----

TEST_F(CliTest, DefaultPinsTheTraceeToOneCpu) {
  if (sysconf(_SC_NPROCESSORS_ONLN) < 2) GTEST_SKIP() << "one CPU: pinning is not observable";
  TracedRun run = trace({fixture("print_affinity")});
  ASSERT_TRUE(exited_with(run, 0));
  EXPECT_EQ(run.process.out, "1\n");
}

TEST_F(CliTest, NoPinLeavesTheAffinityAlone) {
  if (sysconf(_SC_NPROCESSORS_ONLN) < 2) GTEST_SKIP() << "one CPU: pinning is not observable";
  ProcessResult direct = run_process({fixture("print_affinity")});
  ASSERT_EQ(direct.exit_code(), 0);
  TracedRun run = trace({fixture("print_affinity")}, {"--no-pin"});
  ASSERT_TRUE(exited_with(run, 0));
  EXPECT_EQ(run.process.out, direct.out);
}

}  // namespace
}  // namespace tracepack::test

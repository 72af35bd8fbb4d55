// End to end: the command-line conventions both tracepack programs follow
// (README, "Command line" and "Exit statuses"), on the real binaries:
// where a traced command's arguments start, usage errors and their exit
// status 2, did-you-mean, `tracepack help`, the help texts, why's exit
// statuses, diff -f, verify without a spec, and --json leaving stdout to the
// JSON document alone. Outputs and exit statuses are compared exactly.
//
// Specs and bundles live under the build directory, not /tmp: a bundle never
// holds /tmp, and verify refuses tests that run under it.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "cli_test_util.h"

namespace tracepack {
namespace {

namespace fs = std::filesystem;
using namespace cli_test;

const std::string kFixtures = FIXTURE_SRC_DIR;

/// A temporary tree under the build directory (see above).
class WorkDir : public TempDir {
 public:
  WorkDir() : TempDir(CLI_TMP_DIR) {}
};

/// Whether `text` occurs in `in`, counted.
std::size_t count_of(const std::string& in, const std::string& text) {
  std::size_t n = 0;
  for (std::size_t at = in.find(text); at != std::string::npos; at = in.find(text, at + text.size())) ++n;
  return n;
}

// ---------------------------------------------------------------------------
// trace: the command starts at the first argument that is not an option

TEST(TraceCommandLine, ArgumentsAfterTheCommandAreItsOwn) {
  WorkDir dir;
  RunResult r = tracepack({"trace", "-q", "-o", dir / "t.jsonl", "/bin/echo", "-n", "hi"});
  EXPECT_TRUE(exited_with(r, 0));
  EXPECT_EQ(r.out, "hi");
  EXPECT_EQ(r.err, "");
}

TEST(TraceCommandLine, OptionsOfTheCommandLookingLikeTracepacksAreTheCommands) {
  WorkDir dir;
  RunResult r = tracepack({"trace", "-q", "-o", dir / "t.jsonl", "/bin/echo", "-o", "--timeout", "--", "-q"});
  EXPECT_TRUE(exited_with(r, 0));
  EXPECT_EQ(r.out, "-o --timeout -- -q\n");
  EXPECT_TRUE(fs::exists(dir / "t.jsonl"));
}

TEST(TraceCommandLine, DoubleDashStillEndsTheOptions) {
  WorkDir dir;
  RunResult r = tracepack({"trace", "-q", "--output=" + dir / "t.jsonl", "--", "/bin/echo", "-n", "hi", "--"});
  EXPECT_TRUE(exited_with(r, 0));
  EXPECT_EQ(r.out, "hi --");
}

TEST(TraceCommandLine, UnknownOptionBeforeTheCommandIsAUsageError) {
  WorkDir dir;
  RunResult r = tracepack({"trace", "--verbose", "--", "/bin/echo", "hi"}, {.cwd = dir.path()});
  EXPECT_TRUE(exited_with(r, 2));
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "tracepack: error: trace: unknown option '--verbose' (see 'tracepack help trace')\n");
  EXPECT_FALSE(fs::exists(dir / "trace.jsonl"));
}

TEST(TraceCommandLine, MistypedOptionGetsADidYouMean) {
  RunResult r = tracepack({"trace", "--timout", "3", "/bin/true"});
  EXPECT_TRUE(exited_with(r, 2));
  EXPECT_EQ(r.err, "tracepack: error: trace: unknown option '--timout' (did you mean '--timeout'?)\n");
}

TEST(TraceCommandLine, NoCommandIsAUsageError) {
  RunResult r = tracepack({"trace", "-q", "--"});
  EXPECT_TRUE(exited_with(r, 2));
  EXPECT_EQ(r.err, "tracepack: error: trace: no command given (usage: tracepack trace [OPTIONS] [--] COMMAND [ARGS...])\n");
}

// ---------------------------------------------------------------------------
// Usage errors: exit status 2, a did-you-mean, in both programs

TEST(UsageErrors, MistypedCommandGetsADidYouMean) {
  RunResult r = tracepack({"bulid", "spec.yaml"});
  EXPECT_TRUE(exited_with(r, 2));
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "tracepack: error: unknown command 'bulid' (did you mean 'build'?)\n");
  RunResult light = tracepack({"sumary", "t.jsonl"});
  EXPECT_TRUE(exited_with(light, 2));
  EXPECT_EQ(light.err, "tracepack: error: unknown command 'sumary' (did you mean 'summary'?)\n");
}

TEST(UsageErrors, UnknownCommandFarFromAnyNamesTheList) {
  RunResult r = tracepack({"frobnicate"});
  EXPECT_TRUE(exited_with(r, 2));
  EXPECT_EQ(r.err, "tracepack: error: unknown command 'frobnicate' ('tracepack help' lists the commands)\n");
}

TEST(UsageErrors, NoCommandExitsTwo) {
  RunResult r = tracepack({});
  EXPECT_TRUE(exited_with(r, 2));
  EXPECT_EQ(r.err, "tracepack: error: no command given ('tracepack help' lists the commands)\n");
}

TEST(UsageErrors, ForwardedCommandsExitTwo) {
  RunResult unknown = tracepack({"build", "--bogus"});
  EXPECT_TRUE(exited_with(unknown, 2));
  EXPECT_EQ(unknown.err, "tracepack: error: build: unknown option '--bogus' (see 'tracepack help build')\n");
  RunResult typo = tracepack({"build", "--jsn"});
  EXPECT_TRUE(exited_with(typo, 2));
  EXPECT_EQ(typo.err, "tracepack: error: build: unknown option '--jsn' (did you mean '--json'?)\n");
  RunResult missing = tracepack({"pack"});
  EXPECT_TRUE(exited_with(missing, 2));
  EXPECT_EQ(missing.err, "tracepack: error: pack: traces is required (see 'tracepack help pack')\n");
  RunResult value = tracepack({"build", "-j", "many"});
  EXPECT_TRUE(exited_with(value, 2));
  EXPECT_EQ(value.err.rfind("tracepack: error: build: ", 0), 0u) << value.err;
}

TEST(UsageErrors, LightCommandsExitTwo) {
  RunResult r = tracepack({"summary"});
  EXPECT_TRUE(exited_with(r, 2));
  EXPECT_EQ(r.err, "tracepack: error: summary: trace is required (see 'tracepack help summary')\n");
  RunResult extra = tracepack({"summary", "a.jsonl", "b.jsonl"});
  EXPECT_TRUE(exited_with(extra, 2));
  EXPECT_EQ(extra.err, "tracepack: error: summary: unexpected argument 'b.jsonl' (see 'tracepack help summary')\n");
}

TEST(UsageErrors, VersionAndHelpExitZero) {
  RunResult version = tracepack({"--version"});
  EXPECT_TRUE(exited_with(version, 0));
  EXPECT_EQ(version.out.rfind("tracepack ", 0), 0u) << version.out;
  EXPECT_TRUE(exited_with(tracepack({"build", "--help"}), 0));
}

// ---------------------------------------------------------------------------
// help

TEST(Help, HelpWithoutACommandListsThemAll) {
  RunResult r = tracepack({"help"});
  EXPECT_TRUE(exited_with(r, 0));
  for (const char* command : {"trace", "summary", "merge", "pack", "build", "closure", "verify", "exec", "why", "diff", "report"})
    EXPECT_NE(r.out.find("\n  " + std::string(command) + " "), std::string::npos) << command << " in\n" << r.out;
  EXPECT_EQ(r.out, tracepack({"--help"}).out);
  EXPECT_NE(r.out.find("Usage: tracepack [OPTIONS] COMMAND\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nCommands:\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Exit status:\n  0   success\n"), std::string::npos) << r.out;
}

TEST(Help, HelpOfAForwardedCommandIsItsHelp) {
  RunResult r = tracepack({"help", "build"});
  EXPECT_TRUE(exited_with(r, 0));
  EXPECT_EQ(r.out, tracepack({"build", "--help"}).out);
  EXPECT_EQ(count_of(r.out, "Usage:"), 1u) << r.out;
  EXPECT_NE(r.out.find("Usage: tracepack build [OPTIONS] [SPEC]\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find('{'), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  --no-verify "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Exit status:\n  0   the bundle was written and passed verification\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n  2   usage error: unknown command or option, missing argument\n"
                       "  70  internal error: a bug in tracepack (please report it)\n"),
            std::string::npos)
      << r.out;
}

TEST(Help, HelpOfALightCommandIsItsHelp) {
  RunResult r = tracepack({"help", "trace"});
  EXPECT_TRUE(exited_with(r, 0));
  EXPECT_EQ(r.out, tracepack({"trace", "-h"}).out);
  EXPECT_NE(r.out.find("Usage: tracepack trace [OPTIONS] [--] COMMAND [ARGS...]\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find('{'), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  124 the command was killed after --timeout\n"), std::string::npos) << r.out;
}

TEST(Help, EveryCommandShowsUsageOnceAndItsExitStatuses) {
  for (const char* command : {"trace", "summary", "merge", "pack", "build", "closure", "verify", "exec", "why", "diff", "report"}) {
    RunResult r = tracepack({"help", command});
    EXPECT_TRUE(exited_with(r, 0)) << command;
    EXPECT_EQ(count_of(r.out, "Usage:"), 1u) << r.out;
    EXPECT_EQ(r.out.find('{'), std::string::npos) << r.out;
    EXPECT_EQ(count_of(r.out, "\nExit status:\n"), 1u) << r.out;
    EXPECT_EQ(count_of(r.out, "\n  70  internal error"), 1u) << r.out;
  }
  EXPECT_NE(tracepack({"help", "verify"}).out.find("Usage: tracepack verify [OPTIONS] BUNDLE [[--] COMMAND [ARGS...]]\n"),
            std::string::npos);
  EXPECT_NE(tracepack({"help", "exec"}).out.find("Usage: tracepack exec [OPTIONS] BUNDLE [--] COMMAND [ARGS...]\n"), std::string::npos);
  EXPECT_NE(tracepack({"help", "why"})
                .out.find("\n  0   PATH is in the bundle\n  1   PATH is not in the bundle\n"
                          "  2   an error (message on stderr), or a usage error"),
            std::string::npos);
}

// tracepack lists the packer's commands without running it: the line it
// lists and the first line of the command's own help come from one table.
TEST(Help, EachCommandsListedDescriptionHeadsItsHelp) {
  std::string listing = tracepack({"help"}).out;
  for (const char* command : {"trace", "summary", "merge", "pack", "build", "closure", "verify", "exec", "why", "diff", "report"}) {
    std::string help = tracepack({"help", command}).out;
    std::string description = help.substr(0, help.find('\n'));
    std::string name = "  " + std::string(command);
    std::string line = name + std::string(30 - name.size(), ' ') + description + "\n";
    EXPECT_NE(listing.find("\n" + line), std::string::npos) << line << "not in\n" << listing;
  }
  EXPECT_NE(listing.find("\n  closure                     Print the shared-library closure of ELF files, as the dynamic "
                         "loader resolves it\n"),
            std::string::npos)
      << listing;
}

TEST(Help, HelpOfAMistypedCommandGetsADidYouMean) {
  RunResult r = tracepack({"help", "bulid"});
  EXPECT_TRUE(exited_with(r, 2));
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "tracepack: error: unknown command 'bulid' (did you mean 'build'?)\n");
}

// ---------------------------------------------------------------------------
// why: 0 in, 1 out, 2 on error (grep's convention); diff -f

TEST(WhyExitStatus, InOutAndError) {
  RunResult in = tracepack({"why", "traces/shell-cat.jsonl", "/usr/bin/dash"}, {.cwd = kFixtures});
  EXPECT_TRUE(exited_with(in, 0));
  RunResult out = tracepack({"why", "traces/shell-cat.jsonl", "/etc/passwd", "--spec", "specs/why-exclude.yaml"}, {.cwd = kFixtures});
  EXPECT_TRUE(exited_with(out, 1));
  EXPECT_NE(out.out, "");
  RunResult never = tracepack({"why", "traces/shell-cat.jsonl", "/no/such/file"}, {.cwd = kFixtures});
  EXPECT_TRUE(exited_with(never, 1));
  RunResult missing = tracepack({"why", "nowhere.jsonl", "/etc/passwd"}, {.cwd = kFixtures});
  EXPECT_TRUE(exited_with(missing, 2));
  EXPECT_EQ(missing.out, "");
  RunResult relative = tracepack({"why", "traces/shell-cat.jsonl", "etc/passwd"}, {.cwd = kFixtures});
  EXPECT_TRUE(exited_with(relative, 2));
  RunResult usage = tracepack({"why", "traces/shell-cat.jsonl"}, {.cwd = kFixtures});
  EXPECT_TRUE(exited_with(usage, 2));
  EXPECT_EQ(usage.err, "tracepack: error: why: path is required (see 'tracepack help why')\n");
}

TEST(DiffFormat, ShortOptionLikeReport) {
  std::string trace = kFixtures + "/traces/shell-cat.jsonl";
  RunResult r = tracepack({"diff", "-f", "json", trace, trace});
  EXPECT_TRUE(exited_with(r, 0));
  EXPECT_TRUE(Json::accept(r.out)) << r.out;
  EXPECT_EQ(tracepack({"diff", "--bogus", trace, trace}).exit_code, 2);
}

// ---------------------------------------------------------------------------
// verify and exec: where the command starts; verify without a spec

TEST(VerifyCommandLine, NoSpecInTheCurrentDirectorySaysHowToGiveOne) {
  WorkDir dir;
  fs::create_directories(dir / "bundle/.tracepack");
  RunResult r = tracepack({"verify", "bundle"}, {.cwd = dir.path()});
  EXPECT_TRUE(exited_with(r, 2));
  EXPECT_EQ(r.err,
            "tracepack: error: verify: no tracepack.yaml in the current directory: give the spec with --spec SPEC, "
            "or a command to run in the bundle with -- COMMAND [ARGS...]\n");
  // A spec named with --spec that is missing is an error of its own.
  RunResult named = tracepack({"verify", "bundle", "--spec", "other.yaml"}, {.cwd = dir.path()});
  EXPECT_TRUE(exited_with(named, 1));
  EXPECT_EQ(named.err, "tracepack: error: other.yaml: cannot read: No such file or directory\n");
}

TEST(ExecCommandLine, UnknownOptionBeforeTheCommandIsAUsageError) {
  RunResult r = tracepack({"exec", "--verbose", "bundle", "--", "/bin/true"});
  EXPECT_TRUE(exited_with(r, 2));
  EXPECT_EQ(r.err, "tracepack: error: exec: unknown option '--verbose' (see 'tracepack help exec')\n");
}

// ---------------------------------------------------------------------------
// The packer commands run where /proc/self/exe cannot be read

TEST(PackerCommands, RunWithoutProc) {
#ifdef TRACEPACK_ASAN_BUILD
  GTEST_SKIP() << "AddressSanitizer's runtime reads /proc/self/maps at start-up: it cannot run without /proc";
#endif
  REQUIRE_PROGRAM("unshare", "util-linux");
  // A private mount namespace whose /proc is gone, as in a container without
  // it: tracepack finds tracepack-packer by the path it was executed by.
  // /proc is made private before it is unmounted, so that the host's stays;
  // "/" need not be a mount point (a chroot), so its propagation is kept.
  RunResult r = run({"unshare", "--mount", "--propagation", "unchanged", "sh", "-c",
                     "mount --make-private /proc && umount -l /proc && test ! -e /proc/self && exec \"$0\" help pack", TRACEPACK_BIN});
  ASSERT_TRUE(exited_with(r, 0));
  EXPECT_EQ(r.out.rfind("Build a bundle from traces", 0), 0u) << r.out;
}

// ---------------------------------------------------------------------------
// --json: stdout holds the JSON document alone

/// A spec whose one test prints to stdout and does not capture it (no `stdout:`).
std::string chatty_spec(const WorkDir& dir) {
  write_file(dir / "tracepack.yaml",
             "name: chatty\n"
             "tests:\n"
             "  - name: chatty\n"
             "    run: [/bin/echo, hello from the test]\n"
             "output:\n"
             "  path: out\n"
             "  format: dir\n");
  return dir / "tracepack.yaml";
}

TEST(JsonOutput, BuildJsonIsOnlyJsonWhenATestPrints) {
  WorkDir dir;
  RunResult r = tracepack({"build", chatty_spec(dir), "--json"});
  ASSERT_TRUE(exited_with(r, 0));
  ASSERT_TRUE(Json::accept(r.out)) << r.out;
  Json summary = Json::parse(r.out);
  EXPECT_EQ(summary["bundle"], "chatty");
  EXPECT_EQ(summary["verify"]["passed"], true);
  // Once traced on the host, once verified in the bundle.
  EXPECT_EQ(count_of(r.err, "hello from the test\n"), 2u) << r.err;
  if (have_program("jq")) {
    write_file(dir / "summary.json", r.out);
    RunResult jq = run({"jq", "-r", ".bundle", dir / "summary.json"});
    EXPECT_TRUE(exited_with(jq, 0));
    EXPECT_EQ(jq.out, "chatty\n");
  }
}

TEST(JsonOutput, VerifyJsonIsOnlyJsonWhenATestOrTheCommandPrints) {
  WorkDir dir;
  ASSERT_TRUE(exited_with(tracepack({"build", chatty_spec(dir), "--no-verify"}), 0));
  RunResult spec = tracepack({"verify", "out", "--json"}, {.cwd = dir.path()});
  ASSERT_TRUE(exited_with(spec, 0));
  EXPECT_TRUE(Json::accept(spec.out)) << spec.out;
  EXPECT_EQ(count_of(spec.err, "hello from the test\n"), 1u) << spec.err;
  RunResult command = tracepack({"verify", "--json", "out", "/bin/echo", "-n", "from the command"}, {.cwd = dir.path()});
  ASSERT_TRUE(exited_with(command, 0));
  ASSERT_TRUE(Json::accept(command.out)) << command.out;
  EXPECT_EQ(Json::parse(command.out)["passed"], true);
  EXPECT_EQ(count_of(command.err, "from the command"), 1u) << command.err;
  if (have_program("jq")) {
    write_file(dir / "verify.json", command.out);
    RunResult jq = run({"jq", "-r", ".passed", dir / "verify.json"});
    EXPECT_TRUE(exited_with(jq, 0));
    EXPECT_EQ(jq.out, "true\n");
  }
}

TEST(ExecCommandLine, ArgumentsAfterTheCommandAreItsOwn) {
  WorkDir dir;
  ASSERT_TRUE(exited_with(tracepack({"build", chatty_spec(dir), "--no-verify"}), 0));
  RunResult r = tracepack({"exec", "out", "/bin/echo", "-n", "--cwd", "x"}, {.cwd = dir.path()});
  EXPECT_TRUE(exited_with(r, 0));
  EXPECT_EQ(r.out, "--cwd x");
}

TEST(JsonOutput, FailedVerifyJsonIsOnlyJsonWhenTheTestIsRetracedOnTheHost) {
  WorkDir dir;
  write_file(dir / "data.txt", "data\n");
  write_file(dir / "tracepack.yaml",
             "name: chatty\n"
             "tests:\n"
             "  - name: chatty\n"
             "    shell: echo hello from the test; cat data.txt\n"
             "output:\n"
             "  path: out\n"
             "  format: dir\n");
  ASSERT_TRUE(exited_with(tracepack({"build", dir / "tracepack.yaml", "--no-verify"}), 0));
  ASSERT_TRUE(fs::remove(dir / ("out" + (dir / "data.txt"))));
  // Without the build's traces the diagnosis traces the test on the host once more.
  fs::remove_all(fs::path(dir.path()) / ".tracepack" / "traces");
  RunResult r = tracepack({"verify", "out", "--json"}, {.cwd = dir.path()});
  ASSERT_TRUE(exited_with(r, 1)) << r.err;
  ASSERT_TRUE(Json::accept(r.out)) << r.out;
  Json result = Json::parse(r.out);
  EXPECT_EQ(result["passed"], false);
  EXPECT_EQ(count_of(r.err, "hello from the test\n"), 2u) << r.err;
}

}  // namespace
}  // namespace tracepack

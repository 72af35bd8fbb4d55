// `tracepack verify BUNDLE` and `tracepack exec BUNDLE COMMAND`: the
// arguments parsed into a VerifyRequest (or a command for run_in_bundle),
// the verify library (tracepack/verify.h) called, its result printed and
// turned into an exit status.
#include <unistd.h>

#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <system_error>

#include "commands.h"
#include "tracepack/error.h"
#include "tracepack/verify.h"

namespace tracepack::cli {
namespace {

namespace fs = std::filesystem;

// A line on stderr as each test ends in the bundle.
void print_progress(const TestProgress& progress) { std::fprintf(stderr, "tracepack: %s\n", progress_line(progress).c_str()); }

struct VerifyArgs {
  std::string bundle;
  std::string spec = "tracepack.yaml";
  bool spec_given = false;
  std::string traces;
  std::string cwd;
  unsigned jobs = 1;
  bool json = false;
  std::vector<std::string> command;
};

int run_verify(const VerifyArgs& args) {
  BundleSpec spec;
  fs::path spec_dir = fs::current_path();
  if (args.command.empty()) {
    std::error_code ec;
    if (!args.spec_given && !fs::exists(args.spec, ec))
      throw UsageError("verify: no " + args.spec +
                       " in the current directory: give the spec with --spec SPEC, "
                       "or a command to run in the bundle with -- COMMAND [ARGS...]");
    spec = load_spec(args.spec);
    spec_dir = fs::absolute(args.spec).parent_path();
  } else {
    spec.name = "command";
    TestCase test;
    test.name = "command";
    test.argv = args.command;
    test.cwd = args.cwd.empty() ? "/" : args.cwd;
    spec.tests.push_back(test);
  }
  // With --json, stdout holds the JSON document alone: the tests' output goes to stderr.
  VerifyRequest request;
  request.bundle = args.bundle;
  request.spec = spec;
  request.spec_dir = spec_dir;
  request.jobs = std::max(1u, args.jobs);
  if (!args.json && isatty(STDERR_FILENO)) request.on_test_end = print_progress;
  request.stdout_to_stderr = args.json;
  if (!args.traces.empty())
    request.original_traces = fs::absolute(args.traces);
  else if (args.command.empty())
    request.original_traces = spec_dir / ".tracepack" / "traces";
  VerifyResult result = verify_bundle(request);
  std::fputs((args.json ? render_verify_json(result) : render_verify_text(result)).c_str(), stdout);
  return result.passed ? 0 : 1;
}

int run_exec(const std::string& bundle, const std::vector<std::string>& command, const std::string& cwd) {
  SandboxRun run = run_in_bundle(bundle, command, cwd);
  if (!run.error.empty()) std::fprintf(stderr, "tracepack: error: %s (in the bundle)\n", run.error.c_str());
  if (WIFSIGNALED(run.status)) return 128 + WTERMSIG(run.status);
  return WEXITSTATUS(run.status);
}

}  // namespace

Action add_verify_command(CLI::App& app) {
  auto args = std::make_shared<VerifyArgs>();
  auto command = std::make_shared<std::vector<std::string>>();
  CLI::App* cmd = add_command(app, "verify");
  cmd->add_option("bundle", args->bundle, "The bundle: a directory or an archive tracepack wrote")->required();
  CLI::Option* spec = cmd->add_option("--spec", args->spec, "Spec whose tests to run")->capture_default_str();
  cmd->add_option("--traces", args->traces,
                  "Traces the bundle was packed from, to name what is missing (default: .tracepack/traces beside the spec)");
  cmd->add_option("--cwd", args->cwd, "Directory to run the command in, inside the bundle (with a COMMAND)");
  cmd->add_option("-j,--jobs", args->jobs, "Tests run at once")->capture_default_str();
  cmd->add_flag("--json", args->json, "Print the results as JSON on stdout (the tests' own output goes to stderr)");
  take_command_line(cmd, command, "[[--] COMMAND [ARGS...]]");
  cmd->footer(
      "With a COMMAND (the first argument after BUNDLE that is not an option, or the one after --),\n"
      "runs it instead of the spec's tests; it and everything after it are the command's.\n\n" +
      exit_status_footer(
          {{"0", "every test passed in the bundle"}, {"1", "a test failed in the bundle, or an error (message on stderr)"}}));
  return [args, command, spec] {
    args->command = *command;
    args->spec_given = spec->count() > 0;
    return run_verify(*args);
  };
}

Action add_exec_command(CLI::App& app) {
  auto bundle = std::make_shared<std::string>();
  auto cwd = std::make_shared<std::string>();
  auto command = std::make_shared<std::vector<std::string>>();
  CLI::App* cmd = add_command(app, "exec");
  cmd->add_option("bundle", *bundle, "The bundle: a directory or an archive tracepack wrote")->required();
  cmd->add_option("--cwd", *cwd, "Directory to run the command in, inside the bundle (default: its root)");
  take_command_line(cmd, command, "[--] COMMAND [ARGS...]");
  cmd->footer(
      "The command starts at the first argument after BUNDLE that is not an option (or at the one\n"
      "after --); it and everything after it are the command's.\n\n" +
      exit_status_footer({{"N", "the command's exit status; 128 + N when signal N killed it"},
                          {"127", "the command is not in the bundle"},
                          {"1", "the bundle cannot be read or the sandbox built (message on stderr)"}}));
  return [bundle, cwd, command] {
    if (command->empty()) throw UsageError("exec: no command given (usage: tracepack exec [OPTIONS] BUNDLE [--] COMMAND [ARGS...])");
    return run_exec(*bundle, *command, *cwd);
  };
}

}  // namespace tracepack::cli

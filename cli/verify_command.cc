// `tracepack verify BUNDLE` and `tracepack exec BUNDLE COMMAND`: run the
// spec's tests, or one command, in a root that holds only the bundle.
//
// An archive is first extracted (safely: see bundle_extract.h) into a
// temporary directory; a bundle directory is used as it is, read-only; the
// layers of a container image are extracted the same way, in order. Each
// test then runs under `tracepack trace --sandbox`, so that a failure can be
// explained from its trace: find_missing compares the failed lookups with
// the host and with the traces the bundle was packed from.
#include <unistd.h>

#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <system_error>

#include "commands.h"
#include "test_runner.h"
#include "tracepack/bundle_extract.h"
#include "tracepack/error.h"
#include "tracepack/image_reader.h"
#include "tracepack/plan.h"
#include "tracepack/sandbox.h"
#include "verify.h"

namespace tracepack::cli {
namespace {

namespace fs = std::filesystem;

/// A directory made for this run and removed with everything in it.
class ScratchDir {
 public:
  explicit ScratchDir(const char* purpose) {
    const char* tmpdir = std::getenv("TMPDIR");
    std::string pattern = std::string(tmpdir != nullptr && *tmpdir == '/' ? tmpdir : "/tmp") + "/tracepack-" + purpose + ".XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) throw_system_error(pattern + ": cannot create a temporary directory");
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

/// Extracts the layers of the image in the OCI layout `layout` into `root`, in order.
void unpack_image(const fs::path& layout, const std::string& shown, const fs::path& root) {
  for (const std::string& layer : read_image_layers(layout.string(), shown)) extract_bundle(layer, root.string());
}

/// The bundle as a directory tree: itself, an extraction of the archive, or
/// the layers of an image (an OCI layout, or an archive of one) unpacked.
class BundleTree {
 public:
  explicit BundleTree(const std::string& bundle) {
    std::error_code ec;
    fs::file_status status = fs::status(bundle, ec);
    if (ec) throw Error(bundle + ": cannot read the bundle: " + ec.message());
    fs::path tree = bundle;
    if (!fs::is_directory(status)) {
      extracted_.emplace("bundle");
      extract_bundle(bundle, extracted_->path());
      tree = extracted_->path();
    }
    if (is_image_layout(tree.string())) {
      unpacked_.emplace("image");
      unpack_image(tree, bundle + (extracted_ ? ":" : "/"), unpacked_->path());
      tree = unpacked_->path();
    }
    if (!fs::exists(tree / ".tracepack" / "manifest.json"))
      throw Error(bundle + ": not a tracepack bundle (no .tracepack/manifest.json)");
    root_ = fs::absolute(tree).string();
  }
  const std::string& root() const { return root_; }

 private:
  std::optional<ScratchDir> extracted_;
  std::optional<ScratchDir> unpacked_;
  std::string root_;
};

/// The traces a test's files were packed from: NAME.jsonl in `dir`, or,
/// when there is none, a run of the test on the host traced now.
std::vector<Trace> original_traces(const TestRun& run, const VerifyRequest& request, const fs::path& scratch) {
  fs::path file = request.original_traces / (run.test->name + ".jsonl");
  std::error_code ec;
  if (!request.original_traces.empty() && fs::exists(file, ec)) return {read_trace(file.string())};
  BundleSpec one;
  one.tests = {*run.test};
  fs::path host = scratch / "host";
  fs::create_directories(host, ec);
  if (ec) throw Error(host.string() + ": cannot create: " + ec.message());
  std::vector<TestRun> traced = run_tests(one, request.spec_dir, host, {});
  return {read_trace(traced.front().trace_file)};
}

VerifyResult judge(const TestRun& run, const std::string& root, const VerifyRequest& request, const fs::path& scratch) {
  VerifyResult result{run.test->name, false, check_test(run), {}};
  result.passed = result.failure.empty();
  if (result.passed) return result;
  HostFileSystem bundle(root);
  HostFileSystem host;
  result.missing = find_missing(read_trace(run.trace_file), original_traces(run, request, scratch), bundle, host);
  return result;
}

}  // namespace

void check_tests_can_run_in_a_bundle(const BundleSpec& spec, const fs::path& spec_dir) {
  for (const TestCase& test : spec.tests) {
    std::string cwd = test_directory(spec_dir, test);
    std::string root(pseudo_root(cwd));
    if (root.empty()) continue;
    throw Error("test '" + test.name + "' runs in " + cwd + ", under " + root +
                ", a pseudo file system no bundle holds (in the sandbox " + root +
                " is the run's own): move the test's cwd out of " + root);
  }
}

std::vector<VerifyResult> verify_bundle(const VerifyRequest& request) {
  check_tests_can_run_in_a_bundle(*request.spec, request.spec_dir);
  BundleTree tree(request.bundle);
  ScratchDir traces("verify");
  TestRunOptions options{.jobs = request.jobs,
                         .progress = request.progress,
                         .sandbox = tree.root(),
                         .stdout_to_stderr = request.stdout_to_stderr};
  std::vector<TestRun> runs = run_tests(*request.spec, request.spec_dir, traces.path(), options);
  std::vector<VerifyResult> results;
  for (const TestRun& run : runs) results.push_back(judge(run, tree.root(), request, traces.path()));
  return results;
}

std::string verify_text(const std::vector<VerifyResult>& results) {
  std::string text;
  std::vector<MissingFile> all;
  for (const VerifyResult& r : results) {
    text += "test '" + r.test + "': " + (r.passed ? "passed in the bundle" : "FAILED in the bundle: " + r.failure) + "\n";
    for (const MissingFile& m : r.missing) {
      text += "  missing: " + encode_path(m.path) + (m.directory ? "/ (a directory)" : "") + "\n";
      std::string process = "pid " + std::to_string(m.pid) + (m.command.empty() ? "" : " (" + m.command + ")");
      if (m.looked_up) text += "    wanted by " + process + ", " + m.syscall + "\n";
      else
        text += "    read by " + process + ", " + m.syscall + ", in the traced run; the run in the bundle never looked it up\n";
      all.push_back(m);
    }
    if (!r.passed && r.missing.empty())
      text += "  no file the host has and the traced run used was missing: the test fails for another reason\n";
  }
  if (!all.empty()) text += "add to the spec:\n" + include_lines(all);
  return text;
}

nlohmann::json verify_json(const std::vector<VerifyResult>& results) {
  nlohmann::json tests = nlohmann::json::array();
  bool passed = true;
  for (const VerifyResult& r : results) {
    nlohmann::json missing = nlohmann::json::array();
    for (const MissingFile& m : r.missing)
      missing.push_back({{"path", encode_path(m.path)}, {"directory", m.directory}, {"test", m.test}, {"pid", m.pid},
                         {"command", m.command}, {"syscall", m.syscall}, {"looked_up", m.looked_up}});
    tests.push_back({{"test", r.test}, {"passed", r.passed}, {"failure", r.failure}, {"missing", missing}});
    passed = passed && r.passed;
  }
  return {{"format", "tracepack-verify"}, {"version", 1}, {"passed", passed}, {"tests", tests}};
}

namespace {

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
      throw UsageError("verify: no " + args.spec + " in the current directory: give the spec with --spec SPEC, "
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
  VerifyRequest request{args.bundle, &spec, spec_dir, {}, std::max(1u, args.jobs), !args.json && isatty(STDERR_FILENO), args.json};
  if (!args.traces.empty()) request.original_traces = fs::absolute(args.traces);
  else if (args.command.empty()) request.original_traces = spec_dir / ".tracepack" / "traces";
  std::vector<VerifyResult> results = verify_bundle(request);
  bool passed = std::all_of(results.begin(), results.end(), [](const VerifyResult& r) { return r.passed; });
  if (args.json) std::printf("%s\n", verify_json(results).dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  else std::fputs(verify_text(results).c_str(), stdout);
  return passed ? 0 : 1;
}

int run_exec(const std::string& bundle, const std::vector<std::string>& command, const std::string& cwd) {
  BundleTree tree(bundle);
  SandboxRun run = run_in_sandbox(tree.root(), command, cwd);
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
  cmd->footer("With a COMMAND (the first argument after BUNDLE that is not an option, or the one after --),\n"
              "runs it instead of the spec's tests; it and everything after it are the command's.\n\n" +
              exit_status_footer({{"0", "every test passed in the bundle"},
                                  {"1", "a test failed in the bundle, or an error (message on stderr)"}}));
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
  cmd->footer("The command starts at the first argument after BUNDLE that is not an option (or at the one\n"
              "after --); it and everything after it are the command's.\n\n" +
              exit_status_footer({{"N", "the command's exit status; 128 + N when signal N killed it"},
                                  {"127", "the command is not in the bundle"},
                                  {"1", "the bundle cannot be read or the sandbox built (message on stderr)"}}));
  return [bundle, cwd, command] {
    if (command->empty())
      throw UsageError("exec: no command given (usage: tracepack exec [OPTIONS] BUNDLE [--] COMMAND [ARGS...])");
    return run_exec(*bundle, *command, *cwd);
  };
}

}  // namespace tracepack::cli

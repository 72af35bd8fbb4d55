// verify_bundle: run the spec's tests in a root that holds only the bundle,
// and judge each run.
//
// An archive is first extracted (safely: see bundle_extract.h) into a
// temporary directory; a bundle directory is used as it is, read-only; the
// layers of a container image are extracted the same way, in order
// (unpack_image). Each test then runs under `tracepack trace --sandbox`
// (run_tests), so that a failure can be explained from its trace:
// find_missing compares the failed lookups with the host and with the
// traces the bundle was packed from.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <system_error>

#include "tracepack/atomic_file.h"
#include "tracepack/bundle_extract.h"
#include "tracepack/error.h"
#include "tracepack/image_reader.h"
#include "tracepack/plan.h"
#include "tracepack/verify.h"

#include "tracepack/from_image.h"
#include "tracepack/manifest_reader.h"

namespace tracepack {
namespace {

namespace fs = std::filesystem;

/// A directory made for this run under $TMPDIR (else /tmp) and removed with
/// everything in it.
class ScratchDir {
 public:
  explicit ScratchDir(const char* purpose) : dir_(AT_FDCWD, prefix(purpose), AtomicFile::Kind::directory, prefix(purpose) + "XXXXXX") {}
  fs::path path() const { return dir_.name(); }

 private:
  static std::string prefix(const char* purpose) {
    const char* tmpdir = std::getenv("TMPDIR");
    return std::string(tmpdir != nullptr && *tmpdir == '/' ? tmpdir : "/tmp") + "/tracepack-" + purpose + ".";
  }
  AtomicFile dir_;
};

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
      unpack_image(tree.string(), bundle + (extracted_ ? ":" : "/"), unpacked_->path().string());
      tree = unpacked_->path();
    }
    if (!fs::exists(tree / ".tracepack" / "manifest.json")) throw Error(bundle + ": not a tracepack bundle (no .tracepack/manifest.json)");
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
  TestRunOptions on_host;
  on_host.tracepack_program = request.tracepack_program;
  on_host.stdout_to_stderr = request.stdout_to_stderr;  // stdout may hold a JSON document alone
  std::vector<TestRun> traced = run_tests(one, request.spec_dir, host, on_host);
  return {read_trace(traced.front().trace_file)};
}

TestVerdict judge(const TestRun& run, const std::string& root, const VerifyRequest& request,
                  const std::optional<ImageRunEnvironment>& image, const fs::path& scratch) {
  TestVerdict verdict;
  verdict.test = run.test->name;
  verdict.command = test_command(*run.test, image);
  verdict.exit_status = WIFEXITED(run.status) ? WEXITSTATUS(run.status) : 0;
  verdict.signal = WIFSIGNALED(run.status) ? WTERMSIG(run.status) : 0;
  verdict.seconds = run.seconds;
  verdict.failure = check_test(run);
  verdict.passed = verdict.failure.empty();
  if (verdict.passed) return verdict;
  std::error_code ec;
  // An image's test cannot be re-run on the host to learn what it used (the
  // host is not the image): without its original trace, or the image's root
  // to find the files in, nothing is named.
  if (image && (request.image_root.empty() || request.original_traces.empty() ||
                !fs::exists(request.original_traces / (run.test->name + ".jsonl"), ec)))
    return verdict;
  HostFileSystem bundle(root);
  HostFileSystem host = image ? HostFileSystem(request.image_root.string()) : HostFileSystem();
  verdict.missing = find_missing(read_trace(run.trace_file), original_traces(run, request, scratch), bundle, host);
  if (!verdict.missing.empty()) verdict.include_lines = include_lines(verdict.missing);
  return verdict;
}

}  // namespace

void check_tests_can_run_in_a_bundle(const BundleSpec& spec, const fs::path& spec_dir, const std::optional<ImageRunEnvironment>& image) {
  TestRunOptions options;
  options.image = image;
  for (const TestCase& test : spec.tests) {
    std::string cwd = test_directory(spec_dir, test, options);
    std::string root(pseudo_root(cwd));
    if (root.empty()) continue;
    throw Error("test '" + test.name + "' runs in " + cwd + ", under " + root + ", a pseudo file system no bundle holds (in the sandbox " +
                root + " is the run's own): move the test's cwd out of " + root);
  }
}

VerifyResult verify_bundle(const VerifyRequest& request) {
  check_tests_can_run_in_a_bundle(request.spec, request.spec_dir, request.image);  // before the bundle is unpacked
  BundleTree tree(request.bundle);
  // A bundle taken from an image records the environment its tests ran in:
  // the same tests get it again here, unless the caller gives one.
  std::optional<ImageRunEnvironment> image = request.image;
  if (!image) {
    Manifest manifest = read_manifest(tree.root());
    if (manifest.from) image = run_environment(*manifest.from);
    if (image) check_tests_can_run_in_a_bundle(request.spec, request.spec_dir, image);
  }
  ScratchDir traces("verify");
  TestRunOptions options;
  options.jobs = request.jobs;
  options.on_test_end = request.on_test_end;
  options.sandbox = tree.root();
  options.stdout_to_stderr = request.stdout_to_stderr;
  options.tracepack_program = request.tracepack_program;
  options.image = image;
  std::vector<TestRun> runs = run_tests(request.spec, request.spec_dir, traces.path(), options);
  VerifyResult result;
  std::vector<MissingFile> all;
  for (const TestRun& run : runs) {
    TestVerdict verdict = judge(run, tree.root(), request, image, traces.path());
    result.passed = result.passed && verdict.passed;
    all.insert(all.end(), verdict.missing.begin(), verdict.missing.end());
    result.tests.push_back(std::move(verdict));
  }
  if (!all.empty()) result.include_lines = include_lines(all);
  return result;
}

SandboxRun run_in_bundle(const std::string& bundle, const std::vector<std::string>& argv, const std::string& cwd) {
  BundleTree tree(bundle);
  return run_in_sandbox(tree.root(), argv, cwd);
}

}  // namespace tracepack

// Tests run in a container image's root: a small root made here (dash,
// coreutils' id, cat, pwd and env with their ELF closure, an /etc/passwd and
// /etc/group, an /app directory) stands for an unpacked image. run_tests
// with an ImageRunEnvironment runs each test in it under the sandbox: the
// image's environment alone, its working directory, its user, its
// entrypoint + cmd; the traces name paths inside the image, and a file of the
// host is out of sight. `tracepack trace --sandbox --user` resolves the user
// in the root; verify_bundle runs the same tests in that root as a bundle,
// and names what a copy of it lacks by looking in the image's root.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <vector>

#include "cli_test_util.h"
#include "tracepack/elf_closure.h"
#include "tracepack/error.h"
#include "tracepack/sandbox.h"
#include "tracepack/trace.h"
#include "tracepack/tracer.h"
#include "tracepack/verify.h"
#include "tracepack/verify_runner.h"

namespace tracepack {
namespace {

namespace fs = std::filesystem;
using cli_test::exited_with;
using cli_test::read_file;
using cli_test::TempDir;
using cli_test::tracepack;
using cli_test::write_file;

/// Copies the host file `from` (symlinks followed) to `to`, making its directories.
void copy_into(const fs::path& from, const fs::path& to) {
  fs::create_directories(to.parent_path());
  fs::copy_file(from, to, fs::copy_options::overwrite_existing);
}

/// Writes `text` to `path`, making its directories.
void write_new_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  write_file(path.string(), text);
}

/// A root like an unpacked image: /bin/sh (dash), id, cat, pwd and env with
/// the libraries they load, a user app (1000, group app 1000, also in group
/// staff 50), /app/data.txt and /app/sub. Made under the build directory.
class ImageRoot {
 public:
  ImageRoot() {
    std::vector<PathBytes> programs;
    for (const char* name : {"sh", "id", "cat", "pwd", "env"}) {
      fs::path host = fs::canonical(fs::path("/bin") / name);
      copy_into(host, dir_ / ("bin/" + std::string(name)));
      programs.push_back(host.string());
    }
    ElfClosure closure = elf_closure(programs);
    for (const ElfDependency& d : closure.dependencies) {
      copy_into(d.resolved, dir_.path() + d.resolved);
      copy_into(d.resolved, dir_.path() + d.path);
    }
    write_new_file(dir_ / "etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n");
    write_new_file(dir_ / "etc/group", "root:x:0:\nstaff:x:50:app\napp:x:1000:\n");
    write_new_file(dir_ / "app/data.txt", "image data\n");
    fs::create_directories(dir_ / "app/sub");
    // verify_bundle takes a tree for a bundle when it holds a manifest.
    write_new_file(dir_ / ".tracepack/manifest.json", "{}\n");
  }
  const std::string& path() const { return dir_.path(); }

 private:
  TempDir dir_{IMAGE_RUN_TMP_DIR};
};

/// What `id -G` prints for the user app: its group and staff; only its group
/// when not root, as the user namespace denies setgroups.
std::string app_groups() { return geteuid() == 0 ? "1000 50" : "1000"; }

/// A test that runs `argv` and whose standard output is captured.
TestCase test_case(const std::string& name, std::vector<std::string> argv, std::string cwd = "") {
  TestCase t;
  t.name = name;
  t.argv = std::move(argv);
  t.cwd = std::move(cwd);
  t.stdout_text = "";
  return t;
}

/// The access of `trace` to `path`, or nullptr.
const FileAccess* access_to(const Trace& trace, const std::string& path) {
  for (const FileAccess& a : trace.accesses)
    if (a.path == path) return &a;
  return nullptr;
}

class ImageRun : public ::testing::Test {
 protected:
  void SetUp() override {
    // A variable of this process's environment: a test in the image must not see it.
    setenv("TRACEPACK_HOST_MARKER", "host", 1);
    image_.env = {"PATH=/usr/local/bin:/usr/bin:/bin", "GREETING=from the image", "MODE=image"};
    image_.workdir = "/app";
    image_.command = {"/bin/cat", "/app/data.txt"};
  }
  void TearDown() override { unsetenv("TRACEPACK_HOST_MARKER"); }

  /// Runs the tests of `spec` in the root as `image_` says.
  std::vector<TestRun> run_in_image(const BundleSpec& spec) {
    fs::create_directories(traces_);
    TestRunOptions options;
    options.sandbox = root_.path();
    options.image = image_;
    options.tracepack_program = TRACEPACK_BIN;
    return run_tests(spec, project_.path(), traces_, options);
  }

  /// Runs `test` alone in the image and returns its standard output; fails when it does not exit 0.
  std::string output_of(const TestCase& test) {
    BundleSpec spec;
    spec.tests = {test};
    std::vector<TestRun> runs = run_in_image(spec);
    int status = runs.at(0).status;
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << test.name << ": wait status " << status;
    return read_file(runs.at(0).stdout_file);
  }

  ImageRoot root_;
  TempDir project_{IMAGE_RUN_TMP_DIR};
  fs::path traces_ = project_ / "traces";
  ImageRunEnvironment image_;
};

TEST_F(ImageRun, TheEnvironmentIsTheImagesWithTheTestsAdded) {
  ASSERT_STREQ(getenv("TRACEPACK_HOST_MARKER"), "host");
  TestCase t = test_case("env", {"env"});
  t.env = {{"MODE", "test"}, {"EXTRA", "1"}};
  EXPECT_EQ(output_of(t), "EXTRA=1\nGREETING=from the image\nMODE=test\nPATH=/usr/local/bin:/usr/bin:/bin\nPWD=/app\n");
}

TEST_F(ImageRun, TheImagesEnvironmentIsTheTestsNotTheTracers) {
  // An image's TMPDIR names a directory of the image: were it the tracer's,
  // the sandbox's scratch directory would be looked for there on the host.
  image_.env.push_back("TMPDIR=/image-only/tmp");
  TestCase t = test_case("env", {"env"});
  EXPECT_EQ(output_of(t), "GREETING=from the image\nMODE=image\nPATH=/usr/local/bin:/usr/bin:/bin\nPWD=/app\nTMPDIR=/image-only/tmp\n");
}

TEST_F(ImageRun, ATestRunsInTheWorkdirAndARelativeCwdStartsThere) {
  EXPECT_EQ(output_of(test_case("default", {"pwd"})), "/app\n");
  EXPECT_EQ(output_of(test_case("relative", {"pwd"}, "sub")), "/app/sub\n");
  EXPECT_EQ(output_of(test_case("absolute", {"pwd"}, "/etc")), "/etc\n");
  image_.workdir = "";
  EXPECT_EQ(output_of(test_case("no-workdir", {"pwd"})), "/\n");
}

TEST_F(ImageRun, ATestRunsAsTheImagesUser) {
  TestCase t;
  t.name = "ids";
  t.shell = "id -u; id -g; id -G";
  t.stdout_text = "";
  image_.user = "app";
  EXPECT_EQ(output_of(t), "1000\n1000\n" + app_groups() + "\n");
  image_.user = "1000:1000";  // a group given: no supplementary groups
  EXPECT_EQ(output_of(t), "1000\n1000\n1000\n");
  image_.user = "1000";
  EXPECT_EQ(output_of(t), "1000\n1000\n" + app_groups() + "\n");
  image_.user = "";  // root, whoever runs the tests
  EXPECT_EQ(output_of(t), "0\n0\n0\n");
}

TEST_F(ImageRun, ATestWithoutRunOrShellRunsTheEntrypointAndCmdInTheImage) {
  TestCase t;
  t.name = "default";
  t.stdout_text = "image data\n";
  BundleSpec spec;
  spec.tests = {t};
  std::vector<TestRun> runs = run_in_image(spec);
  EXPECT_EQ(check_test(runs.at(0)), "");
  Trace trace = read_trace(runs.at(0).trace_file);
  ASSERT_FALSE(trace.processes.empty());
  ASSERT_FALSE(trace.processes[0].execs.empty());
  const Exec& exec = trace.processes[0].execs[0];
  EXPECT_EQ(exec.path, "/bin/cat");
  EXPECT_EQ(exec.argv, (std::vector<PathBytes>{"/bin/cat", "/app/data.txt"}));
  EXPECT_EQ(exec.cwd, "/app");
  const FileAccess* data = access_to(trace, "/app/data.txt");
  ASSERT_NE(data, nullptr);
  EXPECT_EQ(data->resolved, "/app/data.txt");
  EXPECT_EQ(data->error, 0);
  EXPECT_EQ(data->type, FileType::regular);
}

TEST_F(ImageRun, AFileOfTheHostIsOutOfSight) {
  std::string host_only = project_ / "host-only.txt";
  write_file(host_only, "host\n");
  image_.command = {"/bin/cat", host_only};
  TestCase t;
  t.name = "host";
  t.exit = 1;
  BundleSpec spec;
  spec.tests = {t};
  std::vector<TestRun> runs = run_in_image(spec);
  EXPECT_EQ(check_test(runs.at(0)), "");
  Trace trace = read_trace(runs.at(0).trace_file);
  const FileAccess* seen = access_to(trace, host_only);
  ASSERT_NE(seen, nullptr);
  EXPECT_EQ(seen->error, ENOENT);
}

TEST_F(ImageRun, ACommandIsSearchedInTheImagesPath) {
  write_new_file(root_.path() + "/opt/tools/greet", "#!/bin/sh\necho \"greet $GREETING\"\n");
  fs::permissions(root_.path() + "/opt/tools/greet", fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  image_.env = {"PATH=/opt/tools:/bin", "GREETING=from the image"};
  EXPECT_EQ(output_of(test_case("greet", {"greet"})), "greet from the image\n");
}

TEST_F(ImageRun, ATestWithNothingToRunIsAnErrorBeforeAnyTestRuns) {
  image_.command = {};
  TestCase empty;
  empty.name = "empty";
  BundleSpec spec;
  spec.tests = {test_case("first", {"pwd"}), empty};
  try {
    run_in_image(spec);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "test 'empty': has no run: or shell: and the image has no entrypoint or cmd");
  }
  EXPECT_FALSE(fs::exists(traces_ / "first.jsonl"));
}

// ---------------------------------------------------------------------------
// verify_bundle in an image's root

class ImageVerify : public ImageRun {
 protected:
  VerifyResult verify(const BundleSpec& spec) {
    VerifyRequest request;
    request.bundle = root_.path();
    request.spec = spec;
    request.spec_dir = project_.path();
    request.tracepack_program = TRACEPACK_BIN;
    request.image = image_;
    return verify_bundle(request);
  }
};

TEST_F(ImageVerify, TheTestsPassInTheRootAsABundle) {
  image_.user = "app";
  TestCase ids;
  ids.name = "ids";
  ids.shell = "id -u; id -G; pwd; echo \"$GREETING${TRACEPACK_HOST_MARKER:-}\"";
  ids.cwd = "sub";
  ids.stdout_text = "1000\n" + app_groups() + "\n/app/sub\nfrom the image\n";
  TestCase data;
  data.name = "data";
  data.stdout_text = "image data\n";
  BundleSpec spec;
  spec.tests = {ids, data};
  VerifyResult result = verify(spec);
  EXPECT_TRUE(result.passed) << render_verify_text(result);
  ASSERT_EQ(result.tests.size(), 2u);
  EXPECT_EQ(result.tests[1].command, (std::vector<std::string>{"/bin/cat", "/app/data.txt"}));
  EXPECT_EQ(render_verify_text(result), "test 'ids': passed in the bundle\ntest 'data': passed in the bundle\n");
}

TEST_F(ImageVerify, AFailingTestIsNotRunOnTheHost) {
  // Run on the host, this would write the file; in the image its directory does not exist.
  std::string written = project_ / "written-on-the-host";
  TestCase t;
  t.name = "writes";
  t.shell = "echo x > " + written + "; exit 3";
  BundleSpec spec;
  spec.tests = {t};
  VerifyResult result = verify(spec);
  EXPECT_FALSE(result.passed);
  ASSERT_EQ(result.tests.size(), 1u);
  EXPECT_EQ(result.tests[0].failure, "exit status 3, expected 0");
  EXPECT_TRUE(result.tests[0].missing.empty());
  EXPECT_FALSE(fs::exists(written));
}

TEST_F(ImageVerify, WhatTheBundleLacksIsLookedForInTheImagesRoot) {
  TestCase data;
  data.name = "data";
  data.stdout_text = "image data\n";
  BundleSpec spec;
  spec.tests = {data};
  ASSERT_EQ(check_test(run_in_image(spec).at(0)), "");  // the original trace, in the image
  TempDir bundle{IMAGE_RUN_TMP_DIR};
  fs::copy(root_.path(), bundle.path(), fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  ASSERT_TRUE(fs::remove(bundle / "app/data.txt"));
  VerifyRequest request;
  request.bundle = bundle.path();
  request.spec = spec;
  request.spec_dir = project_.path();
  request.original_traces = traces_;
  request.tracepack_program = TRACEPACK_BIN;
  request.image = image_;
  request.image_root = root_.path();
  VerifyResult result = verify_bundle(request);
  EXPECT_FALSE(result.passed);
  ASSERT_EQ(result.tests.size(), 1u);
  ASSERT_EQ(result.tests[0].missing.size(), 1u);
  EXPECT_EQ(result.tests[0].missing[0].path, "/app/data.txt");
  EXPECT_EQ(result.include_lines, "include:\n  - /app/data.txt\n");
}

// ---------------------------------------------------------------------------
// tracepack trace --sandbox --user

class TraceUser : public ::testing::Test {
 protected:
  cli_test::RunResult trace_as(const std::string& user, const std::vector<std::string>& command) {
    std::vector<std::string> args = {"trace", "-q", "-o", trace_, "--sandbox", root_.path(), "--user", user, "--"};
    args.insert(args.end(), command.begin(), command.end());
    return tracepack(args);
  }
  ImageRoot root_;
  TempDir work_{IMAGE_RUN_TMP_DIR};
  std::string trace_ = work_ / "t.jsonl";
};

TEST_F(TraceUser, ANameRunsAsThatUserWithItsGroups) {
  cli_test::RunResult r = trace_as("app", {"/bin/sh", "-c", "id -u; id -g; id -G"});
  ASSERT_TRUE(exited_with(r, 0));
  EXPECT_EQ(r.out, "1000\n1000\n" + app_groups() + "\n");
  EXPECT_EQ(r.err, "");
}

TEST_F(TraceUser, NotRootTheCallerIsMappedToTheUser) {
  std::vector<std::string> as_nobody;
  if (geteuid() == 0) {
    REQUIRE_PROGRAM("setpriv", "util-linux");
    as_nobody = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
    // nobody must be able to run tracepack at all, which a root directory it
    // may not search (some chroots) forbids.
    cli_test::RunResult usable =
        cli_test::run({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", TRACEPACK_BIN, "help", "trace"});
    if (usable.exit_code != 0) GTEST_SKIP() << "the user nobody cannot run tracepack here: " << usable.err;
  }
  std::string out = work_ / "out";
  fs::create_directory(out);
  fs::permissions(out, fs::perms::all);
  if (!as_nobody.empty()) {
    // nobody must be able to write the trace there: some chroots forbid it a
    // directory of the build whatever its mode says.
    std::vector<std::string> probe = as_nobody;
    probe.insert(probe.end(), {"touch", out + "/probe"});
    cli_test::RunResult touched = cli_test::run(probe);
    if (touched.exit_code != 0) GTEST_SKIP() << "the user nobody cannot create a file in " << out << " here: " << touched.err;
  }
  std::vector<std::string> argv = as_nobody;
  argv.insert(argv.end(), {TRACEPACK_BIN, "trace", "-q", "-o", out + "/t.jsonl", "--sandbox", root_.path(), "--user", "app", "--",
                           "/bin/sh", "-c", "id -u; id -g; id -G"});
  cli_test::RunResult r = cli_test::run(argv);
  ASSERT_TRUE(exited_with(r, 0));
  // One id each way, and no supplementary groups: setgroups is denied.
  EXPECT_EQ(r.out, "1000\n1000\n1000\n");
}

TEST_F(TraceUser, UidAndGidRunAsThem) {
  cli_test::RunResult r = trace_as("1000:1000", {"/bin/sh", "-c", "id -u; id -g; id -G"});
  ASSERT_TRUE(exited_with(r, 0));
  EXPECT_EQ(r.out, "1000\n1000\n1000\n");
}

TEST_F(TraceUser, ANameAndAGroupNameRunAsThem) {
  cli_test::RunResult r = trace_as("app:staff", {"/bin/sh", "-c", "id -u; id -g; id -G"});
  ASSERT_TRUE(exited_with(r, 0));
  EXPECT_EQ(r.out, "1000\n50\n50\n");
}

TEST_F(TraceUser, AnUnknownUserIsAnError) {
  cli_test::RunResult r = trace_as("nobody", {"/bin/id"});
  EXPECT_TRUE(exited_with(r, 1));
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "tracepack: error: user 'nobody': not in " + root_.path() + "'s /etc/passwd\n");
}

TEST_F(TraceUser, AnUnknownGroupIsAnError) {
  cli_test::RunResult r = trace_as("app:wheel", {"/bin/id"});
  EXPECT_TRUE(exited_with(r, 1));
  EXPECT_EQ(r.err, "tracepack: error: group 'wheel': not in " + root_.path() + "'s /etc/group\n");
}

TEST_F(TraceUser, AMalformedUserIsAnError) {
  cli_test::RunResult r = trace_as("app:", {"/bin/id"});
  EXPECT_TRUE(exited_with(r, 1));
  EXPECT_EQ(r.err, "tracepack: error: user 'app:': not a user (NAME, UID, NAME:GROUP or UID:GID)\n");
}

TEST_F(TraceUser, RunInSandboxRunsAsTheUser) {
  SandboxRun ran = run_in_sandbox(root_.path(), {"/bin/sh", "-c", "test \"$(id -u):$(id -g):$(pwd)\" = 1000:50:/app"}, "/app", "app:staff");
  EXPECT_EQ(ran.error, "");
  EXPECT_TRUE(WIFEXITED(ran.status) && WEXITSTATUS(ran.status) == 0) << "wait status " << ran.status;
  try {
    run_in_sandbox(root_.path(), {"/bin/true"}, "", "ghost");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "user 'ghost': not in " + root_.path() + "'s /etc/passwd");
  }
}

TEST_F(TraceUser, TheLibraryRefusesAUserWithoutASandbox) {
  TraceOptions options;
  options.argv = {"/bin/true"};
  options.output = trace_;
  options.user = "app";
  try {
    record_trace(options);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "trace: a user to run as needs a sandbox");
  }
  EXPECT_FALSE(fs::exists(trace_));
}

TEST_F(TraceUser, UserWithoutSandboxIsAUsageError) {
  cli_test::RunResult r = tracepack({"trace", "-q", "-o", trace_, "--user", "app", "--", "/bin/true"});
  EXPECT_TRUE(exited_with(r, 2));
  EXPECT_EQ(r.err, "tracepack: error: trace: --user needs --sandbox\n");
}

}  // namespace
}  // namespace tracepack

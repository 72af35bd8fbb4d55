// The verify library without the CLI: verify_bundle on a directory bundle
// that the packer library wrote from a real trace of a real test (run_tests
// under this build's tracepack), the test run again in the sandbox, passing
// and then failing once a file is taken out of the bundle; and the text and
// JSON renderings of a hand-made VerifyResult, byte for byte.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "cli_test_util.h"
#include "tracepack/error.h"
#include "tracepack/pack.h"
#include "tracepack/spec.h"
#include "tracepack/verify.h"

namespace tracepack {
namespace {

namespace fs = std::filesystem;
using cli_test::TempDir;
using cli_test::write_file;

/// What an observer was told of a test's end.
struct Seen {
  std::size_t done, total;
  std::string test, failure;
};

/// A project (under the build directory) whose one test reads a data file of
/// the project, traced on the host and packed into a directory bundle.
class VerifyLibrary : public ::testing::Test {
 protected:
  void SetUp() override {
    write_file(project_ / "data.txt", "hello\n");
    write_file(project_ / "tracepack.yaml",
               "name: lib\ntests:\n  - name: read\n    run: [/bin/cat, data.txt]\n    stdout: \"hello\\n\"\n"
               "output:\n  path: bundle\n  format: dir\n");
    spec_ = load_spec(project_ / "tracepack.yaml");
    fs::create_directories(project_ / "traces");
    TestRunOptions on_host;
    on_host.tracepack_program = TRACEPACK_BIN;
    std::vector<TestRun> runs = run_tests(spec_, project_.path(), project_ / "traces", on_host);
    ASSERT_EQ(check_test(runs.at(0)), "");
    PackRequest pack;
    pack.spec = spec_;
    pack.trace_files = {runs.at(0).trace_file};
    pack.output = bundle();
    pack.format = "dir";
    pack_bundle(pack, plan_bundle(pack));
  }

  std::string bundle() const { return project_ / "bundle"; }

  VerifyResult verify() {
    VerifyRequest request;
    request.bundle = bundle();
    request.spec = spec_;
    request.spec_dir = project_.path();
    request.original_traces = project_ / "traces";
    request.tracepack_program = TRACEPACK_BIN;
    request.on_test_end = [this](const TestProgress& p) { seen_.push_back({p.done, p.total, p.run->test->name, p.failure}); };
    return verify_bundle(request);
  }

  TempDir project_{VERIFY_TMP_DIR};
  BundleSpec spec_;
  std::vector<Seen> seen_;
};

TEST_F(VerifyLibrary, ATestThatHasWhatItNeedsPasses) {
  VerifyResult result = verify();
  EXPECT_TRUE(result.passed);
  EXPECT_EQ(result.include_lines, "");
  ASSERT_EQ(result.tests.size(), 1u);
  const TestVerdict& t = result.tests[0];
  EXPECT_EQ(t.test, "read");
  EXPECT_EQ(t.command, (std::vector<std::string>{"/bin/cat", "data.txt"}));
  EXPECT_EQ(t.exit_status, 0);
  EXPECT_EQ(t.signal, 0);
  EXPECT_TRUE(t.passed);
  EXPECT_EQ(t.failure, "");
  EXPECT_TRUE(t.missing.empty());
  EXPECT_EQ(t.include_lines, "");
  ASSERT_EQ(seen_.size(), 1u);
  EXPECT_EQ(seen_[0].done, 1u);
  EXPECT_EQ(seen_[0].total, 1u);
  EXPECT_EQ(seen_[0].test, "read");
  EXPECT_EQ(seen_[0].failure, "");
  EXPECT_EQ(render_verify_text(result), "test 'read': passed in the bundle\n");
}

TEST_F(VerifyLibrary, ATestThatLacksAFileFailsAndNamesIt) {
  std::string data = project_ / "data.txt";
  ASSERT_TRUE(fs::remove(bundle() + data));
  VerifyResult result = verify();
  EXPECT_FALSE(result.passed);
  ASSERT_EQ(result.tests.size(), 1u);
  const TestVerdict& t = result.tests[0];
  EXPECT_EQ(t.test, "read");
  EXPECT_EQ(t.exit_status, 1);
  EXPECT_FALSE(t.passed);
  EXPECT_EQ(t.failure, "exit status 1, expected 0");
  ASSERT_EQ(t.missing.size(), 1u);
  const MissingFile& m = t.missing[0];
  EXPECT_EQ(m.path, data);
  EXPECT_FALSE(m.directory);
  EXPECT_EQ(m.test, "read");
  EXPECT_EQ(m.command, "/bin/cat data.txt");
  EXPECT_EQ(m.syscall, "openat");
  EXPECT_TRUE(m.looked_up);
  EXPECT_EQ(t.include_lines, "include:\n  - " + data + "\n");
  EXPECT_EQ(result.include_lines, "include:\n  - " + data + "\n");
  ASSERT_EQ(seen_.size(), 1u);
  EXPECT_EQ(seen_[0].failure, "exit status 1, expected 0");
}

TEST(VerifyLibraryErrors, ABundleWithoutManifestIsRefused) {
  TempDir dir{VERIFY_TMP_DIR};
  VerifyRequest request;
  request.bundle = dir.path();
  request.tracepack_program = TRACEPACK_BIN;
  try {
    verify_bundle(request);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), dir.path() + ": not a tracepack bundle (no .tracepack/manifest.json)");
  }
}

// ---------------------------------------------------------------------------
// The renderings of a hand-made result

VerifyResult hand_made() {
  VerifyResult result;
  result.passed = false;
  TestVerdict ok;
  ok.test = "ok";
  ok.passed = true;
  TestVerdict read;
  read.test = "read";
  read.exit_status = 1;
  read.failure = "exit status 1, expected 0";
  read.missing = {{"/opt/app/data", true, "read", 2, "/bin/cat /opt/app/data/input.txt", "openat", true},
                  {"/usr/lib/python3/m.py", false, "read", 7, "", "openat", false}};
  read.include_lines = "include:\n  - /opt/app/data/**\n  - /usr/lib/python3/m.py\n";
  TestVerdict killed;
  killed.test = "other";
  killed.signal = 9;
  killed.failure = "killed by signal 9";
  result.tests = {ok, read, killed};
  result.include_lines = read.include_lines;
  return result;
}

TEST(RenderVerify, Text) {
  EXPECT_EQ(render_verify_text(hand_made()),
            "test 'ok': passed in the bundle\n"
            "test 'read': FAILED in the bundle: exit status 1, expected 0\n"
            "  missing: /opt/app/data/ (a directory)\n"
            "    wanted by pid 2 (/bin/cat /opt/app/data/input.txt), openat\n"
            "  missing: /usr/lib/python3/m.py\n"
            "    read by pid 7, openat, in the traced run; the run in the bundle never looked it up\n"
            "test 'other': FAILED in the bundle: killed by signal 9\n"
            "  no file the traced run used was missing from the bundle: the test fails for another reason\n"
            "add to the spec:\n"
            "include:\n"
            "  - /opt/app/data/**\n"
            "  - /usr/lib/python3/m.py\n");
}

TEST(RenderVerify, TextOfNoTestsIsEmpty) { EXPECT_EQ(render_verify_text(VerifyResult{}), ""); }

TEST(RenderVerify, Json) {
  EXPECT_EQ(render_verify_json(hand_made()),
            "{\n"
            "  \"format\": \"tracepack-verify\",\n"
            "  \"passed\": false,\n"
            "  \"tests\": [\n"
            "    {\n"
            "      \"failure\": \"\",\n"
            "      \"missing\": [],\n"
            "      \"passed\": true,\n"
            "      \"test\": \"ok\"\n"
            "    },\n"
            "    {\n"
            "      \"failure\": \"exit status 1, expected 0\",\n"
            "      \"missing\": [\n"
            "        {\n"
            "          \"command\": \"/bin/cat /opt/app/data/input.txt\",\n"
            "          \"directory\": true,\n"
            "          \"looked_up\": true,\n"
            "          \"path\": \"/opt/app/data\",\n"
            "          \"pid\": 2,\n"
            "          \"syscall\": \"openat\",\n"
            "          \"test\": \"read\"\n"
            "        },\n"
            "        {\n"
            "          \"command\": \"\",\n"
            "          \"directory\": false,\n"
            "          \"looked_up\": false,\n"
            "          \"path\": \"/usr/lib/python3/m.py\",\n"
            "          \"pid\": 7,\n"
            "          \"syscall\": \"openat\",\n"
            "          \"test\": \"read\"\n"
            "        }\n"
            "      ],\n"
            "      \"passed\": false,\n"
            "      \"test\": \"read\"\n"
            "    },\n"
            "    {\n"
            "      \"failure\": \"killed by signal 9\",\n"
            "      \"missing\": [],\n"
            "      \"passed\": false,\n"
            "      \"test\": \"other\"\n"
            "    }\n"
            "  ],\n"
            "  \"version\": 1\n"
            "}\n");
}

TEST(RenderVerify, ProgressLine) {
  TestCase test;
  test.name = "read";
  TestRun run;
  run.test = &test;
  run.seconds = 1.34;
  EXPECT_EQ(progress_line({2, 5, &run, ""}), "[2/5] read: ok (1.3 s)");
  EXPECT_EQ(progress_line({5, 5, &run, "exit status 1, expected 0"}), "[5/5] read: FAILED (1.3 s)");
}

}  // namespace
}  // namespace tracepack

// End to end: traces without their end record, and damaged bundles, given to
// the real commands. A truncated trace is made as a user makes one: a
// `tracepack trace` child is killed with SIGKILL while its command runs, or a
// complete trace is cut in the middle of a line. Every command that reads a
// trace refuses it with the same message unless --allow-truncated, and then
// warns; a damaged manifest or image index is an error with the file and the
// field, never a crash (the exit status is an error code, not a signal).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "cli_test_util.h"
#include "tracepack/trace.h"

namespace tracepack {
namespace {

namespace fs = std::filesystem;
using namespace cli_test;

const std::string kScratch = INPUT_TMP_DIR;

std::string refused(const std::string& file, const std::string& why = "no end record") {
  return "tracepack: error: " + file + ": truncated trace (" + why +
         "): the traced run was cut short, so a bundle made from it would be incomplete (--allow-truncated uses what it "
         "holds)\n";
}

std::string warned(const std::string& file, const std::string& why = "no end record") {
  return "tracepack: warning: " + file + ": truncated trace (" + why +
         "): the traced run was cut short; using what it holds, the bundle may lack files the run used after the cut\n";
}

/// Success when `r` ended with an error status (not 0, not a signal).
::testing::AssertionResult failed_cleanly(const RunResult& r) {
  if (r.exit_code > 0 && r.exit_code < 128) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << r.command << ": exit " << r.exit_code << "\n" << r.err;
}

/// Runs `tracepack trace -o FILE -- sleep 1000` and kills the tracer with
/// SIGKILL once the trace shows sleep's C library loaded: what a CI job
/// killed at its time limit leaves behind.
void trace_killed_run(const std::string& file) {
  pid_t tracer = fork();
  ASSERT_GE(tracer, 0);
  if (tracer == 0) {
    std::freopen("/dev/null", "w", stdout);
    std::freopen("/dev/null", "w", stderr);
    execl(TRACEPACK_BIN, TRACEPACK_BIN, "trace", "-q", "-o", file.c_str(), "--", "sleep", "1000", nullptr);
    _exit(127);
  }
  // Polled, not timed: the bound only keeps a broken tracer from hanging the test.
  bool loaded = false;
  for (int i = 0; i < 6000 && !loaded; ++i) {
    loaded = read_file(file).find("libc.so.6") != std::string::npos;
    if (!loaded) {
      timespec pause{0, 5'000'000};
      nanosleep(&pause, nullptr);
    }
  }
  kill(tracer, SIGKILL);
  int status = 0;
  waitpid(tracer, &status, 0);
  ASSERT_TRUE(loaded) << "the trace never showed libc.so.6:\n" << read_file(file);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/// A directory holding k.jsonl, the trace of a killed tracer, made once.
class KilledTracer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir(kScratch);
    trace_killed_run(*dir_ / "k.jsonl");
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    ASSERT_FALSE(read_file(trace()).empty());
    ASSERT_EQ(read_file(trace()).find(R"("t":"end")"), std::string::npos) << "the tracer finished its trace";
  }
  static std::string trace() { return *dir_ / "k.jsonl"; }
  static std::string cwd() { return dir_->path(); }

  static TempDir* dir_;
};

TempDir* KilledTracer::dir_ = nullptr;

TEST_F(KilledTracer, PackRefusesIt) {
  TempDir out(kScratch);
  RunResult r = tracepack({"pack", "k.jsonl", "-o", out / "bundle"}, {.cwd = cwd()});
  EXPECT_TRUE(failed_cleanly(r));
  EXPECT_EQ(r.err, refused("k.jsonl"));
  EXPECT_FALSE(fs::exists(out / "bundle"));
}

TEST_F(KilledTracer, PackWithAllowTruncatedPacksWhatItHoldsAndWarns) {
  TempDir out(kScratch);
  RunResult r = tracepack({"pack", "k.jsonl", "-o", out / "bundle", "--allow-truncated"}, {.cwd = cwd()});
  ASSERT_TRUE(exited_with(r, 0));
  EXPECT_NE(r.err.find(warned("k.jsonl")), std::string::npos) << r.err;
  EXPECT_TRUE(fs::exists(out / "bundle/.tracepack/manifest.json"));
  EXPECT_NE(read_file(out / "bundle/.tracepack/manifest.json").find("libc.so.6"), std::string::npos);
}

TEST_F(KilledTracer, ReportRefusesIt) {
  RunResult r = tracepack({"report", "k.jsonl"}, {.cwd = cwd()});
  EXPECT_TRUE(failed_cleanly(r));
  EXPECT_EQ(r.err, refused("k.jsonl"));
  EXPECT_EQ(r.out, "");
}

TEST_F(KilledTracer, ReportWithAllowTruncatedListsTheWarning) {
  RunResult r = tracepack({"report", "k.jsonl", "--format", "json", "--allow-truncated"}, {.cwd = cwd()});
  ASSERT_TRUE(exited_with(r, 0));
  Json report = Json::parse(r.out);
  std::string warning = warned("k.jsonl");
  warning = warning.substr(std::string("tracepack: warning: ").size());
  warning.pop_back();
  ASSERT_TRUE(report["warnings"].is_array()) << r.out;
  EXPECT_EQ(report["warnings"][0], warning) << report["warnings"].dump(2);
}

TEST_F(KilledTracer, WhyRefusesIt) {
  RunResult r = tracepack({"why", "k.jsonl", "/usr/bin/sleep"}, {.cwd = cwd()});
  EXPECT_TRUE(failed_cleanly(r));
  EXPECT_EQ(r.err, refused("k.jsonl"));
  EXPECT_EQ(r.out, "");
}

TEST_F(KilledTracer, WhyWithAllowTruncatedAnswersAndWarns) {
  RunResult r = tracepack({"why", "k.jsonl", "/usr/bin/sleep", "--allow-truncated"}, {.cwd = cwd()});
  ASSERT_TRUE(exited_with(r, 0));
  EXPECT_NE(r.out.find("/usr/bin/sleep"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find(warned("k.jsonl")), std::string::npos) << r.err;
}

TEST_F(KilledTracer, DiffRefusesIt) {
  RunResult r = tracepack({"diff", "k.jsonl", "k.jsonl"}, {.cwd = cwd()});
  EXPECT_TRUE(exited_with(r, 2));
  EXPECT_EQ(r.err, refused("k.jsonl"));
  EXPECT_EQ(r.out, "");
}

TEST_F(KilledTracer, DiffWithAllowTruncatedComparesAndWarns) {
  RunResult r = tracepack({"diff", "k.jsonl", "k.jsonl", "--allow-truncated"}, {.cwd = cwd()});
  ASSERT_TRUE(exited_with(r, 0));
  EXPECT_EQ(r.err, warned("k.jsonl") + warned("k.jsonl"));
}

TEST_F(KilledTracer, MergeRefusesItAndWithAllowTruncatedWritesATruncatedTrace) {
  TempDir out(kScratch);
  RunResult r = tracepack({"merge", "-o", out / "m.jsonl", "k.jsonl"}, {.cwd = cwd()});
  EXPECT_TRUE(failed_cleanly(r));
  EXPECT_EQ(r.err, refused("k.jsonl"));
  EXPECT_FALSE(fs::exists(out / "m.jsonl"));

  r = tracepack({"merge", "-o", out / "m.jsonl", "k.jsonl", "--allow-truncated"}, {.cwd = cwd()});
  ASSERT_TRUE(exited_with(r, 0));
  EXPECT_EQ(r.err, warned("k.jsonl"));
  // The merged trace is as incomplete as its input, and says so in turn.
  r = tracepack({"pack", out / "m.jsonl", "-o", out / "bundle"});
  EXPECT_TRUE(failed_cleanly(r));
  EXPECT_EQ(r.err, refused(out / "m.jsonl"));
}

TEST_F(KilledTracer, SummaryShowsItTruncated) {
  RunResult r = tracepack({"summary", "k.jsonl"}, {.cwd = cwd()});
  ASSERT_TRUE(exited_with(r, 0));
  EXPECT_NE(r.out.find("[truncated"), std::string::npos) << r.out;
}

// ---------------------------------------------------------------------------
// A trace cut in the middle of a line

/// A complete trace of /bin/true in `dir`/t.jsonl, then cut.jsonl: the same
/// without its end record and with the line before cut in half. Returns the
/// number of that cut line.
std::size_t make_cut_trace(const TempDir& dir) {
  RunResult traced = tracepack({"trace", "-q", "-o", dir / "t.jsonl", "--", "/bin/true"});
  EXPECT_TRUE(exited_with(traced, 0));
  std::string text = read_file(dir / "t.jsonl");
  text.pop_back();                                           // the end record's newline
  text.erase(text.rfind('\n') + 1);                          // the end record
  std::size_t last = text.rfind('\n', text.size() - 2) + 1;  // start of the line before it
  text.erase(last + (text.size() - last) / 2);
  write_file(dir / "cut.jsonl", text);
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
}

TEST(CutTrace, PackRefusesItNamingTheCutLine) {
  TempDir dir(kScratch);
  std::size_t line = make_cut_trace(dir);
  std::string why = "line " + std::to_string(line) + " cut short, no end record";
  RunResult r = tracepack({"pack", "cut.jsonl", "-o", dir / "bundle"}, {.cwd = dir.path()});
  EXPECT_TRUE(failed_cleanly(r));
  EXPECT_EQ(r.err, refused("cut.jsonl", why));

  r = tracepack({"pack", "cut.jsonl", "-o", dir / "bundle", "--allow-truncated"}, {.cwd = dir.path()});
  ASSERT_TRUE(exited_with(r, 0));
  EXPECT_NE(r.err.find(warned("cut.jsonl", why)), std::string::npos) << r.err;
}

TEST(CutTrace, ABrokenLineInTheMiddleIsAParseErrorWithFileAndLine) {
  TempDir dir(kScratch);
  make_cut_trace(dir);
  std::string text = read_file(dir / "t.jsonl");
  std::size_t second = text.find('\n') + 1;
  text.insert(second, "{\"t\":\n");
  write_file(dir / "broken.jsonl", text);
  RunResult r = tracepack({"pack", "broken.jsonl", "-o", dir / "bundle", "--allow-truncated"}, {.cwd = dir.path()});
  EXPECT_TRUE(failed_cleanly(r));
  EXPECT_EQ(r.err,
            "tracepack: error: broken.jsonl:2: malformed JSON: syntax error while parsing value - unexpected end "
            "of input; expected '[', '{', or a literal\n");
}

// ---------------------------------------------------------------------------
// Damaged bundles and images: an error naming file and field, not SIGABRT

TEST(MalformedBundle, WhyAndDiffReportAManifestWithANumericFormat) {
  TempDir dir(kScratch);
  fs::create_directories(dir / "b/.tracepack");
  write_file(dir / "b/.tracepack/manifest.json", R"({"format":1})");
  RunResult r = tracepack({"why", "b", "/usr/bin/env"}, {.cwd = dir.path()});
  EXPECT_TRUE(failed_cleanly(r));
  EXPECT_EQ(r.err, "tracepack: error: b/.tracepack/manifest.json: not a tracepack manifest\n");
  r = tracepack({"diff", "b", "b"}, {.cwd = dir.path()});
  EXPECT_TRUE(exited_with(r, 2));
  EXPECT_EQ(r.err, "tracepack: error: b/.tracepack/manifest.json: not a tracepack manifest\n");
}

TEST(MalformedBundle, WhyDiffAndReportNameTheFieldOfTheWrongType) {
  TempDir dir(kScratch);
  fs::create_directories(dir / "b/.tracepack");
  write_file(dir / "b/.tracepack/manifest.json",
             R"({"format":"tracepack-manifest","version":1,"entries":[{"path":"/usr","type":"directory"},{"path":7}]})");
  RunResult r = tracepack({"why", "b", "/usr/bin/env"}, {.cwd = dir.path()});
  EXPECT_TRUE(failed_cleanly(r));
  EXPECT_EQ(r.err, "tracepack: error: b/.tracepack/manifest.json: entries[1].path: expected a string\n");
  r = tracepack({"diff", "b", "b"}, {.cwd = dir.path()});
  EXPECT_TRUE(exited_with(r, 2));
  EXPECT_EQ(r.err, "tracepack: error: b/.tracepack/manifest.json: entries[1].path: expected a string\n");
  r = tracepack({"report", "b"}, {.cwd = dir.path()});
  EXPECT_TRUE(failed_cleanly(r));
  EXPECT_EQ(r.err, "tracepack: error: b:.tracepack/manifest.json: entries[1].path: expected a string\n");
}

TEST(MalformedBundle, VerifyReportsAnImageIndexWithANumericDigest) {
  TempDir dir(kScratch);
  fs::create_directories(dir / "img/blobs/sha256");
  write_file(dir / "img/oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  write_file(dir / "img/index.json", R"({"schemaVersion":2,"manifests":[{"digest":5}]})");
  RunResult r = tracepack({"verify", "img", "--", "/bin/true"}, {.cwd = dir.path()});
  EXPECT_TRUE(failed_cleanly(r));
  EXPECT_EQ(r.err, "tracepack: error: img/index.json: manifests[0].digest: expected a string\n");
}

}  // namespace
}  // namespace tracepack

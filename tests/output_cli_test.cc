// End-to-end tests of where `tracepack pack` and `tracepack build` write:
// what an existing output may be replaced by (a bundle tracepack wrote, an
// empty directory, a regular file for an archive; never someone's directory,
// never an input of the run), the output location checked before anything is
// traced or read, a bundle that fails verification kept beside the output
// while the previous one stays byte-identical, and the same traces giving the
// same bytes in every format without SOURCE_DATE_EPOCH.
//
// Real processes on real files: traces of /bin/true and /bin/echo recorded by
// `tracepack trace`, bundles checked with tar, cmp and diff. The working
// directories live under the build directory (tests that run under /tmp are
// refused by build's verify step). Error text is compared byte for byte.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "cli_test_util.h"

namespace tracepack {
namespace {

namespace fs = std::filesystem;
using namespace cli_test;

const std::string kWork = OUTPUT_TMP_DIR;  ///< under the build directory, not /tmp

std::string trace(const std::string& file, const std::vector<std::string>& command, const std::string& cwd = {}) {
  std::vector<std::string> args = {"trace", "-q", "-o", file, "--"};
  args.insert(args.end(), command.begin(), command.end());
  EXPECT_TRUE(exited_with(tracepack(args, {.cwd = cwd}), 0));
  return file;
}

/// The names in a directory, sorted.
std::set<std::string> names_in(const std::string& dir) {
  std::set<std::string> names;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

/// What `tracepack` printed from its error line on (progress lines come before it).
std::string error_text(const RunResult& r) {
  std::size_t at = r.err.find("tracepack: error: ");
  return at == std::string::npos ? "(no error line in stderr:\n" + r.err + ")" : r.err.substr(at);
}

std::string sha256_of(const std::string& file) {
  RunResult r = run({"sha256sum", file});
  return r.exit_code == 0 ? r.out.substr(0, 64) : "(sha256sum failed: " + r.err + ")";
}

/// A directory with a trace of /bin/true in it.
struct Traced {
  TempDir dir{kWork};
  std::string t = trace(dir / "t.jsonl", {"/bin/true"});
};

const std::string kNotABundle =
    ": not replaced: a directory that is neither empty nor a bundle tracepack wrote (it has no "
    ".tracepack/manifest.json); nothing in it was changed\n";

// ---------------------------------------------------------------------------
// pack: what an existing output may be

TEST(OutputCli, PackRefusesADirectoryThatIsNotABundle) {
  Traced x;
  std::string important = x.dir / "important";
  fs::create_directory(important);
  write_file(important + "/notes.txt", "precious\n");
  for (const char* format : {"dir", "oci"}) {
    RunResult packed = tracepack({"pack", "-f", format, "-o", important, x.t});
    EXPECT_TRUE(exited_with(packed, 1)) << format;
    EXPECT_EQ(packed.err, "tracepack: error: " + important + kNotABundle) << format;
    EXPECT_EQ(names_in(important), std::set<std::string>{"notes.txt"}) << format;
    EXPECT_EQ(read_file(important + "/notes.txt"), "precious\n") << format;
  }
  EXPECT_EQ(names_in(x.dir.path()), (std::set<std::string>{"important", "t.jsonl"})) << "a temporary was left behind";
}

TEST(OutputCli, PackDirNeverReplacesARegularFile) {
  Traced x;
  std::string file = x.dir / "bundle";
  write_file(file, "precious\n");
  RunResult packed = tracepack({"pack", "-o", file, x.t});
  EXPECT_TRUE(exited_with(packed, 1));
  EXPECT_EQ(packed.err, "tracepack: error: " + file + ": exists and is not a directory (the dir format was chosen)\n");
  EXPECT_EQ(read_file(file), "precious\n");
}

TEST(OutputCli, PackArchiveNeverReplacesADirectory) {
  Traced x;
  std::string dir = x.dir / "out.tar";
  fs::create_directory(dir);
  RunResult packed = tracepack({"pack", "-o", dir, x.t});
  EXPECT_TRUE(exited_with(packed, 1));
  EXPECT_EQ(packed.err, "tracepack: error: " + dir + ": is a directory (an archive format was chosen)\n");
  EXPECT_TRUE(fs::is_directory(dir));
}

TEST(OutputCli, PackArchiveReplacesARegularFile) {
  Traced x;
  std::string file = x.dir / "out.tar";
  write_file(file, "an older file\n");
  ASSERT_TRUE(exited_with(tracepack({"pack", "-o", file, x.t}), 0));
  RunResult listed = run({"tar", "-tf", file});
  ASSERT_TRUE(exited_with(listed, 0));
  EXPECT_NE(listed.out.find(".tracepack/manifest.json"), std::string::npos) << listed.out;
}

TEST(OutputCli, PackReplacesAnEmptyDirectory) {
  Traced x;
  std::string dir = x.dir / "bundle";
  fs::create_directory(dir);
  ASSERT_TRUE(exited_with(tracepack({"pack", "-o", dir, x.t}), 0));
  EXPECT_TRUE(fs::is_regular_file(dir + "/.tracepack/manifest.json"));
}

TEST(OutputCli, PackReplacesABundleItWrote) {
  Traced x;
  std::string echo = trace(x.dir / "echo.jsonl", {"/bin/echo", "hi"});
  for (const char* format : {"dir", "oci"}) {
    std::string out = x.dir / (std::string("bundle-") + format);
    ASSERT_TRUE(exited_with(tracepack({"pack", "-f", format, "-o", out, x.t}), 0)) << format;
    std::string index = read_file(out + "/index.json");
    ASSERT_TRUE(exited_with(tracepack({"pack", "-f", format, "-o", out, echo}), 0)) << format;
    if (std::string(format) == "dir") {
      EXPECT_TRUE(fs::exists(out + "/usr/bin/echo"));
      EXPECT_FALSE(fs::exists(out + "/usr/bin/true"));
    } else {
      EXPECT_NE(read_file(out + "/index.json"), index) << "the layout was not replaced";
    }
  }
}

TEST(OutputCli, PackRefusesAnOutputThatHoldsOrIsAnInput) {
  Traced x;
  // A bundle tracepack wrote, which could be replaced, but holds the trace.
  std::string bundle = x.dir / "bundle";
  ASSERT_TRUE(exited_with(tracepack({"pack", "-o", bundle, x.t}), 0));
  std::string inside = trace(bundle + "/inside.jsonl", {"/bin/true"});
  RunResult packed = tracepack({"pack", "-o", bundle, inside});
  EXPECT_TRUE(exited_with(packed, 1));
  EXPECT_EQ(packed.err, "tracepack: error: " + bundle + ": not replaced: it holds " + inside +
                            ", an input of this run (choose an output outside it)\n");
  EXPECT_TRUE(fs::exists(inside));

  std::string bytes = read_file(x.t);
  RunResult over = tracepack({"pack", "-f", "tar", "-o", x.t, x.t});
  EXPECT_TRUE(exited_with(over, 1));
  EXPECT_EQ(over.err, "tracepack: error: " + x.t + ": not replaced: it is " + x.t + ", an input of this run\n");
  EXPECT_EQ(read_file(x.t), bytes);
}

// ---------------------------------------------------------------------------
// build: the spec's directory, the output's directory, verification

/// A spec whose one test touches a marker file (on the host; in the verify
/// sandbox, which lacks the marker's directory, it only succeeds).
struct MarkedSpec {
  TempDir dir{kWork};
  std::string work = dir / "somewhere";
  std::string spec = work + "/spec.yaml";
  std::string marker = dir / "marks/ran";

  explicit MarkedSpec(const std::string& extra = "") {
    fs::create_directories(work);
    fs::create_directories(dir / "marks");
    fs::permissions(dir / "marks", fs::perms::all);  // writable by the unprivileged user below too
    write_file(spec, "name: marked\ntests:\n  - name: t\n    shell: touch " + marker + " 2>/dev/null; true\n" + extra +
                         "output:\n  path: out.tar\n");
  }
};

TEST(OutputCli, BuildRefusesAnOutputHoldingTheSpecBeforeAnyTestRuns) {
  MarkedSpec m;
  // Run from the spec's directory, naming it from its parent.
  RunResult built = tracepack({"build", "spec.yaml", "-o", "../somewhere"}, {.cwd = m.work});
  EXPECT_TRUE(exited_with(built, 1));
  EXPECT_EQ(built.err,
            "tracepack: error: ../somewhere: not replaced: it holds spec.yaml, an input of this run "
            "(choose an output outside it)\n");
  EXPECT_TRUE(fs::exists(m.spec));
  EXPECT_FALSE(fs::exists(m.marker)) << "the test ran before the output was checked";
  EXPECT_EQ(names_in(m.work), std::set<std::string>{"spec.yaml"});

  RunResult parent = tracepack({"build", "spec.yaml", "-o", ".."}, {.cwd = m.work});
  EXPECT_TRUE(exited_with(parent, 1));
  EXPECT_EQ(parent.err, "tracepack: error: ..: not a usable output name (name a file or directory to create)\n");
  EXPECT_TRUE(fs::exists(m.spec));
  EXPECT_FALSE(fs::exists(m.marker));
}

TEST(OutputCli, BuildRefusesADirectoryThatIsNotABundleBeforeAnyTestRuns) {
  MarkedSpec m;
  std::string important = m.dir / "important";
  fs::create_directory(important);
  write_file(important + "/notes.txt", "precious\n");
  RunResult built = tracepack({"build", m.spec, "-o", important});
  EXPECT_TRUE(exited_with(built, 1));
  EXPECT_EQ(built.err, "tracepack: error: " + important + kNotABundle);
  EXPECT_EQ(names_in(important), std::set<std::string>{"notes.txt"});
  EXPECT_FALSE(fs::exists(m.marker));
}

TEST(OutputCli, BuildCreatesAMissingParentDirectory) {
  MarkedSpec m;
  std::string out = m.dir / "dist/a/b/app.tar";
  RunResult built = tracepack({"build", m.spec, "-o", out});
  ASSERT_TRUE(exited_with(built, 0));
  EXPECT_TRUE(fs::exists(m.marker));
  EXPECT_TRUE(exited_with(run({"tar", "-tf", out}), 0));
  EXPECT_EQ(names_in(m.dir / "dist/a/b"), std::set<std::string>{"app.tar"}) << "a staging name was left behind";
}

/// argv run as the unprivileged user "nobody" when this test runs as root
/// (whom a mode 0555 directory does not stop), else unchanged.
std::vector<std::string> unprivileged(std::vector<std::string> argv) {
  if (geteuid() != 0) return argv;
  argv.insert(argv.begin(), {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"});
  return argv;
}

TEST(OutputCli, BuildRefusesAReadOnlyParentBeforeAnyTestRuns) {
  if (geteuid() == 0) {
    REQUIRE_PROGRAM("setpriv", "util-linux");
    // The user nobody must be able to run tracepack's two programs at all,
    // which a root directory it may not search (some chroots) forbids.
    RunResult usable = run(unprivileged({TRACEPACK_BIN, "help", "pack"}));
    if (usable.exit_code != 0) GTEST_SKIP() << "the user nobody cannot run tracepack here: " << usable.err;
  }
  MarkedSpec m;
  std::string locked = m.dir / "locked";
  fs::create_directory(locked);
  fs::permissions(locked, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
  std::string traces = m.dir / "marks/traces";
  RunResult built = run(unprivileged({TRACEPACK_BIN, "build", m.spec, "--traces", traces, "-o", locked + "/app.tar"}));
  EXPECT_TRUE(exited_with(built, 1));
  EXPECT_EQ(built.err, "tracepack: error: " + locked + ": cannot write the bundle there: Permission denied\n");
  EXPECT_FALSE(fs::exists(m.marker)) << "the test ran before the output was checked";
  EXPECT_FALSE(fs::exists(traces)) << "tracing started before the output was checked";

  Traced x;
  RunResult packed = run(unprivileged({TRACEPACK_BIN, "pack", "-o", locked + "/out.tar", x.t}));
  EXPECT_TRUE(exited_with(packed, 1));
  EXPECT_EQ(packed.err, "tracepack: error: " + locked + ": cannot write the bundle there: Permission denied\n");
  EXPECT_TRUE(fs::is_empty(locked));
}

const std::string kWithoutLibc = "exclude: [\"**/libc.so.6\"]\n";

TEST(OutputCli, BuildKeepsThePreviousBundleWhenVerificationFails) {
  TempDir dir{kWork};
  std::string good = dir / "good.yaml", broken = dir / "broken.yaml";
  std::string tests = "tests:\n  - name: t\n    run: [/bin/true]\n";
  write_file(good, "name: app\n" + tests + "output:\n  path: dist/app.tar.zst\n");
  write_file(broken, "name: app\n" + tests + kWithoutLibc + "output:\n  path: dist/app.tar.zst\n");
  std::string out = dir / "dist/app.tar.zst";
  ASSERT_TRUE(exited_with(tracepack({"build", good}), 0));
  std::string before = sha256_of(out);
  fs::copy_file(out, dir / "copy.tar.zst");

  RunResult built = tracepack({"build", broken});
  EXPECT_TRUE(exited_with(built, 1));
  EXPECT_EQ(error_text(built), "tracepack: error: build: the bundle failed verification and did not replace " + out +
                                   " (left as it was); the failed bundle is kept at " + out + ".failed\n");
  EXPECT_EQ(sha256_of(out), before);
  EXPECT_TRUE(exited_with(run({"cmp", out, dir / "copy.tar.zst"}), 0));
  RunResult failed = run({"tar", "-tf", out + ".failed"});
  ASSERT_TRUE(exited_with(failed, 0));
  EXPECT_EQ(failed.out.find("libc.so.6"), std::string::npos) << "the failed bundle is not the broken one";
  EXPECT_EQ(names_in(dir / "dist"), (std::set<std::string>{"app.tar.zst", "app.tar.zst.failed"}));

  // A good build afterwards replaces the output; the failed bundle stays until removed.
  ASSERT_TRUE(exited_with(tracepack({"build", good}), 0));
  EXPECT_EQ(names_in(dir / "dist"), (std::set<std::string>{"app.tar.zst", "app.tar.zst.failed"}));
}

TEST(OutputCli, BuildWithoutAPreviousBundleSaysNothingWasWritten) {
  TempDir dir{kWork};
  std::string spec = dir / "tracepack.yaml";
  write_file(spec, "name: app\ntests:\n  - name: t\n    run: [/bin/true]\n" + kWithoutLibc + "output:\n  path: app\n");
  RunResult built = tracepack({"build", spec});
  EXPECT_TRUE(exited_with(built, 1));
  EXPECT_EQ(error_text(built), "tracepack: error: build: the bundle failed verification and was not written to " + (dir / "app") +
                                   "; the failed bundle is kept at " + (dir / "app.failed") + "\n");
  EXPECT_FALSE(fs::exists(dir / "app"));
  EXPECT_TRUE(fs::is_regular_file(dir / "app.failed/.tracepack/manifest.json"));
  EXPECT_FALSE(fs::exists(dir / "app.failed/usr/lib/x86_64-linux-gnu/libc.so.6"));
}

TEST(OutputCli, BuildNoVerifyPublishesDirectly) {
  TempDir dir{kWork};
  std::string spec = dir / "tracepack.yaml";
  write_file(spec, "name: app\ntests:\n  - name: t\n    run: [/bin/true]\n" + kWithoutLibc + "output:\n  path: app.tar\n");
  ASSERT_TRUE(exited_with(tracepack({"build", spec, "--no-verify"}), 0));
  EXPECT_TRUE(exited_with(run({"tar", "-tf", dir / "app.tar"}), 0));
  EXPECT_FALSE(fs::exists(dir / "app.tar.failed"));
}

// ---------------------------------------------------------------------------
// Reproducible by default

/// `tracepack pack` with SOURCE_DATE_EPOCH removed from the environment.
RunResult pack_without_epoch(const std::string& format, const std::string& out, const std::string& t) {
  return run({"env", "-u", "SOURCE_DATE_EPOCH", TRACEPACK_BIN, "pack", "-f", format, "-o", out, t});
}

TEST(OutputCli, SameTracesGiveTheSameBytesWithoutSourceDateEpoch) {
  // Traced in the directory the bundles are written to: it is in the plan,
  // and writing each bundle changes its modification time.
  TempDir dir{kWork};
  std::string t = trace(dir / "t.jsonl", {"/bin/true"}, dir.path());
  const std::vector<std::string> formats = {"dir", "tar",  "tar.gz", "tar.zst",     "tar.xz",
                                            "zip", "cpio", "oci",    "oci-archive", "docker-archive"};
  for (const std::string& format : formats) ASSERT_TRUE(exited_with(pack_without_epoch(format, dir / ("a." + format), t), 0));
  ASSERT_TRUE(exited_with(run({"sleep", "1.1"}), 0));
  for (const std::string& format : formats) ASSERT_TRUE(exited_with(pack_without_epoch(format, dir / ("b." + format), t), 0));
  for (const std::string& format : formats) {
    std::string a = dir / ("a." + format), b = dir / ("b." + format);
    if (fs::is_directory(a))
      EXPECT_TRUE(exited_with(run({"diff", "-r", "--no-dereference", a, b}), 0)) << format;
    else
      EXPECT_TRUE(exited_with(run({"cmp", a, b}), 0)) << format;
  }
}

}  // namespace
}  // namespace tracepack

// End to end: `tracepack why`, `tracepack diff` and the secrets check of
// `tracepack pack` and `build`, run as child processes. Outputs that have a
// golden file are compared with the same fixtures/expected file as the unit
// tests (the CLI must print what the library renders); error text and exit
// statuses are compared exactly.
//
// Temporary trees live under the build directory; the traces made there
// name it as their working directory, so its files are the project's and
// packed wherever it lies (temporary files elsewhere in /tmp are left out).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <regex>

#include "cli_test_util.h"
#include "review_test_util.h"
#include "tracepack/trace.h"

namespace tracepack {
namespace {

namespace fs = std::filesystem;
using review_test::kFixtures;
using review_test::matches_golden;
using review_test::read_text;
using review_test::write_text;
using namespace cli_test;

/// A temporary tree under the build directory (see above).
class ReviewDir : public TempDir {
 public:
  ReviewDir() : TempDir(REVIEW_TMP_DIR) {}
};

/// A bundle directory holding only fixtures/manifests/NAME.json as its manifest.
void make_manifest_bundle(const std::string& dir, const std::string& name) {
  fs::create_directories(dir + "/.tracepack");
  fs::copy_file(kFixtures + "/manifests/" + name + ".json", dir + "/.tracepack/manifest.json");
}

// ---------------------------------------------------------------------------
// why

TEST(WhyCli, TracePrintsTheChainOfReasons) {
  RunResult r = tracepack({"why", "traces/shell-cat.jsonl", "/usr/bin/dash"}, {.cwd = kFixtures});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(matches_golden("why-traced.txt", r.out));
}

TEST(WhyCli, SpecExcludeRuleIsNamed) {
  RunResult r = tracepack({"why", "traces/shell-cat.jsonl", "/etc/passwd", "--spec", "specs/why-exclude.yaml"}, {.cwd = kFixtures});
  EXPECT_EQ(r.exit_code, 1) << r.err;  // out of the bundle
  EXPECT_TRUE(matches_golden("why-excluded-by-rule.txt", r.out));
}

TEST(WhyCli, BundleAnswersFromItsManifest) {
  ReviewDir tmp;
  make_manifest_bundle(tmp / "new", "new");
  RunResult r = tracepack({"why", tmp / "new", "/opt/app/bin/app"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(matches_golden("why-bundle-in.txt", r.out));
}

TEST(WhyCli, SpecWithABundleIsRefused) {
  ReviewDir tmp;
  make_manifest_bundle(tmp / "new", "new");
  RunResult r = tracepack({"why", "new", "/opt", "--spec", kFixtures + "/specs/why-exclude.yaml"}, {.cwd = tmp.path()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "tracepack: error: why: --spec applies to a trace, not to a bundle (new)\n");
}

// ---------------------------------------------------------------------------
// diff

TEST(DiffCli, EqualBundlesExitZero) {
  ReviewDir tmp;
  make_manifest_bundle(tmp / "a", "old");
  make_manifest_bundle(tmp / "b", "old");
  RunResult r = tracepack({"diff", "a", "b"}, {.cwd = tmp.path()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(matches_golden("diff-equal.txt", r.out));
}

TEST(DiffCli, DifferentBundlesExitOne) {
  ReviewDir tmp;
  make_manifest_bundle(tmp / "old", "old");
  make_manifest_bundle(tmp / "new", "new");
  RunResult r = tracepack({"diff", "old", "new"}, {.cwd = tmp.path()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(matches_golden("diff-old-new.txt", r.out));
}

TEST(DiffCli, FormatJsonPrintsTheDocumentedJson) {
  ReviewDir tmp;
  make_manifest_bundle(tmp / "old", "old");
  make_manifest_bundle(tmp / "new", "new");
  RunResult r = tracepack({"diff", "--format", "json", "old", "new"}, {.cwd = tmp.path()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(matches_golden("diff-old-new.json", r.out));
}

TEST(DiffCli, MissingInputExitsTwo) {
  ReviewDir tmp;
  make_manifest_bundle(tmp / "old", "old");
  RunResult r = tracepack({"diff", "old", "nowhere"}, {.cwd = tmp.path()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "tracepack: error: nowhere: cannot read: No such file or directory\n");
}

TEST(DiffCli, NewerManifestVersionExitsTwo) {
  ReviewDir tmp;
  make_manifest_bundle(tmp / "old", "old");
  make_manifest_bundle(tmp / "future", "future");
  RunResult r = tracepack({"diff", "old", "future"}, {.cwd = tmp.path()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "tracepack: error: future/.tracepack/manifest.json: manifest version 2 is not supported "
            "(this tracepack reads version 1)\n");
}

TEST(DiffCli, FileThatIsNeitherTraceNorBundleExitsTwo) {
  RunResult r = tracepack({"diff", "specs/why-exclude.yaml", "traces/shell-cat.jsonl"}, {.cwd = kFixtures});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.rfind("tracepack: error: specs/why-exclude.yaml: not a trace or a bundle: ", 0), 0u) << r.err;
}

TEST(DiffCli, OneInputExitsTwo) {
  RunResult r = tracepack({"diff", "traces/shell-cat.jsonl"}, {.cwd = kFixtures});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "tracepack: error: diff: two inputs are needed (tracepack diff A B)\n");
}

TEST(DiffCli, UnknownFormatExitsTwo) {
  ReviewDir tmp;
  make_manifest_bundle(tmp / "old", "old");
  RunResult r = tracepack({"diff", "--format", "yaml", "old", "old"}, {.cwd = tmp.path()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "tracepack: error: diff: unknown format 'yaml' (expected text or json)\n");
}

TEST(DiffCli, TraceAgainstItsOwnBundleIsEqual) {
  ReviewDir tmp;
  std::string trace = kFixtures + "/traces/shell-cat.jsonl";
  ASSERT_EQ(tracepack({"pack", trace, "-o", tmp / "b.tar.gz"}).exit_code, 0);
  RunResult r = tracepack({"diff", trace, tmp / "b.tar.gz"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  RunResult two = tracepack({"diff", trace, trace});
  EXPECT_EQ(two.exit_code, 0) << two.out << two.err;
}

TEST(DiffCli, EveryArchiveFormatReadsAsTheSameBundle) {
  ReviewDir tmp;
  std::string trace = kFixtures + "/traces/shell-cat.jsonl";
  ASSERT_EQ(tracepack({"pack", trace, "-o", tmp / "dir"}).exit_code, 0);
  for (const char* name : {"b.tar", "b.tar.zst", "b.tar.xz", "b.zip", "b.cpio"}) {
    ASSERT_EQ(tracepack({"pack", trace, "-o", tmp / name}).exit_code, 0) << name;
    RunResult r = tracepack({"diff", tmp / "dir", tmp / name});
    EXPECT_EQ(r.exit_code, 0) << name << "\n" << r.out << r.err;
    EXPECT_EQ(r.out, "0 added (0 bytes), 0 removed (0 bytes), 0 changed, 11 unchanged\n") << name;
  }
}

TEST(DiffCli, TraceWithSpecAgainstTraceShowsTheRuleChanges) {
  std::string trace = kFixtures + "/traces/shell-cat.jsonl";
  RunResult r = tracepack({"diff", trace, trace, "--spec", kFixtures + "/specs/why-exclude.yaml"});
  EXPECT_EQ(r.exit_code, 0) << "the spec applies to both traces: " << r.out << r.err;
  ReviewDir tmp;
  ASSERT_EQ(tracepack({"pack", trace, "-o", tmp / "plain"}).exit_code, 0);
  ASSERT_EQ(tracepack({"pack", trace, "--spec", kFixtures + "/specs/why-exclude.yaml", "-o", tmp / "ruled"}).exit_code, 0);
  RunResult d = tracepack({"diff", tmp / "plain", tmp / "ruled"});
  EXPECT_EQ(d.exit_code, 1);
  EXPECT_NE(d.out.find("\n+ /etc/debian_version (regular, "), std::string::npos) << d.out;
  EXPECT_EQ(d.out.rfind("- /etc/passwd (regular, ", 0), 0u) << d.out;
}

// ---------------------------------------------------------------------------
// secrets

/// A directory tracepack packs, holding a freshly generated private key and
/// a trace of /usr/bin/cat (pid 4242) reading it.
struct KeyFixture {
  ReviewDir dir;
  std::string key = dir / "server.key";
  std::string trace = dir / "read-key.jsonl";

  KeyFixture() {
    RunResult made = run({"openssl", "genpkey", "-algorithm", "ed25519", "-out", key});
    if (made.exit_code != 0) throw std::runtime_error("openssl genpkey failed: " + made.err);
    Trace t;
    t.run.label = "read-key";
    t.run.argv = {"/usr/bin/cat", key};
    t.run.cwd = dir.path();
    Process p;
    p.id = 1;
    p.pid = 4242;
    p.execs.push_back(Exec{0, "/usr/bin/cat", "/usr/bin/cat", {"cat", key}, dir.path(), {}});
    t.processes.push_back(p);
    t.accesses.push_back(access(1, "execve", AccessKind::exec, "/usr/bin/cat"));
    t.accesses.push_back(access(2, "openat", AccessKind::read, key));
    t.end = RunEnd{};
    write_trace(t, trace);
  }

  static FileAccess access(std::uint64_t id, const std::string& syscall, AccessKind kind, const PathBytes& path) {
    FileAccess a;
    a.id = id;
    a.process = 1;
    a.tid = 4242;
    a.syscall = syscall;
    a.kind = kind;
    a.path = path;
    a.resolved = path;
    a.observed = true;
    a.type = FileType::regular;
    return a;
  }

  std::string spec(const std::string& extra) const {
    std::string file = dir / "app.yaml";
    write_text(file, "name: app\ntests: [{name: read-key, run: [/usr/bin/cat, server.key]}]\noutput: {path: out}\n" + extra);
    return file;
  }
};

TEST(SecretsCli, PackRefusesAPrivateKeyWithItsProvenance) {
  KeyFixture f;
  RunResult r = tracepack({"pack", f.trace, "-o", f.dir / "out"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "tracepack: error: secrets: 1 file(s) to be packed look like secrets:\n"
            "  " +
                f.key +
                ": PEM private key (PRIVATE KEY)\n"
                "    test 'read-key', cat, openat (pid 4242)\n"
                "leave each one out with an 'exclude:' entry in the spec (--spec), or pack it on purpose by "
                "listing its path under 'secrets: allow:' there\n");
  EXPECT_FALSE(fs::exists(f.dir / "out")) << "nothing is written";
}

TEST(SecretsCli, PackWithTheKeyExcludedLeavesItOut) {
  KeyFixture f;
  std::string spec = f.spec("exclude: ['" + f.key + "']\n");
  RunResult r = tracepack({"pack", f.trace, "--spec", spec, "-o", f.dir / "out"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fs::exists(f.dir / "out" + f.key));
  EXPECT_TRUE(fs::exists(f.dir / "out/usr/bin/cat"));
}

TEST(SecretsCli, PackWithTheKeyAllowedPacksIt) {
  KeyFixture f;
  std::string spec = f.spec("secrets:\n  allow: ['" + f.key + "']\n");
  RunResult r = tracepack({"pack", f.trace, "--spec", spec, "-o", f.dir / "out"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_text(f.dir / "out" + f.key), read_text(f.key));
}

TEST(SecretsCli, BuildRefusesAKeyTheTestRead) {
  KeyFixture f;
  std::string spec = f.spec("");
  RunResult r = tracepack({"build", spec, "--traces", f.dir / "traces"});
  EXPECT_EQ(r.exit_code, 1);
  std::size_t at = r.err.find("tracepack: error: ");
  ASSERT_NE(at, std::string::npos) << r.err;
  std::string error = std::regex_replace(r.err.substr(at), std::regex(R"(\(pid [0-9]+\))"), "(pid N)");
  EXPECT_EQ(error,
            "tracepack: error: secrets: 1 file(s) to be packed look like secrets:\n"
            "  " +
                f.key +
                ": PEM private key (PRIVATE KEY)\n"
                "    test 'read-key', cat, openat (pid N)\n"
                "leave each one out with an 'exclude:' entry in " +
                spec +
                ", or pack it on purpose by "
                "listing its path under 'secrets: allow:' there\n");
}

}  // namespace
}  // namespace tracepack

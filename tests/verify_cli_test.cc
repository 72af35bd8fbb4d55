// End-to-end tests of `tracepack verify` and `tracepack exec`: real bundles
// built by `tracepack build` from fixtures/apps, run in the sandbox.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli_test_util.h"

namespace tracepack {
namespace {

namespace fs = std::filesystem;
using namespace cli_test;

const std::string kSpecs = FIXTURE_SRC_DIR "/specs";
const std::string kApps = FIXTURE_SRC_DIR "/apps";  ///< the example applications

/// `python3 -c SCRIPT ARG`: a script that writes or edits the file ARG.
RunResult python(const std::string& script, const std::string& arg) { return run({"python3", "-c", script, arg}); }

/// `tracepack build SPEC` into `dir`: traces in dir/traces, the bundle at dir/NAME.
std::string build(const std::string& spec, const TempDir& dir, const std::string& name) {
  RunResult r = tracepack({"build", spec, "--no-verify", "--traces", dir / "traces", "-o", dir / name});
  if (r.exit_code != 0) throw std::runtime_error("build failed: " + r.err);
  return dir / name;
}

// ---------------------------------------------------------------------------
// exec: the sandbox

// Bash builtins only: the bundle holds bash and what the pipeline uses.
const std::string kProbe =
    "for p in /etc/hostname /root /home /boot /var/lib/dpkg /usr/share/doc \"$0\"; do"
    "  [ -e \"$p\" ] && echo \"visible: $p\"; done;"
    "[ -c /dev/null ] && [ -c /dev/urandom ] && [ -L /dev/fd ] || echo 'no /dev';"
    "echo probe > /tmp/written && [ -s /tmp/written ] || echo 'no writable /tmp';"
    "echo changed > /usr/bin/new-file || echo 'root not writable';"
    "[ $$ -eq 1 ] || echo \"pid $$\";"
    "echo done";

TEST(ExecCli, TheCommandSeesOnlyTheBundle) {
  TempDir dir;
  std::string bundle = build(kApps + "/shell-pipeline/tracepack.yaml", dir, "bundle");
  std::ofstream(dir / "host-marker") << "host";
  RunResult r = tracepack({"exec", bundle, "--", "/bin/bash", "-c", kProbe, dir / "host-marker"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "done\n") << r.err;
  EXPECT_FALSE(fs::exists(bundle + "/usr/bin/new-file")) << "the sandbox wrote into the bundle";
  EXPECT_FALSE(fs::exists(bundle + "/tmp/written"));
}

TEST(ExecCli, WorksForAnUnprivilegedUserWhereTheKernelAllows) {
  TempDir dir;
  std::string bundle = build(kApps + "/shell-pipeline/tracepack.yaml", dir, "bundle.tar");
  std::vector<std::string> as_nobody = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"};
  RunResult reach = run({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", "/bin/sh", "-c",
                      "test -x " TRACEPACK_BIN " && test -r " + bundle});
  if (reach.exit_code != 0) GTEST_SKIP() << "uid 65534 cannot reach " TRACEPACK_BIN " or the bundle (a parent directory is not searchable by others)";
  RunResult userns = run({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", "unshare", "-U", "true"});
  if (userns.exit_code != 0) GTEST_SKIP() << "this kernel forbids user namespaces to unprivileged users: " << userns.err;
  std::vector<std::string> argv = as_nobody;
  argv.insert(argv.end(), {TRACEPACK_BIN, "exec", bundle, "--", "/bin/bash", "-c", kProbe, dir / "host-marker"});
  RunResult r = run(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "done\n") << r.err;
}

TEST(ExecCli, ExitsAsTheCommandDid) {
  TempDir dir;
  std::string bundle = build(kApps + "/shell-pipeline/tracepack.yaml", dir, "bundle");
  EXPECT_EQ(tracepack({"exec", bundle, "--", "/bin/bash", "-c", "exit 7"}).exit_code, 7);
  RunResult missing = tracepack({"exec", bundle, "--", "/usr/bin/not-in-the-bundle"});
  EXPECT_EQ(missing.exit_code, 127);
  EXPECT_EQ(missing.err, "tracepack: error: /usr/bin/not-in-the-bundle: No such file or directory (in the bundle)\n");
}

TEST(ExecCli, NoCommandIsRefused) {
  TempDir dir;
  std::string bundle = build(kApps + "/shell-pipeline/tracepack.yaml", dir, "bundle");
  RunResult r = tracepack({"exec", bundle});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "tracepack: error: exec: no command given (usage: tracepack exec BUNDLE -- COMMAND [ARGS...])\n");
}

TEST(ExecCli, ADirectoryTheBundleLacksIsRefused) {
  TempDir dir;
  std::string bundle = build(kApps + "/shell-pipeline/tracepack.yaml", dir, "bundle");
  RunResult r = tracepack({"exec", bundle, "--cwd", "/not/in/the/bundle", "--", "/bin/bash", "-c", "true"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "tracepack: error: exec: cannot change to directory /not/in/the/bundle in the bundle: No such file or directory\n");
}

// ---------------------------------------------------------------------------
// verify

TEST(VerifyCli, EveryTestPassesInACompleteBundle) {
  TempDir dir;
  std::string bundle = build(kApps + "/shell-pipeline/tracepack.yaml", dir, "bundle.tar.zst");
  RunResult r = tracepack({"verify", bundle, "--spec", kApps + "/shell-pipeline/tracepack.yaml", "--traces", dir / "traces"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "test 'sections': passed in the bundle\ntest 'largest': passed in the bundle\n");
}

std::string canonical(const std::string& path) { return fs::canonical(path).string(); }

// Each of these is loaded by an extension module the test imports (_sqlite3,
// _ssl): without it the test fails, and verify must name exactly that file.
TEST(VerifyCli, RemovingANeededLibraryFailsAndNamesIt) {
  TempDir dir;
  std::string spec = kApps + "/python-stdlib/tracepack.yaml";
  std::string bundle = build(spec, dir, "bundle");
  for (const char* soname : {"libsqlite3.so.0", "libssl.so.3", "libcrypto.so.3"}) {
    std::string library = canonical(std::string("/usr/lib/x86_64-linux-gnu/") + soname);
    ASSERT_TRUE(fs::exists(bundle + library)) << library;
    fs::rename(bundle + library, dir / "removed");
    RunResult r = tracepack({"verify", bundle, "--spec", spec, "--traces", dir / "traces"});
    fs::rename(dir / "removed", bundle + library);
    EXPECT_EQ(r.exit_code, 1) << soname << ": " << r.err;
    EXPECT_NE(r.out.find("test 'stdlib': FAILED in the bundle: exit status 1, expected 0\n  missing: " + library + "\n"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("add to the spec:\ninclude:\n  - " + library + "\n"), std::string::npos) << r.out;
    std::size_t lines = 0;
    for (std::size_t at = 0; (at = r.out.find("  missing: ", at)) != std::string::npos; ++at) ++lines;
    EXPECT_EQ(lines, 1u) << r.out;
  }
  RunResult restored = tracepack({"verify", bundle, "--spec", spec, "--traces", dir / "traces"});
  EXPECT_EQ(restored.exit_code, 0) << restored.out;
}

// A container image is a bundle too: its layers are unpacked in order.
TEST(VerifyCli, ImagesAreVerifiedFromTheirLayers) {
  TempDir dir;
  std::string spec = kApps + "/shell-pipeline/tracepack.yaml";
  for (const char* format : {"oci", "oci-archive", "docker-archive"}) {
    std::string image = dir / (std::string("image.") + format);
    RunResult built = tracepack({"build", spec, "--no-verify", "--traces", dir / "traces", "-f", format, "-o", image});
    ASSERT_EQ(built.exit_code, 0) << built.err;
    RunResult r = tracepack({"verify", image, "--spec", spec, "--traces", dir / "traces"});
    EXPECT_EQ(r.exit_code, 0) << format << ": " << r.err;
    EXPECT_EQ(r.out, "test 'sections': passed in the bundle\ntest 'largest': passed in the bundle\n") << format;
  }
}

TEST(VerifyCli, AnImageWithSeveralManifestsIsRefused) {
  TempDir dir;
  std::string image = dir / "image";
  RunResult built = tracepack({"build", kApps + "/shell-pipeline/tracepack.yaml", "--no-verify", "--traces", dir / "traces", "-f",
                            "oci", "-o", image});
  ASSERT_EQ(built.exit_code, 0) << built.err;
  ASSERT_TRUE(exited_with(python("import json, sys\n"
                                 "p = sys.argv[1] + '/index.json'\n"
                                 "j = json.load(open(p)); j['manifests'] *= 2; json.dump(j, open(p, 'w'))\n",
                                 image),
                          0));
  RunResult r = tracepack({"verify", image, "--", "/bin/true"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "tracepack: error: " + image + "/index.json: manifests: names 2 manifests, tracepack reads images with exactly one\n");
}

// In the sandbox /tmp is the run's own and empty: a test that runs there
// cannot find its files, so build and verify refuse it before running it.
TEST(VerifyCli, ATestRunningUnderTmpIsRefused) {
  TempDir dir;
  write_file(dir / "tracepack.yaml", "name: t\ntests:\n  - name: one\n    run: [/bin/true]\noutput:\n  path: out.tar\n");
  std::string expected = "tracepack: error: test 'one' runs in " + dir.path() + ", under /tmp, which no bundle holds " +
                         "(in the sandbox /tmp is the run's own, empty): move the project or the test's cwd out of /tmp\n";
  RunResult built = tracepack({"build", dir / "tracepack.yaml"});
  EXPECT_EQ(built.exit_code, 1);
  EXPECT_EQ(built.err, expected);
  EXPECT_FALSE(fs::exists(dir / "out.tar")) << "refused before anything was traced or packed";
  ASSERT_EQ(tracepack({"build", dir / "tracepack.yaml", "--no-verify"}).exit_code, 0);
  RunResult verified = tracepack({"verify", dir / "out.tar", "--spec", dir / "tracepack.yaml"});
  EXPECT_EQ(verified.exit_code, 1);
  EXPECT_EQ(verified.err, expected);
}

TEST(VerifyCli, OneCommandAfterDashDash) {
  TempDir dir;
  std::string bundle = build(kApps + "/shell-pipeline/tracepack.yaml", dir, "bundle");
  RunResult ok = tracepack({"verify", bundle, "--", "/bin/bash", "-c", "true"});
  EXPECT_EQ(ok.exit_code, 0);
  EXPECT_EQ(ok.out, "test 'command': passed in the bundle\n");
  // In the C locale, as the bundle was traced: bash then opens no locale file the bundle lacks.
  RunResult failed = run({"env", "-u", "LANG", "-u", "LANGUAGE", "LC_ALL=C", TRACEPACK_BIN, "verify", bundle, "--", "/bin/bash",
                       "-c", "exit 3"});
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_EQ(failed.out,
            "test 'command': FAILED in the bundle: exit status 3, expected 0\n"
            "  no file the host has and the traced run used was missing: the test fails for another reason\n");
}

TEST(VerifyCli, AHostileArchiveIsRefused) {
  TempDir dir;
  std::string archive = dir / "hostile.tar";
  ASSERT_TRUE(exited_with(python("import tarfile, io, sys\n"
                                 "with tarfile.open(sys.argv[1], 'w') as t:\n"
                                 "    i = tarfile.TarInfo('../evil'); i.size = 1; t.addfile(i, io.BytesIO(b'x'))\n",
                                 archive),
                          0));
  RunResult r = tracepack({"verify", archive, "--", "/bin/true"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "tracepack: error: " + archive + ": entry '../evil' refused: path leads outside the bundle (\"..\")\n");
  EXPECT_FALSE(fs::exists("/tmp/evil"));
}

TEST(VerifyCli, ADirectoryWithoutManifestIsNotABundle) {
  TempDir dir;
  RunResult r = tracepack({"verify", dir.path(), "--", "/bin/true"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "tracepack: error: " + dir.path() + ": not a tracepack bundle (no .tracepack/manifest.json)\n");
}

}  // namespace
}  // namespace tracepack

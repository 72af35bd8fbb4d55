// End-to-end tests of `tracepack verify` and `tracepack exec`: real bundles
// built by `tracepack build` from fixtures/apps, run in the sandbox.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
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

/// A project (in /tmp, as on many CI systems) whose test reads a file from
/// another directory under /tmp, with or without an include: rule for it.
struct DataUnderTmp {
  TempDir project{"/tmp"};
  TempDir data{"/tmp"};
  std::string spec = project / "tracepack.yaml";
  explicit DataUnderTmp(bool included) {
    write_file(data / "input.txt", "from /tmp\n");
    // The second test packs /bin/sh, for exec's probe.
    write_file(spec, "name: tmpdata\ntests:\n  - name: read\n    run: [/bin/cat, " + (data / "input.txt") +
                         "]\n    stdout: \"from /tmp\\n\"\n  - name: shell\n    run: [/bin/sh, -c, 'true']\n" +
                         (included ? "include:\n  - " + data.path() + "/**\n" : "") + "output:\n  path: bundle\n  format: dir\n");
  }
  std::string bundle() const { return project / "bundle"; }
};

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
  if (reach.exit_code != 0)
    GTEST_SKIP() << "uid 65534 cannot reach " TRACEPACK_BIN " or the bundle (a parent directory is not searchable by others)";
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
  EXPECT_EQ(r.exit_code, 2);  // a usage error
  EXPECT_EQ(r.err, "tracepack: error: exec: no command given (usage: tracepack exec [OPTIONS] BUNDLE [--] COMMAND [ARGS...])\n");
}

TEST(ExecCli, ADirectoryTheBundleLacksIsRefused) {
  TempDir dir;
  std::string bundle = build(kApps + "/shell-pipeline/tracepack.yaml", dir, "bundle");
  RunResult r = tracepack({"exec", bundle, "--cwd", "/not/in/the/bundle", "--", "/bin/bash", "-c", "true"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "tracepack: error: exec: cannot change to directory /not/in/the/bundle in the bundle: No such file or directory\n");
}

// /tmp in the sandbox is the bundle's (here: what an include: packed),
// writable, and holds nothing else of the host's /tmp; the bundle is unchanged.
TEST(ExecCli, TmpIsTheBundlesWritableAndHoldsNoHostFile) {
  DataUnderTmp d(true);
  ASSERT_EQ(tracepack({"build", d.spec, "--no-verify"}).exit_code, 0);
  write_file(d.data / "host-only.txt", "host\n");
  std::string data = d.data.path();
  RunResult r = tracepack({"exec", d.bundle(), "--", "/bin/sh", "-c",
                           "cd /tmp && for f in * .*; do [ \"$f\" = . ] || [ \"$f\" = .. ] || [ ! -e \"$f\" ] || echo \"tmp: $f\"; done;"
                           "cd " +
                               data +
                               " && for f in *; do echo \"data: $f\"; done;"
                               "[ -k /tmp ] && [ -w /tmp ] && echo new > /tmp/x && /bin/cat /tmp/x;"
                               "echo changed > input.txt && /bin/cat input.txt"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::set<std::string> listed, in_bundle;
  std::string rest;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);)
    if (line.starts_with("tmp: "))
      listed.insert(line.substr(5));
    else
      rest += line + "\n";
  for (const fs::directory_entry& e : fs::directory_iterator(d.bundle() + "/tmp")) in_bundle.insert(e.path().filename());
  EXPECT_EQ(listed, in_bundle) << r.out;
  EXPECT_TRUE(listed.contains(data.substr(5))) << r.out;
  EXPECT_EQ(rest, "data: input.txt\nnew\nchanged\n");
  EXPECT_EQ(read_file(d.bundle() + data + "/input.txt"), "from /tmp\n");
  EXPECT_FALSE(fs::exists(d.bundle() + "/tmp/x"));
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
    EXPECT_NE(r.out.find("test 'stdlib': FAILED in the bundle: exit status 1, expected 0\n  missing: " + library + "\n"), std::string::npos)
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
  RunResult built =
      tracepack({"build", kApps + "/shell-pipeline/tracepack.yaml", "--no-verify", "--traces", dir / "traces", "-f", "oci", "-o", image});
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

// /proc is a pseudo file system: in the sandbox it is the run's own, so a
// test that runs there is refused before anything runs.
TEST(VerifyCli, ATestRunningUnderProcIsRefused) {
  TempDir dir;
  write_file(dir / "tracepack.yaml",
             "name: t\ntests:\n  - name: one\n    run: [/bin/true]\n    cwd: /proc/self\noutput:\n  path: out.tar\n");
  std::string expected =
      "tracepack: error: test 'one' runs in /proc/self, under /proc, a pseudo file system no bundle "
      "holds (in the sandbox /proc is the run's own): move the test's cwd out of /proc\n";
  RunResult built = tracepack({"build", dir / "tracepack.yaml"});
  EXPECT_EQ(built.exit_code, 1);
  EXPECT_EQ(built.err, expected);
  EXPECT_FALSE(fs::exists(dir / "out.tar")) << "refused before anything was traced or packed";
  RunResult verified = tracepack({"verify", dir / "out.tar", "--spec", dir / "tracepack.yaml"});
  EXPECT_EQ(verified.exit_code, 1);
  EXPECT_EQ(verified.err, expected);
}

// A project checked out under /tmp is still the project: its files are
// packed, and its tests run in the bundle.
TEST(VerifyCli, AProjectUnderTmpIsPackedAndVerified) {
  TempDir dir("/tmp");
  fs::create_directories(dir / "data");
  write_file(dir / "data/input.txt", "from the project\n");
  write_file(dir / "tracepack.yaml",
             "name: t\ntests:\n  - name: one\n    run: [/bin/cat, data/input.txt]\n    stdout: \"from the project\\n\"\n"
             "output:\n  path: out\n  format: dir\n");
  RunResult built = tracepack({"build", dir / "tracepack.yaml"});
  ASSERT_EQ(built.exit_code, 0) << built.err;
  EXPECT_EQ(read_file(dir / "out" + dir.path() + "/data/input.txt"), "from the project\n");
  RunResult verified = tracepack({"verify", dir / "out", "--spec", dir / "tracepack.yaml"});
  EXPECT_EQ(verified.exit_code, 0) << verified.err;
  EXPECT_EQ(verified.out, "test 'one': passed in the bundle\n");
}

TEST(VerifyCli, AFileUnderTmpThatAnIncludeNamesIsInTheSandbox) {
  DataUnderTmp d(true);
  RunResult built = tracepack({"build", d.spec});
  ASSERT_EQ(built.exit_code, 0) << built.err;
  EXPECT_EQ(read_file(d.bundle() + d.data.path() + "/input.txt"), "from /tmp\n");
  RunResult verified = tracepack({"verify", d.bundle(), "--spec", d.spec});
  EXPECT_EQ(verified.exit_code, 0) << verified.err;
  EXPECT_EQ(verified.out, "test 'read': passed in the bundle\ntest 'shell': passed in the bundle\n");
}

TEST(VerifyCli, AFileUnderTmpIsLeftOutByDefaultAndVerifyNamesTheIncludeLine) {
  DataUnderTmp d(false);
  ASSERT_EQ(tracepack({"build", d.spec, "--no-verify"}).exit_code, 0);
  EXPECT_FALSE(fs::exists(d.bundle() + d.data.path()));
  RunResult verified = tracepack({"verify", d.bundle(), "--spec", d.spec});
  EXPECT_EQ(verified.exit_code, 1);
  EXPECT_NE(verified.out.find("test 'read': FAILED in the bundle: exit status 1, expected 0\n  missing: " + d.data.path() +
                              "/ (a directory)\n    wanted by pid "),
            std::string::npos)
      << verified.out;
  EXPECT_NE(verified.out.find("add to the spec:\ninclude:\n  - " + d.data.path() + "/**\n"), std::string::npos) << verified.out;
}

TEST(VerifyCli, OneCommandAfterDashDash) {
  TempDir dir;
  std::string bundle = build(kApps + "/shell-pipeline/tracepack.yaml", dir, "bundle");
  RunResult ok = tracepack({"verify", bundle, "--", "/bin/bash", "-c", "true"});
  EXPECT_EQ(ok.exit_code, 0);
  EXPECT_EQ(ok.out, "test 'command': passed in the bundle\n");
  // In the C locale, as the bundle was traced: bash then opens no locale file the bundle lacks.
  RunResult failed =
      run({"env", "-u", "LANG", "-u", "LANGUAGE", "LC_ALL=C", TRACEPACK_BIN, "verify", bundle, "--", "/bin/bash", "-c", "exit 3"});
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_EQ(failed.out,
            "test 'command': FAILED in the bundle: exit status 3, expected 0\n"
            "  no file the traced run used was missing from the bundle: the test fails for another reason\n");
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

// End-to-end tests of `tracepack verify` and `tracepack exec`: real bundles
// built by `tracepack build` from fixtures/specs, run in the sandbox.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace tracepack {
namespace {

namespace fs = std::filesystem;

const std::string kSpecs = FIXTURE_SRC_DIR "/specs";
const std::string kApps = FIXTURE_SRC_DIR "/apps";  ///< the example applications

class TempDir {
 public:
  TempDir() {
    std::string name = "/tmp/tracepack-verify-cli.XXXXXX";
    if (mkdtemp(name.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    chmod(name.c_str(), 0755);  // reachable by the unprivileged user of one test
    path_ = name;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct Result {
  int status = -1;  ///< exit code, or 128 + signal
  std::string out;
  std::string err;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Runs argv with stdin from /dev/null, capturing stdout and stderr.
Result run(const std::vector<std::string>& argv) {
  TempDir io;
  pid_t pid = fork();
  if (pid == 0) {
    int in = open("/dev/null", O_RDONLY);
    int out = open((io / "out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open((io / "err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  Result r;
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(io / "out");
  r.err = slurp(io / "err");
  return r;
}

Result tracepack(std::vector<std::string> args) {
  args.insert(args.begin(), TRACEPACK_BIN);
  return run(args);
}

/// `tracepack build SPEC` into `dir`: traces in dir/traces, the bundle at dir/NAME.
std::string build(const std::string& spec, const TempDir& dir, const std::string& name) {
  Result r = tracepack({"build", spec, "--no-verify", "--traces", dir / "traces", "-o", dir / name});
  if (r.status != 0) throw std::runtime_error("build failed: " + r.err);
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
  Result r = tracepack({"exec", bundle, "--", "/bin/bash", "-c", kProbe, dir / "host-marker"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "done\n") << r.err;
  EXPECT_FALSE(fs::exists(bundle + "/usr/bin/new-file")) << "the sandbox wrote into the bundle";
  EXPECT_FALSE(fs::exists(bundle + "/tmp/written"));
}

TEST(ExecCli, WorksForAnUnprivilegedUserWhereTheKernelAllows) {
  TempDir dir;
  std::string bundle = build(kApps + "/shell-pipeline/tracepack.yaml", dir, "bundle.tar");
  std::vector<std::string> as_nobody = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"};
  Result reach = run({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", "/bin/sh", "-c",
                      "test -x " TRACEPACK_BIN " && test -r " + bundle});
  if (reach.status != 0) GTEST_SKIP() << "uid 65534 cannot reach " TRACEPACK_BIN " or the bundle (a parent directory is not searchable by others)";
  Result userns = run({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", "unshare", "-U", "true"});
  if (userns.status != 0) GTEST_SKIP() << "this kernel forbids user namespaces to unprivileged users: " << userns.err;
  std::vector<std::string> argv = as_nobody;
  argv.insert(argv.end(), {TRACEPACK_BIN, "exec", bundle, "--", "/bin/bash", "-c", kProbe, dir / "host-marker"});
  Result r = run(argv);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "done\n") << r.err;
}

TEST(ExecCli, ExitsAsTheCommandDid) {
  TempDir dir;
  std::string bundle = build(kApps + "/shell-pipeline/tracepack.yaml", dir, "bundle");
  EXPECT_EQ(tracepack({"exec", bundle, "--", "/bin/bash", "-c", "exit 7"}).status, 7);
  Result missing = tracepack({"exec", bundle, "--", "/usr/bin/not-in-the-bundle"});
  EXPECT_EQ(missing.status, 127);
  EXPECT_EQ(missing.err, "tracepack: error: /usr/bin/not-in-the-bundle: No such file or directory (in the bundle)\n");
}

TEST(ExecCli, NoCommandIsRefused) {
  TempDir dir;
  std::string bundle = build(kApps + "/shell-pipeline/tracepack.yaml", dir, "bundle");
  Result r = tracepack({"exec", bundle});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "tracepack: error: exec: no command given (usage: tracepack exec BUNDLE -- COMMAND [ARGS...])\n");
}

TEST(ExecCli, ADirectoryTheBundleLacksIsRefused) {
  TempDir dir;
  std::string bundle = build(kApps + "/shell-pipeline/tracepack.yaml", dir, "bundle");
  Result r = tracepack({"exec", bundle, "--cwd", "/not/in/the/bundle", "--", "/bin/bash", "-c", "true"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err,
            "tracepack: error: exec: cannot change to directory /not/in/the/bundle in the bundle: No such file or directory\n");
}

// ---------------------------------------------------------------------------
// verify

TEST(VerifyCli, EveryTestPassesInACompleteBundle) {
  TempDir dir;
  std::string bundle = build(kApps + "/shell-pipeline/tracepack.yaml", dir, "bundle.tar.zst");
  Result r = tracepack({"verify", bundle, "--spec", kApps + "/shell-pipeline/tracepack.yaml", "--traces", dir / "traces"});
  EXPECT_EQ(r.status, 0) << r.err;
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
    Result r = tracepack({"verify", bundle, "--spec", spec, "--traces", dir / "traces"});
    fs::rename(dir / "removed", bundle + library);
    EXPECT_EQ(r.status, 1) << soname << ": " << r.err;
    EXPECT_NE(r.out.find("test 'stdlib': FAILED in the bundle: exit status 1, expected 0\n  missing: " + library + "\n"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("add to the spec:\ninclude:\n  - " + library + "\n"), std::string::npos) << r.out;
    std::size_t lines = 0;
    for (std::size_t at = 0; (at = r.out.find("  missing: ", at)) != std::string::npos; ++at) ++lines;
    EXPECT_EQ(lines, 1u) << r.out;
  }
  Result restored = tracepack({"verify", bundle, "--spec", spec, "--traces", dir / "traces"});
  EXPECT_EQ(restored.status, 0) << restored.out;
}

// A container image is a bundle too: its layers are unpacked in order.
TEST(VerifyCli, ImagesAreVerifiedFromTheirLayers) {
  TempDir dir;
  std::string spec = kApps + "/shell-pipeline/tracepack.yaml";
  for (const char* format : {"oci", "oci-archive", "docker-archive"}) {
    std::string image = dir / (std::string("image.") + format);
    Result built = tracepack({"build", spec, "--no-verify", "--traces", dir / "traces", "-f", format, "-o", image});
    ASSERT_EQ(built.status, 0) << built.err;
    Result r = tracepack({"verify", image, "--spec", spec, "--traces", dir / "traces"});
    EXPECT_EQ(r.status, 0) << format << ": " << r.err;
    EXPECT_EQ(r.out, "test 'sections': passed in the bundle\ntest 'largest': passed in the bundle\n") << format;
  }
}

TEST(VerifyCli, AnImageWithSeveralManifestsIsRefused) {
  TempDir dir;
  std::string image = dir / "image";
  Result built = tracepack({"build", kApps + "/shell-pipeline/tracepack.yaml", "--no-verify", "--traces", dir / "traces", "-f",
                            "oci", "-o", image});
  ASSERT_EQ(built.status, 0) << built.err;
  ASSERT_EQ(run({"python3", "-c",
                 "import json, sys\n"
                 "p = sys.argv[1] + '/index.json'\n"
                 "j = json.load(open(p)); j['manifests'] *= 2; json.dump(j, open(p, 'w'))\n",
                 image})
                .status,
            0);
  Result r = tracepack({"verify", image, "--", "/bin/true"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "tracepack: error: " + image + ": not an image tracepack can read: index.json must name exactly one manifest\n");
}

TEST(VerifyCli, OneCommandAfterDashDash) {
  TempDir dir;
  std::string bundle = build(kApps + "/shell-pipeline/tracepack.yaml", dir, "bundle");
  Result ok = tracepack({"verify", bundle, "--", "/bin/bash", "-c", "true"});
  EXPECT_EQ(ok.status, 0);
  EXPECT_EQ(ok.out, "test 'command': passed in the bundle\n");
  // In the C locale, as the bundle was traced: bash then opens no locale file the bundle lacks.
  Result failed = run({"env", "-u", "LANG", "-u", "LANGUAGE", "LC_ALL=C", TRACEPACK_BIN, "verify", bundle, "--", "/bin/bash",
                       "-c", "exit 3"});
  EXPECT_EQ(failed.status, 1);
  EXPECT_EQ(failed.out,
            "test 'command': FAILED in the bundle: exit status 3, expected 0\n"
            "  no file the host has and the traced run used was missing: the test fails for another reason\n");
}

TEST(VerifyCli, AHostileArchiveIsRefused) {
  TempDir dir;
  std::string archive = dir / "hostile.tar";
  ASSERT_EQ(run({"python3", "-c",
                 "import tarfile, io, sys\n"
                 "with tarfile.open(sys.argv[1], 'w') as t:\n"
                 "    i = tarfile.TarInfo('../evil'); i.size = 1; t.addfile(i, io.BytesIO(b'x'))\n",
                 archive})
                .status,
            0);
  Result r = tracepack({"verify", archive, "--", "/bin/true"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "tracepack: error: " + archive + ": entry '../evil' refused: path leads outside the bundle (\"..\")\n");
  EXPECT_FALSE(fs::exists("/tmp/evil"));
}

TEST(VerifyCli, ADirectoryWithoutManifestIsNotABundle) {
  TempDir dir;
  Result r = tracepack({"verify", dir.path(), "--", "/bin/true"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "tracepack: error: " + dir.path() + ": not a tracepack bundle (no .tracepack/manifest.json)\n");
}

}  // namespace
}  // namespace tracepack

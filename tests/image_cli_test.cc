// End-to-end tests of the image formats: `tracepack build` and `tracepack
// pack` run as child processes on fixtures/specs/image.yaml (a bash pipeline
// through grep, sed, awk and sort), their images checked with the real
// clients: skopeo (inspect of the layout, the OCI archive and the docker
// archive), umoci (unpack; the rootfs is compared with the bundle's own
// manifest, sha256sum computing every file's digest), and, as root, the
// unpacked image run the way a runtime would: chroot into the rootfs, change
// to the image's working directory, exec its command with its environment.
//
// Each test checks one behaviour and is named after the flag or key it
// exercises. Error messages are compared byte for byte.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli_test_util.h"
#include "tracepack/image_config.h"

namespace tracepack {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace cli_test;

const std::string kSpecs = FIXTURE_SRC_DIR "/specs";
const std::string kImageSpec = kSpecs + "/image.yaml";
const std::string kApps = FIXTURE_SRC_DIR "/apps";
const std::string kTag = "tracepack/image-demo:1.0";
const std::string kEpoch = "1700000000";
const std::string kExpectedOutput = "utils 5 24796\nshells 2 7376\ninterpreters 2 3371\npython 1 627\n";

/// `tracepack build SPEC` into `dir`, with SOURCE_DATE_EPOCH set.
RunResult build(const std::string& spec, const TempDir& dir, const std::string& output, const std::string& format = "") {
  std::vector<std::string> args = {TRACEPACK_BIN, "build", spec, "--traces", dir / "traces", "-o", output};
  if (!format.empty()) args.insert(args.end(), {"-f", format});
  return run(args, {.env = {"SOURCE_DATE_EPOCH=" + kEpoch}});
}

json inspect(const std::string& reference, bool config = false) {
  std::vector<std::string> argv = {"skopeo", "inspect"};
  if (config) argv.push_back("--config");
  argv.push_back(reference);
  RunResult r = run(argv);
  EXPECT_TRUE(exited_with(r, 0));
  return r.exit_code == 0 ? json::parse(r.out) : json();
}

std::string machine_architecture() {
  utsname u{};
  uname(&u);
  return oci_architecture(u.machine);
}

std::string sha256_of(const std::string& path) {
  RunResult r = run({"sha256sum", path});
  return r.exit_code == 0 ? r.out.substr(0, 64) : "(sha256sum failed: " + r.err + ")";
}

/// The unpacked rootfs holds what the bundle's manifest lists, as listed.
void expect_rootfs_matches_manifest(const std::string& rootfs) {
  json manifest = json::parse(read_file(rootfs + "/.tracepack/manifest.json"));
  ASSERT_GT(manifest["entries"].size(), 10u);
  std::set<std::string> listed{"/.tracepack", "/.tracepack/manifest.json"};
  for (const json& e : manifest["entries"]) {
    std::string path = e["path"];
    if (path == "/") continue;
    listed.insert(path);
    std::string p = rootfs + path;
    struct stat st;
    ASSERT_EQ(lstat(p.c_str(), &st), 0) << path;
    std::string type = e["type"];
    if (type == "symlink") {
      EXPECT_TRUE(S_ISLNK(st.st_mode)) << path;
      EXPECT_EQ(fs::read_symlink(p).native(), e["link_target"].get<std::string>()) << path;
      continue;
    }
    EXPECT_EQ(st.st_mode & 07777, e["mode"].get<unsigned>()) << path;
    if (type == "directory") {
      EXPECT_TRUE(S_ISDIR(st.st_mode)) << path;
    } else {
      ASSERT_TRUE(S_ISREG(st.st_mode)) << path;
      EXPECT_EQ(sha256_of(p), e["sha256"].get<std::string>()) << path;
    }
  }
  std::set<std::string> found;
  for (auto it = fs::recursive_directory_iterator(rootfs); it != fs::recursive_directory_iterator(); ++it)
    found.insert(it->path().native().substr(rootfs.size()));
  EXPECT_EQ(found, listed);
}

/// Runs the unpacked image's process (umoci's runtime config) in its rootfs.
RunResult run_image(const std::string& bundle) {
  json process = json::parse(read_file(bundle + "/config.json"))["process"];
  std::string rootfs = bundle + "/rootfs";
  std::string cwd = process["cwd"];
  std::vector<std::string> args = process["args"];
  std::vector<std::string> env = process["env"];
  TempDir capture;
  std::string out = capture / "out";
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || dup2(fd, 1) < 0 || chroot(rootfs.c_str()) != 0 || chdir(cwd.c_str()) != 0) _exit(125);
    std::vector<char*> cargv, cenv;
    for (std::string& a : args) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    for (std::string& e : env) cenv.push_back(e.data());
    cenv.push_back(nullptr);
    execve(cargv[0], cargv.data(), cenv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  RunResult r;
  r.command = "chroot " + rootfs + " " + args[0];
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_file(out);
  return r;
}

// ---------------------------------------------------------------------------
// The formats

TEST(BuildImage, SpecOutputFormatOciArchiveInspectsWithSkopeo) {
  REQUIRE_PROGRAM("skopeo", "skopeo");
  TempDir dir;
  std::string output = dir / "image-demo.oci.tar";
  RunResult built = build(kImageSpec, dir, output);  // the format comes from output.format
  ASSERT_TRUE(exited_with(built, 0));
  EXPECT_NE(built.err.find("(oci-archive,"), std::string::npos) << built.err;
  json image = inspect("oci-archive:" + output + ":" + kTag);
  EXPECT_EQ(image["Architecture"], machine_architecture());
  EXPECT_EQ(image["Os"], "linux");
  EXPECT_EQ(image["Created"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(image["Labels"], json({{"org.opencontainers.image.title", "image-demo"}}));
  json config = inspect("oci-archive:" + output + ":" + kTag, true)["config"];
  EXPECT_EQ(config["Cmd"], json({"/bin/bash", "pipeline.sh", "inventory.txt"}));
  EXPECT_EQ(config["WorkingDir"], fs::canonical(kApps + "/shell-pipeline").string());
  EXPECT_EQ(config["Env"], json({"LC_ALL=C", "PATH=/usr/bin:/bin"}));  // PATH: the test's
  EXPECT_EQ(config["ExposedPorts"], json({{"8080/tcp", json::object()}}));
}

TEST(BuildImage, FormatOciUnpacksWithUmociAndRuns) {
  REQUIRE_PROGRAM("umoci", "umoci");
  TempDir dir;
  std::string layout = dir / "layout";
  ASSERT_TRUE(exited_with(build(kImageSpec, dir, layout, "oci"), 0));
  std::string bundle = dir / "bundle";
  RunResult unpacked = run({"umoci", "unpack", "--image", layout + ":" + kTag, bundle});
  ASSERT_TRUE(exited_with(unpacked, 0));
  expect_rootfs_matches_manifest(bundle + "/rootfs");
  EXPECT_TRUE(fs::exists(bundle + "/rootfs/usr/bin/sort"));
  EXPECT_TRUE(fs::exists(bundle + "/rootfs" + fs::canonical(kApps + "/shell-pipeline").string() + "/pipeline.sh"));
  if (geteuid() != 0) GTEST_SKIP() << "running the unpacked image needs chroot, so root";
  RunResult ran = run_image(bundle);
  EXPECT_TRUE(exited_with(ran, 0));
  EXPECT_EQ(ran.out, kExpectedOutput);
}

TEST(BuildImage, FormatDockerArchiveInspectsWithSkopeo) {
  REQUIRE_PROGRAM("skopeo", "skopeo");
  TempDir dir;
  std::string output = dir / "image-demo.docker.tar";
  ASSERT_TRUE(exited_with(build(kImageSpec, dir, output, "docker-archive"), 0));
  json image = inspect("docker-archive:" + output + ":" + kTag);  // found by manifest.json's RepoTags
  EXPECT_EQ(image["Architecture"], machine_architecture());
  EXPECT_EQ(image["Labels"], json({{"org.opencontainers.image.title", "image-demo"}}));
  RunResult other = run({"skopeo", "inspect", "docker-archive:" + output + ":tracepack/image-demo:2.0"});
  EXPECT_NE(other.exit_code, 0) << "a tag the archive does not have";
  // The same file is a valid OCI archive.
  EXPECT_EQ(inspect("oci-archive:" + output + ":" + kTag)["Labels"], json({{"org.opencontainers.image.title", "image-demo"}}));
}

TEST(PackImage, FormatFlagWithoutSpecTakesTheTracesDefaults) {
  REQUIRE_PROGRAM("skopeo", "skopeo");
  TempDir dir;
  std::string trace = dir / "echo.jsonl";
  ASSERT_TRUE(exited_with(run({TRACEPACK_BIN, "trace", "-q", "-o", trace, "--", "/bin/echo", "hi"}), 0));
  std::string output = dir / "echo.oci";
  RunResult packed = run({TRACEPACK_BIN, "pack", trace, "-f", "oci", "-o", output});
  ASSERT_TRUE(exited_with(packed, 0));
  std::string digest = json::parse(read_file(output + "/index.json"))["manifests"][0]["digest"];
  EXPECT_NE(packed.err.find("(oci, "), std::string::npos) << packed.err;
  EXPECT_NE(packed.err.find("\ntracepack:   image " + digest + "\n"), std::string::npos) << packed.err;
  json config = inspect("oci:" + output + ":bundle:latest", true);
  EXPECT_EQ(config["architecture"], machine_architecture());
  EXPECT_EQ(config["config"]["Cmd"], json({"/bin/echo", "hi"}));
  EXPECT_EQ(config["config"]["WorkingDir"], fs::current_path().string());
  EXPECT_EQ(config["config"]["Env"], json({"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}));
}

TEST(PackImage, SameTracesAndEpochGiveTheSameDigests) {
  TempDir dir;
  ASSERT_TRUE(exited_with(build(kImageSpec, dir, dir / "first.tar", "tar"), 0));
  std::string trace = dir / "traces/sections.jsonl";
  for (std::string format : {"oci-archive", "docker-archive"}) {
    SCOPED_TRACE(format);
    std::vector<std::string> pack = {TRACEPACK_BIN, "pack", trace, "-s", kImageSpec, "-f", format};
    ASSERT_TRUE(exited_with(
        run({pack[0], pack[1], pack[2], pack[3], pack[4], pack[5], pack[6], "-o", dir / "a"}, {.env = {"SOURCE_DATE_EPOCH=" + kEpoch}}),
        0));
    sleep(1);
    ASSERT_TRUE(exited_with(
        run({pack[0], pack[1], pack[2], pack[3], pack[4], pack[5], pack[6], "-o", dir / "b"}, {.env = {"SOURCE_DATE_EPOCH=" + kEpoch}}),
        0));
    EXPECT_TRUE(exited_with(run({"cmp", dir / "a", dir / "b"}), 0));
    ASSERT_TRUE(exited_with(
        run({pack[0], pack[1], pack[2], pack[3], pack[4], pack[5], pack[6], "-o", dir / "c"}, {.env = {"SOURCE_DATE_EPOCH=1700000001"}}),
        0));
    EXPECT_FALSE(exited_with(run({"cmp", "-s", dir / "a", dir / "c"}), 0)) << "another epoch, another image";
  }
}

// ---------------------------------------------------------------------------
// Errors

std::string spec_with_image(const TempDir& dir, const std::string& image) {
  write_file(dir / "image.yaml",
             "name: img\n"
             "tests:\n"
             "  - name: ok\n"
             "    run: [/bin/true]\n"
             "image:\n" +
                 image +
                 "output:\n"
                 "  path: out.oci\n"
                 "  format: oci\n");
  return dir / "image.yaml";
}

TEST(BuildImage, UnknownLayerCompressionIsRefused) {
  TempDir dir;
  RunResult built = build(spec_with_image(dir, "  layer_compression: bzip2\n"), dir, dir / "out.oci");
  EXPECT_TRUE(exited_with(built, 1));
  EXPECT_EQ(built.err,
            "tracepack: error: " + (dir / "image.yaml") + ":6:22: unknown layer compression 'bzip2' (expected one of: none, gzip, zstd)\n");
  EXPECT_FALSE(fs::exists(dir / "out.oci"));
}

TEST(BuildImage, MisspeltImageKeyIsRefusedWithDidYouMean) {
  TempDir dir;
  RunResult built = build(spec_with_image(dir, "  exposed_port: [80]\n  workdir: 3\n"), dir, dir / "out.oci");
  EXPECT_TRUE(exited_with(built, 1));
  EXPECT_EQ(built.err, "tracepack: error: " + (dir / "image.yaml") + ":6:3: unknown key 'exposed_port' (did you mean 'exposed_ports'?)\n" +
                           (dir / "image.yaml") + ":7:12: 'workdir' must be an absolute path, not '3'\n");
  EXPECT_FALSE(fs::exists(dir / "traces")) << "a test ran although the spec is invalid";
}

TEST(BuildImage, InvalidTagIsRefused) {
  TempDir dir;
  RunResult built = build(spec_with_image(dir, "  tag: Image:latest\n"), dir, dir / "out.oci");
  EXPECT_TRUE(exited_with(built, 1));
  EXPECT_EQ(built.err, "tracepack: error: " + (dir / "image.yaml") +
                           ":6:8: invalid image tag 'Image:latest': the name must be lower-case letters and digits "
                           "joined by '.', '_', '__' or '-', in components separated by '/'\n");
  EXPECT_FALSE(fs::exists(dir / "traces")) << "a test ran although the spec is invalid";
}

TEST(BuildImage, UnknownFormatListsTheImageFormats) {
  TempDir dir;
  RunResult built = build(kImageSpec, dir, dir / "out", "oci-tar");
  EXPECT_TRUE(exited_with(built, 1));
  EXPECT_EQ(built.err,
            "tracepack: error: oci-tar: unknown bundle format (use dir, tar, tar.gz, tar.zst, tar.xz, zip, cpio, oci, "
            "oci-archive, docker-archive)\n");
}

}  // namespace
}  // namespace tracepack

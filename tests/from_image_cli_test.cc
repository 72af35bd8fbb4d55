// End-to-end tests of `from:`: tracepack build, pack, verify and report run
// as child processes on a real multi-layer base image, built once per suite
// by fixtures/images/make-base-image.sh from this machine's Debian packages
// with umoci (a layer that deletes a file, one that replaces a file, one that
// makes a directory opaque) and converted with skopeo. What tracepack writes
// is read back by the real clients: skopeo inspect for the output image's
// configuration, umoci unpack and a chroot for running it.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "cli_test_util.h"

namespace tracepack {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace cli_test;

const std::string kScript = FIXTURE_SRC_DIR "/images/make-base-image.sh";
const std::string kHello = "hello, tracepack!\nremoved.txt: absent\nmotd v2\n";

/// The spec of the tests below: the image's entrypoint, its environment and
/// user, and a file that exists only on the host.
std::string app_spec(const std::string& from, const std::string& host_file) {
  return "name: app\n"
         "from: " +
         from +
         "\n"
         "tests:\n"
         "  - name: entrypoint\n"
         "    stdout: \"hello, tracepack!\\nremoved.txt: absent\\nmotd v2\\n\"\n"
         "  - name: environment\n"
         "    shell: 'echo \"$GREETING $PWD $(id -un) $(id -u):$(id -g)\"; echo \"marker=${TRACEPACK_HOST_MARKER:-unset}\"; "
         "cat data/old.txt 2>/dev/null || echo \"old.txt: absent\"'\n"
         "    stdout: \"hello /app app 1000:1000\\nmarker=unset\\nold.txt: absent\\n\"\n"
         "  - name: host-file\n"
         "    run: [/usr/bin/cat, " +
         host_file +
         "]\n"
         "    exit: 1\n"
         "image:\n"
         "  tag: app/min:1.0\n"
         "  labels: {org.example.extra: added}\n"
         "sbom: [cyclonedx]\n"
         "output:\n"
         "  path: out\n"
         "  format: oci\n";
}

/// The paths and digests of a bundle's manifest, .tracepack/ aside.
std::map<std::string, std::string> entries_of(const json& manifest) {
  std::map<std::string, std::string> entries;
  for (const json& e : manifest["entries"]) entries[e["path"].get<std::string>()] = e.value("sha256", e.value("link_target", ""));
  return entries;
}

class FromImageCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir(FROM_IMAGE_TMP_DIR);
    RunResult made =
        run({kScript, "--oci-archive", *dir_ / "base-oci.tar", "--docker-archive", *dir_ / "base-docker.tar", *dir_ / "base", "1.0"});
    if (made.exit_code != 0) {
      ADD_FAILURE() << made.command << ": " << made.err;
      return;
    }
    write_file(*dir_ / "host-only.txt", "on the host only\n");
    write_file(*dir_ / "app.yaml", app_spec("base:1.0", *dir_ / "host-only.txt"));
    built_ = new RunResult(run({TRACEPACK_BIN, "build", *dir_ / "app.yaml"}, {.env = {"TRACEPACK_HOST_MARKER=set"}}));
    RunResult unpacked = run({"umoci", "unpack", "--image", *dir_ / "out:app/min:1.0", *dir_ / "unpacked"});
    if (unpacked.exit_code != 0) ADD_FAILURE() << unpacked.command << ": " << unpacked.err;
  }
  /// The output image's manifest, from its layer as umoci unpacked it.
  static json built_manifest() { return json::parse(read_file(*dir_ / "unpacked/rootfs/.tracepack/manifest.json")); }
  static void TearDownTestSuite() {
    delete built_;
    delete dir_;
  }
  void SetUp() override {
    if (built_ == nullptr) GTEST_SKIP() << "the base image could not be built";
  }

  // The checks of one build from an OCI layout, each a step of the test below
  // (each TEST is a process of its own: the image and the build are made once).
  void BuildTracesTheTestsInTheImageAndVerifiesTheMinimalImage();
  void BuildSaysHowMuchSmallerTheImageGot();
  void WhatALaterLayerDeletedIsAbsentFromTheTestsAndTheBundle();
  void AHostFileIsInvisibleToTheTestsAndNeverPacked();
  void TheOutputImageKeepsTheBaseConfigWithTheSpecsOverrides();
  void TheMinimalImageUnpackedByUmociRuns();
  void VerifyAloneRunsTheTestsWithTheImagesEnvironment();
  void PackagesAreTheImagesOwn();
  void PackFromTheTracesReadsTheImage();
  void WhyAndReportReadTheImage();
  void TheSbomNamesTheImagesPackages();

  static TempDir* dir_;
  static RunResult* built_;
};

TempDir* FromImageCli::dir_ = nullptr;
RunResult* FromImageCli::built_ = nullptr;

void FromImageCli::BuildTracesTheTestsInTheImageAndVerifiesTheMinimalImage() {
  ASSERT_TRUE(exited_with(*built_, 0));
  EXPECT_NE(built_->err.find("tracepack: from " + *dir_ / "base:1.0 (oci-layout): "), std::string::npos) << built_->err;
  EXPECT_NE(built_->err.find("tracepack: verify: test 'entrypoint': passed in the bundle"), std::string::npos) << built_->err;
  EXPECT_NE(built_->err.find("tracepack: verify: test 'environment': passed in the bundle"), std::string::npos) << built_->err;
}

void FromImageCli::BuildSaysHowMuchSmallerTheImageGot() {
  json report = report_json(*dir_ / "out");
  ASSERT_TRUE(report["input"]["from"].is_object()) << report["input"].dump();
  std::uint64_t base = report["input"]["from"]["bytes"], bundle = report["totals"]["bytes"];
  EXPECT_GT(base, 5 * bundle);  // the base holds all of coreutils; the tests used a few programs
  char line[160];
  std::snprintf(line, sizeof line, "tracepack:   from %.1f MB (the base image, uncompressed) to %.1f MB\n", base / 1e6, bundle / 1e6);
  EXPECT_NE(built_->err.find(line), std::string::npos) << built_->err;
  RunResult text = tracepack({"report", *dir_ / "out"});
  ASSERT_TRUE(exited_with(text, 0));
  EXPECT_NE(text.out.find("base image     " + *dir_ / "base:1.0 (oci-layout): from "), std::string::npos) << text.out;
}

void FromImageCli::WhatALaterLayerDeletedIsAbsentFromTheTestsAndTheBundle() {
  std::map<std::string, std::string> entries = entries_of(built_manifest());
  EXPECT_TRUE(entries.contains("/app/hello"));
  EXPECT_TRUE(entries.contains("/app/motd"));
  EXPECT_TRUE(entries.contains("/app/data/name.txt"));
  EXPECT_FALSE(entries.contains("/app/removed.txt"));   // a whiteout
  EXPECT_FALSE(entries.contains("/app/data/old.txt"));  // below an opaque directory
  EXPECT_FALSE(entries.contains("/usr/bin/sort"));      // in the image, never used
}

void FromImageCli::AHostFileIsInvisibleToTheTestsAndNeverPacked() {
  std::string trace = read_file(*dir_ / ".tracepack/traces/host-file.jsonl");
  std::string host_file = *dir_ / "host-only.txt";
  std::string quoted = "\"path\":\"" + host_file + "\"";
  ASSERT_NE(trace.find(quoted), std::string::npos) << trace;
  std::string line = trace.substr(trace.rfind('\n', trace.find(quoted)) + 1);
  line = line.substr(0, line.find('\n'));
  EXPECT_NE(line.find("\"error\":\"ENOENT\""), std::string::npos) << line;
  EXPECT_FALSE(entries_of(built_manifest()).contains(host_file));
}

void FromImageCli::TheOutputImageKeepsTheBaseConfigWithTheSpecsOverrides() {
  RunResult inspected = run({"skopeo", "inspect", "--config", "oci:" + *dir_ / "out:app/min:1.0"});
  ASSERT_TRUE(exited_with(inspected, 0));
  json config = json::parse(inspected.out)["config"];
  EXPECT_EQ(config["Entrypoint"], json({"/app/hello"}));
  EXPECT_EQ(config["Cmd"], json({"--verbose"}));
  EXPECT_EQ(config["WorkingDir"], "/app");
  EXPECT_EQ(config["User"], "app");
  std::vector<std::string> env = config["Env"];
  EXPECT_NE(std::find(env.begin(), env.end(), "GREETING=hello"), env.end()) << config["Env"].dump();
  EXPECT_NE(std::find(env.begin(), env.end(), "PATH=/usr/local/bin:/usr/bin:/bin"), env.end()) << config["Env"].dump();
  EXPECT_EQ(config["Labels"],
            json({{"org.example.fixture", "base"}, {"org.example.extra", "added"}, {"dev.tracepack.sbom", "/.tracepack/sbom.cdx.json"}}));
  EXPECT_EQ(config["ExposedPorts"], json({{"8080/tcp", json::object()}}));
}

void FromImageCli::TheMinimalImageUnpackedByUmociRuns() {
  const std::string rootfs = *dir_ / "unpacked/rootfs";
  // As a runtime would: the config's user, working directory, environment, entrypoint and cmd.
  RunResult ran = run({"env", "-i", "GREETING=hello", "PATH=/usr/local/bin:/usr/bin:/bin", "/usr/sbin/chroot", "--userspec=1000:1000",
                       rootfs, "/bin/sh", "-c", "cd /app && exec /app/hello --verbose"});
  ASSERT_TRUE(exited_with(ran, 0));
  EXPECT_EQ(ran.out, kHello);
  EXPECT_FALSE(fs::exists(rootfs + "/app/removed.txt"));
  // The image's owners are kept: its user owns its application's files.
  EXPECT_EQ(fs::status(rootfs + "/app/motd").permissions(), fs::perms(0644));
  struct stat st {};
  ASSERT_EQ(lstat((rootfs + "/app/motd").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_gid, 1000u);
}

void FromImageCli::VerifyAloneRunsTheTestsWithTheImagesEnvironment() {
  RunResult r = tracepack({"verify", *dir_ / "out", "--spec", *dir_ / "app.yaml"}, {.env = {"TRACEPACK_HOST_MARKER=set"}});
  ASSERT_TRUE(exited_with(r, 0));
  EXPECT_NE(r.out.find("test 'environment': passed in the bundle"), std::string::npos) << r.out;
}

void FromImageCli::PackagesAreTheImagesOwn() {
  json report = report_json(*dir_ / "out");
  std::set<std::string> packages;
  for (const json& p : report["packages"]) packages.insert(p["package"].get<std::string>());
  std::set<std::string> in_image = {"libc6", "dash", "coreutils", "libacl1", "libattr1", "libselinux1", "libgmp10", "libpcre2-8-0"};
  EXPECT_TRUE(packages.contains("libc6")) << report["packages"].dump();
  EXPECT_TRUE(packages.contains("dash")) << report["packages"].dump();
  for (const std::string& p : packages) EXPECT_TRUE(in_image.contains(p)) << p << " is not in the image";
}

TEST_F(FromImageCli, EveryInputFormatGivesTheSameBundle) {
  std::map<std::string, std::string> layout = entries_of(built_manifest());
  layout.erase("/.tracepack");
  for (const std::string& from : {*dir_ / "base-oci.tar:1.0", *dir_ / "base-docker.tar"}) {
    TempDir out(FROM_IMAGE_TMP_DIR);
    RunResult r =
        run({TRACEPACK_BIN, "build", *dir_ / "app.yaml", "--from", from, "--traces", out / "traces", "-o", out / "b.tar", "-f", "tar"},
            {.env = {"TRACEPACK_HOST_MARKER=set"}});
    ASSERT_TRUE(exited_with(r, 0)) << from;
    std::map<std::string, std::string> entries = entries_of(manifest_of(out / "b.tar", "tar"));
    entries.erase("/.tracepack");
    EXPECT_EQ(entries, layout) << from;
    EXPECT_EQ(manifest_of(out / "b.tar", "tar")["from"]["kind"], from.ends_with("docker.tar") ? "docker-archive" : "oci-archive");
  }
}

TEST_F(FromImageCli, ARootDirectoryIsUsedInPlace) {
  TempDir root(FROM_IMAGE_TMP_DIR);
  ASSERT_TRUE(exited_with(run({"umoci", "unpack", "--image", *dir_ / "base:1.0", root / "b"}), 0));
  // A root directory has no config: the test says what the image would.
  write_file(root / "root.yaml",
             "name: root\nfrom: b/rootfs\ntests:\n  - name: hello\n    run: [/app/hello]\n    cwd: /app\n"
             "    env: {GREETING: hello}\n    stdout: \"" +
                 std::string("hello, tracepack!\\nremoved.txt: absent\\nmotd v2\\n") + "\"\nsbom: [cyclonedx]\noutput: {path: out.tar}\n");
  // The image's dpkg database says another version of dash than the host's:
  // the packages must be the image's, not the host's.
  std::string status = read_file(root / "b/rootfs/var/lib/dpkg/status");
  std::size_t dash = status.find("Package: dash\n");
  ASSERT_NE(dash, std::string::npos);
  std::size_t version = status.find("\nVersion: ", dash);
  ASSERT_NE(version, std::string::npos);
  status.replace(version, status.find('\n', version + 1) - version, "\nVersion: 9.9-image");
  write_file(root / "b/rootfs/var/lib/dpkg/status", status);
  RunResult r = tracepack({"build", root / "root.yaml"});
  ASSERT_TRUE(exited_with(r, 0));
  std::map<std::string, std::string> entries = entries_of(manifest_of(root / "out.tar", "tar"));
  EXPECT_EQ(entries["/app/motd"], entries_of(built_manifest())["/app/motd"]);
  EXPECT_FALSE(entries.contains("/app/removed.txt"));
  EXPECT_EQ(manifest_of(root / "out.tar", "tar")["from"]["kind"], "root");
  json sbom = json::parse(read_file(root / "out.tar.cdx.json"));
  std::string dash_version = "<no dash>";
  for (const json& c : sbom["components"])
    if (c.value("name", "") == "dash") dash_version = c.value("version", "<none>");
  EXPECT_EQ(dash_version, "9.9-image");
  // The report opens the recorded base again for its packages; once it is
  // gone, it says so and attributes none, and --from names where it went.
  fs::rename(root / "b", root / "moved");
  json gone = report_json(root / "out.tar");
  EXPECT_EQ(gone["packages"], json::array());
  EXPECT_EQ(gone["warnings"], json({"packages not attributed: the base image this bundle was taken from cannot be opened (" +
                                    root / "b/rootfs" + ": no such image layout, image archive or directory): give it with --from"}));
  json found = report_json(root / "out.tar", {"--from", root / "moved/rootfs"});
  EXPECT_EQ(found["warnings"], json::array());
  std::set<std::string> packages;
  for (const json& p : found["packages"]) packages.insert(p["package"].get<std::string>());
  EXPECT_TRUE(packages.contains("dash")) << found["packages"].dump();
}

TEST_F(FromImageCli, AnOutputOverTheBaseImageIsRefusedAndTheImageKept) {
  TempDir d(FROM_IMAGE_TMP_DIR);
  ASSERT_TRUE(exited_with(run({"cp", *dir_ / "base-oci.tar", d / "base.tar"}), 0));
  std::string sum = run({"sha256sum", d / "base.tar"}).out;
  std::string refused = "tracepack: error: " + d / "base.tar" + ": not replaced: it is " + d / "base.tar" + ", an input of this run\n";
  RunResult built = tracepack(
      {"build", *dir_ / "app.yaml", "--from", d / "base.tar:1.0", "--traces", d / "traces", "-o", d / "base.tar", "-f", "oci-archive"});
  EXPECT_TRUE(exited_with(built, 1));
  EXPECT_EQ(built.err, refused);
  EXPECT_FALSE(fs::exists(d / "traces/entrypoint.jsonl")) << "refused before any test ran";
  RunResult packed = tracepack({"pack", "--spec", *dir_ / "app.yaml", *dir_ / ".tracepack/traces/entrypoint.jsonl", "--from",
                                d / "base.tar:1.0", "-o", d / "base.tar", "-f", "oci-archive"});
  EXPECT_TRUE(exited_with(packed, 1));
  EXPECT_EQ(packed.err, refused);
  EXPECT_EQ(run({"sha256sum", d / "base.tar"}).out, sum);
}

void FromImageCli::PackFromTheTracesReadsTheImage() {
  TempDir out(FROM_IMAGE_TMP_DIR);
  std::vector<std::string> args = {"pack", "--spec", *dir_ / "app.yaml", "-o", out / "p.tar", "-f", "tar"};
  for (const char* test : {"entrypoint", "environment", "host-file"})
    args.push_back(*dir_ / ".tracepack/traces/" + std::string(test) + ".jsonl");
  RunResult r = tracepack(args);
  ASSERT_TRUE(exited_with(r, 0));
  std::map<std::string, std::string> packed = entries_of(manifest_of(out / "p.tar", "tar"));
  std::map<std::string, std::string> built = entries_of(built_manifest());
  packed.erase("/.tracepack");
  built.erase("/.tracepack");
  EXPECT_EQ(packed, built);
}

void FromImageCli::WhyAndReportReadTheImage() {
  RunResult in_image = tracepack({"why", *dir_ / "out", "/app/motd"});
  EXPECT_TRUE(exited_with(in_image, 0));
  EXPECT_NE(in_image.out.find("in the bundle"), std::string::npos) << in_image.out;
  EXPECT_TRUE(exited_with(tracepack({"why", *dir_ / "out", "/app/removed.txt"}), 1));
  RunResult misused = tracepack({"why", *dir_ / "out", "/app/motd", "--from", *dir_ / "base:1.0"});
  EXPECT_TRUE(exited_with(misused, 2));
  EXPECT_EQ(misused.err, "tracepack: error: why: --from applies to a trace, not to a bundle (" + *dir_ / "out" + ")\n");
  std::string trace = *dir_ / ".tracepack/traces/entrypoint.jsonl";
  RunResult traced = tracepack({"why", trace, "/app/motd", "--spec", *dir_ / "app.yaml"});
  EXPECT_TRUE(exited_with(traced, 0));
  EXPECT_NE(traced.out.find("test 'entrypoint'"), std::string::npos) << traced.out;
  // Planned from the image's root: /etc/passwd is the image's, for its user.
  EXPECT_TRUE(exited_with(tracepack({"why", trace, "/etc/passwd", "--spec", *dir_ / "app.yaml"}), 0));
  json report = report_json(trace, {"--spec", *dir_ / "app.yaml"});
  std::set<std::string> packages;
  for (const json& p : report["packages"]) packages.insert(p["package"].get<std::string>());
  EXPECT_TRUE(packages.contains("dash")) << report["packages"].dump();
  EXPECT_FALSE(packages.contains("bash")) << report["packages"].dump();
}

void FromImageCli::TheSbomNamesTheImagesPackages() {
  json sbom = json::parse(read_file(*dir_ / "out.cdx.json"), nullptr, false);
  ASSERT_TRUE(sbom.is_object()) << read_file(*dir_ / "out.cdx.json");
  std::set<std::string> packages;
  for (const json& c : sbom["components"])
    if (c.contains("purl") && c["purl"].get<std::string>().starts_with("pkg:deb/")) packages.insert(c["name"].get<std::string>());
  EXPECT_TRUE(packages.contains("dash")) << sbom["components"].dump();
  for (const std::string& p : packages)
    EXPECT_TRUE(fs::exists(*dir_ / "unpacked/rootfs/var/lib/dpkg/status.d/" + p)) << p << ": no distroless status file in the image";
  std::set<std::string> in_image = {"libc6", "dash", "coreutils", "libacl1", "libattr1", "libselinux1", "libgmp10", "libpcre2-8-0"};
  for (const std::string& p : packages) EXPECT_TRUE(in_image.contains(p)) << p << " is not in the image";
}

TEST_F(FromImageCli, BuildFromAnOciLayoutTracesInTheImageAndShipsOnlyWhatTheTestsUsed) {
  {
    SCOPED_TRACE("BuildTracesTheTestsInTheImageAndVerifiesTheMinimalImage");
    BuildTracesTheTestsInTheImageAndVerifiesTheMinimalImage();
  }
  {
    SCOPED_TRACE("BuildSaysHowMuchSmallerTheImageGot");
    BuildSaysHowMuchSmallerTheImageGot();
  }
  {
    SCOPED_TRACE("WhatALaterLayerDeletedIsAbsentFromTheTestsAndTheBundle");
    WhatALaterLayerDeletedIsAbsentFromTheTestsAndTheBundle();
  }
  {
    SCOPED_TRACE("AHostFileIsInvisibleToTheTestsAndNeverPacked");
    AHostFileIsInvisibleToTheTestsAndNeverPacked();
  }
  {
    SCOPED_TRACE("TheOutputImageKeepsTheBaseConfigWithTheSpecsOverrides");
    TheOutputImageKeepsTheBaseConfigWithTheSpecsOverrides();
  }
  {
    SCOPED_TRACE("TheMinimalImageUnpackedByUmociRuns");
    TheMinimalImageUnpackedByUmociRuns();
  }
  {
    SCOPED_TRACE("VerifyAloneRunsTheTestsWithTheImagesEnvironment");
    VerifyAloneRunsTheTestsWithTheImagesEnvironment();
  }
  {
    SCOPED_TRACE("PackagesAreTheImagesOwn");
    PackagesAreTheImagesOwn();
  }
  {
    SCOPED_TRACE("PackFromTheTracesReadsTheImage");
    PackFromTheTracesReadsTheImage();
  }
  {
    SCOPED_TRACE("WhyAndReportReadTheImage");
    WhyAndReportReadTheImage();
  }
  {
    SCOPED_TRACE("TheSbomNamesTheImagesPackages");
    TheSbomNamesTheImagesPackages();
  }
}

TEST(FromImageExample, TheReadmesExampleRunsEndToEnd) {
  TempDir work(FROM_IMAGE_TMP_DIR);
  RunResult r = run({FIXTURE_SRC_DIR "/images/run-example.sh", fs::path(TRACEPACK_BIN).parent_path().string(), work / "example"});
  ASSERT_TRUE(exited_with(r, 0));
  EXPECT_NE(r.err.find("tracepack: verify: test 'reads-its-data': passed in the bundle"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("\n" + kHello), std::string::npos) << r.out;  // the unpacked image's entrypoint, run
  EXPECT_NE(r.out.find("base image     " + work / "example/base:1.0 (oci-layout): from 33"), std::string::npos) << r.out;
}

TEST(FromImageErrors, AMissingImageIsRefusedBeforeAnyTestRuns) {
  TempDir d(FROM_IMAGE_TMP_DIR);
  write_file(d / "t.yaml",
             "name: t\nfrom: nowhere:1.0\ntests:\n  - name: t\n    shell: 'touch " + d / "ran" + "'\noutput: {path: out.tar}\n");
  RunResult r = tracepack({"build", d / "t.yaml"});
  ASSERT_TRUE(exited_with(r, 1));
  EXPECT_EQ(r.err, "tracepack: error: " + d / "nowhere:1.0: no such image layout, image archive or directory\n");
  EXPECT_FALSE(fs::exists(d / "ran"));
}

}  // namespace
}  // namespace tracepack

// from_image.h: how a base image's configuration meets the spec's, the
// environment tests run in, the files a configuration needs, and the checks
// and numbers a build from an image prints. Plain data; the end-to-end tests
// of `from:` are in from_image_cli_test.cc.
#include "tracepack/from_image.h"

#include <gtest/gtest.h>
#include <sys/utsname.h>

#include <filesystem>
#include <fstream>

#include "cli_test_util.h"
#include "tracepack/error.h"

namespace tracepack {
namespace {

ImageConfig base_config() {
  ImageConfig base;
  base.entrypoint = std::vector<std::string>{"/app/hello"};
  base.cmd = std::vector<std::string>{"--verbose"};
  base.env = {{"GREETING", "hello"}, {"PATH", "/usr/bin:/bin"}};
  base.workdir = "/app";
  base.user = "app";
  base.labels = {{"org.example.fixture", "base"}};
  base.exposed_ports = {"8080/tcp"};
  base.architecture = "amd64";
  base.tag = "base:1.0";
  base.layer_compression = "none";
  return base;
}

TEST(MergeImageConfig, AnEmptySpecKeepsTheBaseButTagAndCompression) {
  ImageConfig spec;
  ImageConfig merged = merge_image_config(base_config(), spec);
  EXPECT_EQ(merged.entrypoint, base_config().entrypoint);
  EXPECT_EQ(merged.cmd, base_config().cmd);
  EXPECT_EQ(merged.env, base_config().env);
  EXPECT_EQ(merged.workdir, "/app");
  EXPECT_EQ(merged.user, "app");
  EXPECT_EQ(merged.labels, base_config().labels);
  EXPECT_EQ(merged.exposed_ports, std::vector<std::string>{"8080/tcp"});
  EXPECT_EQ(merged.architecture, "amd64");
  EXPECT_EQ(merged.tag, "");
  EXPECT_EQ(merged.layer_compression, "gzip");
}

TEST(MergeImageConfig, TheSpecWinsKeyByKeyAndMapsMergeByName) {
  ImageConfig spec;
  spec.cmd = std::vector<std::string>{"--quiet"};
  spec.env = {{"GREETING", "bonjour"}, {"LANG", "C.UTF-8"}};
  spec.workdir = "/srv";
  spec.user = "1000:1000";
  spec.labels = {{"org.example.extra", "added"}};
  spec.exposed_ports = {"53/udp", "8080/tcp"};
  ImageConfig merged = merge_image_config(base_config(), spec);
  EXPECT_EQ(merged.entrypoint, base_config().entrypoint) << "a cmd alone keeps the entrypoint";
  EXPECT_EQ(merged.cmd, spec.cmd);
  EXPECT_EQ(merged.env, (std::map<std::string, std::string>{{"GREETING", "bonjour"}, {"LANG", "C.UTF-8"}, {"PATH", "/usr/bin:/bin"}}));
  EXPECT_EQ(merged.workdir, "/srv");
  EXPECT_EQ(merged.user, "1000:1000");
  EXPECT_EQ(merged.labels, (std::map<std::string, std::string>{{"org.example.extra", "added"}, {"org.example.fixture", "base"}}));
  EXPECT_EQ(merged.exposed_ports, (std::vector<std::string>{"53/udp", "8080/tcp"}));
}

TEST(MergeImageConfig, ANewEntrypointDropsTheBasesCmd) {
  ImageConfig spec;
  spec.entrypoint = std::vector<std::string>{"/usr/bin/env"};
  ImageConfig merged = merge_image_config(base_config(), spec);
  EXPECT_EQ(merged.entrypoint, spec.entrypoint);
  EXPECT_FALSE(merged.cmd.has_value());
}

TEST(RunEnvironment, IsTheConfigsWithTheUsualPathWhenItSetsNone) {
  ImageRunEnvironment run = run_environment(base_config());
  EXPECT_EQ(run.env, (std::vector<std::string>{"GREETING=hello", "PATH=/usr/bin:/bin"}));
  EXPECT_EQ(run.workdir, "/app");
  EXPECT_EQ(run.user, "app");
  EXPECT_EQ(run.command, (std::vector<std::string>{"/app/hello", "--verbose"}));
  ImageConfig bare;
  EXPECT_EQ(run_environment(bare).env, std::vector<std::string>{"PATH=" + std::string(kDefaultImagePath)});
  EXPECT_TRUE(run_environment(bare).command.empty());
}

TEST(RunEnvironment, RoundTripsThroughTheManifestsRecord) {
  BaseImage image{
      .reference = "/x/base:1.0", .kind = "oci-layout", .root = "/tmp/r", .config = base_config(), .bytes = 33, .files = 3, .skipped = 0};
  ImageRunEnvironment run = run_environment(base_config());
  ManifestBase record = base_record(image, run);
  EXPECT_EQ(record.reference, "/x/base:1.0");
  EXPECT_EQ(record.kind, "oci-layout");
  EXPECT_EQ(record.bytes, 33u);
  EXPECT_EQ(record.files, 3u);
  ImageRunEnvironment back = run_environment(record);
  EXPECT_EQ(back.env, run.env);
  EXPECT_EQ(back.workdir, run.workdir);
  EXPECT_EQ(back.user, run.user);
  EXPECT_EQ(back.command, run.command);
}

TEST(ConfigIncludes, AUserByNameNeedsTheImagesUserDatabase) {
  cli_test::TempDir root(FROM_IMAGE_TMP_DIR);
  std::filesystem::create_directories(root / "etc");
  cli_test::write_file(root / "etc/passwd", "app:x:1000:1000::/app:/bin/sh\n");
  SourceLocation where{"t.yaml", 2, 7};
  ImageConfig config;
  auto patterns = [&](const std::string& user) {
    config.user = user;
    std::vector<std::string> out;
    for (const IncludeRule& rule : config_includes(config, root.path(), where)) {
      EXPECT_EQ(rule.where.line, 2);
      out.push_back(rule.pattern);
    }
    return out;
  };
  EXPECT_EQ(patterns("app"), std::vector<std::string>{"/etc/passwd"}) << "no /etc/group in this root";
  EXPECT_EQ(patterns("1000:app"), std::vector<std::string>{"/etc/passwd"});
  EXPECT_TRUE(patterns("").empty());
  EXPECT_TRUE(patterns("1000").empty());
  EXPECT_TRUE(patterns("1000:1000").empty());
  cli_test::write_file(root / "etc/group", "app:x:1000:\n");
  EXPECT_EQ(patterns("app:app"), (std::vector<std::string>{"/etc/passwd", "/etc/group"}));
}

TEST(CheckRunsHere, AnImageForAnotherMachineIsRefused) {
  utsname u{};
  uname(&u);
  BaseImage image;
  image.reference = "img:1.0";
  image.config.architecture = oci_architecture(u.machine);
  EXPECT_NO_THROW(check_runs_here(image));
  std::string other = image.config.architecture == "arm64" ? "amd64" : "arm64";
  image.config.architecture = other;
  try {
    check_runs_here(image);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "img:1.0: an image for " + other + ", and this machine is " + oci_architecture(u.machine) +
                                         ": its programs cannot run here to be traced");
  }
  image.config.architecture = "";
  image.config.os = "windows";
  try {
    check_runs_here(image);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "img:1.0: an image for windows: its programs cannot run on linux to be traced");
  }
}

TEST(FromReference, RelativeToTheSpecsDirectory) {
  EXPECT_EQ(from_reference("base:1.0", "/p"), "/p/base:1.0");
  EXPECT_EQ(from_reference("/abs/app.tar", "/p"), "/abs/app.tar");
  EXPECT_EQ(from_reference("images/app.tar", ""), "images/app.tar");
}

TEST(SizeReductionLine, InMegabytes) {
  EXPECT_EQ(size_reduction_line(412'345'678, 23'100'000), "from 412.3 MB (the base image, uncompressed) to 23.1 MB");
}

}  // namespace
}  // namespace tracepack

// write_image, the image: section of the spec and the image name checks,
// verified with the real clients skopeo and umoci.
//
// Each writer test builds a source tree in a fresh temporary directory
// (files, an executable, a 0640 file, a symlink chain, a hard-link pair, a
// name with spaces and one in UTF-8) together with the BundlePlan that
// describes it, writes an image, and checks it three ways: the layout's
// documents and blobs read directly (every blob hashes to its name, the
// diff_id is the SHA-256 of the uncompressed layer, which is byte for byte the
// tar format's output), skopeo (inspect, copy) and umoci (unpack, whose rootfs
// is compared with the plan: paths, types, modes, symlink targets, contents).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli_test_util.h"
#include "plan_tree.h"
#include "tracepack/bundle_writer.h"
#include "tracepack/error.h"
#include "tracepack/image_config.h"
#include "tracepack/oci_writer.h"
#include "tracepack/pack.h"
#include "tracepack/spec.h"

namespace tracepack {
namespace {

namespace fs = std::filesystem;
using namespace cli_test;
using nlohmann::json;
using plan_tree::kOldTime;
using plan_tree::Tree;

constexpr std::int64_t kFutureTime = 2000000000;  // 2033-05-18
constexpr std::int64_t kEpoch = 1700000000;       // SOURCE_DATE_EPOCH used by the tests

// ---------------------------------------------------------------------------
// Helpers

/// "sha256:<hex>" of a file, by sha256sum.
std::string sha256_of(const std::string& path) {
  RunResult c = run({"sha256sum", path});
  EXPECT_EQ(c.exit_code, 0) << c.err;
  return "sha256:" + c.out.substr(0, 64);
}

json read_json(const std::string& path) { return json::parse(read_file(path)); }

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().native());
  std::sort(names.begin(), names.end());
  return names;
}

// ---------------------------------------------------------------------------
// The source tree (plan_tree.h) every image test packs

void build_tree(Tree& t) {
  t.dir("/usr");
  t.dir("/usr/bin");
  t.file("/usr/bin/tool", "#!/bin/sh\necho tool\n", 0755, kFutureTime);
  t.dir("/usr/lib");
  t.file("/usr/lib/libx.so.1.2", std::string(300 * 1024 + 7, 'x') + "end");  // more than one 256 KiB chunk
  t.symlink("/usr/lib/libx.so.1", "libx.so.1.2");
  t.symlink("/usr/lib/libx.so", "libx.so.1");
  t.dir("/etc");
  t.file("/etc/secret.conf", "password = hunter2\n", 0640);
  t.dir("/data", 0700);
  t.file("/data/a.bin", "shared inode\n");
  t.hardlink("/data/b.bin", "/data/a.bin");
  t.file("/data/empty", "", 0600);
  t.file("/data/with spaces", "spaces\n");
  t.file("/data/caf\xc3\xa9", "utf-8\n");
  t.finish();
}

WriteOptions image_options(const Tree& t, const std::string& path, const std::string& format) {
  WriteOptions o;
  o.path = path;
  o.format = format;
  o.source_root = t.root();
  o.bundle_name = "demo";
  o.source_date_epoch = kEpoch;
  o.image.cmd = std::vector<std::string>{"/usr/bin/tool"};
  o.image.env = {{"LANG", "C.UTF-8"}};
  o.image.labels = {{"org.example.role", "test"}};
  o.image.exposed_ports = {"8080/tcp"};
  o.image.workdir = "/data";
  o.image.architecture = "amd64";
  return o;
}

/// The one manifest of an OCI layout directory, checked against index.json.
json layout_manifest(const std::string& layout) {
  json index = read_json(layout + "/index.json");
  EXPECT_EQ(index["schemaVersion"], 2);
  EXPECT_EQ(index["mediaType"], "application/vnd.oci.image.index.v1+json");
  EXPECT_EQ(index["manifests"].size(), 1u);
  std::string digest = index["manifests"][0]["digest"];
  return read_json(layout + "/blobs/sha256/" + digest.substr(7));
}

std::string blob_path(const std::string& layout, const json& descriptor) {
  return layout + "/blobs/sha256/" + descriptor["digest"].get<std::string>().substr(7);
}

/// Every blob is named by the SHA-256 of its bytes and every descriptor's size is right.
void expect_layout_consistent(const std::string& layout) {
  EXPECT_EQ(read_json(layout + "/oci-layout"), json({{"imageLayoutVersion", "1.0.0"}}));
  for (const std::string& name : names_in(layout + "/blobs/sha256"))
    EXPECT_EQ(sha256_of(layout + "/blobs/sha256/" + name), "sha256:" + name) << name;
  json index = read_json(layout + "/index.json");
  json manifest = layout_manifest(layout);
  EXPECT_EQ(fs::file_size(blob_path(layout, index["manifests"][0])), index["manifests"][0]["size"].get<std::uint64_t>());
  EXPECT_EQ(manifest["schemaVersion"], 2);
  EXPECT_EQ(manifest["mediaType"], "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(manifest["config"]["mediaType"], "application/vnd.oci.image.config.v1+json");
  EXPECT_EQ(fs::file_size(blob_path(layout, manifest["config"])), manifest["config"]["size"].get<std::uint64_t>());
  ASSERT_EQ(manifest["layers"].size(), 1u);
  EXPECT_EQ(fs::file_size(blob_path(layout, manifest["layers"][0])), manifest["layers"][0]["size"].get<std::uint64_t>());
}

/// The unpacked rootfs holds exactly the plan plus the manifest, each as planned.
void expect_rootfs(const Tree& t, const std::string& rootfs) {
  std::set<std::string> want{"/.tracepack", "/.tracepack/manifest.json"};
  for (const PlanEntry& e : t.plan().entries) want.insert(e.path);
  std::set<std::string> got;
  for (auto it = fs::recursive_directory_iterator(rootfs); it != fs::recursive_directory_iterator(); ++it)
    got.insert("/" + it->path().native().substr(rootfs.size() + 1));
  EXPECT_EQ(got, want);
  for (const PlanEntry& e : t.plan().entries) {
    std::string p = rootfs + e.path;
    struct stat st;
    ASSERT_EQ(lstat(p.c_str(), &st), 0) << e.path;
    if (e.type == EntryType::symlink) {
      EXPECT_TRUE(S_ISLNK(st.st_mode)) << e.path;
      EXPECT_EQ(fs::read_symlink(p).native(), e.link_target) << e.path;
      continue;
    }
    EXPECT_EQ(st.st_mode & 07777, e.mode) << e.path;
    EXPECT_EQ(S_ISDIR(st.st_mode), e.type == EntryType::directory) << e.path;
    if (e.type == EntryType::regular) {
      EXPECT_EQ(read_file(p), read_file(t.host(e.path))) << e.path;
    }
  }
  struct stat a, b;
  ASSERT_EQ(lstat((rootfs + "/data/a.bin").c_str(), &a), 0);
  ASSERT_EQ(lstat((rootfs + "/data/b.bin").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino) << "the hard links share an inode";
}

std::string thrown(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(nothing thrown)";
}

// ---------------------------------------------------------------------------
// The layout itself

TEST(OciWriter, LayoutHasTheDocumentsClientsRequire) {
  TempDir tmp;
  Tree t(tmp / "src");
  build_tree(t);
  std::string out = tmp / "image";
  WriteResult r = write_image(t.plan(), image_options(t, out, "oci"));
  EXPECT_EQ(r.format, "oci");
  EXPECT_EQ(r.files, 7u);
  EXPECT_EQ(r.hardlinks, 1u);
  EXPECT_EQ(names_in(out), (std::vector<std::string>{"blobs", "index.json", "oci-layout"}));
  expect_layout_consistent(out);
  json index = read_json(out + "/index.json");
  EXPECT_EQ(index["manifests"][0]["annotations"], json({{"org.opencontainers.image.ref.name", "demo:latest"}}));
  EXPECT_EQ(index["manifests"][0]["mediaType"], "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(r.image_digest, index["manifests"][0]["digest"]);
  json manifest = layout_manifest(out);
  EXPECT_EQ(manifest["layers"][0]["mediaType"], "application/vnd.oci.image.layer.v1.tar+gzip");
  json config = read_json(blob_path(out, manifest["config"]));
  EXPECT_EQ(config["architecture"], "amd64");
  EXPECT_EQ(config["os"], "linux");
  EXPECT_EQ(config["created"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(config["config"]["Cmd"], json({"/usr/bin/tool"}));
  EXPECT_EQ(config["config"]["Env"], json({"LANG=C.UTF-8", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}));
  EXPECT_EQ(config["config"]["WorkingDir"], "/data");
  EXPECT_EQ(config["config"]["ExposedPorts"], json({{"8080/tcp", json::object()}}));
  EXPECT_EQ(config["config"]["Labels"], json({{"org.example.role", "test"}}));
  EXPECT_FALSE(config["config"].contains("Entrypoint"));
  EXPECT_FALSE(config["config"].contains("User"));
  EXPECT_EQ(config["rootfs"]["type"], "layers");
  ASSERT_EQ(config["rootfs"]["diff_ids"].size(), 1u);

  // The layer, uncompressed by gzip, is exactly the tar format's bundle.
  std::string layer = blob_path(out, manifest["layers"][0]);
  RunResult gunzip = run({"sh", "-c", "gzip -dc < '" + layer + "' > '" + tmp.path() + "/layer.tar'"});
  ASSERT_EQ(gunzip.exit_code, 0) << gunzip.err;
  EXPECT_EQ(config["rootfs"]["diff_ids"][0], sha256_of(tmp / "layer.tar"));
  WriteOptions tar = image_options(t, tmp / "bundle.tar", "tar");
  write_bundle(t.plan(), tar);
  EXPECT_EQ(read_file(tmp / "layer.tar"), read_file(tmp / "bundle.tar"));
}

TEST(OciWriter, WriteBundleDispatchesTheImageFormats) {
  TempDir tmp;
  Tree t(tmp / "src");
  build_tree(t);
  WriteResult r = write_bundle(t.plan(), image_options(t, tmp / "image", "oci"));
  EXPECT_EQ(r.format, "oci");
  expect_layout_consistent(tmp / "image");
}

TEST(OciWriter, EachLayerCompressionHasItsMediaType) {
  TempDir tmp;
  Tree t(tmp / "src");
  build_tree(t);
  struct Case {
    std::string compression, media_type, decompress;
  };
  for (const Case& c : {Case{"none", "application/vnd.oci.image.layer.v1.tar", "cat"},
                        Case{"gzip", "application/vnd.oci.image.layer.v1.tar+gzip", "gzip -dc"},
                        Case{"zstd", "application/vnd.oci.image.layer.v1.tar+zstd", "zstd -dc"}}) {
    SCOPED_TRACE(c.compression);
    std::string out = tmp / ("image-" + c.compression);
    WriteOptions o = image_options(t, out, "oci");
    o.image.layer_compression = c.compression;
    write_image(t.plan(), o);
    expect_layout_consistent(out);
    json manifest = layout_manifest(out);
    EXPECT_EQ(manifest["layers"][0]["mediaType"], c.media_type);
    json config = read_json(blob_path(out, manifest["config"]));
    std::string plain = tmp / ("layer-" + c.compression + ".tar");
    RunResult d = run({"sh", "-c", c.decompress + " < '" + blob_path(out, manifest["layers"][0]) + "' > '" + plain + "'"});
    ASSERT_EQ(d.exit_code, 0) << d.err;
    EXPECT_EQ(config["rootfs"]["diff_ids"][0], sha256_of(plain));
    RunResult list = run({"tar", "-tf", plain});
    EXPECT_NE(list.out.find(".tracepack/manifest.json\n"), std::string::npos) << list.out;
  }
}

TEST(OciWriter, SameInputsGiveTheSameDigests) {
  TempDir tmp;
  Tree t(tmp / "src");
  build_tree(t);
  for (std::string compression : {"none", "gzip", "zstd"}) {
    SCOPED_TRACE(compression);
    WriteOptions a = image_options(t, tmp / ("a-" + compression), "oci");
    a.image.layer_compression = compression;
    WriteOptions b = a;
    b.path = tmp / ("b-" + compression);
    b.compression_threads = 3;  // never changes the output
    std::string first = write_image(t.plan(), a).image_digest;
    sleep(1);  // a clock read anywhere would now differ
    std::string second = write_image(t.plan(), b).image_digest;
    EXPECT_EQ(first, second);
    EXPECT_EQ(read_file(a.path + "/index.json"), read_file(b.path + "/index.json"));
    EXPECT_EQ(names_in(a.path + "/blobs/sha256"), names_in(b.path + "/blobs/sha256"));
    // A different SOURCE_DATE_EPOCH is a different image.
    WriteOptions c = a;
    c.path = tmp / ("c-" + compression);
    c.source_date_epoch = kEpoch + 1;
    EXPECT_NE(write_image(t.plan(), c).image_digest, first);
  }
}

TEST(OciWriter, CreatedIsTheDefaultEpochWithoutSourceDateEpoch) {
  TempDir tmp;
  Tree t(tmp / "src");
  build_tree(t);
  WriteOptions o = image_options(t, tmp / "image", "oci");
  o.source_date_epoch.reset();
  write_image(t.plan(), o);
  json config = read_json(blob_path(tmp / "image", layout_manifest(tmp / "image")["config"]));
  EXPECT_EQ(config["created"], "1980-01-01T00:00:00Z");  // kDefaultSourceDateEpoch, not a time of the plan
  json index = read_json(tmp / "image/index.json");
  EXPECT_EQ(index["annotations"], json({{"tracepack.writer", "tracepack"}}));
}

TEST(OciWriter, DefaultsTagFromTheBundleName) {
  TempDir tmp;
  Tree t(tmp / "src");
  build_tree(t);
  WriteOptions o = image_options(t, tmp / "image", "oci");
  o.bundle_name = "Shell-Pipeline";
  o.image = {};
  write_image(t.plan(), o);
  json index = read_json(tmp / "image/index.json");
  EXPECT_EQ(index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"], "shell-pipeline:latest");
  json config = read_json(blob_path(tmp / "image", layout_manifest(tmp / "image")["config"]));
  EXPECT_EQ(config["config"], json({{"Env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}}}));
  EXPECT_FALSE(config["architecture"].get<std::string>().empty());
}

TEST(OciWriter, DockerArchiveHasTheDockerManifestBesideTheLayout) {
  TempDir tmp;
  Tree t(tmp / "src");
  build_tree(t);
  std::string out = tmp / "image.tar";
  WriteOptions o = image_options(t, out, "docker-archive");
  o.image.tag = "registry.example.com:5000/team/demo:1.0";
  WriteResult r = write_image(t.plan(), o);
  EXPECT_EQ(r.format, "docker-archive");
  EXPECT_EQ(r.output_bytes, fs::file_size(out));
  fs::create_directory(tmp / "x");
  RunResult x = run({"tar", "-xf", out, "-C", tmp / "x"});
  ASSERT_EQ(x.exit_code, 0) << x.err;
  EXPECT_EQ(names_in(tmp / "x"), (std::vector<std::string>{"blobs", "index.json", "manifest.json", "oci-layout"}));
  expect_layout_consistent(tmp / "x");
  json docker = read_json(tmp / "x/manifest.json");
  ASSERT_EQ(docker.size(), 1u);
  json manifest = layout_manifest(tmp / "x");
  EXPECT_EQ(docker[0]["Config"], "blobs/sha256/" + manifest["config"]["digest"].get<std::string>().substr(7));
  EXPECT_EQ(docker[0]["Layers"], json({"blobs/sha256/" + manifest["layers"][0]["digest"].get<std::string>().substr(7)}));
  EXPECT_EQ(docker[0]["RepoTags"], json({"registry.example.com:5000/team/demo:1.0"}));
  // The archive itself is reproducible: owner 0:0, one mtime, sorted entries.
  RunResult list = run({"tar", "-tvf", out, "--numeric-owner", "--full-time"});
  EXPECT_NE(list.out.find("0/0"), std::string::npos);
  EXPECT_EQ(list.out.find("1234/"), std::string::npos);
  std::string again = tmp / "again.tar";
  write_image(t.plan(), [&] {
    WriteOptions a = o;
    a.path = again;
    return a;
  }());
  EXPECT_EQ(read_file(out), read_file(again));
}

// ---------------------------------------------------------------------------
// Real clients

TEST(OciWriter, SkopeoInspectsTheLayout) {
  REQUIRE_PROGRAM("skopeo", "skopeo");
  TempDir tmp;
  Tree t(tmp / "src");
  build_tree(t);
  std::string out = tmp / "image";
  WriteOptions o = image_options(t, out, "oci");
  o.image.tag = "demo:1.0";
  o.image.entrypoint = std::vector<std::string>{"/bin/sh", "-c"};
  o.image.user = "1000:1000";
  WriteResult r = write_image(t.plan(), o);
  RunResult c = run({"skopeo", "inspect", "oci:" + out + ":demo:1.0"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  json j = json::parse(c.out);
  EXPECT_EQ(j["Digest"], r.image_digest);
  EXPECT_EQ(j["Architecture"], "amd64");
  EXPECT_EQ(j["Os"], "linux");
  EXPECT_EQ(j["Created"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(j["Labels"], json({{"org.example.role", "test"}}));
  EXPECT_EQ(j["Layers"], json({layout_manifest(out)["layers"][0]["digest"]}));
  RunResult config = run({"skopeo", "inspect", "--config", "oci:" + out + ":demo:1.0"});
  ASSERT_EQ(config.exit_code, 0) << config.err;
  json cfg = json::parse(config.out)["config"];
  EXPECT_EQ(cfg["Entrypoint"], json({"/bin/sh", "-c"}));
  EXPECT_EQ(cfg["Cmd"], json({"/usr/bin/tool"}));
  EXPECT_EQ(cfg["User"], "1000:1000");
  // A tag the layout does not have is not found.
  EXPECT_NE(run({"skopeo", "inspect", "oci:" + out + ":demo:2.0"}).exit_code, 0);
}

TEST(OciWriter, SkopeoCopiesTheLayoutBlobForBlob) {
  REQUIRE_PROGRAM("skopeo", "skopeo");
  TempDir tmp;
  Tree t(tmp / "src");
  build_tree(t);
  std::string out = tmp / "image";
  write_image(t.plan(), image_options(t, out, "oci"));
  std::string copy = tmp / "copy";
  RunResult c = run({"skopeo", "copy", "--quiet", "oci:" + out + ":demo:latest", "dir:" + copy});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  json manifest = layout_manifest(out);
  EXPECT_EQ(read_json(copy + "/manifest.json"), manifest);
  for (const json& d : {manifest["config"], manifest["layers"][0]}) {
    std::string hex = d["digest"].get<std::string>().substr(7);
    EXPECT_EQ(sha256_of(copy + "/" + hex), d["digest"]);
    EXPECT_EQ(read_file(copy + "/" + hex), read_file(blob_path(out, d)));
  }
}

TEST(OciWriter, UmociUnpacksTheRootfsAsPlanned) {
  REQUIRE_PROGRAM("umoci", "umoci");
  TempDir tmp;
  Tree t(tmp / "src");
  build_tree(t);
  for (std::string compression : {"gzip", "none"}) {
    SCOPED_TRACE(compression);
    std::string out = tmp / ("image-" + compression);
    WriteOptions o = image_options(t, out, "oci");
    o.image.layer_compression = compression;
    write_image(t.plan(), o);
    std::string bundle = tmp / ("bundle-" + compression);
    RunResult c = run({"umoci", "unpack", "--image", out + ":demo:latest", bundle});
    ASSERT_EQ(c.exit_code, 0) << c.err;
    expect_rootfs(t, bundle + "/rootfs");
    json runtime = read_json(bundle + "/config.json");
    EXPECT_EQ(runtime["process"]["args"], json({"/usr/bin/tool"}));
    EXPECT_EQ(runtime["process"]["cwd"], "/data");
  }
}

TEST(OciWriter, SkopeoInspectsTheDockerArchive) {
  REQUIRE_PROGRAM("skopeo", "skopeo");
  TempDir tmp;
  Tree t(tmp / "src");
  build_tree(t);
  std::string out = tmp / "image.tar";
  WriteOptions o = image_options(t, out, "docker-archive");
  o.image.tag = "demo:2.1";
  write_image(t.plan(), o);
  RunResult c = run({"skopeo", "inspect", "docker-archive:" + out});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  json j = json::parse(c.out);
  EXPECT_EQ(j["Architecture"], "amd64");
  // Naming the image picks it by manifest.json's RepoTags; another name is not there.
  RunResult tagged = run({"skopeo", "inspect", "docker-archive:" + out + ":demo:2.1"});
  ASSERT_EQ(tagged.exit_code, 0) << tagged.err;
  EXPECT_EQ(json::parse(tagged.out)["Digest"], j["Digest"]);
  RunResult other = run({"skopeo", "inspect", "docker-archive:" + out + ":demo:9"});
  EXPECT_NE(other.exit_code, 0);
  EXPECT_NE(other.err.find("demo:9"), std::string::npos) << other.err;
  EXPECT_EQ(j["Labels"], json({{"org.example.role", "test"}}));
  // The same file is an OCI archive too.
  RunResult oci = run({"skopeo", "inspect", "oci-archive:" + out + ":demo:2.1"});
  ASSERT_EQ(oci.exit_code, 0) << oci.err;
  EXPECT_EQ(json::parse(oci.out)["Architecture"], "amd64");
}

TEST(OciWriter, SkopeoInspectsTheOciArchive) {
  REQUIRE_PROGRAM("skopeo", "skopeo");
  TempDir tmp;
  Tree t(tmp / "src");
  build_tree(t);
  std::string out = tmp / "image.oci.tar";
  WriteOptions o = image_options(t, out, "oci-archive");
  o.image.layer_compression = "zstd";
  WriteResult r = write_image(t.plan(), o);
  RunResult c = run({"skopeo", "inspect", "oci-archive:" + out + ":demo:latest"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  json j = json::parse(c.out);
  EXPECT_EQ(j["Digest"], r.image_digest);
  RunResult raw = run({"skopeo", "inspect", "--raw", "oci-archive:" + out + ":demo:latest"});
  ASSERT_EQ(raw.exit_code, 0) << raw.err;
  EXPECT_EQ(json::parse(raw.out)["layers"][0]["mediaType"], "application/vnd.oci.image.layer.v1.tar+zstd");
  EXPECT_EQ(json::parse(raw.out)["layers"][0]["digest"], j["Layers"][0]);
}

// ---------------------------------------------------------------------------
// Errors: checked before anything is written, and nothing partial remains

TEST(OciWriter, RefusesAnUnknownLayerCompression) {
  TempDir tmp;
  Tree t(tmp / "src");
  build_tree(t);
  WriteOptions o = image_options(t, tmp / "image", "oci");
  o.image.layer_compression = "lz4";
  EXPECT_EQ(thrown([&] { write_image(t.plan(), o); }), "layer compression 'lz4': unknown (use none, gzip, zstd)");
  EXPECT_EQ(names_in(tmp.path()), std::vector<std::string>{"src"});
}

TEST(OciWriter, RefusesAnInvalidTag) {
  TempDir tmp;
  Tree t(tmp / "src");
  build_tree(t);
  WriteOptions o = image_options(t, tmp / "image", "oci");
  o.image.tag = "Demo:1.0";
  EXPECT_EQ(thrown([&] { write_image(t.plan(), o); }),
            "image tag 'Demo:1.0': the name must be lower-case letters and digits joined by '.', '_', '__' or '-', "
            "in components separated by '/' (set image.tag in the spec)");
  o.image.tag = "";
  o.bundle_name = "-demo";
  EXPECT_EQ(thrown([&] { write_image(t.plan(), o); }),
            "image tag '-demo': the name must be lower-case letters and digits joined by '.', '_', '__' or '-', "
            "in components separated by '/' (set image.tag in the spec)");
  EXPECT_EQ(names_in(tmp.path()), std::vector<std::string>{"src"});
}

TEST(OciWriter, RefusesALevelTheCompressorLacks) {
  TempDir tmp;
  Tree t(tmp / "src");
  build_tree(t);
  WriteOptions o = image_options(t, tmp / "image", "oci");
  o.compression_level = 12;
  EXPECT_EQ(thrown([&] { write_image(t.plan(), o); }), "compression level 12: out of range for gzip (0-9)");
  o.image.layer_compression = "none";
  write_image(t.plan(), o);  // nothing to compress, nothing to refuse
  expect_layout_consistent(tmp / "image");
}

TEST(OciWriter, RefusesWhiteoutNames) {
  TempDir tmp;
  Tree t(tmp / "src");
  t.dir("/etc");
  t.file("/etc/.wh.passwd", "x\n");
  t.finish();
  EXPECT_EQ(thrown([&] { write_image(t.plan(), image_options(t, tmp / "image", "oci")); }),
            "/etc/.wh.passwd: cannot be stored in an image layer (a '.wh.' name marks a deleted file)");
  EXPECT_EQ(names_in(tmp.path()), std::vector<std::string>{"src"});
}

TEST(OciWriter, RefusesTargetsOfTheWrongKind) {
  TempDir tmp;
  Tree t(tmp / "src");
  build_tree(t);
  write_file(tmp / "file", "keep\n");
  fs::create_directory(tmp / "dir");
  EXPECT_EQ(thrown([&] { write_image(t.plan(), image_options(t, tmp / "file", "oci")); }),
            tmp / "file" + ": exists and is not a directory (the oci format was chosen)");
  EXPECT_EQ(thrown([&] { write_image(t.plan(), image_options(t, tmp / "dir", "oci-archive")); }),
            tmp / "dir" + ": is a directory (an archive format was chosen)");
  EXPECT_EQ(read_file(tmp / "file"), "keep\n");
  EXPECT_EQ(names_in(tmp.path()), (std::vector<std::string>{"dir", "file", "src"}));
}

TEST(OciWriter, AFailureLeavesThePreviousImageAndNoTemporary) {
  TempDir tmp;
  Tree t(tmp / "src");
  build_tree(t);
  for (std::string format : {"oci", "docker-archive"}) {
    SCOPED_TRACE(format);
    std::string out = tmp / ("image-" + format);
    write_image(t.plan(), image_options(t, out, format));
    std::string before = format == "oci" ? read_file(out + "/index.json") : read_file(out);
    fs::rename(t.host("/data/empty"), t.host("/data/gone"));
    EXPECT_EQ(thrown([&] { write_image(t.plan(), image_options(t, out, format)); }),
              t.root() + "/data/empty: vanished since the trace was planned");
    fs::rename(t.host("/data/gone"), t.host("/data/empty"));
    EXPECT_EQ(format == "oci" ? read_file(out + "/index.json") : read_file(out), before);
    for (const std::string& name : names_in(tmp.path())) EXPECT_EQ(name.find(".tmp."), std::string::npos) << name;
  }
}

TEST(OciWriter, ReplacesAnExistingLayout) {
  TempDir tmp;
  Tree t(tmp / "src");
  build_tree(t);
  std::string out = tmp / "image";
  write_image(t.plan(), image_options(t, out, "oci"));
  WriteOptions o = image_options(t, out, "oci");
  o.image.tag = "demo:2";
  WriteResult r = write_image(t.plan(), o);
  json index = read_json(out + "/index.json");
  EXPECT_EQ(index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"], "demo:2");
  EXPECT_EQ(index["manifests"][0]["digest"], r.image_digest);
  EXPECT_EQ(names_in(tmp.path()), (std::vector<std::string>{"image", "src"}));
  expect_layout_consistent(out);
}

// ---------------------------------------------------------------------------
// Names

TEST(ImageNames, TagsFollowTheReferenceGrammar) {
  for (const char* good : {"app", "app:1.0", "team/app:v2_rc-1", "a.b__c---d", "localhost/app", "localhost:5000/app:x",
                           "registry.example.com/a/b/c:LATEST", "app:_x"})
    EXPECT_EQ(image_tag_error(good), "") << good;
  const std::string bad_name =
      "the name must be lower-case letters and digits joined by '.', '_', '__' or '-', in components separated by '/'";
  const std::string bad_tag = "the tag after ':' must be 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'";
  EXPECT_EQ(image_tag_error(""), "empty");
  EXPECT_EQ(image_tag_error("App"), bad_name);
  EXPECT_EQ(image_tag_error("app..x"), bad_name);
  EXPECT_EQ(image_tag_error("app___x"), bad_name);
  EXPECT_EQ(image_tag_error("app/"), bad_name);
  EXPECT_EQ(image_tag_error("my app"), bad_name);
  EXPECT_EQ(image_tag_error("app:"), bad_tag);
  EXPECT_EQ(image_tag_error("app:-x"), bad_tag);
  EXPECT_EQ(image_tag_error("app:" + std::string(129, 'x')), bad_tag);
  EXPECT_EQ(image_tag_error("app@sha256:00"), "a digest ('@') cannot name an image built here");
  EXPECT_EQ(full_image_tag("app"), "app:latest");
  EXPECT_EQ(full_image_tag("localhost:5000/app"), "localhost:5000/app:latest");
  EXPECT_EQ(full_image_tag("app:1"), "app:1");
}

TEST(ImageNames, PortsAndArchitectures) {
  EXPECT_EQ(normalize_port("80"), "80/tcp");
  EXPECT_EQ(normalize_port("53/udp"), "53/udp");
  EXPECT_EQ(normalize_port("65535/sctp"), "65535/sctp");
  for (const char* bad : {"0", "65536", "080", "80/http", "", "/tcp", "8o", "-1", "80/TCP"})
    EXPECT_EQ(normalize_port(bad), std::nullopt) << bad;
  EXPECT_EQ(oci_architecture("x86_64"), "amd64");
  EXPECT_EQ(oci_architecture("aarch64"), "arm64");
  EXPECT_EQ(oci_architecture("i686"), "386");
  EXPECT_EQ(oci_architecture("armv7l"), "arm");
  EXPECT_EQ(oci_architecture("riscv64"), "riscv64");
}

// ---------------------------------------------------------------------------
// The spec's image: section

constexpr const char* kSpecHead = "name: app\ntests:\n  - name: t\n    run: [/bin/true]\noutput:\n  path: app.tar\n";

TEST(ImageSpec, ReadsEveryKey) {
  BundleSpec spec = parse_spec(std::string(kSpecHead) +
                                   "image:\n"
                                   "  tag: team/app:1.2\n"
                                   "  entrypoint: [/usr/bin/app]\n"
                                   "  cmd: [--serve, 8080]\n"
                                   "  env: {LANG: C.UTF-8, N: 1}\n"
                                   "  workdir: /srv\n"
                                   "  user: '1000'\n"
                                   "  labels: {org.example.a: b}\n"
                                   "  exposed_ports: [8080, 53/udp]\n"
                                   "  architecture: arm64\n"
                                   "  os: linux\n"
                                   "  layer_compression: zstd\n",
                               "tracepack.yaml");
  const ImageConfig& i = spec.image;
  EXPECT_EQ(i.tag, "team/app:1.2");
  EXPECT_EQ(i.entrypoint, std::vector<std::string>{"/usr/bin/app"});
  EXPECT_EQ(i.cmd, (std::vector<std::string>{"--serve", "8080"}));
  EXPECT_EQ(i.env, (std::map<std::string, std::string>{{"LANG", "C.UTF-8"}, {"N", "1"}}));
  EXPECT_EQ(i.workdir, "/srv");
  EXPECT_EQ(i.user, "1000");
  EXPECT_EQ(i.labels, (std::map<std::string, std::string>{{"org.example.a", "b"}}));
  EXPECT_EQ(i.exposed_ports, (std::vector<std::string>{"8080/tcp", "53/udp"}));
  EXPECT_EQ(i.architecture, "arm64");
  EXPECT_EQ(i.os, "linux");
  EXPECT_EQ(i.layer_compression, "zstd");
}

TEST(ImageSpec, DefaultsWhenSilent) {
  BundleSpec spec = parse_spec(std::string(kSpecHead) + "image:\n  tag: app\n", "tracepack.yaml");
  EXPECT_EQ(spec.image.entrypoint, std::nullopt);
  EXPECT_EQ(spec.image.cmd, std::nullopt);
  EXPECT_EQ(spec.image.layer_compression, "gzip");
  EXPECT_EQ(parse_spec(kSpecHead, "tracepack.yaml").image.tag, "");
}

TEST(ImageSpec, AcceptsTheImageFormats) {
  for (const char* format : {"oci", "oci-archive", "docker-archive"}) {
    std::string text =
        "name: app\ntests:\n  - name: t\n    run: [/bin/true]\noutput:\n  path: app\n  format: " + std::string(format) + "\n";
    EXPECT_EQ(parse_spec(text, "tracepack.yaml").output.format, format);
  }
}

std::string spec_error(const std::string& image_section) {
  return thrown([&] { parse_spec(std::string(kSpecHead) + image_section, "tracepack.yaml"); });
}

TEST(ImageSpec, ReportsEveryProblemWithItsPosition) {
  EXPECT_EQ(spec_error("image:\n"
                       "  tag: App:1\n"
                       "  entrypiont: [/x]\n"
                       "  cmd: /usr/bin/app --serve\n"
                       "  env: [A=1]\n"
                       "  workdir: srv\n"
                       "  labels: {a: [1]}\n"
                       "  exposed_ports: [http, 70000, 80/tcp]\n"
                       "  layer_compression: lz4\n"
                       "  size: 3\n"),
            "tracepack.yaml:8:8: invalid image tag 'App:1': the name must be lower-case letters and digits joined by '.', "
            "'_', '__' or '-', in components separated by '/'\n"
            "tracepack.yaml:9:3: unknown key 'entrypiont' (did you mean 'entrypoint'?)\n"
            "tracepack.yaml:10:8: 'cmd' must be a list, not a string\n"
            "tracepack.yaml:11:8: 'env' must be a map, not a list\n"
            "tracepack.yaml:12:12: 'workdir' must be an absolute path, not 'srv'\n"
            "tracepack.yaml:13:15: 'labels' values must be strings, not a list\n"
            "tracepack.yaml:14:19: invalid port 'http' (expected PORT or PORT/PROTO, PORT from 1 to 65535, PROTO tcp, udp or sctp)\n"
            "tracepack.yaml:14:25: invalid port '70000' (expected PORT or PORT/PROTO, PORT from 1 to 65535, PROTO tcp, udp or sctp)\n"
            "tracepack.yaml:15:22: unknown layer compression 'lz4' (expected one of: none, gzip, zstd)\n"
            "tracepack.yaml:16:3: unknown key 'size' (expected one of: tag, entrypoint, cmd, env, workdir, user, labels, "
            "exposed_ports, architecture, os, layer_compression)");
}

TEST(ImageSpec, ReportsWrongTypes) {
  EXPECT_EQ(spec_error("image: oci\n"), "tracepack.yaml:7:8: 'image' must be a map, not a string");
  EXPECT_EQ(spec_error("image:\n  cmd: [[a]]\n  user: ''\n  os: {}\n  tag: 'a b'\n"),
            "tracepack.yaml:8:9: 'cmd' entries must be strings, not a list\n"
            "tracepack.yaml:9:9: 'user' must not be empty\n"
            "tracepack.yaml:10:7: 'os' must be a string, not a map\n"
            "tracepack.yaml:11:8: invalid image tag 'a b': the name must be lower-case letters and digits joined by '.', "
            "'_', '__' or '-', in components separated by '/'");
  EXPECT_EQ(spec_error("imgae:\n  tag: x\n"), "tracepack.yaml:7:1: unknown key 'imgae' (did you mean 'image'?)");
}

// ---------------------------------------------------------------------------
// Defaults from the run (complete_image_config)

ImageConfig completed(const std::string& spec_text) {
  PackRequest request;
  request.spec = parse_spec(spec_text, "tracepack.yaml");
  return complete_image_config(request, BundlePlan{});
}

TEST(ImageDefaults, CmdAndPathComeFromTheFirstTest) {
  const std::string tests =
      "name: app\ntests:\n  - name: a\n    run: [/usr/bin/app, --once]\n    env: {PATH: /opt/bin:/usr/bin}\n"
      "  - name: b\n    shell: echo b\noutput:\n  path: app\n";
  ImageConfig c = completed(tests);
  EXPECT_EQ(c.cmd, (std::vector<std::string>{"/usr/bin/app", "--once"}));
  EXPECT_EQ(c.env, (std::map<std::string, std::string>{{"PATH", "/opt/bin:/usr/bin"}}));
  EXPECT_EQ(completed(tests + "image:\n  env: {PATH: /bin}\n").env.at("PATH"), "/bin");
  EXPECT_EQ(completed(tests + "image:\n  cmd: []\n").cmd, std::vector<std::string>{});
  ImageConfig with_entrypoint = completed(tests + "image:\n  entrypoint: [/usr/bin/app]\n");
  EXPECT_EQ(with_entrypoint.cmd, std::nullopt);
  EXPECT_EQ(completed("name: app\ntests:\n  - name: s\n    shell: echo hi | sort\noutput:\n  path: app\n").cmd,
            (std::vector<std::string>{"/bin/sh", "-c", "echo hi | sort"}));
}

}  // namespace
}  // namespace tracepack

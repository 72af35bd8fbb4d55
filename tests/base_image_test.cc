// open_base_image on real images: one built by fixtures/images/make-base-image.sh
// with umoci (once for the suite) and copied by skopeo to an oci-archive and a
// docker-archive, its expected tree given by `umoci unpack`; and hand-made
// layouts (fixtures/images/make-layout.py) with layers no tool would write:
// names leading out, writes and whiteouts through symlinks, FIFOs, manifest
// lists. Every refusal is asserted byte for byte.
#include "tracepack/base_image.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "cli_test_util.h"
#include "tracepack/error.h"

namespace tracepack {
namespace {

namespace fs = std::filesystem;
using cli_test::Json;
using cli_test::read_file;
using cli_test::run;
using cli_test::TempDir;
using cli_test::write_file;

const std::string kScript = std::string(FIXTURE_SRC_DIR) + "/images/make-base-image.sh";
const std::string kMakeLayout = std::string(FIXTURE_SRC_DIR) + "/images/make-layout.py";

/// Every entry below `root`: type, mode, owner, size, link target or content.
std::map<std::string, std::string> tree_of(const std::string& root) {
  std::map<std::string, std::string> tree;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    struct stat st;
    std::string path = it->path().string();
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
    std::ostringstream d;
    d << std::oct << st.st_mode << std::dec << " " << st.st_uid << ":" << st.st_gid;
    if (S_ISREG(st.st_mode)) d << " size " << st.st_size << " " << std::hash<std::string>{}(read_file(path));
    if (S_ISLNK(st.st_mode)) d << " -> " << fs::read_symlink(path).string();
    tree[path.substr(root.size())] = d.str();
  }
  return tree;
}

/// Regular files and their bytes as `find -type f` gives them, hard links once.
std::pair<std::uint64_t, std::uint64_t> find_sizes(const std::string& root) {
  cli_test::RunResult r = run({"find", root, "-type", "f", "-printf", "%i %s\\n"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::istringstream in(r.out);
  std::set<std::string> inodes;
  std::uint64_t files = 0, bytes = 0;
  std::string inode;
  std::uint64_t size;
  while (in >> inode >> size) {
    ++files;
    if (inodes.insert(inode).second) bytes += size;
  }
  return {files, bytes};
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

/// `text` with its 64 bytes from the middle inverted.
std::string flipped(std::string text) {
  for (std::size_t i = text.size() / 2; i < text.size() / 2 + 64 && i < text.size(); ++i) text[i] = static_cast<char>(~text[i]);
  return text;
}

std::string noise(std::size_t size) {
  std::string text;
  for (std::uint32_t x = 1; text.size() < size;) text += static_cast<char>('a' + ((x = x * 1103515245 + 12345) >> 16) % 26);
  return text;
}

class BaseImageTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir(BASE_IMAGE_TMP_DIR);
    cli_test::RunResult made =
        run({kScript, "--oci-archive", *dir_ / "img-oci.tar", "--docker-archive", *dir_ / "img-docker.tar", *dir_ / "img", "1.0"});
    ASSERT_EQ(made.exit_code, 0) << made.err;
    ASSERT_EQ(run({"cp", "-a", *dir_ / "img", *dir_ / "two"}).exit_code, 0);
    cli_test::RunResult tagged = run({"umoci", "config", "--image", *dir_ / "two:1.0", "--tag", "2.0", "--config.env", "GREETING=bonjour"});
    ASSERT_EQ(tagged.exit_code, 0) << tagged.err;
    cli_test::RunResult unpacked = run({"umoci", "unpack", "--image", *dir_ / "img:1.0", *dir_ / "bundle"});
    ASSERT_EQ(unpacked.exit_code, 0) << unpacked.err;
    expected_ = new std::map<std::string, std::string>(tree_of(*dir_ / "bundle/rootfs"));
  }
  static void TearDownTestSuite() {
    delete expected_;
    delete dir_;
  }
  void SetUp() override {
    if (dir_ == nullptr || expected_ == nullptr) GTEST_SKIP() << "the base image could not be built";
  }

  /// Opens `reference` into a fresh work directory kept for the test.
  BaseImage open(const std::string& reference) {
    work_ = std::make_unique<TempDir>(BASE_IMAGE_TMP_DIR);
    return open_base_image(reference, work_->path());
  }

  /// The checks every format of the fixture image passes.
  void expect_fixture(const BaseImage& image, const std::string& greeting = "hello") {
    EXPECT_EQ(tree_of(image.root), *expected_);
    EXPECT_EQ(image.config.env, (std::map<std::string, std::string>{{"GREETING", greeting}, {"PATH", "/usr/local/bin:/usr/bin:/bin"}}));
    EXPECT_EQ(image.config.entrypoint, std::vector<std::string>{"/app/hello"});
    EXPECT_EQ(image.config.cmd, std::vector<std::string>{"--verbose"});
    EXPECT_EQ(image.config.workdir, "/app");
    EXPECT_EQ(image.config.user, "app");
    EXPECT_EQ(image.config.labels, (std::map<std::string, std::string>{{"org.example.fixture", "base"}}));
    EXPECT_EQ(image.config.exposed_ports, std::vector<std::string>{"8080/tcp"});
    EXPECT_EQ(image.config.architecture, "amd64");
    EXPECT_EQ(image.config.os, "linux");
    auto [files, bytes] = find_sizes(image.root);
    EXPECT_EQ(image.files, files);
    EXPECT_EQ(image.bytes, bytes);
    EXPECT_GT(image.files, 100u);
  }

  static TempDir* dir_;
  static std::map<std::string, std::string>* expected_;
  std::unique_ptr<TempDir> work_;
};

TempDir* BaseImageTest::dir_ = nullptr;
std::map<std::string, std::string>* BaseImageTest::expected_ = nullptr;

TEST_F(BaseImageTest, LayoutDirectoryUnpacksAsUmociDoes) {
  BaseImage image = open(*dir_ / "img");
  EXPECT_EQ(image.kind, "oci-layout");
  EXPECT_EQ(image.reference, *dir_ / "img");
  EXPECT_EQ(image.root, work_->path() + "/rootfs");
  expect_fixture(image);
}

TEST_F(BaseImageTest, LayoutWithTwoTagsPicksTheOneNamed) {
  BaseImage first = open(*dir_ / "two:1.0");
  EXPECT_EQ(first.kind, "oci-layout");
  expect_fixture(first, "hello");
  BaseImage second = open(*dir_ / "two:2.0");
  expect_fixture(second, "bonjour");
}

TEST_F(BaseImageTest, OciArchiveGivesTheSameImage) {
  BaseImage image = open(*dir_ / "img-oci.tar");
  EXPECT_EQ(image.kind, "oci-archive");
  EXPECT_EQ(image.root, work_->path() + "/rootfs");
  expect_fixture(image);
  expect_fixture(open(*dir_ / "img-oci.tar:1.0"));
}

TEST_F(BaseImageTest, DockerArchiveGivesTheSameImage) {
  BaseImage image = open(*dir_ / "img-docker.tar");
  EXPECT_EQ(image.kind, "docker-archive");
  expect_fixture(image);
  expect_fixture(open(*dir_ / "img-docker.tar:tracepack/base:1.0"));
  expect_fixture(open(*dir_ / "img-docker.tar:docker.io/tracepack/base:1.0"));
}

TEST_F(BaseImageTest, RootDirectoryIsUsedInPlace) {
  BaseImage image = open(*dir_ / "bundle/rootfs");
  EXPECT_EQ(image.kind, "root");
  EXPECT_EQ(image.root, *dir_ / "bundle/rootfs");
  EXPECT_EQ(image.config.env.size(), 0u);
  EXPECT_FALSE(image.config.entrypoint);
  auto [files, bytes] = find_sizes(image.root);
  EXPECT_EQ(image.files, files);
  EXPECT_EQ(image.bytes, bytes);
  EXPECT_TRUE(fs::is_empty(work_->path()));
}

TEST_F(BaseImageTest, WhiteoutsReplacementAndOpaqueDirectory) {
  BaseImage image = open(*dir_ / "img");
  EXPECT_FALSE(fs::exists(image.root + "/app/removed.txt"));
  EXPECT_EQ(read_file(image.root + "/app/motd"), "motd v2\n");
  std::set<std::string> data;
  for (const auto& e : fs::directory_iterator(image.root + "/app/data")) data.insert(e.path().filename().string());
  EXPECT_EQ(data, (std::set<std::string>{"name.txt", "new.txt"}));
  EXPECT_EQ(read_file(image.root + "/app/data/name.txt"), "tracepack\n");
  for (const auto& [path, what] : tree_of(image.root)) EXPECT_EQ(path.find(".wh."), std::string::npos) << path;
  EXPECT_TRUE(fs::is_regular_file(image.root + "/var/lib/dpkg/status"));
  EXPECT_TRUE(fs::is_symlink(image.root + "/bin"));
}

TEST_F(BaseImageTest, UnknownTagListsTheTags) {
  EXPECT_EQ(message_of([&] { open(*dir_ / "two:3.0"); }), *dir_ / "two/index.json: no manifest tagged '3.0'; tags: 1.0, 2.0");
  EXPECT_EQ(message_of([&] { open(*dir_ / "img-docker.tar:other:1.0"); }),
            *dir_ / "img-docker.tar:manifest.json: no image tagged 'other:1.0'; tags: docker.io/tracepack/base:1.0");
}

/// Unpacks the docker archive `archive` into `dir`, lets `edit` change the
/// file `layer` there, and packs it again as `out`.
void repack(const std::string& archive, const std::string& dir, const std::string& layer,
            const std::function<std::string(const std::string&)>& edit, const std::string& out) {
  ASSERT_EQ(run({"mkdir", "-p", dir}).exit_code, 0);
  ASSERT_EQ(run({"tar", "-C", dir, "-xf", archive}).exit_code, 0);
  ASSERT_EQ(run({"chmod", "u+w", dir + "/" + layer}).exit_code, 0);
  write_file(dir + "/" + layer, edit(read_file(dir + "/" + layer)));
  ASSERT_EQ(run({"tar", "-C", dir, "-cf", out, "."}).exit_code, 0);
}

TEST_F(BaseImageTest, DockerArchiveWithDamagedLayerRefused) {
  Json manifest = Json::parse(run({"tar", "-xOf", *dir_ / "img-docker.tar", "manifest.json"}).out);
  std::string layer = manifest[0]["Layers"][0].get<std::string>();
  std::string diff_id =
      Json::parse(run({"tar", "-xOf", *dir_ / "img-docker.tar", manifest[0]["Config"].get<std::string>()}).out)["rootfs"]["diff_ids"][0];
  TempDir scratch(BASE_IMAGE_TMP_DIR);
  repack(*dir_ / "img-docker.tar", scratch / "x", layer, flipped, scratch / "damaged.tar");
  EXPECT_EQ(message_of([&] { open(scratch / "damaged.tar"); }), scratch / "damaged.tar:" + layer +
                                                                    ": content does not match its diff_id sha256:" + diff_id.substr(7, 12) +
                                                                    "... (the image is damaged)");
}

TEST_F(BaseImageTest, DockerArchiveWithGzipLayerCheckedUncompressed) {
  Json manifest = Json::parse(run({"tar", "-xOf", *dir_ / "img-docker.tar", "manifest.json"}).out);
  std::string layer = manifest[0]["Layers"][0].get<std::string>();
  std::string diff_id =
      Json::parse(run({"tar", "-xOf", *dir_ / "img-docker.tar", manifest[0]["Config"].get<std::string>()}).out)["rootfs"]["diff_ids"][0];
  TempDir scratch(BASE_IMAGE_TMP_DIR);
  auto gzip = [&](const std::string& text) {
    write_file(scratch / "plain", text);
    return run({"gzip", "-c", "-n", scratch / "plain"}).out;
  };
  repack(*dir_ / "img-docker.tar", scratch / "x", layer, gzip, scratch / "gzip.tar");
  expect_fixture(open(scratch / "gzip.tar"));
  repack(
      *dir_ / "img-docker.tar", scratch / "y", layer, [&](const std::string& text) { return gzip(flipped(text)); },
      scratch / "damaged.tar");
  EXPECT_EQ(message_of([&] { open(scratch / "damaged.tar"); }), scratch / "damaged.tar:" + layer +
                                                                    ": content does not match its diff_id sha256:" + diff_id.substr(7, 12) +
                                                                    "... (the image is damaged)");
}

TEST_F(BaseImageTest, TwoManifestsNeedATag) {
  EXPECT_EQ(message_of([&] { open(*dir_ / "two"); }),
            *dir_ / "two/index.json: manifests: names 2 images, choose one with " + *dir_ / "two:TAG; tags: 1.0, 2.0");
}

// ---------------------------------------------------------------------------
// Hand-made layouts.

class HandMadeLayerTest : public ::testing::Test {
 protected:
  /// Writes the layout `name` from `description` (make-layout.py); the layer digests.
  std::vector<std::string> make_layout(const std::string& name, const Json& description) {
    write_file(dir_ / (name + ".json"), description.dump());
    cli_test::RunResult r = run({"python3", kMakeLayout, dir_ / (name + ".json"), dir_ / name});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<std::string> digests;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);) digests.push_back(line);
    return digests;
  }
  static Json layers(const std::vector<Json>& layers) {
    return Json{{"images", Json::array({Json{{"tag", "1.0"}, {"layers", Json(layers)}}})}};
  }
  static Json layer(const std::vector<Json>& entries, const std::string& compression = "none") {
    return Json{{"compression", compression}, {"entries", Json(entries)}};
  }
  static Json file(const std::string& name, const std::string& content) {
    return Json{{"name", name}, {"type", "file"}, {"content", content}};
  }
  static Json dir(const std::string& name) { return Json{{"name", name}, {"type", "dir"}}; }
  static Json link(const std::string& type, const std::string& name, const std::string& target) {
    return Json{{"name", name}, {"type", type}, {"target", target}};
  }
  BaseImage open(const std::string& name) { return open_base_image(dir_ / name, work_.path()); }
  /// The error opening `name` into a fresh work directory (kept as last_work_).
  std::string refusal(const std::string& name) {
    last_work_ = std::make_unique<TempDir>(BASE_IMAGE_TMP_DIR);
    return message_of([&] { open_base_image(dir_ / name, last_work_->path()); });
  }

  TempDir dir_{BASE_IMAGE_TMP_DIR};
  TempDir work_{BASE_IMAGE_TMP_DIR};
  std::unique_ptr<TempDir> last_work_;
};

TEST_F(HandMadeLayerTest, DotDotEntryRefused) {
  auto d = make_layout("img", layers({layer({file("../escape", "x")})}));
  EXPECT_EQ(refusal("img"), dir_ / "img/blobs/sha256/" + d[0] + ": entry '../escape' refused: path leads outside the root (\"..\")");
  EXPECT_FALSE(fs::exists(*last_work_ / "escape"));
}

TEST_F(HandMadeLayerTest, AbsoluteEntryRefused) {
  auto d = make_layout("img", layers({layer({file("/etc/evil", "x")})}));
  EXPECT_EQ(refusal("img"), dir_ / "img/blobs/sha256/" + d[0] + ": entry '/etc/evil' refused: absolute path");
}

TEST_F(HandMadeLayerTest, FileThroughSymlinkRefused) {
  TempDir outside(BASE_IMAGE_TMP_DIR);
  auto d = make_layout("img", layers({layer({link("symlink", "d", outside.path()), file("d/file", "x")})}));
  EXPECT_EQ(refusal("img"), dir_ / "img/blobs/sha256/" + d[0] + ": entry 'd/file' refused: path goes through a symlink ('d')");
  EXPECT_FALSE(fs::exists(outside / "file"));
}

TEST_F(HandMadeLayerTest, WhiteoutThroughSymlinkRefusedAndNothingOutsideDeleted) {
  TempDir outside(BASE_IMAGE_TMP_DIR);
  write_file(outside / "victim", "still here");
  auto d = make_layout("img",
                       layers({layer({link("symlink", "d", outside.path())}), layer({Json{{"name", "d/.wh.victim"}, {"type", "file"}}})}));
  EXPECT_EQ(refusal("img"), dir_ / "img/blobs/sha256/" + d[1] + ": entry 'd/.wh.victim' refused: path goes through a symlink ('d')");
  EXPECT_EQ(read_file(outside / "victim"), "still here");
}

TEST_F(HandMadeLayerTest, WhiteoutOfMissingFileIsFine) {
  make_layout("img", layers({layer({file("a", "1")}), layer({file(".wh.nothing", ""), file("sub/.wh.nothing", "")})}));
  BaseImage image = open("img");
  EXPECT_EQ(tree_of(image.root).size(), 1u);
  EXPECT_EQ(read_file(image.root + "/a"), "1");
}

TEST_F(HandMadeLayerTest, OpaqueKeepsWhatTheSameLayerAddsBeforeAndAfter) {
  make_layout("img", layers({layer({dir("d"), file("d/old", "1"), dir("d/sub"), file("d/sub/old", "2"), file("keep", "k")}, "gzip"),
                             layer({dir("d"), file("d/before", "b"), dir("d/sub"), file("d/sub/new", "n"), file("d/.wh..wh..opq", ""),
                                    file("d/after", "a")},
                                   "zstd")}));
  BaseImage image = open("img");
  std::set<std::string> paths;
  for (const auto& [path, what] : tree_of(image.root)) paths.insert(path);
  EXPECT_EQ(paths, (std::set<std::string>{"/d", "/d/before", "/d/after", "/d/sub", "/d/sub/new", "/keep"}));
}

TEST_F(HandMadeLayerTest, DirectoryAndFileReplaceEachOther) {
  make_layout("img", layers({layer({dir("a"), file("a/x", "1"), dir("a/y"), file("b", "2")}),
                             layer({file("a", "now a file"), dir("b"), file("b/z", "3")})}));
  BaseImage image = open("img");
  EXPECT_EQ(read_file(image.root + "/a"), "now a file");
  EXPECT_EQ(read_file(image.root + "/b/z"), "3");
  EXPECT_EQ(image.files, 2u);
}

TEST_F(HandMadeLayerTest, HardLinksKeptSpecialFilesSkipped) {
  make_layout("img", layers({layer({file("a", "12345"), link("hardlink", "b", "a"), Json{{"name", "fifo"}, {"type", "fifo"}},
                                    Json{{"name", "null"}, {"type", "chardev"}}})}));
  BaseImage image = open("img");
  struct stat a, b;
  ASSERT_EQ(::lstat((image.root + "/a").c_str(), &a), 0);
  ASSERT_EQ(::lstat((image.root + "/b").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_FALSE(fs::exists(fs::symlink_status(image.root + "/fifo")));
  EXPECT_FALSE(fs::exists(fs::symlink_status(image.root + "/null")));
  EXPECT_EQ(image.skipped, 2u);
  EXPECT_EQ(image.files, 2u);
  EXPECT_EQ(image.bytes, 5u);
}

TEST_F(HandMadeLayerTest, ManifestListFollowedToThisMachine) {
  Json image{{"tag", "1.0"}, {"platforms", {"linux/arm64", "linux/amd64"}}, {"layers", Json::array({layer({file("a", "1")})})}};
  make_layout("img", Json{{"images", Json::array({image})}});
  EXPECT_EQ(read_file(open("img").root + "/a"), "1");
}

TEST_F(HandMadeLayerTest, ManifestListWithoutThisMachineRefused) {
  Json image{{"tag", "1.0"}, {"platforms", {"linux/arm64", "linux/s390x"}}, {"layers", Json::array({layer({file("a", "1")})})}};
  make_layout("img", Json{{"images", Json::array({image})}});
  Json index = Json::parse(read_file(dir_ / "img/index.json"));
  std::string list = index["manifests"][0]["digest"].get<std::string>().substr(7);
  EXPECT_EQ(refusal("img"),
            dir_ / "img/blobs/sha256/" + list + ": manifests: no image for linux/amd64; platforms: linux/arm64, linux/s390x");
}

TEST_F(HandMadeLayerTest, MissingReference) {
  EXPECT_EQ(refusal("nothing:1.0"), dir_ / "nothing:1.0: no such image layout, image archive or directory");
}

TEST_F(HandMadeLayerTest, CorruptedLayerBlob) {
  std::string noise;
  for (std::uint32_t x = 1; noise.size() < 200000;) noise += static_cast<char>('a' + ((x = x * 1103515245 + 12345) >> 16) % 26);
  auto d = make_layout("img", layers({layer({file("a", noise)}, "gzip")}));
  std::string blob = dir_ / "img/blobs/sha256/" + d[0];
  std::string bytes = read_file(blob);
  write_file(blob, bytes.substr(0, bytes.size() / 2));
  EXPECT_EQ(refusal("img"), blob + ": is " + std::to_string(bytes.size() / 2) + " bytes, its descriptor says " +
                                std::to_string(bytes.size()) + " (the image is damaged)");
}

std::string damage(const std::string& hex) {
  return ": content does not match its digest sha256:" + hex.substr(0, 12) + "... (the image is damaged)";
}

TEST_F(HandMadeLayerTest, GzipLayerWithFlippedBytesRefused) {
  auto d = make_layout("img", layers({layer({file("a", noise(200000))}, "gzip")}));
  std::string blob = dir_ / "img/blobs/sha256/" + d[0];
  write_file(blob, flipped(read_file(blob)));
  EXPECT_EQ(refusal("img"), blob + damage(d[0]));
}

TEST_F(HandMadeLayerTest, TarLayerWithFlippedBytesRefused) {
  auto d = make_layout("img", layers({layer({file("a", "first"), file("b", noise(100000)), file("c", "last")})}));
  std::string blob = dir_ / "img/blobs/sha256/" + d[0];
  write_file(blob, flipped(read_file(blob)));
  EXPECT_EQ(refusal("img"), blob + damage(d[0]));
}

TEST_F(HandMadeLayerTest, EditedConfigRefused) {
  Json description = layers({layer({file("a", "1")})});
  description["images"][0]["config"] = Json{{"architecture", "amd64"}, {"os", "linux"}, {"config", {{"Env", {"MODE=safe"}}}}};
  make_layout("img", description);
  Json index = Json::parse(read_file(dir_ / "img/index.json"));
  std::string manifest = index["manifests"][0]["digest"].get<std::string>().substr(7);
  std::string config = Json::parse(read_file(dir_ / "img/blobs/sha256/" + manifest))["config"]["digest"].get<std::string>().substr(7);
  std::string blob = dir_ / "img/blobs/sha256/" + config;
  std::string text = read_file(blob);
  ASSERT_NE(text.find("MODE=safe"), std::string::npos);
  text.replace(text.find("MODE=safe"), 9, "MODE=evil");
  write_file(blob, text);
  EXPECT_EQ(refusal("img"), blob + damage(config));
}

TEST_F(HandMadeLayerTest, EditedManifestRefused) {
  make_layout("img", layers({layer({file("a", "1")})}));
  Json index = Json::parse(read_file(dir_ / "img/index.json"));
  std::string manifest = index["manifests"][0]["digest"].get<std::string>().substr(7);
  std::string blob = dir_ / "img/blobs/sha256/" + manifest;
  std::string text = read_file(blob);
  text.replace(text.find("\"schemaVersion\": 2"), 18, "\"schemaVersion\": 3");
  write_file(blob, text);
  EXPECT_EQ(refusal("img"), blob + damage(manifest));
}

TEST_F(HandMadeLayerTest, BlobOfTheWrongSizeRefused) {
  auto d = make_layout("img", layers({layer({file("a", "1")})}));
  std::string blob = dir_ / "img/blobs/sha256/" + d[0];
  std::string bytes = read_file(blob);
  write_file(blob, bytes + std::string(512, '\0'));
  EXPECT_EQ(refusal("img"), blob + ": is " + std::to_string(bytes.size() + 512) + " bytes, its descriptor says " +
                                std::to_string(bytes.size()) + " (the image is damaged)");
}

TEST_F(HandMadeLayerTest, DockerConfigMustNameEveryLayer) {
  write_file(dir_ / "layer.tar", std::string(1024, '\0'));
  write_file(dir_ / "manifest.json", "[{\"Config\": \"config.json\", \"Layers\": [\"layer.tar\"]}]");
  write_file(dir_ / "config.json", "{\"rootfs\": {\"type\": \"layers\", \"diff_ids\": []}}");
  ASSERT_EQ(run({"tar", "-C", dir_.path(), "-cf", dir_ / "d.tar", "manifest.json", "config.json", "layer.tar"}).exit_code, 0);
  EXPECT_EQ(refusal("d.tar"), dir_ / "d.tar:config.json: rootfs.diff_ids: names 0 layers, manifest.json 1");
}

TEST_F(HandMadeLayerTest, DescriptorWithoutSizeRefused) {
  auto d = make_layout("img", layers({layer({file("a", "1")})}));
  Json index = Json::parse(read_file(dir_ / "img/index.json"));
  index["manifests"][0].erase("size");
  write_file(dir_ / "img/index.json", index.dump());
  EXPECT_EQ(refusal("img"), dir_ / "img/index.json: manifests[0].size: missing");
}

TEST_F(HandMadeLayerTest, DockerArchiveWithBadManifest) {
  write_file(dir_ / "manifest.json", "[{\"Config\": \"../config.json\", \"Layers\": []}]");
  ASSERT_EQ(run({"tar", "-C", dir_.path(), "-cf", dir_ / "bad.tar", "manifest.json"}).exit_code, 0);
  EXPECT_EQ(refusal("bad.tar"), dir_ / "bad.tar:manifest.json: [0].Config: not a file inside the archive: '../config.json'");
  write_file(dir_ / "manifest.json", "{");
  ASSERT_EQ(run({"tar", "-C", dir_.path(), "-cf", dir_ / "worse.tar", "manifest.json"}).exit_code, 0);
  EXPECT_EQ(refusal("worse.tar"), dir_ / "worse.tar:manifest.json: not valid JSON");
}

}  // namespace
}  // namespace tracepack

// write_bundle and format_from_path, checked with the real clients.
//
// Each test builds a source tree in a fresh temporary directory (regular
// files, an executable, a 0640 file, a symlink chain, a hard-link pair, odd
// names: a newline, a 0xff byte, spaces, UTF-8, and a 4,000-byte path of
// nested directories) together with the BundlePlan that describes it, writes
// the bundle, and has GNU tar, bsdtar, unzip and GNU cpio list and extract it.
// The extracted tree is compared with the plan: the set of paths, types,
// modes, symlink targets, contents, clamped mtimes and shared hard-link
// inodes. Where a client cannot keep a name the test says so explicitly.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli_test_util.h"
#include "plan_tree.h"
#include "tracepack/bundle_writer.h"
#include "tracepack/error.h"
#include "tracepack/trace.h"

namespace tracepack {
namespace {

namespace fs = std::filesystem;
using namespace cli_test;
using plan_tree::kOldTime;
using plan_tree::Tree;

constexpr std::int64_t kFutureTime = 2000000000;  // 2033-05-18
constexpr std::int64_t kEpoch = 1700000000;       // SOURCE_DATE_EPOCH used by the tests

const std::string kNewline = "/odd/new\nline";
const std::string kInvalid = "/odd/bad\xffname";
const std::string kSpaces = "/odd/with spaces here";
const std::string kUtf8 = "/odd/caf\xc3\xa9";
const std::string kOddLink = "/odd/link\xff";

// ---------------------------------------------------------------------------
// Helpers: lines, names, noise

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

/// Names in a directory, sorted.
std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> names;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().native());
  std::sort(names.begin(), names.end());
  return names;
}

/// Content bytes no compressor can shrink, so a small disk fills up.
std::string noise(std::size_t size, unsigned seed) {
  std::string text(size, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (char& c : text) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    c = static_cast<char>(x >> 24);
  }
  return text;
}

// ---------------------------------------------------------------------------
// Source trees (plan_tree.h) with odd names and long paths

/// The 4,000-byte relative path: nested 99-byte directories, then a file.
std::vector<std::string> long_path_parts() {
  std::vector<std::string> parts{"/long"};
  std::size_t length = 4;  // "long"
  for (int i = 0; 4000 - length > 200; ++i) {
    parts.push_back(parts.back() + "/" + std::string(99, static_cast<char>('a' + i % 26)));
    length += 100;
  }
  parts.push_back(parts.back() + "/" + std::string(4000 - length - 1, 'f'));
  return parts;
}

/// Every kind of entry and every odd name the writer must keep exactly.
void build_odd_tree(Tree& t) {
  t.dir("/usr");
  t.dir("/usr/bin");
  t.file("/usr/bin/tool", "#!/bin/sh\necho tool\n", 0755, kFutureTime);
  t.dir("/usr/lib");
  t.file("/usr/lib/libx.so.1.2", noise(600 * 1024 + 7, 1));  // several 256 KiB chunks
  t.symlink("/usr/lib/libx.so.1", "libx.so.1.2");
  t.symlink("/usr/lib/libx.so", "libx.so.1");
  t.dir("/etc");
  t.file("/etc/secret.conf", "password = hunter2\n", 0640);
  t.dir("/data", 0700);
  t.file("/data/a.bin", "shared inode\n");
  t.hardlink("/data/b.bin", "/data/a.bin");
  t.file("/data/empty", "", 0600);
  t.dir("/odd", 0750);
  t.file(kNewline, "newline\n");
  t.file(kInvalid, "invalid utf-8\n");
  t.file(kSpaces, "spaces\n");
  t.file(kUtf8, "utf-8\n");
  t.symlink(kOddLink, "bad\xffname");
  std::vector<std::string> parts = long_path_parts();
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) t.dir(parts[i]);
  t.file(parts.back(), "deep\n");
  t.finish();
}

WriteOptions options_for(const Tree& t, const std::string& path, const std::string& format = "") {
  WriteOptions o;
  o.path = path;
  o.format = format;
  o.source_root = t.root();
  o.bundle_name = "demo";
  o.source_date_epoch = kEpoch;
  return o;
}

// ---------------------------------------------------------------------------
// Comparing an extracted tree with the plan

struct Expect {
  bool shared_hardlinks = true;  ///< false: zip stores a copy
  bool check_mtimes = true;
  std::set<std::string> skipped;  ///< plan paths the client cannot represent
};

/// A path for failure messages: bytes escaped, the long ones cut.
std::string shorten(const std::string& path) {
  std::string text = encode_path(path);
  return text.size() <= 120 ? text : text.substr(0, 60) + "..." + text.substr(text.size() - 60);
}

std::set<std::string> extracted_paths(const std::string& dir) {
  std::set<std::string> paths;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it)
    paths.insert("/" + it->path().native().substr(dir.size() + 1));
  return paths;
}

void expect_entry(const Tree& t, const std::string& dir, const PlanEntry& e, const Expect& expect) {
  const std::string where = shorten(e.path);
  std::string p = dir + e.path;
  struct stat st;
  ASSERT_EQ(lstat(p.c_str(), &st), 0) << where;
  if (e.type == EntryType::symlink) {
    ASSERT_TRUE(S_ISLNK(st.st_mode)) << where;
    EXPECT_EQ(fs::read_symlink(p).native(), e.link_target) << where;
    return;
  }
  EXPECT_EQ(st.st_mode & 07777, e.mode) << where;
  if (e.type == EntryType::directory) {
    EXPECT_TRUE(S_ISDIR(st.st_mode)) << where;
    return;
  }
  ASSERT_TRUE(S_ISREG(st.st_mode)) << where;
  EXPECT_EQ(read_file(p), read_file(t.host(e.path))) << where;
  if (expect.check_mtimes) {
    EXPECT_EQ(st.st_mtime, std::min(e.mtime, kEpoch)) << where;
  }
  if (!e.hardlink_to.empty()) {
    struct stat target;
    ASSERT_EQ(lstat((dir + e.hardlink_to).c_str(), &target), 0);
    EXPECT_EQ(st.st_ino == target.st_ino, expect.shared_hardlinks) << where;
  }
}

/// The extracted tree holds exactly the plan plus the manifest, each as planned.
void expect_tree(const Tree& t, const std::string& dir, const Expect& expect = {}) {
  std::set<std::string> want{"/.tracepack", "/.tracepack/manifest.json"};
  for (const PlanEntry& e : t.plan().entries) {
    if (!expect.skipped.contains(e.path)) want.insert(e.path);
  }
  std::set<std::string> got = extracted_paths(dir);
  for (const std::string& p : want) EXPECT_TRUE(got.contains(p)) << "missing: " << shorten(p);
  for (const std::string& p : got) EXPECT_TRUE(want.contains(p)) << "unexpected: " << shorten(p);
  for (const PlanEntry& e : t.plan().entries) {
    if (!expect.skipped.contains(e.path) && got.contains(e.path)) expect_entry(t, dir, e, expect);
  }
}

/// zip has no hard links: the second name is a copy.
Expect copied_hardlinks() {
  Expect expect;
  expect.shared_hardlinks = false;
  return expect;
}

/// "tar.gz" -> "tar_gz": test names allow no dots.
std::string format_test_name(const ::testing::TestParamInfo<const char*>& param) {
  std::string name = param.param;
  std::replace(name.begin(), name.end(), '.', '_');
  return name;
}

/// The message of the Error write_bundle throws, or "no error".
std::string refusal(const BundlePlan& plan, const WriteOptions& o) {
  try {
    write_bundle(plan, o);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

// ---------------------------------------------------------------------------
// Fixture

class ArchiveWriterTest : public ::testing::Test {
 protected:
  void SetUp() override { build_odd_tree(tree_); }

  /// Writes the odd tree in `format` and returns the output path.
  std::string write(const std::string& format, const std::string& name) {
    std::string out = tmp_ / name;
    WriteResult r = write_bundle(tree_.plan(), options_for(tree_, out, format));
    EXPECT_EQ(r.format, format);
    return out;
  }

  std::string extract_dir(const std::string& name) {
    std::string dir = tmp_ / name;
    fs::create_directory(dir);
    return dir;
  }

  TempDir tmp_;
  Tree tree_{tmp_ / "src"};
};

// ---------------------------------------------------------------------------
// format_from_path

TEST(BundleFormat, FromExtension) {
  EXPECT_EQ(format_from_path("out.tar"), "tar");
  EXPECT_EQ(format_from_path("out.tar.gz"), "tar.gz");
  EXPECT_EQ(format_from_path("out.tgz"), "tar.gz");
  EXPECT_EQ(format_from_path("out.tar.zst"), "tar.zst");
  EXPECT_EQ(format_from_path("out.tzst"), "tar.zst");
  EXPECT_EQ(format_from_path("out.tar.xz"), "tar.xz");
  EXPECT_EQ(format_from_path("out.txz"), "tar.xz");
  EXPECT_EQ(format_from_path("dir.d/out.zip"), "zip");
  EXPECT_EQ(format_from_path("out.cpio"), "cpio");
  EXPECT_EQ(format_from_path("OUT.TAR.GZ"), "tar.gz");
}

TEST(BundleFormat, DirectoryWithoutExtension) {
  EXPECT_EQ(format_from_path("out/"), "dir");
  EXPECT_EQ(format_from_path("out.tar/"), "dir");
  EXPECT_EQ(format_from_path("bundle"), "dir");
  EXPECT_EQ(format_from_path("x.tar.d/bundle"), "dir");
  EXPECT_EQ(format_from_path(".tar"), "dir");
  EXPECT_EQ(format_from_path("python3.11"), "dir");
}

TEST(BundleFormat, UnknownArchiveExtension) {
  try {
    format_from_path("x.rar");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "x.rar: unknown archive extension '.rar' (use --format: dir, tar, tar.gz, tar.zst, tar.xz, zip, cpio, oci, oci-archive, "
                 "docker-archive)");
  }
  try {
    format_from_path("out/x.tar.bz2");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "out/x.tar.bz2: unknown archive extension '.tar.bz2' (use --format: dir, tar, tar.gz, tar.zst, tar.xz, zip, cpio, oci, "
                 "oci-archive, docker-archive)");
  }
}

TEST(BundleFormat, UnknownFormatOption) {
  TempDir tmp;
  WriteOptions o;
  o.path = tmp / "out";
  o.format = "rar";
  try {
    write_bundle({}, o);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "rar: unknown bundle format (use dir, tar, tar.gz, tar.zst, tar.xz, zip, cpio, oci, oci-archive, docker-archive)");
  }
  EXPECT_TRUE(list_dir(tmp.path()).empty());
}

// ---------------------------------------------------------------------------
// Every format, extracted by the real clients

class ArchiveWriterTarTest : public ArchiveWriterTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(ArchiveWriterTarTest, GnuTarExtractsEveryNameExactly) {
  std::string archive = write(GetParam(), std::string("out.") + GetParam());
  RunResult list = run({"tar", "--numeric-owner", "-tvf", archive});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  std::vector<std::string> listed = lines(list.out);
  ASSERT_FALSE(listed.empty());
  EXPECT_NE(listed.back().find(".tracepack/manifest.json"), std::string::npos) << "the manifest comes last";
  for (const std::string& line : listed) EXPECT_NE(line.find(" 0/0 "), std::string::npos) << line;
  std::string dir = extract_dir("gnu");
  RunResult x = run({"tar", "-xpf", archive, "-C", dir});
  ASSERT_EQ(x.exit_code, 0) << x.err;
  // GNU tar 1.34 does not know pax's hdrcharset; it warns once for each of
  // the two entries whose names are not UTF-8, and still keeps their bytes.
  const std::string warning = "tar: Ignoring unknown extended header keyword 'hdrcharset'";
  EXPECT_EQ(lines(x.err), (std::vector<std::string>{warning, warning}));
  expect_tree(tree_, dir);
}

TEST_P(ArchiveWriterTarTest, BsdtarExtractsEveryNameExactly) {
  std::string archive = write(GetParam(), std::string("out.") + GetParam());
  RunResult list = run({"bsdtar", "-tf", archive});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  std::string dir = extract_dir("bsd");
  RunResult x = run({"bsdtar", "-xpf", archive, "-C", dir});
  ASSERT_EQ(x.exit_code, 0) << x.err;
  expect_tree(tree_, dir);
}

INSTANTIATE_TEST_SUITE_P(ArchiveFormats, ArchiveWriterTarTest, ::testing::Values("tar", "tar.gz", "tar.zst", "tar.xz"), format_test_name);

TEST_F(ArchiveWriterTest, UnzipExtractsZip) {
  std::string archive = write("zip", "out.zip");
  RunResult names = run({"unzip", "-Z1", archive});
  ASSERT_EQ(names.exit_code, 0) << names.err;
  EXPECT_EQ(lines(names.out).back(), ".tracepack/manifest.json");
  RunResult list = run({"unzip", "-l", archive});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  // With -^ Info-ZIP unzip keeps names exactly, the newline and the 0xff
  // byte included; zip has no hard links, so b.bin is a copy.
  std::string dir = extract_dir("unzip");
  RunResult x = run({"unzip", "-^", "-q", archive, "-d", dir});
  ASSERT_EQ(x.exit_code, 0) << x.out << x.err;
  expect_tree(tree_, dir, copied_hardlinks());
}

TEST_F(ArchiveWriterTest, UnzipWithoutCaretDropsOddBytes) {
  // By default unzip 6.0 drops control characters and bytes it cannot print
  // from the names it extracts (whatever the locale); the archive has them.
  std::string archive = write("zip", "out.zip");
  std::string dir = extract_dir("unzip");
  RunResult x = run({"unzip", "-q", archive, "-d", dir});
  ASSERT_EQ(x.exit_code, 0) << x.out << x.err;
  std::vector<std::string> odd = list_dir(dir + "/odd");
  EXPECT_EQ(odd, (std::vector<std::string>{"badname", "caf\xc3\xa9", "link", "newline", "with spaces here"}));
  RunResult names = run({"unzip", "-Z1", archive});
  std::vector<std::string> listed = lines(names.out);
  EXPECT_NE(std::find(listed.begin(), listed.end(), "odd/bad\xffname"), listed.end());
  EXPECT_NE(std::find(listed.begin(), listed.end(), "odd/new^Jline"), listed.end()) << "listed with a caret";
}

TEST_F(ArchiveWriterTest, BsdtarExtractsZip) {
  std::string archive = write("zip", "out.zip");
  std::string dir = extract_dir("bsd");
  RunResult x = run({"bsdtar", "-xpf", archive, "-C", dir});
  ASSERT_EQ(x.exit_code, 0) << x.err;
  expect_tree(tree_, dir, copied_hardlinks());
}

TEST_F(ArchiveWriterTest, CpioExtractsNewc) {
  std::string archive = write("cpio", "out.cpio");
  RunResult list = run({"cpio", "-it"}, {.stdin_file = archive});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(lines(list.out).back(), ".tracepack/manifest.json");
  std::string dir = extract_dir("cpio");
  RunResult x = run({"cpio", "-idmv"}, {.cwd = dir, .stdin_file = archive});
  ASSERT_EQ(x.exit_code, 0) << x.err;
  expect_tree(tree_, dir);
}

TEST_F(ArchiveWriterTest, BsdtarExtractsCpio) {
  std::string archive = write("cpio", "out.cpio");
  std::string dir = extract_dir("bsd");
  RunResult x = run({"bsdtar", "-xpf", archive, "-C", dir});
  ASSERT_EQ(x.exit_code, 0) << x.err;
  expect_tree(tree_, dir);
}

TEST_F(ArchiveWriterTest, DirHoldsEveryNameExactly) {
  std::string out = write("dir", "out");
  expect_tree(tree_, out);
  struct stat st;
  ASSERT_EQ(stat((out + "/data").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtime, kOldTime) << "directory mtimes are set after their contents";
}

TEST_F(ArchiveWriterTest, ResultCountsEntriesAndBytes) {
  std::string out = tmp_ / "out.tar";
  WriteResult r = write_bundle(tree_.plan(), options_for(tree_, out));
  EXPECT_EQ(r.format, "tar");
  EXPECT_EQ(r.files, 10u);
  EXPECT_EQ(r.hardlinks, 1u);
  EXPECT_EQ(r.symlinks, 3u);
  EXPECT_EQ(r.directories, 6u + long_path_parts().size() - 1);
  std::uint64_t bytes = 0;
  for (const PlanEntry& e : tree_.plan().entries)
    if (e.type == EntryType::regular && e.hardlink_to.empty()) bytes += e.size;
  EXPECT_EQ(r.bytes, bytes);
  EXPECT_EQ(r.output_bytes, fs::file_size(out));
}

TEST_F(ArchiveWriterTest, CpioListsParentsFirstForAnInitramfs) {
  // The kernel's initramfs unpacker creates no missing parents.
  std::string archive = write("cpio", "out.cpio");
  RunResult list = run({"cpio", "-it", "--quiet"}, {.stdin_file = archive});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  std::set<std::string> seen;
  // Names are one per line; the one with a newline spans two, so skip "line".
  for (const std::string& name : lines(list.out)) {
    std::size_t slash = name.rfind('/');
    if (slash != std::string::npos && name != "line") {
      EXPECT_TRUE(seen.contains(name.substr(0, slash))) << shorten(name);
    }
    seen.insert(name);
  }
}

TEST_F(ArchiveWriterTest, CompressionLevelReachesTheCompressor) {
  Tree t(tmp_ / "text");
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "line " + std::to_string(i % 977) + " of a compressible file\n";
  t.file("/text", text);
  t.finish();
  for (const char* format : {"tar.gz", "tar.zst", "tar.xz", "zip"}) {
    WriteOptions fast = options_for(t, tmp_ / (std::string("fast.") + format), format);
    fast.compression_level = format == std::string("tar.zst") ? 1 : 0;
    WriteOptions best = options_for(t, tmp_ / (std::string("best.") + format), format);
    best.compression_level = format == std::string("tar.zst") ? 19 : 9;
    write_bundle(t.plan(), fast);
    write_bundle(t.plan(), best);
    EXPECT_GT(fs::file_size(fast.path), fs::file_size(best.path)) << format;
  }
  EXPECT_EQ(run({"gzip", "-t", tmp_ / "best.tar.gz"}).exit_code, 0);
  EXPECT_EQ(run({"zstd", "-q", "-t", tmp_ / "best.tar.zst"}).exit_code, 0);
  EXPECT_EQ(run({"xz", "-t", tmp_ / "best.tar.xz"}).exit_code, 0);
  EXPECT_EQ(run({"unzip", "-tq", tmp_ / "best.zip"}).exit_code, 0);
}

TEST_F(ArchiveWriterTest, CompressionLevelOutOfRangeIsRefused) {
  WriteOptions o = options_for(tree_, tmp_ / "out.tar.zst");
  o.compression_level = 23;
  EXPECT_EQ(refusal(tree_.plan(), o), "compression level 23: out of range for zstd (0-22)");
  o.path = tmp_ / "out.tgz";
  o.compression_level = 10;
  EXPECT_EQ(refusal(tree_.plan(), o), "compression level 10: out of range for gzip (0-9)");
  EXPECT_EQ(list_dir(tmp_.path()), (std::vector<std::string>{"src"}));
}

// ---------------------------------------------------------------------------
// The manifest

TEST_F(ArchiveWriterTest, ManifestListsEveryEntryWithItsDigest) {
  std::string out = write("dir", "out");
  nlohmann::json m = nlohmann::json::parse(read_file(out + "/.tracepack/manifest.json"));
  EXPECT_EQ(m["format"], "tracepack-manifest");
  EXPECT_EQ(m["version"], 1);
  EXPECT_EQ(m["bundle"], "demo");
  const auto& entries = m["entries"];
  ASSERT_EQ(entries.size(), tree_.plan().entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const PlanEntry& e = tree_.plan().entries[i];
    const auto& j = entries[i];
    EXPECT_EQ(j["path"], encode_path(e.path));
    EXPECT_EQ(j["mode"], e.mode);
    EXPECT_EQ(j["reasons"], nlohmann::json::array({"test 'demo', pid 42 (demo), openat"}));
    if (e.type != EntryType::regular) {
      EXPECT_FALSE(j.contains("sha256"));
      continue;
    }
    EXPECT_EQ(j["type"], "regular");
    EXPECT_EQ(j["size"], e.size);
    RunResult sum = run({"sha256sum"}, {.stdin_file = tree_.host(e.path)});
    ASSERT_EQ(sum.exit_code, 0);
    EXPECT_EQ(j["sha256"], sum.out.substr(0, 64)) << encode_path(e.path);
  }
  const auto find = [&](const std::string& path) {
    for (const auto& j : entries)
      if (j["path"] == path) return j;
    return nlohmann::json();
  };
  EXPECT_EQ(find("/odd/bad%FFname")["type"], "regular");
  EXPECT_EQ(find("/odd/new\nline")["type"], "regular");
  EXPECT_EQ(find("/odd/link%FF")["link_target"], "bad%FFname");
  EXPECT_EQ(find("/usr/lib/libx.so")["link_target"], "libx.so.1");
  EXPECT_EQ(find("/data/b.bin")["hardlink_to"], "/data/a.bin");
  EXPECT_EQ(find("/data/b.bin")["sha256"], find("/data/a.bin")["sha256"]);
  EXPECT_FALSE(find("/data/a.bin").contains("hardlink_to"));
}

TEST_F(ArchiveWriterTest, ManifestIsTheSameInEveryFormat) {
  std::string dir = write("dir", "out");
  std::string archive = write("tar.zst", "out.tar.zst");
  RunResult x = run({"tar", "-xOf", archive, ".tracepack/manifest.json"});
  ASSERT_EQ(x.exit_code, 0) << x.err;
  EXPECT_EQ(x.out, read_file(dir + "/.tracepack/manifest.json"));
}

// ---------------------------------------------------------------------------
// Reproducibility

TEST_F(ArchiveWriterTest, TwoWritesAreByteIdentical) {
  const std::vector<std::string> formats{"tar", "tar.gz", "tar.zst", "tar.xz", "zip", "cpio"};
  for (const std::string& f : formats) write(f, "first." + f);
  write("dir", "first");
  sleep(1);  // a timestamp of "now" anywhere would now differ
  for (const std::string& f : formats) {
    write(f, "second." + f);
    RunResult cmp = run({"cmp", tmp_ / ("first." + f), tmp_ / ("second." + f)});
    EXPECT_EQ(cmp.exit_code, 0) << f << ": " << cmp.out;
  }
  write("dir", "second");
  RunResult diff = run({"diff", "-r", "--no-dereference", tmp_ / "first", tmp_ / "second"});
  EXPECT_EQ(diff.exit_code, 0) << diff.out;
}

TEST_F(ArchiveWriterTest, CompressionThreadsDoNotChangeTheOutput) {
  // Several compression jobs (zstd) and blocks (xz, 1 MiB at level 0).
  Tree t(tmp_ / "big");
  t.file("/big", noise(5 * 1024 * 1024, 3));
  t.finish();
  for (const std::string format : {"tar.zst", "tar.xz"}) {
    std::vector<std::string> outputs;
    for (unsigned threads : {1u, 3u}) {
      WriteOptions o = options_for(t, tmp_ / (std::to_string(threads) + "." + format), format);
      o.compression_level = format == "tar.zst" ? 1 : 0;
      o.compression_threads = threads;
      write_bundle(t.plan(), o);
      outputs.push_back(o.path);
    }
    RunResult cmp = run({"cmp", outputs[0], outputs[1]});
    EXPECT_EQ(cmp.exit_code, 0) << format << ": " << cmp.out;
  }
}

TEST_F(ArchiveWriterTest, PlanOrderDoesNotMatter) {
  std::string first = write("tar", "first.tar");
  std::reverse(tree_.plan().entries.begin(), tree_.plan().entries.end());
  std::string second = write("tar", "second.tar");
  EXPECT_EQ(run({"cmp", first, second}).exit_code, 0);
}

TEST_F(ArchiveWriterTest, SourceDateEpochClampsNewerTimesOnly) {
  std::string archive = write("tar", "out.tar");
  std::string dir = extract_dir("x");
  ASSERT_EQ(run({"tar", "-xpf", archive, "-C", dir}).exit_code, 0);
  struct stat st;
  ASSERT_EQ(stat((dir + "/usr/bin/tool").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtime, kEpoch);
  ASSERT_EQ(stat((dir + "/etc/secret.conf").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtime, kOldTime);
}

TEST_F(ArchiveWriterTest, NotReproducibleKeepsOwnersAndTimes) {
  std::string out = tmp_ / "out.tar";
  WriteOptions o = options_for(tree_, out);
  o.reproducible = false;
  write_bundle(tree_.plan(), o);
  RunResult list = run({"tar", "--numeric-owner", "-tvf", out, "usr/bin/tool"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find(" 1234/5678 "), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("2033-05-18"), std::string::npos) << "no clamping: " << list.out;
}

// ---------------------------------------------------------------------------
// Atomic output and failures

/// Writes a first bundle, then fails a second one; the first must survive.
class ArchiveWriterFailureTest : public ArchiveWriterTest, public ::testing::WithParamInterface<const char*> {
 protected:
  std::string expect_failure_keeps_previous(const std::string& out, const BundlePlan& bad, const WriteOptions& o) {
    write_bundle(tree_.plan(), o);
    std::string snapshot = tmp_ / "snapshot";
    EXPECT_EQ(run({"cp", "-a", out, snapshot}).exit_code, 0);
    std::vector<std::string> before = list_dir(fs::path(out).parent_path());
    std::string message;
    try {
      write_bundle(bad, o);
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      message = e.what();
    }
    EXPECT_EQ(list_dir(fs::path(out).parent_path()), before) << "a temporary was left behind";
    RunResult diff = run({"diff", "-r", "--no-dereference", snapshot, out});
    EXPECT_EQ(diff.exit_code, 0) << "the previous output changed: " << diff.out;
    return message;
  }
};

TEST_P(ArchiveWriterFailureTest, VanishedFileKeepsPreviousOutput) {
  std::string out = tmp_ / (std::string("out.") + GetParam());
  BundlePlan bad = tree_.plan();
  PlanEntry gone = *tree_.find("/etc/secret.conf");
  gone.path = "/etc/zz-gone";
  bad.entries.push_back(gone);
  std::string message = expect_failure_keeps_previous(out, bad, options_for(tree_, out, GetParam()));
  EXPECT_EQ(message, tree_.root() + "/etc/zz-gone: vanished since the trace was planned");
}

TEST_P(ArchiveWriterFailureTest, ChangedTypeKeepsPreviousOutput) {
  std::string out = tmp_ / (std::string("out.") + GetParam());
  BundlePlan bad = tree_.plan();
  PlanEntry changed = *tree_.find("/etc/secret.conf");
  changed.path = "/etc/zz-now-a-dir";
  ASSERT_EQ(mkdir(tree_.host(changed.path).c_str(), 0755), 0);
  bad.entries.push_back(changed);
  std::string message = expect_failure_keeps_previous(out, bad, options_for(tree_, out, GetParam()));
  EXPECT_EQ(message, tree_.root() + "/etc/zz-now-a-dir: changed type since the trace was planned (planned regular file, found directory)");
}

TEST_P(ArchiveWriterFailureTest, FullDiskKeepsPreviousOutput) {
  std::string mount_point = tmp_ / "small";
  fs::create_directory(mount_point);
  RunResult mount = run({"mount", "-t", "tmpfs", "-o", "size=1M", "tmpfs", mount_point});
  if (mount.exit_code != 0) GTEST_SKIP() << "cannot mount a 1 MiB tmpfs to fill up: " << mount.err;
  struct Unmount {
    std::string dir;
    ~Unmount() { run({"umount", dir}); }
  } unmount{mount_point};
  std::string out = mount_point + "/out." + GetParam();
  Tree small(tmp_ / "small-src");
  small.file("/f", "small\n");
  small.finish();
  Tree big(tmp_ / "big-src");
  big.file("/big", noise(2 * 1024 * 1024, 7));
  big.finish();
  WriteOptions o = options_for(small, out, GetParam());
  write_bundle(small.plan(), o);
  std::vector<std::string> before = list_dir(mount_point);
  std::string snapshot = tmp_ / "snapshot";
  ASSERT_EQ(run({"cp", "-a", out, snapshot}).exit_code, 0);
  o.source_root = big.root();
  try {
    write_bundle(big.plan(), o);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find(out + ": cannot write"), 0u) << e.what();
    EXPECT_NE(std::string(e.what()).find(": No space left on device"), std::string::npos) << e.what();
  }
  EXPECT_EQ(list_dir(mount_point), before) << "a temporary was left behind";
  EXPECT_EQ(run({"diff", "-r", snapshot, out}).exit_code, 0) << "the previous output changed";
}

TEST_P(ArchiveWriterFailureTest, FileSizeLimitLeavesNothing) {
  // Runs without mount privileges: RLIMIT_FSIZE makes write(2) fail (EFBIG).
  std::string out = tmp_ / (std::string("out.") + GetParam());
  Tree big(tmp_ / "big-src");
  big.file("/big", noise(2 * 1024 * 1024, 9));
  big.finish();
  struct rlimit old;
  getrlimit(RLIMIT_FSIZE, &old);
  sighandler_t previous = signal(SIGXFSZ, SIG_IGN);
  struct rlimit limit = {1024 * 1024, old.rlim_max};
  setrlimit(RLIMIT_FSIZE, &limit);
  std::string message;
  try {
    write_bundle(big.plan(), options_for(big, out, GetParam()));
  } catch (const Error& e) {
    message = e.what();
  }
  setrlimit(RLIMIT_FSIZE, &old);
  signal(SIGXFSZ, previous);
  EXPECT_EQ(message.find(out + ": cannot write"), 0u) << message;
  EXPECT_NE(message.find(": File too large"), std::string::npos) << message;
  std::vector<std::string> names = list_dir(tmp_.path());
  EXPECT_EQ(names, (std::vector<std::string>{"big-src", "src"})) << "a temporary was left behind";
}

INSTANTIATE_TEST_SUITE_P(ArchiveFormats, ArchiveWriterFailureTest, ::testing::Values("dir", "tar", "tar.zst", "zip", "cpio"),
                         format_test_name);

TEST_F(ArchiveWriterTest, ArchiveOverDirectoryIsRefused) {
  fs::create_directory(tmp_ / "out.tar");
  try {
    write_bundle(tree_.plan(), options_for(tree_, tmp_ / "out.tar"));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), tmp_ / "out.tar: is a directory (an archive format was chosen)");
  }
}

TEST_F(ArchiveWriterTest, DirReplacesPreviousBundle) {
  std::string out = tmp_ / "out";
  write_bundle(tree_.plan(), options_for(tree_, out + "/"));
  write_file(out + "/stale", "old\n");
  write_bundle(tree_.plan(), options_for(tree_, out + "/"));
  EXPECT_FALSE(fs::exists(out + "/stale"));
  expect_tree(tree_, out);
  EXPECT_EQ(list_dir(tmp_.path()), (std::vector<std::string>{"out", "src"}));
}

TEST_F(ArchiveWriterTest, DirNeverReplacesADirectoryItDidNotWrite) {
  std::string out = tmp_ / "out";
  fs::create_directory(out);
  write_file(out + "/notes.txt", "precious\n");
  EXPECT_EQ(refusal(tree_.plan(), options_for(tree_, out + "/")),
            out +
                "/: not replaced: a directory that is neither empty nor a bundle tracepack wrote (it has no "
                ".tracepack/manifest.json); nothing in it was changed");
  EXPECT_EQ(list_dir(out), std::vector<std::string>{"notes.txt"});
  EXPECT_EQ(read_file(out + "/notes.txt"), "precious\n");
  EXPECT_EQ(list_dir(tmp_.path()), (std::vector<std::string>{"out", "src"}));
}

TEST_F(ArchiveWriterTest, CheckOutputTargetRefusesAnOutputHoldingAnInput) {
  std::string out = tmp_ / "out";
  write_bundle(tree_.plan(), options_for(tree_, out));
  write_file(out + "/spec.yaml", "name: x\n");
  try {
    check_output_target(out, "dir", {out + "/spec.yaml"});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              out + ": not replaced: it holds " + out + "/spec.yaml, an input of this run (choose an output outside it)");
  }
  EXPECT_NO_THROW(check_output_target(out, "dir", {tmp_ / "elsewhere.yaml"}));
  EXPECT_NO_THROW(check_output_target(tmp_ / "new/parent/out.tar", "tar", {}));
  EXPECT_TRUE(fs::is_directory(tmp_ / "new/parent"));
  EXPECT_EQ(failed_output_path(out + "/"), out + ".failed");
}

TEST_F(ArchiveWriterTest, DirectoriesGetTheDefaultTimeWithoutSourceDateEpoch) {
  WriteOptions o = options_for(tree_, tmp_ / "out.tar");
  o.source_date_epoch.reset();
  write_bundle(tree_.plan(), o);
  std::string dir = extract_dir("x");
  ASSERT_EQ(run({"tar", "-xpf", tmp_ / "out.tar", "-C", dir}).exit_code, 0);
  struct stat st;
  ASSERT_EQ(stat((dir + "/usr/bin").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtime, kDefaultSourceDateEpoch);
  ASSERT_EQ(stat((dir + "/.tracepack/manifest.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtime, kDefaultSourceDateEpoch);
  ASSERT_EQ(stat((dir + "/usr/bin/tool").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtime, kFutureTime) << "a file keeps its own time";
}

// ---------------------------------------------------------------------------
// Plans the writer refuses before touching anything

TEST_F(ArchiveWriterTest, RefusesMissingParent) {
  BundlePlan bad = tree_.plan();
  std::erase_if(bad.entries, [](const PlanEntry& e) { return e.path == "/etc"; });
  EXPECT_EQ(refusal(bad, options_for(tree_, tmp_ / "out.tar")), "/etc/secret.conf: parent directory /etc is not in the plan");
  EXPECT_EQ(list_dir(tmp_.path()), (std::vector<std::string>{"src"}));
}

TEST_F(ArchiveWriterTest, RefusesReservedManifestPath) {
  BundlePlan bad = tree_.plan();
  PlanEntry e = *tree_.find("/etc");
  e.path = "/.tracepack";
  bad.entries.push_back(e);
  EXPECT_EQ(refusal(bad, options_for(tree_, tmp_ / "out.tar")), "/.tracepack: reserved for the bundle's manifest");
}

TEST_F(ArchiveWriterTest, RefusesHardLinkToLaterEntry) {
  BundlePlan bad = tree_.plan();
  for (PlanEntry& e : bad.entries)
    if (e.path == "/data/b.bin") e.hardlink_to = "/data/zz";
  EXPECT_EQ(refusal(bad, options_for(tree_, tmp_ / "out.tar")),
            "/data/b.bin: hard link to /data/zz, which is not an earlier regular file of the plan");
}

TEST_F(ArchiveWriterTest, CpioRefusesItsTrailerName) {
  BundlePlan bad = tree_.plan();
  PlanEntry e = *tree_.find("/etc/secret.conf");
  e.path = "/TRAILER!!!";
  bad.entries.push_back(e);
  EXPECT_EQ(refusal(bad, options_for(tree_, tmp_ / "out.cpio")),
            "/TRAILER!!!: cannot be stored in a cpio archive (the name marks its end)");
}

TEST_F(ArchiveWriterTest, RefusesChangedSize) {
  write_file(tree_.host("/etc/secret.conf"), "longer than planned\n");
  EXPECT_EQ(refusal(tree_.plan(), options_for(tree_, tmp_ / "out.tar")),
            tree_.root() + "/etc/secret.conf: changed since the trace was planned (19 bytes planned, 20 now)");
  EXPECT_EQ(list_dir(tmp_.path()), (std::vector<std::string>{"src"}));
}

}  // namespace
}  // namespace tracepack

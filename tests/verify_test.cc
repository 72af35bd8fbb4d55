// find_missing over hand-made traces and real directory trees standing for
// the bundle and the host, and extract_bundle on hostile archives made with
// Python's tarfile and zipfile modules.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tracepack/bundle_extract.h"
#include "tracepack/error.h"
#include "tracepack/plan.h"
#include "tracepack/verify.h"

namespace tracepack {
namespace {

namespace fs = std::filesystem;

class TempTree {
 public:
  TempTree() {
    std::string name = "/tmp/tracepack-verify-test.XXXXXX";
    if (mkdtemp(name.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = name;
  }
  ~TempTree() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  void file(const std::string& rel) {
    fs::create_directories(fs::path(*this / rel).parent_path());
    std::ofstream(*this / rel) << "x";
  }
  void link(const std::string& rel, const std::string& target) {
    fs::create_directories(fs::path(*this / rel).parent_path());
    fs::create_symlink(target, *this / rel);
  }

 private:
  std::string path_;
};

FileAccess access(std::uint64_t id, const PathBytes& resolved, int error, std::vector<Symlink> links = {}) {
  FileAccess a;
  a.id = id;
  a.process = 1;
  a.syscall = "openat";
  a.kind = AccessKind::read;
  a.path = resolved;
  a.resolved = resolved;
  a.error = error;
  a.links = std::move(links);
  return a;
}

Trace trace_of(const std::string& label, std::vector<FileAccess> accesses) {
  Trace t;
  t.run.label = label;
  Process p;
  p.id = 1;
  p.pid = 42;
  p.execs.push_back(Exec{0, "/usr/bin/app", "/usr/bin/app", {"app", "--flag"}, "/", {}});
  t.processes.push_back(p);
  t.accesses = std::move(accesses);
  return t;
}

/// A read of a regular file, as the original run recorded it.
FileAccess read_of(std::uint64_t id, const PathBytes& path) {
  FileAccess a = access(id, path, 0);
  a.type = FileType::regular;
  return a;
}

// The host has a library behind a symlink; the bundle kept the symlink only.
class FindMissing : public ::testing::Test {
 protected:
  void SetUp() override {
    host_.file("usr/lib/libx.so.1.2");
    host_.link("usr/lib/libx.so.1", "libx.so.1.2");
    host_.file("usr/lib/liby.so.1");
    host_.file("usr/share/app/data/a.txt");
    host_.file("etc/optional.conf");
    bundle_.link("usr/lib/libx.so.1", "libx.so.1.2");
    bundle_.file("usr/bin/app");
  }
  std::vector<MissingFile> missing(const Trace& sandboxed, const std::vector<Trace>& original) {
    return find_missing(sandboxed, original, HostFileSystem(bundle_.path()), HostFileSystem(host_.path()));
  }
  TempTree host_, bundle_;
};

TEST_F(FindMissing, NamesTheFileBehindASymlinkTheOriginalRunUsed) {
  Trace original = trace_of("t", {access(1, "/usr/lib/libx.so.1.2", 0, {{"/usr/lib/libx.so.1", "libx.so.1.2"}})});
  Trace sandboxed = trace_of("t", {access(1, "/usr/lib/libx.so.1.2", ENOENT, {{"/usr/lib/libx.so.1", "libx.so.1.2"}})});
  std::vector<MissingFile> m = missing(sandboxed, {original});
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].path, "/usr/lib/libx.so.1.2");
  EXPECT_FALSE(m[0].directory);
  EXPECT_EQ(m[0].test, "t");
  EXPECT_EQ(m[0].pid, 42);
  EXPECT_EQ(m[0].command, "app --flag");
  EXPECT_EQ(m[0].syscall, "openat");
}

TEST_F(FindMissing, IgnoresLookupsTheOriginalRunDidNotMakeSuccessfully) {
  Trace original = trace_of("t", {access(1, "/etc/optional.conf", ENOENT)});
  Trace sandboxed = trace_of("t", {access(1, "/etc/optional.conf", ENOENT), access(2, "/usr/lib/liby.so.1", ENOENT)});
  EXPECT_TRUE(missing(sandboxed, {original}).empty());
}

// gcc looks its output file up before writing it: in the bundle too, in vain.
TEST_F(FindMissing, IgnoresTheOriginalRunsOutputs) {
  host_.file("srv/build/hello");
  FileAccess made = access(1, "/srv/build/hello", 0);
  made.kind = AccessKind::create;
  Trace original = trace_of("t", {access(1, "/srv/build/hello", ENOENT), made, access(2, "/srv/build/hello", 0)});
  Trace sandboxed = trace_of("t", {access(1, "/srv/build/hello", ENOENT)});
  EXPECT_TRUE(missing(sandboxed, {original}).empty());
}

TEST_F(FindMissing, IgnoresFilesTheHostLacks) {
  Trace sandboxed = trace_of("t", {access(1, "/usr/lib/glibc-hwcaps/x86-64-v3/libx.so.1", ENOENT)});
  EXPECT_TRUE(missing(sandboxed, {}).empty());
}

TEST_F(FindMissing, NamesTheFirstAbsentDirectoryOnce) {
  Trace original = trace_of("t", {access(1, "/usr/share/app/data/a.txt", 0)});
  Trace sandboxed = trace_of("t", {access(1, "/usr/share/app/data/a.txt", ENOENT), access(2, "/usr/share/app/data/b.txt", ENOENT)});
  std::vector<MissingFile> m = missing(sandboxed, {original});
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].path, "/usr/share");
  EXPECT_TRUE(m[0].directory);
  EXPECT_EQ(include_lines(m), "include:\n  - /usr/share/**\n");
}

TEST_F(FindMissing, WithoutOriginalTracesEveryFileTheHostHasCounts) {
  Trace sandboxed = trace_of("t", {access(1, "/usr/lib/liby.so.1", ENOENT)});
  std::vector<MissingFile> m = missing(sandboxed, {});
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].path, "/usr/lib/liby.so.1");
}

TEST_F(FindMissing, IgnoresPathsUnderPseudoFileSystems) {
  host_.file("run/app/socket-path");
  Trace original = trace_of("t", {access(1, "/run/app/socket-path", 0)});
  Trace sandboxed = trace_of("t", {access(1, "/run/app/socket-path", ENOENT)});
  EXPECT_TRUE(missing(sandboxed, {original}).empty());
}

// The default rule leaves /tmp out and an include: line packs it back; the
// sandbox makes /tmp itself, so the directory below it is what is missing.
TEST_F(FindMissing, NamesWhatTheBundleLacksUnderTmp) {
  host_.file("tmp/data/input.txt");
  Trace original = trace_of("t", {access(1, "/tmp/data/input.txt", 0)});
  Trace sandboxed = trace_of("t", {access(1, "/tmp/data/input.txt", ENOENT)});
  std::vector<MissingFile> m = missing(sandboxed, {original});
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].path, "/tmp/data");
  EXPECT_TRUE(m[0].directory);
  EXPECT_EQ(include_lines(m), "include:\n  - /tmp/data/**\n");
}

// The bundle has no /var: the sandbox makes /var and /var/tmp, so the file is what is missing.
TEST_F(FindMissing, NeverNamesTheDirectoriesTheSandboxMakes) {
  host_.file("var/tmp/cache.db");
  Trace original = trace_of("t", {access(1, "/var/tmp/cache.db", 0)});
  Trace sandboxed = trace_of("t", {access(1, "/var/tmp/cache.db", ENOENT)});
  std::vector<MissingFile> m = missing(sandboxed, {original});
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].path, "/var/tmp/cache.db");
  EXPECT_FALSE(m[0].directory);
}

// Python's import system lists a directory and opens only what it shows: the
// run in the bundle never looks the absent module up.
TEST_F(FindMissing, WithoutAFailedLookupNamesWhatTheOriginalRunRead) {
  Trace original = trace_of("t", {read_of(1, "/usr/lib/libx.so.1.2"), read_of(2, "/usr/lib/liby.so.1")});
  Trace sandboxed = trace_of("t", {});
  std::vector<MissingFile> m = missing(sandboxed, {original});
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].path, "/usr/lib/libx.so.1.2");
  EXPECT_EQ(m[1].path, "/usr/lib/liby.so.1");
  EXPECT_FALSE(m[1].looked_up);
  EXPECT_EQ(m[1].pid, 42);
  EXPECT_EQ(m[1].command, "app --flag");
  EXPECT_EQ(m[1].test, "t");
}

TEST_F(FindMissing, AFailedLookupComesBeforeWhatTheOriginalRunRead) {
  Trace original = trace_of("t", {read_of(1, "/usr/lib/libx.so.1.2"), read_of(2, "/usr/lib/liby.so.1")});
  Trace sandboxed = trace_of("t", {access(1, "/usr/lib/liby.so.1", ENOENT)});
  std::vector<MissingFile> m = missing(sandboxed, {original});
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].path, "/usr/lib/liby.so.1");
  EXPECT_TRUE(m[0].looked_up);
}

TEST_F(FindMissing, NeverNamesOutputsOrReadsOfAnotherTest) {
  FileAccess created = access(1, "/usr/lib/liby.so.1", 0);
  created.kind = AccessKind::create;
  created.type = FileType::regular;
  Trace wrote_it = trace_of("t", {created, read_of(2, "/usr/lib/liby.so.1")});
  Trace other_test = trace_of("other", {read_of(1, "/usr/lib/libx.so.1.2")});
  EXPECT_TRUE(missing(trace_of("t", {}), {wrote_it, other_test}).empty());
}

TEST(IncludeLines, NamesEachPatternOnce) {
  std::vector<MissingFile> m = {{"/usr/lib/a.so", false, "one", 1, "", "openat"},
                                {"/usr/lib/a.so", false, "two", 2, "", "openat"},
                                {"/usr/lib/b", true, "two", 2, "", "openat"}};
  EXPECT_EQ(include_lines(m), "include:\n  - /usr/lib/a.so\n  - /usr/lib/b/**\n");
}

TEST(IncludeLines, QuotesWhatYamlWouldReadOtherwise) {
  std::vector<MissingFile> m{{"/opt/a: b/it's", false, "t", 1, "", "openat"}, {"/usr/lib/plain it's.so", false, "t", 1, "", "openat"}};
  EXPECT_EQ(include_lines(m), "include:\n  - '/opt/a: b/it''s'\n  - /usr/lib/plain it's.so\n");
}

// ---------------------------------------------------------------------------
// extract_bundle on hostile archives

/// Runs a Python snippet that writes an archive at sys.argv[1].
void make_archive(const std::string& path, const std::string& python) {
  std::string script = "import sys, tarfile, zipfile, io\nout = sys.argv[1]\n" + python;
  std::string file = path + ".py";
  std::ofstream(file) << script;
  ASSERT_EQ(std::system(("python3 " + file + " " + path).c_str()), 0) << script;
}

constexpr const char* kTarHelpers =
    "def add(t, name, data=b'x', **kw):\n"
    "    i = tarfile.TarInfo(name)\n"
    "    for k, v in kw.items(): setattr(i, k, v)\n"
    "    if i.type == tarfile.REGTYPE: i.size = len(data)\n"
    "    t.addfile(i, io.BytesIO(data) if i.type == tarfile.REGTYPE else None)\n";

struct Hostile {
  const char* name;
  const char* entries;  ///< Python adding entries to the tarfile `t`
  const char* message;  ///< after "ARCHIVE: "
};

class HostileArchive : public ::testing::TestWithParam<Hostile> {};

TEST_P(HostileArchive, IsRefusedAndNothingLandsOutside) {
  TempTree tmp;
  fs::create_directories(tmp / "dest");
  fs::create_directories(tmp / "outside");
  std::string archive = tmp / "hostile.tar";
  std::string entries = GetParam().entries;
  for (std::size_t at; (at = entries.find("OUTSIDE")) != std::string::npos;) entries.replace(at, 7, tmp / "outside");
  make_archive(archive, std::string(kTarHelpers) + "with tarfile.open(out, 'w', format=tarfile.PAX_FORMAT) as t:\n" + entries);
  try {
    extract_bundle(archive, tmp / "dest");
    ADD_FAILURE() << "extracted " << GetParam().name;
  } catch (const Error& e) {
    std::string message = GetParam().message;
    for (std::size_t at; (at = message.find("OUTSIDE")) != std::string::npos;) message.replace(at, 7, tmp / "outside");
    EXPECT_EQ(std::string(e.what()), archive + ": " + message);
  }
  EXPECT_TRUE(fs::is_empty(tmp / "outside"));
  EXPECT_FALSE(fs::exists(tmp / "evil"));
}

INSTANTIATE_TEST_SUITE_P(
    Entries, HostileArchive,
    ::testing::Values(
        Hostile{"dotdot", "    add(t, '../evil')\n", "entry '../evil' refused: path leads outside the bundle (\"..\")"},
        Hostile{"dotdot_inside", "    add(t, 'a/../../evil')\n", "entry 'a/../../evil' refused: path leads outside the bundle (\"..\")"},
        Hostile{"absolute", "    add(t, 'OUTSIDE/evil')\n", "entry 'OUTSIDE/evil' refused: absolute path"},
        Hostile{"through_symlink", "    add(t, 'link', type=tarfile.SYMTYPE, linkname='OUTSIDE')\n    add(t, 'link/evil')\n",
                "entry 'link/evil' refused: cannot extract through symlink link/evil"},
        Hostile{"hardlink_out", "    add(t, 'h', type=tarfile.LNKTYPE, linkname='../../etc/passwd')\n",
                "entry 'h' refused: hard link target: path leads outside the bundle (\"..\")"},
        Hostile{"fifo", "    add(t, 'pipe', type=tarfile.FIFOTYPE)\n", "entry 'pipe' refused: not a regular file, directory or symlink"},
        Hostile{"device", "    add(t, 'null', type=tarfile.CHRTYPE, devmajor=1, devminor=3)\n",
                "entry 'null' refused: not a regular file, directory or symlink"}),
    [](const ::testing::TestParamInfo<Hostile>& p) { return std::string(p.param.name); });

TEST(ExtractBundle, KeepsSymlinksThatPointAnywhereAndHardLinksInside) {
  TempTree tmp;
  fs::create_directories(tmp / "dest");
  std::string archive = tmp / "ok.tar";
  make_archive(archive, std::string(kTarHelpers) +
                            "with tarfile.open(out, 'w', format=tarfile.PAX_FORMAT) as t:\n"
                            "    add(t, './usr/', type=tarfile.DIRTYPE, mode=0o755)\n"
                            "    add(t, './usr/lib64', type=tarfile.SYMTYPE, linkname='/lib')\n"
                            "    add(t, './usr/a', b'data', mode=0o750)\n"
                            "    add(t, './usr/b', type=tarfile.LNKTYPE, linkname='./usr/a')\n");
  extract_bundle(archive, tmp / "dest");
  EXPECT_EQ(fs::read_symlink(tmp / "dest/usr/lib64"), "/lib");
  struct stat a, b;
  ASSERT_EQ(stat((tmp / "dest/usr/a").c_str(), &a), 0);
  ASSERT_EQ(stat((tmp / "dest/usr/b").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_mode & 07777, 0750u);
}

TEST(ExtractBundle, ZipWithADotDotNameIsRefused) {
  TempTree tmp;
  fs::create_directories(tmp / "dest");
  std::string archive = tmp / "hostile.zip";
  make_archive(archive, "with zipfile.ZipFile(out, 'w') as z:\n    z.writestr('../evil', 'x')\n");
  try {
    extract_bundle(archive, tmp / "dest");
    ADD_FAILURE() << "extracted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), archive + ": entry '../evil' refused: path leads outside the bundle (\"..\")");
  }
  EXPECT_FALSE(fs::exists(tmp / "evil"));
}

}  // namespace
}  // namespace tracepack

// AtomicFile: written beside its target, renamed into place on commit, and
// removed (the target untouched) when anything throws before. Real files in
// a temporary directory of its own.
#include "tracepack/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "tracepack/error.h"

namespace tracepack {
namespace {

namespace fs = std::filesystem;

/// A fresh directory under $TMPDIR (or /tmp), removed with its contents.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/atomic-file-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_fd(int fd, const std::string& text) { ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size())); }

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(AtomicFile, CommitRenamesOntoTheTarget) {
  TempDir dir;
  std::string target = dir / "out.jsonl";
  write_file(target, "old\n");
  AtomicFile temp(target);
  EXPECT_EQ(temp.name().rfind(target + ".tmp.", 0), 0u) << temp.name();
  EXPECT_EQ(temp.name().size(), target.size() + 5 + 6);
  write_fd(temp.fd(), "new\n");
  EXPECT_EQ(read_file(target), "old\n");  // nothing visible before the commit
  temp.commit(target, target + ": cannot replace");
  EXPECT_EQ(read_file(target), "new\n");
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"out.jsonl"});
}

TEST(AtomicFile, TargetUntouchedAndTemporaryGoneWhenTheWriterThrows) {
  TempDir dir;
  std::string target = dir / "out.jsonl";
  write_file(target, "old\n");
  EXPECT_THROW(
      {
        AtomicFile temp(target);
        write_fd(temp.fd(), "half");
        throw Error("out.jsonl: cannot write: No space left on device");
      },
      Error);
  EXPECT_EQ(read_file(target), "old\n");
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"out.jsonl"});
}

TEST(AtomicFile, DirectoryRemovedWithItsContentsUnlessCommitted) {
  TempDir dir;
  {
    AtomicFile temp(AT_FDCWD, dir / ".out.tmp.", AtomicFile::Kind::directory, "out: cannot create a temporary directory");
    ASSERT_GE(temp.fd(), 0);
    ASSERT_EQ(::mkdirat(temp.fd(), "sub", 0555), 0);  // not writable: removed all the same
    write_file(temp.name() + "/file", "x");
    EXPECT_EQ(fs::status(temp.name()).permissions() & fs::perms::all, fs::perms::owner_all);
  }
  EXPECT_TRUE(names_in(dir.path()).empty());
  {
    AtomicFile temp(AT_FDCWD, dir / ".out.tmp.", AtomicFile::Kind::directory, "out: cannot create a temporary directory");
    write_file(temp.name() + "/file", "x");
    temp.commit(dir / "out", "out: cannot replace");
  }
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"out"});
  EXPECT_EQ(read_file(dir / "out/file"), "x");
}

TEST(AtomicFile, TargetInAMissingDirectory) {
  TempDir dir;
  std::string target = dir / "missing/out.jsonl";
  try {
    AtomicFile temp(target);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), target + ": cannot create temporary file: No such file or directory");
  }
  EXPECT_TRUE(names_in(dir.path()).empty());
}

TEST(AtomicFile, FailedCommitKeepsTheTargetAndRemovesTheTemporary) {
  TempDir dir;
  std::string target = dir / "out";
  fs::create_directory(target);
  write_file(target + "/keep", "mine");
  try {
    AtomicFile temp(target);
    write_fd(temp.fd(), "new");
    temp.commit(target, target + ": cannot replace");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), target + ": cannot replace: Is a directory");
  }
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"out"});
  EXPECT_EQ(read_file(target + "/keep"), "mine");
}

TEST(AtomicFile, ReleasedTemporaryIsLeftWhereTheCallerPutIt) {
  TempDir dir;
  std::string moved = dir / "moved";
  {
    AtomicFile temp(dir / "out");
    ASSERT_EQ(::rename(temp.name().c_str(), moved.c_str()), 0);
    temp.release();
  }
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"moved"});
}

}  // namespace
}  // namespace tracepack

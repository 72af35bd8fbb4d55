// Helpers shared by the libFuzzer targets: a scratch directory that lives as
// long as the fuzzing process and is removed at its exit, and a way to hand
// an input to a reader that only takes a file path.
#pragma once

#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace tracepack::fuzz {

/// Prints `what` and aborts: a broken invariant of the harness itself, which
/// libFuzzer reports as a crash with the input that caused it.
[[noreturn]] inline void die(const std::string& what) {
  std::fprintf(stderr, "fuzz harness: %s\n", what.c_str());
  std::abort();
}

/// Removes everything below `dir` (and `dir` itself when `keep_top` is
/// false), first giving every directory back the permissions an extracted
/// archive may have taken away.
inline void remove_tree(const std::string& dir, bool keep_top) {
  struct Walk {
    static int open_up(const char* path, const struct stat* st, int type, FTW*) {
      if (type == FTW_D || type == FTW_DNR) chmod(path, (st->st_mode & 07777) | 0700);
      return 0;
    }
    static int remove_one(const char* path, const struct stat*, int, FTW* ftw) {
      if (ftw->level == 0) return 0;
      if (std::remove(path) != 0) die(std::string("cannot remove ") + path);
      return 0;
    }
  };
  nftw(dir.c_str(), Walk::open_up, 16, FTW_PHYS);
  nftw(dir.c_str(), Walk::remove_one, 16, FTW_PHYS | FTW_DEPTH);
  if (!keep_top && rmdir(dir.c_str()) != 0) die("cannot remove " + dir);
}

/// A directory under $TMPDIR (or /tmp) for the whole run, removed by its
/// destructor (libFuzzer returns from main at the end of a run, so static
/// ones are destroyed).
class ScratchDir {
 public:
  explicit ScratchDir(const char* purpose) {
    const char* tmpdir = std::getenv("TMPDIR");
    std::string pattern = std::string(tmpdir != nullptr && *tmpdir == '/' ? tmpdir : "/tmp") + "/tracepack-fuzz-" + purpose + ".XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) die("cannot create " + pattern);
    path_ = pattern;
  }
  ~ScratchDir() { remove_tree(path_, false); }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

/// Replaces `file` with exactly `size` bytes of `data`.
inline void write_file(const std::string& file, const std::uint8_t* data, std::size_t size) {
  int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) die("cannot write " + file);
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = write(fd, data + done, size - done);
    if (n <= 0) die("cannot write " + file);
    done += static_cast<std::size_t>(n);
  }
  close(fd);
}

inline void write_file(const std::string& file, std::string_view text) {
  write_file(file, reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
}

}  // namespace tracepack::fuzz

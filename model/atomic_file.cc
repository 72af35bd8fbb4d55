// AtomicFile: a temporary beside a target, created under a fresh random name
// with O_EXCL (or mkdirat, which fails on an existing name too), so that two
// writers never share one; and removed by its destructor unless it was renamed
// into place. The trace writer commits with a plain rename; the bundle writers
// put it in place themselves (an exchange with the previous output, see
// packer/staged_output.cc) and then release it.
#include "tracepack/atomic_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>
#include <vector>

#include "tracepack/error.h"

namespace tracepack {

std::string random_name_suffix() {
  static constexpr char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  unsigned char bytes[6];
  if (getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes))
    throw_system_error("getrandom: cannot name a temporary file");
  std::string out;
  for (unsigned char b : bytes) out += kChars[b % (sizeof kChars - 1)];
  return out;
}

AtomicFile::AtomicFile(int dirfd, const std::string& prefix, Kind kind, const std::string& what) : dirfd_(dirfd) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string name = prefix + random_name_suffix();
    if (kind == Kind::file) {
      // 0666 and the umask, as for any file the user creates (mkstemp would force 0600).
      fd_.reset(openat(dirfd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
      if (fd_.get() >= 0) {
        name_ = std::move(name);
        return;
      }
    } else if (mkdirat(dirfd, name.c_str(), 0700) == 0) {
      name_ = std::move(name);
      fd_.reset(openat(dirfd, name_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (fd_.get() < 0) {
        int err = errno;
        remove_tree(dirfd, name_);  // no destructor runs for a constructor that throws
        throw Error(system_error_message(what, err));
      }
      return;
    }
    if (errno != EEXIST) throw_system_error(what);
  }
  throw Error(what + ": every name tried exists");
}

AtomicFile::AtomicFile(const std::string& target)
    : AtomicFile(AT_FDCWD, target + ".tmp.", Kind::file, target + ": cannot create temporary file") {}

AtomicFile::~AtomicFile() {
  fd_.reset();
  if (!released_) remove_tree(dirfd_, name_);
}

void AtomicFile::commit(const std::string& target, const std::string& what) {
  if (renameat(dirfd_, name_.c_str(), dirfd_, target.c_str()) != 0) throw_system_error(what);
  released_ = true;
}

void remove_tree(int dirfd, const std::string& name) {
  struct stat st;
  if (fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return;
  if (!S_ISDIR(st.st_mode)) {
    unlinkat(dirfd, name.c_str(), 0);
    return;
  }
  fchmodat(dirfd, name.c_str(), 0700, 0);  // a 0555 directory is ours to empty
  UniqueFd fd(openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) return;
  std::vector<std::string> children;
  if (DIR* dir = fdopendir(dup(fd.get()))) {
    while (const dirent* d = readdir(dir))
      if (std::string_view(d->d_name) != "." && std::string_view(d->d_name) != "..") children.emplace_back(d->d_name);
    closedir(dir);
  }
  for (const std::string& child : children) remove_tree(fd.get(), child);
  unlinkat(dirfd, name.c_str(), AT_REMOVEDIR);
}

}  // namespace tracepack

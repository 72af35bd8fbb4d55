// Writing beside a target, then renaming into place: the one way the stages
// replace a file or a directory so that a failure leaves the previous one as
// it was and nothing half-written behind.
#pragma once

#include <string>

#include "tracepack/posix.h"

namespace tracepack {

/// A new file or directory under a fresh temporary name beside its target,
/// removed (with everything below it) when destroyed unless it was committed
/// or released: whatever throws between creation and commit() leaves neither
/// a partial target nor the temporary.
class AtomicFile {
 public:
  enum class Kind { file, directory };

  /// Creates `prefix` followed by six random letters and digits in the
  /// directory `dirfd` (AT_FDCWD: `prefix` is a path): a regular file open for
  /// writing with mode 0666 less the umask, or a directory with mode 0700 and
  /// fd() open on it. A name that exists is never reused. Throws
  /// Error("<what>: <strerror>"), e.g. when the directory is missing, or
  /// "<what>: every name tried exists".
  AtomicFile(int dirfd, const std::string& prefix, Kind kind, const std::string& what);

  /// A regular file "<target>.tmp.XXXXXX" beside the path `target` (Kind::file,
  /// AT_FDCWD), failures reported as "<target>: cannot create temporary file".
  explicit AtomicFile(const std::string& target);

  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  /// The directory `name()` is in, as given to the constructor.
  int dirfd() const { return dirfd_; }
  /// The temporary's name in dirfd() (a path when dirfd() is AT_FDCWD).
  const std::string& name() const { return name_; }
  /// The open descriptor, until take_fd(): -1 after it.
  int fd() const { return fd_.get(); }
  /// Hands the descriptor to the caller (who closes it; the name stays owned here).
  UniqueFd take_fd() { return std::move(fd_); }

  /// Renames the temporary onto `target` (a name in dirfd(), replacing a file
  /// there); the temporary is then no longer owned. Throws
  /// Error("<what>: <strerror>"), the temporary then still removed at destruction.
  void commit(const std::string& target, const std::string& what);

  /// Gives up ownership after the caller moved the temporary into place itself.
  void release() { released_ = true; }

 private:
  int dirfd_;
  std::string name_;
  UniqueFd fd_;
  bool released_ = false;
};

/// Six random letters and digits, for a temporary name. Throws Error.
std::string random_name_suffix();

/// Removes `name` under `dirfd` (a path with AT_FDCWD) and everything below
/// it, best effort (a 0555 directory included): for cleaning up, when there is
/// no better error to report than the one pending.
void remove_tree(int dirfd, const std::string& name);

}  // namespace tracepack

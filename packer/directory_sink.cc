// DirectorySink: a bundle as a directory tree, built with plain system calls
// in an AtomicFile directory beside the target (".NAME.tmp.XXXXXX", 0700),
// then swapped in by commit() (put_in_place, staged_output.h). A directory
// gets its final mode and mtime only once its children are in, deepest
// first, so that a 0555 directory can still be filled and its time is kept;
// owners are set only when running as root, like tar.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bundle_sink.h"
#include "staged_output.h"
#include "tracepack/atomic_file.h"
#include "tracepack/error.h"
#include "tracepack/posix.h"

namespace tracepack {
namespace {

/// A directory tree built beside the target, then swapped in.
class DirectorySink final : public Sink {
 public:
  explicit DirectorySink(const WriteOptions& options) : out_(open_output_path(options.path)), as_root_(geteuid() == 0) {
    check_replaceable(out_.parent.get(), out_.name, "dir", out_.shown);
    temp_.emplace(out_.parent.get(), out_.temp_prefix(), AtomicFile::Kind::directory,
                  out_.shown + ": cannot create a temporary directory beside it");
    root_fd_ = temp_->take_fd();
  }

  bool has_hardlinks() const override { return true; }

  void set_root(const Item& item) override {
    root_ = item;
    root_planned_ = true;
  }

  void add(const Item& item) override {
    const char* name = item.name.c_str();
    if (item.type == EntryType::directory) {
      // Final mode and mtime once the children are in (a 0555 directory, a mtime kept).
      if (mkdirat(root_fd_.get(), name, 0700) != 0) fail(item.name);
      directories_.push_back(item);
    } else if (item.type == EntryType::symlink) {
      if (symlinkat(item.link_target.c_str(), root_fd_.get(), name) != 0) fail(item.name);
      own(item, AT_SYMLINK_NOFOLLOW);
      set_mtime(item, AT_SYMLINK_NOFOLLOW);
    } else if (!item.hardlink_name.empty()) {
      if (linkat(root_fd_.get(), item.hardlink_name.c_str(), root_fd_.get(), name, 0) != 0) fail(item.name);
    } else {
      current_.reset(openat(root_fd_.get(), name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
      if (current_.get() < 0) fail(item.name);
      current_item_ = item;
    }
  }

  void write(const char* data, std::size_t size) override {
    while (size > 0) {
      ssize_t n = ::write(current_.get(), data, size);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) fail(current_item_.name, n < 0 ? errno : EIO);
      data += n;
      size -= static_cast<std::size_t>(n);
    }
  }

  void finish_file() override {
    const Item& item = current_item_;
    // chown before chmod: chown clears the set-id bits.
    if (as_root_ && fchown(current_.get(), item.uid, item.gid) != 0) fail(item.name);
    if (fchmod(current_.get(), item.mode) != 0) fail(item.name);
    timespec times[2] = {{item.mtime, 0}, {item.mtime, 0}};
    if (futimens(current_.get(), times) != 0) fail(item.name);
    written_ += item.size;
    if (::close(current_.release()) != 0 && errno != EINTR) fail(item.name);
  }

  std::uint64_t commit() override {
    for (auto it = directories_.rbegin(); it != directories_.rend(); ++it) finish_directory(*it);
    // Without a planned "/", the root keeps the time it was built at.
    if (root_planned_)
      finish_directory(root_);
    else if (fchmod(root_fd_.get(), 0755) != 0)
      fail(".");
    if (syncfs(root_fd_.get()) != 0) throw_system_error(out_.shown + ": cannot write");
    publish();
    return written_;
  }

 private:
  void own(const Item& item, int flags) {
    // Only root can give files away; others get files they own, like tar.
    if (as_root_ && fchownat(root_fd_.get(), item.name.c_str(), item.uid, item.gid, flags | AT_EMPTY_PATH) != 0) fail(item.name);
  }

  void set_mtime(const Item& item, int flags) {
    timespec times[2] = {{item.mtime, 0}, {item.mtime, 0}};
    // An empty name (the root) means the directory itself.
    const char* name = item.name.empty() ? "." : item.name.c_str();
    if (utimensat(root_fd_.get(), name, times, flags) != 0) fail(item.name);
  }

  void finish_directory(const Item& item) {
    own(item, 0);
    const char* name = item.name.empty() ? "." : item.name.c_str();
    if (fchmodat(root_fd_.get(), name, item.mode, 0) != 0) fail(item.name);
    set_mtime(item, 0);
  }

  void publish() {
    put_in_place(out_.parent.get(), temp_->name(), out_.name, out_.shown);
    temp_->release();
  }

  /// Throws for a system call on `name` (relative; "." or "" is the root).
  [[noreturn]] void fail(const std::string& name, int err = errno) const {
    std::string path = name == "." ? "/" : "/" + name;
    throw Error(system_error_message(out_.shown + ": cannot write " + encode_path(path), err));
  }

  OutputPath out_;
  std::optional<AtomicFile> temp_;  ///< destroyed after the descriptors below
  bool as_root_;
  UniqueFd root_fd_;
  UniqueFd current_;
  Item current_item_;
  Item root_;
  bool root_planned_ = false;
  std::vector<Item> directories_;
  std::uint64_t written_ = 0;
};

}  // namespace

std::unique_ptr<Sink> open_directory_sink(const WriteOptions& options) { return std::make_unique<DirectorySink>(options); }

}  // namespace tracepack

// apply_layer: one layer tar onto the root, streamed once.
//
// Each member's name is checked first (relative, no ".."), then:
//   - ".wh..wh..opq" in D: every entry of D this layer has not written (nor
//     written below) is removed, recursively into directories it has written
//     below, so what the same layer adds before or after the marker stays;
//   - ".wh.NAME" in D: D/NAME is removed, file or tree, unless this layer
//     wrote it (a whiteout hides the lower layers only);
//   - devices, FIFOs and sockets are counted and passed over;
//   - anything else clears its way (what is at its name goes, unless both
//     are directories) and is written by an ArchiveExtractor, which refuses
//     to write through a symlink.
// Our own deletions never follow a symlink: the parent directory is opened
// one component at a time from the root with O_NOFOLLOW, and the removal is
// done with unlinkat relative to it (a tree through fds the same way). A
// path through a symlink is refused as libarchive refuses it for a write.
// "Written by this layer" is a set of the names written and their parents.
// When the caller asks for the layer's digest, the reader hands every block
// of the file to a Sha256 as libarchive reads it: one pass for both.
#include "layer_apply.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <set>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "archive_reader.h"
#include "sha256.h"
#include "tracepack/error.h"
#include "tracepack/posix.h"
#include "tracepack/trace.h"

namespace tracepack {
namespace {

constexpr ArchiveReadOptions kLayerReading{
    .only_bundle_formats = false,
    .skip_damaged_headers = false,
    .open_error = "cannot read as a tar archive: ",
    .header_error = "cannot read: ",
    .data_error = "cannot read: ",
    .unknown_error = "unknown error",
    .lower_case = true,
};

constexpr std::string_view kWhiteout = ".wh.";
constexpr std::string_view kOpaque = ".wh..wh..opq";

std::string join(std::string_view dir, std::string_view name) {
  return dir.empty() ? std::string(name) : std::string(dir) + "/" + std::string(name);
}

/// The names in the directory open as `fd` (which stays open).
std::vector<std::string> list_directory(int fd, const std::string& shown) {
  int copy = ::dup(fd);
  DIR* dir = copy < 0 ? nullptr : ::fdopendir(copy);
  if (dir == nullptr) {
    if (copy >= 0) ::close(copy);
    throw_system_error(shown + ": cannot read");
  }
  ::rewinddir(dir);
  std::vector<std::string> names;
  errno = 0;
  while (dirent* e = ::readdir(dir)) {
    std::string_view name = e->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  int error = errno;
  ::closedir(dir);
  if (error != 0) {
    errno = error;
    throw_system_error(shown + ": cannot read");
  }
  return names;
}

/// Removes `name` in the directory `dirfd`, a whole tree for a directory,
/// never following a symlink; `shown` names it in messages. Absent: nothing.
void remove_at(int dirfd, const std::string& name, const std::string& shown) {
  struct stat st;
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return;
    throw_system_error(shown + ": cannot remove");
  }
  if (S_ISDIR(st.st_mode)) {
    UniqueFd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (fd.get() < 0) throw_system_error(shown + ": cannot remove");
    for (const std::string& child : list_directory(fd.get(), shown)) remove_at(fd.get(), child, shown + "/" + child);
  }
  if (::unlinkat(dirfd, name.c_str(), S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) != 0) throw_system_error(shown + ": cannot remove");
}

/// One layer being applied.
class LayerApplier {
 public:
  LayerApplier(const std::string& layer, const std::string& shown, const std::string& root, std::uint64_t& skipped, LayerRead* read)
      : shown_(shown), root_(root), read_(read), reader_(layer, kLayerReading, observer()), extractor_(root, shown), skipped_(skipped) {
    root_fd_ = UniqueFd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (root_fd_.get() < 0) throw_system_error(root + ": cannot open");
  }

  void run() {
    try {
      ArchiveMember member;
      while (!ended_early_ && reader_.next(member)) apply(member);
      extractor_.close();
    } catch (const Error&) {
      finish_read();
      throw;
    }
    finish_read();
  }

 private:
  /// What hashes the file as it is read, when the caller asked.
  ByteObserver observer() {
    if (read_ == nullptr) return nullptr;
    return [this](const void* data, std::size_t size) {
      hash_.update(data, size);
      read_->bytes += size;
    };
  }

  void finish_read() {
    if (read_ == nullptr) return;
    reader_.read_rest();
    read_->sha256 = hash_.hex();
    read_->compressed = reader_.compressed();
  }

  enum class Found { directory, missing, symlink };

  void apply(const ArchiveMember& m) {
    std::string_view name = trimmed_member_name(m.name);
    if (name.empty()) return;
    if (std::string why = unsafe_member_name(name, "root"); !why.empty()) refuse(m, why);
    std::size_t slash = name.rfind('/');
    std::string_view dir = slash == std::string_view::npos ? std::string_view{} : name.substr(0, slash);
    std::string_view base = slash == std::string_view::npos ? name : name.substr(slash + 1);
    if (base.starts_with(kWhiteout)) return whiteout(m, dir, base);
    std::optional<std::string_view> hardlink_to;
    if (m.hardlink) {
      std::string_view target = trimmed_member_name(*m.hardlink);
      if (target.empty()) refuse(m, "hard link without a target");
      if (std::string why = unsafe_member_name(target, "root"); !why.empty()) refuse(m, "hard link target: " + why);
      hardlink_to = target;
    } else if (m.kind == MemberKind::other) {
      ++skipped_;
      return;
    }
    clear_way(m, dir, base, m.kind == MemberKind::directory && !hardlink_to, hardlink_to == name);
    try {
      extractor_.extract(reader_, name, hardlink_to);
    } catch (const Error& e) {
      if (!only_padding_missing(e.what(), m)) throw;
      ended_early_ = true;  // the entry is written whole; close() finishes it
    }
    mark_written(name);
  }

  /// Whether `error` says that only the padding after the last member's data
  /// is missing. umoci 0.4.7's `insert` ends its layers right after the last
  /// member's data, without the padding to 512 bytes nor the end-of-archive
  /// blocks; its own unpack and Go's archive/tar read them, so they are taken
  /// as complete when all of the member's data was there.
  static bool only_padding_missing(std::string_view error, const ArchiveMember& m) {
    if (m.size <= 0 || m.size % 512 == 0) return false;
    std::string tail = ": cannot read: truncated input file (needed " + std::to_string(512 - m.size % 512) + " bytes, only 0 available)";
    return error.ends_with(tail);
  }

  void whiteout(const ArchiveMember& m, std::string_view dir, std::string_view base) {
    if (base == kOpaque) {
      UniqueFd fd;
      if (open_directory(m, dir, fd) == Found::directory) hide_lower(fd.get(), std::string(dir));
      return;
    }
    if (base.starts_with(".wh..wh.")) return;  // aufs's own metadata (.wh..wh.plnk...)
    std::string target(base.substr(kWhiteout.size()));
    if (target.empty() || target == "." || target == "..") refuse(m, "whiteout of no file");
    if (written_.contains(join(dir, target))) return;
    UniqueFd fd;
    if (open_directory(m, dir, fd) == Found::directory) remove_at(fd.get(), target, shown_ + ": " + join(dir, target));
  }

  /// Removes from the directory `dir` (open as `fd`) what this layer did not write.
  void hide_lower(int fd, const std::string& dir) {
    for (const std::string& child : list_directory(fd, root_ + "/" + dir)) {
      std::string path = join(dir, child);
      if (!written_.contains(path)) {
        remove_at(fd, child, shown_ + ": " + path);
        continue;
      }
      struct stat st;
      if (::fstatat(fd, child.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode)) continue;
      UniqueFd sub(::openat(fd, child.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (sub.get() < 0) throw_system_error(root_ + "/" + path + ": cannot open");
      hide_lower(sub.get(), path);
    }
  }

  /// Removes what is at dir/base unless both it and the new entry are directories.
  void clear_way(const ArchiveMember& m, std::string_view dir, std::string_view base, bool is_directory, bool self_link) {
    UniqueFd fd;
    if (self_link || open_directory(m, dir, fd) != Found::directory) return;
    std::string name(base);
    struct stat st;
    if (::fstatat(fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return;
    if (is_directory && S_ISDIR(st.st_mode)) return;
    remove_at(fd.get(), name, shown_ + ": " + join(dir, base));
  }

  /// Opens the directory `dir` below the root one component at a time, never
  /// through a symlink (then the entry `m` is refused).
  Found open_directory(const ArchiveMember& m, std::string_view dir, UniqueFd& out) {
    UniqueFd fd(::dup(root_fd_.get()));
    if (fd.get() < 0) throw_system_error(root_ + ": cannot open");
    std::size_t at = 0;
    while (at < dir.size()) {
      std::size_t slash = dir.find('/', at);
      if (slash == std::string_view::npos) slash = dir.size();
      std::string component(dir.substr(at, slash - at));
      at = slash + 1;
      if (component.empty() || component == ".") continue;
      UniqueFd next(::openat(fd.get(), component.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (next.get() < 0) {
        int error = errno;
        struct stat st;
        if (::fstatat(fd.get(), component.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
          refuse(m, "path goes through a symlink ('" + encode_path(dir.substr(0, slash)) + "')");
        if (error == ENOENT || error == ENOTDIR) return Found::missing;
        errno = error;
        throw_system_error(root_ + "/" + std::string(dir.substr(0, slash)) + ": cannot open");
      }
      fd = std::move(next);
    }
    out = std::move(fd);
    return Found::directory;
  }

  void mark_written(std::string_view name) {
    while (written_.insert(std::string(name)).second) {
      std::size_t slash = name.rfind('/');
      if (slash == std::string_view::npos) return;
      name = name.substr(0, slash);
    }
  }

  [[noreturn]] void refuse(const ArchiveMember& m, const std::string& why) const {
    throw Error(shown_ + ": entry '" + encode_path(m.name) + "' refused: " + why);
  }

  std::string shown_;
  std::string root_;
  UniqueFd root_fd_;
  LayerRead* read_;
  Sha256 hash_;  ///< of the file's bytes, when read_ is given
  ArchiveReader reader_;
  ArchiveExtractor extractor_;
  std::uint64_t& skipped_;
  std::unordered_set<std::string> written_;
  bool ended_early_ = false;  ///< the layer ended in the last member's padding (only_padding_missing)
};

void measure_directory(int fd, const std::string& path, TreeSize& size, std::set<std::pair<dev_t, ino_t>>& linked) {
  for (const std::string& name : list_directory(fd, path)) {
    struct stat st;
    if (::fstatat(fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) throw_system_error(path + "/" + name + ": cannot read");
    if (S_ISREG(st.st_mode)) {
      ++size.files;
      if (st.st_nlink <= 1 || linked.emplace(st.st_dev, st.st_ino).second) size.bytes += static_cast<std::uint64_t>(st.st_size);
    } else if (S_ISDIR(st.st_mode)) {
      UniqueFd sub(::openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (sub.get() < 0) throw_system_error(path + "/" + name + ": cannot read");
      measure_directory(sub.get(), path + "/" + name, size, linked);
    }
  }
}

}  // namespace

void apply_layer(const std::string& layer, const std::string& shown, const std::string& root, std::uint64_t& skipped, LayerRead* read) {
  LayerApplier(layer, shown, root, skipped, read).run();
}

TreeSize measure_tree(const std::string& root) {
  UniqueFd fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) throw_system_error(root + ": cannot read");
  TreeSize size;
  std::set<std::pair<dev_t, ino_t>> linked;
  measure_directory(fd.get(), root, size, linked);
  return size;
}

}  // namespace tracepack

// The pass of write_bundle over a plan, for the formats that are a tree of
// files: "dir" and the archives (the image formats, oci_writer.cc, come here
// for their layer's tar).
//
// The plan is checked and put in order first (normalized absolute paths, no
// duplicates, each parent a planned directory, hard links to earlier regular
// files, names the chosen format can hold); nothing is created before that.
// Then one pass over the entries, in byte order of their paths, turns each
// into an Item (relative name, mode, owner, clamped mtime) and hands it to a
// Sink: ArchiveSink (libarchive, archive_sink.cc) or DirectorySink (plain
// system calls, directory_sink.cc). A regular file is streamed from the source
// tree in 256 KiB chunks; each chunk feeds the SHA-256 of the manifest
// (manifest_writer.cc) and the sink in the same pass. ".tracepack/manifest.json"
// goes last. Both sinks write under a temporary name beside the target and
// only commit() puts it in place (staged_output.cc), so a failure at any point
// leaves the previous output as it was and no temporary behind.
//
// Times. Reproducible output keeps each file's and symlink's mtime (clamped
// to SOURCE_DATE_EPOCH when it is set); directories get SOURCE_DATE_EPOCH's
// clamp or, without it, kDefaultSourceDateEpoch: a directory's mtime changes
// whenever a name in it changes, the bundle being written into the traced
// working directory included, so keeping it would make two packs of the same
// traces differ.
#include "archive_writer.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bundle_sink.h"
#include "manifest_writer.h"
#include "sha256.h"
#include "tracepack/error.h"
#include "tracepack/output_format.h"
#include "tracepack/path_resolution.h"
#include "tracepack/posix.h"

namespace tracepack {
namespace {

/// A path for messages: the JSON form (raw bytes that are not UTF-8 escaped).
std::string shown(std::string_view path) { return encode_path(path); }

/// True for "/" and "/a/b": absolute, no empty, "." or ".." component, no NUL.
bool is_normalized(const PathBytes& path) {
  if (path == "/") return true;
  if (path.empty() || path[0] != '/' || path.find('\0') != path.npos) return false;
  std::size_t start = 1;
  while (start <= path.size()) {
    std::size_t end = std::min(path.find('/', start), path.size());
    std::string_view part(path.data() + start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

std::string_view kind_of(mode_t mode) {
  if (S_ISREG(mode)) return "regular file";
  if (S_ISDIR(mode)) return "directory";
  if (S_ISLNK(mode)) return "symlink";
  if (S_ISFIFO(mode)) return "fifo";
  if (S_ISSOCK(mode)) return "socket";
  return "device";
}

std::string_view kind_of(EntryType type) { return type == EntryType::regular ? "regular file" : to_string(type); }

bool has_type(mode_t mode, EntryType type) {
  switch (type) {
    case EntryType::regular:
      return S_ISREG(mode);
    case EntryType::directory:
      return S_ISDIR(mode);
    case EntryType::symlink:
      return S_ISLNK(mode);
  }
  return false;
}

/// The tree the plan's paths are read from, opened once; paths are resolved
/// relative to it (openat), so a long source_root does not eat into PATH_MAX.
class SourceTree {
 public:
  explicit SourceTree(const PathBytes& root) : root_(root) {
    while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
    int fd = ::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) throw_system_error(shown(root_) + ": cannot open the source root");
    fd_.reset(fd);
  }

  /// The host path of a plan path, for messages.
  std::string shown_path(const PathBytes& path) const { return shown(root_ == "/" ? path : root_ + path); }

  /// Throws unless `entry` still exists with its planned type.
  void check(const PlanEntry& entry) const {
    struct stat st;
    if (root_ == "/") {
      if (fstatat(fd_.get(), entry.path.c_str() + 1, &st, AT_SYMLINK_NOFOLLOW) != 0) missing(entry, errno);
    } else {
      UniqueFd fd(open_below(entry.path, O_PATH | O_NOFOLLOW | O_CLOEXEC));
      if (fd.get() < 0 || fstat(fd.get(), &st) != 0) missing(entry, errno);
    }
    if (!has_type(st.st_mode, entry.type)) changed_type(entry, st.st_mode);
  }

  /// Opens a planned regular file for reading, checking it is still one of `size` bytes.
  UniqueFd open_regular(const PlanEntry& entry, std::uint64_t size) const {
    // O_NOFOLLOW: a file replaced by a symlink is a change, not a redirection;
    // O_NONBLOCK: a file replaced by a fifo must not hang the open.
    int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
    UniqueFd fd(open_below(entry.path, flags));
    if (fd.get() < 0) {
      if (errno == ELOOP) changed_type(entry, S_IFLNK);
      missing(entry, errno);
    }
    struct stat st;
    if (fstat(fd.get(), &st) != 0) throw_system_error(shown_path(entry.path) + ": cannot stat");
    if (!S_ISREG(st.st_mode)) changed_type(entry, st.st_mode);
    if (static_cast<std::uint64_t>(st.st_size) != size) changed_size(entry, size, static_cast<std::uint64_t>(st.st_size));
    posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    return fd;
  }

  [[noreturn]] void changed_size(const PlanEntry& entry, std::uint64_t planned, std::uint64_t now) const {
    throw Error(shown_path(entry.path) + ": changed since the trace was planned (" + std::to_string(planned) + " bytes planned, " +
                std::to_string(now) + " now)");
  }

 private:
  /// openat of a plan path. Below an image's root a symlink met on the way
  /// (a directory replaced since planning) resolves as in the image, never
  /// on the host: openat2's RESOLVE_IN_ROOT (plain openat on kernels before 5.6).
  int open_below(const PathBytes& path, int flags) const {
    if (root_ == "/") return openat(fd_.get(), path.c_str() + 1, flags);
    open_how how{};
    how.flags = static_cast<std::uint64_t>(flags);
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    long fd = syscall(SYS_openat2, fd_.get(), path.c_str() + 1, &how, sizeof how);
    if (fd < 0 && errno == ENOSYS) return openat(fd_.get(), path.c_str() + 1, flags);
    return static_cast<int>(fd);
  }

  [[noreturn]] void missing(const PlanEntry& entry, int err) const {
    if (err == ENOENT || err == ENOTDIR) throw Error(shown_path(entry.path) + ": vanished since the trace was planned");
    throw Error(system_error_message(shown_path(entry.path) + ": cannot open", err));
  }
  [[noreturn]] void changed_type(const PlanEntry& entry, mode_t mode) const {
    throw Error(shown_path(entry.path) + ": changed type since the trace was planned (planned " + std::string(kind_of(entry.type)) +
                ", found " + std::string(kind_of(mode)) + ")");
  }

  PathBytes root_;
  UniqueFd fd_;
};

// ---------------------------------------------------------------------------
// Checking the plan

/// The plan's entries in byte order of their paths, checked (see check_plan).
using Ordered = std::vector<const PlanEntry*>;

void check_entry(const PlanEntry& e, const std::unordered_map<std::string_view, const PlanEntry*>& seen) {
  const std::string name = shown(e.path);
  if (!is_normalized(e.path)) throw Error(name + ": not a normalized absolute path");
  if (seen.contains(e.path)) throw Error(name + ": listed twice in the plan");
  if (e.path == "/" + std::string(kManifestDir) || e.path.starts_with("/" + std::string(kManifestDir) + "/"))
    throw Error(name + ": reserved for the bundle's manifest");
  if (e.path == "/") {
    if (e.type != EntryType::directory) throw Error("/: the root must be a directory");
    return;
  }
  PathBytes parent(parent_of(e.path));
  auto up = seen.find(parent);
  if (parent != "/" && up == seen.end()) throw Error(name + ": parent directory " + shown(parent) + " is not in the plan");
  if (parent != "/" && up->second->type != EntryType::directory)
    throw Error(name + ": parent " + shown(parent) + " is a " + std::string(to_string(up->second->type)) + " in the plan, not a directory");
  if (e.type == EntryType::symlink && e.link_target.empty()) throw Error(name + ": symlink with an empty target");
  if (e.hardlink_to.empty()) return;
  auto target = seen.find(e.hardlink_to);
  if (e.type != EntryType::regular || target == seen.end() || target->second->type != EntryType::regular ||
      !target->second->hardlink_to.empty())
    throw Error(name + ": hard link to " + shown(e.hardlink_to) + ", which is not an earlier regular file of the plan");
}

/// Names and sizes a format cannot hold.
void check_for_format(const PlanEntry& e, std::string_view format) {
  if (format != "cpio") return;
  // newc ends at an entry of this name; its sizes are 8 hex digits.
  if (e.path == "/TRAILER!!!") throw Error(shown(e.path) + ": cannot be stored in a cpio archive (the name marks its end)");
  if (e.type == EntryType::regular && e.size > 0xffffffffULL)
    throw Error(shown(e.path) + ": too large for a cpio archive (4 GiB - 1 bytes at most)");
}

Ordered check_plan(const BundlePlan& plan, std::string_view format) {
  Ordered ordered;
  for (const PlanEntry& e : plan.entries) ordered.push_back(&e);
  // std::string orders bytes as unsigned: a prefix, so a parent, comes first.
  std::stable_sort(ordered.begin(), ordered.end(), [](const PlanEntry* a, const PlanEntry* b) { return a->path < b->path; });
  std::unordered_map<std::string_view, const PlanEntry*> seen;
  for (const PlanEntry* e : ordered) {
    check_entry(*e, seen);
    check_for_format(*e, format);
    seen.emplace(e->path, e);
  }
  return ordered;
}

/// A regular file other entries hard-link to.
struct LinkTarget {
  std::uint32_t links = 0;  ///< entries linking to it
  std::uint32_t ino = 0;    ///< its cpio inode number
  Digest digest;
};

class BundleWriter {
 public:
  /// `buffer` must outlive the sink: a compressor may still point into it
  /// when an unfinished archive is closed after an error.
  BundleWriter(const WriteOptions& options, const SourceTree& source, Sink& sink, std::vector<char>& buffer)
      : options_(options), source_(source), sink_(sink), buffer_(buffer) {}

  void write_entries(const Ordered& entries) {
    count_links(entries);
    for (const PlanEntry* e : entries) write_entry(*e);
  }

  void write_manifest(const std::string& format, const BundlePlan& plan);
  void write_sboms();

  WriteResult& result() { return result_; }

 private:
  void count_links(const Ordered& entries) {
    for (const PlanEntry* e : entries)
      if (!e->hardlink_to.empty()) ++targets_[e->hardlink_to].links;
  }

  std::int64_t clamp(std::int64_t mtime) const {
    if (options_.reproducible && options_.source_date_epoch) return std::min(mtime, *options_.source_date_epoch);
    return mtime;
  }

  Item item_for(const PlanEntry& e) {
    Item item;
    item.name = e.path.substr(1);
    item.type = e.type;
    item.mode = e.mode & 07777;
    // Files from an image keep the image's owners (its user may own its
    // application's files); the host's owners say nothing of the target.
    bool owners = !options_.reproducible || options_.from.has_value();
    item.uid = owners ? e.uid : 0;
    item.gid = owners ? e.gid : 0;
    item.mtime =
        e.type == EntryType::directory && options_.reproducible && !options_.source_date_epoch ? kDefaultSourceDateEpoch : clamp(e.mtime);
    item.link_target = e.link_target;
    item.ino = ++next_ino_;
    item.nlink = e.type == EntryType::directory ? 2 : 1;
    return item;
  }

  void write_entry(const PlanEntry& e) {
    Item item = item_for(e);
    std::optional<Digest> digest;
    if (e.path == "/") {
      sink_.set_root(item);
    } else if (auto made = options_.generated.find(e.path); made != options_.generated.end()) {
      digest = write_generated(e, item, made->second);
    } else if (e.type == EntryType::directory) {
      source_.check(e);
      sink_.add(item);
      ++result_.directories;
    } else if (e.type == EntryType::symlink) {
      source_.check(e);
      sink_.add(item);
      ++result_.symlinks;
    } else if (!e.hardlink_to.empty()) {
      digest = write_hardlink(e, item);
    } else {
      digest = write_regular(e, item);
    }
    manifest_.add(e, digest ? &*digest : nullptr);
    if (digest) files_.push_back({e.path, digest->sha256});
  }

  /// An entry made in memory (WriteOptions::generated): a directory, or a regular file and its content.
  std::optional<Digest> write_generated(const PlanEntry& e, Item& item, const std::string& content) {
    if (e.type == EntryType::directory) {
      sink_.add(item);
      ++result_.directories;
      return std::nullopt;
    }
    item.size = content.size();
    sink_.add(item);
    sink_.write(content.data(), content.size());
    sink_.finish_file();
    sha_.reset();
    sha_.update(content.data(), content.size());
    ++result_.files;
    result_.bytes += content.size();
    return Digest{sha_.hex(), content.size()};
  }

  Digest write_regular(const PlanEntry& e, Item& item) {
    auto target = targets_.find(e.path);
    if (target != targets_.end()) item.nlink = 1 + target->second.links;
    item.size = e.size;
    Digest digest = stream(e, item, e.size, /*hash=*/true);
    if (target != targets_.end()) {
      target->second.ino = item.ino;
      target->second.digest = digest;
    }
    ++result_.files;
    result_.bytes += digest.size;
    return digest;
  }

  Digest write_hardlink(const PlanEntry& e, Item& item) {
    const LinkTarget& target = targets_.at(e.hardlink_to);
    ++result_.hardlinks;
    if (!sink_.has_hardlinks()) {
      item.size = target.digest.size;
      stream(e, item, target.digest.size, /*hash=*/false);  // a copy of the same inode
      return target.digest;
    }
    source_.check(e);
    item.hardlink_name = e.hardlink_to.substr(1);
    item.ino = target.ino;
    item.nlink = 1 + target.links;
    sink_.add(item);
    return target.digest;
  }

  /// Sends one regular file's bytes to the sink, hashing them on the way.
  Digest stream(const PlanEntry& e, const Item& item, std::uint64_t size, bool hash) {
    UniqueFd fd = source_.open_regular(e, size);
    sink_.add(item);
    if (hash) sha_.reset();
    std::uint64_t total = 0;
    for (;;) {
      ssize_t n = ::read(fd.get(), buffer_.data(), buffer_.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw_system_error(source_.shown_path(e.path) + ": cannot read");
      if (n == 0) break;
      total += static_cast<std::uint64_t>(n);
      if (total > size) source_.changed_size(e, size, total);  // grew while being read
      if (hash) sha_.update(buffer_.data(), static_cast<std::size_t>(n));
      sink_.write(buffer_.data(), static_cast<std::size_t>(n));
    }
    if (total != size) source_.changed_size(e, size, total);
    sink_.finish_file();
    return {hash ? sha_.hex() : std::string(), total};
  }

  Item manifest_item(std::string_view name, EntryType type, std::uint32_t mode) {
    Item item;
    item.name = std::string(name);
    item.type = type;
    item.mode = mode;
    // Reproducible: SOURCE_DATE_EPOCH (the clamp of "now"), or the fixed default.
    item.mtime = !options_.reproducible ? static_cast<std::int64_t>(std::time(nullptr))
                                        : options_.source_date_epoch.value_or(kDefaultSourceDateEpoch);
    item.ino = ++next_ino_;
    item.nlink = type == EntryType::directory ? 2 : 1;
    return item;
  }

  const WriteOptions& options_;
  const SourceTree& source_;
  Sink& sink_;
  std::vector<char>& buffer_;
  Sha256 sha_;
  WriteResult result_;
  ManifestWriter manifest_;
  std::unordered_map<PathBytes, LinkTarget> targets_;  ///< by the path holding the data
  std::vector<SbomFile> files_;                        ///< regular files and their digests, in order written
  std::uint32_t next_ino_ = 0;
};

void BundleWriter::write_manifest(const std::string& format, const BundlePlan& plan) {
  std::string text = manifest_.text(options_.bundle_name, plan, options_.from);
  sink_.add(manifest_item(kManifestDir, EntryType::directory, 0755));
  Item file = manifest_item(kManifestName, EntryType::regular, 0644);
  file.size = text.size();
  sink_.add(file);
  sink_.write(text.data(), text.size());
  sink_.finish_file();
  result_.format = format;
}

void BundleWriter::write_sboms() {
  std::int64_t epoch = options_.source_date_epoch.value_or(kDefaultSourceDateEpoch);
  for (const std::string& format : options_.sbom.formats) {
    std::string text = render_sbom(format, options_.sbom, options_.bundle_name, files_, epoch);
    Item file = manifest_item(sbom_bundle_path(format), EntryType::regular, 0644);
    file.size = text.size();
    sink_.add(file);
    sink_.write(text.data(), text.size());
    sink_.finish_file();
    result_.sboms[format] = std::move(text);
  }
}

}  // namespace

WriteResult write_plain_bundle(const BundlePlan& plan, const WriteOptions& options, std::string_view format) {
  Ordered entries = check_plan(plan, format);
  SourceTree source(options.source_root);
  std::vector<char> buffer(kChunkSize);
  std::unique_ptr<Sink> sink = format == "dir" ? open_directory_sink(options) : open_archive_sink(format, options);
  BundleWriter writer(options, source, *sink, buffer);
  writer.write_entries(entries);
  writer.write_manifest(std::string(format), plan);
  writer.write_sboms();
  WriteResult result = writer.result();
  result.output_bytes = sink->commit();
  return result;
}

}  // namespace tracepack

// write_bundle: a BundlePlan written as a directory or an archive, atomically.
//
// The plan is checked and put in order first (normalized absolute paths, no
// duplicates, each parent a planned directory, hard links to earlier regular
// files, names the chosen format can hold); nothing is created before that.
// Then one pass over the entries, in byte order of their paths, turns each
// into an Item (relative name, mode, owner, clamped mtime) and hands it to a
// Sink: ArchiveSink (libarchive) or DirectorySink (plain system calls). The
// image formats are handed to write_image (oci_writer.cc), which calls back
// here for its layer's tar, and for the two files it makes of other files
// (archive_writer_internal.h): the compressed layer (compress_file: libarchive's
// "raw" format behind a gzip or zstd filter) and the outer tar of the image
// archives (write_plain_tar). This file is libarchive's only writer
// (archive_reader.cc its only reader): every archive goes through one
// ArchiveStream, which owns the handle and the output descriptor, turns
// libarchive's statuses into Errors, and, after an error, closes the archive
// without letting it write. A regular file is streamed from the source tree in
// 256 KiB chunks; each chunk feeds the SHA-256 of the manifest and the sink
// in the same pass. ".tracepack/manifest.json" goes last. Both sinks write
// under a temporary name beside the target (".NAME.tmp.XXXXXX") and only
// commit() renames it into place (put_in_place: an existing output is swapped
// out by RENAME_EXCHANGE, then removed), so a failure at any point, a full
// disk included, leaves the previous output as it was and no temporary
// behind. What may be replaced at all is decided by check_replaceable, before
// anything is written and again at the rename: an empty directory or a
// bundle tracepack wrote for the directory formats, a regular file for the
// archives; never a directory holding someone's files. StagedBundle and
// check_output_target (bundle_writer.h) apply the same rules for `build`,
// which verifies a bundle under a staging name before it is published.
//
// Times. Reproducible output keeps each file's and symlink's mtime (clamped
// to SOURCE_DATE_EPOCH when it is set); directories get SOURCE_DATE_EPOCH's
// clamp or, without it, kDefaultSourceDateEpoch: a directory's mtime changes
// whenever a name in it changes, the bundle being written into the traced
// working directory included, so keeping it would make two packs of the same
// traces differ.
//
// Format notes. tar is pax "restricted": plain ustar headers unless a name,
// link or number does not fit or is not ASCII, then a pax header; names that
// are not UTF-8 go in raw under hdrcharset=BINARY (GNU tar warns that it does
// not know the keyword and keeps the bytes; bsdtar knows it).
// cpio is SVR4 "newc" (an initramfs can use it); its hard links share an
// inode number, the data rides on the first name (GNU cpio, bsdtar and the
// kernel accept that), and "TRAILER!!!" cannot be a name. zip has no hard
// links: each is stored as a copy (counted in WriteResult::hardlinks, its
// bytes not in WriteResult::bytes); names are raw bytes and carry the UTF-8
// flag only when they are valid UTF-8 (chosen per entry through the thread's
// locale, which libarchive consults); its DOS timestamps are local time by
// definition, so reproducing a zip byte for byte needs the same TZ.
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <locale.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "archive_writer_internal.h"
#include "sha256.h"
#include "tracepack/bundle_writer.h"
#include "tracepack/error.h"
#include "tracepack/oci_writer.h"
#include "tracepack/path_resolution.h"
#include "tracepack/posix.h"

namespace tracepack {
namespace {

constexpr std::size_t kChunkSize = 256 * 1024;
constexpr std::string_view kManifestDir = ".tracepack";
constexpr std::string_view kManifestName = ".tracepack/manifest.json";
constexpr std::string_view kFormatList = "dir, tar, tar.gz, tar.zst, tar.xz, zip, cpio, oci, oci-archive, docker-archive";

// ---------------------------------------------------------------------------
// Formats and extensions

enum class Format { dir, tar, tar_gz, tar_zst, tar_xz, zip, cpio };

struct FormatName {
  std::string_view name;
  Format format;
};

constexpr FormatName kFormats[] = {
    {"dir", Format::dir},         {"tar", Format::tar}, {"tar.gz", Format::tar_gz},
    {"tar.zst", Format::tar_zst}, {"tar.xz", Format::tar_xz}, {"zip", Format::zip},
    {"cpio", Format::cpio},
};

struct Extension {
  std::string_view suffix;
  std::string_view format;
};

// Longest suffixes first, so ".tar.gz" wins over a bare ".gz".
constexpr Extension kExtensions[] = {
    {".tar.gz", "tar.gz"}, {".tar.zst", "tar.zst"}, {".tar.xz", "tar.xz"}, {".tgz", "tar.gz"},
    {".tzst", "tar.zst"},  {".txz", "tar.xz"},      {".tar", "tar"},       {".zip", "zip"},
    {".cpio", "cpio"},
};

// Extensions of archives and compressors tracepack does not write: naming one
// is a mistake, not a directory called "x.rar".
constexpr std::string_view kForeignArchives[] = {
    ".rar", ".7z",  ".gz",  ".bz2",  ".tbz", ".tbz2", ".tb2", ".lz",  ".lzma", ".tlz",   ".lz4",
    ".lzo", ".zst", ".zstd", ".xz",  ".z",   ".jar",  ".war", ".apk", ".iso",  ".cab",   ".ar",
    ".deb", ".rpm", ".squashfs", ".sqfs", ".wim", ".cpgz", ".shar", ".arj", ".lha", ".lzh", ".zoo",
};

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string_view base_name(std::string_view path) {
  std::size_t slash = path.rfind('/');
  return slash == path.npos ? path : path.substr(slash + 1);
}

/// The archive-looking extension of a file name ("x.tar.bz2" -> ".tar.bz2",
/// "x.rar" -> ".rar"), or "" when it has none.
std::string_view foreign_extension(std::string_view name) {
  std::string low = lower(name);
  std::size_t tar = low.rfind(".tar.");
  if (tar != low.npos && tar > 0 && low.find('.', tar + 5) == low.npos) return name.substr(tar);
  std::size_t dot = low.rfind('.');
  if (dot == low.npos || dot == 0) return {};
  for (std::string_view ext : kForeignArchives)
    if (low.compare(dot, low.npos, ext) == 0) return name.substr(dot);
  return {};
}

Format parse_format(const std::string& name) {
  for (const FormatName& f : kFormats)
    if (f.name == name) return f.format;
  throw Error(name + ": unknown bundle format (use " + std::string(kFormatList) + ")");
}

std::string_view format_name(Format format) {
  for (const FormatName& f : kFormats)
    if (f.format == format) return f.name;
  return "dir";
}

bool is_tar(Format f) {
  return f == Format::tar || f == Format::tar_gz || f == Format::tar_zst || f == Format::tar_xz;
}

// ---------------------------------------------------------------------------
// Small RAII owners


/// Closes `fd`, reporting a deferred write error (NFS, quotas) against `what`.
void close_checked(UniqueFd& fd, const std::string& what) {
  // On Linux the descriptor is released even when close fails with EINTR.
  if (::close(fd.release()) != 0 && errno != EINTR) throw_system_error(what);
}

/// Makes the calling thread use a locale until destroyed; libarchive's zip
/// writer reads the codeset to decide an entry's UTF-8 flag.
class ThreadLocale {
 public:
  explicit ThreadLocale(locale_t locale) : previous_(locale ? uselocale(locale) : nullptr) {}
  ~ThreadLocale() {
    if (previous_) uselocale(previous_);
  }
  ThreadLocale(const ThreadLocale&) = delete;
  ThreadLocale& operator=(const ThreadLocale&) = delete;

 private:
  locale_t previous_;
};

// ---------------------------------------------------------------------------
// Paths

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

std::string random_suffix() {
  static constexpr char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  unsigned char bytes[6];
  if (getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes))
    throw_system_error("getrandom: cannot name a temporary file");
  std::string out;
  for (unsigned char b : bytes) out += kChars[b % (sizeof kChars - 1)];
  return out;
}

/// An output path as its directory ("dir/", or "." for none) and its name.
struct SplitPath {
  std::string dir;
  std::string name;
};

SplitPath split_output(const std::string& path) {
  std::string trimmed = path;
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
  std::string name(base_name(trimmed));
  if (name.empty() || name == "." || name == "..")
    throw Error(path + ": not a usable output name (name a file or directory to create)");
  std::string dir = trimmed.size() == name.size() ? "." : trimmed.substr(0, trimmed.size() - name.size());
  if (dir.size() > 1) dir.pop_back();  // the '/' before the name
  return {dir, name};
}

/// The path of `split` again, without a trailing '/'.
std::string joined(const SplitPath& split) { return (split.dir == "/" ? "" : split.dir) + "/" + split.name; }

/// Where the output goes: an open parent directory and a name in it.
struct OutputPath {
  std::string shown;  ///< the path as given, for messages
  UniqueFd parent;
  std::string name;

  std::string temp_name() const { return "." + name + ".tmp." + random_suffix(); }
};

OutputPath open_output_path(const std::string& path) {
  SplitPath split = split_output(path);
  int fd = ::open(split.dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw_system_error(split.dir + ": cannot open the output directory");
  return {path, UniqueFd(fd), split.name};
}

/// Makes a rename of `target` in `dirfd` durable, best effort: the output is
/// in place either way (`dirfd` may be an O_PATH descriptor, which fsync
/// refuses, or AT_FDCWD with `target` a path).
void sync_directory(int dirfd, const std::string& target = {}) {
  std::string dir = ".";
  if (dirfd == AT_FDCWD && target.find('/') != target.npos) dir = target.substr(0, target.rfind('/') + 1);
  UniqueFd fd(openat(dirfd, dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() >= 0) fsync(fd.get());
}

/// Removes `name` under `dirfd` and everything below it, best effort: used
/// to clean up, when there is no better error to report than the one pending.
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

// ---------------------------------------------------------------------------
// What an output may replace

bool is_empty_directory(int fd) {
  DIR* dir = fdopendir(dup(fd));
  if (!dir) return false;
  bool empty = true;
  while (const dirent* d = readdir(dir))
    if (std::string_view(d->d_name) != "." && std::string_view(d->d_name) != "..") empty = false;
  closedir(dir);
  return empty;
}

bool is_regular_at(int dirfd, const char* name) {
  struct stat st;
  return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

/// An image layout whose index.json carries kLayoutAnnotation.
bool is_tracepack_layout(int fd) {
  if (!is_regular_at(fd, "oci-layout") || !is_regular_at(fd, "index.json")) return false;
  UniqueFd index(openat(fd, "index.json", O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  std::string text;
  char buffer[65536];
  ssize_t n = 0;
  while (index.get() >= 0 && text.size() < (1u << 20) && (n = ::read(index.get(), buffer, sizeof buffer)) > 0)
    text.append(buffer, static_cast<std::size_t>(n));
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("annotations") || !doc["annotations"].is_object()) return false;
  const nlohmann::json& annotations = doc["annotations"];
  return annotations.contains(kLayoutAnnotation) && annotations[kLayoutAnnotation] == "tracepack";
}

/// An empty directory, or a bundle tracepack wrote: its own to replace.
bool is_replaceable_directory(int dirfd, const std::string& name) {
  UniqueFd fd(openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) return false;
  return is_empty_directory(fd.get()) || is_regular_at(fd.get(), ".tracepack/manifest.json") || is_tracepack_layout(fd.get());
}

bool is_directory_format(std::string_view format) { return format == "dir" || format == "oci"; }

}  // namespace

void check_replaceable(int dirfd, const std::string& target, std::string_view format, const std::string& shown) {
  struct stat st;
  if (fstatat(dirfd, target.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return;  // nothing there (a missing parent is the caller's)
    throw_system_error(shown + ": cannot stat");
  }
  if (is_directory_format(format)) {
    if (!S_ISDIR(st.st_mode)) throw Error(shown + ": exists and is not a directory (the " + std::string(format) + " format was chosen)");
    if (!is_replaceable_directory(dirfd, target))
      throw Error(shown + ": not replaced: a directory that is neither empty nor a bundle tracepack wrote "
                          "(it has no .tracepack/manifest.json); nothing in it was changed");
    return;
  }
  if (S_ISDIR(st.st_mode)) throw Error(shown + ": is a directory (an archive format was chosen)");
  if (!S_ISREG(st.st_mode))
    throw Error(shown + ": exists and is not a regular file (an archive format replaces only a regular file)");
}

void put_in_place(int dirfd, const std::string& temp, const std::string& target, const std::string& shown) {
  struct stat st;
  bool directory = fstatat(dirfd, temp.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
  check_replaceable(dirfd, target, directory ? "dir" : "tar", shown);
  if (renameat2(dirfd, temp.c_str(), dirfd, target.c_str(), RENAME_NOREPLACE) == 0) return sync_directory(dirfd, target);
  if (errno == EEXIST && renameat2(dirfd, temp.c_str(), dirfd, target.c_str(), RENAME_EXCHANGE) == 0) {
    sync_directory(dirfd, target);
    remove_tree(dirfd, temp);  // now the previous output
    return;
  }
  if (errno != EINVAL) throw_system_error(shown + ": cannot put the bundle in place");
  // No exchange on this file system: move the previous output aside first.
  std::string old = temp + ".old";
  bool had_old = renameat(dirfd, target.c_str(), dirfd, old.c_str()) == 0;
  if (!had_old && errno != ENOENT) throw_system_error(shown + ": cannot move the previous bundle aside");
  if (renameat(dirfd, temp.c_str(), dirfd, target.c_str()) != 0) {
    int err = errno;
    if (had_old) renameat(dirfd, old.c_str(), dirfd, target.c_str());
    throw Error(system_error_message(shown + ": cannot put the bundle in place", err));
  }
  sync_directory(dirfd, target);
  if (had_old) remove_tree(dirfd, old);
}

namespace {

/// A file or tree under a temporary name beside the output, removed when
/// destroyed unless kept (once renamed into place).
class Temporary {
 public:
  explicit Temporary(int dirfd) : dirfd_(dirfd) {}
  ~Temporary() {
    if (!name_.empty() && !kept_) remove_tree(dirfd_, name_);
  }
  Temporary(const Temporary&) = delete;
  Temporary& operator=(const Temporary&) = delete;

  void set_name(std::string name) { name_ = std::move(name); }
  const std::string& name() const { return name_; }
  void keep() { kept_ = true; }

 private:
  int dirfd_;
  std::string name_;
  bool kept_ = false;
};

struct LocaleFree {
  void operator()(locale_t locale) const { freelocale(locale); }
};
using UniqueLocale = std::unique_ptr<std::remove_pointer_t<locale_t>, LocaleFree>;

UniqueLocale make_locale(const char* name) { return UniqueLocale(newlocale(LC_ALL_MASK, name, nullptr)); }

// ---------------------------------------------------------------------------
// The source tree

std::string_view type_name(EntryType type) {
  switch (type) {
    case EntryType::regular: return "regular";
    case EntryType::directory: return "directory";
    case EntryType::symlink: return "symlink";
  }
  return "regular";
}

std::string_view kind_of(mode_t mode) {
  if (S_ISREG(mode)) return "regular file";
  if (S_ISDIR(mode)) return "directory";
  if (S_ISLNK(mode)) return "symlink";
  if (S_ISFIFO(mode)) return "fifo";
  if (S_ISSOCK(mode)) return "socket";
  return "device";
}

std::string_view kind_of(EntryType type) {
  return type == EntryType::regular ? "regular file" : type_name(type);
}

bool has_type(mode_t mode, EntryType type) {
  switch (type) {
    case EntryType::regular: return S_ISREG(mode);
    case EntryType::directory: return S_ISDIR(mode);
    case EntryType::symlink: return S_ISLNK(mode);
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
    if (fstatat(fd_.get(), entry.path.c_str() + 1, &st, AT_SYMLINK_NOFOLLOW) != 0) missing(entry, errno);
    if (!has_type(st.st_mode, entry.type)) changed_type(entry, st.st_mode);
  }

  /// Opens a planned regular file for reading, checking it is still one of `size` bytes.
  UniqueFd open_regular(const PlanEntry& entry, std::uint64_t size) const {
    // O_NOFOLLOW: a file replaced by a symlink is a change, not a redirection;
    // O_NONBLOCK: a file replaced by a fifo must not hang the open.
    int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
    UniqueFd fd(openat(fd_.get(), entry.path.c_str() + 1, flags));
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
    throw Error(shown_path(entry.path) + ": changed since the trace was planned (" + std::to_string(planned) +
                " bytes planned, " + std::to_string(now) + " now)");
  }

 private:
  [[noreturn]] void missing(const PlanEntry& entry, int err) const {
    if (err == ENOENT || err == ENOTDIR) throw Error(shown_path(entry.path) + ": vanished since the trace was planned");
    throw Error(system_error_message(shown_path(entry.path) + ": cannot open", err));
  }
  [[noreturn]] void changed_type(const PlanEntry& entry, mode_t mode) const {
    throw Error(shown_path(entry.path) + ": changed type since the trace was planned (planned " +
                std::string(kind_of(entry.type)) + ", found " + std::string(kind_of(mode)) + ")");
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
    throw Error(name + ": parent " + shown(parent) + " is a " + std::string(type_name(up->second->type)) + " in the plan, not a directory");
  if (e.type == EntryType::symlink && e.link_target.empty()) throw Error(name + ": symlink with an empty target");
  if (e.hardlink_to.empty()) return;
  auto target = seen.find(e.hardlink_to);
  if (e.type != EntryType::regular || target == seen.end() || target->second->type != EntryType::regular ||
      !target->second->hardlink_to.empty())
    throw Error(name + ": hard link to " + shown(e.hardlink_to) + ", which is not an earlier regular file of the plan");
}

/// Names and sizes a format cannot hold.
void check_for_format(const PlanEntry& e, Format format) {
  if (format != Format::cpio) return;
  // newc ends at an entry of this name; its sizes are 8 hex digits.
  if (e.path == "/TRAILER!!!") throw Error(shown(e.path) + ": cannot be stored in a cpio archive (the name marks its end)");
  if (e.type == EntryType::regular && e.size > 0xffffffffULL)
    throw Error(shown(e.path) + ": too large for a cpio archive (4 GiB - 1 bytes at most)");
}

Ordered check_plan(const BundlePlan& plan, Format format) {
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

// ---------------------------------------------------------------------------
// libarchive's writer

struct ArchiveFree {
  void operator()(archive* a) const { archive_write_free(a); }
};
using UniqueEntry = std::unique_ptr<archive_entry, decltype(&archive_entry_free)>;

UniqueEntry make_entry() { return UniqueEntry(archive_entry_new(), &archive_entry_free); }

/// libarchive's last message for `a`, its first letter lowered unless it
/// starts an acronym ("Can't write" -> "can't write", "ZSTD ..." kept).
std::string lowered_error(archive* a) {
  const char* text = archive_error_string(a);
  std::string out = text ? text : "unknown libarchive error";
  if (!out.empty() && out[0] >= 'A' && out[0] <= 'Z' && (out.size() < 2 || !(out[1] >= 'A' && out[1] <= 'Z')))
    out[0] = static_cast<char>(out[0] - 'A' + 'a');
  return out;
}

/// A libarchive write handle streaming into a file it owns, counting (and on
/// request hashing) the bytes written: the one client callback of this file.
/// The owner sets the format and filters through get(), then open()s it;
/// finish() completes the file, and destroying it unfinished drops whatever
/// libarchive still emits.
class ArchiveStream {
 public:
  /// How an unfinished archive is given up. After an error, close (what it
  /// emits is dropped) releases the compressors and the output buffer, which
  /// free alone would leak in libarchive 3.6. fail_then_close: tar, cpio and
  /// raw, where archive_write_fail first keeps close from padding the
  /// unfinished entry to its size. close_only: zip, which does not pad, and
  /// needs its entry finished to release that entry's deflate stream.
  enum class Abort { fail_then_close, close_only };

  /// Takes `fd`, open for writing; `shown` names the output in messages.
  /// With `hash`, sha256_hex() digests the bytes written. Throws
  /// Error("libarchive: out of memory").
  ArchiveStream(UniqueFd fd, std::string shown, bool hash, Abort abort)
      : fd_(std::move(fd)), shown_(std::move(shown)), abort_(abort), archive_(archive_write_new()) {
    if (!archive_) throw Error("libarchive: out of memory");
    if (hash) sha_.emplace().reset();
  }
  ~ArchiveStream() {
    if (finished_) return;
    discarding_ = true;
    if (abort_ == Abort::fail_then_close) archive_write_fail(archive_.get());
    archive_write_close(archive_.get());
  }
  ArchiveStream(const ArchiveStream&) = delete;
  ArchiveStream& operator=(const ArchiveStream&) = delete;

  archive* get() const { return archive_.get(); }

  /// Starts the output once the format and filters are set.
  void open() {
    if (archive_write_open2(archive_.get(), this, nullptr, &ArchiveStream::callback, nullptr, nullptr) != ARCHIVE_OK)
      fail(shown_);
  }

  /// Adds the bytes of the current entry.
  void write(const char* data, std::size_t size) {
    la_ssize_t n = archive_write_data(archive_.get(), data, size);
    if (n < 0 || static_cast<std::size_t>(n) != size) fail(shown_);
  }

  void finish_entry() {
    if (archive_write_finish_entry(archive_.get()) != ARCHIVE_OK) fail(shown_);
  }

  /// Ends the archive and flushes the file to disk (fsync, a checked close).
  void finish() {
    finished_ = true;
    if (archive_write_close(archive_.get()) != ARCHIVE_OK) fail(shown_);
    if (fsync(fd_.get()) != 0) throw_system_error(shown_ + ": cannot write");
    close_checked(fd_, shown_ + ": cannot write");
  }

  std::uint64_t written() const { return written_; }
  /// The SHA-256 of the bytes written, once finished; only with `hash`.
  std::string sha256_hex() { return sha_->hex(); }

  /// Throws "<shown>: cannot write: <strerror>" after a failed write, else
  /// "<subject>: <libarchive's message>" (the subject defaults to <shown>).
  [[noreturn]] void fail(const std::string& subject) const {
    if (write_errno_ != 0) throw Error(system_error_message(shown_ + ": cannot write", write_errno_));
    throw Error(subject + ": " + lowered_error(archive_.get()));
  }
  [[noreturn]] void fail() const { fail(shown_); }

 private:
  static la_ssize_t callback(archive*, void* client, const void* buffer, std::size_t size) {
    return static_cast<ArchiveStream*>(client)->write_out(static_cast<const char*>(buffer), size);
  }

  la_ssize_t write_out(const char* data, std::size_t size) {
    if (discarding_) return static_cast<la_ssize_t>(size);
    for (std::size_t done = 0; done < size;) {
      ssize_t n = ::write(fd_.get(), data + done, size - done);
      if (n > 0) {
        done += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      write_errno_ = n < 0 ? errno : EIO;
      archive_set_error(archive_.get(), write_errno_, "write error");
      return -1;
    }
    if (sha_) sha_->update(data, size);
    written_ += size;
    return static_cast<la_ssize_t>(size);
  }

  UniqueFd fd_;
  std::string shown_;
  Abort abort_;
  std::unique_ptr<archive, ArchiveFree> archive_;  ///< destroyed before the descriptor it writes
  std::optional<Sha256> sha_;
  std::uint64_t written_ = 0;
  int write_errno_ = 0;
  bool finished_ = false;
  bool discarding_ = false;
};

/// Workers for zstd and xz. Their multi-threaded output does not depend on
/// the number of workers (xz cuts blocks of a size set by the level, not by
/// the thread count), so any number keeps reproducibility. At least two:
/// with one, libarchive switches xz to its single-threaded encoder, whose
/// output differs.
unsigned compressor_threads(unsigned requested) {
  return std::max(2u, requested != 0 ? requested : std::thread::hardware_concurrency());
}

/// Adds libarchive's `name` filter ("gzip", "xz" or "zstd") to `a`: a gzip
/// header without a timestamp when `reproducible`, zstd and xz on
/// compressor_threads(`threads`). Older libarchive lacks the threads option
/// (ARCHIVE_WARN): then it runs single-threaded.
void add_filter(archive* a, std::string_view name, bool reproducible, unsigned threads) {
  if (name == "gzip") {
    archive_write_add_filter_gzip(a);
    // A value of nullptr turns the option off: header mtime 0, not "now".
    if (reproducible) archive_write_set_filter_option(a, "gzip", "timestamp", nullptr);
    return;
  }
  if (name == "xz") archive_write_add_filter_xz(a);
  else archive_write_add_filter_zstd(a);
  std::string workers = std::to_string(compressor_threads(threads));
  archive_write_set_filter_option(a, std::string(name).c_str(), "threads", workers.c_str());
}

// ---------------------------------------------------------------------------
// Sinks

/// One entry as stored: relative name and the metadata the format records.
struct Item {
  std::string name;            ///< relative, no leading '/'; "" for the root
  EntryType type = EntryType::regular;
  std::uint32_t mode = 0;      ///< permission bits
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::int64_t mtime = 0;
  std::uint64_t size = 0;      ///< regular files with data
  PathBytes link_target;       ///< symlinks
  std::string hardlink_name;   ///< hard links: the relative name holding the data
  std::uint32_t ino = 0;       ///< cpio: hard links share it
  std::uint32_t nlink = 1;
};

/// Receives the entries in order and makes them the output. Regular files
/// (hardlink_name empty) are add()ed, then their bytes come through write(),
/// then finish_file(). Destroying a Sink that was not committed removes
/// everything it wrote.
class Sink {
 public:
  virtual ~Sink() = default;
  /// False when the format cannot store hard links (the caller sends copies).
  virtual bool has_hardlinks() const = 0;
  /// The root directory's metadata, where the format has a place for it.
  virtual void set_root(const Item&) {}
  virtual void add(const Item& item) = 0;
  virtual void write(const char* data, std::size_t size) = 0;
  virtual void finish_file() = 0;
  /// Finishes the output and puts it in place; returns its size in bytes.
  virtual std::uint64_t commit() = 0;
};

/// An archive written through libarchive into a temporary file beside the target.
class ArchiveSink final : public Sink {
 public:
  ArchiveSink(Format format, const WriteOptions& options)
      : format_(format), out_(open_output_path(options.path)), temp_(out_.parent.get()) {
    check_replaceable(out_.parent.get(), out_.name, format_name(format), out_.shown);
    check_level(options.compression_level);
    auto abort = format == Format::zip ? ArchiveStream::Abort::close_only : ArchiveStream::Abort::fail_then_close;
    stream_.emplace(create_temp(), out_.shown, /*hash=*/false, abort);
    if (!entry_ || !c_locale_) throw Error("libarchive: out of memory");
    setup_format(options);
    setup_filter(options);
    // Large writes for throughput; plain tar keeps the customary 10240-byte
    // padding at the end, everything else ends exactly where its data does.
    archive_write_set_bytes_per_block(stream_->get(), static_cast<int>(kChunkSize));
    archive_write_set_bytes_in_last_block(stream_->get(), format == Format::tar ? 10240 : 1);
    stream_->open();
  }

  bool has_hardlinks() const override { return format_ != Format::zip; }

  void add(const Item& item) override {
    fill_entry(item);
    ThreadLocale locale(header_locale(item));
    int status = archive_write_header(stream_->get(), entry_.get());
    // pax could not express a name in UTF-8 and stored it raw under
    // hdrcharset=BINARY, the bytes kept: expected for such names.
    if (status == ARCHIVE_WARN && is_tar(format_) && !all_utf8(item)) status = ARCHIVE_OK;
    if (status != ARCHIVE_OK) stream_->fail(shown("/" + item.name));
  }

  void write(const char* data, std::size_t size) override { stream_->write(data, size); }

  void finish_file() override { stream_->finish_entry(); }

  std::uint64_t commit() override {
    stream_->finish();
    put_in_place(out_.parent.get(), temp_.name(), out_.name, out_.shown);
    temp_.keep();
    return stream_->written();
  }

 private:
  UniqueFd create_temp() {
    for (int attempt = 0; attempt < 100; ++attempt) {
      std::string name = out_.temp_name();
      // 0666 and the umask, as for any file the user creates.
      UniqueFd fd(openat(out_.parent.get(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
      if (fd.get() >= 0) {
        temp_.set_name(name);
        return fd;
      }
      if (errno != EEXIST) throw_system_error(out_.shown + ": cannot create a temporary file beside it");
    }
    throw Error(out_.shown + ": cannot create a temporary file beside it: too many name collisions");
  }

  void setup_format(const WriteOptions& options) {
    archive* a = stream_->get();
    if (is_tar(format_)) {
      archive_write_set_format_pax_restricted(a);
      // Headers are written under C.UTF-8 (see header_locale): UTF-8 names go
      // in unchanged, others raw with hdrcharset=BINARY. Without that locale,
      // every name is stored raw that way.
      if (!utf8_locale_ && archive_write_set_format_option(a, "pax", "hdrcharset", "BINARY") != ARCHIVE_OK)
        stream_->fail("pax");
    } else if (format_ == Format::zip) {
      archive_write_set_format_zip(a);
      if (options.compression_level >= 0) set_level("zip", /*format_option=*/true, options.compression_level);
    } else {
      archive_write_set_format_cpio_newc(a);
    }
  }

  void setup_filter(const WriteOptions& options) {
    const char* name = format_ == Format::tar_gz ? "gzip" : format_ == Format::tar_xz ? "xz" : "zstd";
    if (format_ != Format::tar_gz && format_ != Format::tar_xz && format_ != Format::tar_zst) return;
    add_filter(stream_->get(), name, options.reproducible, options.compression_threads);
    if (options.compression_level >= 0) set_level(name, /*format_option=*/false, options.compression_level);
  }

  /// Levels libarchive 3.6 accepts, checked before anything is created.
  void check_level(int level) const {
    if (level < 0 || format_ == Format::tar || format_ == Format::cpio) return;  // nothing to compress
    const char* name = format_ == Format::tar_gz ? "gzip" : format_ == Format::tar_xz ? "xz" : format_ == Format::zip ? "zip" : "zstd";
    int max = format_ == Format::tar_zst ? 22 : 9;
    if (level > max)
      throw Error("compression level " + std::to_string(level) + ": out of range for " + name + " (0-" + std::to_string(max) + ")");
  }

  void set_level(const char* module, bool format_option, int level) {
    archive* a = stream_->get();
    std::string value = std::to_string(level);
    int status = format_option ? archive_write_set_format_option(a, module, "compression-level", value.c_str())
                               : archive_write_set_filter_option(a, module, "compression-level", value.c_str());
    if (status != ARCHIVE_OK)
      throw Error("compression level " + value + ": not accepted by " + module + " (" + lowered_error(a) + ")");
  }

  void fill_entry(const Item& item) {
    archive_entry* e = archive_entry_clear(entry_.get());
    archive_entry_copy_pathname(e, item.name.c_str());  // raw bytes, no conversion
    archive_entry_set_perm(e, item.mode);
    archive_entry_set_uid(e, item.uid);
    archive_entry_set_gid(e, item.gid);
    archive_entry_set_mtime(e, item.mtime, 0);
    archive_entry_set_ino(e, item.ino);
    archive_entry_set_nlink(e, item.nlink);
    archive_entry_set_size(e, 0);  // cpio wants a size on every entry
    if (item.type == EntryType::directory) archive_entry_set_filetype(e, AE_IFDIR);
    if (item.type == EntryType::symlink) {
      archive_entry_set_filetype(e, AE_IFLNK);
      archive_entry_copy_symlink(e, item.link_target.c_str());
    }
    if (item.type != EntryType::regular) return;
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_size(e, item.hardlink_name.empty() ? static_cast<la_int64_t>(item.size) : 0);
    // cpio links by a shared inode number (set above); tar by name.
    if (!item.hardlink_name.empty() && format_ != Format::cpio) archive_entry_copy_hardlink(e, item.hardlink_name.c_str());
  }

  /// The locale libarchive sees while writing a header. pax converts names
  /// from the locale's codeset to UTF-8: under C.UTF-8 that is the identity
  /// for UTF-8 and a failure (so a raw BINARY header) for anything else,
  /// whatever locale the program runs in. zip sets an entry's UTF-8 flag when
  /// the codeset is UTF-8: only names that are UTF-8 should get it.
  locale_t header_locale(const Item& item) const {
    if (is_tar(format_)) return utf8_locale_.get();
    if (format_ != Format::zip) return nullptr;
    const std::string& name = item.name;
    bool ascii = std::all_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
    return !ascii && is_valid_utf8(name) && utf8_locale_ ? utf8_locale_.get() : c_locale_.get();
  }

  static bool all_utf8(const Item& item) {
    return is_valid_utf8(item.name) && is_valid_utf8(item.link_target) && is_valid_utf8(item.hardlink_name);
  }

  static bool is_valid_utf8(std::string_view text) {
    // encode_path leaves valid UTF-8 alone apart from '%'.
    std::string encoded = encode_path(text);
    return encoded.size() == text.size() + 2 * static_cast<std::size_t>(std::count(text.begin(), text.end(), '%'));
  }

  Format format_;
  OutputPath out_;
  Temporary temp_;  ///< destroyed after the stream, which holds the descriptor
  std::optional<ArchiveStream> stream_;
  UniqueEntry entry_ = make_entry();
  UniqueLocale utf8_locale_ = make_locale("C.UTF-8");  ///< missing: pax stores every name raw
  UniqueLocale c_locale_ = make_locale("C");
};

/// A directory tree built beside the target, then swapped in.
class DirectorySink final : public Sink {
 public:
  explicit DirectorySink(const WriteOptions& options)
      : out_(open_output_path(options.path)), temp_(out_.parent.get()), as_root_(geteuid() == 0) {
    check_replaceable(out_.parent.get(), out_.name, "dir", out_.shown);
    create_temp();
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
    if (root_planned_) finish_directory(root_);
    else if (fchmod(root_fd_.get(), 0755) != 0) fail(".");
    if (syncfs(root_fd_.get()) != 0) throw_system_error(out_.shown + ": cannot write");
    publish();
    return written_;
  }

 private:
  void create_temp() {
    for (int attempt = 0; attempt < 100; ++attempt) {
      std::string name = out_.temp_name();
      if (mkdirat(out_.parent.get(), name.c_str(), 0700) == 0) {
        temp_.set_name(name);
        root_fd_.reset(openat(out_.parent.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (root_fd_.get() < 0) throw_system_error(out_.shown + ": cannot open its temporary directory");
        return;
      }
      if (errno != EEXIST) throw_system_error(out_.shown + ": cannot create a temporary directory beside it");
    }
    throw Error(out_.shown + ": cannot create a temporary directory beside it: too many name collisions");
  }

  void own(const Item& item, int flags) {
    // Only root can give files away; others get files they own, like tar.
    if (as_root_ && fchownat(root_fd_.get(), item.name.c_str(), item.uid, item.gid, flags | AT_EMPTY_PATH) != 0)
      fail(item.name);
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
    put_in_place(out_.parent.get(), temp_.name(), out_.name, out_.shown);
    temp_.keep();
  }

  /// Throws for a system call on `name` (relative; "." or "" is the root).
  [[noreturn]] void fail(const std::string& name, int err = errno) const {
    std::string path = name == "." ? "/" : "/" + name;
    throw Error(system_error_message(out_.shown + ": cannot write " + shown(path), err));
  }

  OutputPath out_;
  Temporary temp_;  ///< destroyed after the descriptors below
  bool as_root_;
  UniqueFd root_fd_;
  UniqueFd current_;
  Item current_item_;
  Item root_;
  bool root_planned_ = false;
  std::vector<Item> directories_;
  std::uint64_t written_ = 0;
};

std::unique_ptr<Sink> open_sink(Format format, const WriteOptions& options) {
  if (format == Format::dir) return std::make_unique<DirectorySink>(options);
  return std::make_unique<ArchiveSink>(format, options);
}

// ---------------------------------------------------------------------------
// The pass over the plan

/// The test cases whose traced processes used an entry, sorted, each once.
nlohmann::ordered_json tests_of(const PlanEntry& e) {
  std::vector<std::string> tests;
  for (const PlanReason& r : e.reasons)
    if (r.source == PlanReason::Source::traced && std::find(tests.begin(), tests.end(), r.test) == tests.end())
      tests.push_back(r.test);
  std::sort(tests.begin(), tests.end());
  return tests;
}

/// What the manifest needs of a regular file once its bytes went through.
struct Digest {
  std::string sha256;
  std::uint64_t size = 0;
};

/// A regular file other entries hard-link to.
struct LinkTarget {
  std::uint32_t links = 0;  ///< entries linking to it
  std::uint32_t ino = 0;    ///< its cpio inode number
  Digest digest;
};

/// Streams the checked plan into a sink and builds the manifest on the way.
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
    item.uid = options_.reproducible ? 0 : e.uid;
    item.gid = options_.reproducible ? 0 : e.gid;
    item.mtime = e.type == EntryType::directory && options_.reproducible && !options_.source_date_epoch
                     ? kDefaultSourceDateEpoch
                     : clamp(e.mtime);
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
    manifest_.push_back(manifest_entry(e, digest ? &*digest : nullptr));
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

  nlohmann::ordered_json manifest_entry(const PlanEntry& e, const Digest* digest) const {
    nlohmann::ordered_json j;
    j["path"] = encode_path(e.path);
    j["type"] = type_name(e.type);
    j["size"] = digest ? digest->size : 0;
    j["mode"] = e.mode & 07777;
    if (digest) j["sha256"] = digest->sha256;
    if (e.type == EntryType::symlink) j["link_target"] = encode_path(e.link_target);
    if (!e.hardlink_to.empty()) j["hardlink_to"] = encode_path(e.hardlink_to);
    nlohmann::ordered_json reasons = nlohmann::ordered_json::array();
    for (const PlanReason& r : e.reasons) reasons.push_back(r.detail);
    j["reasons"] = std::move(reasons);
    j["tests"] = tests_of(e);
    return j;
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
  nlohmann::ordered_json manifest_ = nlohmann::ordered_json::array();
  std::unordered_map<PathBytes, LinkTarget> targets_;  ///< by the path holding the data
  std::uint32_t next_ino_ = 0;
};

void BundleWriter::write_manifest(const std::string& format, const BundlePlan& plan) {
  nlohmann::ordered_json doc;
  doc["format"] = "tracepack-manifest";
  doc["version"] = 1;
  doc["bundle"] = options_.bundle_name;
  doc["entries"] = std::move(manifest_);
  // Added fields (docs/report-format.md): what was left out and why, and the
  // plan's warnings. Paths in pseudo and temporary file systems are left out
  // of the list: process ids and temporary names differ from run to run, and
  // two builds of the same application must give the same bundle.
  nlohmann::ordered_json excluded = nlohmann::ordered_json::array();
  for (const PlanExclusion& x : plan.excluded)
    if (pseudo_root(x.path).empty() && scratch_root(x.path).empty()) excluded.push_back({{"path", encode_path(x.path)}, {"reason", x.reason}});
  doc["excluded"] = std::move(excluded);
  doc["warnings"] = plan.warnings;
  // Reason texts are for people and may hold stray bytes: replace, never throw.
  std::string text = doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
  sink_.add(manifest_item(kManifestDir, EntryType::directory, 0755));
  Item file = manifest_item(kManifestName, EntryType::regular, 0644);
  file.size = text.size();
  sink_.add(file);
  sink_.write(text.data(), text.size());
  sink_.finish_file();
  result_.format = format;
}

// ---------------------------------------------------------------------------
// The image writer's files: its outer tar and its compressed layer

/// Creates the file at `path`, which must not exist yet.
UniqueFd create_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (fd.get() < 0) throw_system_error(path + ": cannot open");
  return fd;
}

std::uint64_t file_size(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) throw_system_error(path + ": cannot stat");
  return static_cast<std::uint64_t>(st.st_size);
}

/// Copies the bytes of the file at `path` into the current entry of `out`.
void copy_file(ArchiveStream& out, const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw_system_error(path + ": cannot open");
  std::vector<char> buffer(kChunkSize);
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_system_error(path + ": cannot read");
    if (n == 0) return;
    out.write(buffer.data(), static_cast<std::size_t>(n));
  }
}

/// Writes `member` into `out` through `entry`: a 0755 directory, or a 0644
/// regular file holding the bytes of member.source; owner 0:0, no user or
/// group names.
void add_member(ArchiveStream& out, archive_entry* entry, const TarMember& member) {
  archive_entry* e = archive_entry_clear(entry);
  archive_entry_copy_pathname(e, member.name.c_str());
  archive_entry_set_filetype(e, member.directory ? AE_IFDIR : AE_IFREG);
  archive_entry_set_perm(e, member.directory ? 0755 : 0644);
  archive_entry_set_mtime(e, member.mtime, 0);
  archive_entry_set_size(e, member.directory ? 0 : static_cast<la_int64_t>(file_size(member.source)));
  if (archive_write_header(out.get(), e) != ARCHIVE_OK) out.fail();
  if (!member.directory) copy_file(out, member.source);
}

/// A hashing stream into the new file at `path`, with an entry to fill.
struct NewFile {
  NewFile(const std::string& path, const std::string& shown)
      : out(create_file(path), shown, /*hash=*/true, ArchiveStream::Abort::fail_then_close) {
    if (!entry) throw Error("libarchive: out of memory");
  }

  /// Ends the archive, flushes it to disk; its size and digest.
  WrittenFile finish() {
    out.finish();
    return {out.written(), out.sha256_hex()};
  }

  ArchiveStream out;
  UniqueEntry entry = make_entry();
};

}  // namespace

std::string format_from_path(const std::string& path) {
  if (path.empty() || path.back() == '/') return "dir";
  std::string_view name = base_name(path);
  std::string low = lower(name);
  for (const Extension& ext : kExtensions)
    if (low.size() > ext.suffix.size() && low.ends_with(ext.suffix)) return std::string(ext.format);
  std::string_view foreign = foreign_extension(name);
  if (!foreign.empty())
    throw Error(path + ": unknown archive extension '" + std::string(foreign) + "' (use --format: " +
                std::string(kFormatList) + ")");
  return "dir";
}

void check_output_target(const std::string& path, const std::string& format, const std::vector<std::string>& inputs) {
  namespace fs = std::filesystem;
  SplitPath split = split_output(path);
  std::error_code ec;
  // The parent resolved, the name not: an output that is a symlink is itself replaced, not what it names.
  fs::path target = fs::weakly_canonical(fs::absolute(split.dir, ec), ec) / split.name;
  for (const std::string& input : inputs) {
    fs::path in = fs::weakly_canonical(fs::absolute(input, ec), ec);
    if (ec || in.empty()) continue;
    auto [t, i] = std::mismatch(target.begin(), target.end(), in.begin(), in.end());
    if (t != target.end()) continue;
    if (i == in.end()) throw Error(path + ": not replaced: it is " + input + ", an input of this run");
    throw Error(path + ": not replaced: it holds " + input + ", an input of this run (choose an output outside it)");
  }
  check_replaceable(AT_FDCWD, joined(split), format, path);
  struct stat st;
  if (::stat(split.dir.c_str(), &st) != 0) {
    if (errno != ENOENT) throw_system_error(split.dir + ": cannot use as the output's directory");
    fs::create_directories(split.dir, ec);
    if (ec) throw Error(system_error_message(split.dir + ": cannot create the output's directory", ec.value()));
  } else if (!S_ISDIR(st.st_mode)) {
    throw Error(split.dir + ": not a directory (the output's parent)");
  }
  if (faccessat(AT_FDCWD, split.dir.c_str(), W_OK | X_OK, AT_EACCESS) != 0)
    throw_system_error(split.dir + ": cannot write the bundle there");
}

std::string failed_output_path(const std::string& path) {
  std::string trimmed = path;
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
  return trimmed + ".failed";
}

StagedBundle::StagedBundle(const std::string& output) {
  SplitPath split = split_output(output);
  path_ = joined({split.dir, "." + split.name + ".staging." + random_suffix()});
}

StagedBundle::~StagedBundle() {
  if (!published_) remove_tree(AT_FDCWD, path_);
}

void StagedBundle::publish(const std::string& target) {
  SplitPath split = split_output(target);
  put_in_place(AT_FDCWD, path_, joined(split), target);
  published_ = true;
}

WriteResult write_bundle(const BundlePlan& plan, const WriteOptions& options) {
  if (options.path.empty()) throw Error("bundle: no output path");
  std::string name = options.format.empty() ? format_from_path(options.path) : options.format;
  if (is_image_format(name)) return write_image(plan, options);  // its layer comes back here as "tar"
  Format format = parse_format(name);
  Ordered entries = check_plan(plan, format);
  SourceTree source(options.source_root);
  std::vector<char> buffer(kChunkSize);
  std::unique_ptr<Sink> sink = open_sink(format, options);
  BundleWriter writer(options, source, *sink, buffer);
  writer.write_entries(entries);
  writer.write_manifest(std::string(format_name(format)), plan);
  WriteResult result = writer.result();
  result.output_bytes = sink->commit();
  return result;
}

WrittenFile write_plain_tar(const std::string& path, const std::vector<TarMember>& members, const std::string& shown) {
  NewFile file(path, shown);
  archive_write_set_format_pax_restricted(file.out.get());
  archive_write_set_bytes_in_last_block(file.out.get(), 1);
  file.out.open();
  for (const TarMember& member : members) add_member(file.out, file.entry.get(), member);
  return file.finish();
}

WrittenFile compress_file(const std::string& source, const std::string& target, const Compression& how,
                          const std::string& shown) {
  NewFile file(target, shown);
  archive* a = file.out.get();
  archive_write_set_format_raw(a);
  const char* filter = how.compressor == Compressor::gzip ? "gzip" : "zstd";
  add_filter(a, filter, how.reproducible, how.threads);
  std::string level = std::to_string(how.level);
  if (how.level >= 0 && archive_write_set_filter_option(a, filter, "compression-level", level.c_str()) != ARCHIVE_OK)
    file.out.fail();
  archive_write_set_bytes_in_last_block(a, 1);
  file.out.open();
  add_member(file.out, file.entry.get(), {"layer", /*directory=*/false, source, 0});
  return file.finish();
}

}  // namespace tracepack

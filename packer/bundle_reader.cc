// read_bundle: a bundle's entries and manifest, from a directory or an archive.
//
// An archive is read in one pass with an ArchiveReader (archive_reader.h:
// every filter and format libarchive knows, so tar, tar.gz, tar.zst, tar.xz,
// zip and cpio alike): each header becomes a BundleEntry with its member name
// made absolute ("usr/bin/env" -> "/usr/bin/env"), and the data of
// ".tracepack/manifest.json" is kept for parse_manifest (manifest_reader.h);
// other members' data is skipped unread. The format is named from the
// archive's format and outermost filter once the first header is read. A
// directory bundle is walked below an O_PATH descriptor with
// fstatat/openat (no path grows with the depth); a regular file whose inode
// was met earlier in path order is recorded as a hard link to that path,
// which is how write_bundle made it. A container image (an OCI layout, an
// oci-archive or a docker-archive) is unpacked by open_base_image into a
// scratch directory, removed afterwards, and walked like a directory.
#include "tracepack/bundle_reader.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <tuple>
#include <utility>

#include "archive_reader.h"
#include "json_field.h"
#include "tracepack/atomic_file.h"
#include "tracepack/base_image.h"
#include "tracepack/error.h"
#include "tracepack/image_reader.h"
#include "tracepack/posix.h"

namespace tracepack {
namespace {

constexpr std::string_view kManifestPath = "/.tracepack/manifest.json";
constexpr std::string_view kManifestDir = "/.tracepack";

/// Below ".tracepack/": the manifest and the SBOMs (sbom.h), no bundle entries.
bool in_manifest_dir(std::string_view path) { return path.starts_with("/.tracepack/"); }
constexpr std::uint64_t kMaxManifestBytes = 1ull << 30;

/// The manifest's "warnings" list (parse_manifest, which has accepted
/// `text`, leaves it out).
std::vector<std::string> manifest_warnings(std::string_view text, const std::string& name) {
  std::optional<nlohmann::json> doc = parse_json(text);
  if (!doc) return {};
  return JsonField(*doc, name).get_or("warnings", std::vector<std::string>(), &JsonField::strings);
}

// ---------------------------------------------------------------------------
// Archives

/// Any archive; every error "<path>: cannot read the bundle: <why>".
constexpr ArchiveReadOptions kReading{
    .skip_damaged_headers = true,
    .open_error = "cannot read the bundle: ",
    .header_error = "cannot read the bundle: ",
    .data_error = "cannot read the bundle: ",
};

/// "./usr/bin/" -> "/usr/bin"; "" and "." -> "/".
PathBytes absolute_member(std::string_view name) {
  while (name.starts_with("./")) name.remove_prefix(2);
  while (!name.empty() && name.back() == '/') name.remove_suffix(1);
  if (name == "." || name.empty()) return "/";
  return name.starts_with('/') ? PathBytes(name) : "/" + PathBytes(name);
}

BundleEntry entry_of(const ArchiveMember& m) {
  BundleEntry e;
  e.path = absolute_member(m.name);
  e.type = m.kind == MemberKind::directory ? EntryType::directory : m.kind == MemberKind::symlink ? EntryType::symlink : EntryType::regular;
  e.mode = m.mode;
  e.size = static_cast<std::uint64_t>(m.size);
  e.link_target = m.link_target;
  if (m.hardlink) e.hardlink_to = absolute_member(*m.hardlink);
  return e;
}

std::string read_manifest_data(ArchiveReader& reader, const std::string& path) {
  std::optional<std::string> data = reader.read_data(kMaxManifestBytes);
  if (!data) throw Error(path + ": manifest larger than 1 GiB");
  return std::move(*data);
}

/// Reads every header of an archive, and the manifest's bytes into `manifest`.
BundleContents read_archive(const std::string& path, std::string& manifest) {
  ArchiveReader reader(path, kReading);
  BundleContents out;
  ArchiveMember member;
  while (reader.next(member)) {
    if (out.format.empty()) out.format = reader.format_name();
    BundleEntry e = entry_of(member);
    if (e.path == kManifestPath)
      manifest = read_manifest_data(reader, path);
    else if (e.path != kManifestDir && e.path != "/" && !in_manifest_dir(e.path))
      out.entries.push_back(std::move(e));
  }
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) out.output_bytes = static_cast<std::uint64_t>(st.st_size);
  if (out.format.empty()) out.format = reader.format_name();
  return out;
}

// ---------------------------------------------------------------------------
// Directories

struct Inode {
  dev_t device;
  ino_t inode;
  bool operator<(const Inode& o) const { return std::tie(device, inode) < std::tie(o.device, o.inode); }
};

class DirectoryWalker {
 public:
  DirectoryWalker(const std::string& root, std::string& manifest) : root_(root), manifest_(manifest) {}

  std::vector<BundleEntry> walk(int dirfd) {
    visit(dirfd, "");
    std::sort(entries_.begin(), entries_.end(), [](const BundleEntry& a, const BundleEntry& b) { return a.path < b.path; });
    mark_hardlinks();
    return std::move(entries_);
  }

 private:
  void visit(int dirfd, const PathBytes& prefix) {
    UniqueFd fd(openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    DIR* dir = fd.get() < 0 ? nullptr : fdopendir(dup(fd.get()));
    if (dir == nullptr) throw_system_error(encode_path(root_ + prefix) + ": cannot list");
    std::vector<std::string> names;
    while (const dirent* d = readdir(dir))
      if (std::string_view(d->d_name) != "." && std::string_view(d->d_name) != "..") names.emplace_back(d->d_name);
    closedir(dir);
    for (const std::string& name : names) add(fd.get(), prefix + "/" + name, name);
  }

  void add(int dirfd, const PathBytes& path, const std::string& name) {
    struct stat st;
    if (fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) throw_system_error(encode_path(root_ + path) + ": cannot stat");
    if (path == kManifestPath) return keep_manifest(dirfd, name);
    BundleEntry e;
    e.path = path;
    e.mode = st.st_mode & 07777;
    if (S_ISDIR(st.st_mode)) {
      e.type = EntryType::directory;
      UniqueFd child(openat(dirfd, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (child.get() < 0) throw_system_error(encode_path(root_ + path) + ": cannot open");
      visit(child.get(), path);
    } else if (S_ISLNK(st.st_mode)) {
      e.type = EntryType::symlink;
      e.link_target = read_link(dirfd, name, path);
    } else {
      e.size = static_cast<std::uint64_t>(st.st_size);
      if (st.st_nlink > 1) inodes_.emplace(e.path, Inode{st.st_dev, st.st_ino});
    }
    if (path != kManifestDir && !in_manifest_dir(path)) entries_.push_back(std::move(e));
  }

  PathBytes read_link(int dirfd, const std::string& name, const PathBytes& path) const {
    std::string target(4096, '\0');
    ssize_t n = readlinkat(dirfd, name.c_str(), target.data(), target.size());
    if (n < 0) throw_system_error(encode_path(root_ + path) + ": cannot read the link");
    target.resize(static_cast<std::size_t>(n));
    return target;
  }

  void keep_manifest(int dirfd, const std::string& name) {
    UniqueFd fd(openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (fd.get() < 0) throw_system_error(root_ + std::string(kManifestPath) + ": cannot open");
    char buffer[64 * 1024];
    for (;;) {
      ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw_system_error(root_ + std::string(kManifestPath) + ": cannot read");
      if (n == 0) return;
      if (manifest_.size() + static_cast<std::size_t>(n) > kMaxManifestBytes) throw Error(root_ + ": manifest larger than 1 GiB");
      manifest_.append(buffer, static_cast<std::size_t>(n));
    }
  }

  // The first path of an inode (in path order) holds the data; later ones link to it.
  void mark_hardlinks() {
    std::map<Inode, PathBytes> first;
    for (BundleEntry& e : entries_) {
      auto it = inodes_.find(e.path);
      if (it == inodes_.end()) continue;
      auto [holder, inserted] = first.emplace(it->second, e.path);
      if (!inserted) {
        e.hardlink_to = holder->second;
        e.size = 0;
      }
    }
  }

  std::string root_;
  std::string& manifest_;
  std::vector<BundleEntry> entries_;
  std::map<PathBytes, Inode> inodes_;
};

}  // namespace

namespace {

/// Whether an archive's members are an image's (an OCI layout's "oci-layout",
/// a docker-archive's "manifest.json") rather than a bundle's.
bool holds_an_image(const BundleContents& archive) {
  return std::any_of(archive.entries.begin(), archive.entries.end(),
                     [](const BundleEntry& e) { return e.path == "/oci-layout" || e.path == "/manifest.json"; });
}

/// The bytes of the files below `dir` (an image layout's size).
std::uint64_t tree_bytes(const std::string& dir) {
  std::error_code ec;
  std::uint64_t bytes = 0;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec); !ec && it != std::filesystem::recursive_directory_iterator();
       it.increment(ec))
    if (it->is_regular_file(ec)) bytes += it->file_size(ec);
  return bytes;
}

/// The image at `path` unpacked as open_base_image does, and its file
/// system walked as a directory bundle.
BundleContents read_image(const std::string& path, std::uint64_t output_bytes, std::string& manifest) {
  const char* tmpdir = std::getenv("TMPDIR");
  std::string prefix = std::string(tmpdir != nullptr && *tmpdir == '/' ? tmpdir : "/tmp") + "/tracepack-image.";
  AtomicFile scratch(AT_FDCWD, prefix, AtomicFile::Kind::directory, prefix + "XXXXXX: cannot create a directory to read the image in");
  BaseImage image = open_base_image(path, scratch.name());
  UniqueFd fd(::open(image.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) throw_system_error(image.root + ": cannot open the image's file system");
  BundleContents out;
  out.format = image.kind == "oci-layout" ? "oci" : image.kind;
  out.output_bytes = output_bytes;
  out.entries = DirectoryWalker(image.root, manifest).walk(fd.get());
  return out;
}

}  // namespace

BundleContents read_bundle(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) throw_system_error(path + ": cannot read the bundle");
  std::string manifest;
  BundleContents out;
  if (S_ISDIR(st.st_mode) && is_image_layout(path)) {
    out = read_image(path, tree_bytes(path), manifest);
  } else if (S_ISDIR(st.st_mode)) {
    UniqueFd fd(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0) throw_system_error(path + ": cannot open the bundle");
    out.format = "dir";
    out.entries = DirectoryWalker(path, manifest).walk(fd.get());
  } else {
    out = read_archive(path, manifest);
    if (manifest.empty() && holds_an_image(out)) out = read_image(path, static_cast<std::uint64_t>(st.st_size), manifest);
    std::sort(out.entries.begin(), out.entries.end(), [](const BundleEntry& a, const BundleEntry& b) { return a.path < b.path; });
  }
  if (manifest.empty()) throw Error(path + ": not a tracepack bundle (no .tracepack/manifest.json)");
  std::string name = path + ":.tracepack/manifest.json";
  out.manifest = parse_manifest(manifest, name);
  out.warnings = manifest_warnings(manifest, name);
  return out;
}

}  // namespace tracepack

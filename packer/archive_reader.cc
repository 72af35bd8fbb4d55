// ArchiveReader and ArchiveExtractor: every archive packer/ reads goes through
// here, the only reader of libarchive.
//
// A reader opens the file with every filter libarchive knows and either every
// format or only those tracepack writes (tar, zip, cpio), in 64 KiB blocks.
// With an observer it reads the file itself (read_block), with no skip
// callback, so that libarchive asks for every byte in order and the observer
// (a digest) sees each block once as it streams in.
// next() reads one header and copies what the callers use into a plain
// ArchiveMember; libarchive skips the data of a member nobody asked for.
// libarchive's statuses are folded in one place: ARCHIVE_WARN is success,
// ARCHIVE_RETRY (a damaged tar header, already consumed) is either skipped or
// an error as the caller chose, and anything lower is an error, worded with
// the caller's prefix for that step. The extractor writes the reader's current
// header to disk with the names the caller checked, prefixed with the
// destination, and copies the data block by block (holes stay holes).
// ARCHIVE_EXTRACT_SECURE_SYMLINKS is what stops a write through a symlink an
// earlier member made; _NODOTDOT repeats the caller's ".." check.
#include "archive_reader.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "tracepack/error.h"
#include "tracepack/trace.h"

namespace tracepack {

std::string_view trimmed_member_name(std::string_view name) {
  while (name.starts_with("./")) name.remove_prefix(2);
  if (name == ".") return {};
  while (!name.empty() && name.back() == '/') name.remove_suffix(1);
  return name;
}

std::string unsafe_member_name(std::string_view name, std::string_view destination) {
  if (name.starts_with('/')) return "absolute path";
  std::size_t at = 0;
  while (at <= name.size()) {
    std::size_t slash = name.find('/', at);
    if (slash == std::string_view::npos) slash = name.size();
    if (name.substr(at, slash - at) == "..") return "path leads outside the " + std::string(destination) + " (\"..\")";
    at = slash + 1;
  }
  return "";
}
namespace {

constexpr std::size_t kBlockSize = 64 * 1024;

/// libarchive's last message for `a`, or `unknown`; its first letter lowered on request.
std::string message_of(archive* a, std::string_view unknown, bool lower_case) {
  const char* text = archive_error_string(a);
  std::string message = text != nullptr ? text : std::string(unknown);
  if (lower_case && !message.empty() && message[0] >= 'A' && message[0] <= 'Z') message[0] = static_cast<char>(message[0] - 'A' + 'a');
  return message;
}

/// A caller's prefix ("cannot read: ") without its ": ", for throw_system_error.
std::string step(std::string_view prefix) { return std::string(prefix.substr(0, prefix.find_last_not_of(": ") + 1)); }

MemberKind kind_of(mode_t type) {
  switch (type) {
    case AE_IFREG:
      return MemberKind::regular;
    case AE_IFDIR:
      return MemberKind::directory;
    case AE_IFLNK:
      return MemberKind::symlink;
    default:
      return MemberKind::other;
  }
}

ArchiveMember member_of(archive_entry* h) {
  ArchiveMember m;
  if (const char* name = archive_entry_pathname(h)) m.name = name;
  m.kind = kind_of(archive_entry_filetype(h));
  m.mode = archive_entry_perm(h) & 07777;
  m.size = archive_entry_size_is_set(h) ? archive_entry_size(h) : 0;
  if (const char* target = archive_entry_symlink(h)) m.link_target = target;
  if (const char* link = archive_entry_hardlink(h)) m.hardlink = link;
  return m;
}

}  // namespace

void LibarchiveFree::operator()(archive* a) const { archive_free(a); }

// ---------------------------------------------------------------------------
// ArchiveReader

ArchiveReader::ArchiveReader(const std::string& path, const ArchiveReadOptions& options, ByteObserver observe)
    : path_(path), options_(options), observe_(std::move(observe)), archive_(archive_read_new()) {
  if (!archive_) throw Error("libarchive: out of memory");
  archive_read_support_filter_all(archive_.get());
  if (options_.only_bundle_formats) {
    archive_read_support_format_tar(archive_.get());
    archive_read_support_format_zip(archive_.get());
    archive_read_support_format_cpio(archive_.get());
  } else {
    archive_read_support_format_all(archive_.get());
  }
  if (!observe_) {
    if (archive_read_open_filename(archive_.get(), path_.c_str(), kBlockSize) != ARCHIVE_OK) fail(options_.open_error);
    return;
  }
  fd_ = UniqueFd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd_.get() < 0) throw_system_error(path_ + ": " + step(options_.open_error));
  buffer_ = std::make_unique<char[]>(kBlockSize);
  if (archive_read_open(archive_.get(), this, nullptr, &ArchiveReader::read_block, nullptr) != ARCHIVE_OK) fail(options_.open_error);
}

ArchiveReader::ArchiveReader(const std::string& path, const ArchiveReadOptions& options) : ArchiveReader(path, options, nullptr) {}

ssize_t ArchiveReader::read_block(archive* a, void* self, const void** block) {
  auto* reader = static_cast<ArchiveReader*>(self);
  ssize_t n;
  do n = ::read(reader->fd_.get(), reader->buffer_.get(), kBlockSize);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    archive_set_error(a, errno, "%s", std::strerror(errno));
    return -1;
  }
  if (n > 0) reader->observe_(reader->buffer_.get(), static_cast<std::size_t>(n));
  *block = reader->buffer_.get();
  return n;
}

void ArchiveReader::read_rest() {
  if (!observe_) return;
  for (;;) {
    ssize_t n = ::read(fd_.get(), buffer_.get(), kBlockSize);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_system_error(path_ + ": " + step(options_.data_error));
    if (n == 0) return;
    observe_(buffer_.get(), static_cast<std::size_t>(n));
  }
}

bool ArchiveReader::compressed() const { return archive_filter_code(archive_.get(), 0) != ARCHIVE_FILTER_NONE; }

bool ArchiveReader::next(ArchiveMember& member) {
  for (;;) {
    int status = archive_read_next_header(archive_.get(), &entry_);
    if (status == ARCHIVE_EOF) return false;
    if (status == ARCHIVE_RETRY && options_.skip_damaged_headers) continue;
    if (status != ARCHIVE_OK && status != ARCHIVE_WARN) fail(options_.header_error);
    member = member_of(entry_);
    return true;
  }
}

std::optional<std::string> ArchiveReader::read_data(std::uint64_t limit) {
  std::string data;
  char buffer[kBlockSize];
  for (;;) {
    la_ssize_t n = archive_read_data(archive_.get(), buffer, sizeof buffer);
    if (n < 0) fail(options_.data_error);
    if (n == 0) return data;
    if (data.size() + static_cast<std::uint64_t>(n) > limit) return std::nullopt;
    data.append(buffer, static_cast<std::size_t>(n));
  }
}

std::string ArchiveReader::format_name() const {
  int format = archive_format(archive_.get()) & ARCHIVE_FORMAT_BASE_MASK;
  if (format == ARCHIVE_FORMAT_ZIP) return "zip";
  if (format == ARCHIVE_FORMAT_CPIO) return "cpio";
  switch (archive_filter_code(archive_.get(), 0)) {
    case ARCHIVE_FILTER_GZIP:
      return "tar.gz";
    case ARCHIVE_FILTER_ZSTD:
      return "tar.zst";
    case ARCHIVE_FILTER_XZ:
      return "tar.xz";
    default:
      return "tar";
  }
}

void ArchiveReader::fail(std::string_view prefix) const {
  throw Error(path_ + ": " + std::string(prefix) + message_of(archive_.get(), options_.unknown_error, options_.lower_case));
}

void read_decompressed(const std::string& path, const ArchiveReadOptions& options, const ByteObserver& observe) {
  std::unique_ptr<archive, LibarchiveFree> a(archive_read_new());
  if (!a) throw Error("libarchive: out of memory");
  auto fail = [&](std::string_view prefix) {
    throw Error(path + ": " + std::string(prefix) + message_of(a.get(), options.unknown_error, options.lower_case));
  };
  archive_read_support_filter_all(a.get());
  archive_read_support_format_raw(a.get());
  if (archive_read_open_filename(a.get(), path.c_str(), kBlockSize) != ARCHIVE_OK) fail(options.open_error);
  archive_entry* entry;
  int status = archive_read_next_header(a.get(), &entry);
  if (status == ARCHIVE_EOF) return;
  if (status != ARCHIVE_OK && status != ARCHIVE_WARN) fail(options.header_error);
  const void* block;
  std::size_t size;
  la_int64_t offset;
  for (;;) {
    status = archive_read_data_block(a.get(), &block, &size, &offset);
    if (status == ARCHIVE_EOF) return;
    if (status != ARCHIVE_OK && status != ARCHIVE_WARN) fail(options.data_error);
    observe(block, size);
  }
}

// ---------------------------------------------------------------------------
// ArchiveExtractor

ArchiveExtractor::ArchiveExtractor(std::string dest, std::string archive_path)
    : dest_(std::move(dest)), archive_path_(std::move(archive_path)), disk_(archive_write_disk_new()) {
  if (!disk_) throw Error("libarchive: out of memory");
  int flags = ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT;
  if (geteuid() == 0) flags |= ARCHIVE_EXTRACT_OWNER;
  archive_write_disk_set_options(disk_.get(), flags);
}

void ArchiveExtractor::extract(ArchiveReader& reader, std::string_view name, const std::optional<std::string_view>& hardlink_to) {
  archive_entry* entry = reader.entry_;
  if (hardlink_to) archive_entry_copy_hardlink(entry, (dest_ + "/" + std::string(*hardlink_to)).c_str());
  archive_entry_copy_pathname(entry, (dest_ + "/" + std::string(name)).c_str());
  if (archive_write_header(disk_.get(), entry) != ARCHIVE_OK)
    throw Error(archive_path_ + ": entry '" + encode_path(name) + "' refused: " + error(/*strip_dest=*/true));
  if (archive_entry_size(entry) > 0) copy_data(reader);
  if (archive_write_finish_entry(disk_.get()) != ARCHIVE_OK)
    throw Error(archive_path_ + ": cannot extract: " + error(/*strip_dest=*/false));
}

void ArchiveExtractor::close() {
  if (archive_write_close(disk_.get()) != ARCHIVE_OK) throw Error(archive_path_ + ": cannot extract: " + error(/*strip_dest=*/false));
}

std::string ArchiveExtractor::error(bool strip_dest) const {
  std::string message = message_of(disk_.get(), "unknown error", /*lower_case=*/false);
  if (strip_dest)
    for (std::size_t at; (at = message.find(dest_ + "/")) != std::string::npos;) message.erase(at, dest_.size() + 1);
  if (!message.empty() && message[0] >= 'A' && message[0] <= 'Z') message[0] = static_cast<char>(message[0] - 'A' + 'a');
  return message;
}

void ArchiveExtractor::copy_data(ArchiveReader& reader) {
  const void* block;
  std::size_t size;
  la_int64_t offset;
  for (;;) {
    int status = archive_read_data_block(reader.archive_.get(), &block, &size, &offset);
    if (status == ARCHIVE_EOF) return;
    if (status != ARCHIVE_OK) reader.fail(reader.options_.data_error);
    if (archive_write_data_block(disk_.get(), block, size, offset) != ARCHIVE_OK)
      throw Error(archive_path_ + ": cannot extract: " + error(/*strip_dest=*/false));
  }
}

}  // namespace tracepack

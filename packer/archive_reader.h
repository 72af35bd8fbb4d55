// Reading archives, the one place in packer/ that does it with libarchive
// (archive_reader.cc; the only writer is archive_writer.cc).
// An ArchiveReader walks the members of an archive file and hands out each
// header as plain data and, on request, the member's bytes; an
// ArchiveExtractor writes members below a directory with libarchive's secure
// extraction. Internal to packer/: read_manifest, read_bundle and
// extract_bundle are built on it, and each keeps its own wording of errors.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <sys/types.h>

#include "tracepack/posix.h"

struct archive;        // libarchive's handle, opaque outside archive_reader.cc
struct archive_entry;  // libarchive's header

namespace tracepack {

/// What a member's header says it is.
enum class MemberKind {
  regular,
  directory,
  symlink,
  other,  ///< devices, FIFOs, sockets, and no type at all (a tar hard link)
};

/// One member's header, as the archive stores it: nothing is made absolute,
/// trimmed or checked.
struct ArchiveMember {
  std::string name;                     ///< raw bytes ("usr/bin/env", "./usr/"); "" when the header has none
  MemberKind kind = MemberKind::other;  ///< a hard link's own kind is unset (tar) or its target's (cpio)
  std::uint32_t mode = 0;               ///< permission bits (07777)
  std::int64_t size = 0;                ///< bytes of data stored with it; 0 when the header has no size
  std::string link_target;              ///< symlinks: the target; "" for others
  std::optional<std::string> hardlink;  ///< a hard link: the name of the member it links to, raw
};

/// A member's name without leading "./" and trailing '/'; "" for the root
/// entry itself ("./", ".", "/"). The view points into `name`.
std::string_view trimmed_member_name(std::string_view name);

/// Why a trimmed member name cannot be written below a directory, or "":
/// "absolute path", or "path leads outside the <destination> (\"..\")".
std::string unsafe_member_name(std::string_view name, std::string_view destination);

/// How an ArchiveReader reads, and how it words its errors, so that each
/// caller keeps its own messages: every error is "<path>: <prefix><why>",
/// where <why> is libarchive's message (or `unknown_error` when it has none)
/// and <prefix> the one for the step that failed. The texts are not copied:
/// they must outlive the reader (string literals do).
struct ArchiveReadOptions {
  bool only_bundle_formats = false;                             ///< tar, zip and cpio only (behind any filter); false: every format
  bool skip_damaged_headers = false;                            ///< a damaged header (ARCHIVE_RETRY) is passed over; false: an error
  std::string_view open_error;                                  ///< the file cannot be opened (not an archive, cannot be read)
  std::string_view header_error;                                ///< a header cannot be read
  std::string_view data_error;                                  ///< a member's data cannot be read
  std::string_view unknown_error = "unknown libarchive error";  ///< <why> when libarchive gives none
  bool lower_case = false;                                      ///< lower-case the first letter of libarchive's message
};

/// Called with each block of bytes as it is read: `size` bytes at `data`.
using ByteObserver = std::function<void(const void* data, std::size_t size)>;

/// Frees a libarchive handle (read or write) when its owner is destroyed.
struct LibarchiveFree {
  void operator()(archive* a) const;
};

/// An archive file open for reading, one member at a time, in the order
/// stored. Every filter libarchive knows is accepted (gzip, zstd, xz, ...).
class ArchiveReader {
 public:
  /// Opens the archive at `path`. Throws Error (worded by `options`: their
  /// open_error) when it cannot, "libarchive: out of memory" without memory.
  ArchiveReader(const std::string& path, const ArchiveReadOptions& options);
  /// The same, reading the file itself and handing every byte read from it
  /// (compressed, as stored) to `observe`, in order, each once: libarchive
  /// skips nothing by seeking, so that with read_rest() the observer sees the
  /// whole file. Throws as above, and Error "<path>: <open_error><strerror>"
  /// when the file cannot be opened.
  ArchiveReader(const std::string& path, const ArchiveReadOptions& options, ByteObserver observe);
  ArchiveReader(const ArchiveReader&) = delete;
  ArchiveReader& operator=(const ArchiveReader&) = delete;

  /// Reads the next member's header into `member`; false at the end of the
  /// archive (then `member` is unchanged). The previous member's unread data
  /// is skipped. Throws Error (header_error).
  bool next(ArchiveMember& member);

  /// The current member's data, or nullopt when it is longer than `limit`
  /// bytes (then reading stops there). Throws Error (data_error).
  std::optional<std::string> read_data(std::uint64_t limit);

  /// "tar", "tar.gz", "tar.zst", "tar.xz", "zip" or "cpio", from the format
  /// and the outermost filter; known once the first header has been read
  /// (before that, or for an archive that is not zip or cpio: a tar name).
  std::string format_name() const;

  /// Whether the archive is behind a filter (gzip, zstd, xz...); known once
  /// the first header has been read.
  bool compressed() const;

  /// With an observer: reads what libarchive has not read of the file (what
  /// follows the end-of-archive blocks, or all that follows a failure) and
  /// hands it to the observer. Throws Error "<path>: <data_error><strerror>".
  void read_rest();

 private:
  friend class ArchiveExtractor;

  /// Throws Error("<path>: <prefix><why>").
  [[noreturn]] void fail(std::string_view prefix) const;
  /// libarchive's read callback when there is an observer.
  static ssize_t read_block(archive* a, void* self, const void** block);

  std::string path_;
  ArchiveReadOptions options_;
  UniqueFd fd_;  ///< with an observer: the file, read by read_block
  ByteObserver observe_;
  std::unique_ptr<char[]> buffer_;                    ///< with an observer: the block read_block hands out
  std::unique_ptr<archive, LibarchiveFree> archive_;  ///< freed first: it uses the above
  archive_entry* entry_ = nullptr;                    ///< the current header, owned by archive_
};

/// Reads the file `path` through every filter libarchive knows (gzip, zstd,
/// xz...; none for a plain file) and hands its decompressed bytes to
/// `observe`, in order. Throws Error worded by `options` (open_error for the
/// file, data_error for its content).
void read_decompressed(const std::string& path, const ArchiveReadOptions& options, const ByteObserver& observe);

/// Writes archive members below a directory through libarchive's disk writer,
/// with its secure options: it refuses to write through a symlink that an
/// earlier member made, and any name holding "..". Modes, symlinks, hard
/// links and mtimes are kept, owners too when running as root.
class ArchiveExtractor {
 public:
  /// Extracts into `dest`, an existing directory whose path holds no symlink
  /// (as realpath gives it); `archive_path` names the archive in messages.
  /// Throws Error("libarchive: out of memory").
  ArchiveExtractor(std::string dest, std::string archive_path);
  ArchiveExtractor(const ArchiveExtractor&) = delete;
  ArchiveExtractor& operator=(const ArchiveExtractor&) = delete;

  /// Writes the current member of `reader` (read from the archive this
  /// extractor names) as dest/`name`, or, when `hardlink_to` is given, as a
  /// hard link to dest/`hardlink_to`; a regular file's data is copied from
  /// `reader`. Both names must already be checked: relative, no "..".
  /// Throws Error "<archive>: entry '<name>' refused: <why>" when libarchive
  /// refuses the member (a symlink on the way), "<archive>: cannot extract:
  /// <why>" when it cannot be written, and the reader's data_error.
  void extract(ArchiveReader& reader, std::string_view name, const std::optional<std::string_view>& hardlink_to);

  /// Finishes the extraction (libarchive sets directories' modes and times
  /// last). Throws Error "<archive>: cannot extract: <why>".
  void close();

 private:
  /// The disk writer's message, lower-cased; with `strip_dest`, "<dest>/"
  /// is left out of the paths it names.
  std::string error(bool strip_dest) const;
  /// Copies the current member's data from `reader` to disk, block by block.
  void copy_data(ArchiveReader& reader);

  std::string dest_;
  std::string archive_path_;
  std::unique_ptr<archive, LibarchiveFree> disk_;
};

}  // namespace tracepack

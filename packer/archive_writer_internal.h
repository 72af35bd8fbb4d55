// Archive files for the other writers of packer/, in plain data: the outer
// tar of the image archives and the compressed copy of an image layer
// (oci_writer.cc); and the one way every writer puts its output in place. archive_writer.cc implements them with the same libarchive
// writer as the bundle formats, so it stays the only file that writes
// through libarchive. Internal to packer/.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tracepack {

/// The annotation of index.json that marks an image layout tracepack wrote
/// (and may therefore replace): {"tracepack.writer": "tracepack"}.
inline constexpr const char* kLayoutAnnotation = "tracepack.writer";

/// Throws Error when `target` (a name in the directory `dirfd`, or a path
/// with AT_FDCWD) exists and may not be replaced by a bundle of `format`
/// ("dir" and "oci" are directories, the others files): see
/// check_output_target. `shown` names the output in messages.
void check_replaceable(int dirfd, const std::string& target, std::string_view format, const std::string& shown);

/// Puts the finished output `temp` in place as `target` (names in `dirfd`,
/// or paths with AT_FDCWD), after check_replaceable: a rename when nothing is
/// there, else an exchange (RENAME_EXCHANGE) and the previous output removed;
/// where the file system cannot exchange, the previous output is moved aside
/// first and moved back if the second rename fails. Throws Error
/// "<shown>: cannot put the bundle in place: <why>"; `temp` is then left.
void put_in_place(int dirfd, const std::string& temp, const std::string& target, const std::string& shown);

/// One member of a tar written by write_plain_tar.
struct TarMember {
  std::string name;        ///< stored as given ("blobs/", "index.json")
  bool directory = false;  ///< a directory, mode 0755, no data; else a regular file, mode 0644
  std::string source;      ///< a regular file: the host file whose bytes it holds
  std::int64_t mtime = 0;
};

/// A file written below: its size and the SHA-256 of its bytes, both taken
/// from the bytes as they were written.
struct WrittenFile {
  std::uint64_t size = 0;
  std::string sha256;  ///< lower-case hex, no "sha256:" prefix
};

/// Writes `members`, in the order given, as a pax tar (plain ustar headers
/// while names fit; owner 0:0, no user or group names) into a new file at
/// `path`, which must not exist. The file ends with the end-of-archive
/// blocks, unpadded, and is flushed to disk. `shown` names the output in
/// messages. Throws Error "<path>: cannot open: <why>", "<source>: cannot
/// stat|open|read: <why>", "<shown>: cannot write: <why>" or "<shown>:
/// <libarchive's message>"; the partial file is the caller's to remove.
WrittenFile write_plain_tar(const std::string& path, const std::vector<TarMember>& members, const std::string& shown);

enum class Compressor { gzip, zstd };

/// How compress_file compresses.
struct Compression {
  Compressor compressor = Compressor::gzip;
  int level = -1;             ///< -1: the compressor's default; the caller checks the range
  unsigned threads = 0;       ///< zstd workers, at least 2; 0: one per CPU; never changes the output
  bool reproducible = false;  ///< gzip: header mtime 0 rather than the current time
};

/// Compresses the file at `source` into a new file at `target` (which must
/// not exist) as one gzip or zstd stream, flushed to disk. Throws Error like
/// write_plain_tar, and "<shown>: <libarchive's message>" when the level is
/// refused.
WrittenFile compress_file(const std::string& source, const std::string& target, const Compression& how,
                          const std::string& shown);

}  // namespace tracepack

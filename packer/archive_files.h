// The two files the image writer (oci_writer.cc) makes of other files, in
// plain data: the outer tar of the image archives and the compressed copy of
// an image layer. archive_sink.cc implements them with the same libarchive
// writer as the bundle formats, so that it stays the only file that writes
// through libarchive. Internal to packer/.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tracepack/posix.h"

namespace tracepack {

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
/// while names fit; owner 0:0, no user or group names) into `out`, a new
/// empty file open for writing (an AtomicFile's). The file ends with the
/// end-of-archive blocks, unpadded, and is flushed to disk and closed.
/// `shown` names the output in messages. Throws Error "<source>: cannot
/// stat|open|read: <why>", "<shown>: cannot write: <why>" or "<shown>:
/// <libarchive's message>"; the partial file is the caller's to remove.
WrittenFile write_plain_tar(UniqueFd out, const std::vector<TarMember>& members, const std::string& shown);

enum class Compressor { gzip, zstd };

/// How compress_file compresses.
struct Compression {
  Compressor compressor = Compressor::gzip;
  int level = -1;             ///< -1: the compressor's default; the caller checks the range
  unsigned threads = 0;       ///< zstd workers, at least 2; 0: one per CPU; never changes the output
  bool reproducible = false;  ///< gzip: header mtime 0 rather than the current time
};

/// Compresses the file at `source` into `out` (a new empty file open for
/// writing) as one gzip or zstd stream, flushed to disk and closed. Throws
/// Error like write_plain_tar, and "<shown>: <libarchive's message>" when the
/// level is refused.
WrittenFile compress_file(const std::string& source, UniqueFd out, const Compression& how, const std::string& shown);

}  // namespace tracepack

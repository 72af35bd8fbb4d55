// The receiving end of write_bundle's pass over the plan: a Sink takes the
// entries in order and makes them the output. Two implementations: an archive
// through libarchive (archive_sink.cc) and a directory tree (directory_sink.cc).
// Internal to packer/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "tracepack/bundle_writer.h"
#include "tracepack/trace.h"

namespace tracepack {

/// The size of the pieces regular files are read and written in.
inline constexpr std::size_t kChunkSize = 256 * 1024;

/// One entry as stored: relative name and the metadata the format records.
struct Item {
  std::string name;  ///< relative, no leading '/'; "" for the root
  EntryType type = EntryType::regular;
  std::uint32_t mode = 0;  ///< permission bits
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::int64_t mtime = 0;
  std::uint64_t size = 0;     ///< regular files with data
  PathBytes link_target;      ///< symlinks
  std::string hardlink_name;  ///< hard links: the relative name holding the data
  std::uint32_t ino = 0;      ///< cpio: hard links share it
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

/// A sink writing an archive of `format` ("tar", "tar.gz", "tar.zst",
/// "tar.xz", "zip" or "cpio") into a temporary file beside options.path,
/// after check_replaceable and the compression level were checked. Throws Error.
std::unique_ptr<Sink> open_archive_sink(std::string_view format, const WriteOptions& options);

/// A sink building a directory tree beside options.path. Throws Error.
std::unique_ptr<Sink> open_directory_sink(const WriteOptions& options);

}  // namespace tracepack

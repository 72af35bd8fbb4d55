// Applying an image's layers (tar archives, any compression) one after the
// other onto a directory, as overlayfs would stack them, without ever
// writing or deleting outside it. Internal to packer/ (base_image.cc).
#pragma once

#include <cstdint>
#include <string>

namespace tracepack {

/// What apply_layer read of a layer file.
struct LayerRead {
  std::string sha256;       ///< of every byte of the file, as stored: 64 lower-case hex digits
  std::uint64_t bytes = 0;  ///< the file's size, as read
  bool compressed = false;  ///< whether the tar is behind a filter (gzip, zstd...)
};

/// Applies the layer archive `layer` (named `shown` in messages) onto
/// `root`, an existing directory whose path holds no symlink (as realpath
/// gives it): entries are written with ArchiveExtractor (modes, times, hard
/// links, owners when root); a directory over a directory merges, anything
/// else replaces what was there (a whole tree included); ".wh.NAME" removes
/// NAME of the lower layers, ".wh..wh..opq" in D everything the lower layers
/// put in D (what this layer adds to D stays), and no whiteout file appears.
/// Device nodes, FIFOs and sockets are not created: each adds one to
/// `skipped`. Throws Error "<shown>: entry '<name>' refused: <why>" for an
/// absolute name, a "..", or a path through a symlink; "<shown>: cannot
/// read: <why>" for a damaged archive.
///
/// With `read`, the file is hashed as it streams into libarchive and `read`
/// is filled in: also when an Error is thrown, after the rest of the file has
/// been read, so that the caller can tell a damaged blob (its digest does not
/// match) from a badly made one.
void apply_layer(const std::string& layer, const std::string& shown, const std::string& root, std::uint64_t& skipped,
                 LayerRead* read = nullptr);

/// What a directory tree holds, walked without following symlinks.
struct TreeSize {
  std::uint64_t bytes = 0;  ///< the sizes of its regular files, each hard-linked inode once
  std::uint64_t files = 0;  ///< its regular files (each name of a hard-linked inode)
};

/// Walks `root`. Throws Error "<path>: cannot read: <strerror>".
TreeSize measure_tree(const std::string& root);

}  // namespace tracepack

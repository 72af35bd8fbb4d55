// Writing a BundlePlan as a directory or an archive (libarchive), atomically.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "tracepack/image_config.h"
#include "tracepack/plan.h"

namespace tracepack {

/// Where and how to write.
struct WriteOptions {
  std::string path;                           ///< output file or directory
  std::string format;                         ///< "dir", "tar", "tar.gz", "tar.zst", "tar.xz", "zip", "cpio",
                                              ///< "oci", "oci-archive", "docker-archive"; "" = from path
  int compression_level = -1;                 ///< -1 = the compressor's default
  unsigned compression_threads = 0;           ///< zstd and xz workers, at least 2; 0 = one per CPU; never changes the output
  bool reproducible = true;                   ///< sorted entries, owner 0:0, no atime/ctime, clamped mtimes
  std::optional<std::int64_t> source_date_epoch;  ///< mtimes above it are clamped to it (reproducible only)
  PathBytes source_root = "/";                ///< where the plan's paths are read from
  std::string bundle_name;                    ///< recorded in the manifest
  ImageConfig image;                          ///< the image formats only
};

/// What was written.
struct WriteResult {
  std::string format;
  std::uint64_t files = 0;       ///< regular files
  std::uint64_t directories = 0;
  std::uint64_t symlinks = 0;
  std::uint64_t hardlinks = 0;
  std::uint64_t bytes = 0;       ///< content bytes of regular files
  std::uint64_t output_bytes = 0;///< size of the archive written
  std::string image_digest;      ///< image formats: "sha256:..." of the image manifest
};

/// The format named by an output path's extension ("x.tar.zst" -> "tar.zst",
/// a path ending in '/' or without a known extension -> "dir"). Throws Error
/// for an unknown extension that looks like an archive.
std::string format_from_path(const std::string& path);

/// Writes every entry of `plan`, reading contents from options.source_root,
/// plus ".tracepack/manifest.json" (each entry's path, type, size, mode,
/// sha256, link target and reasons), computed while the contents stream (no
/// second pass). Output is atomic: written beside the target under a
/// temporary name and renamed at the end; on any error nothing partial remains
/// and a previous output is untouched. A file that vanished or changed type
/// since planning is an error naming it. Throws Error.
WriteResult write_bundle(const BundlePlan& plan, const WriteOptions& options);

}  // namespace tracepack

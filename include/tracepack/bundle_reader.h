// Reading a whole bundle back: every entry it holds (a directory or any
// archive format tracepack writes) and its ".tracepack/manifest.json", so
// that the two can be compared. (read_manifest, in manifest_reader.h, reads
// the manifest alone.) Read-only; only an image is unpacked, into a scratch
// directory removed before read_bundle returns.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tracepack/manifest_reader.h"
#include "tracepack/plan.h"

namespace tracepack {

/// One entry as the bundle itself stores it (the archive header, or lstat of
/// the file in a directory bundle).
struct BundleEntry {
  PathBytes path;  ///< absolute: "/usr/bin/env" for the member "usr/bin/env"
  EntryType type = EntryType::regular;
  std::uint64_t size = 0;  ///< bytes stored for a regular file (0 for a hard link in tar and cpio)
  std::uint32_t mode = 0;  ///< permission bits (07777)
  PathBytes link_target;   ///< symlink: its contents
  PathBytes hardlink_to;   ///< a hard link: the absolute path of the entry it links to
};

/// Everything read from a bundle.
struct BundleContents {
  std::string format;                 ///< "dir", "tar", "tar.gz", "tar.zst", "tar.xz", "zip" or "cpio"
  std::uint64_t output_bytes = 0;     ///< size of the archive file (0 for a directory)
  std::vector<BundleEntry> entries;   ///< sorted by path; ".tracepack/" itself is left out
  Manifest manifest;                  ///< parsed by parse_manifest (manifest_reader.h)
  std::vector<std::string> warnings;  ///< the manifest's "warnings" (empty when it has none)
};

/// Reads the bundle at `path`: a directory, an archive in any format
/// libarchive recognises, or a container image (an OCI layout directory, an
/// oci-archive or a docker-archive: format "oci", "oci-archive",
/// "docker-archive"), whose layers are unpacked as open_base_image does. Throws Error when it cannot be read, or when it has
/// no ".tracepack/manifest.json" (then it is not a tracepack bundle), and
/// for the manifest errors of parse_manifest.
BundleContents read_bundle(const std::string& path);

}  // namespace tracepack

// Which Debian package each file came from, from the dpkg database.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tracepack/plan.h"

namespace tracepack {

/// One package's share of a bundle.
struct PackageUsage {
  std::string package;
  std::uint64_t files_used = 0;  ///< regular files of the package in the bundle
  std::uint64_t bytes_used = 0;
  std::uint64_t files_installed = 0;  ///< regular files the package installed
  std::uint64_t bytes_installed = 0;  ///< dpkg's Installed-Size (KiB) × 1024
};

/// The packages the plan's regular files belong to, biggest share first, and
/// the bytes of files that belong to no package (the last element, package "").
/// Reads <admin_dir>/info/*.list and <admin_dir>/status; paths in the lists are
/// resolved through symlinked directories (/bin -> usr/bin) to match the plan,
/// in the file system at `root` (the host's "/", or an image's unpacked root
/// holding `admin_dir`). Returns an empty list when there is no dpkg database.
std::vector<PackageUsage> package_usage(const BundlePlan& plan, const std::string& admin_dir = "/var/lib/dpkg",
                                        const PathBytes& root = "/");

/// One installed package and the regular files of a plan it owns.
struct PackageFiles {
  std::string package;           ///< the name
  std::string architecture;      ///< from the list's name ("libc6:amd64"), else ""
  std::vector<PathBytes> files;  ///< plan paths, sorted
};

/// Which package owns each regular file of `plan`, read and resolved as
/// package_usage does; only packages owning at least one file, sorted by
/// name then architecture. Empty when there is no dpkg database.
std::vector<PackageFiles> package_files(const BundlePlan& plan, const std::string& admin_dir = "/var/lib/dpkg",
                                        const PathBytes& root = "/");

}  // namespace tracepack

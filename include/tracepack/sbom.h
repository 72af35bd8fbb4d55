// Software bills of materials of a bundle (CycloneDX 1.5 and SPDX 2.3 JSON),
// and the dpkg metadata scanners read (distroless's /var/lib/dpkg/status.d).
// docs/sbom.md describes the documents and where they are written.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "tracepack/plan.h"

namespace tracepack {

/// The SBOM formats: CycloneDX 1.5 JSON and SPDX 2.3 JSON.
inline constexpr std::string_view kSbomFormats[] = {"cyclonedx", "spdx"};

/// The label an image carries, naming the path of its SBOM inside the image.
inline constexpr std::string_view kSbomLabel = "dev.tracepack.sbom";

/// Where the dpkg metadata of the bundled packages lies in a bundle.
inline constexpr std::string_view kDpkgStatusDir = "/var/lib/dpkg/status.d";

/// "" when `name` is one of kSbomFormats, else the problem: "unknown SBOM
/// format 'x' (did you mean 'spdx'?)", or "(expected one of: cyclonedx, spdx)"
/// when no name is close.
std::string sbom_format_problem(std::string_view name);

/// The SBOM's path inside a bundle (without a leading '/'):
/// ".tracepack/sbom.cdx.json" or ".tracepack/sbom.spdx.json".
std::string sbom_bundle_path(std::string_view format);

/// The SBOM's path beside a bundle written at `output`: "app.tar.gz" gives
/// "app.tar.gz.cdx.json" / "app.tar.gz.spdx.json" (a trailing '/' is dropped).
std::string sbom_output_path(const std::string& output, std::string_view format);

/// A Debian package or Python distribution with files in the bundle.
struct SbomPackage {
  std::string ecosystem{};  ///< "deb" or "pypi"
  std::string name{};
  std::string version{};
  std::string architecture{};      ///< deb only
  std::string license{};           ///< an SPDX licence expression from the package's machine-readable copyright; "" if none or not simple
  std::vector<PathBytes> files{};  ///< the bundle's regular files it owns, sorted
  std::string status{};            ///< deb only: the package's paragraph of dpkg's status file
};

/// The package URL: "pkg:deb/debian/sed@4.9-1?arch=amd64", "pkg:pypi/pyyaml@6.0".
std::string package_url(const SbomPackage& package);

/// The packages owning the plan's regular files, read below `root`: the dpkg
/// database (<root>/var/lib/dpkg: info/*.list, status) and the RECORD files of
/// Python distributions. Debian packages first, by name; a file is owned by at
/// most one package (the Debian one when both list it).
std::vector<SbomPackage> find_sbom_packages(const BundlePlan& plan, const PathBytes& root);

/// The dpkg metadata of each Debian package of `packages`, in distroless's
/// layout: "<kDpkgStatusDir>/NAME" (its status paragraph) and
/// "<kDpkgStatusDir>/NAME.md5sums" (the MD5 of each of its bundled files, read
/// below `root`, as "HEX  path/without/leading/slash" lines, by path). Keyed by path.
/// Throws Error when a file cannot be read.
std::map<PathBytes, std::string> dpkg_status_files(const std::vector<SbomPackage>& packages, const PathBytes& root);

/// Adds `files` (dpkg_status_files) to `plan` as regular files with mode 0644
/// and mtime `mtime`, and their missing parent directories (0755, added to
/// `files` with an empty value: they are made, not read); a path the plan
/// already holds, or below one of its non-directories, is kept as planned and
/// its key removed from `files`. `files` is then WriteOptions::generated.
void add_generated_files(BundlePlan& plan, std::map<PathBytes, std::string>& files, std::int64_t mtime);

/// What an SBOM says besides the packages: the bundle and how it was made.
struct SbomRequest {
  std::vector<std::string> formats;  ///< of kSbomFormats; empty: no SBOM
  std::vector<SbomPackage> packages;
  std::vector<std::string> traces;  ///< the trace files' names (where they lay is left out: it changes nothing built)
  std::string spec;                 ///< the spec file's name ("" for none)
};

/// A regular file of the bundle and its digest.
struct SbomFile {
  PathBytes path;
  std::string sha256;
};

/// The SBOM of `format` as JSON text ending in a newline. Its bytes depend
/// only on the arguments: the time is `source_date_epoch` (ISO 8601, UTC) and
/// identifiers (CycloneDX serialNumber, SPDX documentNamespace) are derived
/// from a SHA-256 of the content. Throws Error for an unknown format.
std::string render_sbom(std::string_view format, const SbomRequest& request, const std::string& bundle_name,
                        const std::vector<SbomFile>& files, std::int64_t source_date_epoch);

}  // namespace tracepack

// Writing a BundlePlan as a directory, an archive or an image, atomically.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tracepack/image_config.h"
#include "tracepack/manifest_reader.h"
#include "tracepack/output_format.h"
#include "tracepack/plan.h"
#include "tracepack/sbom.h"

namespace tracepack {

/// The time a reproducible bundle records where SOURCE_DATE_EPOCH is not
/// set: 1980-01-01T00:00:00Z, the earliest time a zip entry can hold. It is
/// the modification time of every directory (a directory's own time changes
/// whenever a name is added to it or removed, by anyone, so it is not kept),
/// of ".tracepack/", of the members of an image archive, and an image's
/// "created". Files and symlinks keep their own times.
constexpr std::int64_t kDefaultSourceDateEpoch = 315532800;

/// Where and how to write.
struct WriteOptions {
  std::string path;                  ///< output file or directory
  std::string format;                ///< a name of kOutputFormats (output_format.h); "" = from path
  int compression_level = -1;        ///< -1 = the compressor's default
  unsigned compression_threads = 0;  ///< zstd and xz workers, at least 2; 0 = one per CPU; never changes the output
  bool reproducible = true;          ///< sorted entries, owner 0:0 (an image's own owners with `from`), no atime/ctime, clamped mtimes
  std::optional<std::int64_t> source_date_epoch;  ///< mtimes above it are clamped to it (reproducible only);
                                                  ///< unset: kDefaultSourceDateEpoch for directories
  PathBytes source_root = "/";                    ///< where the plan's paths are read from
  std::string bundle_name;                        ///< recorded in the manifest
  ImageConfig image;                              ///< the image formats only
  std::optional<ManifestBase> from;               ///< the image the bundle was taken from (spec from:), recorded in the manifest
  /// Entries of the plan made here, not read from source_root: a regular
  /// file's content by path (add_generated_files, sbom.h); a directory listed
  /// here need not exist in the source.
  std::map<PathBytes, std::string> generated;
  SbomRequest sbom;  ///< formats given: each SBOM is written into ".tracepack/" after the manifest
};

/// What was written.
struct WriteResult {
  std::string format;
  std::uint64_t files = 0;  ///< regular files
  std::uint64_t directories = 0;
  std::uint64_t symlinks = 0;
  std::uint64_t hardlinks = 0;
  std::uint64_t bytes = 0;                   ///< content bytes of regular files
  std::uint64_t output_bytes = 0;            ///< size of the archive written
  std::string image_digest;                  ///< image formats: "sha256:..." of the image manifest
  std::map<std::string, std::string> sboms;  ///< by format: the SBOMs written into ".tracepack/"
};

/// Checks, before anything is read or run, that a bundle of `format` may be
/// written at `path`, and prepares its parent directory: a missing one is
/// created (as mkdir -p); one the process cannot write into is refused. What
/// exists at `path` may be replaced only when it is
///   - for "dir" and "oci": an empty directory, or a bundle tracepack wrote
///     (a directory holding ".tracepack/manifest.json", or an image layout
///     whose index.json carries tracepack's annotation, see write_image);
///   - for the archive formats: a regular file;
/// anything else (a directory holding other files, a regular file for a
/// directory format, a directory for an archive, a symlink, a device) is
/// refused, naming it and why. `inputs` are files and directories the run
/// reads (traces, the spec, its directory): an output equal to one of them or
/// holding one is refused too, since replacing it would delete the input.
/// Nothing is changed by a refusal. Throws Error.
void check_output_target(const std::string& path, const std::string& format, const std::vector<std::string>& inputs);

/// Where a bundle that failed verification is kept: `path` (without a
/// trailing '/') followed by ".failed" ("dist/app.tar.zst.failed", "app.failed").
std::string failed_output_path(const std::string& path);

/// A bundle written under a temporary name beside its output
/// (".NAME.staging.XXXXXX"), to be checked before it replaces anything.
/// Destroyed before publish() succeeded, it removes what was written there.
class StagedBundle {
 public:
  /// Picks the name beside `output` (nothing is created yet). Throws Error.
  explicit StagedBundle(const std::string& output);
  ~StagedBundle();
  StagedBundle(const StagedBundle&) = delete;
  StagedBundle& operator=(const StagedBundle&) = delete;

  /// Where to write the bundle (write_bundle with this path and an explicit format).
  const std::string& path() const { return path_; }

  /// Renames the staged bundle onto `target` (beside it) in one step; a
  /// previous output there is swapped out and removed, once check_output_target's
  /// rules allow it to be replaced. Throws Error, the staged bundle then kept
  /// until destruction.
  void publish(const std::string& target);

 private:
  std::string path_;
  bool published_ = false;
};

/// Writes every entry of `plan`, reading contents from options.source_root,
/// plus ".tracepack/manifest.json" (each entry's path, type, size, mode,
/// sha256, link target and reasons), computed while the contents stream (no
/// second pass). What exists at options.path is replaced only as
/// check_output_target allows (its parent must exist). Output is atomic: written beside the target under a
/// temporary name and renamed at the end; on any error nothing partial remains
/// and a previous output is untouched. A file that vanished or changed type
/// since planning is an error naming it. Throws Error.
WriteResult write_bundle(const BundlePlan& plan, const WriteOptions& options);

}  // namespace tracepack

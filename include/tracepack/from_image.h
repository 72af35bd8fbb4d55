// A spec's `from:` for the stages that use it: the base image unpacked for
// as long as a build needs it, its configuration merged with the spec's
// `image:`, the environment every test runs in (in the image's root while
// tracing, in the bundle's while verifying), and what the bundle's
// manifest records of it. Documented for users in docs/images.md.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "tracepack/atomic_file.h"
#include "tracepack/base_image.h"
#include "tracepack/image_config.h"
#include "tracepack/manifest_reader.h"
#include "tracepack/pack.h"
#include "tracepack/spec.h"
#include "tracepack/verify_runner.h"

namespace tracepack {

/// The path `from:` names: `reference` as written when absolute, else taken
/// from `spec_dir` ("img:1.0" in /p is "/p/img:1.0").
std::string from_reference(const std::string& reference, const std::filesystem::path& spec_dir);

/// The image the traces of a command are taken in: `given` (its --from, a
/// path from the current directory) when not empty, else the spec's from:
/// (from the spec's directory); "" when the host is.
std::string base_reference(const std::string& given, const BundleSpec& spec);

/// A base image opened for a build: its layers unpacked under $TMPDIR (else
/// /var/tmp, which holds large files better than a tmpfs /tmp) in a
/// directory removed with everything in it when this object goes. A plain
/// root directory is used in place and never removed.
class OpenedBase {
 public:
  /// Opens `reference` (open_base_image, base_image.h). Throws Error.
  explicit OpenedBase(const std::string& reference);
  OpenedBase(const OpenedBase&) = delete;
  OpenedBase& operator=(const OpenedBase&) = delete;

  const BaseImage& image() const { return image_; }
  /// The directory the image's file system lies in.
  const std::string& root() const { return image_.root; }

 private:
  std::unique_ptr<AtomicFile> work_;
  BaseImage image_;
};

/// Throws Error when the image's programs cannot run on this machine: its
/// config names another architecture ("arm64" on an amd64 machine) or
/// another os than linux.
void check_runs_here(const BaseImage& image);

/// The configuration of an image built from `base`: `spec`'s keys where the
/// spec sets them (entrypoint, cmd, workdir, user, architecture, os), the
/// base's otherwise; env and labels merged name by name, the spec winning;
/// exposed ports joined. Entrypoint and cmd go together: a spec that sets
/// an entrypoint without a cmd drops the base's cmd, as docker does. The
/// tag and layer compression are always the spec's.
ImageConfig merge_image_config(const ImageConfig& base, const ImageConfig& spec);

/// How tests run under `config` (merge_image_config's result): its env,
/// workdir and user, and entrypoint + cmd as the command of a test with
/// neither run: nor shell:.
ImageRunEnvironment run_environment(const ImageConfig& config);

/// The same, as a bundle's manifest recorded it.
ImageRunEnvironment run_environment(const ManifestBase& base);

/// The include: rules an image needs for its configuration to work, beyond
/// what its tests used: a runtime looks the user up by name in the image's
/// own /etc/passwd and /etc/group before the entrypoint starts (and so does
/// the sandbox), so a `user` given by name needs those files, which no test
/// reads itself. Only files that exist below `root`; `where` is the spec's
/// from: (for the reasons and messages).
std::vector<IncludeRule> config_includes(const ImageConfig& config, const std::string& root, const SourceLocation& where);

class OpenedBase;

/// Points `request` at the opened image `base`: its files are read from the
/// base's root, the spec's image: becomes the base's configuration merged
/// with it (merge_image_config), the configuration's own files are included
/// (config_includes) and the base is recorded for the manifest.
void read_from_base(PackRequest& request, const OpenedBase& base);

/// What a bundle's manifest records of the base `image` its tests ran in under `run`.
ManifestBase base_record(const BaseImage& image, const ImageRunEnvironment& run);

/// "from 412.3 MB (the base image, uncompressed) to 23.1 MB": the base's
/// size and the bundle's, in MB of 10^6 bytes.
std::string size_reduction_line(std::uint64_t base_bytes, std::uint64_t bundle_bytes);

}  // namespace tracepack

// The bundle's manifest, ".tracepack/manifest.json", built while write_bundle
// streams the plan (docs/report-format.md describes it). Internal to packer/.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "tracepack/manifest_reader.h"
#include "tracepack/plan.h"

namespace tracepack {

/// Where the manifest lies in a bundle; no planned path may be there.
inline constexpr std::string_view kManifestDir = ".tracepack";
inline constexpr std::string_view kManifestName = ".tracepack/manifest.json";

/// What the manifest records of a regular file once its bytes went through.
struct Digest {
  std::string sha256;  ///< lower-case hex
  std::uint64_t size = 0;
};

/// Collects the manifest's entries in the order they are written, then
/// renders the document.
class ManifestWriter {
 public:
  /// Adds `entry`; `digest` is its content's (a hard link's: its target's),
  /// nullptr for directories and symlinks.
  void add(const PlanEntry& entry, const Digest* digest);

  /// The document, as two-space indented JSON ending in a newline: the
  /// entries added, the bundle's name, the plan's exclusions (those in pseudo
  /// and temporary file systems left out), warnings, test cases and, for a
  /// bundle taken from an image, `from`. Moves the entries out.
  std::string text(const std::string& bundle_name, const BundlePlan& plan, const std::optional<ManifestBase>& from);

 private:
  nlohmann::ordered_json entries_ = nlohmann::ordered_json::array();
};

}  // namespace tracepack

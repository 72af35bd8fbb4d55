// Reading a bundle's ".tracepack/manifest.json" back: from a bundle directory,
// from any archive format tracepack writes, or from the JSON text itself.
// The fields read are listed in docs/diff-format.md ("What why and diff read").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tracepack/plan.h"
#include "tracepack/trace.h"

namespace tracepack {

/// One entry of a manifest, paths decoded to bytes.
struct ManifestEntry {
  PathBytes path;                       ///< absolute
  EntryType type = EntryType::regular;  ///< "type" (parse_entry_type); regular when absent
  std::uint64_t size = 0;               ///< regular files: bytes
  std::uint32_t mode = 0;               ///< permission bits
  std::string sha256;                   ///< regular files: hex digest; "" for others
  PathBytes link_target;                ///< symlinks
  PathBytes hardlink_to;                ///< a hard link to that earlier entry; "" otherwise
  std::vector<std::string> reasons;     ///< the plan's reason lines, deciding one first
  std::vector<std::string> tests;       ///< test cases that used it (absent from older manifests: empty)
};

/// A whole manifest.
/// The image (or root directory) a bundle was taken from (spec `from:`), as
/// its manifest records it: the base's size, and the environment its tests
/// ran in, which verify gives the same tests in the bundle.
struct ManifestBase {
  std::string reference;             ///< as the spec or --from gave it
  std::string kind;                  ///< "oci-layout", "oci-archive", "docker-archive" or "root"
  std::uint64_t bytes = 0;           ///< the base's file system, uncompressed: its regular files' bytes
  std::uint64_t files = 0;           ///< its regular files
  std::vector<std::string> env;      ///< "NAME=value", the tests' base environment
  std::string workdir;               ///< where a test without cwd: runs; "" = "/"
  std::string user;                  ///< who the tests run as; "" = root
  std::vector<std::string> command;  ///< entrypoint + cmd: what a test without run: or shell: runs
  bool operator==(const ManifestBase&) const = default;
};

struct Manifest {
  std::string bundle;  ///< the spec's name
  int version = 0;
  std::vector<ManifestEntry> entries;   ///< in the manifest's order (sorted by path)
  bool has_exclusions = false;          ///< false: an older manifest without "excluded"
  std::vector<PlanExclusion> excluded;  ///< paths left out, each with its reason (parse_exclusion of the sentence)
  std::optional<ManifestBase> from;     ///< "from": the base image; nullopt for a bundle taken from the host
  std::vector<std::string> review_ignore;  ///< "review": {"ignore": [...]}: the spec's declined candidates
  std::vector<std::string> packs_on;       ///< "packs": {"on": [...]}: the knowledge packs the spec turned on
  std::vector<KnowledgePack> knowledge;    ///< "packs": {"knowledge": [{"file", "text"}]}: the spec's own packs, read again
  /// "tests": every test case of the traces, sorted. nullopt for an older
  /// manifest, whose entries' tests may be incomplete (taken from at most 8 reasons).
  std::optional<std::vector<std::string>> tests;
};

/// The version of the manifest format this reader understands.
inline constexpr int kManifestVersion = 1;

/// Parses manifest JSON; `name` names it in messages. Throws Error for text
/// that is not a tracepack manifest, an unknown version or a malformed entry
/// ("NAME: entries[3].type: unknown entry type 'fifo' (expected regular,
/// directory or symlink)").
Manifest parse_manifest(std::string_view text, const std::string& name);

/// Reads the manifest of the bundle at `path`: a directory holding
/// ".tracepack/manifest.json", or an archive (tar, tar.gz, tar.zst, tar.xz,
/// zip, cpio) holding that member. Only the manifest is read. Throws Error.
Manifest read_manifest(const std::string& path);

/// Whether `path` holds a trace rather than a bundle: a regular file whose
/// first bytes are a trace header ('{"format":"tracepack-trace"'). Throws
/// Error when `path` cannot be read.
bool is_trace_file(const std::string& path);

}  // namespace tracepack

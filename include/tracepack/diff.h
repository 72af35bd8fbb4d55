// `tracepack diff`: what differs between two bundles, two traces, or a trace
// and a bundle, entry by entry. The JSON form is documented in
// docs/diff-format.md.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tracepack/manifest_reader.h"
#include "tracepack/plan.h"

namespace tracepack {

/// One entry as compared: what a manifest records, or what a plan would write.
struct DiffEntry {
  PathBytes path{};
  EntryType type = EntryType::regular;
  std::uint64_t size = 0;   ///< regular files
  std::uint32_t mode = 0;   ///< permission bits
  std::string sha256{};     ///< "" when unknown (then not compared)
  PathBytes link_target{};  ///< symlinks

  bool operator==(const DiffEntry&) const = default;  ///< every field equal
};

/// One field that differs, both values as text.
struct FieldChange {
  std::string field{};  ///< "type", "size", "mode", "sha256" or "link_target"
  std::string a{};
  std::string b{};
};

/// An entry present on both sides with at least one field changed.
struct ChangedEntry {
  PathBytes path{};
  std::vector<FieldChange> changes{};  ///< in the order type, size, mode, sha256, link_target
};

/// The whole comparison, each list sorted by path.
struct BundleDiff {
  std::vector<DiffEntry> added;    ///< only in B
  std::vector<DiffEntry> removed;  ///< only in A
  std::vector<ChangedEntry> changed;
  std::uint64_t unchanged = 0;
  std::uint64_t added_bytes = 0;    ///< sizes of the added regular files
  std::uint64_t removed_bytes = 0;  ///< sizes of the removed regular files

  bool equal() const { return added.empty() && removed.empty() && changed.empty(); }  ///< nothing differs
};

/// Computes the SHA-256 (lower-case hex) of a file's contents; "" when unreadable.
using ContentHasher = std::function<std::string(const PathBytes&)>;

/// A manifest's entries as compared.
std::vector<DiffEntry> diff_entries_of(const Manifest& manifest);

/// A plan's entries as compared. Regular files get a sha256 only when `hash`
/// is given (a plan records none; the hash is of the file the plan would pack).
std::vector<DiffEntry> diff_entries_of(const BundlePlan& plan, const ContentHasher& hash = {});

/// Compares A with B. A sha256 is compared only when both sides know it. Pure.
BundleDiff diff_entries(std::vector<DiffEntry> a, std::vector<DiffEntry> b);

/// Text for people: "+ path", "- path", "~ path: field a -> b" lines, then a
/// totals line.
std::string render_diff_text(const BundleDiff& diff);

/// The JSON document of docs/diff-format.md, `a_name` and `b_name` naming the inputs.
std::string render_diff_json(const BundleDiff& diff, const std::string& a_name, const std::string& b_name);

/// The SHA-256 of the file at `path` on the host, "" when it cannot be read.
std::string sha256_of_host_file(const PathBytes& path);

}  // namespace tracepack

// extract_bundle: a bundle archive into a directory, safely.
//
// Every member is checked before it is written: its name and any hard-link
// target must be relative paths without "..", and only regular files,
// directories, symlinks and hard links are accepted. The checked names are
// then handed to an ArchiveExtractor (archive_reader.h), which puts them
// under the (symlink-free) destination and refuses to write through a
// symlink an earlier member made, which is the remaining way out of the
// destination ("link -> /etc", then "link/passwd"). Symlinks themselves may
// point anywhere: inside the sandbox, "/" is the bundle's root.
#include "tracepack/bundle_extract.h"

#include <limits.h>
#include <stdlib.h>

#include <optional>
#include <string_view>

#include "archive_reader.h"
#include "tracepack/error.h"
#include "tracepack/trace.h"

namespace tracepack {
namespace {

/// Only the formats tracepack writes; errors as "<archive>: cannot read: <why>".
constexpr ArchiveReadOptions kReading{
    .only_bundle_formats = true,
    .skip_damaged_headers = false,
    .open_error = "cannot read as a bundle archive: ",
    .header_error = "cannot read: ",
    .data_error = "cannot read: ",
    .unknown_error = "unknown error",
    .lower_case = true,
};

std::string real_directory(const std::string& dir) {
  char resolved[PATH_MAX];
  if (realpath(dir.c_str(), resolved) == nullptr) throw_system_error(dir + ": cannot extract into");
  return resolved;
}

/// A member's checked name and hard-link target, relative to the destination.
struct Placement {
  std::string_view name;                        ///< "" for the root entry, which is skipped
  std::optional<std::string_view> hardlink_to;  ///< a hard link: the member it links to
};

/// Checks one member; the views point into `m`.
Placement place(const ArchiveMember& m, const std::string& archive_path) {
  std::string_view name = trimmed_member_name(m.name);
  auto refuse = [&](const std::string& why) { throw Error(archive_path + ": entry '" + encode_path(m.name) + "' refused: " + why); };
  if (name.empty()) return {};
  if (std::string why = unsafe_member_name(name, "bundle"); !why.empty()) refuse(why);
  Placement placement{name, std::nullopt};
  if (m.hardlink) {
    // A hard link's own type may be unset (tar) or the target's (cpio).
    std::string_view target = trimmed_member_name(*m.hardlink);
    if (target.empty()) refuse("hard link without a target");
    if (std::string why = unsafe_member_name(target, "bundle"); !why.empty()) refuse("hard link target: " + why);
    placement.hardlink_to = target;
  } else if (m.kind == MemberKind::other) {
    refuse("not a regular file, directory or symlink");
  }
  return placement;
}

}  // namespace

void extract_bundle(const std::string& archive_path, const std::string& dest_dir) {
  const std::string dest = real_directory(dest_dir);
  ArchiveReader reader(archive_path, kReading);
  ArchiveExtractor extractor(dest, archive_path);
  ArchiveMember member;
  while (reader.next(member)) {
    Placement placement = place(member, archive_path);
    if (!placement.name.empty()) extractor.extract(reader, placement.name, placement.hardlink_to);
  }
  extractor.close();
}

}  // namespace tracepack

// Where an output goes and what it may replace: shared by the bundle sinks
// (archive_sink.cc, directory_sink.cc), the image writer (oci_writer.cc) and
// StagedBundle. Internal to packer/.
#pragma once

#include <string>
#include <string_view>

#include "tracepack/posix.h"

namespace tracepack {

/// The annotation of index.json that marks an image layout tracepack wrote
/// (and may therefore replace): {"tracepack.writer": "tracepack"}.
inline constexpr const char* kLayoutAnnotation = "tracepack.writer";

/// Where the output goes: an open parent directory and a name in it.
struct OutputPath {
  std::string shown;  ///< the path as given, for messages
  UniqueFd parent;    ///< O_PATH
  std::string name;

  /// The prefix of a temporary beside it (AtomicFile): ".NAME.tmp.".
  std::string temp_prefix() const { return "." + name + ".tmp."; }
};

/// Opens the directory of the output `path` (a trailing '/' ignored). Throws
/// Error "<path>: not a usable output name (...)" or "<dir>: cannot open the
/// output directory: <why>".
OutputPath open_output_path(const std::string& path);

/// Throws Error when `target` (a name in the directory `dirfd`, or a path
/// with AT_FDCWD) exists and may not be replaced by a bundle of `format`
/// ("dir" and "oci" are directories, the others files): see
/// check_output_target. `shown` names the output in messages.
void check_replaceable(int dirfd, const std::string& target, std::string_view format, const std::string& shown);

/// Puts the finished output `temp` in place as `target` (names in `dirfd`,
/// or paths with AT_FDCWD), after check_replaceable: a rename when nothing is
/// there, else an exchange (RENAME_EXCHANGE) and the previous output removed;
/// where the file system cannot exchange, the previous output is moved aside
/// first and moved back if the second rename fails. Throws Error
/// "<shown>: cannot put the bundle in place: <why>"; `temp` is then left.
void put_in_place(int dirfd, const std::string& temp, const std::string& target, const std::string& shown);

}  // namespace tracepack

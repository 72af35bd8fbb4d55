// The bundle plan: every entry a bundle will hold, each with the reasons it is
// there, and every path left out with the reason why. Made by make_plan
// (pure: traces + spec + a view of the file system), written by write_bundle.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tracepack/trace.h"

namespace tracepack {

/// Why an entry is in the bundle.
struct PlanReason {
  enum class Source {
    traced,       ///< a traced process used it
    rule,         ///< an include: glob matched it
    elf,          ///< an elf: include's dependency closure needs it
    parent,       ///< a directory above another entry
    link_target,  ///< the target of a symlink in the bundle
  };
  Source source = Source::traced;
  std::string detail;        ///< one line for people: "test 'demo', pid 42 (python3), openat"
  std::string test;          ///< traced: the trace's label
  std::uint64_t process = 0; ///< traced: Process::id in that trace
  int pid = 0;
  std::string syscall;       ///< traced: the call
  std::string rule;          ///< rule/elf: the spec text and its "file:line:col"
};

enum class EntryType { regular, directory, symlink };

/// One file, directory or symlink of the bundle, as it will be written.
struct PlanEntry {
  PathBytes path;               ///< absolute path, the same inside the bundle as on the host
  EntryType type = EntryType::regular;
  PathBytes link_target;        ///< symlink: its contents, unchanged
  PathBytes hardlink_to;        ///< regular: when non-empty, a hard link to that earlier entry
  std::uint32_t mode = 0;       ///< permission bits (07777)
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::uint64_t size = 0;       ///< regular files: bytes
  std::int64_t mtime = 0;       ///< seconds since the epoch
  std::vector<PlanReason> reasons;
};

/// A path that stays out, and why ("/proc: pseudo file system", "created by the run").
struct PlanExclusion {
  PathBytes path;
  std::string reason;
};

/// Everything write_bundle needs, sorted by path (parents before children).
struct BundlePlan {
  std::vector<PlanEntry> entries;
  std::vector<PlanExclusion> excluded;
  std::vector<std::string> warnings;
};

}  // namespace tracepack

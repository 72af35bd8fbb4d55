// Verify's diagnosis: what a run inside a bundle missed, and how to fix the spec.
#pragma once

#include <string>
#include <vector>

#include "tracepack/plan.h"
#include "tracepack/trace.h"

namespace tracepack {

/// A file the bundle lacks that the test needs: the sandboxed run looked for
/// it in vain, though the host has it and the traced run used it; or (when no
/// lookup failed) the traced run read it and the sandboxed run never asked.
struct MissingFile {
  PathBytes path{};        ///< the first component of the looked-up path the bundle lacks
  bool directory = false;  ///< the host's `path` is a directory (a whole tree is missing)
  std::string test{};      ///< the test that wanted it
  std::int32_t pid = 0;    ///< the process that wanted it (as the sandbox saw it)
  std::string command{};   ///< that process's command line (its last exec), "" when unknown
  std::string syscall{};   ///< the call that failed, or that read it in the traced run
  bool looked_up = true;   ///< false: named from the traced run (pid, command and syscall are that run's)
};

/// The files `sandboxed` (a trace of a test run inside the bundle) failed to
/// find: for each failed lookup, the first component of its path that
/// `bundle` lacks, kept when `host` has it and one of `original` (traces of
/// the runs the bundle was packed from) used it or something below it. With
/// no original traces, every such path the host has counts. Paths under a
/// pseudo_root never count; those under a scratch_root do (an include: packs
/// them), but never /tmp, /var or /var/tmp themselves, which the sandbox
/// makes when the bundle lacks them. When no lookup qualifies, the regular files the
/// original trace of the same test (same label) read or executed first, and
/// that the host has but `bundle` lacks, are returned instead (looked_up false).
std::vector<MissingFile> find_missing(const Trace& sandboxed, const std::vector<Trace>& original, const FileSystemView& bundle,
                                      const FileSystemView& host);

/// The spec lines that would put `missing` in the bundle:
/// "include:\n  - /usr/lib/x/libfoo.so.1\n" (quoted where YAML needs it),
/// each pattern once.
std::string include_lines(const std::vector<MissingFile>& missing);

}  // namespace tracepack

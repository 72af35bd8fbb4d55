// Verify: what a run inside a bundle missed, and how to fix the spec.
#pragma once

#include <string>
#include <vector>

#include "tracepack/plan.h"
#include "tracepack/trace.h"

namespace tracepack {

/// A file the sandboxed run looked for in vain, though the host has it and
/// the traced run used it: the bundle lacks it.
struct MissingFile {
  PathBytes path;           ///< the first component of the looked-up path the bundle lacks
  bool directory = false;   ///< the host's `path` is a directory (a whole tree is missing)
  std::string test;         ///< the test that wanted it
  std::int32_t pid = 0;     ///< the process that wanted it (as the sandbox saw it)
  std::string command;      ///< that process's command line (its last exec), "" when unknown
  std::string syscall;      ///< the call that failed
};

/// How one test did in the bundle.
struct VerifyResult {
  std::string test;
  bool passed = false;
  std::string failure;                ///< why it failed ("exit status 1, expected 0"), "" when passed
  std::vector<MissingFile> missing;   ///< sorted by path, each path once
};

/// The files `sandboxed` (a trace of a test run inside the bundle) failed to
/// find: for each failed lookup, the first component of its path that
/// `bundle` lacks, kept when `host` has it and one of `original` (traces of
/// the runs the bundle was packed from) used it or something below it. With
/// no original traces, every such path the host has counts.
std::vector<MissingFile> find_missing(const Trace& sandboxed, const std::vector<Trace>& original,
                                      const FileSystemView& bundle, const FileSystemView& host);

/// The spec lines that would put `missing` in the bundle:
/// "include:\n  - /usr/lib/x/libfoo.so.1\n" (quoted where YAML needs it).
std::string include_lines(const std::vector<MissingFile>& missing);

}  // namespace tracepack

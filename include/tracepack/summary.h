// A short account of a trace: what ran and which files it needed, by category.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "tracepack/trace.h"

namespace tracepack {

/// Files a trace shows in use, grouped the way a reader thinks of them.
struct TraceSummary {
  std::string label;
  std::size_t processes = 0;
  std::size_t execs = 0;
  std::vector<PathBytes> programs;     ///< executed files (execve targets, "#!" interpreters), sorted
  std::vector<PathBytes> loaders;      ///< ELF interpreters (PT_INTERP)
  std::vector<PathBytes> libraries;    ///< shared objects read (".so" in the name)
  std::vector<PathBytes> data_files;   ///< other regular files read
  std::vector<PathBytes> listed_dirs;  ///< directories whose contents were read
  std::vector<PathBytes> outputs;      ///< files created or written
  std::vector<PathBytes> symlinks;     ///< symlinks met on the way to any of the above
  std::size_t failed_lookups = 0;      ///< distinct paths looked up without success
  std::vector<std::string> warnings;
  bool truncated = false;  ///< the trace has no end record
};

/// Groups a trace's successful accesses; paths under /proc, /sys and /dev are left out.
TraceSummary summarize_trace(const Trace& trace);

}  // namespace tracepack

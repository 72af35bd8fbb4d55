// Merging traces of several test cases (or shards of one test suite) into one.
#pragma once

#include <string>
#include <vector>

#include "tracepack/trace.h"

namespace tracepack {

/// Combines traces into one whose processes keep their test case in
/// Process::test. The result does not depend on the order of `traces`: inputs
/// are ordered by (label, start time, command line) and ids renumbered.
/// The merged run's end is present only when every input is complete.
Trace merge_traces(std::vector<Trace> traces);

/// Reads the trace files and merges them with merge_traces. A truncated
/// input is refused (check_trace_complete) unless `allow_truncated`; then
/// its warning is appended to `warnings`, and the merged trace is truncated
/// too. Throws Error.
Trace merge_trace_files(const std::vector<std::string>& files, bool allow_truncated, std::vector<std::string>& warnings);

}  // namespace tracepack

// Merging traces of several test cases (or shards of one test suite) into one.
#pragma once

#include <string>
#include <vector>

#include "tracepack/trace.h"

namespace tracepack {

/// The canonical order of traces, which merge_traces and make_plan follow so
/// that their results do not depend on the order the traces were given in
/// (shards finish in any order): by run label, then start time, command line
/// and working directory.
bool trace_order_less(const Trace& a, const Trace& b);

/// Combines traces into one whose processes keep their test case in
/// Process::test. The result does not depend on the order of `traces`: inputs
/// are put in trace_order_less order and ids renumbered.
/// The merged run's end is present only when every input is complete.
Trace merge_traces(std::vector<Trace> traces);

/// Reads the trace files and merges them with merge_traces. A truncated
/// input is refused (check_trace_complete) unless `allow_truncated`; then
/// its warning is appended to `warnings`, and the merged trace is truncated
/// too. Throws Error.
Trace merge_trace_files(const std::vector<std::string>& files, bool allow_truncated, std::vector<std::string>& warnings);

}  // namespace tracepack

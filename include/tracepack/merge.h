// Merging traces of several test cases (or shards of one test suite) into one.
#pragma once

#include <vector>

#include "tracepack/trace.h"

namespace tracepack {

/// Combines traces into one whose processes keep their test case in
/// Process::test. The result does not depend on the order of `traces`: inputs
/// are ordered by (label, start time, command line) and ids renumbered.
/// The merged run's end is present only when every input is complete.
Trace merge_traces(std::vector<Trace> traces);

}  // namespace tracepack

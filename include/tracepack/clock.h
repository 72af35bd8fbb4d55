// The one clock the stages measure durations with.
#pragma once

namespace tracepack {

/// Seconds on CLOCK_MONOTONIC (since an arbitrary point, unaffected by
/// changes of the wall clock): only differences between two calls mean
/// anything.
double monotonic_seconds();

}  // namespace tracepack

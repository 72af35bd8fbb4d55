// The one clock the stages measure durations with, and the one way they
// write a moment of the wall clock.
#pragma once

#include <cstdint>
#include <string>

namespace tracepack {

/// Seconds on CLOCK_MONOTONIC (since an arbitrary point, unaffected by
/// changes of the wall clock): only differences between two calls mean
/// anything.
double monotonic_seconds();

/// `seconds` since the epoch as RFC 3339 in UTC, to the second:
/// "1980-01-01T00:00:00Z" (image configs, SBOMs).
std::string utc_timestamp(std::int64_t seconds);

}  // namespace tracepack

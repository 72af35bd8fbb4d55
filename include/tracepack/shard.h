// Splitting a spec's tests into shards traced on different machines (`tracepack
// build --shard K/N --trace-only`), whose traces are then packed together.
#pragma once

#include <string_view>
#include <vector>

#include "tracepack/spec.h"

namespace tracepack {

/// Shard `index` of `count`, 1-based: 1 <= index <= count.
struct Shard {
  unsigned index = 1;
  unsigned count = 1;
};

/// The shard (1..count) the test named `test_name` belongs to: the first 8
/// bytes of the SHA-256 of the name, read as a big-endian number, modulo
/// `count`, plus 1. Depends on the name and `count` alone, so a test keeps its
/// shard when others are added, removed or reordered. `count` must be >= 1.
unsigned shard_of(std::string_view test_name, unsigned count);

/// The tests of `tests` that belong to `shard` (shard_of), in their order.
std::vector<TestCase> tests_in_shard(const std::vector<TestCase>& tests, Shard shard);

}  // namespace tracepack

// shard_of: a stable assignment of tests to shards from their names alone,
// through SHA-256 (the project's one hash, sha256.h) so that it is the same on
// every machine and with every compiler.
#include "tracepack/shard.h"

#include <cstdint>
#include <string>

#include "sha256.h"

namespace tracepack {

unsigned shard_of(std::string_view test_name, unsigned count) {
  Sha256 digest;
  digest.update(test_name.data(), test_name.size());
  std::string hex = digest.hex();
  std::uint64_t value = std::stoull(hex.substr(0, 16), nullptr, 16);  // the first 8 bytes
  return static_cast<unsigned>(value % count) + 1;
}

std::vector<TestCase> tests_in_shard(const std::vector<TestCase>& tests, Shard shard) {
  std::vector<TestCase> in_shard;
  for (const TestCase& test : tests)
    if (shard_of(test.name, shard.count) == shard.index) in_shard.push_back(test);
  return in_shard;
}

}  // namespace tracepack

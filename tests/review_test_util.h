// Helpers shared by the why, diff and secrets tests: fixture files and golden
// comparisons against fixtures/expected.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace tracepack::review_test {

inline const std::string kFixtures = FIXTURE_SRC_DIR;

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot read");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out.flush()) throw std::runtime_error(path + ": cannot write");
}

/// `actual` equals fixtures/expected/NAME byte for byte. With
/// TRACEPACK_UPDATE_GOLDEN=1 in the environment the file is rewritten instead
/// (then review it with git diff).
inline ::testing::AssertionResult matches_golden(const std::string& name, const std::string& actual) {
  std::string path = kFixtures + "/expected/" + name;
  const char* update = std::getenv("TRACEPACK_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") write_text(path, actual);
  std::string expected;
  try {
    expected = read_text(path);
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << e.what();
  }
  if (expected == actual) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "differs from " << path << "\n--- expected:\n" << expected << "--- actual:\n" << actual;
}

}  // namespace tracepack::review_test

// The inputs the fuzz targets of tests/fuzz found, each once a crash or a
// hang, fed to the reader again: each must now end in a result or in a
// tracepack::Error with the message asserted here. The fuzz script replays
// the same files (tests/fuzz/regressions/TARGET/) under the sanitizers.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tracepack/error.h"
#include "tracepack/spec.h"

namespace {

namespace fs = std::filesystem;

const fs::path kRegressions = FUZZ_REGRESSIONS_DIR;

std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<fs::path> findings(const std::string& target) {
  std::vector<fs::path> files;
  for (const fs::directory_entry& entry : fs::directory_iterator(kRegressions / target)) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::string spec_error(const std::string& text) {
  try {
    tracepack::parse_spec(text, "fuzz.yaml");
  } catch (const tracepack::Error& e) {
    return e.what();
  }
  return "(no error)";
}

// yaml-cpp's parser, given a ',' then a quote, yields empty documents forever
// without moving on: reading every document (LoadAll) never ended.
TEST(FuzzSpecReader, StalledYamlParserIsInvalidYamlNotAHang) {
  EXPECT_EQ(spec_error(",'"), "fuzz.yaml:1:1: invalid YAML: unexpected text");
  EXPECT_EQ(spec_error(read_file(kRegressions / "fuzz_spec_reader" / "stalled-documents-minimal.yaml")),
            "fuzz.yaml:1:1: invalid YAML: unexpected text");
}

TEST(FuzzSpecReader, EverySavedFindingEndsInAnError) {
  for (const fs::path& file : findings("fuzz_spec_reader")) {
    SCOPED_TRACE(file.string());
    EXPECT_NE(spec_error(read_file(file)), "(no error)");
  }
}

}  // namespace

// libFuzzer target: arbitrary bytes read as a bundle spec (parse_spec).
// Reading must end in a BundleSpec or a tracepack::Error, nothing else.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tracepack/error.h"
#include "tracepack/spec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    tracepack::parse_spec(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.yaml");
  } catch (const tracepack::Error&) {
  }
  return 0;
}

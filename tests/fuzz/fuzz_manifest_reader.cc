// libFuzzer target: arbitrary bytes read as a bundle's
// .tracepack/manifest.json (parse_manifest). Reading must end in a Manifest
// or a tracepack::Error, nothing else.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tracepack/error.h"
#include "tracepack/manifest_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    tracepack::parse_manifest(std::string_view(reinterpret_cast<const char*>(data), size), "manifest.json");
  } catch (const tracepack::Error&) {
  }
  return 0;
}

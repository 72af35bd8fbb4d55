// libFuzzer target: arbitrary bytes read as a trace file (read_trace).
// Reading must end in a Trace or a tracepack::Error, nothing else.
#include <cstddef>
#include <cstdint>

#include "fuzz_util.h"
#include "tracepack/error.h"
#include "tracepack/trace.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const tracepack::fuzz::ScratchDir scratch("trace");
  static const std::string file = scratch / "input.jsonl";
  tracepack::fuzz::write_file(file, data, size);
  try {
    tracepack::read_trace(file);
  } catch (const tracepack::Error&) {
  }
  return 0;
}

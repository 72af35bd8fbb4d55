// libFuzzer target: arbitrary bytes read as a trace file (read_trace).
// Reading must end in a Trace or a tracepack::Error, nothing else. The
// input lives in a memfd, read through its /proc/self/fd path: no disk.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "tracepack/error.h"
#include "tracepack/trace.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const int fd = memfd_create("trace", MFD_CLOEXEC);
  static const std::string file = "/proc/self/fd/" + std::to_string(fd);
  if (fd < 0 || ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != static_cast<ssize_t>(size))
    tracepack::fuzz::die("cannot write the input to a memfd");
  try {
    tracepack::read_trace(file);
  } catch (const tracepack::Error&) {
  }
  return 0;
}

// libFuzzer target: arbitrary bytes as the ELF file whose shared-library
// closure `tracepack closure` resolves (elf_closure, libelf underneath).
//
// The input is <root>/app in a small fake tree, and is also found there as
// libc.so.6 and, through a symlinked /lib64, as the x86-64 loader, so that a
// real executable seed (which needs both) has its dependencies read too:
// the reader then walks PT_INTERP, DT_NEEDED, DT_RPATH/RUNPATH and the
// search directories. The closure must end in an ElfClosure or a
// tracepack::Error, nothing else.
#include <unistd.h>

#include <cstddef>
#include <cstdint>

#include "fuzz_util.h"
#include "tracepack/elf_closure.h"
#include "tracepack/error.h"

namespace {

struct FakeRoot {
  tracepack::fuzz::ScratchDir dir{"elf"};

  FakeRoot() {
    tracepack::fuzz::write_file(dir / "app", "");
    if (mkdir((dir / "lib").c_str(), 0755) != 0 || mkdir((dir / "lib/x86_64-linux-gnu").c_str(), 0755) != 0 ||
        link((dir / "app").c_str(), (dir / "lib/x86_64-linux-gnu/libc.so.6").c_str()) != 0 ||
        symlink("libc.so.6", (dir / "lib/x86_64-linux-gnu/ld-linux-x86-64.so.2").c_str()) != 0 ||
        symlink("lib/x86_64-linux-gnu", (dir / "lib64").c_str()) != 0)
      tracepack::fuzz::die("cannot set up the fake root in " + dir.path());
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const FakeRoot root;
  // Rewritten in place: the hard link keeps pointing at the new bytes.
  tracepack::fuzz::write_file(root.dir / "app", data, size);
  tracepack::LoaderConfig config;
  config.root = root.dir.path();
  try {
    tracepack::elf_closure({"/app"}, config);
  } catch (const tracepack::Error&) {
  }
  return 0;
}

// libFuzzer target: an OCI image layout whose index.json, image manifest and
// layer are taken from the input, unpacked the way verify unpacks an image
// bundle: read_image_layers, then each layer extracted in order.
//
// The input is split at the first two lines that are exactly "--8<--": the
// index, the manifest blob (stored as sha256:aaaa...), the layer blob
// (sha256:bbbb...). The reader checks a digest's form, not the blob's hash,
// so the seeds name those fixed digests and the fuzzer mutates from there. Unpacking
// must end in a tree or a tracepack::Error, nothing else.
#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "tracepack/bundle_extract.h"
#include "tracepack/error.h"
#include "tracepack/image_reader.h"

namespace {

constexpr std::string_view kCut = "\n--8<--\n";

struct Layout {
  tracepack::fuzz::ScratchDir dir{"oci"};

  Layout() {
    if (mkdir((dir / "layout").c_str(), 0755) != 0 || mkdir((dir / "layout/blobs").c_str(), 0755) != 0 ||
        mkdir((dir / "layout/blobs/sha256").c_str(), 0755) != 0 || mkdir((dir / "root").c_str(), 0755) != 0)
      tracepack::fuzz::die("cannot set up " + dir.path());
    tracepack::fuzz::write_file(dir / "layout/oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  }
};

std::string_view take_part(std::string_view& rest) {
  std::size_t cut = rest.find(kCut);
  std::string_view part = rest.substr(0, cut);
  rest = cut == std::string_view::npos ? std::string_view() : rest.substr(cut + kCut.size());
  return part;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Layout layout;
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  tracepack::fuzz::write_file(layout.dir / "layout/index.json", take_part(rest));
  tracepack::fuzz::write_file(layout.dir / ("layout/blobs/sha256/" + std::string(64, 'a')), take_part(rest));
  tracepack::fuzz::write_file(layout.dir / ("layout/blobs/sha256/" + std::string(64, 'b')), rest);
  try {
    for (const std::string& layer : tracepack::read_image_layers(layout.dir / "layout", "layout/"))
      tracepack::extract_bundle(layer, layout.dir / "root");
  } catch (const tracepack::Error&) {
  }
  tracepack::fuzz::remove_tree(layout.dir / "root", true);
  return 0;
}

// read_image_layers: index.json -> its one manifest -> the layers' blobs;
// unpack_image extracts those blobs, in order, into one tree.
//
// The documents are read with image_layout.h's helpers, which bound their
// size, name the file and field of any bad value, and check a digest before
// it becomes a file name.
#include "tracepack/image_reader.h"

#include <sys/stat.h>

#include "image_layout.h"
#include "tracepack/bundle_extract.h"

namespace tracepack {

bool is_image_layout(const std::string& dir) {
  struct stat st;
  return ::stat((dir + "/oci-layout").c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::vector<std::string> read_image_layers(const std::string& layout, const std::string& shown) {
  std::string manifest = with_document(layout, shown, "index.json", [](const JsonField& index) {
    std::vector<JsonField> manifests = index.at("manifests").elements();
    if (manifests.size() != 1)
      index.at("manifests").fail("names " + std::to_string(manifests.size()) + " manifests, tracepack reads images with exactly one");
    return blob_name(manifests[0]);
  });
  return with_document(layout, shown, manifest, [&](const JsonField& m) {
    std::vector<JsonField> layers = m.at("layers").elements();
    if (layers.empty()) m.at("layers").fail("empty, an image needs at least one layer");
    std::vector<std::string> blobs;
    for (const JsonField& layer : layers) blobs.push_back(layout + "/" + blob_name(layer));
    return blobs;
  });
}

void unpack_image(const std::string& layout, const std::string& shown, const std::string& root) {
  for (const std::string& layer : read_image_layers(layout, shown)) extract_bundle(layer, root);
}

}  // namespace tracepack

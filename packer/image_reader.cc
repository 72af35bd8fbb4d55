// read_image_layers: index.json -> its one manifest -> the layers' blobs;
// unpack_image extracts those blobs, in order, into one tree.
//
// Each document is read whole (after an fstat bounds its size), parsed by
// parse_json and walked with JsonField (json_field.h), which names the file
// and the field of any value of the wrong type. A descriptor's digest is
// checked before it becomes a file name, so that "sha256:../../etc/passwd"
// cannot name a file outside blobs/sha256.
#include "tracepack/image_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "json_field.h"
#include "tracepack/bundle_extract.h"
#include "tracepack/error.h"
#include "tracepack/posix.h"

namespace tracepack {
namespace {

constexpr off_t kMaxDocumentBytes = off_t{16} << 20;

/// The text of the layout's file `name`, named `shown` in messages.
std::string read_document(const std::string& file, const std::string& shown) {
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) throw_system_error(shown + ": cannot open");
  struct stat st;
  if (fstat(fd.get(), &st) != 0) throw_system_error(shown + ": cannot read");
  if (!S_ISREG(st.st_mode)) throw Error(shown + ": not a regular file");
  if (st.st_size > kMaxDocumentBytes) throw Error(shown + ": larger than 16 MiB, not an image document");
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::read(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_system_error(shown + ": cannot read");
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  text.resize(done);
  return text;
}

/// "blobs/sha256/<hex>" for a descriptor's digest.
std::string blob_name(const JsonField& descriptor) {
  JsonField digest = descriptor.at("digest");
  std::string text = digest.string();
  std::string hex = text.starts_with("sha256:") ? text.substr(7) : "";
  if (hex.size() != 64 || hex.find_first_not_of("0123456789abcdef") != std::string::npos)
    digest.fail("not a sha256 digest: '" + text.substr(0, 80) + (text.size() > 80 ? "...'" : "'"));
  return "blobs/sha256/" + hex;
}

/// Reads and parses the layout's JSON file `name`, then hands it to `walk`.
template <class Walk>
auto with_document(const std::string& layout, const std::string& shown, const std::string& name, Walk walk) {
  std::string file = shown + name;
  std::optional<nlohmann::json> doc = parse_json(read_document(layout + "/" + name, file));
  if (!doc) throw Error(file + ": not valid JSON");
  JsonField root(*doc, file);
  root.expect_object();
  return walk(root);
}

}  // namespace

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

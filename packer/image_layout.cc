// The helpers of image_layout.h: a bounded read of a layout's document and
// the check of a descriptor's digest before it names a blob file.
// (The blob's content is checked against it by the reader: base_image.cc.)
#include "image_layout.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "tracepack/posix.h"

namespace tracepack {
namespace {

constexpr off_t kMaxDocumentBytes = off_t{16} << 20;

}  // namespace

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

std::string sha256_hex(const JsonField& digest) {
  std::string text = digest.string();
  std::string hex = text.starts_with("sha256:") ? text.substr(7) : "";
  if (hex.size() != 64 || hex.find_first_not_of("0123456789abcdef") != std::string::npos)
    digest.fail("not a sha256 digest: '" + text.substr(0, 80) + (text.size() > 80 ? "...'" : "'"));
  return hex;
}

std::string blob_name(const JsonField& descriptor) { return "blobs/sha256/" + sha256_hex(descriptor.at("digest")); }

BlobRef blob_ref(const JsonField& descriptor) {
  BlobRef blob;
  blob.name = blob_name(descriptor);
  blob.hex = blob.name.substr(13);
  blob.size = descriptor.at("size").unsigned_integer();
  return blob;
}

}  // namespace tracepack

// Reading the documents of an OCI image layout (index.json, manifests,
// configs), shared by image_reader.cc (a bundle written as an image) and
// base_image.cc (an image given as `from:`). Internal to packer/.
//
// Each document is read whole (after an fstat bounds its size), parsed by
// parse_json and walked with JsonField (json_field.h), which names the file
// and the field of any value of the wrong type. A descriptor's digest is
// checked before it becomes a file name, so that "sha256:../../etc/passwd"
// cannot name a file outside blobs/sha256.
#pragma once

#include <cstdint>
#include <string>

#include "json_field.h"
#include "tracepack/error.h"

namespace tracepack {

/// The text of the file `file` (not a symlink, at most 16 MiB), named
/// `shown` in messages. Throws Error "<shown>: cannot open: <strerror>",
/// "<shown>: not a regular file", "<shown>: larger than 16 MiB, not an image document".
std::string read_document(const std::string& file, const std::string& shown);

/// "blobs/sha256/<hex>" for a descriptor's digest; fails on the descriptor's
/// "digest" field when it is not "sha256:" and 64 lower-case hex digits.
std::string blob_name(const JsonField& descriptor);

/// The 64 hex digits of `digest`, a "sha256:<hex>" string; fails on it otherwise.
std::string sha256_hex(const JsonField& digest);

/// A descriptor's blob: where it lies and what it must be.
struct BlobRef {
  std::string name;        ///< "blobs/sha256/<hex>"
  std::string hex;         ///< the digest's 64 hex digits
  std::uint64_t size = 0;  ///< the descriptor's "size"
};

/// The blob a descriptor names: blob_name's check, and its "size", which must
/// be a non-negative integer.
BlobRef blob_ref(const JsonField& descriptor);

/// Parses `text`, the content of `file` (as named in messages), which must
/// hold an object, then returns `walk(root)`.
template <class Walk>
auto with_text(const std::string& text, const std::string& file, Walk walk) {
  std::optional<nlohmann::json> doc = parse_json(text);
  if (!doc) throw Error(file + ": not valid JSON");
  JsonField root(*doc, file);
  root.expect_object();
  return walk(root);
}

/// Reads and parses the JSON file `dir`/`name` (named `shown` + `name` in
/// messages), which must hold an object, then returns `walk(root)`.
template <class Walk>
auto with_document(const std::string& dir, const std::string& shown, const std::string& name, Walk walk) {
  std::string file = shown + name;
  return with_text(read_document(dir + "/" + name, file), file, walk);
}

}  // namespace tracepack

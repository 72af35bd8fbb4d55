// open_base_image: a reference -> its kind -> the manifest (or the docker
// archive's entry) -> config and layers -> layers applied into work_dir/rootfs.
//
// An archive (oci-archive or docker-archive) is first unpacked into
// work_dir/.layout with the same safe extraction as a layer; manifest.json
// there makes it a docker archive, oci-layout an OCI one. Every document is
// read with image_layout.h's helpers (bounded size, the file and field of a
// bad value named, digests checked before they name a file). A blob of an
// unpacked archive must resolve inside .layout, so that a symlink in the
// archive cannot feed a host file in as a layer. Sizes are measured by a walk
// of the root afterwards, so that they hold for every kind.
//
// Every blob is checked against what names it, since libarchive notices
// neither a flipped byte in a gzip stream nor one in a tar member's data:
// an OCI blob (manifest list, manifest, config, layer) by its descriptor's
// size, up front, and sha256, a document as it is read whole, a layer as it
// streams into libarchive (one read of the file for both); a docker
// archive's layer by the config's rootfs.diff_ids, the sha256 of the
// uncompressed tar (the file's bytes as read when it is a plain tar, as
// docker save, podman save and skopeo write it; its decompressed bytes, read
// again, otherwise), and its config by the digest its name carries. When
// libarchive fails on a layer whose digest does not match, the damage is
// what is reported.
#include "tracepack/base_image.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>

#include <optional>
#include <string_view>
#include <vector>

#include "archive_reader.h"
#include "image_layout.h"
#include "layer_apply.h"
#include "sha256.h"
#include "tracepack/error.h"
#include "tracepack/image_reader.h"
#include "tracepack/posix.h"

namespace tracepack {
namespace {

constexpr std::string_view kRefName = "org.opencontainers.image.ref.name";
constexpr int kMaxIndexDepth = 4;

/// How a docker layer is read again, decompressed, for its diff_id.
constexpr ArchiveReadOptions kDecompressing{
    .open_error = "cannot read: ",
    .header_error = "cannot read: ",
    .data_error = "cannot read: ",
    .unknown_error = "unknown error",
    .lower_case = true,
};

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

std::string real_path(const std::string& path) {
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr) throw_system_error(path + ": cannot open");
  return resolved;
}

void make_directory(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0) throw_system_error(path + ": cannot create");
}

/// The reference's file and tag: the whole when it exists, else split at the
/// first ':' whose left part exists.
std::pair<std::string, std::string> split_reference(const std::string& reference) {
  if (reference.empty()) throw Error("image reference: empty");
  if (exists(reference)) return {reference, ""};
  for (std::size_t at = reference.find(':'); at != std::string::npos; at = reference.find(':', at + 1)) {
    if (at == 0 || !exists(reference.substr(0, at))) continue;
    if (at + 1 == reference.size()) throw Error(reference + ": empty tag after ':'");
    return {reference.substr(0, at), reference.substr(at + 1)};
  }
  throw Error(reference + ": no such image layout, image archive or directory");
}

std::string joined(const std::vector<std::string>& items) {
  if (items.empty()) return "none";
  std::string text;
  for (const std::string& item : items) text += (text.empty() ? "" : ", ") + item;
  return text;
}

/// The member `key` of an object, nullopt when absent or null.
std::optional<JsonField> present(const JsonField& object, std::string_view key) {
  std::optional<JsonField> field = object.find(key);
  if (field && field->json().is_null()) return std::nullopt;
  return field;
}

std::string string_or_empty(const JsonField& object, std::string_view key) {
  std::optional<JsonField> field = present(object, key);
  return field ? field->string() : "";
}

/// The fields tracepack uses of an image config (OCI or docker: the same keys).
ImageConfig read_config(const JsonField& doc) {
  ImageConfig config;
  config.architecture = string_or_empty(doc, "architecture");
  config.os = string_or_empty(doc, "os");
  std::optional<JsonField> c = present(doc, "config");
  if (!c) return config;
  c->expect_object();
  if (std::optional<JsonField> env = present(*c, "Env")) {
    for (const JsonField& entry : env->elements()) {
      std::string text = entry.string();
      std::size_t eq = text.find('=');
      if (eq == std::string::npos || eq == 0) entry.fail("not NAME=value: '" + text.substr(0, 80) + "'");
      config.env[text.substr(0, eq)] = text.substr(eq + 1);
    }
  }
  if (std::optional<JsonField> entrypoint = present(*c, "Entrypoint")) config.entrypoint = entrypoint->strings();
  if (std::optional<JsonField> cmd = present(*c, "Cmd")) config.cmd = cmd->strings();
  config.workdir = string_or_empty(*c, "WorkingDir");
  config.user = string_or_empty(*c, "User");
  if (std::optional<JsonField> labels = present(*c, "Labels")) {
    labels->expect_object();
    for (const auto& [key, value] : labels->json().items()) config.labels[key] = labels->at(key).string();
  }
  if (std::optional<JsonField> ports = present(*c, "ExposedPorts")) {
    ports->expect_object();
    for (const auto& [key, value] : ports->json().items()) {
      std::optional<std::string> port = normalize_port(key);
      if (!port) ports->fail("not a port: '" + key.substr(0, 80) + "'");
      config.exposed_ports.push_back(*port);
    }
  }
  return config;
}

/// Where an image's documents and blobs are: a layout directory or an unpacked archive.
struct Source {
  std::string dir;        ///< the directory holding them
  std::string shown;      ///< its name in messages, to which a file's name is appended ("img/", "app.tar:")
  bool confined = false;  ///< an unpacked archive: its blobs must resolve inside `dir`
  std::string reference;  ///< the path the user gave, for the hint about tags
};

/// The blob file `name` of `source`, checked to lie inside an unpacked archive.
std::string blob_file(const Source& source, const std::string& name) {
  std::string file = source.dir + "/" + name;
  if (!source.confined) return file;
  std::string real = real_path(file);
  if (!real.starts_with(source.dir + "/")) throw Error(source.shown + name + ": leads outside the archive");
  return real;
}

[[noreturn]] void damaged(const std::string& shown, const std::string& problem) {
  throw Error(shown + ": " + problem + " (the image is damaged)");
}

/// Refuses the blob `shown` unless its content's sha256 (`actual`) is `expected`;
/// `what` says where `expected` comes from ("its digest", "its diff_id").
void check_digest(const std::string& shown, const std::string& actual, const std::string& expected, const std::string& what) {
  if (actual != expected) damaged(shown, "content does not match " + what + " sha256:" + expected.substr(0, 12) + "...");
}

void check_size(const std::string& shown, std::uint64_t actual, std::uint64_t expected) {
  if (actual != expected) damaged(shown, "is " + std::to_string(actual) + " bytes, its descriptor says " + std::to_string(expected));
}

std::string sha256_of(const std::string& text) {
  Sha256 hash;
  hash.update(text.data(), text.size());
  return hash.hex();
}

/// The sha256 of the file `file` (named `shown`), read whole.
std::string sha256_of_file(const std::string& file, const std::string& shown) {
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw_system_error(shown + ": cannot open");
  Sha256 hash;
  std::vector<char> buffer(std::size_t{1} << 16);
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_system_error(shown + ": cannot read");
    if (n == 0) return hash.hex();
    hash.update(buffer.data(), static_cast<std::size_t>(n));
  }
}

/// Reads the document `blob` of `source`, checks its size and digest, parses
/// it and returns `walk(root)`.
template <class Walk>
auto with_blob(const Source& source, const BlobRef& blob, Walk walk) {
  const std::string shown = source.shown + blob.name;
  std::string text = read_document(blob_file(source, blob.name), shown);
  check_size(shown, text.size(), blob.size);
  check_digest(shown, sha256_of(text), blob.hex, "its digest");
  return with_text(text, shown, walk);
}

/// Applies the layer file `file` (named `shown`) onto `image.root` and
/// checks that its bytes hash to `expected`, or, with `uncompressed`, that
/// the tar they hold does (a docker diff_id); `what` names `expected` in the
/// message. A failure of the layer whose digest does not match is reported
/// as the damage it is.
void apply_checked(const std::string& file, const std::string& shown, const std::string& expected, bool uncompressed,
                   const std::string& what, BaseImage& image) {
  LayerRead read;
  try {
    apply_layer(file, shown, image.root, image.skipped, &read);
  } catch (const Error&) {
    if (read.sha256.empty()) read.sha256 = sha256_of_file(file, shown);
    if (!read.compressed || !uncompressed) check_digest(shown, read.sha256, expected, what);
    throw;
  }
  if (!uncompressed || !read.compressed) return check_digest(shown, read.sha256, expected, what);
  Sha256 hash;
  read_decompressed(file, kDecompressing, [&](const void* data, std::size_t size) { hash.update(data, size); });
  check_digest(shown, hash.hex(), expected, what);
}

/// The descriptor index.json names for `tag` ("" = its only one).
BlobRef pick_tagged(const Source& source, const std::string& tag) {
  return with_document(source.dir, source.shown, "index.json", [&](const JsonField& index) {
    std::vector<JsonField> manifests = index.at("manifests").elements();
    std::vector<std::string> tags;
    std::optional<JsonField> chosen;
    for (const JsonField& m : manifests) {
      std::optional<JsonField> annotations = present(m, "annotations");
      std::optional<JsonField> name = annotations ? present(*annotations, kRefName) : std::nullopt;
      std::string text = name ? name->string() : "";
      if (!text.empty()) tags.push_back(text);
      if (!tag.empty() && text == tag && !chosen) chosen = m;
    }
    if (!tag.empty() && !chosen) index.fail("no manifest tagged '" + tag + "'; tags: " + joined(tags));
    if (tag.empty()) {
      if (manifests.empty()) index.at("manifests").fail("empty, the layout holds no image");
      if (manifests.size() > 1)
        index.at("manifests")
            .fail("names " + std::to_string(manifests.size()) + " images, choose one with " + source.reference +
                  ":TAG; tags: " + joined(tags));
      chosen = manifests[0];
    }
    return blob_ref(*chosen);
  });
}

/// Follows manifest lists from `blob` to an image manifest for this machine.
BlobRef follow_index(const Source& source, BlobRef blob) {
  struct utsname machine;
  ::uname(&machine);
  const std::string arch = oci_architecture(machine.machine);
  for (int depth = 0;; ++depth) {
    std::optional<BlobRef> next = with_blob(source, blob, [&](const JsonField& doc) -> std::optional<BlobRef> {
      std::optional<JsonField> list = present(doc, "manifests");
      if (!list) return std::nullopt;
      std::vector<std::string> platforms;
      for (const JsonField& m : list->elements()) {
        std::optional<JsonField> platform = present(m, "platform");
        std::string a = platform ? string_or_empty(*platform, "architecture") : "";
        std::string os = platform ? string_or_empty(*platform, "os") : "";
        if (a == arch && os == "linux") return blob_ref(m);
        platforms.push_back(os + "/" + a);
      }
      list->fail("no image for linux/" + arch + "; platforms: " + joined(platforms));
    });
    if (!next) return blob;
    if (depth + 1 >= kMaxIndexDepth)
      throw Error(source.shown + blob.name + ": manifest lists nested deeper than " + std::to_string(kMaxIndexDepth));
    blob = *next;
  }
}

void open_oci(const Source& source, const std::string& tag, BaseImage& image) {
  BlobRef manifest = follow_index(source, pick_tagged(source, tag));
  BlobRef config;
  std::vector<BlobRef> layers;
  with_blob(source, manifest, [&](const JsonField& m) {
    config = blob_ref(m.at("config"));
    for (const JsonField& layer : m.at("layers").elements()) layers.push_back(blob_ref(layer));
    return 0;
  });
  image.config = with_blob(source, config, read_config);
  for (const BlobRef& layer : layers) {
    const std::string file = blob_file(source, layer.name);
    const std::string shown = source.shown + layer.name;
    struct stat st;
    if (::stat(file.c_str(), &st) != 0) throw_system_error(shown + ": cannot open");
    if (S_ISREG(st.st_mode)) check_size(shown, static_cast<std::uint64_t>(st.st_size), layer.size);
    apply_checked(file, shown, layer.hex, /*uncompressed=*/false, "its digest", image);
  }
}

/// `name` ("NAME:TAG") as docker spells it in full: "docker.io/library/NAME:TAG".
std::string full_docker_name(std::string name) {
  std::size_t slash = name.find('/');
  std::string first = slash == std::string::npos ? "" : name.substr(0, slash);
  bool has_host = first == "localhost" || first.find_first_of(".:") != std::string::npos;
  if (slash == std::string::npos) return "docker.io/library/" + name;
  return has_host ? name : "docker.io/" + name;
}

/// A file named in manifest.json, which must stay inside the archive.
std::string archive_file(const JsonField& field) {
  std::string name = field.string();
  bool dotdot = name == ".." || name.starts_with("../") || name.find("/../") != std::string::npos || name.ends_with("/..");
  if (name.empty() || name.starts_with('/') || dotdot) field.fail("not a file inside the archive: '" + name.substr(0, 80) + "'");
  return name;
}

/// The digest a docker archive's config file name carries ("<hex>.json" as
/// docker save, podman save and skopeo name it, "blobs/sha256/<hex>" as
/// docker 25 does), or "" for another name.
std::string digest_in_name(const std::string& name) {
  std::string hex = name.starts_with("blobs/sha256/") ? name.substr(13) : name.ends_with(".json") ? name.substr(0, name.size() - 5) : "";
  if (hex.size() != 64 || hex.find_first_not_of("0123456789abcdef") != std::string::npos) return "";
  return hex;
}

void open_docker(const Source& source, const std::string& tag, BaseImage& image) {
  const std::string file = source.shown + "manifest.json";
  std::optional<nlohmann::json> doc = parse_json(read_document(source.dir + "/manifest.json", file));
  if (!doc) throw Error(file + ": not valid JSON");
  JsonField root(*doc, file);
  std::vector<JsonField> entries = root.elements();
  std::vector<std::string> tags;
  std::optional<JsonField> chosen;
  for (const JsonField& entry : entries) {
    entry.expect_object();
    std::optional<JsonField> repo_tags = present(entry, "RepoTags");
    for (const std::string& t : repo_tags ? repo_tags->strings() : std::vector<std::string>{}) {
      tags.push_back(t);
      if (!tag.empty() && !chosen && full_docker_name(t) == full_docker_name(tag)) chosen = entry;
    }
  }
  if (!tag.empty() && !chosen) root.fail("no image tagged '" + tag + "'; tags: " + joined(tags));
  if (tag.empty()) {
    if (entries.empty()) root.fail("holds no image");
    if (entries.size() > 1)
      root.fail("holds " + std::to_string(entries.size()) + " images, choose one with " + source.reference +
                ":NAME:TAG; tags: " + joined(tags));
    chosen = entries[0];
  }
  std::string config = archive_file(chosen->at("Config"));
  std::vector<std::string> layers;
  for (const JsonField& layer : chosen->at("Layers").elements()) layers.push_back(archive_file(layer));
  const std::string config_shown = source.shown + config;
  std::string text = read_document(blob_file(source, config), config_shown);
  if (std::string hex = digest_in_name(config); !hex.empty()) check_digest(config_shown, sha256_of(text), hex, "its digest");
  std::vector<std::string> diff_ids;
  image.config = with_text(text, config_shown, [&](const JsonField& c) {
    JsonField ids = c.at("rootfs").at("diff_ids");
    for (const JsonField& id : ids.elements()) diff_ids.push_back(sha256_hex(id));
    if (diff_ids.size() != layers.size())
      ids.fail("names " + std::to_string(diff_ids.size()) + " layers, manifest.json " + std::to_string(layers.size()));
    return read_config(c);
  });
  for (std::size_t i = 0; i < layers.size(); ++i)
    apply_checked(blob_file(source, layers[i]), source.shown + layers[i], diff_ids[i], /*uncompressed=*/true, "its diff_id", image);
}

/// An image archive: unpacked into work/.layout, then read as a layout or a docker archive.
void open_archive(const std::string& path, const std::string& tag, const std::string& work, BaseImage& image) {
  Source source{.dir = work + "/.layout", .shown = path + ":", .confined = true, .reference = path};
  make_directory(source.dir);
  std::uint64_t skipped = 0;
  apply_layer(path, path, source.dir, skipped);
  if (exists(source.dir + "/manifest.json")) {
    image.kind = "docker-archive";
    open_docker(source, tag, image);
  } else if (is_image_layout(source.dir)) {
    image.kind = "oci-archive";
    open_oci(source, tag, image);
  } else {
    throw Error(path + ": not an image archive: holds neither manifest.json (docker-archive) nor oci-layout (oci-archive)");
  }
}

}  // namespace

std::string base_image_path(const std::string& reference) { return split_reference(reference).first; }

BaseImage open_base_image(const std::string& reference, const std::string& work_dir) {
  BaseImage image;
  image.reference = reference;
  auto [path, tag] = split_reference(reference);
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) throw_system_error(path + ": cannot open");
  if (S_ISDIR(st.st_mode) && !is_image_layout(path)) {
    if (!tag.empty()) throw Error(path + ": a root directory (no oci-layout file) takes no tag: '" + tag + "'");
    image.kind = "root";
    image.root = real_path(path);
  } else {
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) throw Error(path + ": not a directory or an image archive");
    const std::string work = real_path(work_dir);
    image.root = work + "/rootfs";
    make_directory(image.root);
    if (S_ISDIR(st.st_mode)) {
      image.kind = "oci-layout";
      std::string shown = path.ends_with('/') ? path : path + "/";
      open_oci(Source{.dir = path, .shown = shown, .confined = false, .reference = path}, tag, image);
    } else {
      open_archive(path, tag, work, image);
    }
  }
  TreeSize size = measure_tree(image.root);
  image.bytes = size.bytes;
  image.files = size.files;
  return image;
}

}  // namespace tracepack

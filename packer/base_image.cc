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
#include "tracepack/base_image.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include <optional>
#include <string_view>
#include <vector>

#include "image_layout.h"
#include "layer_apply.h"
#include "tracepack/error.h"
#include "tracepack/image_reader.h"

namespace tracepack {
namespace {

constexpr std::string_view kRefName = "org.opencontainers.image.ref.name";
constexpr int kMaxIndexDepth = 4;

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
  std::string dir;     ///< the directory holding them
  std::string shown;   ///< its name in messages, to which a file's name is appended ("img/", "app.tar:")
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

/// The descriptor index.json names for `tag` ("" = its only one): the blob name.
std::string pick_tagged(const Source& source, const std::string& tag) {
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
        index.at("manifests").fail("names " + std::to_string(manifests.size()) + " images, choose one with " + source.reference +
                                   ":TAG; tags: " + joined(tags));
      chosen = manifests[0];
    }
    return blob_name(*chosen);
  });
}

/// Follows manifest lists from the blob `name` to an image manifest for this machine.
std::string follow_index(const Source& source, std::string name) {
  struct utsname machine;
  ::uname(&machine);
  const std::string arch = oci_architecture(machine.machine);
  for (int depth = 0;; ++depth) {
    blob_file(source, name);
    std::optional<std::string> next = with_document(source.dir, source.shown, name, [&](const JsonField& doc) -> std::optional<std::string> {
      std::optional<JsonField> list = present(doc, "manifests");
      if (!list) return std::nullopt;
      std::vector<std::string> platforms;
      for (const JsonField& m : list->elements()) {
        std::optional<JsonField> platform = present(m, "platform");
        std::string a = platform ? string_or_empty(*platform, "architecture") : "";
        std::string os = platform ? string_or_empty(*platform, "os") : "";
        if (a == arch && os == "linux") return blob_name(m);
        platforms.push_back(os + "/" + a);
      }
      list->fail("no image for linux/" + arch + "; platforms: " + joined(platforms));
    });
    if (!next) return name;
    if (depth + 1 >= kMaxIndexDepth) throw Error(source.shown + name + ": manifest lists nested deeper than " + std::to_string(kMaxIndexDepth));
    name = *next;
  }
}

/// Applies `layers` (blob names of `source`) in order onto `image.root`.
void apply_layers(const Source& source, const std::vector<std::string>& layers, BaseImage& image) {
  for (const std::string& layer : layers) apply_layer(blob_file(source, layer), source.shown + layer, image.root, image.skipped);
}

void open_oci(const Source& source, const std::string& tag, BaseImage& image) {
  std::string manifest = follow_index(source, pick_tagged(source, tag));
  std::string config;
  std::vector<std::string> layers;
  with_document(source.dir, source.shown, manifest, [&](const JsonField& m) {
    config = blob_name(m.at("config"));
    for (const JsonField& layer : m.at("layers").elements()) layers.push_back(blob_name(layer));
    return 0;
  });
  blob_file(source, config);
  image.config = with_document(source.dir, source.shown, config, read_config);
  apply_layers(source, layers, image);
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
      root.fail("holds " + std::to_string(entries.size()) + " images, choose one with " + source.reference + ":NAME:TAG; tags: " + joined(tags));
    chosen = entries[0];
  }
  std::string config = archive_file(chosen->at("Config"));
  std::vector<std::string> layers;
  for (const JsonField& layer : chosen->at("Layers").elements()) layers.push_back(archive_file(layer));
  blob_file(source, config);
  std::optional<nlohmann::json> config_doc = parse_json(read_document(source.dir + "/" + config, source.shown + config));
  if (!config_doc) throw Error(source.shown + config + ": not valid JSON");
  const std::string config_shown = source.shown + config;
  JsonField config_root(*config_doc, config_shown);
  config_root.expect_object();
  image.config = read_config(config_root);
  apply_layers(source, layers, image);
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

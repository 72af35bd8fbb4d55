// write_image: a BundlePlan as a one-layer container image.
//
// Everything that can be refused is checked first (the format, the tag, the
// layer compression and level, the target's kind, names a layer cannot hold),
// then the image is assembled in a staging directory created beside the
// target (an AtomicFile, ".NAME.tmp.XXXXXX"), in the order the digests require:
//   1. the layer: write_plain_bundle (archive_writer.h) writes the plan as a plain tar ("layer.tar",
//      the very bytes of the tar format, manifest included); its SHA-256 is
//      the config's diff_id. It is then compressed (gzip or zstd, one bare
//      stream, with no timestamp in the gzip header) into blobs/sha256/,
//      hashed as it is written, and renamed to its digest; uncompressed, the
//      tar itself is renamed there.
//   2. the config (architecture, os, the container defaults, rootfs.diff_ids)
//      and the manifest (config + layer descriptors) as compact JSON blobs,
//      each named by the SHA-256 of its bytes;
//   3. index.json (one manifest, its ref.name annotation the tag; and, on
//      the index itself, kLayoutAnnotation, which marks a layout tracepack
//      wrote and may replace), oci-layout and, for docker-archive, the manifest.json that `docker
//      load` reads (Config, RepoTags, Layers pointing into blobs/).
// Then the output is put in place (put_in_place, which refuses to replace
// anything tracepack did not write): for "oci" the staging directory itself
// is renamed onto the target (an existing layout is swapped out by
// RENAME_EXCHANGE and removed); for the archives it is written as a tar into
// a temporary file beside the target (entries sorted, owner 0:0, one mtime),
// renamed over it, and the staging directory removed. Any error before that
// removes the staging directory and the temporary file, leaving a previous
// output as it was. When reproducible, every time is SOURCE_DATE_EPOCH or
// else kDefaultSourceDateEpoch, so building twice yields the same digests. Both archives, the
// compressed layer and the outer tar, are written by archive_sink.cc
// (compress_file and write_plain_tar, archive_files.h), which keeps
// libarchive out of this file. Calls go one way: this file calls the tree
// writer for the layer; write_bundle (bundle_writer.cc) calls this one.
#include "tracepack/oci_writer.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "archive_files.h"
#include "archive_writer.h"
#include "sha256.h"
#include "staged_output.h"
#include "tracepack/atomic_file.h"
#include "tracepack/clock.h"
#include "tracepack/error.h"
#include "tracepack/output_format.h"
#include "tracepack/posix.h"

namespace tracepack {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

constexpr std::size_t kChunkSize = 256 * 1024;
constexpr std::string_view kManifestType = "application/vnd.oci.image.manifest.v1+json";
constexpr std::string_view kIndexType = "application/vnd.oci.image.index.v1+json";
constexpr std::string_view kConfigType = "application/vnd.oci.image.config.v1+json";
constexpr std::string_view kRefNameAnnotation = "org.opencontainers.image.ref.name";

enum class ImageFormat { oci, oci_archive, docker_archive };

ImageFormat parse_image_format(std::string_view name) {
  if (name == "oci-archive") return ImageFormat::oci_archive;
  if (name == "docker-archive") return ImageFormat::docker_archive;
  return ImageFormat::oci;
}

// ---------------------------------------------------------------------------
// Names: tags and ports

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }

/// [a-z0-9]+ joined by '.', '_', "__" or a run of '-'.
bool is_path_component(std::string_view part) {
  if (part.empty() || !is_lower_alnum(part.front()) || !is_lower_alnum(part.back())) return false;
  std::size_t i = 0;
  while (i < part.size()) {
    std::size_t run = i;
    while (run < part.size() && !is_lower_alnum(part[run])) ++run;
    std::string_view sep = part.substr(i, run - i);
    bool dashes = std::all_of(sep.begin(), sep.end(), [](char c) { return c == '-'; });
    if (!sep.empty() && sep != "." && sep != "_" && sep != "__" && !dashes) return false;
    i = run;
    while (i < part.size() && is_lower_alnum(part[i])) ++i;
  }
  return true;
}

/// A registry host: letters, digits, '.' and '-', then an optional ":PORT".
bool is_host(std::string_view part) {
  std::size_t colon = part.find(':');
  std::string_view host = part.substr(0, colon);
  if (host.empty() || !std::all_of(host.begin(), host.end(), [](char c) { return is_alnum(c) || c == '.' || c == '-'; })) return false;
  if (colon == part.npos) return true;
  std::string_view port = part.substr(colon + 1);
  return !port.empty() && std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool looks_like_host(std::string_view part) { return part == "localhost" || part.find('.') != part.npos || part.find(':') != part.npos; }

bool is_tag_part(std::string_view tag) {
  if (tag.empty() || tag.size() > 128 || tag.front() == '.' || tag.front() == '-') return false;
  return std::all_of(tag.begin(), tag.end(), [](char c) { return is_alnum(c) || c == '_' || c == '.' || c == '-'; });
}

std::string name_error(std::string_view name) {
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    std::size_t slash = name.find('/', start);
    parts.push_back(name.substr(start, slash == name.npos ? name.npos : slash - start));
    if (slash == name.npos) break;
    start = slash + 1;
  }
  for (std::size_t i = 0; i < parts.size(); ++i) {
    bool host = i == 0 && parts.size() > 1 && looks_like_host(parts[0]);
    if (host ? !is_host(parts[i]) : !is_path_component(parts[i]))
      return "the name must be lower-case letters and digits joined by '.', '_', '__' or '-', in components separated by '/'";
  }
  return "";
}

/// Splits "NAME[:TAG]" at the ':' after the last '/' (a host's ":PORT" is not a tag).
std::pair<std::string_view, std::string_view> split_tag(std::string_view ref) {
  std::size_t colon = ref.rfind(':');
  std::size_t slash = ref.rfind('/');
  if (colon == ref.npos || (slash != ref.npos && colon < slash)) return {ref, {}};
  return {ref.substr(0, colon), ref.substr(colon + 1)};
}

// ---------------------------------------------------------------------------
// Digests and files

/// A content-addressed file of the layout and how it is described.
struct Blob {
  std::string media_type;
  std::string digest;  ///< "sha256:<hex>"
  std::uint64_t size = 0;

  std::string path() const { return "blobs/sha256/" + digest.substr(7); }
};

UniqueFd open_file(const fs::path& path, int flags) {
  UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC, 0644));
  if (fd.get() < 0) throw_system_error(path.string() + ": cannot open");
  return fd;
}

void write_all(int fd, const char* data, std::size_t size, const std::string& what) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error(system_error_message(what + ": cannot write", n < 0 ? errno : EIO));
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

/// Calls `chunk(data, size)` for each piece of the file at `path`.
template <typename Chunk>
void read_chunks(const fs::path& path, Chunk&& chunk) {
  UniqueFd fd = open_file(path, O_RDONLY);
  std::vector<char> buffer(kChunkSize);
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_system_error(path.string() + ": cannot read");
    if (n == 0) return;
    chunk(buffer.data(), static_cast<std::size_t>(n));
  }
}

std::uint64_t size_of(const fs::path& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) throw_system_error(path.string() + ": cannot stat");
  return static_cast<std::uint64_t>(st.st_size);
}

void rename_file(const fs::path& from, const fs::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) throw_system_error(from.string() + ": cannot rename to " + to.string());
}

std::string file_digest(const fs::path& path) {
  Sha256 sha;
  read_chunks(path, [&](const char* data, std::size_t size) { sha.update(data, size); });
  return "sha256:" + sha.hex();
}

std::string host_machine() {
  utsname u{};
  return uname(&u) == 0 ? u.machine : "";
}

/// The image's one point in time, what the layer's manifest entry gets too:
/// SOURCE_DATE_EPOCH, else the fixed default; now when not reproducible.
std::int64_t image_time(const WriteOptions& options) {
  if (!options.reproducible) return static_cast<std::int64_t>(std::time(nullptr));
  return options.source_date_epoch.value_or(kDefaultSourceDateEpoch);
}

// ---------------------------------------------------------------------------
// Checks before anything is written

/// The configuration with write_image's own defaults, checked.
ImageConfig checked_config(const WriteOptions& options) {
  ImageConfig c = options.image;
  if (c.tag.empty()) {
    // Bundle names may hold upper case; image names may not.
    c.tag = options.bundle_name.empty() ? "bundle" : options.bundle_name;
    for (char& ch : c.tag)
      if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  }
  if (std::string why = image_tag_error(c.tag); !why.empty())
    throw Error("image tag '" + c.tag + "': " + why + " (set image.tag in the spec)");
  c.tag = full_image_tag(c.tag);
  if (c.architecture.empty()) c.architecture = oci_architecture(host_machine());
  if (c.os.empty()) c.os = "linux";
  if (!c.env.contains("PATH")) c.env["PATH"] = std::string(kDefaultImagePath);
  if (std::find(std::begin(kLayerCompressions), std::end(kLayerCompressions), c.layer_compression) == std::end(kLayerCompressions))
    throw Error("layer compression '" + c.layer_compression + "': unknown (use none, gzip, zstd)");
  int max = c.layer_compression == "zstd" ? 22 : 9;
  if (c.layer_compression != "none" && options.compression_level > max)
    throw Error("compression level " + std::to_string(options.compression_level) + ": out of range for " + c.layer_compression + " (0-" +
                std::to_string(max) + ")");
  return c;
}

/// Names a layer cannot hold: ".wh." marks a deletion to every image client.
void check_layer_names(const BundlePlan& plan) {
  for (const PlanEntry& e : plan.entries) {
    std::size_t slash = e.path.rfind('/');
    if (slash != e.path.npos && e.path.compare(slash + 1, 4, ".wh.") == 0)
      throw Error(encode_path(e.path) + ": cannot be stored in an image layer (a '.wh.' name marks a deleted file)");
  }
}

// ---------------------------------------------------------------------------
// The staging directory and the output

/// The layout under construction, in a directory beside the target; removed
/// when destroyed unless it was renamed into place.
class Staging {
 public:
  Staging(const std::string& target, std::string_view format) : shown_(target), format_(parse_image_format(format)) {
    std::string trimmed = target;
    while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
    target_ = fs::path(trimmed);
    std::string name = target_.filename().string();
    if (name.empty() || name == "." || name == "..")
      throw Error(target + ": not a usable output name (name a file or directory to create)");
    check_replaceable(AT_FDCWD, target_.string(), format, shown_);
    fs::path parent = target_.has_parent_path() ? target_.parent_path() : fs::path(".");
    dir_.emplace(AT_FDCWD, (parent / ("." + name + ".tmp.")).string(), AtomicFile::Kind::directory,
                 parent.string() + ": cannot create a temporary directory");
    for (const fs::path& sub : {dir() / "blobs", dir() / "blobs" / "sha256"})
      if (::mkdir(sub.c_str(), 0755) != 0) throw_system_error(shown_ + ": cannot create " + sub.string());
  }
  Staging(const Staging&) = delete;
  Staging& operator=(const Staging&) = delete;

  fs::path dir() const { return dir_->name(); }
  const std::string& shown() const { return shown_; }

  /// Records a file written in the layout (a path relative to it).
  void added(const std::string& name) { files_.push_back(name); }

  /// Writes `text` as the layout file `name`.
  void write_text(const std::string& name, const std::string& text) {
    UniqueFd fd = open_file(dir() / name, O_WRONLY | O_CREAT | O_EXCL);
    write_all(fd.get(), text.data(), text.size(), shown_);
    added(name);
  }

  /// Puts the image in place; returns its size in bytes.
  std::uint64_t commit(std::int64_t mtime);

 private:
  std::uint64_t publish_directory();
  std::uint64_t publish_archive(std::int64_t mtime);

  std::string shown_;
  ImageFormat format_;
  fs::path target_;
  std::optional<AtomicFile> dir_;  ///< the layout being built
  std::optional<AtomicFile> tar_;  ///< the archive formats: the outer tar beside the target
  std::vector<std::string> files_;
};

std::uint64_t Staging::commit(std::int64_t mtime) { return format_ == ImageFormat::oci ? publish_directory() : publish_archive(mtime); }

std::uint64_t Staging::publish_directory() {
  std::uint64_t total = 0;
  for (const std::string& name : files_) total += size_of(dir() / name);
  if (fchmod(dir_->fd(), 0755) != 0) throw_system_error(shown_ + ": cannot write");
  if (syncfs(dir_->fd()) != 0) throw_system_error(shown_ + ": cannot write");
  put_in_place(AT_FDCWD, dir_->name(), target_.string(), shown_);
  dir_->release();
  return total;
}

// ---------------------------------------------------------------------------
// The outer tar and the layer's compression (archive_sink.cc writes both)

std::uint64_t Staging::publish_archive(std::int64_t mtime) {
  fs::path parent = target_.has_parent_path() ? target_.parent_path() : fs::path(".");
  tar_.emplace(AT_FDCWD, (parent / ("." + target_.filename().string() + ".tmp.")).string(), AtomicFile::Kind::file,
               shown_ + ": cannot create a temporary file beside it");
  std::sort(files_.begin(), files_.end());
  std::vector<TarMember> members = {{"blobs/", true, "", mtime}, {"blobs/sha256/", true, "", mtime}};
  for (const std::string& file : files_) members.push_back({file, false, (dir() / file).string(), mtime});
  WrittenFile written = write_plain_tar(tar_->take_fd(), members, shown_);
  put_in_place(AT_FDCWD, tar_->name(), target_.string(), shown_);
  tar_->release();
  return written.size;
}

/// Compresses the layer tar at `tar` into `out` with the chosen compressor.
Blob compress_layer(const fs::path& tar, UniqueFd out, const ImageConfig& config, const WriteOptions& options) {
  Compression how;
  how.compressor = config.layer_compression == "gzip" ? Compressor::gzip : Compressor::zstd;
  how.level = options.compression_level;
  how.threads = options.compression_threads;
  how.reproducible = options.reproducible;
  WrittenFile file = compress_file(tar.string(), std::move(out), how, options.path);
  return {"application/vnd.oci.image.layer.v1.tar+" + config.layer_compression, "sha256:" + file.sha256, file.size};
}

// ---------------------------------------------------------------------------
// The image's JSON documents

Json descriptor(const Blob& blob) { return Json{{"mediaType", blob.media_type}, {"digest", blob.digest}, {"size", blob.size}}; }

Json container_config(const ImageConfig& c) {
  Json j = Json::object();
  if (!c.user.empty()) j["User"] = c.user;
  if (!c.exposed_ports.empty()) {
    std::vector<std::string> ports = c.exposed_ports;
    std::sort(ports.begin(), ports.end());
    ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
    for (const std::string& port : ports) j["ExposedPorts"][port] = Json::object();
  }
  for (const auto& [name, value] : c.env) j["Env"].push_back(name + "=" + value);
  if (c.entrypoint && !c.entrypoint->empty()) j["Entrypoint"] = *c.entrypoint;
  if (c.cmd && !c.cmd->empty()) j["Cmd"] = *c.cmd;
  if (!c.workdir.empty()) j["WorkingDir"] = c.workdir;
  if (!c.labels.empty()) j["Labels"] = c.labels;
  return j;
}

Json config_json(const ImageConfig& c, const std::string& diff_id, std::int64_t created) {
  Json j;
  j["created"] = utc_timestamp(created);
  j["architecture"] = c.architecture;
  j["os"] = c.os;
  j["config"] = container_config(c);
  j["rootfs"] = {{"type", "layers"}, {"diff_ids", {diff_id}}};
  j["history"] = {{{"created", utc_timestamp(created)}, {"created_by", "tracepack"}}};
  return j;
}

Json manifest_json(const Blob& config, const Blob& layer) {
  Json j;
  j["schemaVersion"] = 2;
  j["mediaType"] = kManifestType;
  j["config"] = descriptor(config);
  j["layers"] = {descriptor(layer)};
  return j;
}

Json index_json(const Blob& manifest, const std::string& tag) {
  Json entry = descriptor(manifest);
  entry["annotations"] = {{kRefNameAnnotation, tag}};
  Json j;
  j["schemaVersion"] = 2;
  j["mediaType"] = kIndexType;
  j["manifests"] = {entry};
  j["annotations"] = {{kLayoutAnnotation, "tracepack"}};
  return j;
}

Json docker_manifest_json(const Blob& config, const Blob& layer, const std::string& tag) {
  return Json::array({Json{{"Config", config.path()}, {"RepoTags", {tag}}, {"Layers", {layer.path()}}}});
}

/// Stores `doc` as a content-addressed blob.
Blob add_json_blob(Staging& staging, const Json& doc, std::string_view media_type) {
  std::string text = doc.dump();
  Sha256 sha;
  sha.update(text.data(), text.size());
  Blob blob{std::string(media_type), "sha256:" + sha.hex(), text.size()};
  staging.write_text(blob.path(), text);
  return blob;
}

/// Writes the layer tar, its compressed blob, and returns the blob with the tar's digest.
std::pair<Blob, std::string> add_layer(Staging& staging, const BundlePlan& plan, const WriteOptions& options, const ImageConfig& config,
                                       WriteResult& result) {
  WriteOptions tar = options;
  tar.format = "tar";
  tar.path = (staging.dir() / "layer.tar").string();
  tar.image = {};
  result = write_plain_bundle(plan, tar, "tar");
  std::string diff_id = file_digest(tar.path);
  Blob blob{"application/vnd.oci.image.layer.v1.tar", diff_id, size_of(tar.path)};
  if (config.layer_compression == "none") {
    rename_file(tar.path, staging.dir() / blob.path());
  } else {
    std::string compressed = (staging.dir() / "layer.compressed").string();
    AtomicFile out(AT_FDCWD, compressed + ".", AtomicFile::Kind::file, compressed + ": cannot open");
    blob = compress_layer(tar.path, out.take_fd(), config, options);
    std::string to = (staging.dir() / blob.path()).string();
    out.commit(to, out.name() + ": cannot rename to " + to);
    if (::unlink(tar.path.c_str()) != 0) throw_system_error(tar.path + ": cannot remove");
  }
  staging.added(blob.path());
  return {blob, diff_id};
}

}  // namespace

std::string image_tag_error(std::string_view tag) {
  if (tag.empty()) return "empty";
  if (tag.size() > 255) return "longer than 255 characters";
  if (tag.find('@') != tag.npos) return "a digest ('@') cannot name an image built here";
  auto [name, version] = split_tag(tag);
  if (version.data() != nullptr && !is_tag_part(version))
    return "the tag after ':' must be 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'";
  return name_error(name);
}

std::string full_image_tag(std::string_view tag) {
  return split_tag(tag).second.data() == nullptr ? std::string(tag) + ":latest" : std::string(tag);
}

std::optional<std::string> normalize_port(std::string_view port) {
  std::size_t slash = port.find('/');
  std::string_view number = port.substr(0, slash);
  std::string proto = slash == port.npos ? "tcp" : std::string(port.substr(slash + 1));
  if (proto != "tcp" && proto != "udp" && proto != "sctp") return std::nullopt;
  if (number.empty() || number.size() > 5 || number[0] == '0' ||
      !std::all_of(number.begin(), number.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  if (std::stoi(std::string(number)) > 65535) return std::nullopt;
  return std::string(number) + "/" + proto;
}

std::string oci_architecture(std::string_view machine) {
  if (machine == "x86_64") return "amd64";
  if (machine == "aarch64" || machine == "arm64") return "arm64";
  if (machine == "i386" || machine == "i486" || machine == "i586" || machine == "i686") return "386";
  if (machine.starts_with("armv")) return "arm";
  if (machine == "mips64el") return "mips64le";
  return std::string(machine);
}

WriteResult write_image(const BundlePlan& plan, const WriteOptions& options) {
  ImageFormat format = parse_image_format(options.format);
  ImageConfig config = checked_config(options);
  check_layer_names(plan);
  std::int64_t created = image_time(options);
  Staging staging(options.path, options.format);
  WriteResult result;
  auto [layer, diff_id] = add_layer(staging, plan, options, config, result);
  Blob config_blob = add_json_blob(staging, config_json(config, diff_id, created), kConfigType);
  Blob manifest = add_json_blob(staging, manifest_json(config_blob, layer), kManifestType);
  staging.write_text("index.json", index_json(manifest, config.tag).dump());
  staging.write_text("oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  if (format == ImageFormat::docker_archive)
    staging.write_text("manifest.json", docker_manifest_json(config_blob, layer, config.tag).dump());
  result.output_bytes = staging.commit(created);
  result.format = options.format;
  result.image_digest = manifest.digest;
  return result;
}

}  // namespace tracepack

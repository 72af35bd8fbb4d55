// from_image.h: the pieces a build from an image shares with pack, verify
// and report. Opening and unpacking is base_image.cc's; here the scratch
// directory's lifetime, and the one place the base's configuration meets
// the spec's.
#include "tracepack/from_image.h"

#include <fcntl.h>
#include <sys/utsname.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "tracepack/error.h"

namespace tracepack {

namespace fs = std::filesystem;

std::string from_reference(const std::string& reference, const fs::path& spec_dir) {
  if (reference.starts_with('/') || spec_dir.empty()) return reference;
  return (spec_dir / reference).string();
}

std::string base_reference(const std::string& given, const BundleSpec& spec) {
  if (!given.empty()) return from_reference(given, fs::current_path());
  if (spec.from) return from_reference(spec.from->reference, fs::absolute(spec.file).parent_path());
  return "";
}

namespace {

std::string scratch_prefix() {
  const char* tmpdir = std::getenv("TMPDIR");
  return std::string(tmpdir != nullptr && *tmpdir == '/' ? tmpdir : "/var/tmp") + "/tracepack-from.";
}

}  // namespace

OpenedBase::OpenedBase(const std::string& reference) {
  std::string prefix = scratch_prefix();
  work_ = std::make_unique<AtomicFile>(AT_FDCWD, prefix, AtomicFile::Kind::directory,
                                       prefix + "XXXXXX: cannot create a directory for the base image");
  image_ = open_base_image(reference, work_->name());
}

void check_runs_here(const BaseImage& image) {
  utsname machine{};
  uname(&machine);
  std::string here = oci_architecture(machine.machine);
  const ImageConfig& config = image.config;
  if (!config.architecture.empty() && config.architecture != here)
    throw Error(image.reference + ": an image for " + config.architecture + ", and this machine is " + here +
                ": its programs cannot run here to be traced");
  if (!config.os.empty() && config.os != "linux")
    throw Error(image.reference + ": an image for " + config.os + ": its programs cannot run on linux to be traced");
}

ImageConfig merge_image_config(const ImageConfig& base, const ImageConfig& spec) {
  ImageConfig merged = base;
  if (spec.entrypoint) {
    merged.entrypoint = spec.entrypoint;
    merged.cmd = spec.cmd;  // a new entrypoint does not inherit the old one's arguments
  } else if (spec.cmd) {
    merged.cmd = spec.cmd;
  }
  for (const auto& [name, value] : spec.env) merged.env[name] = value;
  if (!spec.workdir.empty()) merged.workdir = spec.workdir;
  if (!spec.user.empty()) merged.user = spec.user;
  for (const auto& [name, value] : spec.labels) merged.labels[name] = value;
  for (const std::string& port : spec.exposed_ports)
    if (std::find(merged.exposed_ports.begin(), merged.exposed_ports.end(), port) == merged.exposed_ports.end())
      merged.exposed_ports.push_back(port);
  std::sort(merged.exposed_ports.begin(), merged.exposed_ports.end());
  if (!spec.architecture.empty()) merged.architecture = spec.architecture;
  if (!spec.os.empty()) merged.os = spec.os;
  merged.tag = spec.tag;
  merged.layer_compression = spec.layer_compression;
  return merged;
}

ImageRunEnvironment run_environment(const ImageConfig& config) {
  ImageRunEnvironment run;
  for (const auto& [name, value] : config.env) run.env.push_back(name + "=" + value);
  // As container runtimes do: an image that sets no PATH gets the usual one.
  if (!config.env.contains("PATH")) run.env.push_back("PATH=" + std::string(kDefaultImagePath));
  run.workdir = config.workdir;
  run.user = config.user;
  if (config.entrypoint) run.command = *config.entrypoint;
  if (config.cmd) run.command.insert(run.command.end(), config.cmd->begin(), config.cmd->end());
  return run;
}

ImageRunEnvironment run_environment(const ManifestBase& base) {
  return ImageRunEnvironment{.env = base.env, .workdir = base.workdir, .user = base.user, .command = base.command};
}

std::vector<IncludeRule> config_includes(const ImageConfig& config, const std::string& root, const SourceLocation& where) {
  auto numeric = [](std::string_view id) { return !id.empty() && id.find_first_not_of("0123456789") == std::string_view::npos; };
  std::string_view user = config.user;
  std::size_t colon = user.find(':');
  std::string_view name = user.substr(0, colon);
  std::string_view group = colon == std::string_view::npos ? std::string_view() : user.substr(colon + 1);
  std::vector<IncludeRule> rules;
  if (user.empty() || (numeric(name) && (colon == std::string_view::npos || numeric(group)))) return rules;
  for (const char* file : {"/etc/passwd", "/etc/group"}) {
    std::error_code ec;
    if (fs::exists(fs::path(root + file), ec))
      rules.push_back(IncludeRule{.kind = IncludeRule::Kind::glob, .pattern = file, .where = where});
  }
  return rules;
}

void read_from_base(PackRequest& request, const OpenedBase& base) {
  request.spec.image = merge_image_config(base.image().config, request.spec.image);
  request.root = base.root();
  request.from = base_record(base.image(), run_environment(request.spec.image));
  SourceLocation where = request.spec.from ? request.spec.from->where : SourceLocation{.file = "--from"};
  for (IncludeRule& rule : config_includes(request.spec.image, base.root(), where)) request.spec.include.push_back(std::move(rule));
}

ManifestBase base_record(const BaseImage& image, const ImageRunEnvironment& run) {
  return ManifestBase{.reference = image.reference,
                      .kind = image.kind,
                      .bytes = image.bytes,
                      .files = image.files,
                      .env = run.env,
                      .workdir = run.workdir,
                      .user = run.user,
                      .command = run.command};
}

std::string size_reduction_line(std::uint64_t base_bytes, std::uint64_t bundle_bytes) {
  char line[160];
  std::snprintf(line, sizeof line, "from %.1f MB (the base image, uncompressed) to %.1f MB", static_cast<double>(base_bytes) / 1e6,
                static_cast<double>(bundle_bytes) / 1e6);
  return line;
}

}  // namespace tracepack

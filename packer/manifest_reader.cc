// read_manifest: a bundle's ".tracepack/manifest.json" back into memory.
//
// A bundle directory is read with one open(2) of the member. An archive is
// read with an ArchiveReader (archive_reader.h: every filter and format), its
// headers walked until the member named ".tracepack/manifest.json" (with or
// without a leading "./"); only that member's data is read, and its size is
// checked against kMaxManifestBytes first. The JSON is then checked
// field by field: the signature ("format": "tracepack-manifest") and the
// version first, so that a newer manifest is refused with a clear message.
#include "tracepack/manifest_reader.h"

#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <utility>

#include "archive_reader.h"
#include "tracepack/error.h"

namespace tracepack {
namespace {

constexpr std::string_view kMember = ".tracepack/manifest.json";
constexpr std::int64_t kMaxManifestBytes = std::int64_t{1} << 30;

/// Any archive; errors as "<path>: not a trace or a bundle: <why>".
constexpr ArchiveReadOptions kReading{
    .skip_damaged_headers = true,
    .open_error = "not a trace or a bundle: ",
    .header_error = "not a trace or a bundle: ",
    .data_error = "cannot read the manifest: ",
};

std::string read_whole_file(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw_system_error(file + ": cannot read");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool is_member(std::string_view name) {
  if (name.starts_with("./")) name.remove_prefix(2);
  return name == kMember;
}

std::string read_member(ArchiveReader& reader, const ArchiveMember& member, const std::string& path) {
  if (member.size < 0 || member.size > kMaxManifestBytes) throw Error(path + ": manifest is too large");
  std::optional<std::string> text = reader.read_data(kMaxManifestBytes);
  if (!text) throw Error(path + ": manifest is too large");
  return std::move(*text);
}

std::string read_archive_manifest(const std::string& path) {
  ArchiveReader reader(path, kReading);
  ArchiveMember member;
  while (reader.next(member))
    if (is_member(member.name)) return read_member(reader, member, path);
  throw Error(path + ": not a tracepack bundle: no " + std::string(kMember));
}

std::string text_field(const nlohmann::json& j, const char* key, const std::string& where) {
  if (!j.contains(key)) return "";
  if (!j[key].is_string()) throw Error(where + ": '" + key + "' must be a string");
  return j[key].get<std::string>();
}

std::vector<std::string> text_list(const nlohmann::json& j, const char* key, const std::string& where) {
  std::vector<std::string> out;
  if (!j.contains(key)) return out;
  if (!j[key].is_array()) throw Error(where + ": '" + key + "' must be a list");
  for (const nlohmann::json& item : j[key]) {
    if (!item.is_string()) throw Error(where + ": '" + key + "' entries must be strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

std::uint64_t number_field(const nlohmann::json& j, const char* key, const std::string& where) {
  if (!j.contains(key)) return 0;
  if (!j[key].is_number_unsigned()) throw Error(where + ": '" + key + "' must be a number");
  return j[key].get<std::uint64_t>();
}

ManifestEntry parse_entry(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw Error(where + ": entries must be objects");
  ManifestEntry e;
  e.path = decode_path(text_field(j, "path", where));
  if (!e.path.starts_with('/')) throw Error(where + ": entry path must be absolute");
  e.type = text_field(j, "type", where);
  e.size = number_field(j, "size", where);
  e.mode = static_cast<std::uint32_t>(number_field(j, "mode", where) & 07777);
  e.sha256 = text_field(j, "sha256", where);
  e.link_target = decode_path(text_field(j, "link_target", where));
  e.hardlink_to = decode_path(text_field(j, "hardlink_to", where));
  e.reasons = text_list(j, "reasons", where);
  e.tests = text_list(j, "tests", where);
  return e;
}

void parse_exclusions(const nlohmann::json& doc, Manifest& m, const std::string& name) {
  if (!doc.contains("excluded")) return;
  if (!doc["excluded"].is_array()) throw Error(name + ": 'excluded' must be a list");
  m.has_exclusions = true;
  for (const nlohmann::json& x : doc["excluded"]) {
    if (!x.is_object()) throw Error(name + ": 'excluded' entries must be objects");
    m.excluded.push_back({decode_path(text_field(x, "path", name)), text_field(x, "reason", name)});
  }
}

}  // namespace

Manifest parse_manifest(std::string_view text, const std::string& name) {
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || doc.value("format", "") != "tracepack-manifest")
    throw Error(name + ": not a tracepack manifest");
  Manifest m;
  if (!doc.contains("version") || !doc["version"].is_number_integer()) throw Error(name + ": manifest has no version");
  m.version = doc["version"].get<int>();
  if (m.version != kManifestVersion)
    throw Error(name + ": manifest version " + std::to_string(m.version) + " is not supported (this tracepack reads version " +
                std::to_string(kManifestVersion) + ")");
  m.bundle = text_field(doc, "bundle", name);
  if (!doc.contains("entries") || !doc["entries"].is_array()) throw Error(name + ": manifest has no 'entries' list");
  std::size_t index = 0;
  for (const nlohmann::json& j : doc["entries"])
    m.entries.push_back(parse_entry(j, name + ": entry " + std::to_string(++index)));
  parse_exclusions(doc, m, name);
  return m;
}

Manifest read_manifest(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) throw_system_error(path + ": cannot read");
  if (S_ISDIR(st.st_mode)) {
    std::string member = path + "/" + std::string(kMember);
    if (stat(member.c_str(), &st) != 0) throw Error(path + ": not a tracepack bundle: no " + std::string(kMember));
    return parse_manifest(read_whole_file(member), member);
  }
  return parse_manifest(read_archive_manifest(path), path + ":" + std::string(kMember));
}

bool is_trace_file(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) throw_system_error(path + ": cannot read");
  if (!S_ISREG(st.st_mode)) return false;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_system_error(path + ": cannot read");
  char head[64] = {};
  in.read(head, sizeof head);
  std::string_view text(head, static_cast<std::size_t>(in.gcount()));
  return text.starts_with("{") && text.find("\"tracepack-trace\"") != std::string_view::npos;
}

}  // namespace tracepack

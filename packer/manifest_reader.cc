// read_manifest: a bundle's ".tracepack/manifest.json" back into memory.
//
// A bundle directory is read with one open(2) of the member. An archive is
// opened with libarchive in read mode, every filter and format enabled, and
// its headers are walked until the member named ".tracepack/manifest.json"
// (with or without a leading "./"); only that member's data is read, and its
// size is checked against kMaxManifestBytes first. The JSON is then checked
// field by field: the signature ("format": "tracepack-manifest") and the
// version first, so that a newer manifest is refused with a clear message.
#include "tracepack/manifest_reader.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tracepack/error.h"

namespace tracepack {
namespace {

constexpr std::string_view kMember = ".tracepack/manifest.json";
constexpr std::int64_t kMaxManifestBytes = std::int64_t{1} << 30;

struct ArchiveCloser {
  void operator()(archive* a) const { archive_read_free(a); }
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

std::string read_member(archive* a, archive_entry* entry, const std::string& path) {
  std::int64_t size = archive_entry_size_is_set(entry) ? archive_entry_size(entry) : 0;
  if (size < 0 || size > kMaxManifestBytes) throw Error(path + ": manifest is too large");
  std::string text;
  char buffer[65536];
  for (;;) {
    la_ssize_t n = archive_read_data(a, buffer, sizeof buffer);
    if (n < 0) throw Error(path + ": cannot read the manifest: " + archive_error_string(a));
    if (n == 0) return text;
    text.append(buffer, static_cast<std::size_t>(n));
    if (static_cast<std::int64_t>(text.size()) > kMaxManifestBytes) throw Error(path + ": manifest is too large");
  }
}

std::string read_archive_manifest(const std::string& path) {
  std::unique_ptr<archive, ArchiveCloser> a(archive_read_new());
  archive_read_support_filter_all(a.get());
  archive_read_support_format_all(a.get());
  if (archive_read_open_filename(a.get(), path.c_str(), 65536) != ARCHIVE_OK)
    throw Error(path + ": not a trace or a bundle: " + archive_error_string(a.get()));
  archive_entry* entry = nullptr;
  for (;;) {
    int status = archive_read_next_header(a.get(), &entry);
    if (status == ARCHIVE_EOF) break;
    if (status < ARCHIVE_WARN) throw Error(path + ": not a trace or a bundle: " + archive_error_string(a.get()));
    if (is_member(archive_entry_pathname(entry))) return read_member(a.get(), entry, path);
  }
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

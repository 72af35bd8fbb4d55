// read_manifest: a bundle's ".tracepack/manifest.json" back into memory.
//
// A bundle directory is read with one open(2) of the member. An archive is
// read with an ArchiveReader (archive_reader.h: every filter and format), its
// headers walked until the member named ".tracepack/manifest.json" (with or
// without a leading "./"); only that member's data is read, and its size is
// checked against kMaxManifestBytes first. The JSON is then checked
// field by field: the signature ("format": "tracepack-manifest") and the
// version first, so that a newer manifest is refused with a clear message,
// then every field read for its type (JsonField, json_field.h), so that a
// damaged manifest is named by file and field instead of crashing a reader.
#include "tracepack/manifest_reader.h"

#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <utility>

#include "archive_reader.h"
#include "json_field.h"
#include "tracepack/error.h"
#include "tracepack/knowledge.h"

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

/// The entry's "type"; an entry without one is a regular file.
EntryType entry_type_of(const JsonField& j) {
  std::optional<JsonField> field = j.find("type");
  if (!field) return EntryType::regular;
  std::string name = field->string();
  std::optional<EntryType> type = parse_entry_type(name);
  if (!type) field->fail("unknown entry type '" + name + "' (expected regular, directory or symlink)");
  return *type;
}

ManifestEntry parse_entry(const JsonField& j) {
  ManifestEntry e;
  e.path = j.get_or("path", PathBytes(), &JsonField::path_bytes);
  if (!e.path.starts_with('/')) j.at("path").fail("not an absolute path: '" + encode_path(e.path) + "'");
  e.type = entry_type_of(j);
  e.size = j.get_or("size", std::uint64_t{0}, &JsonField::unsigned_integer);
  e.mode = static_cast<std::uint32_t>(j.get_or("mode", std::uint64_t{0}, &JsonField::unsigned_integer) & 07777);
  e.sha256 = j.get_or("sha256", std::string(), &JsonField::string);
  e.link_target = j.get_or("link_target", PathBytes(), &JsonField::path_bytes);
  e.hardlink_to = j.get_or("hardlink_to", PathBytes(), &JsonField::path_bytes);
  e.reasons = j.get_or("reasons", std::vector<std::string>(), &JsonField::strings);
  e.tests = j.get_or("tests", std::vector<std::string>(), &JsonField::strings);
  return e;
}

void parse_exclusions(const JsonField& doc, Manifest& m) {
  std::optional<JsonField> excluded = doc.find("excluded");
  if (!excluded) return;
  m.has_exclusions = true;
  // The manifest keeps each reason's sentence: read back into its cause here, once.
  for (const JsonField& x : excluded->elements())
    m.excluded.push_back({.path = x.get_or("path", PathBytes(), &JsonField::path_bytes),
                          .reason = parse_exclusion(x.get_or("reason", std::string(), &JsonField::string))});
}

void parse_base(const JsonField& doc, Manifest& m) {
  std::optional<JsonField> from = doc.find("from");
  if (!from) return;
  from->expect_object();
  ManifestBase base;
  base.reference = from->at("reference").string();
  base.kind = from->get_or("kind", std::string(), &JsonField::string);
  base.bytes = from->get_or("bytes", std::uint64_t{0}, &JsonField::unsigned_integer);
  base.files = from->get_or("files", std::uint64_t{0}, &JsonField::unsigned_integer);
  base.env = from->get_or("env", std::vector<std::string>(), &JsonField::strings);
  base.workdir = from->get_or("workdir", std::string(), &JsonField::string);
  base.user = from->get_or("user", std::string(), &JsonField::string);
  base.command = from->get_or("command", std::vector<std::string>(), &JsonField::strings);
  m.from = std::move(base);
}

void parse_review(const JsonField& doc, Manifest& m) {
  std::optional<JsonField> review = doc.find("review");
  if (!review) return;
  review->expect_object();
  m.review_ignore = review->get_or("ignore", std::vector<std::string>(), &JsonField::strings);
}

void parse_packs(const JsonField& doc, Manifest& m) {
  std::optional<JsonField> packs = doc.find("packs");
  if (!packs) return;
  packs->expect_object();
  m.packs_on = packs->get_or("on", std::vector<std::string>(), &JsonField::strings);
  std::optional<JsonField> knowledge = packs->find("knowledge");
  if (!knowledge) return;
  for (const JsonField& pack : knowledge->elements()) {
    std::string file = pack.get_or("file", std::string(), &JsonField::string);
    m.knowledge.push_back(parse_pack(pack.get_or("text", std::string(), &JsonField::string), file));
  }
}

/// The signature: anything but "format": "tracepack-manifest" is another document.
bool is_manifest(const std::optional<nlohmann::json>& doc) {
  if (!doc || !doc->is_object()) return false;
  auto format = doc->find("format");
  return format != doc->end() && format->is_string() && format->get_ref<const std::string&>() == "tracepack-manifest";
}

}  // namespace

Manifest parse_manifest(std::string_view text, const std::string& name) {
  std::optional<nlohmann::json> doc = parse_json(text);
  if (!is_manifest(doc)) throw Error(name + ": not a tracepack manifest");
  JsonField root(*doc, name);
  Manifest m;
  std::int64_t version = root.at("version").integer();
  if (version != kManifestVersion)
    throw Error(name + ": manifest version " + std::to_string(version) + " is not supported (this tracepack reads version " +
                std::to_string(kManifestVersion) + ")");
  m.version = kManifestVersion;
  m.bundle = root.get_or("bundle", std::string(), &JsonField::string);
  for (const JsonField& entry : root.at("entries").elements()) m.entries.push_back(parse_entry(entry));
  parse_exclusions(root, m);
  parse_base(root, m);
  parse_review(root, m);
  parse_packs(root, m);
  if (root.find("tests")) m.tests = root.at("tests").strings();
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

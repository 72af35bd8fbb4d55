// diff_entries: two lists of entries (from manifests or plans) compared.
//
// Both lists are sorted by path and walked together, as a merge: a path only
// in A is removed, only in B added, in both compared field by field (type,
// size, mode, sha256 when both sides know it, link target). Sizes count for
// regular files only. The renderers print the lists in path order and the
// totals last; numbers that are modes print in octal.
#include "tracepack/diff.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "sha256.h"
#include "tracepack/posix.h"

namespace tracepack {
namespace {

std::string octal(std::uint32_t mode) {
  char text[16];
  std::snprintf(text, sizeof text, "%04o", mode & 07777);
  return text;
}

std::vector<FieldChange> compare(const DiffEntry& a, const DiffEntry& b) {
  std::vector<FieldChange> changes;
  auto change = [&](std::string field, std::string_view from, std::string_view to) {
    changes.push_back({.field = std::move(field), .a = std::string(from), .b = std::string(to)});
  };
  if (a.type != b.type) change("type", to_string(a.type), to_string(b.type));
  if (a.size != b.size) change("size", std::to_string(a.size), std::to_string(b.size));
  if (a.mode != b.mode) change("mode", octal(a.mode), octal(b.mode));
  if (!a.sha256.empty() && !b.sha256.empty() && a.sha256 != b.sha256) change("sha256", a.sha256, b.sha256);
  if (a.link_target != b.link_target) change("link_target", encode_path(a.link_target), encode_path(b.link_target));
  return changes;
}

// An empty value (no link target before, no digest) as text.
std::string shown(const std::string& value) { return value.empty() ? "(none)" : value; }

std::uint64_t content_bytes(const DiffEntry& e) { return e.type == EntryType::regular ? e.size : 0; }

void sort_by_path(std::vector<DiffEntry>& entries) {
  std::sort(entries.begin(), entries.end(), [](const DiffEntry& x, const DiffEntry& y) { return x.path < y.path; });
}

std::string entry_summary(const DiffEntry& e) {
  switch (e.type) {
    case EntryType::symlink:
      return "symlink -> " + encode_path(e.link_target);
    case EntryType::directory:
      return "directory, mode " + octal(e.mode);
    case EntryType::regular:
      break;
  }
  return "regular, " + std::to_string(e.size) + " bytes, mode " + octal(e.mode);
}

nlohmann::ordered_json entry_json(const DiffEntry& e) {
  nlohmann::ordered_json j;
  j["path"] = encode_path(e.path);
  j["type"] = to_string(e.type);
  j["size"] = e.size;
  j["mode"] = e.mode;
  if (!e.sha256.empty()) j["sha256"] = e.sha256;
  if (e.type == EntryType::symlink) j["link_target"] = encode_path(e.link_target);
  return j;
}

// size and mode keep their JSON types (numbers); the others are strings.
nlohmann::ordered_json field_value(const std::string& field, const std::string& text) {
  if (field == "size") return std::stoull(text);
  if (field == "mode") return std::stoul(text, nullptr, 8);
  return text;
}

}  // namespace

std::vector<DiffEntry> diff_entries_of(const Manifest& manifest) {
  std::vector<DiffEntry> out;
  for (const ManifestEntry& e : manifest.entries)
    out.push_back({.path = e.path, .type = e.type, .size = e.size, .mode = e.mode, .sha256 = e.sha256, .link_target = e.link_target});
  return out;
}

std::vector<DiffEntry> diff_entries_of(const BundlePlan& plan, const ContentHasher& hash) {
  std::vector<DiffEntry> out;
  for (const PlanEntry& e : plan.entries) {
    if (e.path == "/") continue;  // the bundle's root is not a manifest entry
    DiffEntry d;
    d.path = e.path;
    d.type = e.type;
    d.size = e.size;
    d.mode = e.mode & 07777;
    d.link_target = e.link_target;
    if (hash && e.type == EntryType::regular) d.sha256 = hash(e.path);
    out.push_back(std::move(d));
  }
  return out;
}

BundleDiff diff_entries(std::vector<DiffEntry> a, std::vector<DiffEntry> b) {
  sort_by_path(a);
  sort_by_path(b);
  BundleDiff diff;
  std::size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (j == b.size() || (i < a.size() && a[i].path < b[j].path)) {
      diff.removed_bytes += content_bytes(a[i]);
      diff.removed.push_back(std::move(a[i++]));
    } else if (i == a.size() || b[j].path < a[i].path) {
      diff.added_bytes += content_bytes(b[j]);
      diff.added.push_back(std::move(b[j++]));
    } else {
      std::vector<FieldChange> changes = compare(a[i], b[j]);
      if (changes.empty())
        ++diff.unchanged;
      else
        diff.changed.push_back({.path = a[i].path, .changes = std::move(changes)});
      ++i, ++j;
    }
  }
  return diff;
}

std::string render_diff_text(const BundleDiff& diff) {
  std::string out;
  for (const DiffEntry& e : diff.removed) out += "- " + encode_path(e.path) + " (" + entry_summary(e) + ")\n";
  for (const DiffEntry& e : diff.added) out += "+ " + encode_path(e.path) + " (" + entry_summary(e) + ")\n";
  for (const ChangedEntry& c : diff.changed) {
    out += "~ " + encode_path(c.path) + ":";
    for (std::size_t k = 0; k < c.changes.size(); ++k)
      out += std::string(k == 0 ? " " : ", ") + c.changes[k].field + " " + shown(c.changes[k].a) + " -> " + shown(c.changes[k].b);
    out += "\n";
  }
  out += std::to_string(diff.added.size()) + " added (" + std::to_string(diff.added_bytes) + " bytes), " +
         std::to_string(diff.removed.size()) + " removed (" + std::to_string(diff.removed_bytes) + " bytes), " +
         std::to_string(diff.changed.size()) + " changed, " + std::to_string(diff.unchanged) + " unchanged\n";
  return out;
}

std::string render_diff_json(const BundleDiff& diff, const std::string& a_name, const std::string& b_name) {
  nlohmann::ordered_json doc;
  doc["format"] = "tracepack-diff";
  doc["version"] = 1;
  doc["a"] = encode_path(a_name);
  doc["b"] = encode_path(b_name);
  doc["equal"] = diff.equal();
  doc["totals"] = {{"added", diff.added.size()},  {"removed", diff.removed.size()},  {"changed", diff.changed.size()},
                   {"unchanged", diff.unchanged}, {"added_bytes", diff.added_bytes}, {"removed_bytes", diff.removed_bytes}};
  nlohmann::ordered_json added = nlohmann::ordered_json::array(), removed = nlohmann::ordered_json::array(),
                         changed = nlohmann::ordered_json::array();
  for (const DiffEntry& e : diff.added) added.push_back(entry_json(e));
  for (const DiffEntry& e : diff.removed) removed.push_back(entry_json(e));
  for (const ChangedEntry& c : diff.changed) {
    nlohmann::ordered_json fields = nlohmann::ordered_json::object();
    for (const FieldChange& f : c.changes) fields[f.field] = {{"a", field_value(f.field, f.a)}, {"b", field_value(f.field, f.b)}};
    changed.push_back({{"path", encode_path(c.path)}, {"changes", std::move(fields)}});
  }
  doc["added"] = std::move(added);
  doc["removed"] = std::move(removed);
  doc["changed"] = std::move(changed);
  return doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

std::string sha256_of_host_file(const PathBytes& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) return "";
  Sha256 sha;
  std::vector<char> buffer(256 * 1024);
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return "";
    if (n == 0) break;
    sha.update(buffer.data(), static_cast<std::size_t>(n));
  }
  return sha.hex();
}

}  // namespace tracepack

// Candidates to review from the bundle's ELF files: libraries they may load
// with dlopen(), which DT_NEEDED does not name.
//
// Each regular file of the bundle with an exec bit or ".so" in its name is
// read through elf_closure's reader (read_dlopen_hints: section headers,
// notes and .rodata only; a file that is no ELF is passed over) for two
// kinds of hints:
//   - .note.dlopen notes (freedesktop's ELF dlopen metadata: note type
//     0x407c0c0a, owner "FDO"), whose payload is a JSON array of objects,
//     each naming a feature, its description, a priority ("required",
//     "recommended" or "suggested") and the sonames that provide it, the
//     preferred first. The first soname the loader finds stands for the entry;
//     an entry one of whose sonames the bundle holds needs nothing more.
//   - NUL-delimited string literals of read-only data shaped like a library
//     name ("libz.so.1"): the usual argument of dlopen(). .dynstr is not read,
//     DT_NEEDED names being followed already.
// Each name is searched the way the loader would search it for that file
// (resolve_dlopen: its RUNPATH/RPATH, the ld.so cache, the default
// directories); a library found and absent from the bundle is a candidate,
// one per library, with every file naming it as evidence, its size counted
// with its own closure's files the bundle lacks, and an `- elf:` include.
// Names found nowhere are not candidates: nothing could add them.
//
// Ranking: a note's library is rank 2 (3 when its priority is "suggested"),
// a string literal's rank 3: a string may be a message or a name tried among
// alternatives, a note is a declaration.
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "candidate_sources.h"
#include "tracepack/elf_closure.h"
#include "tracepack/error.h"
#include "tracepack/spec.h"

namespace tracepack {
namespace {

// One hint: `name` named by `file`, and how.
struct Hint {
  PathBytes file;
  std::vector<std::string> sonames;  // alternatives, the preferred first
  std::string kind;
  std::string evidence;
  int rank = kRankElfString;
  std::string reason;  // after the library's name: "is declared ..."
};

// Files worth opening: executables and shared objects.
bool may_be_elf(const PathBytes& path, const FileInfo& info) {
  if (info.type != EntryType::regular || info.size < 64) return false;
  std::string_view base = std::string_view(path).substr(path.rfind('/') + 1);
  return (info.mode & 0111) != 0 || base.find(".so") != std::string_view::npos;
}

std::string text_field(const nlohmann::json& object, const char* key, const char* fallback) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : fallback;
}

// The hints of one .note.dlopen payload; malformed JSON gives none.
void note_hints(const PathBytes& file, const std::string& payload, std::vector<Hint>& hints) {
  nlohmann::json notes = nlohmann::json::parse(payload, nullptr, false);
  if (!notes.is_array()) return;
  for (const nlohmann::json& entry : notes) {
    if (!entry.is_object() || !entry.contains("soname") || !entry["soname"].is_array()) continue;
    Hint h;
    h.file = file;
    h.kind = "elf-dlopen-note";
    for (const nlohmann::json& name : entry["soname"])
      if (name.is_string() && name.get<std::string>().find('/') == std::string::npos) h.sonames.push_back(name.get<std::string>());
    if (h.sonames.empty()) continue;
    std::string feature = text_field(entry, "feature", "");
    std::string priority = text_field(entry, "priority", "recommended");
    h.evidence = file + ": .note.dlopen (feature " + (feature.empty() ? "unnamed" : feature) + ", priority " + priority + ")";
    h.rank = priority == "suggested" ? kRankElfString : kRankDlopenNote;
    h.reason = "is declared for dlopen() in a .note.dlopen" +
               (feature.empty() ? "" : " (feature " + feature + ")") + " but no test loaded it";
    hints.push_back(std::move(h));
  }
}

std::vector<Hint> bundle_hints(const std::vector<PathBytes>& paths, const FileSystemView& files, const LoaderConfig& config,
                               CandidateList& list) {
  std::vector<Hint> hints;
  for (const PathBytes& path : paths) {
    std::optional<FileInfo> info = files.info(path);
    if (!info || !may_be_elf(path, *info)) continue;
    std::optional<ElfDlopenHints> found;
    try {
      found = read_dlopen_hints(path, config);
    } catch (const Error& e) {
      list.notes.push_back(std::string("dlopen hints not checked: ") + e.what());
      continue;
    }
    if (!found) continue;
    for (const std::string& payload : found->notes) note_hints(path, payload, hints);
    for (const std::string& name : found->sonames)
      hints.push_back({.file = path,
                       .sonames = {name},
                       .kind = "elf-string",
                       .evidence = path + ": string \"" + name + "\"",
                       .rank = kRankElfString,
                       .reason = "is named in an ELF file's read-only data but no test loaded it"});
  }
  return hints;
}

// The library's file and the files of its closure the bundle lacks.
void count_library(const PathBytes& library, const std::set<PathBytes>& bundle, const FileSystemView& files, const LoaderConfig& config,
                   Candidate& c) {
  std::set<PathBytes> counted;
  auto add = [&](const PathBytes& path) {
    if (bundle.count(path) || !counted.insert(path).second) return;
    std::optional<FileInfo> info = files.info(path);
    if (!info || info->type != EntryType::regular) return;
    ++c.files;
    c.bytes += info->size;
  };
  try {
    ElfClosure closure = elf_closure({library}, config);
    for (const PathBytes& root : closure.roots) add(root);
    for (const ElfDependency& dep : closure.dependencies) add(dep.resolved);
  } catch (const Error&) {
    if (std::optional<FileInfo> info = files.info(library)) add(library);
  }
}

}  // namespace

void elf_dlopen_candidates(const std::vector<PathBytes>& paths, const FileSystemView& files, const PathBytes& root, CandidateList& list) {
  LoaderConfig config;
  config.root = root;
  std::vector<Hint> hints = bundle_hints(paths, files, config, list);
  if (hints.empty()) return;
  std::vector<DlopenRequest> requests;
  for (const Hint& h : hints)
    for (const std::string& name : h.sonames) requests.push_back({h.file, name});
  std::vector<std::optional<ElfDependency>> found = resolve_dlopen(requests, config);

  std::set<PathBytes> bundle(paths.begin(), paths.end());
  auto held = [&](const ElfDependency& d) { return bundle.count(d.path) || bundle.count(d.resolved); };
  std::map<PathBytes, Candidate> by_library;
  std::size_t at = 0;
  for (const Hint& h : hints) {
    std::optional<ElfDependency> library;
    bool satisfied = false;
    for (std::size_t i = 0; i < h.sonames.size(); ++i, ++at) {
      const std::optional<ElfDependency>& d = found[at];
      if (d && held(*d)) satisfied = true;
      if (d && !library) library = d;
    }
    if (satisfied || !library) continue;
    auto [it, added] = by_library.try_emplace(library->path);
    Candidate& c = it->second;
    if (added || h.rank < c.rank) {
      c.path = library->path;
      c.rank = h.rank;
      c.kind = h.kind;
      c.reason = "library '" + library->needed + "' " + h.reason;
    }
    c.evidence.push_back(h.evidence);
  }
  for (auto& [path, c] : by_library) {
    std::sort(c.evidence.begin(), c.evidence.end());
    c.evidence.erase(std::unique(c.evidence.begin(), c.evidence.end()), c.evidence.end());
    count_library(path, bundle, files, config, c);
    c.include = elf_list_item(path);
    list.candidates.push_back(std::move(c));
  }
}

}  // namespace tracepack

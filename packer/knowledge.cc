// Knowledge packs (knowledge.h): the built-in packs, matching their rules
// against a bundle's paths, and what a triggered rule stands for.
//
// The built-in packs are the YAML files of packer/packs/, embedded in the
// program at build time (packs_index.cmake) and parsed once, by the spec's
// own reader (parse_pack in spec.cc). A rule triggers when one of the
// bundle's paths matches one of its `when` globs; "${dir}" in its `add`
// globs then stands for the directory of each path that triggered it, so
// one rule serves every Python version or locale the bundle holds. An `add`
// glob is expanded by walking from its literal prefix, entering only the
// directories the pattern can match below. `nss_modules` reads the
// nsswitch.conf it names: every service word of its database lines
// (`passwd: files systemd`) is a module libnss_WORD.so.2, searched the way
// the loader searches a dlopen() of the bundle's libc.so.6.
#include "tracepack/knowledge.h"

#include <fnmatch.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "candidate_sources.h"
#include "tracepack/candidates.h"
#include "tracepack/elf_closure.h"
#include "tracepack/error.h"
#include "tracepack/plan.h"
#include "tracepack/spec.h"
#include "tracepack_packs.h"

namespace tracepack {
namespace {

constexpr std::size_t kShownTriggers = 3;

std::vector<std::string_view> components(std::string_view path) {
  std::vector<std::string_view> parts;
  std::size_t i = 0;
  while (i < path.size()) {
    std::size_t slash = path.find('/', i);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > i) parts.push_back(path.substr(i, slash - i));
    i = slash + 1;
  }
  return parts;
}

// Whether `pattern` can match a path below the directory `dir`: each of the
// directory's components matches the pattern's, up to a "**".
bool may_match_below(std::string_view pattern, std::string_view dir) {
  std::vector<std::string_view> want = components(pattern);
  std::vector<std::string_view> have = components(dir);
  for (std::size_t i = 0; i < have.size(); ++i) {
    if (i >= want.size()) return false;
    if (want[i] == "**") return true;
    std::string p(want[i]), name(have[i]);
    if (fnmatch(p.c_str(), name.c_str(), FNM_PERIOD) != 0) return false;
  }
  return true;
}

// The longest leading run of components without glob characters.
PathBytes literal_prefix(const std::string& pattern) {
  std::size_t meta = pattern.find_first_of("*?[\\");
  if (meta == std::string::npos) return pattern;
  PathBytes prefix = pattern.substr(0, meta);
  prefix = prefix.substr(0, prefix.rfind('/'));
  return prefix.empty() ? "/" : prefix;
}

void walk_glob(const std::string& pattern, const FileSystemView& files, const PathBytes& dir, std::vector<PathBytes>& out) {
  for (const PathBytes& name : files.list(dir)) {
    PathBytes path = (dir == "/" ? "" : dir) + "/" + name;
    std::optional<FileInfo> info = files.info(path);
    if (!info) continue;
    if (info->type != EntryType::directory) {
      if (glob_match(pattern, path)) out.push_back(path);
    } else if (may_match_below(pattern, path)) {
      walk_glob(pattern, files, path, out);
    }
  }
}

std::vector<PathBytes> glob_files(const std::string& pattern, const FileSystemView& files) {
  std::vector<PathBytes> out;
  PathBytes start = literal_prefix(pattern);
  std::optional<FileInfo> info = files.info(start);
  if (!info) return out;
  if (info->type != EntryType::directory) {
    if (glob_match(pattern, start)) out.push_back(start);
  } else {
    walk_glob(pattern, files, start, out);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The services an nsswitch.conf's database lines name ("files", "systemd"),
// each once, in order; "[NOTFOUND=return]" actions are no services.
std::vector<std::string> nss_services(const std::string& text) {
  std::vector<std::string> services;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (std::size_t hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    std::size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::istringstream words(line.substr(colon + 1));
    bool in_action = false;
    for (std::string word; words >> word;) {
      if (word.starts_with('[')) in_action = true;
      if (in_action) {
        if (word.ends_with(']')) in_action = false;
        continue;
      }
      bool plain = std::all_of(word.begin(), word.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; });
      if (plain && std::find(services.begin(), services.end(), word) == services.end()) services.push_back(word);
    }
  }
  return services;
}

std::vector<PathBytes> nss_module_files(const PathBytes& conf, const PathBytes& root, const std::vector<PathBytes>& bundle) {
  std::ifstream in((root == "/" ? "" : root) + conf, std::ios::binary);
  if (!in) return {};
  std::stringstream text;
  text << in.rdbuf();
  auto libc = std::find_if(bundle.begin(), bundle.end(), [](const PathBytes& p) { return p.ends_with("/libc.so.6"); });
  if (libc == bundle.end()) return {};
  std::vector<DlopenRequest> requests;
  for (const std::string& service : nss_services(text.str())) requests.push_back({*libc, "libnss_" + service + ".so.2"});
  LoaderConfig config;
  config.root = root;
  std::vector<PathBytes> found;
  for (const std::optional<ElfDependency>& dep : resolve_dlopen(requests, config))
    if (dep) found.push_back(dep->path);
  std::sort(found.begin(), found.end());
  found.erase(std::unique(found.begin(), found.end()), found.end());
  return found;
}

// "${dir}" replaced by `dir`, and "." and ".." components folded.
std::string with_dir(const std::string& pattern, const PathBytes& dir) {
  std::string out = pattern;
  for (std::size_t at; (at = out.find("${dir}")) != std::string::npos;) out.replace(at, 6, dir);
  if (out.find("/.") == std::string::npos) return out;
  return std::filesystem::path(out).lexically_normal().string();
}

std::string display_path(const PackItem& item) {
  if (item.kind != PackItem::Kind::glob) return item.pattern;
  if (item.pattern.ends_with("/**") && literal_prefix(item.pattern) == item.pattern.substr(0, item.pattern.size() - 3))
    return item.pattern.substr(0, item.pattern.size() - 3);
  return item.pattern;
}

// The include: list item for a glob written as it is (glob_list_item would
// escape its glob characters), quoted where YAML would read it otherwise.
std::string glob_include_line(const std::string& pattern) {
  if (pattern.find(": ") == std::string::npos && pattern.find(" #") == std::string::npos && !pattern.ends_with(':')) return "- " + pattern;
  std::string quoted = "'";
  for (char c : pattern) quoted += c == '\'' ? std::string("''") : std::string(1, c);
  return "- " + quoted + "'";
}

}  // namespace

const std::vector<KnowledgePack>& builtin_packs() {
  static const std::vector<KnowledgePack> packs = [] {
    std::vector<KnowledgePack> out;
    for (const EmbeddedPack& embedded : kEmbeddedPacks) {
      std::string_view text(reinterpret_cast<const char*>(embedded.data), embedded.size);
      out.push_back(parse_pack(text, std::string(embedded.file) + " (built in)"));
    }
    std::sort(out.begin(), out.end(), [](const KnowledgePack& a, const KnowledgePack& b) { return a.name < b.name; });
    return out;
  }();
  return packs;
}

std::vector<const KnowledgePack*> available_packs(const std::vector<KnowledgePack>& user) {
  std::vector<const KnowledgePack*> packs;
  for (const KnowledgePack& pack : builtin_packs()) packs.push_back(&pack);
  for (const KnowledgePack& pack : user) {
    auto same = std::find_if(packs.begin(), packs.end(), [&](const KnowledgePack* p) { return p->name == pack.name; });
    if (same != packs.end())
      throw Error("knowledge pack '" + pack.name + "' (" + pack.file + ") has the name of " + ((*same)->file.ends_with("(built in)") ? "a built-in pack" : "another pack (" + (*same)->file + ")"));
    packs.push_back(&pack);
  }
  std::sort(packs.begin(), packs.end(), [](const KnowledgePack* a, const KnowledgePack* b) { return a->name < b->name; });
  return packs;
}

std::vector<PackMatch> match_packs(const std::vector<const KnowledgePack*>& packs, const std::vector<PathBytes>& paths) {
  std::vector<PackMatch> matches;
  for (const KnowledgePack* pack : packs)
    for (const PackRule& rule : pack->rules) {
      PackMatch m{pack, &rule, {}, {}};
      std::set<PathBytes> dirs;
      for (const PathBytes& path : paths)
        if (std::any_of(rule.when.begin(), rule.when.end(), [&](const std::string& glob) { return glob_match(glob, path); })) {
          m.triggers.push_back(path);
          dirs.insert(PathBytes(path.substr(0, std::max<std::size_t>(path.rfind('/'), 1))));
        }
      if (m.triggers.empty()) continue;
      std::sort(m.triggers.begin(), m.triggers.end());
      for (const PackItem& item : rule.add) {
        bool templated = item.pattern.find("${dir}") != std::string::npos;
        for (const PathBytes& dir : templated ? dirs : std::set<PathBytes>{""}) {
          PackItem expanded{item.kind, templated ? with_dir(item.pattern, dir) : item.pattern};
          bool seen = std::any_of(m.add.begin(), m.add.end(), [&](const PackItem& i) { return i.kind == expanded.kind && i.pattern == expanded.pattern; });
          if (!seen) m.add.push_back(std::move(expanded));
        }
      }
      matches.push_back(std::move(m));
    }
  return matches;
}

std::vector<PathBytes> pack_item_files(const PackItem& item, const FileSystemView& files, const PathBytes& root,
                                       const std::vector<PathBytes>& bundle) {
  switch (item.kind) {
    case PackItem::Kind::glob:
      return glob_files(item.pattern, files);
    case PackItem::Kind::elf:
      if (item.pattern.find_first_of("*?[") != std::string::npos) return glob_files(item.pattern, files);
      if (files.info(item.pattern)) return {item.pattern};
      return {};
    case PackItem::Kind::nss_modules:
      return nss_module_files(item.pattern, root, bundle);
  }
  return {};
}

void pack_candidates(const std::vector<const KnowledgePack*>& packs, const std::vector<std::string>& on,
                     const std::vector<PathBytes>& paths, const FileSystemView& files, const PathBytes& root, CandidateList& list) {
  std::vector<const KnowledgePack*> off;
  for (const KnowledgePack* pack : packs)
    if (std::find(on.begin(), on.end(), pack->name) == on.end()) off.push_back(pack);
  std::set<PathBytes> bundle(paths.begin(), paths.end());
  for (const PackMatch& m : match_packs(off, paths)) {
    std::vector<std::string> evidence;
    for (std::size_t i = 0; i < m.triggers.size() && i < kShownTriggers; ++i) evidence.push_back(m.triggers[i]);
    if (m.triggers.size() > kShownTriggers) evidence.push_back("and " + std::to_string(m.triggers.size() - kShownTriggers) + " more");
    for (const PackItem& item : m.add) {
      std::vector<PathBytes> found = pack_item_files(item, files, root, paths);
      std::vector<PackItem> shown;
      if (item.kind == PackItem::Kind::nss_modules) {
        for (const PathBytes& module : found) shown.push_back({PackItem::Kind::elf, module});
      } else {
        shown.push_back(item);
      }
      for (const PackItem& one : shown) {
        Candidate c;
        std::vector<PathBytes> its = item.kind == PackItem::Kind::nss_modules ? std::vector<PathBytes>{one.pattern} : found;
        for (const PathBytes& file : its) {
          if (bundle.count(file)) continue;
          std::optional<FileInfo> info = files.info(file);
          if (!info) continue;
          ++c.files;
          if (info->type == EntryType::regular) c.bytes += info->size;
        }
        if (c.files == 0) continue;
        c.path = display_path(one);
        c.kind = "knowledge-pack";
        c.rank = kRankKnowledgePack;
        c.reason = "the '" + m.pack->name + "' pack's rule '" + m.rule->name + "' suggests it: " + m.rule->why +
                   " (turn the pack on with `packs: [" + m.pack->name + "]`)";
        c.evidence = evidence;
        c.include = one.kind == PackItem::Kind::elf ? elf_list_item(one.pattern) : glob_include_line(one.pattern);
        list.candidates.push_back(std::move(c));
      }
    }
  }
}

}  // namespace tracepack

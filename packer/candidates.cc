// Candidates to review (candidates.h).
//
// Python imports: the bundle's interpreter runs python_imports.py (embedded
// at build time) on the bundle's .py files and answers, for every module they
// import at any depth, where its own path finder would find it. The script
// imports nothing it reads, so no code of the bundle runs. Each module found
// outside the bundle becomes a candidate: a package as its directory, a plain
// or extension module as its file. A candidate below another one (numpy and
// numpy.linalg) is folded into it, its evidence merged.
//
// Ranking: an import in a file of the application (outside the interpreter's
// own path) comes first, then one in an installed library (site-packages);
// an import that only the standard library makes of itself (http.client's
// lazy `import ssl`) comes last, since most such imports are for features
// the application does not use.
#include "tracepack/candidates.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "candidate_sources.h"
#include "candidates_scripts.h"
#include "run_capture.h"
#include "tracepack/dpkg.h"
#include "tracepack/error.h"
#include "tracepack/path_resolution.h"
#include "tracepack/spec.h"
#include "tracepack_python_imports.h"

namespace tracepack {
namespace {

namespace fs = std::filesystem;


// The interpreter of the bundle: the regular file named python3.N with the
// highest N, else python3; "" when the bundle holds none.
PathBytes bundle_python(const std::vector<PathBytes>& paths, const FileSystemView& files) {
  static const std::regex name(R"(python3(\.[0-9]+)?)");
  return bundle_program(paths, files, [](const std::string& base) { return std::regex_match(base, name); });
}

struct ModuleFinding {
  std::string module;
  PathBytes path;  ///< what the candidate would add
  bool directory = false;
  std::vector<std::pair<PathBytes, int>> sites;
};

// The modules the bundle's .py files import and do not hold, from the
// interpreter's answer.
std::vector<ModuleFinding> missing_modules(const nlohmann::json& answer, const std::set<PathBytes>& bundle) {
  std::vector<ModuleFinding> missing;
  for (const nlohmann::json& m : answer.at("modules")) {
    ModuleFinding f;
    f.module = m.at("module").get<std::string>();
    PathBytes origin = m.at("origin").get<std::string>();
    PathBytes package = m.at("package").get<std::string>();
    if (!package.empty()) {
      if (origin.empty() || bundle.count(origin)) continue;  // a namespace package, or loaded
      f.path = package;
      f.directory = true;
    } else {
      if (origin.empty() || bundle.count(origin)) continue;
      f.path = origin;
    }
    for (const nlohmann::json& site : m.at("sites")) f.sites.emplace_back(site.at(0).get<std::string>(), site.at(1).get<int>());
    missing.push_back(std::move(f));
  }
  return missing;
}

void python_import_candidates(const std::vector<PathBytes>& paths, const FileSystemView& files, const PathBytes& root,
                              CandidateList& list) {
  PathBytes python = bundle_python(paths, files);
  std::vector<PathBytes> sources;
  for (const PathBytes& path : paths)
    if (path.ends_with(".py")) sources.push_back(path);
  if (python.empty() || sources.empty()) return;

  std::string answer_text;
  try {
    ScratchFile request(scratch_dir_for(root), nlohmann::json{{"files", sources}}.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace));
    std::string request_path = path_inside(root, request.path());
    std::string script(reinterpret_cast<const char*>(kPythonImportsPy), kPythonImportsPy_size);
    answer_text = run_capturing({python, "-I", "-B", "-c", script, request_path}, root);
  } catch (const Error& e) {
    list.notes.push_back("python imports not checked: " + python + ": " + e.what());
    return;
  }
  nlohmann::json answer = nlohmann::json::parse(answer_text, nullptr, false);
  if (answer.is_discarded() || !answer.is_object() || !answer.contains("modules")) {
    list.notes.push_back("python imports not checked: " + python + " gave no answer it could read");
    return;
  }
  std::set<PathBytes> bundle(paths.begin(), paths.end());
  std::vector<ModuleFinding> missing = missing_modules(answer, bundle);
  PathBytes stdlib = answer.value("stdlib", std::string());
  std::vector<PathBytes> library_dirs = answer.value("path", std::vector<PathBytes>());
  // An import site's rank: where the importing file lies.
  auto site_rank = [&](const PathBytes& file) {
    if (!stdlib.empty() && under(file, stdlib)) return kRankStandardLibrary;
    bool library = std::any_of(library_dirs.begin(), library_dirs.end(), [&](const PathBytes& dir) { return under(file, dir); });
    return library ? kRankLibrary : kRankApplication;
  };

  // A finding below another's directory is part of it.
  std::sort(missing.begin(), missing.end(), [](const ModuleFinding& a, const ModuleFinding& b) { return a.path < b.path; });
  std::vector<ModuleFinding> folded;
  for (ModuleFinding& f : missing) {
    if (!folded.empty() && folded.back().directory && under(f.path, folded.back().path)) {
      folded.back().sites.insert(folded.back().sites.end(), f.sites.begin(), f.sites.end());
      continue;
    }
    folded.push_back(std::move(f));
  }

  for (ModuleFinding& f : folded) {
    std::sort(f.sites.begin(), f.sites.end());
    f.sites.erase(std::unique(f.sites.begin(), f.sites.end()), f.sites.end());
    Candidate c;
    c.path = f.path;
    c.kind = "python-import";
    c.rank = kRankStandardLibrary;
    for (const auto& site : f.sites) c.rank = std::min(c.rank, site_rank(site.first));
    static const char* const kBy[] = {"", "", " by an installed library", " by the standard library"};
    c.reason = "module '" + f.module + "' is imported" + kBy[c.rank] + " but no test loaded it";
    for (const auto& [file, line] : f.sites) c.evidence.push_back(file + ":" + std::to_string(line));
    count_candidate_files(files, f.path, c);
    c.include = glob_list_item(f.path, f.directory ? "/**" : "");
    list.candidates.push_back(std::move(c));
  }
}

}  // namespace

CandidateList find_candidates(const std::vector<PathBytes>& paths, const FileSystemView& files, const PathBytes& root,
                              const std::vector<std::string>& ignore, const std::vector<ListedDirectory>& listed,
                              const std::vector<KnowledgePack>& knowledge, const std::vector<std::string>& packs_on,
                              const std::vector<std::string>& search_paths) {
  CandidateList list;
  python_import_candidates(paths, files, root, list);
  elf_and_listing_candidates(paths, files, root, listed, list);
  script_candidates(paths, files, root, search_paths, list);
  pack_candidates(available_packs(knowledge), packs_on, paths, files, root, list);
  std::erase_if(list.candidates, [&](const Candidate& c) {
    return std::any_of(ignore.begin(), ignore.end(), [&](const std::string& pattern) { return glob_match(pattern, c.path); });
  });
  std::stable_sort(list.candidates.begin(), list.candidates.end(), [](const Candidate& a, const Candidate& b) {
    if (a.rank != b.rank) return a.rank < b.rank;
    if (a.evidence.size() != b.evidence.size()) return a.evidence.size() > b.evidence.size();
    return a.path < b.path;
  });
  return list;
}

namespace {

// The first regular file at or below `path` (names in order), or "".
PathBytes first_file(const FileSystemView& files, const PathBytes& path, int depth = 0) {
  std::optional<FileInfo> info = files.info(path);
  if (!info) return "";
  if (info->type == EntryType::regular) return path;
  if (info->type != EntryType::directory || depth > 8) return "";
  for (const PathBytes& name : files.list(path))
    if (PathBytes found = first_file(files, path + "/" + name, depth + 1); !found.empty()) return found;
  return "";
}

// "Python distribution NAME VERSION" for the *.dist-info of the
// site-packages or dist-packages directory above `file` whose RECORD lists
// it; "" when none does.
std::string python_distribution(const FileSystemView& files, const PathBytes& root, const PathBytes& file) {
  for (PathBytes dir(parent_of(file)); dir.size() > 1; dir = PathBytes(parent_of(dir))) {
    std::string_view base = std::string_view(dir).substr(dir.rfind('/') + 1);
    if (base != "site-packages" && base != "dist-packages") continue;
    std::string relative = file.substr(dir.size() + 1);
    for (const PathBytes& name : files.list(dir)) {
      if (!name.ends_with(".dist-info")) continue;
      std::ifstream record((root == "/" ? "" : root) + dir + "/" + name + "/RECORD");
      for (std::string line; std::getline(record, line);)
        if (line.starts_with(relative + ",")) {
          std::string id = name.substr(0, name.size() - 10);
          std::size_t dash = id.find('-');
          return "Python distribution " + (dash == std::string::npos ? id : id.substr(0, dash) + " " + id.substr(dash + 1));
        }
    }
    return "";
  }
  return "";
}

}  // namespace

void find_candidate_packages(std::vector<Candidate>& candidates, const FileSystemView& files, const PathBytes& root,
                             const std::string& admin_dir) {
  BundlePlan probe;
  std::vector<PathBytes> representative;
  for (const Candidate& c : candidates) {
    bool glob = c.path.find_first_of("*?[") != std::string::npos;
    representative.push_back(glob ? "" : first_file(files, c.path));
    if (representative.back().empty()) continue;
    PlanEntry& entry = probe.entries.emplace_back();
    entry.path = representative.back();
  }
  std::map<PathBytes, std::string> owner;
  for (const PackageFiles& p : package_files(probe, admin_dir, root))
    for (const PathBytes& file : p.files) owner.emplace(file, "Debian package " + p.package);
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (representative[i].empty()) continue;
    auto it = owner.find(representative[i]);
    candidates[i].package = it != owner.end() ? it->second : python_distribution(files, root, representative[i]);
  }
}

}  // namespace tracepack

// Candidates to review from directories a traced process listed: a program
// that lists a plugin directory and loads what it finds used only the
// entries its tests needed; the others may be needed by another input.
//
// The traced directories come from the entries' reasons (a getdents or
// getdents64 reason: the plan's PlanReason, or the reason lines a bundle's
// manifest keeps, without the pid). A listed directory of which the bundle
// holds no entry was only listed (`ls`) and is passed over; so are
// directories in a pseudo file system, the scratch roots /tmp and /var/tmp
// themselves (a project below them is packed like any other), directories holding Python
// modules (the Python import source looks at those, and the interpreter
// lists every directory of its path) and directories with more than
// kMaxUnused unused entries (a listing of /etc or /usr/lib is no plugin
// directory). Each other entry the bundle lacks is a candidate: a file, or a
// directory meaning everything below it. An entry at or below a candidate of
// a source run before is left to that one.
#include <algorithm>
#include <map>
#include <set>

#include "candidate_sources.h"
#include "tracepack/spec.h"

namespace tracepack {
namespace {

constexpr std::size_t kMaxUnused = 16;
constexpr std::string_view kTracedHead = "test '";

bool at_or_under(std::string_view path, std::string_view dir) {
  return path.starts_with(dir) && (path.size() == dir.size() || path[dir.size()] == '/' || dir == "/");
}

// "test 'x', prog, getdents64" -> "test 'x', pid 42 (prog)" ("" for another line).
std::string lister_of(std::string_view line, int pid) {
  std::string_view head;
  for (std::string_view call : {", getdents64", ", getdents"})
    if (line.starts_with(kTracedHead) && line.ends_with(call)) {
      head = line.substr(0, line.size() - call.size());
      break;
    }
  if (head.empty()) return "";
  std::size_t close = head.find("', ", kTracedHead.size());
  std::string test(head.substr(0, close == std::string_view::npos ? head.size() : close + 1));
  std::string program(close == std::string_view::npos ? "" : head.substr(close + 3));
  return test + (pid != 0 ? ", pid " + std::to_string(pid) : "") + (program.empty() ? "" : " (" + program + ")");
}

void add_lister(std::map<PathBytes, ListedDirectory>& found, const PathBytes& path, std::string lister) {
  if (lister.empty()) return;
  ListedDirectory& d = found[path];
  d.path = path;
  if (std::find(d.by.begin(), d.by.end(), lister) == d.by.end()) d.by.push_back(std::move(lister));
}

std::vector<ListedDirectory> values_of(std::map<PathBytes, ListedDirectory>& found) {
  std::vector<ListedDirectory> out;
  for (auto& [path, d] : found) {
    std::sort(d.by.begin(), d.by.end());
    out.push_back(std::move(d));
  }
  return out;
}

bool python_module_name(std::string_view name) {
  return name.ends_with(".py") || name.ends_with(".pyc") || name == "__pycache__" ||
         (name.ends_with(".so") && (name.find(".cpython-") != std::string_view::npos || name.find(".abi3.") != std::string_view::npos));
}

// The entries of `dir` the bundle lacks; empty when `dir` is passed over.
std::vector<PathBytes> unused_entries(const PathBytes& dir, const std::set<PathBytes>& bundle, const FileSystemView& files) {
  if (!pseudo_root(dir).empty() || scratch_root(dir) == dir) return {};
  std::vector<PathBytes> names = files.list(dir);
  std::vector<PathBytes> unused;
  std::size_t used = 0;
  for (const PathBytes& name : names) {
    if (python_module_name(name)) return {};
    PathBytes path = (dir == "/" ? "" : dir) + "/" + name;
    auto next = bundle.lower_bound(path);
    bool held = next != bundle.end() && at_or_under(*next, path);
    if (held)
      ++used;
    else
      unused.push_back(path);
  }
  if (used == 0 || unused.size() > kMaxUnused) return {};
  return unused;
}

}  // namespace

std::vector<ListedDirectory> listed_directories(const std::vector<PlanEntry>& entries) {
  std::map<PathBytes, ListedDirectory> found;
  for (const PlanEntry& e : entries)
    if (e.type == EntryType::directory)
      for (const PlanReason& r : e.reasons) add_lister(found, e.path, lister_of(r.detail, r.pid));
  return values_of(found);
}

std::vector<ListedDirectory> listed_directories(const std::vector<std::pair<PathBytes, std::vector<std::string>>>& entries) {
  std::map<PathBytes, ListedDirectory> found;
  for (const auto& [path, lines] : entries)
    for (const std::string& line : lines) add_lister(found, path, lister_of(line, 0));
  return values_of(found);
}

void count_candidate_files(const FileSystemView& files, const PathBytes& path, Candidate& candidate) {
  std::optional<FileInfo> info = files.info(path);
  if (!info) return;
  if (info->type == EntryType::regular) {
    ++candidate.files;
    candidate.bytes += info->size;
  } else if (info->type == EntryType::directory) {
    for (const PathBytes& name : files.list(path)) count_candidate_files(files, path + "/" + name, candidate);
  }
}

void listed_directory_candidates(const std::vector<PathBytes>& paths, const FileSystemView& files, const std::vector<ListedDirectory>& listed,
                                 CandidateList& list) {
  std::set<PathBytes> bundle(paths.begin(), paths.end());
  std::vector<PathBytes> earlier;
  for (const Candidate& c : list.candidates) earlier.push_back(c.path);
  auto taken = [&](const PathBytes& path) {
    return std::any_of(earlier.begin(), earlier.end(), [&](const PathBytes& e) { return at_or_under(path, e); });
  };
  for (const ListedDirectory& dir : listed) {
    if (dir.by.empty() || !bundle.count(dir.path)) continue;
    std::vector<PathBytes> unused = unused_entries(dir.path, bundle, files);
    for (const PathBytes& path : unused) {
      if (taken(path)) continue;
      std::optional<FileInfo> info = files.info(path);
      if (!info) continue;
      Candidate c;
      c.path = path;
      c.kind = "listed-directory";
      c.rank = kRankListedDirectory;
      c.reason = "listed with " + dir.path + " by a traced process that used some of its entries, not this one";
      for (const std::string& by : dir.by) c.evidence.push_back(by + " listed " + dir.path);
      count_candidate_files(files, path, c);
      c.include = glob_list_item(path, info->type == EntryType::directory ? "/**" : "");
      list.candidates.push_back(std::move(c));
    }
  }
}

}  // namespace tracepack

// summarize_trace: one pass over the accesses, each successful one filed under
// a category by kind, origin and name; sets keep every list sorted and unique.
#include <set>

#include "tracepack/summary.h"

namespace tracepack {
namespace {

bool is_pseudo(const PathBytes& path) {
  for (std::string_view root : {"/proc", "/sys", "/dev"})
    if (path == root || (path.starts_with(root) && path[root.size()] == '/')) return true;
  return false;
}

bool is_shared_object(const PathBytes& path) {
  std::size_t slash = path.rfind('/');
  std::string_view name = std::string_view(path).substr(slash == path.npos ? 0 : slash + 1);
  // "libfoo.so", "libfoo.so.6", "x.cpython-311-x86_64-linux-gnu.so"; not "ld.so.cache".
  std::size_t so = name.find(".so");
  if (so == name.npos) return false;
  std::string_view rest = name.substr(so + 3);
  return rest.empty() || (rest.size() > 1 && rest[0] == '.' && rest[1] >= '0' && rest[1] <= '9');
}

struct Sets {
  std::set<PathBytes> programs, loaders, libraries, data, dirs, outputs, links, failed;
};

void file_access(Sets& s, const FileAccess& a) {
  if (a.error != 0) {
    s.failed.insert(a.resolved);
    return;
  }
  if (is_pseudo(a.resolved)) return;
  for (const Symlink& link : a.links)
    if (!is_pseudo(link.path)) s.links.insert(link.path);
  switch (a.kind) {
    case AccessKind::exec:
      (a.origin == AccessOrigin::elf_interp ? s.loaders : s.programs).insert(a.resolved);
      break;
    case AccessKind::read:
      if (a.type == FileType::regular) (is_shared_object(a.resolved) ? s.libraries : s.data).insert(a.resolved);
      break;
    case AccessKind::list:
      s.dirs.insert(a.resolved);
      break;
    case AccessKind::create:
    case AccessKind::write:
      s.outputs.insert(a.resolved);
      break;
    case AccessKind::stat:
    case AccessKind::readlink:
    case AccessKind::chdir:
    case AccessKind::mkdir:
    case AccessKind::remove:
    case AccessKind::rename:
    case AccessKind::link:
    case AccessKind::symlink:
    case AccessKind::attr:
    case AccessKind::watch:
    case AccessKind::other:
      break;
  }
}

std::vector<PathBytes> sorted(const std::set<PathBytes>& set) { return {set.begin(), set.end()}; }

}  // namespace

TraceSummary summarize_trace(const Trace& trace) {
  TraceSummary summary;
  summary.label = trace.run.label;
  summary.processes = trace.processes.size();
  for (const Process& p : trace.processes) summary.execs += p.execs.size();
  Sets sets;
  for (const FileAccess& a : trace.accesses) file_access(sets, a);
  summary.programs = sorted(sets.programs);
  summary.loaders = sorted(sets.loaders);
  summary.libraries = sorted(sets.libraries);
  summary.data_files = sorted(sets.data);
  summary.listed_dirs = sorted(sets.dirs);
  summary.outputs = sorted(sets.outputs);
  summary.symlinks = sorted(sets.links);
  summary.failed_lookups = sets.failed.size();
  for (const Warning& w : trace.warnings) summary.warnings.push_back(w.message);
  summary.truncated = !trace.end.has_value();
  return summary;
}

}  // namespace tracepack

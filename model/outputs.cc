// A run's outputs: the paths it made before anything else used them. One
// pass in record order; a path counts as seen once any successful access
// named it (as its path or the path it made), so that a file read and then
// rewritten stays an input.
#include <set>

#include "tracepack/trace.h"

namespace tracepack {

const PathBytes& made_path(const FileAccess& a) {
  static const PathBytes none;
  if (a.error != 0) return none;
  switch (a.kind) {
    case AccessKind::create:
    case AccessKind::write:
    case AccessKind::mkdir:
      return a.resolved;
    case AccessKind::symlink:
    case AccessKind::link:
    case AccessKind::rename:
      return a.resolved2;
    case AccessKind::read:
    case AccessKind::exec:
    case AccessKind::stat:
    case AccessKind::readlink:
    case AccessKind::list:
    case AccessKind::chdir:
    case AccessKind::remove:
    case AccessKind::attr:
    case AccessKind::watch:
    case AccessKind::other:
      return none;
  }
  return none;
}

std::map<PathBytes, const FileAccess*> outputs_of(const Trace& trace) {
  std::map<PathBytes, const FileAccess*> outputs;
  std::set<PathBytes> seen;
  for (const FileAccess& a : trace.accesses) {
    if (a.error != 0) continue;
    const PathBytes& made = made_path(a);
    if (!made.empty() && !seen.contains(made)) outputs.emplace(made, &a);
    if (!made.empty()) seen.insert(made);
    seen.insert(a.resolved);
  }
  return outputs;
}

}  // namespace tracepack

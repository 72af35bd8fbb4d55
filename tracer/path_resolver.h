// Resolving a path the way the kernel does, one component at a time, keeping
// every symlink met on the way.
#pragma once

#include <sys/types.h>

#include <string_view>
#include <unordered_map>
#include <vector>

#include "tracepack/path_resolution.h"
#include "tracepack/posix.h"
#include "tracepack/trace.h"

namespace tracepack::tracer {

/// Where a path led (see tracepack::PathResolution).
using Resolution = PathResolution;

/// Whose view of /proc/self to use.
struct Viewer {
  pid_t tgid = 0;
  pid_t tid = 0;
};

/// Resolves paths against the live file system with a cache of lstat/readlink
/// results. The cache is only valid while the caller reports every change it
/// sees (forget / forget_all); /proc is never cached.
class PathResolver {
 public:
  /// Resolves `path` relative to `base` (an absolute, symlink-free directory;
  /// ignored when `path` is absolute). The final component's symlink is
  /// followed only when `follow_final` (or the path ends in '/'). ".." is
  /// physical: it leaves the directory a symlink led to. /proc/self and
  /// /proc/thread-self mean `viewer`'s. A /proc magic link whose target is no
  /// real path ends the walk: for pipe:[...], socket:[...] and anon_inode
  /// objects `resolved` is the link itself and `type` what it refers to; for a
  /// deleted file or a memfd it is the kernel's name ("/memfd:x (deleted)")
  /// with type none. On failure, `resolved` is the path the walk would have
  /// reached (the failing component plus the rest, unresolved) and `type` none.
  Resolution resolve(std::string_view base, std::string_view path, bool follow_final, Viewer viewer);

  /// The file at `path` was created, removed or replaced.
  void forget(const PathBytes& path);

  /// A directory was renamed or removed: every cached result may be stale.
  void forget_all();

  /// Makes every path outside /proc be looked up under `prefix` (a path to
  /// the traced processes' root as the tracer sees it, e.g. a sandbox's);
  /// /proc stays the tracer's own. `shown_root` is how /proc links name that
  /// root to the tracer (readlink of /proc/PID/root): "/" after a pivot_root,
  /// but the whole path from the machine's root when the tracer itself runs
  /// in a chroot and the sandbox had to chroot too. Clears the cache.
  void set_root(PathBytes prefix, PathBytes shown_root = "/");

  /// A path read from a traced process's /proc link (cwd, fd/N, exe, a magic
  /// link's target) as that process sees it: without the sandbox root's
  /// shown_root prefix. Other paths are returned as they are.
  PathBytes as_seen_inside(PathBytes shown) const;

  /// Where the tracer finds the file a traced process names `path` (absolute).
  PathBytes host_path(const PathBytes& path) const;

  /// Number of cached entries (bounded by the distinct paths looked up).
  std::size_t cache_size() const { return cache_.size(); }

 private:
  PathNode lookup(const PathBytes& path, Viewer viewer);
  PathNode lookup_uncached(const PathBytes& path, Viewer viewer) const;

  std::unordered_map<PathBytes, PathNode> cache_;
  PathBytes root_prefix_;       ///< empty: the tracer's own root
  PathBytes shown_root_ = "/";  ///< see set_root
};

}  // namespace tracepack::tracer

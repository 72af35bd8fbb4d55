// The tracer's side of path resolution: how a traced process sees the file
// system, for the shared resolver (model/path_resolution.cc), which does the
// walk itself (components, symlinks, "..", the kernel's limit of 40 links).
//
// lstat and readlink results are cached by absolute path: a test run looks up
// the same directories thousands of times. The tracer stops on every call that
// can change the tree and calls forget()/forget_all(), which keeps the cache
// exact for the traced processes. /proc changes by itself and is never cached;
// its self links are answered for the tracee, not for the tracer, and its
// magic links to objects without a path end the walk.
#include "path_resolver.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

namespace tracepack::tracer {
namespace {

bool is_proc(std::string_view path) { return path == "/proc" || path.starts_with("/proc/"); }

FileType stat_type(const PathBytes& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? file_type_of_mode(st.st_mode) : FileType::none;
}

}  // namespace

PathNode PathResolver::lookup_uncached(const PathBytes& path, Viewer viewer) const {
  if (path == "/proc/self" || path == "/proc/thread-self") {
    PathNode node;
    node.type = FileType::symlink;
    node.target = std::to_string(viewer.tgid);
    if (path == "/proc/thread-self") node.target += "/task/" + std::to_string(viewer.tid);
    return node;
  }
  PathNode node = read_host_node(host_path(path));
  if (!node.target.empty() && is_proc(path)) node.target = as_seen_inside(std::move(node.target));
  return node;
}

void PathResolver::set_root(PathBytes prefix, PathBytes shown_root) {
  root_prefix_ = std::move(prefix);
  shown_root_ = std::move(shown_root);
  cache_.clear();
}

PathBytes PathResolver::as_seen_inside(PathBytes shown) const {
  if (shown_root_ == "/" || shown_root_.empty() || !shown.starts_with(shown_root_)) return shown;
  if (shown.size() == shown_root_.size()) return "/";
  if (shown[shown_root_.size()] != '/') return shown;
  return shown.substr(shown_root_.size());
}

PathBytes PathResolver::host_path(const PathBytes& path) const {
  // The walk resolves every symlink itself, so the kernel only ever sees
  // symlink-free directories under the prefix: nothing escapes it.
  return root_prefix_.empty() || is_proc(path) ? path : root_prefix_ + path;
}

PathNode PathResolver::lookup(const PathBytes& path, Viewer viewer) {
  if (is_proc(path)) return lookup_uncached(path, viewer);
  auto it = cache_.find(path);
  if (it != cache_.end()) return it->second;
  PathNode node = lookup_uncached(path, viewer);
  cache_.emplace(path, node);
  return node;
}

void PathResolver::forget(const PathBytes& path) { cache_.erase(path); }

void PathResolver::forget_all() { cache_.clear(); }

Resolution PathResolver::resolve(std::string_view base, std::string_view path, bool follow_final, Viewer viewer) {
  auto look = [&](const PathBytes& candidate) {
    PathNode node = lookup(candidate, viewer);
    bool magic = node.type == FileType::symlink && is_proc(candidate) && candidate != "/proc/self" && candidate != "/proc/thread-self";
    if (!magic) return node;
    if (node.target.empty() || node.target.front() != '/') {
      // A /proc magic link to an object without a path (pipe:[...],
      // socket:[...], anon_inode:...): the link stands for the object.
      node.end = candidate;
      node.end_type = stat_type(candidate);
    } else if (lookup(node.target, viewer).error != 0) {
      // A deleted file or a memfd ("/memfd:name (deleted)"): the kernel's
      // name for it, which is no file on any file system.
      node.end = node.target;
    }
    return node;
  };
  return resolve_path(look, path, ResolveOptions{base, follow_final});
}

}  // namespace tracepack::tracer

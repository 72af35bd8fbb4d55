// Path resolution as the kernel's namei does it, from the tracer's side.
//
// The path is split into components and walked from the base directory (or
// "/"), with lstat on each prefix. A symlink met before the last component, or
// at the last when the call follows it, is recorded and its target's
// components are pushed in front of what remains, so ".." after a symlink
// climbs from where the link led (collapsing ".." textually would be wrong).
// At most 40 links are followed, like the kernel (ELOOP).
//
// lstat and readlink results are cached by absolute path: a test run looks up
// the same directories thousands of times. The tracer stops on every call that
// can change the tree and calls forget()/forget_all(), which keeps the cache
// exact for the traced processes. /proc changes by itself and is never cached;
// its self links are answered for the tracee, not for the tracer.
#include "path_resolver.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <deque>
#include <string>

namespace tracepack::tracer {
namespace {

constexpr int kMaxSymlinks = 40;

bool is_proc(std::string_view path) { return path == "/proc" || path.starts_with("/proc/"); }

std::string_view parent_of(std::string_view path) {
  std::size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string_view::npos ? std::string_view("/") : path.substr(0, slash);
}

PathBytes join(std::string_view dir, std::string_view name) {
  PathBytes out;
  out.reserve(dir.size() + name.size() + 1);
  out.append(dir);
  if (out.empty() || out.back() != '/') out.push_back('/');
  out.append(name);
  return out;
}

void push_components(std::deque<std::string_view>& todo, std::string_view path) {
  std::deque<std::string_view> parts;
  std::size_t at = 0;
  while (at < path.size()) {
    std::size_t slash = path.find('/', at);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > at) parts.push_back(path.substr(at, slash - at));
    at = slash + 1;
  }
  todo.insert(todo.begin(), parts.begin(), parts.end());
}

FileType stat_type(const PathBytes& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? file_type_of_mode(st.st_mode) : FileType::none;
}

// A walk that stopped at `at`: the path it would have reached, with the error.
Resolution failed(Resolution result, PathBytes at, const std::deque<std::string_view>& rest, int error) {
  result.resolved = std::move(at);
  for (std::string_view name : rest) result.resolved.append(1, '/').append(name);
  result.error = error;
  result.type = FileType::none;
  return result;
}

}  // namespace


PathResolver::Node PathResolver::lookup_uncached(const PathBytes& path, Viewer viewer) const {
  Node node;
  if (path == "/proc/self" || path == "/proc/thread-self") {
    node.type = FileType::symlink;
    node.target = std::to_string(viewer.tgid);
    if (path == "/proc/thread-self") node.target += "/task/" + std::to_string(viewer.tid);
    return node;
  }
  struct stat st;
  const PathBytes host = host_path(path);
  if (lstat(host.c_str(), &st) != 0) {
    node.error = errno;
    return node;
  }
  node.type = file_type_of_mode(st.st_mode);
  if (node.type == FileType::symlink) {
    char buffer[4096];
    ssize_t n = readlink(host.c_str(), buffer, sizeof buffer);
    if (n < 0) node.error = errno;
    else node.target.assign(buffer, static_cast<std::size_t>(n));
  }
  return node;
}

void PathResolver::set_root(PathBytes prefix) {
  root_prefix_ = std::move(prefix);
  cache_.clear();
}

PathBytes PathResolver::host_path(const PathBytes& path) const {
  // The walk resolves every symlink itself, so the kernel only ever sees
  // symlink-free directories under the prefix: nothing escapes it.
  return root_prefix_.empty() || is_proc(path) ? path : root_prefix_ + path;
}

PathResolver::Node PathResolver::lookup(const PathBytes& path, Viewer viewer) {
  if (is_proc(path)) return lookup_uncached(path, viewer);
  auto it = cache_.find(path);
  if (it != cache_.end()) return it->second;
  Node node = lookup_uncached(path, viewer);
  cache_.emplace(path, node);
  return node;
}

void PathResolver::forget(const PathBytes& path) { cache_.erase(path); }

void PathResolver::forget_all() { cache_.clear(); }

Resolution PathResolver::resolve(std::string_view base, std::string_view path, bool follow_final,
                                 Viewer viewer) {
  Resolution result;
  if (path.empty()) {
    result.error = ENOENT;
    return result;
  }
  bool must_be_dir = path.back() == '/';
  PathBytes current(path.front() == '/' ? std::string_view("/") : base);
  std::deque<std::string_view> todo;
  push_components(todo, path);
  std::deque<PathBytes> targets;  // owns link targets that `todo` points into
  int hops = 0;
  while (!todo.empty()) {
    std::string_view name = todo.front();
    todo.pop_front();
    bool last = todo.empty();
    if (name == ".") continue;
    if (name == "..") {
      current = PathBytes(parent_of(current));
      continue;
    }
    PathBytes candidate = join(current, name);
    Node node = lookup(candidate, viewer);
    if (node.error != 0) return failed(std::move(result), std::move(candidate), todo, node.error);
    if (node.type == FileType::symlink && (!last || follow_final || must_be_dir)) {
      if (++hops > kMaxSymlinks) return failed(std::move(result), std::move(candidate), todo, ELOOP);
      result.links.push_back(Symlink{candidate, node.target});
      bool magic = is_proc(candidate) && candidate != "/proc/self" && candidate != "/proc/thread-self";
      if (magic && (node.target.empty() || node.target.front() != '/')) {
        // A /proc magic link to an object without a path (pipe:[...],
        // socket:[...], anon_inode:...): the link stands for the object.
        if (!last) return failed(std::move(result), std::move(candidate), todo, ENOTDIR);
        result.resolved = std::move(candidate);
        result.type = stat_type(result.resolved);
        return result;
      }
      if (magic && lookup(node.target, viewer).error != 0) {
        // A deleted file or a memfd ("/memfd:name (deleted)"): the kernel's
        // name for it, which is no file on any file system.
        if (!last) return failed(std::move(result), std::move(candidate), todo, ENOTDIR);
        result.resolved = node.target;
        result.type = FileType::none;
        return result;
      }
      targets.push_back(node.target);
      if (targets.back().front() == '/') current = "/";
      push_components(todo, targets.back());
      continue;
    }
    if (!last && node.type != FileType::directory) return failed(std::move(result), std::move(candidate), todo, ENOTDIR);
    current = std::move(candidate);
    result.type = node.type;
  }
  if (result.type == FileType::none) result.type = lookup(current, viewer).type;  // "/" or a path of only "." and ".."
  if (must_be_dir && result.type != FileType::directory) result.error = ENOTDIR;
  result.resolved = std::move(current);
  return result;
}

}  // namespace tracepack::tracer

// resolve_path: the kernel's namei, on strings.
//
// The path is split into components and walked from the base directory (or
// "/"), asking the lookup about each prefix. A symlink met before the last
// component, or at the last when the caller follows it, is recorded and its
// target's components are pushed in front of what remains, so ".." after a
// symlink climbs from where the link led (collapsing ".." textually would be
// wrong: a/link/.. is the parent of the link's target, not a). At most
// kMaxSymlinks links are followed, like the kernel (ELOOP). The walk never
// leaves "/": an absolute target restarts there and ".." stays there, so a
// lookup that maps "/" to a directory keeps the walk inside it.
#include "tracepack/path_resolution.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <deque>

#include "tracepack/posix.h"

namespace tracepack {
namespace {

PathBytes join(std::string_view dir, std::string_view name) {
  PathBytes out;
  out.reserve(dir.size() + name.size() + 1);
  out.append(dir);
  if (out.empty() || out.back() != '/') out.push_back('/');
  out.append(name);
  return out;
}

void push_components(std::deque<std::string_view>& todo, std::string_view path) {
  std::vector<std::string_view> parts;
  std::size_t at = 0;
  while (at < path.size()) {
    std::size_t slash = path.find('/', at);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > at) parts.push_back(path.substr(at, slash - at));
    at = slash + 1;
  }
  todo.insert(todo.begin(), parts.begin(), parts.end());
}

PathBytes joined(const std::deque<std::string_view>& rest) {
  PathBytes out;
  for (std::string_view name : rest) (out.empty() ? out : out.append(1, '/')).append(name);
  return out;
}

// A walk that stopped at `at`: the path it would have reached, with the error.
PathResolution failed(PathResolution result, PathBytes at, const std::deque<std::string_view>& rest, int error) {
  result.resolved = std::move(at);
  for (std::string_view name : rest) result.resolved.append(1, '/').append(name);
  result.error = error;
  result.type = FileType::none;
  return result;
}

}  // namespace

std::string_view parent_of(std::string_view path) {
  std::size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string_view::npos ? std::string_view("/") : path.substr(0, slash);
}

ResolveOutcome PathResolution::outcome() const {
  switch (error) {
    case 0:
      return ResolveOutcome::resolved;
    case ENOENT:
      return ResolveOutcome::missing;
    case ENOTDIR:
      return ResolveOutcome::not_directory;
    case ELOOP:
      return ResolveOutcome::too_many_links;
    default:
      return ResolveOutcome::lookup_failed;
  }
}

PathNode read_host_node(const PathBytes& host) {
  PathNode node;
  struct stat st;
  if (lstat(host.c_str(), &st) != 0) {
    node.error = errno;
    return node;
  }
  node.type = file_type_of_mode(st.st_mode);
  if (node.type == FileType::symlink) {
    char buffer[4096];
    ssize_t n = readlink(host.c_str(), buffer, sizeof buffer);
    if (n < 0)
      node.error = errno;
    else
      node.target.assign(buffer, static_cast<std::size_t>(n));
  }
  return node;
}

PathLookup host_lookup(PathBytes root) {
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  if (root == "/") root.clear();
  return [root = std::move(root)](const PathBytes& path) { return read_host_node(root + path); };
}

PathResolution resolve_path(const PathLookup& lookup, std::string_view path, ResolveOptions options) {
  PathResolution result;
  if (path.empty()) {
    result.error = ENOENT;
    return result;
  }
  bool must_be_dir = path.back() == '/';
  PathBytes current(path.front() == '/' ? std::string_view("/") : options.base);
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
    PathNode node = lookup(candidate);
    if (node.error != 0) return failed(std::move(result), std::move(candidate), todo, node.error);
    if (node.type == FileType::symlink && (!last || options.follow_final || must_be_dir)) {
      if (++hops > kMaxSymlinks) return failed(std::move(result), std::move(candidate), todo, ELOOP);
      result.links.push_back(Symlink{candidate, node.target});
      result.remaining.push_back(joined(todo));
      if (node.end) {
        if (!last) return failed(std::move(result), std::move(candidate), todo, ENOTDIR);
        result.resolved = std::move(*node.end);
        result.type = node.end_type;
        return result;
      }
      targets.push_back(std::move(node.target));
      if (targets.back().starts_with('/')) current = "/";
      push_components(todo, targets.back());
      continue;
    }
    if (!last && node.type != FileType::directory) return failed(std::move(result), std::move(candidate), todo, ENOTDIR);
    current = std::move(candidate);
    result.type = node.type;
  }
  if (result.type == FileType::none) result.type = lookup(current).type;  // "/" or a path of only "." and ".."
  if (must_be_dir && result.type != FileType::directory) result.error = ENOTDIR;
  result.resolved = std::move(current);
  return result;
}

}  // namespace tracepack

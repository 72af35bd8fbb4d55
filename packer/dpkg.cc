// package_usage: the dpkg database says which package installed each path
// (info/PACKAGE[:ARCH].list, one path per line) and how big each package is
// (status, Installed-Size in KiB). List paths are as the package shipped them
// (/bin/bash); on a merged-/usr system the file is /usr/bin/bash, so each
// list path's directory is resolved (cached per directory) before it is
// compared with the plan's symlink-free paths: with realpath on the host, with
// resolve_path inside another root (an image's), whose absolute symlinks stay
// in it.
#include "tracepack/dpkg.h"

#include <dirent.h>
#include <limits.h>
#include <stdlib.h>

#include <algorithm>
#include <fstream>
#include <unordered_map>

#include "tracepack/path_resolution.h"

namespace tracepack {
namespace {

class DirResolver {
 public:
  explicit DirResolver(const PathBytes& root) : root_(root) {}

  std::string physical(const std::string& path) {
    std::size_t slash = path.rfind('/');
    std::string dir = slash == 0 ? "/" : path.substr(0, slash);
    auto it = cache_.find(dir);
    if (it == cache_.end()) {
      it = cache_.emplace(dir, resolve(dir)).first;
    }
    return (it->second == "/" ? "" : it->second) + path.substr(slash);
  }

 private:
  std::string resolve(const std::string& dir) const {
    if (root_ == "/") {
      char buffer[PATH_MAX];
      return realpath(dir.c_str(), buffer) ? std::string(buffer) : dir;
    }
    PathResolution r = resolve_path(host_lookup(root_), dir);
    return r.outcome() == ResolveOutcome::resolved ? r.resolved : dir;
  }

  PathBytes root_;
  std::unordered_map<std::string, std::string> cache_;
};

std::map<std::string, std::uint64_t> installed_sizes(const std::string& status_file) {
  std::map<std::string, std::uint64_t> sizes;
  std::ifstream in(status_file);
  std::string line, package;
  while (std::getline(in, line)) {
    if (line.starts_with("Package: "))
      package = line.substr(9);
    else if (line.starts_with("Installed-Size: "))
      sizes[package] = std::strtoull(line.c_str() + 16, nullptr, 10) * 1024;
  }
  return sizes;
}

}  // namespace

std::vector<PackageFiles> package_files(const BundlePlan& plan, const std::string& admin_dir, const PathBytes& root) {
  std::unordered_map<std::string, bool> files;
  for (const PlanEntry& e : plan.entries)
    if (e.type == EntryType::regular) files.emplace(e.path, false);
  DIR* dir = opendir((admin_dir + "/info").c_str());
  if (dir == nullptr) return {};
  std::vector<std::string> lists;
  while (dirent* d = readdir(dir))
    if (std::string name = d->d_name; name.ends_with(".list")) lists.push_back(name.substr(0, name.size() - 5));
  closedir(dir);
  // Sorted, so that a path two packages list goes to the same one every time.
  std::sort(lists.begin(), lists.end());
  std::vector<PackageFiles> out;
  DirResolver resolver(root);
  for (const std::string& list_name : lists) {
    std::size_t colon = list_name.find(':');
    PackageFiles p{list_name.substr(0, colon), colon == std::string::npos ? "" : list_name.substr(colon + 1), {}};
    std::ifstream list(admin_dir + "/info/" + list_name + ".list");
    for (std::string path; std::getline(list, path);) {
      if (path.empty() || path == "/.") continue;
      auto it = files.find(resolver.physical(path));
      if (it == files.end() || it->second) continue;
      it->second = true;
      p.files.push_back(it->first);
    }
    std::sort(p.files.begin(), p.files.end());
    if (!p.files.empty()) out.push_back(std::move(p));
  }
  std::sort(out.begin(), out.end(), [](const PackageFiles& a, const PackageFiles& b) {
    return a.package != b.package ? a.package < b.package : a.architecture < b.architecture;
  });
  return out;
}

std::vector<PackageUsage> package_usage(const BundlePlan& plan, const std::string& admin_dir, const PathBytes& root) {
  std::unordered_map<std::string, const PlanEntry*> files;
  for (const PlanEntry& e : plan.entries)
    if (e.type == EntryType::regular) files.emplace(e.path, &e);
  DIR* dir = opendir((admin_dir + "/info").c_str());
  if (dir == nullptr) return {};
  std::map<std::string, std::uint64_t> sizes = installed_sizes(admin_dir + "/status");
  std::map<std::string, PackageUsage> usage;
  std::unordered_map<std::string, bool> claimed;
  DirResolver resolver(root);
  while (dirent* d = readdir(dir)) {
    std::string name = d->d_name;
    if (!name.ends_with(".list")) continue;
    std::string package = name.substr(0, name.size() - 5);
    std::string bare = package.substr(0, package.find(':'));
    PackageUsage& u = usage[bare];
    u.package = bare;
    u.bytes_installed = sizes.count(bare) ? sizes[bare] : 0;
    std::ifstream list(admin_dir + "/info/" + name);
    std::string path;
    while (std::getline(list, path)) {
      if (path.empty() || path == "/.") continue;
      ++u.files_installed;
      auto it = files.find(resolver.physical(path));
      if (it == files.end() || claimed[it->first]) continue;
      claimed[it->first] = true;
      ++u.files_used;
      u.bytes_used += it->second->size;
    }
  }
  closedir(dir);
  std::vector<PackageUsage> out;
  PackageUsage unowned;
  for (auto& [name, u] : usage)
    if (u.files_used > 0) out.push_back(u);
  for (const auto& [path, entry] : files)
    if (!claimed[path]) {
      ++unowned.files_used;
      unowned.bytes_used += entry->size;
    }
  std::sort(out.begin(), out.end(), [](const PackageUsage& a, const PackageUsage& b) {
    return a.bytes_used != b.bytes_used ? a.bytes_used > b.bytes_used : a.package < b.package;
  });
  out.push_back(unowned);
  return out;
}

}  // namespace tracepack

// A source tree on disk and the BundlePlan that describes it, built together,
// for the writer tests (archives and images): they write a bundle from the
// plan and compare what the real clients extract with it. And an in-memory
// file system for the planner's tests (plan, why).
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <map>
#include <string>

#include "tracepack/plan.h"

namespace tracepack::plan_tree {

inline constexpr std::int64_t kOldTime = 1600000000;  ///< 2020-09-13: the default modification time

/// Files, directories, symlinks and hard links made under `root`, each with
/// the PlanEntry that packs it at the same path (owner 1234:5678, traced by
/// test 'demo').
class Tree {
 public:
  explicit Tree(std::string root) : root_(std::move(root)) { mkdir(root_.c_str(), 0755); }

  const std::string& root() const { return root_; }
  BundlePlan& plan() { return plan_; }
  const BundlePlan& plan() const { return plan_; }
  /// Where the entry for `path` lives on disk.
  std::string host(const std::string& path) const { return root_ + path; }

  void dir(const std::string& path, std::uint32_t mode = 0755) {
    ASSERT_EQ(mkdir(host(path).c_str(), 0700), 0) << path;
    add(path, EntryType::directory, mode, kOldTime);
  }
  void file(const std::string& path, const std::string& content, std::uint32_t mode = 0644, std::int64_t mtime = kOldTime) {
    std::ofstream out(host(path), std::ios::binary | std::ios::trunc);
    out << content;
    ASSERT_TRUE(out.flush()) << path;
    add(path, EntryType::regular, mode, mtime).size = content.size();
  }
  void symlink(const std::string& path, const std::string& target) {
    ASSERT_EQ(::symlink(target.c_str(), host(path).c_str()), 0) << path;
    add(path, EntryType::symlink, 0777, kOldTime).link_target = target;
  }
  /// A hard link to the regular file `target`, added earlier.
  void hardlink(const std::string& path, const std::string& target) {
    ASSERT_EQ(::link(host(target).c_str(), host(path).c_str()), 0) << path;
    // Copied before add(): it grows the vector `t` points into.
    PlanEntry t = *find(target);
    PlanEntry& e = add(path, EntryType::regular, t.mode, t.mtime);
    e.size = t.size;
    e.hardlink_to = target;
  }

  /// The plan's entry for `path`, or null.
  const PlanEntry* find(const std::string& path) const {
    for (const PlanEntry& e : plan_.entries)
      if (e.path == path) return &e;
    return nullptr;
  }

  /// Applies the planned modes and mtimes on disk (directories last, as their
  /// contents change their mtime) and sorts the plan.
  void finish() {
    std::sort(plan_.entries.begin(), plan_.entries.end(), [](const PlanEntry& a, const PlanEntry& b) { return a.path < b.path; });
    for (auto it = plan_.entries.rbegin(); it != plan_.entries.rend(); ++it) {
      std::string p = host(it->path);
      if (it->type != EntryType::symlink) chmod(p.c_str(), it->mode);
      timespec times[2] = {{it->mtime, 0}, {it->mtime, 0}};
      utimensat(AT_FDCWD, p.c_str(), times, AT_SYMLINK_NOFOLLOW);
    }
  }

 private:
  PlanEntry& add(const std::string& path, EntryType type, std::uint32_t mode, std::int64_t mtime) {
    PlanEntry e;
    e.path = path;
    e.type = type;
    e.mode = mode;
    e.mtime = mtime;
    e.uid = 1234;
    e.gid = 5678;
    e.reasons.push_back({PlanReason::Source::traced, "test 'demo', pid 42 (demo), openat", "demo", 1, 42, "openat", ""});
    plan_.entries.push_back(e);
    return plan_.entries.back();
  }

  std::string root_;
  BundlePlan plan_;
};

/// An in-memory tree for make_plan: paths to FileInfo; directories list
/// their children. Each file gets its own inode unless told otherwise.
class FakeFileSystem : public FileSystemView {
 public:
  FakeFileSystem& dir(const PathBytes& path, std::uint32_t mode = 0755) {
    return add(path, EntryType::directory, FileType::directory, mode, {});
  }
  FakeFileSystem& file(const PathBytes& path, std::uint64_t size = 10, std::uint32_t mode = 0644, std::uint64_t inode = 0,
                       std::uint64_t links = 1) {
    add(path, EntryType::regular, FileType::regular, mode, {});
    files_[path].size = size;
    files_[path].inode = inode ? inode : files_.size() + 1000;
    files_[path].links = links;
    return *this;
  }
  FakeFileSystem& link(const PathBytes& path, const PathBytes& target) {
    return add(path, EntryType::symlink, FileType::symlink, 0777, target);
  }
  FakeFileSystem& special(const PathBytes& path, FileType type) { return add(path, EntryType::regular, type, 0666, {}); }
  void remove(const PathBytes& path) { files_.erase(path); }

  std::optional<FileInfo> info(const PathBytes& path) const override {
    auto it = files_.find(path);
    if (it == files_.end()) return std::nullopt;
    return it->second;
  }
  std::vector<PathBytes> list(const PathBytes& dir) const override {
    std::vector<PathBytes> names;
    PathBytes prefix = dir == "/" ? "/" : dir + "/";
    for (const auto& [path, info] : files_)
      if (path.starts_with(prefix) && path.size() > prefix.size() && path.find('/', prefix.size()) == PathBytes::npos)
        names.push_back(path.substr(prefix.size()));
    return names;
  }

 private:
  FakeFileSystem& add(const PathBytes& path, EntryType type, FileType file_type, std::uint32_t mode, const PathBytes& target) {
    FileInfo info;
    info.type = type;
    info.file_type = file_type;
    info.mode = mode;
    info.link_target = target;
    info.inode = files_.size() + 1000;
    files_[path] = info;
    return *this;
  }
  std::map<PathBytes, FileInfo> files_;
};

}  // namespace tracepack::plan_tree

// Outputs put in place, and what they may replace.
//
// Every writer builds its output under a temporary name beside the target
// (an AtomicFile, ".NAME.tmp.XXXXXX") and only then renames it into place
// (put_in_place: an existing output is swapped out by RENAME_EXCHANGE, then
// removed), so a failure at any point, a full disk included, leaves the
// previous output as it was and no temporary behind. What may be replaced at
// all is decided by check_replaceable, before anything is written and again
// at the rename: an empty directory or a bundle tracepack wrote for the
// directory formats, a regular file for the archives; never a directory
// holding someone's files. StagedBundle and check_output_target
// (bundle_writer.h) apply the same rules for `build`, which verifies a bundle
// under a staging name before it is published.
#include "staged_output.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "tracepack/atomic_file.h"
#include "tracepack/bundle_writer.h"
#include "tracepack/error.h"
#include "tracepack/output_format.h"

namespace tracepack {
namespace {

std::string_view base_name(std::string_view path) {
  std::size_t slash = path.rfind('/');
  return slash == path.npos ? path : path.substr(slash + 1);
}

/// An output path as its directory ("dir/", or "." for none) and its name.
struct SplitPath {
  std::string dir;
  std::string name;
};

SplitPath split_output(const std::string& path) {
  std::string trimmed = path;
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
  std::string name(base_name(trimmed));
  if (name.empty() || name == "." || name == "..") throw Error(path + ": not a usable output name (name a file or directory to create)");
  std::string dir = trimmed.size() == name.size() ? "." : trimmed.substr(0, trimmed.size() - name.size());
  if (dir.size() > 1) dir.pop_back();  // the '/' before the name
  return {dir, name};
}

/// The path of `split` again, without a trailing '/'.
std::string joined(const SplitPath& split) { return (split.dir == "/" ? "" : split.dir) + "/" + split.name; }

/// Makes a rename of `target` in `dirfd` durable, best effort: the output is
/// in place either way (`dirfd` may be an O_PATH descriptor, which fsync
/// refuses, or AT_FDCWD with `target` a path).
void sync_directory(int dirfd, const std::string& target = {}) {
  std::string dir = ".";
  if (dirfd == AT_FDCWD && target.find('/') != target.npos) dir = target.substr(0, target.rfind('/') + 1);
  UniqueFd fd(openat(dirfd, dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() >= 0) fsync(fd.get());
}

// ---------------------------------------------------------------------------
// What an output may replace

bool is_empty_directory(int fd) {
  DIR* dir = fdopendir(dup(fd));
  if (!dir) return false;
  bool empty = true;
  while (const dirent* d = readdir(dir))
    if (std::string_view(d->d_name) != "." && std::string_view(d->d_name) != "..") empty = false;
  closedir(dir);
  return empty;
}

bool is_regular_at(int dirfd, const char* name) {
  struct stat st;
  return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

/// An image layout whose index.json carries kLayoutAnnotation.
bool is_tracepack_layout(int fd) {
  if (!is_regular_at(fd, "oci-layout") || !is_regular_at(fd, "index.json")) return false;
  UniqueFd index(openat(fd, "index.json", O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  std::string text;
  char buffer[65536];
  ssize_t n = 0;
  while (index.get() >= 0 && text.size() < (1u << 20) && (n = ::read(index.get(), buffer, sizeof buffer)) > 0)
    text.append(buffer, static_cast<std::size_t>(n));
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("annotations") || !doc["annotations"].is_object()) return false;
  const nlohmann::json& annotations = doc["annotations"];
  return annotations.contains(kLayoutAnnotation) && annotations[kLayoutAnnotation] == "tracepack";
}

/// An empty directory, or a bundle tracepack wrote: its own to replace.
bool is_replaceable_directory(int dirfd, const std::string& name) {
  UniqueFd fd(openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) return false;
  return is_empty_directory(fd.get()) || is_regular_at(fd.get(), ".tracepack/manifest.json") || is_tracepack_layout(fd.get());
}

}  // namespace

OutputPath open_output_path(const std::string& path) {
  SplitPath split = split_output(path);
  int fd = ::open(split.dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw_system_error(split.dir + ": cannot open the output directory");
  return {path, UniqueFd(fd), split.name};
}

void check_replaceable(int dirfd, const std::string& target, std::string_view format, const std::string& shown) {
  struct stat st;
  if (fstatat(dirfd, target.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return;  // nothing there (a missing parent is the caller's)
    throw_system_error(shown + ": cannot stat");
  }
  if (is_directory_format(format)) {
    if (!S_ISDIR(st.st_mode)) throw Error(shown + ": exists and is not a directory (the " + std::string(format) + " format was chosen)");
    if (!is_replaceable_directory(dirfd, target))
      throw Error(shown +
                  ": not replaced: a directory that is neither empty nor a bundle tracepack wrote "
                  "(it has no .tracepack/manifest.json); nothing in it was changed");
    return;
  }
  if (S_ISDIR(st.st_mode)) throw Error(shown + ": is a directory (an archive format was chosen)");
  if (!S_ISREG(st.st_mode)) throw Error(shown + ": exists and is not a regular file (an archive format replaces only a regular file)");
}

void put_in_place(int dirfd, const std::string& temp, const std::string& target, const std::string& shown) {
  struct stat st;
  bool directory = fstatat(dirfd, temp.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
  check_replaceable(dirfd, target, directory ? "dir" : "tar", shown);
  if (renameat2(dirfd, temp.c_str(), dirfd, target.c_str(), RENAME_NOREPLACE) == 0) return sync_directory(dirfd, target);
  if (errno == EEXIST && renameat2(dirfd, temp.c_str(), dirfd, target.c_str(), RENAME_EXCHANGE) == 0) {
    sync_directory(dirfd, target);
    remove_tree(dirfd, temp);  // now the previous output
    return;
  }
  if (errno != EINVAL) throw_system_error(shown + ": cannot put the bundle in place");
  // No exchange on this file system: move the previous output aside first.
  std::string old = temp + ".old";
  bool had_old = renameat(dirfd, target.c_str(), dirfd, old.c_str()) == 0;
  if (!had_old && errno != ENOENT) throw_system_error(shown + ": cannot move the previous bundle aside");
  if (renameat(dirfd, temp.c_str(), dirfd, target.c_str()) != 0) {
    int err = errno;
    if (had_old) renameat(dirfd, old.c_str(), dirfd, target.c_str());
    throw Error(system_error_message(shown + ": cannot put the bundle in place", err));
  }
  sync_directory(dirfd, target);
  if (had_old) remove_tree(dirfd, old);
}

void check_output_target(const std::string& path, const std::string& format, const std::vector<std::string>& inputs) {
  namespace fs = std::filesystem;
  SplitPath split = split_output(path);
  std::error_code ec;
  // The parent resolved, the name not: an output that is a symlink is itself replaced, not what it names.
  fs::path target = fs::weakly_canonical(fs::absolute(split.dir, ec), ec) / split.name;
  for (const std::string& input : inputs) {
    fs::path in = fs::weakly_canonical(fs::absolute(input, ec), ec);
    if (ec || in.empty()) continue;
    auto [t, i] = std::mismatch(target.begin(), target.end(), in.begin(), in.end());
    if (t != target.end()) continue;
    if (i == in.end()) throw Error(path + ": not replaced: it is " + input + ", an input of this run");
    throw Error(path + ": not replaced: it holds " + input + ", an input of this run (choose an output outside it)");
  }
  check_replaceable(AT_FDCWD, joined(split), format, path);
  struct stat st;
  if (::stat(split.dir.c_str(), &st) != 0) {
    if (errno != ENOENT) throw_system_error(split.dir + ": cannot use as the output's directory");
    fs::create_directories(split.dir, ec);
    if (ec) throw Error(system_error_message(split.dir + ": cannot create the output's directory", ec.value()));
  } else if (!S_ISDIR(st.st_mode)) {
    throw Error(split.dir + ": not a directory (the output's parent)");
  }
  if (faccessat(AT_FDCWD, split.dir.c_str(), W_OK | X_OK, AT_EACCESS) != 0)
    throw_system_error(split.dir + ": cannot write the bundle there");
}

std::string failed_output_path(const std::string& path) {
  std::string trimmed = path;
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
  return trimmed + ".failed";
}

StagedBundle::StagedBundle(const std::string& output) {
  SplitPath split = split_output(output);
  path_ = joined({split.dir, "." + split.name + ".staging." + random_name_suffix()});
}

StagedBundle::~StagedBundle() {
  if (!published_) remove_tree(AT_FDCWD, path_);
}

void StagedBundle::publish(const std::string& target) {
  SplitPath split = split_output(target);
  put_in_place(AT_FDCWD, path_, joined(split), target);
  published_ = true;
}

}  // namespace tracepack

// The sandbox: a root that holds only a bundle.
//
// The parent creates an empty scratch directory and works out every path and
// text the child will need (the child may not allocate: it runs between
// clone and exec). The child, cloned into new mount and PID namespaces (and
// a user namespace unless it is root), then:
//  1. maps its own uid and gid into the user namespace (identity map, so the
//     command runs as the same user it was traced as);
//  2. makes every mount private, so nothing below leaks back to the host;
//  3. mounts a tmpfs on the scratch directory: the writable layer lives in
//     memory and vanishes with the namespace;
//  4. binds the bundle to scratch/lower and mounts an overlay of it, with
//     upper and work directories on that tmpfs, at scratch/root: the command
//     may write anywhere, the bundle itself is never modified;
//  5. fills scratch/root with a tmpfs /dev holding binds of the host's null,
//     zero, full, random, urandom and tty plus the fd links, and a proc file
//     system of the new PID namespace; /tmp and /var/tmp are the bundle's
//     (what an include: rule or a project there packed), writable through the
//     overlay, or, when the bundle lacks them, made empty with mode 1777;
//  6. pivot_roots into scratch/root and detaches the old root: from then on
//     no host path can be named;
//  7. when given a user (resolve_sandbox_user, in the parent, from the
//     root's own /etc/passwd and /etc/group): as root, sets its groups, gid
//     and uid; in a user namespace, step 1 already mapped the caller's ids
//     to that user's instead of to themselves.
#include "tracepack/sandbox.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <grp.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "child_report.h"
#include "tracepack/error.h"
#include "tracepack/path_resolution.h"
#include "tracepack/posix.h"

namespace tracepack {
namespace {

// What enter() does, in order; describe_failure names them.
enum Step : int {
  kSetgroups,
  kUidMap,
  kGidMap,
  kPrivate,
  kScratchTmpfs,
  kLayers,
  kBindBundle,
  kOverlay,
  kMountPoints,
  kTmp,
  kDev,
  kDevNodes,
  kDevLinks,
  kProc,
  kPivot,
  kDetach,
  kGroups,
  kGid,
  kUid,
  kStepCount
};

constexpr const char* kStepNames[kStepCount] = {
    "deny setgroups in the user namespace",
    "map the user id into the user namespace",
    "map the group id into the user namespace",
    "make the mounts private",
    "mount a tmpfs on the scratch directory",
    "create the overlay's directories",
    "bind the bundle",
    "mount an overlay of the bundle",
    "create /dev and /proc in the root",
    "create /tmp and /var/tmp in the root",
    "mount a tmpfs on /dev",
    "bind the device nodes into /dev",
    "create the links in /dev",
    "mount /proc",
    "pivot_root into the bundle",
    "detach the host's root",
    "set the user's supplementary groups",
    "set the user's group id",
    "set the user's id",
};

constexpr const char* kDevices[] = {"null", "zero", "full", "random", "urandom", "tty"};
constexpr const char* kOldRoot = ".tracepack-old-root";

// Indexes into Sandbox::strings_.
enum Text : std::size_t {
  kScratch,
  kLower,
  kUpper,
  kWork,
  kRoot,
  kOverlayOptions,
  kRootDev,
  kRootProc,
  kRootTmp,
  kRootVar,
  kRootVarTmp,
  kRootOld,
  kUidLine,
  kGidLine,
  kDeviceTargets,  // then one per device
};

// Writes all of `text` to `path`; 0 or errno.
int write_text(const char* path, const char* text) noexcept {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  std::size_t length = std::strlen(text);
  ssize_t n = write(fd, text, length);
  int err = n == static_cast<ssize_t>(length) ? 0 : (n < 0 ? errno : EIO);
  close(fd);
  return err;
}

int made_dir(const char* path, mode_t mode) noexcept { return mkdir(path, mode) == 0 || errno == EEXIST ? 0 : -1; }

// A scratch directory (/tmp): the bundle's as it is, else a new one that
// every user may write to (chmod, as mkdir's mode passes through the umask).
int made_scratch_dir(const char* path) noexcept {
  if (mkdir(path, 01777) == 0) return chmod(path, 01777);
  return errno == EEXIST ? 0 : -1;
}

// Parts of a path an overlay option cannot hold unescaped.
bool fits_overlay_options(const std::string& path) { return path.find_first_of(",:\\") == std::string::npos; }

// The mount points this process can see. /proc/self/mountinfo lists them
// relative to its root and leaves out mounts the root cannot reach: in a
// plain chroot, "/" is not among them.
std::vector<std::string> visible_mount_points() {
  std::vector<std::string> points;
  std::ifstream mountinfo("/proc/self/mountinfo");
  for (std::string line; std::getline(mountinfo, line);) {
    // ID PARENT MAJOR:MINOR ROOT MOUNT-POINT ...; spaces in names are octal escapes.
    std::istringstream fields(line);
    std::string id, parent, device, root, mount_point;
    if (fields >> id >> parent >> device >> root >> mount_point && mount_point.find('\\') == std::string::npos)
      points.push_back(mount_point);
  }
  return points;
}

// The lines of `file` in `root`, looked up inside the tree (its symlinks
// cannot lead out of it): none when it has no such file.
std::vector<std::vector<std::string>> read_id_file(const std::string& root, const char* file) {
  PathResolution where = resolve_path(host_lookup(root), file);
  std::vector<std::vector<std::string>> entries;
  if (where.error != 0) return entries;
  std::ifstream in(root + where.resolved);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields;
    std::size_t start = 0;
    for (std::size_t colon; (colon = line.find(':', start)) != line.npos; start = colon + 1)
      fields.push_back(line.substr(start, colon - start));
    fields.push_back(line.substr(start));
    entries.push_back(std::move(fields));
  }
  return entries;
}

// `text` as an id when it is all digits and fits.
std::optional<unsigned> id_number(const std::string& text) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// The entry of `entries` (passwd or group lines) whose name or, for a
// number, id (field 2) is `key`.
const std::vector<std::string>* find_id_entry(const std::vector<std::vector<std::string>>& entries, const std::string& key, bool numeric) {
  for (const auto& fields : entries)
    if (fields.size() >= 3 && (numeric ? id_number(fields[2]) == id_number(key) : fields[0] == key)) return &fields;
  return nullptr;
}

std::string scratch_parent() {
  const char* tmpdir = std::getenv("TMPDIR");
  std::string dir = tmpdir != nullptr && *tmpdir == '/' ? tmpdir : "/tmp";
  return fits_overlay_options(dir) ? dir : "/tmp";
}

}  // namespace

SandboxUser resolve_sandbox_user(const std::string& root, const std::string& user) {
  SandboxUser resolved;
  if (user.empty()) return resolved;
  std::size_t colon = user.find(':');
  std::string name = user.substr(0, colon);
  std::optional<std::string> group;
  if (colon != user.npos) group = user.substr(colon + 1);
  if (name.empty() || (group && group->empty())) throw Error("user '" + user + "': not a user (NAME, UID, NAME:GROUP or UID:GID)");
  std::optional<unsigned> uid = id_number(name);
  auto passwd = read_id_file(root, "/etc/passwd");
  const std::vector<std::string>* entry = find_id_entry(passwd, name, uid.has_value());
  if (entry == nullptr && !uid) throw Error("user '" + name + "': not in " + root + "'s /etc/passwd");
  std::optional<unsigned> entry_gid = entry != nullptr && entry->size() >= 4 ? id_number((*entry)[3]) : std::nullopt;
  resolved.uid = uid ? *uid : id_number((*entry)[2]).value_or(0);
  resolved.gid = entry_gid.value_or(0);
  auto groups = read_id_file(root, "/etc/group");
  if (group) {
    std::optional<unsigned> gid = id_number(*group);
    const std::vector<std::string>* g = find_id_entry(groups, *group, gid.has_value());
    if (g == nullptr && !gid) throw Error("group '" + *group + "': not in " + root + "'s /etc/group");
    resolved.gid = gid ? *gid : id_number((*g)[2]).value_or(0);
    return resolved;
  }
  if (entry == nullptr) return resolved;
  // Supplementary groups: those that list the user among their members.
  const std::string& user_name = (*entry)[0];
  for (const auto& fields : groups) {
    if (fields.size() < 4) continue;
    std::istringstream members(fields[3]);
    for (std::string member; std::getline(members, member, ',');)
      if (member == user_name)
        if (std::optional<unsigned> gid = id_number(fields[2])) resolved.groups.push_back(*gid);
  }
  return resolved;
}

Sandbox::Sandbox(const std::string& bundle_dir, const std::string& user) : bundle_(bundle_dir), user_namespace_(geteuid() != 0) {
  struct stat st;
  if (stat(bundle_.c_str(), &st) != 0) throw_system_error(bundle_ + ": cannot use as a sandbox root");
  if (!S_ISDIR(st.st_mode)) throw Error(bundle_ + ": cannot use as a sandbox root: not a directory");
  if (!user.empty()) user_ = resolve_sandbox_user(bundle_, user);
  std::string pattern = scratch_parent() + "/tracepack-sandbox.XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) throw_system_error(pattern + ": cannot create a scratch directory");
  scratch_ = pattern;
  const std::string root = scratch_ + "/root";
  strings_ = {scratch_, scratch_ + "/lower", scratch_ + "/upper", scratch_ + "/work", root,
              "lowerdir=" + scratch_ + "/lower,upperdir=" + scratch_ + "/upper,workdir=" + scratch_ + "/work", root + "/dev",
              root + "/proc", root + "/tmp", root + "/var", root + "/var/tmp", root + "/" + kOldRoot,
              // Inside id, outside id, count: the caller as itself, or as the user.
              std::to_string(user_ ? user_->uid : geteuid()) + " " + std::to_string(geteuid()) + " 1",
              std::to_string(user_ ? user_->gid : getegid()) + " " + std::to_string(getegid()) + " 1"};
  for (const char* device : kDevices) strings_.push_back(root + "/dev/" + device);
  for (const char* device : kDevices) strings_.push_back(std::string("/dev/") + device);
  std::vector<std::string> points = visible_mount_points();
  if (std::find(points.begin(), points.end(), "/") == points.end()) {
    // A chroot: "/" cannot be made private, so each mount it can see is.
    chroot_mounts_ = strings_.size();
    strings_.insert(strings_.end(), points.begin(), points.end());
  }
}

Sandbox::~Sandbox() {
  // Everything the command wrote lived in the child's tmpfs: the directory is empty.
  rmdir(scratch_.c_str());
}

pid_t Sandbox::clone_child() const {
  long flags = CLONE_NEWNS | CLONE_NEWPID | SIGCHLD;
  if (user_namespace_) flags |= CLONE_NEWUSER;
  // The raw system call behaves like fork() when given no stack, and unlike
  // unshare() it puts the child itself (not its children) in the new PID
  // namespace, so that the caller can trace it directly.
  long pid = syscall(SYS_clone, flags, nullptr, nullptr, nullptr, 0);
  if (pid >= 0) return static_cast<pid_t>(pid);
  int err = errno;
  std::string message = system_error_message("sandbox: cannot create namespaces", err);
  if (user_namespace_ && (err == EPERM || err == ENOSPC || err == EINVAL))
    message +=
        " (hint: this kernel forbids user namespaces to unprivileged users: see sysctl user.max_user_namespaces, "
        "kernel.unprivileged_userns_clone or AppArmor's restrict_unprivileged_userns; running as root needs none)";
  throw Error(message);
}

int Sandbox::step(int index, int result) noexcept {
  if (result == 0) return 0;
  failed_step_ = index;
  return errno != 0 ? errno : EIO;
}

int Sandbox::enter() noexcept {
  auto s = [this](Text t) { return strings_[t].c_str(); };
  if (user_namespace_) {
    if (int e = write_text("/proc/self/setgroups", "deny")) return failed_step_ = kSetgroups, e;
    if (int e = write_text("/proc/self/uid_map", s(kUidLine))) return failed_step_ = kUidMap, e;
    if (int e = write_text("/proc/self/gid_map", s(kGidLine))) return failed_step_ = kGidMap, e;
  }
  if (chroot_mounts_ == 0) {
    if (int e = step(kPrivate, mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr))) return e;
  } else {
    for (std::size_t i = chroot_mounts_; i < strings_.size(); ++i)
      if (int e = step(kPrivate, mount(nullptr, strings_[i].c_str(), nullptr, MS_REC | MS_PRIVATE, nullptr))) return e;
  }
  if (int e = step(kScratchTmpfs, mount("tmpfs", s(kScratch), "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"))) return e;
  for (Text t : {kLower, kUpper, kWork, kRoot})
    if (int e = step(kLayers, made_dir(s(t), 0755))) return e;
  if (int e = step(kBindBundle, mount(bundle_.c_str(), s(kLower), nullptr, MS_BIND | MS_REC, nullptr))) return e;
  if (int e = step(kOverlay, mount("overlay", s(kRoot), "overlay", 0, s(kOverlayOptions)))) return e;
  for (Text t : {kRootDev, kRootProc, kRootOld})
    if (int e = step(kMountPoints, made_dir(s(t), 0755))) return e;
  if (int e = step(kTmp, made_dir(s(kRootVar), 0755))) return e;
  for (Text t : {kRootTmp, kRootVarTmp})
    if (int e = step(kTmp, made_scratch_dir(s(t)))) return e;
  if (int e = step(kDev, mount("tmpfs", s(kRootDev), "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755"))) return e;
  constexpr std::size_t kDeviceCount = sizeof kDevices / sizeof kDevices[0];
  for (std::size_t i = 0; i < kDeviceCount; ++i) {
    const char* target = strings_[kDeviceTargets + i].c_str();
    const char* source = strings_[kDeviceTargets + kDeviceCount + i].c_str();
    int fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (int e = step(kDevNodes, fd < 0 ? -1 : close(fd))) return e;
    if (int e = step(kDevNodes, mount(source, target, nullptr, MS_BIND, nullptr))) return e;
  }
  if (int e = step(kDevLinks, chdir(s(kRootDev)))) return e;
  const char* links[][2] = {
      {"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"}};
  for (const auto& link : links)
    if (int e = step(kDevLinks, symlink(link[0], link[1]))) return e;
  if (int e = step(kProc, mount("proc", s(kRootProc), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr))) return e;
  if (int e = step(kPivot, chdir(s(kRoot)))) return e;
  if (chroot_mounts_ != 0) {
    // pivot_root needs the current root to be a mount point; in a chroot,
    // chroot again (a root process could climb out: fine for finding
    // missing files, not a security boundary).
    if (int e = step(kPivot, rmdir(kOldRoot))) return e;
    if (int e = step(kPivot, chroot("."))) return e;
    if (int e = step(kDetach, chdir("/"))) return e;
    return become_user();
  }
  if (int e = step(kPivot, static_cast<int>(syscall(SYS_pivot_root, ".", kOldRoot)))) return e;
  if (int e = step(kDetach, chdir("/"))) return e;
  if (int e = step(kDetach, umount2(kOldRoot, MNT_DETACH))) return e;
  if (int e = step(kDetach, rmdir(kOldRoot))) return e;
  return become_user();
}

int Sandbox::become_user() noexcept {
  // In a user namespace the id maps made the caller the user already, and
  // setgroups is denied there.
  if (!user_ || user_namespace_) return 0;
  if (int e = step(kGroups, setgroups(user_->groups.size(), user_->groups.data()))) return e;
  if (int e = step(kGid, setgid(user_->gid))) return e;
  return step(kUid, setuid(user_->uid));
}

std::string Sandbox::describe_failure(int index, int error) const {
  const char* what = index >= 0 && index < kStepCount ? kStepNames[index] : "build the root";
  std::string message = system_error_message("sandbox: cannot " + std::string(what), error);
  if (index == kOverlay) message += " (hint: overlayfs is needed; inside a container it may be unavailable or forbidden)";
  if (index == kProc && error == EPERM)
    message += " (hint: the host's /proc is partly hidden, as in some containers, so the kernel refuses a new one)";
  return message;
}

SandboxRun run_in_sandbox(const std::string& bundle_dir, const std::vector<std::string>& argv, const std::string& cwd,
                          const std::string& user) {
  if (argv.empty()) throw Error("exec: no command given");
  Sandbox sandbox(bundle_dir, user);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  tracer::Pipe report = tracer::open_pipe();
  pid_t pid = sandbox.clone_child();
  if (pid == 0) {
    report.read.reset();
    int fd = report.write.get();
    if (int err = sandbox.enter(); err != 0)
      tracer::fail_child(fd, {tracer::ChildFailure::sandbox, sandbox.failed_step(), err}, tracer::ChildExit::cannot_run);
    if (!cwd.empty() && chdir(cwd.c_str()) != 0)
      tracer::fail_child(fd, {tracer::ChildFailure::cwd, -1, errno}, tracer::ChildExit::cannot_run);
    execvp(args[0], args.data());
    int err = errno;
    tracer::fail_child(fd, {tracer::ChildFailure::exec, -1, err}, tracer::exec_failure_exit(err));
  }
  report.write.reset();
  // As system() does: the terminal's signals are for the command.
  struct sigaction ignore {
  }, old_int{}, old_quit{};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGINT, &ignore, &old_int);
  sigaction(SIGQUIT, &ignore, &old_quit);
  SandboxRun run;
  while (waitpid(pid, &run.status, 0) < 0 && errno == EINTR) {
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGQUIT, &old_quit, nullptr);
  tracer::ChildReport failure = tracer::read_child_report(report.read.get());
  switch (failure.failure) {
    case tracer::ChildFailure::none:
      return run;
    case tracer::ChildFailure::cwd:
      throw Error(system_error_message("exec: cannot change to directory " + cwd + " in the bundle", failure.error));
    case tracer::ChildFailure::exec:
      run.error = system_error_message(argv[0], failure.error);
      return run;
    case tracer::ChildFailure::sandbox:
      throw Error(sandbox.describe_failure(failure.step, failure.error));
    case tracer::ChildFailure::seccomp:  // exec installs no filter
      throw Error(system_error_message("exec: cannot install the seccomp filter", failure.error));
  }
  return run;
}

}  // namespace tracepack

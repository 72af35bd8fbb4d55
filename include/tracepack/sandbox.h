// An isolated root built from a bundle: what `tracepack verify` and
// `tracepack exec` run commands in.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace tracepack {

/// The user a sandboxed command runs as, its ids as its root names them.
struct SandboxUser {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  ///< supplementary groups
};

/// Resolves `user` in the tree `root` as a container runtime does: "NAME",
/// "UID", "NAME:GROUP" or "UID:GID" (names and numbers mixed as well),
/// names looked up in root's /etc/passwd and /etc/group (read inside the
/// tree: a symlink there cannot lead out of it; a file it lacks counts as
/// empty). Without a group, the gid is the user's in /etc/passwd (0 for a
/// number it does not list) and the supplementary groups are those of
/// /etc/group that list the user's name; with one, there are none. "" is
/// root (0, 0). Throws Error naming the file for a name it lacks
/// ("user 'app': not in ROOT's /etc/passwd"), and for a malformed user.
SandboxUser resolve_sandbox_user(const std::string& root, const std::string& user);

/// The root a sandboxed command sees: the bundle's tree (never modified: an
/// overlay keeps every write in a scratch directory), a minimal /dev (null,
/// zero, full, random, urandom, tty and the /proc/self/fd links), a fresh
/// /proc for its own PID namespace, and a writable /tmp and /var/tmp: the
/// bundle's, or empty (mode 1777) when it has none. Nothing of the host is
/// visible. Built with mount and PID namespaces, a user namespace
/// when not root, and pivot_root.
///
/// Use: construct in the parent (it prepares every path and the scratch
/// directory), clone_child(), and in the child call enter() before exec.
class Sandbox {
 public:
  /// Prepares a sandbox for the bundle tree at `bundle_dir`, its command
  /// run as `user` (resolve_sandbox_user in that tree; "" = the caller, ids
  /// unchanged). Throws Error when it is not a directory, the user is
  /// unknown or the scratch directory cannot be made.
  explicit Sandbox(const std::string& bundle_dir, const std::string& user = "");
  /// Removes the scratch directory and everything the command wrote.
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  /// Like fork(), into new mount and PID namespaces (and a user namespace
  /// unless running as root): the pid of the child in the parent, 0 in the
  /// child, which is PID 1 of its namespace. Throws Error (with a hint when
  /// the kernel forbids user namespaces).
  pid_t clone_child() const;

  /// In the child, before anything else: builds the root and moves into it
  /// (cwd "/"), then becomes the sandbox's user if it has one. Only
  /// async-signal-safe calls, no allocation. Returns 0, or an errno; then
  /// failed_step() says what failed.
  int enter() noexcept;

  /// The step enter() failed at (an index for describe_failure).
  int failed_step() const noexcept { return failed_step_; }

  /// "sandbox: cannot <step>: <strerror>", in the parent, for a step and
  /// errno that a child reported.
  std::string describe_failure(int step, int error) const;

 private:
  struct Paths;
  int step(int index, int result) noexcept;
  int become_user() noexcept;

  std::string bundle_;
  std::optional<SandboxUser> user_;
  std::string scratch_;
  std::vector<std::string> strings_;  ///< every path and text enter() uses, built in advance
  bool user_namespace_ = false;
  std::size_t chroot_mounts_ = 0;  ///< in a chroot: where the visible mount points start in strings_
  int failed_step_ = -1;
};

/// How a command run by run_in_sandbox ended.
struct SandboxRun {
  int status = 0;     ///< wait status
  std::string error;  ///< set when the command could not be executed ("ls: No such file or directory")
};

/// Runs `argv` (searched in the sandbox's PATH) in a sandbox built from
/// `bundle_dir`, in directory `cwd` inside it ("" = its root), with the
/// caller's terminal and environment, as `user` (resolve_sandbox_user in
/// the bundle; "" = the caller), and waits for it. Throws Error when the
/// sandbox cannot be built, the user is unknown or `cwd` does not exist in
/// it; a command that cannot be executed ends with status 127 (not found)
/// or 126 and `error` set.
SandboxRun run_in_sandbox(const std::string& bundle_dir, const std::vector<std::string>& argv, const std::string& cwd,
                          const std::string& user = "");

}  // namespace tracepack

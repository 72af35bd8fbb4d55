// The bundle plan: every entry a bundle will hold, each with the reasons it is
// there, and every path left out with the reason why. Made by make_plan
// (pure: traces + spec + a view of the file system), written by write_bundle.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tracepack/elf_closure.h"
#include "tracepack/spec.h"
#include "tracepack/trace.h"

namespace tracepack {

/// Why an entry is in the bundle.
struct PlanReason {
  enum class Source {
    traced,       ///< a traced process used it
    rule,         ///< an include: glob matched it
    elf,          ///< an elf: include's dependency closure needs it
    parent,       ///< a directory above another entry
    link_target,  ///< the target of a symlink in the bundle
  };
  Source source = Source::traced;
  std::string detail;        ///< one line for people: "test 'demo', pid 42 (python3), openat"
  std::string test;          ///< traced: the trace's label
  std::uint64_t process = 0; ///< traced: Process::id in that trace
  int pid = 0;
  std::string syscall;       ///< traced: the call
  std::string rule;          ///< rule/elf: the spec text and its "file:line:col"
};

enum class EntryType { regular, directory, symlink };

/// One file, directory or symlink of the bundle, as it will be written.
struct PlanEntry {
  PathBytes path;               ///< absolute path, the same inside the bundle as on the host
  EntryType type = EntryType::regular;
  PathBytes link_target;        ///< symlink: its contents, unchanged
  PathBytes hardlink_to;        ///< regular: when non-empty, a hard link to that earlier entry
  std::uint32_t mode = 0;       ///< permission bits (07777)
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::uint64_t size = 0;       ///< regular files: bytes
  std::int64_t mtime = 0;       ///< seconds since the epoch
  std::vector<PlanReason> reasons;
};

/// A path that stays out, and why ("/proc: pseudo file system", "created by the run").
struct PlanExclusion {
  PathBytes path;
  std::string reason;
};

/// Everything write_bundle needs, sorted by path (parents before children).
struct BundlePlan {
  std::vector<PlanEntry> entries;
  std::vector<PlanExclusion> excluded;
  std::vector<std::string> warnings;
  std::vector<RunInfo> runs;  ///< each trace's header, in input order (image defaults come from the first)
};

/// What the plan needs to know about a path on the source file system.
struct FileInfo {
  EntryType type = EntryType::regular;
  FileType file_type = FileType::regular;  ///< the full type (sockets, devices...)
  std::uint32_t mode = 0;
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::uint64_t size = 0;
  std::int64_t mtime = 0;
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  std::uint64_t links = 1;  ///< hard-link count
  PathBytes link_target;    ///< symlinks
};

/// Read-only access to the file system a bundle is taken from: the host's
/// (HostFileSystem) or an in-memory tree in tests.
class FileSystemView {
 public:
  virtual ~FileSystemView() = default;
  /// lstat + readlink; nullopt when the path does not exist or cannot be read.
  virtual std::optional<FileInfo> info(const PathBytes& path) const = 0;
  /// Names in a directory (no "." or ".."), sorted; empty when unreadable.
  virtual std::vector<PathBytes> list(const PathBytes& dir) const = 0;
};

/// The real file system under `root` ("/" by default).
class HostFileSystem : public FileSystemView {
 public:
  explicit HostFileSystem(PathBytes root = "/") : root_(std::move(root)) {}
  std::optional<FileInfo> info(const PathBytes& path) const override;
  std::vector<PathBytes> list(const PathBytes& dir) const override;

 private:
  PathBytes root_;
};

/// The pseudo or temporary file system `path` lies in ("/proc", "/sys",
/// "/dev", "/run" or "/tmp"), or "": never packed unless a rule says so.
std::string_view pseudo_root(std::string_view path);

/// Inputs of make_plan besides the file system.
struct PlanInputs {
  std::vector<Trace> traces;            ///< one per test case or run; order does not matter
  BundleSpec spec;
  std::vector<ElfClosure> closures;     ///< one per `elf:` include, in spec order
  bool allow_missing = false;           ///< a traced file gone at pack time is a warning, not an error
  std::vector<std::string> warnings;    ///< found while reading the inputs (a truncated trace); the plan's first warnings
};

/// Decides what goes in the bundle, and why. Pure apart from reading `fs`.
/// Throws Error listing every traced path that is missing or changed type
/// (unless allow_missing).
BundlePlan make_plan(const PlanInputs& inputs, const FileSystemView& fs);

/// Why `path` is in, or out of, the plan: one line per reason, the deciding
/// one first ("excluded by rule '**/*.pyc' (tracepack.yaml:9:5)").
std::vector<std::string> explain_path(const BundlePlan& plan, const PathBytes& path);

}  // namespace tracepack

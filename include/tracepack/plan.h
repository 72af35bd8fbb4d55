// The bundle plan: every entry a bundle will hold, each with the reasons it is
// there, and every path left out with the reason why. Made by make_plan
// (pure: traces + spec + a view of the file system), written by write_bundle.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
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
    elf,          ///< an elf: include's dependency closure needs it, or that of an ELF file an include: glob matched
    parent,       ///< a directory above another entry
    link_target,  ///< the target of a symlink in the bundle
  };
  Source source = Source::traced;
  std::string detail{};       ///< one line for people: "test 'demo', pid 42 (python3), openat"
  std::string test{};         ///< traced: the trace's label
  std::uint64_t process = 0;  ///< traced: Process::id in that trace
  int pid = 0;
  std::string syscall{};  ///< traced: the call
  std::string rule{};     ///< rule/elf: the spec text and its "file:line:col"
};

/// What an entry of a bundle is. Files name it with to_string(EntryType)
/// ("regular", "directory", "symlink"); parse_entry_type reads it back.
/// The source a reason line stands for, as its words tell: the inverse of
/// the PlanReason::detail lines make_plan writes, for a manifest (which keeps
/// only the lines); nullopt for a line make_plan does not write.
std::optional<PlanReason::Source> reason_source(std::string_view line);

enum class EntryType { regular, directory, symlink };

/// The name of `type` in manifests, reports and diffs: "regular", "directory" or "symlink".
std::string_view to_string(EntryType type);

/// The EntryType named `name` (to_string's inverse); nullopt for any other text.
std::optional<EntryType> parse_entry_type(std::string_view name);

/// One file, directory or symlink of the bundle, as it will be written.
struct PlanEntry {
  PathBytes path;  ///< absolute path, the same inside the bundle as on the host
  EntryType type = EntryType::regular;
  PathBytes link_target;   ///< symlink: its contents, unchanged
  PathBytes hardlink_to;   ///< regular: when non-empty, a hard link to that earlier entry
  std::uint32_t mode = 0;  ///< permission bits (07777)
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::uint64_t size = 0;  ///< regular files: bytes
  std::int64_t mtime = 0;  ///< seconds since the epoch
  std::vector<PlanReason> reasons;
  std::vector<std::string> tests;  ///< test cases whose traced processes used it, sorted: all of them (`reasons` keeps at most 8)
};

/// The test cases whose traced processes used `entry`, sorted, each once:
/// its `tests` and those its traced reasons name.
std::vector<std::string> entry_tests(const PlanEntry& entry);

/// Why a path stays out of the bundle. Each cause names what its
/// ExclusionReason's fields hold; render_exclusion gives the sentence.
enum class ExclusionCause {
  lookup_failed,        ///< a traced lookup failed: subject = the test, detail = the error's text
  kernel_file_system,   ///< asked for by a rule or a symlink, in /proc, /sys or /dev: subject = the root
  pseudo_file_system,   ///< traced in /proc, /sys, /dev or /run: subject = the root
  scratch,              ///< a traced temporary file outside the project: subject = "/tmp" or "/var/tmp"
  output_of_run,        ///< created or written first by the run: subject = the test
  in_output_directory,  ///< below a directory the run made or renamed into place: subject = the test, detail = the directory
  excluded_by_rule,     ///< an exclude: glob matched it: subject = the pattern, detail = its "file:line:col",
                        ///< symlink = the bundle's symlink pointing to it ("" when traced itself)
  special_file,         ///< a FIFO, socket or device: subject = its type ("fifo", to_string(FileType))
  recorded,             ///< read back from a manifest in words this tracepack does not write: subject = the text
};

/// An exclusion's cause and the facts its sentence names.
struct ExclusionReason {
  ExclusionCause cause = ExclusionCause::recorded;
  std::string subject{};  ///< see ExclusionCause
  std::string detail{};   ///< see ExclusionCause; "" for the causes that name none
  PathBytes symlink{};    ///< excluded_by_rule: see ExclusionCause

  bool operator==(const ExclusionReason&) const = default;  ///< every field equal
};

/// The sentence shown to people for `reason` (pack's stderr, reports, why,
/// manifests): "lookup failed in test 'demo': No such file or directory",
/// "excluded by rule '**/*.pyc' (tracepack.yaml:9:5)", "/proc: not packed
/// (pseudo or temporary file system)"...
std::string render_exclusion(const ExclusionReason& reason);

/// The reason a manifest's sentence stands for: render_exclusion's inverse,
/// for the JSON boundary only (a manifest keeps the sentence). Text
/// render_exclusion does not produce comes back as ExclusionCause::recorded,
/// so that render_exclusion(parse_exclusion(t)) == t for any t.
ExclusionReason parse_exclusion(std::string_view text);

/// The group `reason` is counted in ("/proc", "lookup failed in test 'demo'",
/// "output of the run", "excluded by rule '**/*.pyc'", "fifo"): its sentence
/// up to the facts that differ from path to path.
std::string exclusion_group(const ExclusionReason& reason);

/// For nlohmann::json (found by argument-dependent lookup): a reason is
/// written as its sentence.
template <class Json>
void to_json(Json& json, const ExclusionReason& reason) {
  json = render_exclusion(reason);
}

/// A path that stays out, and why ("/proc: pseudo file system", "created by the run").
struct PlanExclusion {
  PathBytes path{};
  ExclusionReason reason{};
};

/// A symlink of the bundle whose target stays out (an exclude: glob matched
/// the target, or a symlink on the way to it): inside the bundle it dangles.
struct DanglingLink {
  PathBytes link{};          ///< the symlink entry
  PathBytes contents{};      ///< what the link says, unchanged ("../../lib/file/magic.mgc")
  PathBytes blocked{};       ///< the path left out on the way: the target, or a symlink crossed to reach it
  ExclusionReason reason{};  ///< why `blocked` is out: "excluded by rule '/usr/lib/file/**' (tracepack.yaml:9:5)..."
};

/// A planned file that is personal or specific to the host it was taken from
/// (host_specific.h): packed, but to be reviewed.
struct HostSpecificFinding {
  PathBytes path{};
  std::string why{};           ///< "this host's name", "file in a home directory (/root)"...
  std::string exclude_line{};  ///< the exclude: list item that drops it: "- /etc/hostname"
};

/// Where find_host_specific looks beyond the plan.
struct HostSpecificOptions {
  std::vector<PathBytes> homes{};                ///< home directories besides /root and /home/NAME (the user's $HOME)
  std::string dpkg_admin_dir = "/var/lib/dpkg";  ///< which .pth files a Debian package installed
  PathBytes root = "/";                          ///< *.dist-info/RECORD files are read below it
};

/// The user's $HOME as a list for HostSpecificOptions::homes (empty when unset or "/").
std::vector<PathBytes> environment_homes();

/// Everything write_bundle needs, sorted by path (parents before children).
struct BundlePlan {
  std::vector<PlanEntry> entries;
  std::vector<PlanExclusion> excluded;
  std::vector<std::string> warnings;
  std::vector<DanglingLink> dangling_links;        ///< sorted by link; each also has a line in `warnings`
  std::vector<HostSpecificFinding> host_specific;  ///< find_host_specific's findings, in path order
  std::vector<RunInfo> runs;                       ///< each trace's header, in trace_order_less order (image defaults come from the first)
  std::vector<std::string> review_ignore;          ///< the spec's review: ignore: globs, kept in the manifest for reports
  std::vector<KnowledgePack> knowledge;            ///< the spec's own knowledge packs, for the candidates
  std::vector<std::string> packs_on;               ///< the knowledge packs the spec turned on, by name
  std::map<std::string, std::string> pack_env;     ///< the environment the rules of those packs need (plan_with_packs, pack.h)
  std::vector<std::string> tests;                  ///< the test cases of the traces' processes, sorted, each once
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

/// The pseudo file system `path` lies in ("/proc", "/sys", "/dev" or
/// "/run"), or "": the running system's state, never packed from a trace,
/// never walked by an include: glob, and in the sandbox the run's own.
std::string_view pseudo_root(std::string_view path);

/// The scratch directory `path` lies in ("/tmp" or "/var/tmp"), or "".
/// Temporary files there are left out by a default rule, except those under
/// the project (PlanInputs::spec_dir, a traced test's working directory)
/// and those an include: rule names; in the sandbox the directory is the
/// bundle's, writable.
std::string_view scratch_root(std::string_view path);

/// Inputs of make_plan besides the file system.
struct PlanInputs {
  std::vector<Trace> traces;  ///< one per test case or run; order does not matter
  BundleSpec spec;
  PathBytes spec_dir;                ///< the spec's directory, absolute; "" when there is no spec file
  std::vector<ElfClosure> closures;  ///< one per `elf:` include, in spec order
  /// The shared libraries that ELF files matched by include: globs need and
  /// the rest of the plan lacks (make_plan_with_glob_closures, pack.h, fills it).
  std::vector<ElfDependency> glob_dependencies;
  bool allow_missing = false;                              ///< a traced file gone at pack time is a warning, not an error
  HostSpecificOptions host_specific{environment_homes()};  ///< for BundlePlan::host_specific
  std::vector<std::string> warnings;  ///< found while reading the inputs (a truncated trace); the plan's first warnings
};

/// Decides what goes in the bundle, and why. Pure apart from reading `fs`
/// (and, when the plan holds a .pth file, the dpkg database and RECORD files
/// that inputs.host_specific names).
/// Throws Error listing every traced path that is missing or changed type
/// (unless allow_missing).
BundlePlan make_plan(const PlanInputs& inputs, const FileSystemView& fs);

/// For a symlink entry whose target stays out: "dangles in the bundle: TARGET
/// is left out: REASON", one line per DanglingLink of `link`; else empty.
std::vector<std::string> dangling_notes(const BundlePlan& plan, const PathBytes& link);

/// Why `path` is in, or out of, the plan: one line per reason, the deciding
/// one first ("excluded by rule '**/*.pyc' (tracepack.yaml:9:5)").
std::vector<std::string> explain_path(const BundlePlan& plan, const PathBytes& path);

}  // namespace tracepack

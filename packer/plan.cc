// make_plan: traces + spec + file system → the entries of a bundle, each with
// its reasons, and the paths left out, each with its reason.
//
// The pass sequence:
//  1. outputs: per trace, in record order, a path whose first access created,
//     wrote, renamed or linked it is an output of the run, never an input;
//     so is every path below a directory the run made or renamed into place.
//  2. traced candidates: every successful access that needs its file (read,
//     exec, stat, readlink, list, chdir, watch) proposes the resolved path and
//     every symlink met on the way. Failed lookups, pseudo file systems
//     (/proc, /sys, /dev, /run), outputs and exclude: globs keep them out, and
//     so does the default rule for scratch directories (/tmp, /var/tmp):
//     temporary files are left out unless they lie in the project, that is
//     under the spec's directory or a directory a test ran in (a project
//     checked out under /tmp is still the project).
//  3. rules: include: globs are expanded on the file system and elf: closures
//     added; both win over exclude: (precedence: include > exclude > traced).
//     So do the libraries that the ELF files an include: glob matched need
//     (PlanInputs::glob_dependencies, found by pack's second pass): a glob of
//     numpy's directory brings its extension modules' BLAS and LAPACK too.
//  4. closure over the tree: each entry's parent directories, and each
//     symlink's target, are added so that every path resolves in the bundle.
//     A target (or a symlink on the way to it) that an exclude: glob matches
//     stays out, as a traced file would: the link then dangles in the bundle,
//     which the plan records (dangling_links) and warns about. Parents are
//     always added: an entry cannot exist without its directory.
//  5. metadata: lstat of every entry; hard links are detected by inode. Each
//     entry's tests are taken from all its traced reasons before the reasons
//     are capped, so that per-test counts see every test.
//  6. review: find_host_specific lists personal and host-specific entries.
// Nothing below a kernel pseudo file system (/proc, /sys, /dev) is ever a
// candidate, whatever proposes it: an include glob reaching it through a
// symlink, or a symlink's target (/etc/mtab -> ../proc/self/mounts). Special
// files (FIFOs, sockets, devices) are left out by their lstat type, here or in
// step 5; nothing in planning opens a file.
// Candidates live in a std::map keyed by path, so the result is sorted; the
// traces are read in their canonical order (trace_order_less, as merge_traces
// does), so that the first test to name a path, and BundlePlan::runs, do not
// depend on the order the traces were given in.
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <map>
#include <set>
#include <unordered_map>

#include "tracepack/error.h"
#include "tracepack/host_specific.h"
#include "tracepack/merge.h"
#include "tracepack/path_resolution.h"
#include "tracepack/plan.h"
#include "tracepack/posix.h"

namespace tracepack {
namespace {

constexpr std::size_t kMaxReasons = 8;
// The first words of each kind of PlanReason::detail line: make_plan writes
// them, reason_source reads them back.
constexpr std::string_view kTracedHead = "test '";
constexpr std::string_view kWorkingDirectoryHead = "working directory of test '";
constexpr std::string_view kIncludedByRuleHead = "included by rule '";
constexpr std::string_view kIncludedByElfHead = "included by elf: ";
constexpr std::string_view kNeededBy = " needed by ";
constexpr std::string_view kParentHead = "directory above ";
constexpr std::string_view kTargetHead = "target of symlink ";
constexpr std::string_view kOnTheWayHead = "on the way to the target of symlink ";
// Besides the kernel's pseudo file systems (kKernelPseudoRoots), /run: the
// running system's state, real files but never the application's.
constexpr std::string_view kRunRoots[] = {"/run"};
constexpr std::string_view kScratchRoots[] = {"/tmp", "/var/tmp"};

// What the resolver needs of a path's file information.
PathNode node_of(const std::optional<FileInfo>& info) {
  if (!info) return PathNode{FileType::none, ENOENT, {}, {}, FileType::none};
  return PathNode{info->file_type, 0, info->type == EntryType::symlink ? info->link_target : PathBytes(), {}, FileType::none};
}

bool under(std::string_view path, std::string_view root) {
  return path == root || (path.starts_with(root) && path.size() > root.size() && path[root.size()] == '/');
}

// "file:line:col"; just the text for a rule a knowledge pack added (line 0).
std::string location(const SourceLocation& where) {
  if (where.line == 0) return where.file;
  return where.file + ":" + std::to_string(where.line) + ":" + std::to_string(where.column);
}

bool needs_file(const FileAccess& a) {
  switch (a.kind) {
    case AccessKind::read:
    case AccessKind::exec:
    case AccessKind::stat:
    case AccessKind::readlink:
    case AccessKind::list:
    case AccessKind::chdir:
    case AccessKind::watch:
      return true;
    case AccessKind::write:
    case AccessKind::create:
    case AccessKind::mkdir:
    case AccessKind::remove:
    case AccessKind::rename:
    case AccessKind::link:
    case AccessKind::symlink:
    case AccessKind::attr:
    case AccessKind::other:
      return false;
  }
  return false;
}

// Whether an include: glob's walk enters the directory `dir`: never a pseudo
// file system; a scratch directory only when the pattern names it
// (/tmp/data/** does, /** does not).
bool walks_into(const IncludeRule& rule, const PathBytes& dir) {
  if (!pseudo_root(dir).empty()) return false;
  std::string_view scratch = scratch_root(dir);
  return scratch.empty() || rule.pattern.starts_with(std::string(scratch) + "/");
}

// Adds `reason` to a candidate's reasons unless one of the same source and
// detail is there already (the first stays, as in stable_reasons), and keeps
// only the kMaxReasons smallest details of each source: stable_reasons never
// keeps a reason that has kMaxReasons smaller ones of its source before it.
// So a file that thousands of processes use holds a few reasons, not one per
// access, and the plan's memory follows the number of paths.
void add_reason(std::vector<PlanReason>& reasons, PlanReason reason) {
  std::size_t same_source = 0;
  auto greatest = reasons.end();
  for (auto it = reasons.begin(); it != reasons.end(); ++it) {
    if (it->source != reason.source) continue;
    if (it->detail == reason.detail) return;
    ++same_source;
    if (greatest == reasons.end() || greatest->detail < it->detail) greatest = it;
  }
  if (same_source < kMaxReasons) return reasons.push_back(std::move(reason));
  if (reason.detail < greatest->detail) *greatest = std::move(reason);
}

struct Candidate {
  std::vector<PlanReason> reasons;  // folded by add_reason: at most kMaxReasons of each source
  std::set<std::string> tests;      // every test a traced reason named, whatever the fold dropped
  bool forced = false;  // from an include: glob or elf: closure, beats exclude
};

class Planner {
 public:
  Planner(const PlanInputs& inputs, const FileSystemView& fs) : in_(inputs), fs_(fs) {}
  BundlePlan run();

 private:
  void index_processes(const Trace& trace);
  const Process* process_of(std::uint64_t id) const;
  std::string test_of(const Trace& trace, std::uint64_t process) const;
  const std::optional<FileInfo>& info(const PathBytes& path) const;
  void find_outputs(const Trace& trace);
  void add_project_dir(const PathBytes& dir);
  void find_project_dirs(const Trace& trace);
  bool in_project(const PathBytes& path) const;
  void add_working_directories(const Trace& trace);
  void add_traced(const Trace& trace);
  void propose(const PathBytes& path, PlanReason reason, bool forced);
  bool refuse_kernel_file(const PathBytes& path);
  bool refuse_special(const PathBytes& path, const IncludeRule& rule);
  std::optional<ExclusionReason> closure_refusal(const PathBytes& path, const PathBytes& link);
  void note_dangling(const PathBytes& link, const PathBytes& contents, const PathBytes& blocked, const ExclusionReason& reason);
  void exclude(const PathBytes& path, ExclusionReason reason);
  std::optional<ExclusionReason> excluded_by_rule(const PathBytes& path) const;
  void add_include_globs();
  void add_closures();
  void add_glob_dependencies();
  void expand_glob(const IncludeRule& rule, const PathBytes& dir, const PathBytes& written);
  std::size_t glob_matches_ = 0;  ///< paths an include: glob matched, counted by add_include_globs and expand_glob
  void close_tree();
  struct Physical {
    PathBytes path;                ///< symlink-free; empty when the walk failed (dangling link, loop)
    std::vector<PathBytes> links;  ///< symlinks met on the way
  };
  Physical resolve(const PathBytes& path) const;
  void fill_metadata(BundlePlan& plan);
  std::set<std::string> tests_;  ///< the test cases of the traces' processes
  PlanReason traced_reason(const Trace& trace, const FileAccess& a) const;

  const PlanInputs& in_;
  const FileSystemView& fs_;
  std::map<PathBytes, Candidate> candidates_;
  std::map<PathBytes, ExclusionReason> excluded_;
  std::map<PathBytes, std::string> outputs_;      // path -> test that produced it
  std::map<PathBytes, std::string> output_dirs_;  // made (mkdir) or renamed into place by the run -> test
  std::set<PathBytes> project_dirs_;              ///< physical, each under a scratch root (the rest need no exception)
  std::vector<std::string> warnings_;
  std::vector<DanglingLink> dangling_;
  std::unordered_map<std::uint64_t, const Process*> processes_;           ///< of the trace being read
  mutable std::unordered_map<PathBytes, std::optional<FileInfo>> infos_;  ///< each path is looked up once
};

void Planner::index_processes(const Trace& trace) {
  processes_.clear();
  for (const Process& p : trace.processes) processes_.emplace(p.id, &p);
}

const Process* Planner::process_of(std::uint64_t id) const {
  auto it = processes_.find(id);
  return it == processes_.end() ? nullptr : it->second;
}

// The test case a process belongs to: its own in a merged trace, else the run's label.
std::string Planner::test_of(const Trace& trace, std::uint64_t process) const {
  const Process* p = process_of(process);
  return p != nullptr && !p->test.empty() ? p->test : trace.run.label;
}

const std::optional<FileInfo>& Planner::info(const PathBytes& path) const {
  auto it = infos_.find(path);
  if (it == infos_.end()) it = infos_.emplace(path, fs_.info(path)).first;
  return it->second;
}

PlanReason Planner::traced_reason(const Trace& trace, const FileAccess& a) const {
  PlanReason r;
  r.source = PlanReason::Source::traced;
  r.test = test_of(trace, a.process);
  r.process = a.process;
  r.syscall = a.syscall;
  std::string program;
  if (const Process* p = process_of(a.process)) {
    r.pid = p->pid;
    if (!p->execs.empty()) program = p->execs.back().path.substr(p->execs.back().path.rfind('/') + 1);
  }
  // No pid in the text: it differs between runs, and reproducible bundles carry these lines.
  r.detail = std::string(kTracedHead) + r.test + "'" + (program.empty() ? "" : ", " + program) + ", " + r.syscall +
             (a.origin == AccessOrigin::syscall ? "" : " (" + std::string(to_string(a.origin)) + ")");
  return r;
}

void Planner::find_outputs(const Trace& trace) {
  for (const auto& [path, access] : outputs_of(trace)) {
    outputs_.emplace(path, test_of(trace, access->process));
    if (access->kind == AccessKind::mkdir || access->kind == AccessKind::rename)
      output_dirs_.emplace(path, test_of(trace, access->process));
  }
}

// The project's directories, for the scratch rule: the spec's, and the
// directory each test ran in. A scratch root itself is no project: a test run
// in /tmp does not make every temporary file an input.
void Planner::add_project_dir(const PathBytes& dir) {
  if (!dir.starts_with('/')) return;
  PathBytes physical = resolve(dir).path;
  if (physical.empty()) physical = dir;
  std::string_view root = scratch_root(physical);
  if (!root.empty() && physical != root) project_dirs_.insert(physical);
}

void Planner::find_project_dirs(const Trace& trace) {
  add_project_dir(trace.run.cwd);
  for (const Process& p : trace.processes)
    if (p.parent == 0 && !p.execs.empty()) add_project_dir(p.execs.front().cwd);
}

bool Planner::in_project(const PathBytes& path) const {
  return std::any_of(project_dirs_.begin(), project_dirs_.end(), [&](const PathBytes& dir) { return under(path, dir); });
}

void Planner::exclude(const PathBytes& path, ExclusionReason reason) { excluded_.emplace(path, std::move(reason)); }

std::optional<ExclusionReason> Planner::excluded_by_rule(const PathBytes& path) const {
  for (const ExcludeRule& rule : in_.spec.exclude)
    if (glob_match(rule.pattern, path))
      return ExclusionReason{.cause = ExclusionCause::excluded_by_rule, .subject = rule.pattern, .detail = location(rule.where)};
  return std::nullopt;
}

ExclusionReason kernel_reason(std::string_view root) { return {.cause = ExclusionCause::kernel_file_system, .subject = std::string(root)}; }

ExclusionReason special_reason(FileType type) { return {.cause = ExclusionCause::special_file, .subject = std::string(to_string(type))}; }

// True (and the path excluded) when it lies in a kernel pseudo file system.
bool Planner::refuse_kernel_file(const PathBytes& path) {
  std::string_view root = kernel_pseudo_root(path);
  if (root.empty()) return false;
  exclude(path, kernel_reason(root));
  return true;
}

void Planner::propose(const PathBytes& path, PlanReason reason, bool forced) {
  if (path.empty() || path == "/") return;
  if (forced && refuse_kernel_file(path)) return;
  if (!forced) {
    if (std::string_view root = pseudo_root(path); !root.empty())
      return exclude(path, {.cause = ExclusionCause::pseudo_file_system, .subject = std::string(root)});
    if (std::string_view root = scratch_root(path); !root.empty() && !in_project(path))
      return exclude(path, {.cause = ExclusionCause::scratch, .subject = std::string(root)});
    if (auto it = outputs_.find(path); it != outputs_.end())
      return exclude(path, {.cause = ExclusionCause::output_of_run, .subject = it->second});
    // Below a directory the run made or renamed into place, everything is
    // the run's, under whatever name it was written.
    for (PathBytes dir(parent_of(path)); dir.size() > 1; dir = PathBytes(parent_of(dir)))
      if (auto it = output_dirs_.find(dir); it != output_dirs_.end())
        return exclude(path, {.cause = ExclusionCause::in_output_directory, .subject = it->second, .detail = dir});
    if (auto rule = excluded_by_rule(path)) return exclude(path, *rule);
  }
  Candidate& c = candidates_[path];
  c.forced = c.forced || forced;
  if (reason.source == PlanReason::Source::traced) c.tests.insert(reason.test);
  add_reason(c.reasons, std::move(reason));
}

// The test cases of `named` that are among `known`, sorted (a merged trace's
// own label, which its working directory's reason names, is no test).
std::vector<std::string> known_tests(const std::set<std::string>& named, const std::set<std::string>& known) {
  std::vector<std::string> tests;
  std::set_intersection(named.begin(), named.end(), known.begin(), known.end(), std::back_inserter(tests));
  return tests;
}

// The reasons a bundle keeps for an entry: distinct, in a stable order (the
// traced processes ran concurrently, so record order is not), at most
// kMaxReasons. The cap drops traced reasons first: the first reason of each
// source is always kept, so that an include rule's reason outlives many
// tests (it acknowledges a host-specific file, and `why` names it).
std::vector<PlanReason> stable_reasons(std::vector<PlanReason> reasons) {
  auto key = [](const PlanReason& r) { return std::tie(r.source, r.detail); };
  std::stable_sort(reasons.begin(), reasons.end(), [&](const PlanReason& a, const PlanReason& b) { return key(a) < key(b); });
  reasons.erase(std::unique(reasons.begin(), reasons.end(), [&](const PlanReason& a, const PlanReason& b) { return key(a) == key(b); }),
                reasons.end());
  if (reasons.size() <= kMaxReasons) return reasons;
  std::vector<bool> keep(reasons.size(), false);
  std::size_t kept = 0;
  for (std::size_t i = 0; i < reasons.size(); ++i)
    if (i == 0 || reasons[i].source != reasons[i - 1].source) keep[i] = true, ++kept;
  for (std::size_t i = 0; i < reasons.size() && kept < kMaxReasons; ++i)
    if (!keep[i]) keep[i] = true, ++kept;
  std::vector<PlanReason> capped;
  for (std::size_t i = 0; i < reasons.size(); ++i)
    if (keep[i]) capped.push_back(std::move(reasons[i]));
  return capped;
}

// The directory each test ran in: the tracer changed into it before the
// command started, so no access names it, yet the command needs it.
void Planner::add_working_directories(const Trace& trace) {
  auto add = [&](const PathBytes& dir, const std::string& test) {
    if (!dir.starts_with('/')) return;
    PlanReason r{.source = PlanReason::Source::traced, .detail = std::string(kWorkingDirectoryHead) + test + "'", .test = test};
    propose(resolve(dir).path, std::move(r), false);
  };
  add(trace.run.cwd, trace.run.label);
  for (const Process& p : trace.processes)
    if (p.parent == 0 && !p.execs.empty()) add(p.execs.front().cwd, test_of(trace, p.id));
}

void Planner::add_traced(const Trace& trace) {
  add_working_directories(trace);
  for (const FileAccess& a : trace.accesses) {
    if (a.error != 0) {
      if (!a.resolved.empty())
        exclude(a.resolved,
                {.cause = ExclusionCause::lookup_failed, .subject = test_of(trace, a.process), .detail = std::strerror(a.error)});
      continue;
    }
    if (!needs_file(a)) continue;
    PlanReason reason = traced_reason(trace, a);
    for (const Symlink& link : a.links) propose(link.path, reason, false);
    if (a.type == FileType::fifo || a.type == FileType::socket || a.type == FileType::char_device || a.type == FileType::block_device) {
      exclude(a.resolved, special_reason(a.type));
      continue;
    }
    propose(a.resolved, std::move(reason), false);
  }
}

// A FIFO, socket or device an include glob matches: named in a warning, as
// the rule asked for it, and left out. Its lstat type says so; it is never opened.
bool Planner::refuse_special(const PathBytes& path, const IncludeRule& rule) {
  const std::optional<FileInfo>& info = this->info(path);
  if (!info || info->file_type == FileType::regular || info->file_type == FileType::directory || info->file_type == FileType::symlink)
    return false;
  std::string type(to_string(info->file_type));
  exclude(path, special_reason(info->file_type));
  warnings_.push_back(location(rule.where) + ": include rule '" + rule.pattern + "' matches " + encode_path(path) + ", a " + type +
                      ": left out (special files are never packed)");
  return true;
}

// Walks the physical directory `dir`, which the pattern knows as `written`
// (the same directory reached through symlinks such as /lib -> usr/lib).
void Planner::expand_glob(const IncludeRule& rule, const PathBytes& dir, const PathBytes& written) {
  for (const PathBytes& name : fs_.list(dir)) {
    PathBytes path = (dir == "/" ? "" : dir) + "/" + name;
    PathBytes as_written = (written == "/" ? "" : written) + "/" + name;
    const std::optional<FileInfo>& info = this->info(path);
    if (!info) continue;
    if (glob_match(rule.pattern, as_written) && !refuse_special(path, rule)) {
      PlanReason r;
      r.source = PlanReason::Source::rule;
      r.rule = rule.pattern + " (" + location(rule.where) + ")";
      r.detail = std::string(kIncludedByRuleHead) + rule.pattern + "' (" + location(rule.where) + ")";
      ++glob_matches_;
      propose(path, r, true);
    }
    if (info->type == EntryType::directory && walks_into(rule, path)) expand_glob(rule, path, as_written);
  }
}

// The longest leading run of components without glob characters.
PathBytes literal_prefix(const std::string& pattern) {
  std::size_t meta = pattern.find_first_of("*?[\\");
  PathBytes prefix = pattern.substr(0, meta == std::string::npos ? pattern.size() : meta);
  if (meta != std::string::npos) prefix = prefix.substr(0, prefix.rfind('/'));
  return prefix.empty() ? "/" : prefix;
}

void Planner::add_include_globs() {
  for (const IncludeRule& rule : in_.spec.include) {
    if (rule.kind != IncludeRule::Kind::glob) continue;
    if (!rule.pattern.starts_with('/'))
      throw Error(location(rule.where) + ": include pattern '" + rule.pattern + "' must be an absolute path");
    PathBytes start = literal_prefix(rule.pattern);
    Physical physical = resolve(start);
    std::optional<FileInfo> info = physical.path.empty() ? std::nullopt : this->info(physical.path);
    if (!info) {
      warnings_.push_back(location(rule.where) + ": include rule '" + rule.pattern + "' matches nothing: " + start + " does not exist");
      continue;
    }
    if (std::string_view root = kernel_pseudo_root(physical.path); !root.empty()) {
      warnings_.push_back(location(rule.where) + ": include rule '" + rule.pattern + "' leads to " + encode_path(physical.path) + ", in " +
                          std::string(root) + ": a kernel pseudo file system is never packed");
      continue;
    }
    std::size_t before = glob_matches_;
    PlanReason r{.source = PlanReason::Source::rule,
                 .detail = std::string(kIncludedByRuleHead) + rule.pattern + "' (" + location(rule.where) + ")",
                 .rule = rule.pattern};
    if (glob_match(rule.pattern, start) && !refuse_special(physical.path, rule)) {
      ++glob_matches_;
      propose(physical.path, r, true);
    }
    if (info->type == EntryType::directory) expand_glob(rule, physical.path, start);
    // A rule matching only what the traces already hold still matched.
    if (glob_matches_ != before)
      for (const PathBytes& link : physical.links) propose(link, r, true);
    if (glob_matches_ == before) warnings_.push_back(location(rule.where) + ": include rule '" + rule.pattern + "' matches nothing");
  }
}

void Planner::add_closures() {
  std::size_t next = 0;
  for (const IncludeRule& rule : in_.spec.include) {
    if (rule.kind != IncludeRule::Kind::elf) continue;
    if (next >= in_.closures.size()) throw Error("plan: no ELF closure computed for " + location(rule.where));
    const ElfClosure& closure = in_.closures[next++];
    PlanReason root{.source = PlanReason::Source::rule,
                    .detail = std::string(kIncludedByElfHead) + rule.pattern + " (" + location(rule.where) + ")",
                    .rule = rule.pattern};
    for (const PathBytes& file : closure.roots) propose(file, root, true);
    // The path as written opens too, as the path a dlopen() name finds: libz.so.1 -> libz.so.1.2.13.
    for (const PathBytes& link : resolve(rule.pattern).links) propose(link, root, true);
    for (const ElfDependency& dep : closure.dependencies) {
      PlanReason r{.source = PlanReason::Source::elf,
                   .detail = dep.needed + std::string(kNeededBy) + dep.needed_by + " (" + dep.found_via + ")",
                   .rule = rule.pattern};
      for (const Symlink& link : dep.links) propose(link.path, r, true);
      propose(dep.resolved, r, true);
    }
    for (const std::string& missing : closure.missing)
      warnings_.push_back(location(rule.where) + ": elf: " + rule.pattern + ": library not found: " + missing);
  }
}

// The reason names the file that needs the library, itself an entry with its
// include: rule among its reasons.
void Planner::add_glob_dependencies() {
  for (const ElfDependency& dep : in_.glob_dependencies) {
    PlanReason r{.source = PlanReason::Source::elf,
                 .detail = dep.needed + std::string(kNeededBy) + dep.needed_by + " (" + dep.found_via + ")"};
    for (const Symlink& link : dep.links) propose(link.path, r, true);
    propose(dep.resolved, r, true);
  }
}

// Resolves a path on the source file system as the kernel would inside the
// bundle (the shared resolver over the cached file information), noting every
// symlink it crosses.
Planner::Physical Planner::resolve(const PathBytes& path) const {
  PathResolution r = resolve_path([this](const PathBytes& p) { return node_of(this->info(p)); }, path);
  Physical out{{}, {}};
  for (Symlink& link : r.links) out.links.push_back(std::move(link.path));
  if (r.outcome() == ResolveOutcome::resolved) out.path = std::move(r.resolved);
  return out;
}

// Why a symlink's target (or a symlink on the way to it) that is not yet a
// candidate stays out, or nullopt. An exclude: glob beats it, as it beats a
// traced file: the target is there because a traced or included link points
// at it, not because a rule asked for it. The exclusion records the link.
std::optional<ExclusionReason> Planner::closure_refusal(const PathBytes& path, const PathBytes& link) {
  if (std::string_view root = kernel_pseudo_root(path); !root.empty()) {
    exclude(path, kernel_reason(root));
    return kernel_reason(root);
  }
  std::optional<ExclusionReason> rule = excluded_by_rule(path);
  if (rule) {
    ExclusionReason via_link = *rule;
    via_link.symlink = link;
    exclude(path, std::move(via_link));
  }
  return rule;
}

// Adds parents and symlink targets until nothing new appears.
void Planner::close_tree() {
  std::vector<PathBytes> todo;
  for (const auto& [path, c] : candidates_) todo.push_back(path);
  auto add = [&](const PathBytes& path, PlanReason::Source source, const std::string& detail) {
    if (path == "/" || candidates_.contains(path)) return;
    Candidate& c = candidates_[path];
    c.reasons.push_back({.source = source, .detail = detail});
    c.forced = true;
    todo.push_back(path);
  };
  while (!todo.empty()) {
    PathBytes path = std::move(todo.back());
    todo.pop_back();
    add(PathBytes(parent_of(path)), PlanReason::Source::parent, std::string(kParentHead) + path);
    const std::optional<FileInfo>& info = this->info(path);
    if (!info || info->type != EntryType::symlink) continue;
    PathBytes target = info->link_target.starts_with('/') ? info->link_target : PathBytes(parent_of(path)) + "/" + info->link_target;
    Physical resolved = resolve(target);
    std::vector<PathBytes> steps = resolved.links;
    if (!resolved.path.empty()) steps.push_back(resolved.path);
    for (const PathBytes& step : steps) {
      if (candidates_.contains(step)) continue;
      if (std::optional<ExclusionReason> refusal = closure_refusal(step, path)) {
        // A link into /proc resolves where the bundle runs: the kernel provides it.
        if (kernel_pseudo_root(step).empty()) note_dangling(path, info->link_target, step, *refusal);
        break;
      }
      bool last = !resolved.path.empty() && &step == &steps.back();
      add(step, PlanReason::Source::link_target, std::string(last ? kTargetHead : kOnTheWayHead) + path);
    }
  }
}

void Planner::note_dangling(const PathBytes& link, const PathBytes& contents, const PathBytes& blocked, const ExclusionReason& reason) {
  dangling_.push_back({.link = link, .contents = contents, .blocked = blocked, .reason = reason});
  warnings_.push_back("symlink " + encode_path(link) + " -> " + encode_path(contents) + " dangles in the bundle: " + encode_path(blocked) +
                      " is left out: " + render_exclusion(reason));
}

void Planner::fill_metadata(BundlePlan& plan) {
  std::vector<std::string> missing;
  std::map<std::pair<std::uint64_t, std::uint64_t>, PathBytes> first_by_inode;
  for (auto& [path, c] : candidates_) {
    const std::optional<FileInfo>& info = this->info(path);
    if (!info) {
      missing.push_back(path);
      continue;
    }
    if (info->file_type != FileType::regular && info->file_type != FileType::directory && info->file_type != FileType::symlink) {
      plan.excluded.push_back({.path = path, .reason = special_reason(info->file_type)});
      continue;
    }
    PlanEntry e;
    e.path = path;
    e.type = info->type;
    e.link_target = info->link_target;
    e.mode = info->mode & 07777;
    e.uid = info->uid;
    e.gid = info->gid;
    e.size = e.type == EntryType::regular ? info->size : 0;
    e.mtime = info->mtime;
    e.tests = known_tests(c.tests, tests_);
    e.reasons = stable_reasons(std::move(c.reasons));
    if (e.type == EntryType::regular && info->links > 1) {
      auto [it, first] = first_by_inode.try_emplace({info->device, info->inode}, path);
      if (!first) e.hardlink_to = it->second;
    }
    plan.entries.push_back(std::move(e));
  }
  if (missing.empty()) return;
  std::string list;
  for (const PathBytes& p : missing) list += "\n  " + encode_path(p);
  if (!in_.allow_missing)
    throw Error("plan: " + std::to_string(missing.size()) +
                " file(s) used by the traced run are gone or unreadable now (use --allow-missing to pack without them):" + list);
  warnings_.push_back(std::to_string(missing.size()) + " traced file(s) are gone and were left out:" + list);
}

BundlePlan Planner::run() {
  std::vector<const Trace*> traces;
  for (const Trace& trace : in_.traces) traces.push_back(&trace);
  std::stable_sort(traces.begin(), traces.end(), [](const Trace* a, const Trace* b) { return trace_order_less(*a, *b); });
  add_project_dir(in_.spec_dir);
  for (const Trace* trace : traces) {
    index_processes(*trace);
    find_outputs(*trace);
    find_project_dirs(*trace);
  }
  for (const Trace* trace : traces) {
    index_processes(*trace);
    add_traced(*trace);
  }
  add_include_globs();
  add_closures();
  add_glob_dependencies();
  close_tree();
  for (const Trace* trace : traces)
    for (const Process& p : trace->processes) tests_.insert(p.test.empty() ? trace->run.label : p.test);
  BundlePlan plan;
  plan.tests.assign(tests_.begin(), tests_.end());
  fill_metadata(plan);
  for (auto& [path, reason] : excluded_)
    if (!candidates_.contains(path)) plan.excluded.push_back({path, std::move(reason)});
  std::sort(plan.excluded.begin(), plan.excluded.end(), [](const PlanExclusion& a, const PlanExclusion& b) { return a.path < b.path; });
  plan.warnings = in_.warnings;
  plan.warnings.insert(plan.warnings.end(), warnings_.begin(), warnings_.end());
  plan.dangling_links = std::move(dangling_);
  std::sort(plan.dangling_links.begin(), plan.dangling_links.end(),
            [](const DanglingLink& a, const DanglingLink& b) { return a.link < b.link; });
  for (const Trace* trace : traces) plan.runs.push_back(trace->run);
  plan.host_specific = find_host_specific(plan, in_.spec.host_specific, in_.host_specific);
  plan.review_ignore = in_.spec.review.ignore;
  plan.knowledge = in_.spec.knowledge;
  for (const PackChoice& choice : in_.spec.packs) plan.packs_on.push_back(choice.name);
  return plan;
}

}  // namespace

std::optional<FileInfo> HostFileSystem::info(const PathBytes& path) const {
  PathBytes full = root_ == "/" ? path : root_ + path;
  struct stat st;
  if (lstat(full.c_str(), &st) != 0) return std::nullopt;
  FileInfo info;
  info.file_type = file_type_of_mode(st.st_mode);
  info.type = info.file_type == FileType::directory ? EntryType::directory
              : info.file_type == FileType::symlink ? EntryType::symlink
                                                    : EntryType::regular;
  info.mode = st.st_mode & 07777;
  info.uid = st.st_uid;
  info.gid = st.st_gid;
  info.size = static_cast<std::uint64_t>(st.st_size);
  info.mtime = st.st_mtim.tv_sec;
  info.device = st.st_dev;
  info.inode = st.st_ino;
  info.links = st.st_nlink;
  if (info.file_type == FileType::symlink) {
    std::string buffer(static_cast<std::size_t>(st.st_size > 0 ? st.st_size : 4096) + 1, '\0');
    ssize_t n = readlink(full.c_str(), buffer.data(), buffer.size());
    if (n < 0) return std::nullopt;
    buffer.resize(static_cast<std::size_t>(n));
    info.link_target = std::move(buffer);
  }
  if (info.file_type == FileType::regular && access(full.c_str(), R_OK) != 0) return std::nullopt;
  return info;
}

std::vector<PathBytes> HostFileSystem::list(const PathBytes& dir) const {
  std::vector<PathBytes> names;
  PathBytes full = root_ == "/" ? dir : root_ + dir;
  DIR* d = opendir(full.c_str());
  if (d == nullptr) return names;
  while (dirent* e = readdir(d)) {
    std::string_view name(e->d_name);
    if (name != "." && name != "..") names.emplace_back(name);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

BundlePlan make_plan(const PlanInputs& inputs, const FileSystemView& fs) { return Planner(inputs, fs).run(); }

std::string_view pseudo_root(std::string_view path) {
  std::string_view root = kernel_pseudo_root(path);
  return root.empty() ? root_containing(path, kRunRoots) : root;
}

std::vector<std::string> dangling_notes(const BundlePlan& plan, const PathBytes& link) {
  std::vector<std::string> notes;
  for (const DanglingLink& d : plan.dangling_links)
    if (d.link == link) notes.push_back("dangles in the bundle: " + encode_path(d.blocked) + " is left out: " + render_exclusion(d.reason));
  return notes;
}

std::string_view scratch_root(std::string_view path) { return root_containing(path, kScratchRoots); }

std::optional<PlanReason::Source> reason_source(std::string_view line) {
  if (line.starts_with(kTracedHead) || line.starts_with(kWorkingDirectoryHead)) return PlanReason::Source::traced;
  if (line.starts_with(kIncludedByRuleHead) || line.starts_with(kIncludedByElfHead)) return PlanReason::Source::rule;
  if (line.starts_with(kParentHead)) return PlanReason::Source::parent;
  if (line.starts_with(kTargetHead) || line.starts_with(kOnTheWayHead)) return PlanReason::Source::link_target;
  if (line.find(kNeededBy) != std::string_view::npos) return PlanReason::Source::elf;
  return std::nullopt;
}

std::vector<std::string> entry_tests(const PlanEntry& entry) {
  std::set<std::string> named;
  for (const PlanReason& r : entry.reasons)
    if (r.source == PlanReason::Source::traced) named.insert(r.test);
  std::vector<std::string> tests(named.begin(), named.end());
  std::vector<std::string> all;
  std::set_union(tests.begin(), tests.end(), entry.tests.begin(), entry.tests.end(), std::back_inserter(all));
  return all;
}

std::string_view to_string(EntryType type) {
  switch (type) {
    case EntryType::regular:
      return "regular";
    case EntryType::directory:
      return "directory";
    case EntryType::symlink:
      return "symlink";
  }
  return "regular";
}

std::optional<EntryType> parse_entry_type(std::string_view name) {
  for (EntryType type : {EntryType::regular, EntryType::directory, EntryType::symlink})
    if (name == to_string(type)) return type;
  return std::nullopt;
}

// The words of each cause's sentence around its facts. render_exclusion and
// parse_exclusion share them, so that the two cannot drift apart.
constexpr std::string_view kLookupFailedHead = "lookup failed in test '";
constexpr std::string_view kLookupFailedMiddle = "': ";
constexpr std::string_view kKernelTail = ": kernel pseudo file system, never packed (the kernel provides it where the bundle runs)";
constexpr std::string_view kPseudoTail = ": not packed (pseudo or temporary file system)";
constexpr std::string_view kScratchTail = ": temporary files, left out by default (an include: rule packs them)";
constexpr std::string_view kOutputHead = "output of the run: created or written first by test '";
constexpr std::string_view kOutputDirHead = "output of the run: in ";
constexpr std::string_view kOutputDirMiddle = ", which test '";
constexpr std::string_view kOutputDirTail = "' made or renamed into place";
constexpr std::string_view kRuleHead = "excluded by rule '";
constexpr std::string_view kRuleMiddle = "' (";
constexpr std::string_view kLinkHead = "), although symlink ";
constexpr std::string_view kLinkTail = " points to it";
constexpr std::string_view kSpecialTail = ": special files are never packed";

std::string render_exclusion(const ExclusionReason& r) {
  std::string out;
  switch (r.cause) {
    case ExclusionCause::lookup_failed:
      return out.append(kLookupFailedHead).append(r.subject).append(kLookupFailedMiddle).append(r.detail);
    case ExclusionCause::kernel_file_system:
      return out.append(r.subject).append(kKernelTail);
    case ExclusionCause::pseudo_file_system:
      return out.append(r.subject).append(kPseudoTail);
    case ExclusionCause::scratch:
      return out.append(r.subject).append(kScratchTail);
    case ExclusionCause::output_of_run:
      return out.append(kOutputHead).append(r.subject).append("'");
    case ExclusionCause::in_output_directory:
      return out.append(kOutputDirHead).append(r.detail).append(kOutputDirMiddle).append(r.subject).append(kOutputDirTail);
    case ExclusionCause::excluded_by_rule:
      out.append(kRuleHead).append(r.subject).append(kRuleMiddle).append(r.detail);
      if (r.symlink.empty()) return out.append(")");
      return out.append(kLinkHead).append(encode_path(r.symlink)).append(kLinkTail);
    case ExclusionCause::special_file:
      return out.append(r.subject).append(kSpecialTail);
    case ExclusionCause::recorded:
      return r.subject;
  }
  return r.subject;
}

namespace {

// `text` without `head` and `tail` when it has both, else nullopt.
std::optional<std::string_view> between(std::string_view text, std::string_view head, std::string_view tail) {
  if (text.size() < head.size() + tail.size() || !text.starts_with(head) || !text.ends_with(tail)) return std::nullopt;
  return text.substr(head.size(), text.size() - head.size() - tail.size());
}

std::optional<ExclusionReason> parse_rule_exclusion(std::string_view text) {
  std::optional<std::string_view> inside = between(text, kRuleHead, "");
  if (!inside) return std::nullopt;
  ExclusionReason r{.cause = ExclusionCause::excluded_by_rule};
  std::size_t link = inside->rfind(kLinkHead);
  if (inside->ends_with(kLinkTail) && link != std::string_view::npos) {
    std::string problem;
    std::string_view shown = inside->substr(link + kLinkHead.size(), inside->size() - link - kLinkHead.size() - kLinkTail.size());
    std::optional<PathBytes> symlink = decode_path(shown, problem);
    if (!symlink || symlink->empty()) return std::nullopt;
    r.symlink = std::move(*symlink);
    inside = inside->substr(0, link);
  } else if (inside->ends_with(")")) {
    inside->remove_suffix(1);
  } else {
    return std::nullopt;
  }
  std::size_t middle = inside->rfind(kRuleMiddle);
  if (middle == std::string_view::npos) return std::nullopt;
  r.subject = inside->substr(0, middle);
  r.detail = inside->substr(middle + kRuleMiddle.size());
  return r;
}

std::optional<ExclusionReason> parse_known_exclusion(std::string_view text) {
  if (auto inside = between(text, kLookupFailedHead, "")) {
    std::size_t middle = inside->rfind(kLookupFailedMiddle);
    if (middle == std::string_view::npos) return std::nullopt;
    return ExclusionReason{.cause = ExclusionCause::lookup_failed,
                           .subject = std::string(inside->substr(0, middle)),
                           .detail = std::string(inside->substr(middle + kLookupFailedMiddle.size()))};
  }
  if (auto test = between(text, kOutputHead, "'"))
    return ExclusionReason{.cause = ExclusionCause::output_of_run, .subject = std::string(*test)};
  if (auto inside = between(text, kOutputDirHead, kOutputDirTail)) {
    std::size_t middle = inside->rfind(kOutputDirMiddle);
    if (middle == std::string_view::npos) return std::nullopt;
    return ExclusionReason{.cause = ExclusionCause::in_output_directory,
                           .subject = std::string(inside->substr(middle + kOutputDirMiddle.size())),
                           .detail = std::string(inside->substr(0, middle))};
  }
  if (text.starts_with(kRuleHead)) return parse_rule_exclusion(text);
  const std::pair<std::string_view, ExclusionCause> tails[] = {
      {kKernelTail, ExclusionCause::kernel_file_system},
      {kPseudoTail, ExclusionCause::pseudo_file_system},
      {kScratchTail, ExclusionCause::scratch},
      {kSpecialTail, ExclusionCause::special_file},
  };
  for (const auto& [tail, cause] : tails)
    if (auto subject = between(text, "", tail)) return ExclusionReason{.cause = cause, .subject = std::string(*subject)};
  return std::nullopt;
}

}  // namespace

ExclusionReason parse_exclusion(std::string_view text) {
  std::optional<ExclusionReason> known = parse_known_exclusion(text);
  // Only a reading that gives the same sentence back stands for it.
  if (known && render_exclusion(*known) == text) return *known;
  return {.cause = ExclusionCause::recorded, .subject = std::string(text)};
}

std::string exclusion_group(const ExclusionReason& r) {
  switch (r.cause) {
    case ExclusionCause::lookup_failed:
      return std::string(kLookupFailedHead) + r.subject + "'";
    case ExclusionCause::kernel_file_system:
    case ExclusionCause::pseudo_file_system:
    case ExclusionCause::scratch:
    case ExclusionCause::special_file:
    case ExclusionCause::recorded:
      return r.subject;
    case ExclusionCause::output_of_run:
    case ExclusionCause::in_output_directory:
      return "output of the run";
    case ExclusionCause::excluded_by_rule:
      return std::string(kRuleHead) + r.subject + "'";
  }
  return r.subject;
}

std::vector<std::string> explain_path(const BundlePlan& plan, const PathBytes& path) {
  std::vector<std::string> lines;
  for (const PlanEntry& e : plan.entries) {
    if (e.path != path) continue;
    lines.push_back(encode_path(path) + ": in the bundle");
    for (const PlanReason& r : e.reasons) lines.push_back("  " + r.detail);
    for (const std::string& note : dangling_notes(plan, path)) lines.push_back("  " + note);
    return lines;
  }
  for (const PlanExclusion& x : plan.excluded) {
    if (x.path != path) continue;
    lines.push_back(encode_path(path) + ": not in the bundle");
    lines.push_back("  " + render_exclusion(x.reason));
    return lines;
  }
  lines.push_back(encode_path(path) + ": not in the bundle: no trace used it and no include rule matches it");
  return lines;
}

}  // namespace tracepack

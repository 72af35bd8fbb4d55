// The bundle report: a plan (with its trace) or a bundle's contents turned
// into a BundleReport.
//
// Both inputs first become the same list of ReportFile (the plan's entries,
// or the manifest's), plus exclusions and warnings; a bundle's manifest is
// also checked against the entries the bundle really holds, every
// disagreement a warning. One pass over that list then derives everything
// else: the totals (counted like write_bundle counts what it writes, so the
// report agrees with the archive), the directories with the most bytes of
// their own files, each test's files and bytes and those no other test used
// (a regular file whose tests are that one alone), and the shares of Debian
// packages (package_usage, on a plan rebuilt from the regular files) and of
// Python distributions (their *.dist-info/RECORD, found in each
// site-packages or dist-packages directory that holds a bundled file).
// Processes and their tests come from the trace only: a bundle does not
// record them. A bundle's test cases come from its manifest's "tests"; an
// older manifest lacks it, and named each entry's tests from at most 8
// reasons, so which test alone used a file is then unknown.
#include "tracepack/report.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include "tracepack/error.h"
#include "tracepack/from_image.h"
#include "tracepack/host_specific.h"
#include "tracepack/manifest_reader.h"
#include "tracepack/pack.h"
#include "tracepack/path_resolution.h"

namespace tracepack {
namespace {

constexpr std::size_t kLargestDirectories = 10;

std::string_view type_name(EntryType type) {
  switch (type) {
    case EntryType::regular:
      return "regular file";
    case EntryType::directory:
    case EntryType::symlink:
      return to_string(type);
  }
  return "regular file";
}

// ---------------------------------------------------------------------------
// Files, from either input

ReportFile file_of(const PlanEntry& e) {
  ReportFile f{.path = e.path,
               .type = e.type,
               .size = e.size,
               .mode = e.mode & 07777,
               .link_target = e.link_target,
               .hardlink_to = e.hardlink_to,
               .tests = entry_tests(e)};
  for (const PlanReason& r : e.reasons) f.reasons.push_back(r.detail);
  return f;
}

ReportFile file_of(const ManifestEntry& e) {
  return {.path = e.path,
          .type = e.type,
          .size = e.size,
          .mode = e.mode,
          .link_target = e.link_target,
          .hardlink_to = e.hardlink_to,
          .reasons = e.reasons,
          .tests = e.tests};
}

/// The bytes each hard-link group holds in the bundle, by the path of the
/// manifest entry that holds the data. Archivers differ in which name of a
/// group carries the data (tracepack: the first; bsdtar's cpio: the last),
/// so a group's size is the largest of its members'.
std::unordered_map<PathBytes, std::uint64_t> stored_sizes(const BundleContents& contents) {
  std::unordered_map<PathBytes, PathBytes> holder;
  for (const ManifestEntry& m : contents.manifest.entries)
    if (!m.hardlink_to.empty()) holder.emplace(m.path, m.hardlink_to);
  std::unordered_map<PathBytes, std::uint64_t> sizes;
  for (const BundleEntry& e : contents.entries) {
    auto it = holder.find(e.path);
    std::uint64_t& size = sizes[it == holder.end() ? e.path : it->second];
    size = std::max(size, e.size);
  }
  return sizes;
}

std::string disagreement(const ManifestEntry& m, const BundleEntry* held, std::uint64_t stored) {
  std::string path = "bundle: " + encode_path(m.path) + ": ";
  if (held == nullptr) return path + "in the manifest but not in the bundle";
  if (held->type != m.type)
    return path + "a " + std::string(type_name(held->type)) + " in the bundle, a " + std::string(type_name(m.type)) + " in the manifest";
  if (held->type == EntryType::regular && m.hardlink_to.empty() && stored != m.size)
    return path + std::to_string(stored) + " bytes in the bundle, " + std::to_string(m.size) + " in the manifest";
  return "";
}

/// Warnings for every way the manifest and the bundle's real entries disagree.
std::vector<std::string> check_manifest(const BundleContents& contents) {
  std::unordered_map<PathBytes, const BundleEntry*> held;
  for (const BundleEntry& e : contents.entries) held.emplace(e.path, &e);
  std::unordered_map<PathBytes, std::uint64_t> sizes = stored_sizes(contents);
  std::vector<std::string> problems;
  std::set<PathBytes> listed;
  for (const ManifestEntry& m : contents.manifest.entries) {
    listed.insert(m.path);
    if (m.path == "/") continue;  // the root is the archive itself, not a member
    auto it = held.find(m.path);
    std::string problem = disagreement(m, it == held.end() ? nullptr : it->second, sizes[m.path]);
    if (!problem.empty()) problems.push_back(std::move(problem));
  }
  for (const BundleEntry& e : contents.entries)
    if (!listed.contains(e.path)) problems.push_back("bundle: " + encode_path(e.path) + ": in the bundle but not in the manifest");
  return problems;
}

// ---------------------------------------------------------------------------
// Derived data

void count_totals(BundleReport& r) {
  ReportTotals& t = r.totals;
  for (const ReportFile& f : r.files) {
    if (f.path == "/") continue;  // not an entry of any archive
    if (f.type == EntryType::directory)
      ++t.directories;
    else if (f.type == EntryType::symlink)
      ++t.symlinks;
    else if (!f.hardlink_to.empty())
      ++t.hardlinks;
    else {
      ++t.files;
      t.bytes += f.size;
    }
  }
  t.tests = r.tests.size();
  t.excluded = r.excluded.size();
  t.failed_lookups = r.failed_lookups.size();
  t.warnings = r.warnings.size();
  t.host_specific = r.host_specific.size();
  t.candidates = r.candidates.size();
}

void find_largest_directories(BundleReport& r) {
  std::map<PathBytes, DirectoryUsage> dirs;
  for (const ReportFile& f : r.files) {
    if (f.type != EntryType::regular || !f.hardlink_to.empty()) continue;
    DirectoryUsage& d = dirs[PathBytes(parent_of(f.path))];
    d.path = parent_of(f.path);
    ++d.files;
    d.bytes += f.size;
  }
  std::vector<DirectoryUsage> out;
  for (auto& [path, d] : dirs) out.push_back(d);
  std::stable_sort(out.begin(), out.end(), [](const DirectoryUsage& a, const DirectoryUsage& b) { return a.bytes > b.bytes; });
  if (out.size() > kLargestDirectories) out.resize(kLargestDirectories);
  r.largest_directories = std::move(out);
}

/// Adds to `tests` each one's files and bytes among the regular `files`, and
/// when `complete` (every file names all its tests) those only it used;
/// tests seen only in the files are added. Sorted by name.
void count_test_files(std::vector<ReportTest>& tests, const std::vector<ReportFile>& files, bool complete) {
  std::map<std::string, ReportTest> by_name;
  for (ReportTest& t : tests) by_name.emplace(t.name, std::move(t));
  for (const ReportFile& f : files) {
    if (f.type != EntryType::regular) continue;
    for (const std::string& name : f.tests) {
      ReportTest& t = by_name[name];
      t.name = name;
      ++t.files;
      t.bytes += f.size;
    }
  }
  for (auto& [name, t] : by_name) {
    t.only_files.reset();
    t.only_bytes.reset();
    if (complete) t.only_files = t.only_bytes = 0;
  }
  if (complete)
    for (const ReportFile& f : files)
      if (f.type == EntryType::regular && f.tests.size() == 1) {
        ReportTest& t = by_name[f.tests.front()];
        ++*t.only_files;
        *t.only_bytes += f.size;
      }
  tests.clear();
  for (auto& [name, t] : by_name) tests.push_back(std::move(t));
}

std::vector<PackageUsage> packages_of(const std::vector<ReportFile>& files, const std::string& admin_dir, const PathBytes& root) {
  BundlePlan plan;
  for (const ReportFile& f : files)
    if (f.type == EntryType::regular) {
      PlanEntry e;
      e.path = f.path;
      e.size = f.size;
      plan.entries.push_back(std::move(e));
    }
  return package_usage(plan, admin_dir, root);
}

void split_exclusions(BundleReport& r) {
  BundlePlan plan;
  plan.excluded = r.excluded;
  for (const auto& [reason, count] : count_exclusions(plan)) r.excluded_by_reason.push_back({.reason = reason, .count = count});
  for (const PlanExclusion& x : r.excluded)
    if (x.reason.cause == ExclusionCause::lookup_failed) r.failed_lookups.push_back(x);
}

// What the bundle may need and lacks; what could not be checked is a warning.
void find_report_candidates(BundleReport& r, const ReportOptions& options, const std::vector<std::string>& ignore,
                            const std::vector<KnowledgePack>& knowledge, const std::vector<std::string>& packs_on) {
  std::vector<PathBytes> paths;
  std::vector<std::pair<PathBytes, std::vector<std::string>>> directories;
  for (const ReportFile& f : r.files) {
    paths.push_back(f.path);
    if (f.type == EntryType::directory) directories.emplace_back(f.path, f.reasons);
  }
  CandidateList found = find_candidates(paths, HostFileSystem(options.python_root), options.python_root, ignore, listed_directories(directories),
                                       knowledge, packs_on, options.search_paths);
  r.candidates = std::move(found.candidates);
  find_candidate_packages(r.candidates, HostFileSystem(options.python_root), options.python_root, options.dpkg_admin_dir);
  for (std::string& note : found.notes) r.warnings.push_back("candidates: " + std::move(note));
}

// `ignore`: the review: ignore: globs of the spec the bundle was planned with;
// `knowledge` and `packs_on` its own knowledge packs and those it turned on.
void derive(BundleReport& r, const ReportOptions& options, const std::vector<std::string>& ignore,
            const std::vector<KnowledgePack>& knowledge = {}, const std::vector<std::string>& packs_on = {}) {
  std::sort(r.files.begin(), r.files.end(), [](const ReportFile& a, const ReportFile& b) { return a.path < b.path; });
  std::sort(r.excluded.begin(), r.excluded.end(), [](const PlanExclusion& a, const PlanExclusion& b) { return a.path < b.path; });
  find_report_candidates(r, options, ignore, knowledge, packs_on);
  split_exclusions(r);
  count_test_files(r.tests, r.files, r.tests_complete);
  count_totals(r);
  find_largest_directories(r);
  r.packages = packages_of(r.files, options.dpkg_admin_dir, options.python_root);
  r.distributions = distribution_usage(r.files, options.python_root);
}

// ---------------------------------------------------------------------------
// Processes and tests of a trace

std::string test_name(const Trace& trace, const Process& p) { return p.test.empty() ? trace.run.label : p.test; }

ReportProcess process_of(const Trace& trace, const Process& p) {
  ReportProcess out{.id = p.id,
                    .parent = p.parent,
                    .pid = p.pid,
                    .test = test_name(trace, p),
                    .start = p.start,
                    .end = p.end,
                    .exited = p.exited,
                    .exit_code = p.exit_code,
                    .signal = p.signal};
  for (const Exec& e : p.execs) out.execs.push_back({.time = e.time, .path = e.path, .argv = e.argv});
  return out;
}

/// One ReportTest per test case of the trace, with its process count and how
/// its first process ended.
std::vector<ReportTest> tests_of(const Trace& trace) {
  std::map<std::string, ReportTest> tests;
  for (const Process& p : trace.processes) {
    auto [it, first] = tests.try_emplace(test_name(trace, p));
    ReportTest& t = it->second;
    t.name = it->first;
    t.processes = t.processes.value_or(0) + 1;
    if (!first || !p.exited) continue;
    if (p.signal != 0)
      t.signal = p.signal;
    else
      t.exit_code = p.exit_code;
  }
  std::vector<ReportTest> out;
  for (auto& [name, t] : tests) out.push_back(std::move(t));
  return out;
}

// ---------------------------------------------------------------------------
// Python RECORD files

/// The fields of one CSV line (RECORD quotes a field holding ',' or '"').
std::vector<std::string> csv_fields(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"')
      fields.back() += '"', ++i;
    else if (c == '"')
      quoted = !quoted;
    else if (c == ',' && !quoted)
      fields.emplace_back();
    else
      fields.back() += c;
  }
  return fields;
}

/// "/a/b" + "../c/d" -> "/a/c/d", lexically.
PathBytes join_lexically(const PathBytes& dir, const std::string& relative) {
  std::vector<std::string> parts;
  std::string path = relative.starts_with('/') ? relative : dir + "/" + relative;
  std::istringstream in(path);
  for (std::string part; std::getline(in, part, '/');) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else {
      parts.push_back(part);
    }
  }
  PathBytes out;
  for (const std::string& p : parts) out += "/" + p;
  return out.empty() ? "/" : out;
}

/// The site-packages / dist-packages directories that hold a bundled file.
std::set<PathBytes> site_directories(const std::vector<ReportFile>& files) {
  std::set<PathBytes> sites;
  for (const ReportFile& f : files) {
    for (std::string_view name : {"/site-packages/", "/dist-packages/"}) {
      std::size_t at = f.path.find(name);
      if (at != PathBytes::npos) sites.insert(f.path.substr(0, at + name.size() - 1));
    }
  }
  return sites;
}

DistributionUsage read_record(const PathBytes& site, const std::string& dist_info, const PathBytes& root,
                              const std::unordered_map<PathBytes, const ReportFile*>& regular) {
  DistributionUsage d;
  std::string stem = dist_info.substr(0, dist_info.size() - std::string_view(".dist-info").size());
  std::size_t dash = stem.find('-');
  d.name = stem.substr(0, dash);
  d.version = dash == std::string::npos ? "" : stem.substr(dash + 1);
  d.record = site + "/" + dist_info + "/RECORD";
  std::ifstream in(root + d.record);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> fields = csv_fields(line);
    if (fields[0].empty()) continue;
    ++d.files_installed;
    if (fields.size() >= 3) d.bytes_installed += std::strtoull(fields[2].c_str(), nullptr, 10);
    auto it = regular.find(join_lexically(site, fields[0]));
    if (it == regular.end()) continue;
    ++d.files_used;
    d.bytes_used += it->second->size;
    d.files.push_back(it->first);
  }
  return d;
}

std::vector<std::string> dist_info_directories(const PathBytes& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return names;
  while (const dirent* e = readdir(d)) {
    std::string_view name = e->d_name;
    if (name.ends_with(".dist-info")) names.emplace_back(name);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

// The manifest keeps each entry's reason lines, not their sources: a line
// naming an include rule (reason_source) stands for the acknowledgement a
// plan would see.
std::vector<HostSpecificFinding> host_specific_of(const Manifest& manifest, const ReportOptions& options) {
  BundlePlan plan;
  for (const ManifestEntry& e : manifest.entries) {
    PlanEntry p;
    p.path = e.path;
    p.type = e.type;
    p.size = e.size;
    for (const std::string& line : e.reasons)
      if (reason_source(line) == PlanReason::Source::rule) p.reasons.push_back({.source = PlanReason::Source::rule, .detail = line});
    plan.entries.push_back(std::move(p));
  }
  HostSpecificOptions host{.homes = {}, .dpkg_admin_dir = options.dpkg_admin_dir, .root = options.python_root};
  return find_host_specific(plan, {}, host);
}

}  // namespace

std::vector<DistributionUsage> distribution_usage(const std::vector<ReportFile>& files, const PathBytes& root) {
  std::unordered_map<PathBytes, const ReportFile*> regular;
  for (const ReportFile& f : files)
    if (f.type == EntryType::regular) regular.emplace(f.path, &f);
  PathBytes prefix = root == "/" ? "" : root;
  std::vector<DistributionUsage> out;
  for (const PathBytes& site : site_directories(files))
    for (const std::string& dist_info : dist_info_directories(prefix + site)) {
      DistributionUsage d = read_record(site, dist_info, prefix, regular);
      if (d.files_used > 0) out.push_back(std::move(d));
    }
  std::stable_sort(out.begin(), out.end(),
                   [](const DistributionUsage& a, const DistributionUsage& b) { return a.bytes_used > b.bytes_used; });
  return out;
}

std::vector<ReportTest> test_contributions(const BundlePlan& plan) {
  std::vector<ReportTest> tests;
  for (const std::string& name : plan.tests) tests.emplace_back().name = name;
  std::vector<ReportFile> files;
  for (const PlanEntry& e : plan.entries)
    if (e.type == EntryType::regular) files.push_back(file_of(e));
  count_test_files(tests, files, true);
  return tests;
}

BundleReport report_plan(const BundlePlan& plan, const Trace& trace, const ReportOptions& options) {
  BundleReport r;
  r.input_kind = "trace";
  for (const PlanEntry& e : plan.entries) r.files.push_back(file_of(e));
  r.excluded = plan.excluded;
  r.warnings = plan.warnings;
  r.host_specific = plan.host_specific;
  for (const Warning& w : trace.warnings) r.warnings.push_back("trace: " + w.message);
  r.tests = tests_of(trace);
  for (const Process& p : trace.processes) r.processes.push_back(process_of(trace, p));
  derive(r, options, plan.review_ignore, plan.knowledge, plan.packs_on);
  r.totals.processes = trace.processes.size();
  return r;
}

BundleReport report_contents(const BundleContents& contents, const ReportOptions& options) {
  BundleReport r;
  r.input_kind = "bundle";
  r.bundle = contents.manifest.bundle;
  r.format = contents.format;
  r.output_bytes = contents.output_bytes;
  for (const ManifestEntry& e : contents.manifest.entries) r.files.push_back(file_of(e));
  r.excluded = contents.manifest.excluded;
  r.warnings = contents.warnings;
  for (std::string& problem : check_manifest(contents)) r.warnings.push_back(std::move(problem));
  r.host_specific = host_specific_of(contents.manifest, options);
  r.from = contents.manifest.from;
  // Without the manifest's list of tests, each entry's tests came from at
  // most 8 reasons: enough to filter by, not to say which test alone used it.
  r.tests_complete = contents.manifest.tests.has_value();
  for (const std::string& name : contents.manifest.tests.value_or(std::vector<std::string>{})) r.tests.emplace_back().name = name;
  // The tests of a bundle taken from an image ran with the image's PATH.
  ReportOptions with_path = options;
  if (contents.manifest.from)
    for (const std::string& variable : contents.manifest.from->env)
      if (variable.starts_with("PATH=")) with_path.search_paths.push_back(variable.substr(5));
  derive(r, with_path, contents.manifest.review_ignore, contents.manifest.knowledge, contents.manifest.packs_on);
  return r;
}

BundleReport report_trace_file(const std::string& trace_file, const BundleSpec& spec, bool allow_truncated, const std::string& from) {
  PackRequest request;
  request.trace_files = {trace_file};
  request.spec = spec;
  request.allow_missing = true;  // a report shows what is gone as a warning
  request.allow_truncated = allow_truncated;
  // A trace taken in an image names the image's files and packages.
  std::string reference = from;
  if (reference.empty() && spec.from) reference = from_reference(spec.from->reference, std::filesystem::absolute(spec.file).parent_path());
  std::optional<OpenedBase> base;
  ReportOptions options;
  if (!reference.empty()) {
    base.emplace(reference);
    request.root = base->root();
    options = {.dpkg_admin_dir = dpkg_admin_dir(base->root()), .python_root = base->root()};
  }
  PlanInputs in = read_plan_inputs(request);
  options.search_paths = test_search_paths(spec.tests, in.traces);
  BundleReport r = report_plan(make_plan_with_glob_closures(in, request.root), in.traces.front(), options);
  r.input = trace_file;
  r.bundle = spec.name;
  return r;
}

BundleReport report_bundle_file(const std::string& path, const std::string& from) {
  BundleContents contents = read_bundle(path);
  std::string base_reference = !from.empty() ? from : contents.manifest.from ? contents.manifest.from->reference : "";
  if (base_reference.empty()) {
    BundleReport r = report_contents(contents);
    r.input = path;
    return r;
  }
  // The files came from the image: so do their packages. A base given on
  // the command line must open; the one recorded may be gone by now.
  std::optional<OpenedBase> base;
  std::string gone;
  try {
    base.emplace(base_reference);
  } catch (const Error& e) {
    if (!from.empty()) throw;
    gone = e.what();
  }
  ReportOptions options;
  if (base) options = {.dpkg_admin_dir = dpkg_admin_dir(base->root()), .python_root = base->root()};
  BundleReport r = report_contents(contents, options);
  r.input = path;
  if (!gone.empty()) {
    r.packages.clear();  // the host's packages say nothing of the image's files
    r.distributions.clear();
    r.warnings.push_back("packages not attributed: the base image this bundle was taken from cannot be opened (" + gone +
                         "): give it with --from");
  }
  return r;
}

BundleReport report_file(const std::string& path, const std::string& spec_file, bool allow_truncated, const std::string& from) {
  if (is_trace_file(path)) return report_trace_file(path, spec_file.empty() ? BundleSpec{} : load_spec(spec_file), allow_truncated, from);
  if (!spec_file.empty()) throw Error(path + ": --spec applies to a trace, not to a bundle (its rules were applied when it was packed)");
  return report_bundle_file(path, from);
}

}  // namespace tracepack

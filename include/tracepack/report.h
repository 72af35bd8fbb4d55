// The bundle report: what a bundle holds and why, as plain data for reviewers.
// Built from a trace (the plan make_plan would produce) or from a bundle (its
// manifest and entries), then rendered as text, JSON or HTML
// (report_render.cc). The JSON form is documented in docs/report-format.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tracepack/bundle_reader.h"
#include "tracepack/candidates.h"
#include "tracepack/dpkg.h"
#include "tracepack/manifest_reader.h"
#include "tracepack/plan.h"
#include "tracepack/spec.h"
#include "tracepack/trace.h"

namespace tracepack {

/// The version written in the JSON report's signature.
inline constexpr int kReportFormatVersion = 1;

/// One entry of the bundle.
struct ReportFile {
  PathBytes path{};
  EntryType type = EntryType::regular;
  std::uint64_t size = 0;  ///< regular files: bytes (a hard link: its target's)
  std::uint32_t mode = 0;
  PathBytes link_target{};             ///< symlinks
  PathBytes hardlink_to{};             ///< hard links: the entry holding the data
  std::vector<std::string> reasons{};  ///< one line each, the deciding one first
  std::vector<std::string> tests{};    ///< test cases whose processes used it, sorted
};

/// Bytes of the regular files directly in one directory (not below it).
struct DirectoryUsage {
  PathBytes path;
  std::uint64_t files = 0;
  std::uint64_t bytes = 0;
};

/// One Python distribution's share of the bundle (from its *.dist-info/RECORD).
struct DistributionUsage {
  std::string name;  ///< as the dist-info directory spells it ("PyYAML")
  std::string version;
  PathBytes record;              ///< the RECORD file read
  std::uint64_t files_used = 0;  ///< RECORD's files that are regular files of the bundle
  std::uint64_t bytes_used = 0;
  std::uint64_t files_installed = 0;  ///< RECORD's rows
  std::uint64_t bytes_installed = 0;  ///< the sizes RECORD gives (rows without one count 0)
  std::vector<PathBytes> files{};     ///< the bundle's regular files RECORD lists, in RECORD's order
};

/// How many paths were left out for one reason ("/proc", "lookup failed in test 'x'").
struct ExclusionCount {
  std::string reason{};
  std::uint64_t count = 0;
};

/// One successful exec of a traced process.
struct ReportExec {
  double time = 0;
  PathBytes path{};
  std::vector<PathBytes> argv{};
};

/// One traced process (trace input only).
struct ReportProcess {
  std::uint64_t id = 0;
  std::uint64_t parent = 0;  ///< 0 for a root
  int pid = 0;
  std::string test{};
  double start = 0;
  double end = 0;
  std::vector<ReportExec> execs{};
  bool exited = false;  ///< false: still running when the trace ended
  int exit_code = 0;
  int signal = 0;
};

/// One test case's share. Regular files only (a hard link counts as a file,
/// with its data's size); directories and symlinks are not counted.
struct ReportTest {
  std::string name;
  std::optional<std::uint64_t> processes;  ///< trace input only
  std::optional<int> exit_code;            ///< of its first process, when it exited normally (trace input only)
  std::optional<int> signal;               ///< of its first process, when a signal killed it
  std::uint64_t files = 0;                 ///< regular files of the bundle it used
  std::uint64_t bytes = 0;
  /// Of those, the files no other test used (a file only a rule brought
  /// counts for no test); nullopt when unknown: a bundle whose manifest
  /// predates the complete list of each entry's tests.
  std::optional<std::uint64_t> only_files;
  std::optional<std::uint64_t> only_bytes;
};

/// Counts over the whole bundle. files + hardlinks + directories + symlinks
/// is the number of entries; bytes counts each regular file's data once (hard
/// links not again), as write_bundle's WriteResult does.
struct ReportTotals {
  std::uint64_t files = 0;
  std::uint64_t hardlinks = 0;
  std::uint64_t directories = 0;
  std::uint64_t symlinks = 0;
  std::uint64_t bytes = 0;
  std::optional<std::uint64_t> processes;  ///< processes in the trace; unknown for a bundle
  std::uint64_t tests = 0;
  std::uint64_t excluded = 0;
  std::uint64_t failed_lookups = 0;
  std::uint64_t warnings = 0;
  std::uint64_t host_specific = 0;
  std::uint64_t candidates = 0;
};

/// The whole report.
struct BundleReport {
  std::string input;               ///< the trace or bundle path, as given
  std::string input_kind;          ///< "trace" or "bundle"
  std::string bundle;              ///< the bundle's name (the spec's or the manifest's)
  std::string format;              ///< the bundle's format; empty for a trace
  std::uint64_t output_bytes = 0;  ///< size of the archive file; 0 for a directory or a trace
  ReportTotals totals;
  std::vector<ReportFile> files;                    ///< every entry, sorted by path
  std::vector<DirectoryUsage> largest_directories;  ///< by bytes, biggest first, at most 10
  std::vector<PackageUsage> packages;               ///< as package_usage returns them ("" last: no package)
  std::vector<DistributionUsage> distributions;     ///< by bytes used, biggest first
  std::vector<ExclusionCount> excluded_by_reason;   ///< sorted by reason
  std::vector<PlanExclusion> excluded;              ///< every path left out, sorted by path
  std::vector<PlanExclusion> failed_lookups;        ///< the exclusions that are failed lookups
  std::vector<std::string> warnings;
  std::vector<HostSpecificFinding> host_specific;  ///< personal or host-specific files to review, by path
  std::vector<Candidate> candidates;               ///< what the bundle may need and lacks, likeliest first (find_candidates)
  std::vector<ReportTest> tests;                   ///< sorted by name
  bool tests_complete = true;                      ///< false: an older bundle's manifest, per-test only_* counts unknown
  std::vector<ReportProcess> processes;            ///< ordered by id; empty for a bundle
  std::optional<ManifestBase> from;                ///< the base image a bundle was taken from (spec from:); nullopt otherwise
};

/// Where a report looks up what is installed on the machine.
struct ReportOptions {
  std::string dpkg_admin_dir = "/var/lib/dpkg";  ///< for package_usage
  PathBytes python_root = "/";                   ///< RECORD files are read below it, dpkg's list paths resolved in it;
                                                 ///< candidates are looked for in it
  std::vector<std::string> search_paths{};       ///< PATH values the tests ran with, for candidates (test_search_paths)
};

/// The report of a plan, and of the trace it was made from (processes,
/// tests). Reads only the dpkg database and RECORD files named by `options`.
BundleReport report_plan(const BundlePlan& plan, const Trace& trace, const ReportOptions& options = {});

/// The report of a bundle read by read_bundle. Entries come from the
/// manifest; every disagreement with the entries the bundle really holds
/// (missing, extra, another type or size) becomes a warning. Host-specific
/// files are found by find_host_specific's rules on the manifest's entries,
/// an entry whose reasons name an include rule counting as acknowledged.
BundleReport report_contents(const BundleContents& contents, const ReportOptions& options = {});

/// Reads a trace, plans it like `tracepack pack` would (with `spec`'s rules,
/// from the image `from` or the spec's from: when either is given;
/// traced files gone since are warnings) and reports on the plan. Throws Error,
/// also for a truncated trace unless `allow_truncated` (then a warning).
BundleReport report_trace_file(const std::string& trace_file, const BundleSpec& spec, bool allow_truncated = false,
                               const std::string& from = "");

/// read_bundle, then report_contents. A bundle taken from an image is
/// reported with that image's dpkg database and Python distributions: its
/// manifest's base is opened again (OpenedBase, from_image.h), or the one
/// `from` names when not empty; when the recorded base is gone, packages
/// are not attributed and a warning says so. Throws Error.
BundleReport report_bundle_file(const std::string& path, const std::string& from = "");

/// Each test case of `plan` (BundlePlan::tests) with the files and bytes of
/// the plan's regular files it used and of those only it used, sorted by
/// name: the same counts report_plan gives. Processes and exit are unset.
std::vector<ReportTest> test_contributions(const BundlePlan& plan);

/// One line summing up test_contributions, for `tracepack build`: "tests: 3;
/// each used 120–340 files; 'slow' alone brought 12 files (1.2 MiB); 'smoke'
/// brought nothing of its own". Ties are broken by name, so the same tests
/// give the same line.
std::string test_contributions_line(const std::vector<ReportTest>& tests);

/// The Python distributions whose RECORD lists regular files of `files`:
/// each "site-packages" or "dist-packages" directory holding a bundled file
/// is searched (below `root`) for "*.dist-info/RECORD".
std::vector<DistributionUsage> distribution_usage(const std::vector<ReportFile>& files, const PathBytes& root = "/");

/// Reads a trace file or a bundle, whichever `path` is (is_trace_file
/// decides). `spec_file`
/// ("" = none) applies to a trace only; naming one for a bundle is an Error.
/// `from` ("" = the one recorded) is the base image of a bundle (report_bundle_file).
BundleReport report_file(const std::string& path, const std::string& spec_file, bool allow_truncated = false, const std::string& from = "");

/// The report for a terminal: totals, largest directories, packages,
/// distributions, tests, exclusions by reason, failed lookups, warnings. `color`
/// adds ANSI bold and dim (the caller decides: a TTY, no NO_COLOR). The
/// candidates are folded to fit a screen (docs/report-format.md) unless
/// `all_candidates`, which lists each in full.
std::string render_text(const BundleReport& report, bool color, bool all_candidates = false);

/// The report as JSON ("format": "tracepack-report", docs/report-format.md),
/// paths in the trace format's %XX form, ending in a newline.
std::string render_json(const BundleReport& report);

/// The report as one self-contained HTML page (d3 embedded, no network): the
/// JSON of render_json embedded as data, summary, treemap, file table,
/// process tree and per-test views built from it by the page's script.
std::string render_html(const BundleReport& report);

}  // namespace tracepack

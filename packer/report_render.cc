// Rendering a BundleReport: text for a terminal, JSON for tools, HTML for
// reviewers.
//
// render_json is the reference: one ordered JSON document whose paths are in
// the trace format's %XX form (encode_path), so that any byte a path holds
// survives and the document stays valid UTF-8; other strings (reasons, test
// names) have stray bytes replaced. render_html embeds exactly that document
// as data and builds the page from it in the browser: the data sits in a
// <script type="application/json"> block, ASCII only, with '<', '>' and '&'
// written as \u escapes so that no path can close the block, and the page's
// script only ever puts data into the DOM as text nodes (never as markup).
// d3 (embedded from Debian's libjs-d3 at build time, see
// packer/embed_file.cmake) lays out the treemap. render_text prints the
// same sections as the JSON, minus the per-file list and process tree.
// test_contributions_line sums the tests' shares up in one line for
// `tracepack build`: the test with the most files of its own is named (ties
// go to more bytes, then to the first name), so the line is deterministic.
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <set>
#include <nlohmann/json.hpp>
#include <string>
#include <tuple>

#include "tracepack/from_image.h"
#include "tracepack/report.h"
#include "tracepack_d3_js.h"

namespace tracepack {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::size_t kTextListLimit = 20;

template <typename T>
Json optional_json(const std::optional<T>& value) {
  return value ? Json(*value) : Json(nullptr);
}

// ---------------------------------------------------------------------------
// JSON

Json from_json(const std::optional<ManifestBase>& from) {
  if (!from) return nullptr;
  return {{"reference", from->reference}, {"kind", from->kind}, {"bytes", from->bytes}, {"files", from->files}};
}

Json input_json(const BundleReport& r) {
  return {{"path", encode_path(r.input)},
          {"kind", r.input_kind},
          {"bundle", r.bundle},
          {"format", r.format.empty() ? Json(nullptr) : Json(r.format)},
          {"output_bytes", r.output_bytes},
          {"from", from_json(r.from)}};
}

Json totals_json(const ReportTotals& t) {
  return {{"files", t.files},
          {"hardlinks", t.hardlinks},
          {"directories", t.directories},
          {"symlinks", t.symlinks},
          {"bytes", t.bytes},
          {"processes", optional_json(t.processes)},
          {"tests", t.tests},
          {"excluded", t.excluded},
          {"failed_lookups", t.failed_lookups},
          {"warnings", t.warnings},
          {"host_specific", t.host_specific},
          {"candidates", t.candidates}};
}

Json packages_json(const std::vector<PackageUsage>& packages) {
  Json out = Json::array();
  for (const PackageUsage& u : packages)
    if (!u.package.empty())
      out.push_back({{"package", u.package},
                     {"files_used", u.files_used},
                     {"bytes_used", u.bytes_used},
                     {"files_installed", u.files_installed},
                     {"bytes_installed", u.bytes_installed}});
  return out;
}

Json unpackaged_json(const std::vector<PackageUsage>& packages) {
  for (const PackageUsage& u : packages)
    if (u.package.empty()) return {{"files", u.files_used}, {"bytes", u.bytes_used}};
  return nullptr;  // no dpkg database
}

Json distributions_json(const std::vector<DistributionUsage>& distributions) {
  Json out = Json::array();
  for (const DistributionUsage& d : distributions)
    out.push_back({{"name", d.name},
                   {"version", d.version},
                   {"record", encode_path(d.record)},
                   {"files_used", d.files_used},
                   {"bytes_used", d.bytes_used},
                   {"files_installed", d.files_installed},
                   {"bytes_installed", d.bytes_installed}});
  return out;
}

Json exclusions_json(const std::vector<PlanExclusion>& exclusions) {
  Json out = Json::array();
  for (const PlanExclusion& x : exclusions) out.push_back({{"path", encode_path(x.path)}, {"reason", render_exclusion(x.reason)}});
  return out;
}

Json tests_json(const std::vector<ReportTest>& tests) {
  Json out = Json::array();
  for (const ReportTest& t : tests)
    out.push_back({{"name", t.name},
                   {"processes", optional_json(t.processes)},
                   {"exit_code", optional_json(t.exit_code)},
                   {"signal", optional_json(t.signal)},
                   {"files", t.files},
                   {"bytes", t.bytes},
                   {"only_files", optional_json(t.only_files)},
                   {"only_bytes", optional_json(t.only_bytes)}});
  return out;
}

Json paths_json(const std::vector<PathBytes>& paths) {
  Json out = Json::array();
  for (const PathBytes& p : paths) out.push_back(encode_path(p));
  return out;
}

Json processes_json(const std::vector<ReportProcess>& processes) {
  Json out = Json::array();
  for (const ReportProcess& p : processes) {
    Json execs = Json::array();
    for (const ReportExec& e : p.execs) execs.push_back({{"time", e.time}, {"path", encode_path(e.path)}, {"argv", paths_json(e.argv)}});
    out.push_back({{"id", p.id},
                   {"parent", p.parent},
                   {"pid", p.pid},
                   {"test", p.test},
                   {"start", p.start},
                   {"end", p.end},
                   {"exited", p.exited},
                   {"exit_code", p.exit_code},
                   {"signal", p.signal},
                   {"execs", std::move(execs)}});
  }
  return out;
}

Json file_json(const ReportFile& f) {
  Json j = {{"path", encode_path(f.path)}, {"type", to_string(f.type)}, {"size", f.size}, {"mode", f.mode}};
  if (f.type == EntryType::symlink) j["link_target"] = encode_path(f.link_target);
  if (!f.hardlink_to.empty()) j["hardlink_to"] = encode_path(f.hardlink_to);
  j["reasons"] = f.reasons;
  j["tests"] = f.tests;
  return j;
}

Json directories_json(const std::vector<DirectoryUsage>& dirs) {
  Json out = Json::array();
  for (const DirectoryUsage& d : dirs) out.push_back({{"path", encode_path(d.path)}, {"files", d.files}, {"bytes", d.bytes}});
  return out;
}

Json host_specific_json(const std::vector<HostSpecificFinding>& findings) {
  Json out = Json::array();
  for (const HostSpecificFinding& f : findings)
    out.push_back({{"path", encode_path(f.path)}, {"why", f.why}, {"exclude_line", f.exclude_line}});
  return out;
}

Json candidates_json(const std::vector<Candidate>& candidates) {
  Json out = Json::array();
  for (const Candidate& c : candidates)
    out.push_back({{"path", encode_path(c.path)},
                   {"kind", c.kind},
                   {"reason", c.reason},
                   {"evidence", c.evidence},
                   {"files", c.files},
                   {"bytes", c.bytes},
                   {"include", c.include},
                   {"rank", c.rank},
                   {"package", c.package.empty() ? Json(nullptr) : Json(c.package)}});
  return out;
}

Json report_json(const BundleReport& r) {
  Json files = Json::array();
  for (const ReportFile& f : r.files) files.push_back(file_json(f));
  return {{"format", "tracepack-report"},
          {"version", kReportFormatVersion},
          {"tracepack", TRACEPACK_VERSION},
          {"input", input_json(r)},
          {"totals", totals_json(r.totals)},
          {"largest_directories", directories_json(r.largest_directories)},
          {"packages", packages_json(r.packages)},
          {"unpackaged", unpackaged_json(r.packages)},
          {"distributions", distributions_json(r.distributions)},
          {"excluded_by_reason",
           [&] {
             Json out = Json::array();
             for (const ExclusionCount& x : r.excluded_by_reason) out.push_back({{"reason", x.reason}, {"count", x.count}});
             return out;
           }()},
          {"excluded", exclusions_json(r.excluded)},
          {"failed_lookups", exclusions_json(r.failed_lookups)},
          {"warnings", r.warnings},
          {"host_specific", host_specific_json(r.host_specific)},
          {"candidates", candidates_json(r.candidates)},
          {"tests", tests_json(r.tests)},
          {"processes", processes_json(r.processes)},
          {"files", std::move(files)}};
}

// ---------------------------------------------------------------------------
// Text

std::string format(const char* pattern, auto... args) {
  char buffer[512];
  std::snprintf(buffer, sizeof buffer, pattern, args...);
  return buffer;
}

std::string human(std::uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) value /= 1024, ++unit;
  return unit == 0 ? format("%" PRIu64 " B", bytes) : format("%.1f %s", value, kUnits[unit]);
}

class TextWriter {
 public:
  explicit TextWriter(bool color) : color_(color) {}

  void heading(const std::string& text) {
    out_ += out_.empty() ? "" : "\n";
    out_ += color_ ? "\033[1m" + text + "\033[0m\n" : text + "\n";
  }
  void line(const std::string& text) { out_ += "  " + text + "\n"; }
  void dim(const std::string& text) { line(color_ ? "\033[2m" + text + "\033[0m" : text); }
  std::string take() { return std::move(out_); }

 private:
  bool color_;
  std::string out_;
};

void text_totals(TextWriter& w, const BundleReport& r) {
  const ReportTotals& t = r.totals;
  std::string title = "tracepack report: " + (r.bundle.empty() ? std::string("(unnamed bundle)") : r.bundle) + " — " + r.input_kind + " " +
                      encode_path(r.input);
  if (!r.format.empty()) title += " (" + r.format + ", " + human(r.output_bytes) + ")";
  w.heading(title);
  w.line(format("files          %" PRIu64 " (%s, %" PRIu64 " bytes)", t.files, human(t.bytes).c_str(), t.bytes));
  w.line(format("hard links     %" PRIu64, t.hardlinks));
  w.line(format("directories    %" PRIu64, t.directories));
  w.line(format("symlinks       %" PRIu64, t.symlinks));
  w.line(t.processes ? format("processes      %" PRIu64, *t.processes) : "processes      unknown (a bundle does not record them)");
  w.line(format("tests          %" PRIu64, t.tests));
  if (r.from) w.line("base image     " + r.from->reference + " (" + r.from->kind + "): " + size_reduction_line(r.from->bytes, t.bytes));
}

/// "file " or "files", padded alike so that the columns after it line up.
const char* files_word(std::uint64_t n) { return n == 1 ? "file " : "files"; }

void text_directories(TextWriter& w, const BundleReport& r) {
  w.heading("Largest directories (bytes of the files directly in them)");
  if (r.largest_directories.empty()) w.dim("none");
  for (const DirectoryUsage& d : r.largest_directories)
    w.line(format("%10s  %6" PRIu64 " %s  ", human(d.bytes).c_str(), d.files, files_word(d.files)) + encode_path(d.path));
}

std::string share(std::uint64_t files_used, std::uint64_t files_installed, std::uint64_t bytes_used, std::uint64_t bytes_installed) {
  return format("%6" PRIu64 " / %-6" PRIu64 " files  %10s / %-10s", files_used, files_installed, human(bytes_used).c_str(),
                human(bytes_installed).c_str());
}

void text_packages(TextWriter& w, const BundleReport& r) {
  w.heading("Debian packages (files used / installed, bytes used / installed)");
  if (r.packages.empty()) w.dim("no dpkg database on this machine");
  for (const PackageUsage& u : r.packages) {
    if (u.package.empty())
      w.line(format("%6" PRIu64 " %s  %10s  in no package", u.files_used, files_word(u.files_used), human(u.bytes_used).c_str()));
    else
      w.line(share(u.files_used, u.files_installed, u.bytes_used, u.bytes_installed) + "  " + u.package);
  }
  w.heading("Python distributions (files used / installed, bytes used / installed)");
  if (r.distributions.empty()) w.dim("none (no *.dist-info/RECORD lists a bundled file)");
  for (const DistributionUsage& d : r.distributions)
    w.line(share(d.files_used, d.files_installed, d.bytes_used, d.bytes_installed) + "  " + d.name + " " + d.version);
}

void text_tests(TextWriter& w, const BundleReport& r) {
  w.heading("Tests (files and bytes each used; alone: those no other test used)");
  if (!r.tests_complete) {
    w.dim(
        "not available: this bundle's manifest, written by an older tracepack, does not record every test that used a file "
        "(pack the bundle again)");
    return;
  }
  if (r.tests.empty()) w.dim("none");
  for (const ReportTest& t : r.tests) {
    std::uint64_t only_files = t.only_files.value_or(0), only_bytes = t.only_bytes.value_or(0);
    w.line(format("%6" PRIu64 " %s  %10s   alone: %6" PRIu64 " %s  %10s  ", t.files, files_word(t.files), human(t.bytes).c_str(),
                  only_files, files_word(only_files), human(only_bytes).c_str()) +
           t.name + (only_files == 0 ? "  (nothing of its own)" : ""));
  }
}

void text_list(TextWriter& w, const std::vector<std::string>& lines) {
  for (std::size_t i = 0; i < lines.size() && i < kTextListLimit; ++i) w.line(lines[i]);
  if (lines.size() > kTextListLimit) w.dim(format("... and %zu more (see --format json)", lines.size() - kTextListLimit));
}

void text_exclusions(TextWriter& w, const BundleReport& r) {
  w.heading(format("Excluded paths by reason (%" PRIu64 ")", r.totals.excluded));
  if (r.excluded_by_reason.empty()) w.dim("none");
  for (const ExclusionCount& x : r.excluded_by_reason) w.line(format("%6" PRIu64 "  ", x.count) + x.reason);
  w.heading(format("Failed lookups (%" PRIu64 ")", r.totals.failed_lookups));
  if (r.failed_lookups.empty()) w.dim("none");
  std::vector<std::string> lines;
  for (const PlanExclusion& x : r.failed_lookups) lines.push_back(encode_path(x.path) + "  (" + x.reason.detail + ")");
  text_list(w, lines);
  w.heading(format("Warnings (%" PRIu64 ")", r.totals.warnings));
  if (r.warnings.empty()) w.dim("none");
  text_list(w, r.warnings);
  w.heading(format("Host-specific: review (%" PRIu64 ")", r.totals.host_specific));
  if (r.host_specific.empty()) w.dim("none");
  std::vector<std::string> review;
  for (const HostSpecificFinding& f : r.host_specific)
    review.push_back(encode_path(f.path) + ": " + f.why + "  (to leave it out, exclude: " + f.exclude_line + ")");
  text_list(w, review);
}

// Candidates. Each in full on three lines: what, where the need shows, the
// line to add. Unless all are asked for, the list is folded to fit a screen:
// candidates of rank 3 and above that are alike (one kind, one rank, one
// reason but for the quoted name, one place of evidence) make one row, and
// at most kCandidateRows rows are shown (see docs/report-format.md).

constexpr std::size_t kCandidateRows = 20;
constexpr int kFoldFromRank = 3;

void text_candidate(TextWriter& w, const Candidate& c) {
  w.line(encode_path(c.path) + format("  (%" PRIu64 " %s, %s", c.files, c.files == 1 ? "file" : "files", human(c.bytes).c_str()) +
         (c.package.empty() ? "" : ", " + c.package) + "): " + c.reason);
  std::string at;
  for (std::size_t k = 0; k < c.evidence.size() && k < 3; ++k) at += (k ? ", " : "") + c.evidence[k];
  if (c.evidence.size() > 3) at += format(" and %zu more", c.evidence.size() - 3);
  w.line("    at " + at);
  w.line("    to add it, include: " + c.include);
}

// The reason with its first quoted name replaced by '...', and that name
// (the path's last component when the reason quotes none).
std::pair<std::string, std::string> reason_shape(const Candidate& c) {
  std::size_t open = c.reason.find('\'');
  std::size_t close = open == std::string::npos ? open : c.reason.find('\'', open + 1);
  if (close == std::string::npos) return {c.reason, std::string(c.path.substr(c.path.rfind('/') + 1))};
  return {c.reason.substr(0, open) + "'...'" + c.reason.substr(close + 1), c.reason.substr(open + 1, close - open - 1)};
}

// The file an evidence line names ("/a/b.py:12", "/lib/x.so: string ..."),
// "" when it names none.
std::string evidence_file(const std::string& evidence) {
  if (!evidence.starts_with("/")) return "";
  return evidence.substr(0, evidence.find(':'));
}

// Where a candidate's evidence lies, as a key to fold by: the deepest
// directory holding every file it names; the evidence itself when it names
// no file; "" (not to be folded) when that directory is "/".
std::string evidence_place(const Candidate& c) {
  std::string dir;
  for (const std::string& e : c.evidence) {
    std::string file = evidence_file(e);
    if (file.empty()) return "=" + e + (c.evidence.size() == 1 ? "" : "...");
    std::string parent = file.substr(0, file.rfind('/'));
    if (dir.empty()) dir = parent;
    while (!dir.empty() && parent != dir && !parent.starts_with(dir + "/")) dir.erase(dir.rfind('/'));
  }
  return dir.empty() ? "" : dir;
}

struct CandidateRow {
  std::vector<const Candidate*> members;  ///< one: shown in full
};

std::vector<CandidateRow> candidate_rows(const std::vector<Candidate>& candidates) {
  std::vector<CandidateRow> rows;
  std::map<std::tuple<int, std::string, std::string, std::string>, std::size_t> row_of;
  for (const Candidate& c : candidates) {
    std::string place = c.rank >= kFoldFromRank ? evidence_place(c) : "";
    if (place.empty()) {
      rows.push_back({{&c}});
      continue;
    }
    auto [it, added] = row_of.try_emplace({c.rank, c.kind, reason_shape(c).first, place}, rows.size());
    if (added) rows.emplace_back();
    rows[it->second].members.push_back(&c);
  }
  return rows;
}

std::string common_prefix(const std::string& a, const std::string& b) {
  std::size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return a.substr(0, n);
}

// One include glob for the row's members: when each is added by its own
// path and all lie in one directory, that directory with their names'
// common start and end around a '*'; "" when there is none.
std::string row_glob(const CandidateRow& row) {
  const PathBytes& first = row.members.front()->path;
  std::string dir = first.substr(0, first.rfind('/') + 1);
  std::string prefix = first.substr(dir.size()), suffix = prefix;
  for (const Candidate* c : row.members) {
    if (c->include != glob_list_item(c->path) || c->path.size() <= dir.size() || c->path.substr(0, dir.size()) != dir ||
        c->path.find('/', dir.size()) != std::string::npos)
      return "";
    std::string name = c->path.substr(dir.size());
    prefix = common_prefix(prefix, name);
    std::string reversed_suffix(suffix.rbegin(), suffix.rend()), reversed_name(name.rbegin(), name.rend());
    std::string common = common_prefix(reversed_suffix, reversed_name);
    suffix.assign(common.rbegin(), common.rend());
  }
  for (const Candidate* c : row.members)  // prefix and suffix must not overlap in any name
    if (prefix.size() + suffix.size() > c->path.size() - dir.size()) suffix.clear();
  if (suffix.find_first_of("*?[]{}\\") != std::string::npos) return "";
  return glob_list_item(dir + prefix, "*" + suffix);
}

void text_folded_row(TextWriter& w, const CandidateRow& row, const std::string& input) {
  std::uint64_t files = 0, bytes = 0;
  std::string names;
  for (std::size_t k = 0; k < row.members.size(); ++k) {
    files += row.members[k]->files;
    bytes += row.members[k]->bytes;
    if (k < 3) names += (k ? ", '" : "'") + reason_shape(*row.members[k]).second + "'";
  }
  if (row.members.size() > 3) names += format(" and %zu more", row.members.size() - 3);
  w.line(format("%zu alike (%" PRIu64 " %s, %s): ", row.members.size(), files, files == 1 ? "file" : "files", human(bytes).c_str()) +
         reason_shape(*row.members.front()).first + ": " + names);
  std::set<std::string> sites;
  for (const Candidate* c : row.members)
    for (const std::string& e : c->evidence) sites.insert(evidence_file(e).empty() ? e : evidence_file(e));
  std::string at = sites.size() == 1 ? *sites.begin() : "files in " + evidence_place(*row.members.front()) + "/";
  std::string glob = row_glob(row);
  w.line("    at " + at + (glob.empty() ? "; each one's include: tracepack report --all-candidates " + input : "; to add them all, include: " + glob));
}

void text_candidates(TextWriter& w, const BundleReport& r, bool all) {
  w.heading(format("Candidates to review (%" PRIu64 ")", r.totals.candidates));
  if (r.candidates.empty()) w.dim("none");
  if (all) {
    for (const Candidate& c : r.candidates) text_candidate(w, c);
    return;
  }
  std::vector<CandidateRow> rows = candidate_rows(r.candidates);
  std::size_t shown = 0;
  for (std::size_t i = 0; i < rows.size() && i < kCandidateRows; ++i) {
    if (rows[i].members.size() == 1)
      text_candidate(w, *rows[i].members.front());
    else
      text_folded_row(w, rows[i], encode_path(r.input));
    shown += rows[i].members.size();
  }
  if (rows.size() > kCandidateRows)
    w.dim(format("... and %zu more candidate%s: tracepack report --all-candidates ", r.candidates.size() - shown,
                 r.candidates.size() - shown == 1 ? "" : "s") +
          encode_path(r.input));
}

// ---------------------------------------------------------------------------
// HTML

/// JSON safe inside <script>: ASCII only, and no '<', '>' or '&' at all.
std::string script_safe_json(const Json& j) {
  std::string text = j.dump(-1, ' ', /*ensure_ascii=*/true, Json::error_handler_t::replace);
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '<')
      out += "\\u003c";
    else if (c == '>')
      out += "\\u003e";
    else if (c == '&')
      out += "\\u0026";
    else
      out += c;
  }
  return out;
}

constexpr std::string_view kHtmlHead = R"html(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tracepack report</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 2em 2em; color: #222; }
h1 { font-size: 1.5em; margin: 0.8em 0 0.2em; }
h2 { font-size: 1.15em; margin: 1.4em 0 0.4em; border-bottom: 1px solid #ddd; }
.muted { color: #777; }
dl.totals { display: grid; grid-template-columns: repeat(5, auto); gap: 0.3em 2em; justify-content: start; }
dl.totals div { background: #f4f6f8; padding: 0.4em 0.8em; border-radius: 4px; }
dl.totals dt { font-size: 0.8em; color: #666; } dl.totals dd { margin: 0; font-size: 1.3em; font-weight: 600; }
table { border-collapse: collapse; font-size: 0.92em; }
th, td { text-align: left; padding: 0.15em 0.6em; border-bottom: 1px solid #eee; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
th.sortable { cursor: pointer; user-select: none; } th.sortable:hover { background: #eef; }
#treemap { position: relative; width: 100%; height: 420px; background: #fff; }
#treemap .cell { position: absolute; overflow: hidden; box-sizing: border-box; border: 1px solid #fff;
  font-size: 11px; padding: 1px 3px; color: #fff; white-space: nowrap; }
#legend span { display: inline-block; margin-right: 1em; } #legend i { display: inline-block; width: 0.9em; height: 0.9em; margin-right: 0.3em; }
.path { font-family: ui-monospace, monospace; word-break: break-all; } #files td.path { min-width: 28em; }
.controls { margin: 0.5em 0; } .controls input { width: 28em; }
ul.tree { list-style: none; padding-left: 1.2em; border-left: 1px dotted #bbb; } ul.tree > li { margin: 0.2em 0; }
.failed { color: #b00; }
</style>
</head>
<body data-rendered="no">
<h1 id="title">tracepack report</h1>
<div id="subtitle" class="muted"></div>
<h2>Summary</h2>
<dl class="totals">
<div><dt>files</dt><dd id="total-files"></dd></div>
<div><dt>bytes</dt><dd id="total-bytes"></dd></div>
<div><dt>hard links</dt><dd id="total-hardlinks"></dd></div>
<div><dt>directories</dt><dd id="total-directories"></dd></div>
<div><dt>symlinks</dt><dd id="total-symlinks"></dd></div>
<div><dt>processes</dt><dd id="total-processes"></dd></div>
<div><dt>tests</dt><dd id="total-tests"></dd></div>
<div><dt>excluded paths</dt><dd id="total-excluded"></dd></div>
<div><dt>failed lookups</dt><dd id="total-failed-lookups"></dd></div>
<div><dt>warnings</dt><dd id="total-warnings"></dd></div>
</dl>
<h2>Size by directory</h2>
<div id="legend"></div>
<div id="treemap" data-bytes=""></div>
<h2>Largest directories</h2>
<table id="directories"><thead><tr><th class="num">bytes</th><th class="num">files</th><th>directory</th></tr></thead><tbody></tbody></table>
<h2>Debian packages</h2>
<table id="packages"><thead><tr><th>package</th><th class="num">files used</th><th class="num">files installed</th><th class="num">bytes used</th><th class="num">bytes installed</th></tr></thead><tbody></tbody></table>
<h2>Python distributions</h2>
<table id="distributions"><thead><tr><th>distribution</th><th class="num">files used</th><th class="num">files installed</th><th class="num">bytes used</th><th class="num">bytes installed</th></tr></thead><tbody></tbody></table>
<h2>Tests</h2>
<table id="tests"><thead><tr><th>test</th><th class="num">processes</th><th>first process</th><th class="num">files</th><th class="num">bytes</th>
<th class="num">files no other test used</th><th class="num">their bytes</th><th></th></tr></thead><tbody></tbody></table>
<p id="tests-note" class="muted"></p>
<h2>Files</h2>
<div class="controls">
<input id="file-filter" type="search" placeholder="filter by path or reason">
<select id="test-filter"><option value="">all tests</option></select>
<span id="file-count" class="muted"></span>
</div>
<table id="files"><thead><tr>
<th class="sortable" data-key="path">path</th><th class="sortable" data-key="type">type</th>
<th class="sortable num" data-key="size">size</th><th class="sortable" data-key="tests">tests</th>
<th class="sortable" data-key="reason">reason</th></tr></thead><tbody></tbody></table>
<h2>Process tree</h2>
<div id="process-tree"></div>
<h2>Excluded paths by reason</h2>
<table id="exclusions"><thead><tr><th class="num">paths</th><th>reason</th></tr></thead><tbody></tbody></table>
<h2>Failed lookups</h2>
<table id="failed-lookups"><thead><tr><th>path</th><th>reason</th></tr></thead><tbody></tbody></table>
<h2>Warnings</h2>
<ul id="warnings"></ul>
<h2>Host-specific: review</h2>
<table id="host-specific"><thead><tr><th>path</th><th>why</th><th>to leave it out, exclude:</th></tr></thead><tbody></tbody></table>
<h2>Candidates to review</h2>
<table id="candidates"><thead><tr><th>path</th><th class="num">size</th><th>why</th><th>evidence</th><th>to add it, include:</th></tr></thead><tbody></tbody></table>
)html";

constexpr std::string_view kHtmlScript = R"js(
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var byId = function (id) { return document.getElementById(id); };

  function human(bytes) {
    var units = ["B", "KiB", "MiB", "GiB", "TiB"], value = bytes, unit = 0;
    while (value >= 1024 && unit + 1 < units.length) { value /= 1024; ++unit; }
    return unit === 0 ? bytes + " B" : value.toFixed(1) + " " + units[unit];
  }
  function text(value) { return document.createTextNode(value === null || value === undefined ? "" : String(value)); }
  function cell(row, value, className) {
    var td = document.createElement("td");
    if (className) td.className = className;
    td.appendChild(text(value));
    row.appendChild(td);
    return td;
  }
  function fill(tableId, items, columns) {
    var body = byId(tableId).tBodies[0];
    items.forEach(function (item) {
      var row = document.createElement("tr");
      columns.forEach(function (c) { var td = cell(row, c[0](item), c[1]); if (c[2]) td.title = c[2](item); });
      body.appendChild(row);
    });
    if (items.length === 0) {
      var row = document.createElement("tr");
      cell(row, "none", "muted").colSpan = columns.length;
      body.appendChild(row);
    }
  }

  // Summary
  var t = data.totals;
  document.title = "tracepack report: " + (data.input.bundle || data.input.path);
  byId("title").textContent = "tracepack report: " + (data.input.bundle || "(unnamed bundle)");
  byId("subtitle").textContent = data.input.kind + " " + data.input.path +
      (data.input.format ? " (" + data.input.format + ", " + human(data.input.output_bytes) + ")" : "") +
      (data.input.from ? "; taken from the image " + data.input.from.reference + ": from " + (data.input.from.bytes / 1e6).toFixed(1) +
                         " MB (the base image, uncompressed) to " + (t.bytes / 1e6).toFixed(1) + " MB" : "");
  byId("total-files").textContent = t.files;
  byId("total-bytes").textContent = t.bytes;
  byId("total-bytes").title = human(t.bytes);
  byId("total-hardlinks").textContent = t.hardlinks;
  byId("total-directories").textContent = t.directories;
  byId("total-symlinks").textContent = t.symlinks;
  byId("total-processes").textContent = t.processes === null ? "unknown" : t.processes;
  byId("total-tests").textContent = t.tests;
  byId("total-excluded").textContent = t.excluded;
  byId("total-failed-lookups").textContent = t.failed_lookups;
  byId("total-warnings").textContent = t.warnings;

  // Treemap: the directory hierarchy of the regular files, sized by bytes,
  // coloured by top-level directory (d3.layout.treemap lays it out).
  function buildTree(files) {
    var root = {name: "/", children: [], index: {}};
    files.forEach(function (f) {
      if (f.type !== "regular" || f.hardlink_to !== undefined) return;
      var parts = f.path.split("/").filter(function (p) { return p.length > 0; }), node = root;
      parts.slice(0, -1).forEach(function (part) {
        if (!node.index[part]) { var child = {name: part, children: [], index: {}}; node.index[part] = child; node.children.push(child); }
        node = node.index[part];
      });
      node.children.push({name: parts[parts.length - 1], path: f.path, size: f.size, top: parts.length > 1 ? parts[0] : "/"});
    });
    return root;
  }
  var tree = buildTree(data.files);
  var box = byId("treemap");
  var layout = d3.layout.treemap().size([box.clientWidth || 1000, 420]).sticky(false)
      .value(function (d) { return d.size; }).sort(function (a, b) { return a.value - b.value; });
  var nodes = layout.nodes(tree);
  box.setAttribute("data-bytes", tree.value || 0);
  var color = d3.scale.category10();
  nodes.filter(function (d) { return !d.children && d.dx > 0 && d.dy > 0; }).forEach(function (d) {
    var div = document.createElement("div");
    div.className = "cell";
    div.style.left = d.x + "px"; div.style.top = d.y + "px";
    div.style.width = Math.max(0, d.dx) + "px"; div.style.height = Math.max(0, d.dy) + "px";
    div.style.background = color(d.top);
    div.title = d.path + " (" + human(d.size) + ")";
    if (d.dx > 60 && d.dy > 14) div.appendChild(text(d.name));
    box.appendChild(div);
  });
  color.domain().forEach(function (top) {
    var span = document.createElement("span"), swatch = document.createElement("i");
    swatch.style.background = color(top);
    span.appendChild(swatch); span.appendChild(text("/" + (top === "/" ? "" : top)));
    byId("legend").appendChild(span);
  });

  // Tables
  fill("directories", data.largest_directories,
       [[function (d) { return human(d.bytes); }, "num"], [function (d) { return d.files; }, "num"], [function (d) { return d.path; }, "path"]]);
  var packages = data.packages.slice();
  if (data.unpackaged) packages.push({package: "(in no package)", files_used: data.unpackaged.files, bytes_used: data.unpackaged.bytes});
  var share = [[function (d) { return d.files_used; }, "num"], [function (d) { return d.files_installed; }, "num"],
               [function (d) { return human(d.bytes_used); }, "num"],
               [function (d) { return d.bytes_installed === undefined ? "" : human(d.bytes_installed); }, "num"]];
  fill("packages", packages, [[function (d) { return d.package; }]].concat(share));
  fill("distributions", data.distributions, [[function (d) { return d.name + " " + d.version; }]].concat(share));
  function ending(t) {
    if (t.signal !== null) return "killed by signal " + t.signal;
    if (t.exit_code !== null) return "exit " + t.exit_code;
    return "";
  }
  // Per test: what it used, and what no other test did (null: an older bundle, unknown).
  var unknown = function (v, f) { return v === null ? "" : f(v); };
  fill("tests", data.tests, [[function (d) { return d.name; }], [function (d) { return d.processes === null ? "" : d.processes; }, "num"],
                              [ending], [function (d) { return d.files; }, "num"],
                              [function (d) { return human(d.bytes); }, "num", function (d) { return d.bytes; }],
                              [function (d) { return unknown(d.only_files, String); }, "num"],
                              [function (d) { return unknown(d.only_bytes, human); }, "num", function (d) { return unknown(d.only_bytes, String); }],
                              [function (d) { return d.only_files === 0 ? "nothing of its own" : ""; }, "muted"]]);
  if (data.tests.some(function (d) { return d.only_files === null; }))
    byId("tests-note").textContent = "Files no other test used: not available: this bundle's manifest, written by an older tracepack, " +
        "does not record every test that used a file (pack the bundle again).";
  fill("exclusions", data.excluded_by_reason, [[function (d) { return d.count; }, "num"], [function (d) { return d.reason; }]]);
  fill("failed-lookups", data.failed_lookups, [[function (d) { return d.path; }, "path"], [function (d) { return d.reason; }]]);
  fill("host-specific", data.host_specific, [[function (d) { return d.path; }, "path"], [function (d) { return d.why; }],
                                             [function (d) { return d.exclude_line; }, "path"]]);
  fill("candidates", data.candidates, [[function (d) { return d.path; }, "path"], [function (d) { return human(d.bytes); }, "num"],
                                       [function (d) { return d.reason; }], [function (d) { return d.evidence.join(", "); }, "path"],
                                       [function (d) { return d.include; }, "path"]]);
  data.warnings.forEach(function (w) { var li = document.createElement("li"); li.appendChild(text(w)); byId("warnings").appendChild(li); });
  if (data.warnings.length === 0) { var li = document.createElement("li"); li.className = "muted"; li.appendChild(text("none")); byId("warnings").appendChild(li); }

  // File table: filter by text and by test, sort by any column.
  var testFilter = byId("test-filter");
  data.tests.forEach(function (t) { var o = document.createElement("option"); o.value = t.name; o.appendChild(text(t.name)); testFilter.appendChild(o); });
  var sortKey = "path", sortUp = true;
  var keyOf = {
    path: function (f) { return f.path; }, type: function (f) { return f.type; }, size: function (f) { return f.size; },
    tests: function (f) { return f.tests.join(" "); }, reason: function (f) { return f.reasons.length ? f.reasons[0] : ""; }
  };
  function renderFiles() {
    var needle = byId("file-filter").value.toLowerCase(), test = testFilter.value;
    var rows = data.files.filter(function (f) {
      if (test && f.tests.indexOf(test) < 0) return false;
      return !needle || f.path.toLowerCase().indexOf(needle) >= 0 || f.reasons.join("\n").toLowerCase().indexOf(needle) >= 0;
    });
    var key = keyOf[sortKey];
    rows.sort(function (a, b) { var x = key(a), y = key(b); return (x < y ? -1 : x > y ? 1 : 0) * (sortUp ? 1 : -1); });
    var body = document.createElement("tbody");
    rows.forEach(function (f) {
      var row = document.createElement("tr");
      var shown = f.path + (f.link_target !== undefined ? " -> " + f.link_target : "") + (f.hardlink_to !== undefined ? " (hard link to " + f.hardlink_to + ")" : "");
      cell(row, shown, "path"); cell(row, f.type); cell(row, f.type === "regular" ? f.size : "", "num");
      cell(row, f.tests.join(", "));
      var more = f.reasons.length > 1 ? " (+" + (f.reasons.length - 1) + " more)" : "";
      cell(row, (f.reasons.length ? f.reasons[0] : "") + more).title = f.reasons.join("\n");
      body.appendChild(row);
    });
    var table = byId("files");
    table.replaceChild(body, table.tBodies[0]);
    byId("file-count").textContent = rows.length + " of " + data.files.length + " entries";
    renderProcesses();
  }
  Array.prototype.forEach.call(document.querySelectorAll("#files th.sortable"), function (th) {
    th.addEventListener("click", function () {
      var key = th.getAttribute("data-key");
      sortUp = key === sortKey ? !sortUp : true;
      sortKey = key;
      renderFiles();
    });
  });
  byId("file-filter").addEventListener("input", renderFiles);
  testFilter.addEventListener("change", renderFiles);

  // Process tree: who executed what, with arguments and exit status.
  function describe(p) {
    var what = p.execs.length ? p.execs.map(function (e) { return e.argv.join(" ") + "  [" + e.path + "]"; }).join("  then  ") : "(no exec)";
    var end = !p.exited ? "still running at the end of the trace" : p.signal ? "killed by signal " + p.signal : "exit " + p.exit_code;
    return "pid " + p.pid + " (" + p.test + "): " + what + " → " + end;
  }
  function renderProcesses() {
    var holder = byId("process-tree"), test = testFilter.value;
    while (holder.firstChild) holder.removeChild(holder.firstChild);
    if (data.input.kind !== "trace") { holder.appendChild(text("A bundle does not record processes: report on a trace to see them.")); holder.className = "muted"; return; }
    var children = {}, ids = {};
    data.processes.forEach(function (p) { ids[p.id] = true; (children[p.parent] = children[p.parent] || []).push(p); });
    function item(p) {
      var li = document.createElement("li"), span = document.createElement("span");
      if (p.exited && (p.signal || p.exit_code)) span.className = "failed";
      span.appendChild(text(describe(p)));
      li.appendChild(span);
      if (children[p.id]) {
        var ul = document.createElement("ul");
        ul.className = "tree";
        children[p.id].forEach(function (c) { ul.appendChild(item(c)); });
        li.appendChild(ul);
      }
      return li;
    }
    var ul = document.createElement("ul");
    ul.className = "tree";
    data.processes.filter(function (p) { return !ids[p.parent] && (!test || p.test === test); })
        .forEach(function (p) { ul.appendChild(item(p)); });
    holder.appendChild(ul);
    holder.setAttribute("data-processes", holder.querySelectorAll("li").length);
  }
  renderFiles();
  document.body.setAttribute("data-rendered", "yes");
})();
)js";

// ---------------------------------------------------------------------------
// The build's line

std::string files_count(std::uint64_t n) { return std::to_string(n) + (n == 1 ? " file" : " files"); }

/// "'a'", "'a' and 'b'", "'a', 'b' and 'c'", "'a', 'b', 'c' and 2 more".
std::string quoted_list(const std::vector<std::string>& names) {
  constexpr std::size_t kShown = 3;
  std::vector<std::string> shown;
  for (std::size_t i = 0; i < names.size() && i < kShown; ++i) shown.push_back("'" + names[i] + "'");
  if (names.size() > kShown) shown.push_back(std::to_string(names.size() - kShown) + " more");
  std::string out;
  for (std::size_t i = 0; i < shown.size(); ++i) out += (i == 0 ? "" : i + 1 == shown.size() ? " and " : ", ") + shown[i];
  return out;
}

/// "'slow' alone brought 12 files (1.2 MiB)", the test with the most files of
/// its own named, then how much the others brought alone.
std::string own_files_part(std::vector<const ReportTest*> bringing) {
  std::stable_sort(bringing.begin(), bringing.end(), [](const ReportTest* a, const ReportTest* b) {
    return std::tie(b->only_files, b->only_bytes) < std::tie(a->only_files, a->only_bytes);  // most first; the tests come sorted by name
  });
  const ReportTest& top = *bringing.front();
  std::string out = "'" + top.name + "' alone brought " + files_count(*top.only_files) + " (" + human(*top.only_bytes) + ")";
  if (bringing.size() == 1) return out;
  std::uint64_t files = 0, bytes = 0;
  for (std::size_t i = 1; i < bringing.size(); ++i) files += *bringing[i]->only_files, bytes += *bringing[i]->only_bytes;
  std::size_t others = bringing.size() - 1;
  return out + ", " + std::to_string(others) + (others == 1 ? " other test " : " other tests ") + files_count(files) + " (" + human(bytes) +
         ")";
}

}  // namespace

std::string test_contributions_line(const std::vector<ReportTest>& tests) {
  std::string out = "tests: " + std::to_string(tests.size());
  if (tests.empty()) return out;
  if (tests.size() == 1) return out + "; it used " + files_count(tests[0].files) + " (" + human(tests[0].bytes) + ")";
  auto [fewest, most] =
      std::minmax_element(tests.begin(), tests.end(), [](const ReportTest& a, const ReportTest& b) { return a.files < b.files; });
  out += "; each used " +
         (fewest->files == most->files ? files_count(most->files) : std::to_string(fewest->files) + "–" + files_count(most->files));
  std::vector<const ReportTest*> bringing;
  std::vector<std::string> redundant;
  for (const ReportTest& t : tests) {
    if (t.only_files.value_or(0) > 0)
      bringing.push_back(&t);
    else
      redundant.push_back(t.name);
  }
  if (bringing.empty()) return out + "; no test brought a file of its own";
  out += "; " + own_files_part(bringing);
  if (redundant.empty()) return out;
  return out + "; " + quoted_list(redundant) + " brought nothing of " + (redundant.size() == 1 ? "its" : "their") + " own";
}

std::string render_json(const BundleReport& report) {
  return report_json(report).dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::string render_text(const BundleReport& report, bool color, bool all_candidates) {
  TextWriter w(color);
  text_totals(w, report);
  text_directories(w, report);
  text_packages(w, report);
  text_tests(w, report);
  text_exclusions(w, report);
  text_candidates(w, report, all_candidates);
  return w.take();
}

std::string render_html(const BundleReport& report) {
  std::string out(kHtmlHead);
  out += "<script>\n";
  out.append(reinterpret_cast<const char*>(kD3Js), kD3Js_size);
  out += "\n</script>\n<script type=\"application/json\" id=\"report-data\">";
  out += script_safe_json(report_json(report));
  out += "</script>\n<script>";
  out += kHtmlScript;
  out += "</script>\n</body>\n</html>\n";
  return out;
}

}  // namespace tracepack

// Unit tests of the bundle report: plain data in (a plan and its trace, or a
// bundle's contents), BundleReport and its renderings out. No processes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tracepack/report.h"

namespace tracepack {
namespace {

namespace fs = std::filesystem;

const ReportOptions kNoHost{"/nonexistent/dpkg", "/nonexistent"};

PlanReason traced(const std::string& test, std::uint64_t process) {
  PlanReason r;
  r.source = PlanReason::Source::traced;
  r.test = test;
  r.process = process;
  r.detail = "test '" + test + "', openat";
  return r;
}

PlanEntry entry(const PathBytes& path, EntryType type, std::uint64_t size = 0, std::vector<PlanReason> reasons = {}) {
  PlanEntry e;
  e.path = path;
  e.type = type;
  e.size = size;
  e.mode = type == EntryType::directory ? 0755 : 0644;
  e.reasons = std::move(reasons);
  return e;
}

/// A plan with every kind of entry: "/" (no archive member), two directories,
/// three regular files (one of them used by two tests), a hard link and a symlink.
BundlePlan sample_plan() {
  BundlePlan plan;
  plan.entries.push_back(entry("/", EntryType::directory));
  plan.entries.push_back(entry("/usr", EntryType::directory));
  plan.entries.push_back(entry("/usr/lib", EntryType::directory));
  plan.entries.push_back(entry("/usr/lib/big.so", EntryType::regular, 5000, {traced("one", 1), traced("two", 3)}));
  plan.entries.push_back(entry("/usr/lib/small.so", EntryType::regular, 100, {traced("one", 2)}));
  plan.entries.push_back(entry("/usr/data", EntryType::regular, 700, {traced("two", 3)}));
  PlanEntry link = entry("/usr/lib/big-again.so", EntryType::regular, 5000, {traced("one", 1)});
  link.hardlink_to = "/usr/lib/big.so";
  plan.entries.push_back(link);
  PlanEntry symlink = entry("/usr/lib/current.so", EntryType::symlink);
  symlink.link_target = "big.so";
  plan.entries.push_back(symlink);
  ExclusionReason proc{.cause = ExclusionCause::pseudo_file_system, .subject = "/proc"};
  plan.excluded = {
      {.path = "/proc/self/maps", .reason = proc},
      {.path = "/etc/missing", .reason = {.cause = ExclusionCause::lookup_failed, .subject = "one", .detail = "No such file or directory"}},
      {.path = "/proc/cpuinfo", .reason = proc}};
  plan.warnings = {"spec.yaml:3:5: include rule '/opt/**' matches nothing"};
  return plan;
}

Process process(std::uint64_t id, std::uint64_t parent, const std::string& test, int exit_code, int signal = 0) {
  Process p;
  p.id = id;
  p.pid = static_cast<int>(100 + id);
  p.parent = parent;
  p.test = test;
  p.exited = true;
  p.exit_code = exit_code;
  p.signal = signal;
  Exec e;
  e.path = "/usr/bin/prog" + std::to_string(id);
  e.argv = {"prog" + std::to_string(id), "--flag"};
  p.execs.push_back(e);
  return p;
}

Trace sample_trace() {
  Trace t;
  t.run.label = "merged";
  t.processes = {process(1, 0, "one", 0), process(2, 1, "one", 3), process(3, 0, "two", 0, 9)};
  t.warnings.push_back({2, "io_uring: accesses not seen"});
  return t;
}

TEST(ReportPlan, TotalsCountEntriesLikeTheArchiveWriter) {
  BundleReport r = report_plan(sample_plan(), sample_trace(), kNoHost);
  EXPECT_EQ(r.totals.files, 3u);
  EXPECT_EQ(r.totals.hardlinks, 1u);
  EXPECT_EQ(r.totals.directories, 2u);  // "/" is not a member of any archive
  EXPECT_EQ(r.totals.symlinks, 1u);
  EXPECT_EQ(r.totals.bytes, 5800u);  // the hard link's bytes are not counted again
  ASSERT_TRUE(r.totals.processes.has_value());
  EXPECT_EQ(*r.totals.processes, 3u);
  EXPECT_EQ(r.totals.tests, 2u);
  EXPECT_EQ(r.files.size(), 8u);
  EXPECT_EQ(r.input_kind, "trace");
}

TEST(ReportPlan, TestsCarryProcessesExitStatusFilesAndBytes) {
  BundleReport r = report_plan(sample_plan(), sample_trace(), kNoHost);
  ASSERT_EQ(r.tests.size(), 2u);
  const ReportTest& one = r.tests[0];
  EXPECT_EQ(one.name, "one");
  EXPECT_EQ(one.processes, std::optional<std::uint64_t>(2));
  EXPECT_EQ(one.exit_code, std::optional<int>(0));  // its first process, not the failing child
  EXPECT_EQ(one.files, 3u);                         // big.so, small.so and the hard link
  EXPECT_EQ(one.bytes, 10100u);
  const ReportTest& two = r.tests[1];
  EXPECT_EQ(two.signal, std::optional<int>(9));
  EXPECT_FALSE(two.exit_code.has_value());
  EXPECT_EQ(two.files, 2u);
  EXPECT_EQ(two.bytes, 5700u);
}

// Only "one" used small.so and the hard link, only "two" /usr/data; both big.so.
TEST(ReportPlan, TestsCountTheFilesNoOtherTestUsed) {
  BundleReport r = report_plan(sample_plan(), sample_trace(), kNoHost);
  ASSERT_EQ(r.tests.size(), 2u);
  EXPECT_EQ(r.tests[0].only_files, std::optional<std::uint64_t>(2));
  EXPECT_EQ(r.tests[0].only_bytes, std::optional<std::uint64_t>(5100));
  EXPECT_EQ(r.tests[1].only_files, std::optional<std::uint64_t>(1));
  EXPECT_EQ(r.tests[1].only_bytes, std::optional<std::uint64_t>(700));
}

// An entry's tests beyond the ones its (capped) reasons name are counted:
// big.so was also used by "three", so "one" is not its only user, and
// "three", which used nothing else, brought nothing of its own.
TEST(ReportPlan, TestsBeyondTheReasonsCapAreCounted) {
  BundlePlan plan = sample_plan();
  plan.entries[3].tests = {"one", "three", "two"};
  plan.entries[6].tests = {"one", "three"};  // the hard link to big.so
  plan.tests = {"one", "three", "two"};
  std::vector<ReportTest> tests = test_contributions(plan);
  ASSERT_EQ(tests.size(), 3u);
  EXPECT_EQ(tests[1].name, "three");
  EXPECT_EQ(tests[1].files, 2u);
  EXPECT_EQ(tests[1].bytes, 10000u);
  EXPECT_EQ(tests[1].only_files, std::optional<std::uint64_t>(0));
  EXPECT_EQ(tests[0].only_files, std::optional<std::uint64_t>(1));  // small.so
  EXPECT_EQ(tests[0].only_bytes, std::optional<std::uint64_t>(100));
  BundleReport r = report_plan(plan, sample_trace(), kNoHost);
  ASSERT_EQ(r.tests.size(), 3u);
  EXPECT_EQ(r.tests[1].files, 2u);
  EXPECT_EQ(r.tests[0].only_files, std::optional<std::uint64_t>(1));
}

// A file only a rule brought counts for no test; a test that used no file is listed with zeros.
TEST(TestContributions, RuleOnlyFilesCountForNoTest) {
  BundlePlan plan;
  PlanEntry ruled = entry("/etc/ruled", EntryType::regular, 42);
  ruled.reasons.push_back({.source = PlanReason::Source::rule, .detail = "included by rule '/etc/ruled' (spec.yaml:4:5)"});
  plan.entries.push_back(ruled);
  plan.entries.push_back(entry("/etc/used", EntryType::regular, 8, {traced("a", 1)}));
  plan.tests = {"a", "idle"};
  std::vector<ReportTest> tests = test_contributions(plan);
  ASSERT_EQ(tests.size(), 2u);
  EXPECT_EQ(tests[0].files, 1u);
  EXPECT_EQ(tests[0].bytes, 8u);
  EXPECT_EQ(tests[0].only_files, std::optional<std::uint64_t>(1));
  EXPECT_EQ(tests[1].name, "idle");
  EXPECT_EQ(tests[1].files, 0u);
  EXPECT_EQ(tests[1].only_files, std::optional<std::uint64_t>(0));
}

ReportTest share(const std::string& name, std::uint64_t files, std::uint64_t only_files, std::uint64_t only_bytes) {
  ReportTest t;
  t.name = name;
  t.files = files;
  t.bytes = files * 100;
  t.only_files = only_files;
  t.only_bytes = only_bytes;
  return t;
}

TEST(TestContributionsLine, NamesTheTestWithMostFilesOfItsOwnAndTheRedundantOnes) {
  EXPECT_EQ(test_contributions_line({share("fast", 120, 0, 0), share("slow-path", 340, 12, 1258291), share("smoke", 200, 0, 0)}),
            "tests: 3; each used 120–340 files; 'slow-path' alone brought 12 files (1.2 MiB); 'fast' and 'smoke' brought nothing of "
            "their own");
  // Ties on files go to more bytes, then to the first name.
  EXPECT_EQ(test_contributions_line({share("a", 10, 2, 50), share("b", 10, 2, 70), share("c", 10, 1, 10), share("d", 10, 0, 0)}),
            "tests: 4; each used 10 files; 'b' alone brought 2 files (70 B), 2 other tests 3 files (60 B); 'd' brought nothing of its own");
  EXPECT_EQ(test_contributions_line({share("a", 5, 1, 9), share("b", 5, 1, 9)}),
            "tests: 2; each used 5 files; 'a' alone brought 1 file (9 B), 1 other test 1 file (9 B)");
  EXPECT_EQ(test_contributions_line({share("a", 5, 0, 0), share("b", 5, 0, 0)}),
            "tests: 2; each used 5 files; no test brought a file of its own");
  EXPECT_EQ(test_contributions_line({share("x", 9, 4, 1), share("a", 1, 0, 0), share("b", 1, 0, 0), share("c", 1, 0, 0),
                                     share("d", 1, 0, 0), share("e", 1, 0, 0)}),
            "tests: 6; each used 1–9 files; 'x' alone brought 4 files (1 B); 'a', 'b', 'c' and 2 more brought nothing of their own");
  EXPECT_EQ(test_contributions_line({share("only", 1, 1, 100)}), "tests: 1; it used 1 file (100 B)");
  EXPECT_EQ(test_contributions_line({}), "tests: 0");
}

TEST(ReportPlan, ExclusionsAreCountedByReasonAndFailedLookupsListed) {
  BundleReport r = report_plan(sample_plan(), sample_trace(), kNoHost);
  ASSERT_EQ(r.excluded_by_reason.size(), 2u);
  EXPECT_EQ(r.excluded_by_reason[0].reason, "/proc");
  EXPECT_EQ(r.excluded_by_reason[0].count, 2u);
  EXPECT_EQ(r.excluded_by_reason[1].reason, "lookup failed in test 'one'");
  ASSERT_EQ(r.failed_lookups.size(), 1u);
  EXPECT_EQ(r.failed_lookups[0].path, "/etc/missing");
  EXPECT_EQ(r.totals.excluded, 3u);
  EXPECT_EQ(r.totals.failed_lookups, 1u);
  // The plan's warning, then the trace's.
  ASSERT_EQ(r.warnings.size(), 2u);
  EXPECT_EQ(r.warnings[1], "trace: io_uring: accesses not seen");
}

TEST(ReportPlan, LargestDirectoriesCountTheirOwnFilesBiggestFirst) {
  BundleReport r = report_plan(sample_plan(), sample_trace(), kNoHost);
  ASSERT_EQ(r.largest_directories.size(), 2u);
  EXPECT_EQ(r.largest_directories[0].path, "/usr/lib");
  EXPECT_EQ(r.largest_directories[0].files, 2u);
  EXPECT_EQ(r.largest_directories[0].bytes, 5100u);
  EXPECT_EQ(r.largest_directories[1].path, "/usr");
  EXPECT_EQ(r.largest_directories[1].bytes, 700u);
}

TEST(ReportPlan, ProcessesKeepParentsArgumentsAndStatus) {
  BundleReport r = report_plan(sample_plan(), sample_trace(), kNoHost);
  ASSERT_EQ(r.processes.size(), 3u);
  EXPECT_EQ(r.processes[1].parent, 1u);
  EXPECT_EQ(r.processes[1].exit_code, 3);
  ASSERT_EQ(r.processes[1].execs.size(), 1u);
  EXPECT_EQ(r.processes[1].execs[0].argv, (std::vector<PathBytes>{"prog2", "--flag"}));
}

// ---------------------------------------------------------------------------
// Bundles

BundleContents sample_contents() {
  BundleContents c;
  c.format = "tar";
  c.manifest.bundle = "demo";
  auto add = [&](const PathBytes& path, EntryType type, std::uint64_t size) {
    ManifestEntry m;
    m.path = path;
    m.type = type;
    m.size = size;
    m.tests = {"greet"};
    c.manifest.entries.push_back(m);
    BundleEntry e;
    e.path = path;
    e.type = type;
    e.size = size;
    c.entries.push_back(e);
  };
  add("/usr", EntryType::directory, 0);
  add("/usr/a", EntryType::regular, 10);
  add("/usr/b", EntryType::regular, 20);
  c.manifest.excluded = {{.path = "/etc/nope", .reason = parse_exclusion("lookup failed in test 'greet': No such file or directory")}};
  c.warnings = {"a warning"};
  return c;
}

TEST(ReportContents, AgreeingBundleHasNoWarningsOfItsOwn) {
  BundleReport r = report_contents(sample_contents(), kNoHost);
  EXPECT_EQ(r.warnings, std::vector<std::string>{"a warning"});
  EXPECT_EQ(r.totals.files, 2u);
  EXPECT_EQ(r.totals.bytes, 30u);
  EXPECT_FALSE(r.totals.processes.has_value());
  ASSERT_EQ(r.tests.size(), 1u);
  EXPECT_EQ(r.tests[0].files, 2u);
  EXPECT_FALSE(r.tests[0].processes.has_value());
  EXPECT_EQ(r.failed_lookups.size(), 1u);
}

// A manifest with its list of tests: each one is reported, even one that
// used no entry, with what no other test used. An older manifest, without
// the list: the tests its entries name, what only they used unknown.
TEST(ReportContents, ManifestTestsGiveWhatEachTestAloneUsed) {
  BundleContents c = sample_contents();
  c.manifest.entries[2].tests = {"greet", "other"};  // /usr/b
  c.manifest.tests = {"greet", "idle", "other"};
  BundleReport r = report_contents(c, kNoHost);
  EXPECT_TRUE(r.tests_complete);
  ASSERT_EQ(r.tests.size(), 3u);
  EXPECT_EQ(r.tests[0].only_files, std::optional<std::uint64_t>(1));
  EXPECT_EQ(r.tests[0].only_bytes, std::optional<std::uint64_t>(10));
  EXPECT_EQ(r.tests[1].name, "idle");
  EXPECT_EQ(r.tests[1].only_files, std::optional<std::uint64_t>(0));
  EXPECT_EQ(r.tests[2].files, 1u);
  EXPECT_EQ(r.tests[2].only_files, std::optional<std::uint64_t>(0));
  c.manifest.tests.reset();
  BundleReport older = report_contents(c, kNoHost);
  EXPECT_FALSE(older.tests_complete);
  ASSERT_EQ(older.tests.size(), 2u);
  EXPECT_EQ(older.tests[0].files, 2u);
  EXPECT_FALSE(older.tests[0].only_files.has_value());
  nlohmann::json j = nlohmann::json::parse(render_json(older));
  EXPECT_TRUE(j["tests"][0]["only_files"].is_null());
  EXPECT_TRUE(j["tests"][0]["only_bytes"].is_null());
}

TEST(ReportContents, EveryDisagreementWithTheManifestIsAWarning) {
  BundleContents c = sample_contents();
  c.entries[1].size = 11;                  // /usr/a
  c.entries.erase(c.entries.begin() + 2);  // /usr/b
  BundleEntry extra;
  extra.path = "/usr/c";
  c.entries.push_back(extra);
  BundleReport r = report_contents(c, kNoHost);
  EXPECT_EQ(r.warnings, (std::vector<std::string>{
                            "a warning",
                            "bundle: /usr/a: 11 bytes in the bundle, 10 in the manifest",
                            "bundle: /usr/b: in the manifest but not in the bundle",
                            "bundle: /usr/c: in the bundle but not in the manifest",
                        }));
}

// ---------------------------------------------------------------------------
// Python distributions

TEST(DistributionUsage, ReadsRecordRowsRelativeToTheSiteDirectory) {
  fs::path root = fs::temp_directory_path() / ("tracepack-report-test-" + std::to_string(getpid()));
  fs::path dist = root / "usr/lib/python3/dist-packages/Foo_Bar-1.2.dist-info";
  fs::create_directories(dist);
  std::ofstream(dist / "RECORD") << "foo/__init__.py,sha256=abc,120\n"
                                    "\"foo/a,b.py\",sha256=def,30\n"
                                    "../../../bin/foo,sha256=ghi,50\n"
                                    "Foo_Bar-1.2.dist-info/RECORD,,\n";
  std::vector<ReportFile> files = {
      {"/usr/lib/python3/dist-packages/foo/__init__.py", EntryType::regular, 125, 0644, {}, {}, {}, {}},
      {"/usr/lib/python3/dist-packages/foo/a,b.py", EntryType::regular, 30, 0644, {}, {}, {}, {}},
      {"/usr/bin/foo", EntryType::regular, 50, 0755, {}, {}, {}, {}},
  };
  std::vector<DistributionUsage> usage = distribution_usage(files, root.string());
  fs::remove_all(root);
  ASSERT_EQ(usage.size(), 1u);
  EXPECT_EQ(usage[0].name, "Foo_Bar");
  EXPECT_EQ(usage[0].version, "1.2");
  EXPECT_EQ(usage[0].files_installed, 4u);
  EXPECT_EQ(usage[0].bytes_installed, 200u);
  EXPECT_EQ(usage[0].files_used, 3u);
  EXPECT_EQ(usage[0].bytes_used, 205u);  // the bundle's sizes, not RECORD's
}

// ---------------------------------------------------------------------------
// Rendering

TEST(RenderJson, HasASignatureAndEncodesPathBytes) {
  BundlePlan plan = sample_plan();
  plan.entries.push_back(entry("/usr/r\xE9sum\xE9 100%", EntryType::regular, 1, {traced("one", 1)}));
  nlohmann::json j = nlohmann::json::parse(render_json(report_plan(plan, sample_trace(), kNoHost)));
  EXPECT_EQ(j["format"], "tracepack-report");
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["totals"]["files"], 4);
  bool found = false;
  for (const auto& f : j["files"]) found = found || f["path"] == "/usr/r%E9sum%E9 100%25";
  EXPECT_TRUE(found);
  EXPECT_EQ(j["processes"][1]["execs"][0]["argv"][1], "--flag");
}

TEST(ReportPlan, HostSpecificFindingsAreRenderedInEveryFormat) {
  BundlePlan plan = sample_plan();
  plan.host_specific = {{"/etc/hostname", "this host's name", "- /etc/hostname"}};
  BundleReport r = report_plan(plan, sample_trace(), kNoHost);
  EXPECT_EQ(r.totals.host_specific, 1u);
  nlohmann::json j = nlohmann::json::parse(render_json(r));
  EXPECT_EQ(j["totals"]["host_specific"], 1);
  EXPECT_EQ(j["host_specific"],
            nlohmann::json::parse(R"([{"path": "/etc/hostname", "why": "this host's name", "exclude_line": "- /etc/hostname"}])"));
  EXPECT_NE(render_text(r, false).find("Host-specific: review (1)\n"
                                       "  /etc/hostname: this host's name  (to leave it out, exclude: - /etc/hostname)\n"),
            std::string::npos)
      << render_text(r, false);
  std::string html = render_html(r);
  EXPECT_NE(html.find("<table id=\"host-specific\">"), std::string::npos);
  EXPECT_NE(html.find("\"exclude_line\":\"- /etc/hostname\""), std::string::npos);
}

TEST(ReportContents, HostSpecificEntriesOfABundleUnlessIncludedByARule) {
  BundleContents c = sample_contents();
  ManifestEntry hostname;
  hostname.path = "/etc/hostname";
  hostname.type = EntryType::regular;
  hostname.reasons = {"test 'greet', cat, openat"};
  ManifestEntry gitconfig;
  gitconfig.path = "/root/.gitconfig";
  gitconfig.type = EntryType::regular;
  gitconfig.reasons = {"included by rule '/root/.gitconfig' (spec.yaml:4:5)"};
  c.manifest.entries.push_back(hostname);
  c.manifest.entries.push_back(gitconfig);
  BundleReport r = report_contents(c, kNoHost);
  ASSERT_EQ(r.host_specific.size(), 1u);
  EXPECT_EQ(r.host_specific[0].path, "/etc/hostname");
  EXPECT_EQ(r.host_specific[0].exclude_line, "- /etc/hostname");
}

TEST(RenderJson, ProcessesOfABundleAreNull) {
  nlohmann::json j = nlohmann::json::parse(render_json(report_contents(sample_contents(), kNoHost)));
  EXPECT_TRUE(j["totals"]["processes"].is_null());
  EXPECT_TRUE(j["tests"][0]["processes"].is_null());
  EXPECT_EQ(j["input"]["kind"], "bundle");
}

TEST(RenderHtml, NoPathCanCloseTheDataScript) {
  BundlePlan plan = sample_plan();
  std::string hostile = "/usr/</script><img src=x onerror=alert(1)>&amp;";
  plan.entries.push_back(entry(hostile, EntryType::regular, 1, {traced("one", 1)}));
  std::string html = render_html(report_plan(plan, sample_trace(), kNoHost));
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("&amp;"), std::string::npos);
  // Exactly three scripts close: d3, the data, the page's own.
  std::size_t closes = 0;
  for (std::size_t at = html.find("</script"); at != std::string::npos; at = html.find("</script", at + 1)) ++closes;
  EXPECT_EQ(closes, 3u);
  EXPECT_NE(html.find("\\u003c/script\\u003e\\u003cimg"), std::string::npos);
  EXPECT_NE(html.find("d3.layout"), std::string::npos);  // d3 is embedded, not linked
  EXPECT_EQ(html.find("src=\"http"), std::string::npos);
}

TEST(RenderText, ColorOnlyWhenAsked) {
  BundleReport r = report_plan(sample_plan(), sample_trace(), kNoHost);
  std::string plain = render_text(r, false);
  EXPECT_EQ(plain.find('\033'), std::string::npos);
  EXPECT_NE(plain.find("files          3 (5.7 KiB, 5800 bytes)"), std::string::npos) << plain;
  EXPECT_NE(plain.find("     2  /proc\n"), std::string::npos) << plain;
  // One file is a file; the columns after the word line up either way.
  EXPECT_NE(plain.find("     5.0 KiB       2 files  /usr/lib\n"), std::string::npos) << plain;
  EXPECT_NE(plain.find("       700 B       1 file   /usr\n"), std::string::npos) << plain;
  EXPECT_NE(plain.find("/etc/missing  (No such file or directory)"), std::string::npos);
  EXPECT_NE(render_text(r, true).find("\033[1m"), std::string::npos);
}

}  // namespace
}  // namespace tracepack

// End-to-end tests of `tracepack report`, run as a child process on the demo
// application (fixtures/specs/demo.yaml), traced once for the whole suite.
//
// The invariant is checked with real clients: for a bundle in every format,
// the report's counts and byte totals equal those of the archive as GNU tar
// and bsdtar list it (a directory bundle: as the file system holds it) and
// those of its manifest. The HTML report is opened in headless Chromium
// (Debian's chromium) and the numbers its script put in the page are compared
// with the JSON report. Error messages are compared byte for byte.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli_test_util.h"
#include "tracepack/plan.h"

namespace tracepack {
namespace {

namespace fs = std::filesystem;
using namespace cli_test;

const std::string kSpecs = FIXTURE_SRC_DIR "/specs";
const std::string kDemoDir = FIXTURE_BIN_DIR "/demo";

// ---------------------------------------------------------------------------
// The demo, traced once

/// The demo's spec (cwd pointed at this build's demo, zstd at its default
/// level) and its trace, made by `tracepack build` once for every test.
class Demo {
 public:
  static const Demo& get() {
    static std::unique_ptr<Demo> demo(new Demo());
    return *demo;
  }
  std::string spec() const { return dir_ / "tracepack.yaml"; }
  std::string trace() const { return dir_ / "traces/greet.jsonl"; }
  const TempDir& dir() const { return dir_; }

  /// The demo packed in `format` (once per format).
  std::string bundle(const std::string& format) const {
    std::string out = dir_ / ("demo." + format);
    if (!fs::exists(out)) {
      RunResult r = tracepack({"pack", trace(), "--spec", spec(), "-o", out, "-f", format});
      if (r.exit_code != 0) throw std::runtime_error("pack -f " + format + " failed: " + r.err);
    }
    return out;
  }

 private:
  Demo() {
    if (access((kDemoDir + "/greet").c_str(), X_OK) != 0)
      throw std::runtime_error(kDemoDir + "/greet: not built (build the demo_app target)");
    std::string text = read_file(kSpecs + "/demo.yaml");
    replace(text, "cwd: ../../build/fixtures/demo", "cwd: " + kDemoDir);
    replace(text, "compression: 19", "compression: 3");
    write_file(spec(), text);
    RunResult r = tracepack({"build", spec(), "--traces", dir_ / "traces", "-o", dir_ / "built.tar"});
    if (r.exit_code != 0) throw std::runtime_error("build of the demo failed: " + r.err);
  }
  static void replace(std::string& text, const std::string& from, const std::string& to) {
    std::size_t at = text.find(from);
    if (at == std::string::npos) throw std::runtime_error("demo.yaml has no '" + from + "'");
    text.replace(at, from.size(), to);
  }
  TempDir dir_;
};

// ---------------------------------------------------------------------------
// Counting what a bundle holds, with the clients

bool is_manifest_member(std::string name) {
  while (name.starts_with("./")) name.erase(0, 2);
  while (!name.empty() && name.back() == '/') name.pop_back();
  return name == ".tracepack" || name == ".tracepack/manifest.json" || name.empty() || name == ".";
}

/// Counts a verbose listing: `type_and_mode` is the column of "-rw-r--r--",
/// `size` the column of the byte count; the name is everything after column `name`.
Counts count_listing(const std::string& listing, std::size_t size, std::size_t name) {
  Counts c;
  std::istringstream lines(listing);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream in(line);
    std::vector<std::string> columns;
    for (std::string word; columns.size() < name && in >> word;) columns.push_back(word);
    std::string rest;
    std::getline(in, rest);
    rest.erase(0, rest.find_first_not_of(' '));
    std::string member = rest.substr(0, rest.find(" link to ")).substr(0, rest.find(" -> "));
    if (columns.size() < name || is_manifest_member(member)) continue;
    char type = columns[0][0];
    if (type == 'd')
      ++c.directories;
    else if (type == 'l')
      ++c.symlinks;
    else if (type == 'h')
      ++c.hardlinks;
    else if (type == '-') {
      ++c.files;
      c.bytes += std::stoull(columns[size]);
    }
  }
  return c;
}

Counts count_directory(const std::string& root) {
  Counts c;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    std::string relative = fs::relative(e.path(), root).string();
    if (is_manifest_member(relative)) continue;
    if (e.is_symlink())
      ++c.symlinks;
    else if (e.is_directory())
      ++c.directories;
    else if (e.is_regular_file()) {
      ++c.files;
      c.bytes += e.file_size();
    }
  }
  return c;
}

// ---------------------------------------------------------------------------
// The invariant, in every format

class ReportFormat : public ::testing::TestWithParam<std::string> {};

TEST_P(ReportFormat, TotalsEqualTheArchiveAndTheManifest) {
  const std::string format = GetParam();
  std::string bundle = Demo::get().bundle(format);
  Json report = report_json(bundle);
  EXPECT_EQ(report["input"]["format"], format);
  Counts reported = counts_of(report);
  EXPECT_GT(reported.files, 10u);
  EXPECT_EQ(reported, count_manifest(manifest_of(bundle, format)));
  if (format == "dir") {
    EXPECT_EQ(reported, count_directory(bundle));
    return;
  }
  // bsdtar -tv: mode, links, owner, group, size, month, day, time|year, name.
  RunResult bsdtar = run({"bsdtar", "-tvf", bundle});
  ASSERT_EQ(bsdtar.exit_code, 0) << bsdtar.err;
  EXPECT_EQ(reported, count_listing(bsdtar.out, 4, 8)) << "bsdtar -tvf " << bundle;
  if (format.starts_with("tar")) {
    // GNU tar -tv: mode, owner/group, size, date, time, name.
    RunResult tar = run({"tar", "-tvf", bundle});
    ASSERT_EQ(tar.exit_code, 0) << tar.err;
    EXPECT_EQ(reported, count_listing(tar.out, 2, 5)) << "tar -tvf " << bundle;
  }
  EXPECT_TRUE(report["warnings"].empty()) << report["warnings"].dump();
}

INSTANTIATE_TEST_SUITE_P(Formats, ReportFormat, ::testing::Values("dir", "tar", "tar.gz", "tar.zst", "tar.xz", "zip", "cpio"),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           std::string name = param.param;
                           for (char& c : name)
                             if (c == '.') c = '_';
                           return name;
                         });

// A hand-made bundle with a hard link, as a directory and as tar and cpio
// archives written by bsdtar: the link is counted once, its bytes not again.
TEST(ReportCli, HardLinksAreCountedOnceInEveryFormat) {
  TempDir dir;
  std::string root = dir / "bundle";
  fs::create_directories(root + "/data");
  fs::create_directories(root + "/.tracepack");
  write_file(root + "/data/a.bin", "0123456789");
  fs::create_hard_link(root + "/data/a.bin", root + "/data/b.bin");
  write_file(root + "/.tracepack/manifest.json", R"({"format": "tracepack-manifest", "version": 1, "bundle": "links",
    "entries": [{"path": "/data", "type": "directory", "size": 0, "mode": 493, "reasons": []},
                {"path": "/data/a.bin", "type": "regular", "size": 10, "mode": 420, "reasons": []},
                {"path": "/data/b.bin", "type": "regular", "size": 10, "mode": 420, "hardlink_to": "/data/a.bin", "reasons": []}]})");
  std::vector<std::string> bundles = {root};
  for (const char* format : {"ustar", "newc"}) {
    std::string archive = dir / (std::string("links.") + format);
    RunResult made = run({"bsdtar", "-cf", archive, "--format", format, "-C", root, "."});
    ASSERT_EQ(made.exit_code, 0) << made.err;
    bundles.push_back(archive);
  }
  for (const std::string& bundle : bundles) {
    Json report = report_json(bundle);
    EXPECT_EQ(counts_of(report), (Counts{1, 1, 1, 0, 10})) << bundle;
    EXPECT_TRUE(report["warnings"].empty()) << bundle << ": " << report["warnings"].dump();
  }
}

TEST(ReportCli, TraceWithSpecReportsTheFilesOfItsBundle) {
  Json from_trace = report_json(Demo::get().trace(), {"--spec", Demo::get().spec()});
  Json from_bundle = report_json(Demo::get().bundle("tar.zst"));
  EXPECT_EQ(from_trace["input"]["kind"], "trace");
  EXPECT_EQ(counts_of(from_trace), counts_of(from_bundle));
  // The manifest carries the exclusions and each entry's tests, so a bundle
  // reports them too; all but those in /proc, /sys, /dev, /run, /tmp and
  // /var/tmp, which differ from run to run.
  auto outside_pseudo_roots = [](const Json& list) {
    std::size_t n = 0;
    for (const Json& x : list) {
      std::string path = x["path"].get<std::string>();
      n += pseudo_root(path).empty() && scratch_root(path).empty() ? 1 : 0;
    }
    return n;
  };
  EXPECT_GT(from_bundle["totals"]["excluded"].get<int>(), 0);
  EXPECT_LT(from_bundle["totals"]["excluded"].get<std::size_t>(), from_trace["totals"]["excluded"].get<std::size_t>());
  EXPECT_EQ(outside_pseudo_roots(from_trace["excluded"]), from_bundle["totals"]["excluded"].get<std::size_t>());
  EXPECT_EQ(outside_pseudo_roots(from_trace["failed_lookups"]), from_bundle["totals"]["failed_lookups"].get<std::size_t>());
  EXPECT_EQ(from_trace["tests"][0]["files"], from_bundle["tests"][0]["files"]);
  std::vector<std::string> trace_paths, bundle_paths;
  for (const Json& f : from_trace["files"]) trace_paths.push_back(f["path"]);
  for (const Json& f : from_bundle["files"]) bundle_paths.push_back(f["path"]);
  EXPECT_EQ(trace_paths, bundle_paths);
  // Only the trace knows its processes: the demo runs a script, a C program and Python.
  EXPECT_GE(from_trace["totals"]["processes"].get<int>(), 3);
  EXPECT_TRUE(from_bundle["totals"]["processes"].is_null());
}

TEST(ReportCli, DemoReportNamesTheDemoFilesAndPackages) {
  Json report = report_json(Demo::get().trace(), {"--spec", Demo::get().spec()});
  bool plugin = false;
  for (const Json& f : report["files"])
    plugin = plugin || (f["path"] == kDemoDir + "/plugins/libdemo-plugin.so" && f["tests"] == Json::array({"greet"}));
  EXPECT_TRUE(plugin);
  bool libc = false;
  for (const Json& p : report["packages"]) libc = libc || p["package"] == "libc6";
  EXPECT_TRUE(libc);
  // The demo's python3 script ends in a process that executed /usr/bin/python3.
  bool python = false;
  for (const Json& p : report["processes"])
    for (const Json& e : p["execs"]) python = python || e["path"].get<std::string>().find("python3") != std::string::npos;
  EXPECT_TRUE(python);
}

// ---------------------------------------------------------------------------
// HTML in a browser

TEST(ReportCli, FormatHtmlRendersInChromiumWithTheJsonNumbers) {
  if (!have_program("chromium")) GTEST_SKIP() << "chromium is not installed (Debian package chromium)";
  const Demo& demo = Demo::get();
  std::string html = demo.dir() / "report.html";
  RunResult r = tracepack({"report", demo.trace(), "--spec", demo.spec(), "--format", "html", "-o", html});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json json = report_json(demo.trace(), {"--spec", demo.spec()});
  RunResult chromium = render_in_chromium(html);
  ASSERT_EQ(chromium.exit_code, 0) << chromium.err;
  const std::string& dom = chromium.out;
  ASSERT_TRUE(std::regex_search(dom, std::regex("<body[^>]*data-rendered=\"yes\""))) << "the page's script did not run to its end";
  const Json& t = json["totals"];
  for (const char* key : {"files", "bytes", "hardlinks", "directories", "symlinks", "processes", "tests", "excluded", "warnings"})
    EXPECT_EQ(element_text(dom, std::string("total-") + key), t[key].dump()) << key;
  EXPECT_EQ(element_text(dom, "total-failed-lookups"), t["failed_lookups"].dump());
  // d3's treemap summed the files' sizes to the total, and every entry and process is listed.
  EXPECT_EQ(attribute(dom, "treemap", "data-bytes"), t["bytes"].dump());
  std::string entries = std::to_string(json["files"].size());
  EXPECT_EQ(element_text(dom, "file-count"), entries + " of " + entries + " entries");
  EXPECT_EQ(attribute(dom, "process-tree", "data-processes"), t["processes"].dump());
  EXPECT_NE(dom.find("libdemo-plugin.so"), std::string::npos);
}

TEST(ReportCli, FormatHtmlShowsHostilePathsAsText) {
  if (!have_program("chromium")) GTEST_SKIP() << "chromium is not installed (Debian package chromium)";
  // Traced in this directory, whose files are then the project's, packed
  // wherever it lies (temporary files elsewhere in /tmp are left out).
  std::string base = REPORT_TMP_DIR "/hostile.XXXXXX";
  ASSERT_NE(mkdtemp(base.data()), nullptr);
  // A path holding "</script><b id=injected>", a stray byte and a quote.
  std::string dir = base + "/<";
  fs::create_directories(dir);
  std::string file = dir + "/script><b id=injected>\"x\xff.txt";
  write_file(file, "data\n");
  std::string trace = base + "/t.jsonl", html = base + "/r.html";
  RunResult traced = tracepack({"trace", "-q", "-o", trace, "--", "cat", file}, {.cwd = base});
  ASSERT_EQ(traced.exit_code, 0) << traced.err;
  RunResult r = tracepack({"report", trace, "--format", "html", "-o", html});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  RunResult chromium = render_in_chromium(html);
  fs::remove_all(base);
  ASSERT_EQ(chromium.exit_code, 0) << chromium.err;
  const std::string& dom = chromium.out;
  EXPECT_TRUE(std::regex_search(dom, std::regex("<body[^>]*data-rendered=\"yes\""))) << "the page's script failed";
  EXPECT_EQ(dom.find("id=\"injected\""), std::string::npos) << "a path became markup";
  // Shown as text, in the %XX form: the DOM serializer escapes '<' and '>' in text.
  EXPECT_NE(dom.find("&lt;/script&gt;&lt;b id=injected&gt;\"x%FF.txt"), std::string::npos);
}

// ---------------------------------------------------------------------------
// Each test's contribution

/// A spec of three tests running real programs, built once: 'sed-once' runs
/// sed, 'sed-and-grep' runs sed and grep through /bin/sh, 'sed-again' repeats
/// 'sed-once' exactly. An include: rule adds a file no test uses.
class Contributions {
 public:
  static const Contributions& get() {
    static std::unique_ptr<Contributions> c(new Contributions());
    return *c;
  }
  std::string spec() const { return dir_ / "project/tracepack.yaml"; }
  std::string bundle() const { return dir_ / "contrib.tar"; }
  std::string trace(const std::string& test) const { return dir_ / ("traces/" + test + ".jsonl"); }
  const TempDir& dir() const { return dir_; }
  const RunResult& build() const { return build_; }

 private:
  Contributions() : dir_(REPORT_TMP_DIR) {
    fs::create_directories(dir_ / "project");
    write_file(dir_ / "project/input.txt", "first line\nsecond line\n");
    write_file(dir_ / "project/extra.txt", "packed by a rule, used by no test\n");
    write_file(spec(),
               "name: contrib\n"
               "tests:\n"
               "  - name: sed-once\n"
               "    run: [sed, -n, 1p, input.txt]\n"
               "  - name: sed-and-grep\n"
               "    shell: sed -n 2p input.txt && grep -c line input.txt\n"
               "  - name: sed-again\n"
               "    run: [sed, -n, 1p, input.txt]\n"
               "include:\n"
               "  - " +
                   (dir_ / "project/extra.txt") +
                   "\n"
                   "output:\n"
                   "  path: ../contrib.tar\n");
    build_ = tracepack({"build", spec(), "--traces", dir_ / "traces"});
    if (build_.exit_code != 0) throw std::runtime_error("build of the contrib spec failed: " + build_.err);
  }
  TempDir dir_;
  RunResult build_;
};

/// What one test used and alone used, as the test computes it.
struct Share {
  std::uint64_t files = 0, bytes = 0, only_files = 0, only_bytes = 0;
  std::set<std::string> only;  ///< the paths only this test used
};

/// The paths a trace's successful accesses needed (the access kinds a plan
/// packs), resolved, as the trace records them.
std::set<std::string> used_paths(const std::string& trace) {
  static const std::set<std::string> kNeeded = {"read", "exec", "stat", "readlink", "list", "chdir", "watch"};
  std::set<std::string> paths;
  std::istringstream lines(read_file(trace));
  for (std::string line; std::getline(lines, line);) {
    Json j = Json::parse(line);
    if (j.value("t", "") == "access" && !j.contains("error") && kNeeded.contains(j.value("kind", "")))
      paths.insert(j["resolved"].get<std::string>());
  }
  return paths;
}

/// Each test's share of the bundle, from the bundle's files extracted by
/// GNU tar (lstat: regular files; sizes by stat) and the paths each test's
/// trace recorded.
std::map<std::string, Share> shares_of(const Contributions& c, const std::vector<std::string>& tests) {
  std::map<std::string, std::set<std::string>> used;
  for (const std::string& test : tests) used[test] = used_paths(c.trace(test));
  std::string root = c.dir() / "extracted";
  fs::create_directories(root);
  RunResult tar = run({"tar", "-xf", c.bundle(), "-C", root});
  if (tar.exit_code != 0) throw std::runtime_error(tar.command + " failed: " + tar.err);
  std::map<std::string, Share> shares;
  for (const std::string& test : tests) shares[test];
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    std::string path = "/" + fs::relative(e.path(), root).string();
    if (e.is_symlink() || !e.is_regular_file() || path.starts_with("/.tracepack")) continue;
    std::uint64_t size = e.file_size();
    std::vector<std::string> users;
    for (const auto& [test, paths] : used)
      if (paths.contains(path)) users.push_back(test);
    for (const std::string& test : users) {
      ++shares[test].files;
      shares[test].bytes += size;
    }
    if (users.size() == 1) {
      Share& s = shares[users.front()];
      ++s.only_files;
      s.only_bytes += size;
      s.only.insert(path);
    }
  }
  return shares;
}

const std::vector<std::string> kContributionTests = {"sed-again", "sed-and-grep", "sed-once"};

/// The "tests" array the report must hold, computed from the bundle's files.
Json expected_tests(const std::map<std::string, Share>& shares) {
  Json out = Json::array();
  for (const auto& [name, s] : shares)
    out.push_back({{"name", name}, {"files", s.files}, {"bytes", s.bytes}, {"only_files", s.only_files}, {"only_bytes", s.only_bytes}});
  return out;
}

/// The report's "tests" array with only the fields the contribution is made of.
Json contribution_fields(const Json& tests) {
  Json out = Json::array();
  for (const Json& t : tests)
    out.push_back({{"name", t["name"]},
                   {"files", t["files"]},
                   {"bytes", t["bytes"]},
                   {"only_files", t["only_files"]},
                   {"only_bytes", t["only_bytes"]}});
  return out;
}

std::string human_bytes(std::uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(units)) value /= 1024, ++unit;
  char buffer[64];
  if (unit == 0)
    std::snprintf(buffer, sizeof buffer, "%llu B", static_cast<unsigned long long>(bytes));
  else
    std::snprintf(buffer, sizeof buffer, "%.1f %s", value, units[unit]);
  return buffer;
}

TEST(ReportCli, TestsArrayCountsWhatEachTestUsedAndWhatOnlyItUsed) {
  const Contributions& c = Contributions::get();
  std::map<std::string, Share> shares = shares_of(c, kContributionTests);
  // The run's facts, whatever the machine: the repeated test brings nothing
  // of its own, nor does the test it repeats; grep is the other test's alone.
  EXPECT_EQ(shares["sed-once"].only_files, 0u);
  EXPECT_EQ(shares["sed-again"].only_files, 0u);
  EXPECT_EQ(shares["sed-once"].files, shares["sed-again"].files);
  EXPECT_GT(shares["sed-once"].files, 0u);
  EXPECT_EQ(shares["sed-and-grep"].only.count(fs::canonical("/usr/bin/grep").string()), 1u);
  Json bundle = report_json(c.bundle());
  EXPECT_EQ(contribution_fields(bundle["tests"]), expected_tests(shares));
  // The file the include: rule brought counts for no test.
  std::uint64_t counted = 0;
  for (const auto& [name, s] : shares) counted += s.only_files;
  EXPECT_GT(bundle["totals"]["files"].get<std::uint64_t>(), counted);
  // A trace holding the three tests, reported with the spec, gives the same.
  RunResult merged = tracepack({"merge", "-o", c.dir() / "all.jsonl", c.trace("sed-once"), c.trace("sed-and-grep"), c.trace("sed-again")});
  ASSERT_TRUE(exited_with(merged, 0));
  Json trace = report_json(c.dir() / "all.jsonl", {"--spec", c.spec()});
  EXPECT_EQ(contribution_fields(trace["tests"]), expected_tests(shares));
}

TEST(ReportCli, TextReportHasATestsSection) {
  const Contributions& c = Contributions::get();
  std::map<std::string, Share> shares = shares_of(c, kContributionTests);
  RunResult r = tracepack({"report", c.bundle()});
  ASSERT_TRUE(exited_with(r, 0));
  std::string expected = "Tests (files and bytes each used; alone: those no other test used)\n";
  for (const auto& [name, s] : shares) {
    char line[256];
    std::snprintf(line, sizeof line, "  %6llu %s  %10s   alone: %6llu %s  %10s  ", static_cast<unsigned long long>(s.files),
                  s.files == 1 ? "file " : "files", human_bytes(s.bytes).c_str(), static_cast<unsigned long long>(s.only_files),
                  s.only_files == 1 ? "file " : "files", human_bytes(s.only_bytes).c_str());
    expected += line + name + (s.only_files == 0 ? "  (nothing of its own)" : "") + "\n";
  }
  EXPECT_NE(r.out.find("\n" + expected + "\n"), std::string::npos) << "expected:\n" << expected << "in:\n" << r.out;
}

TEST(ReportCli, BuildPrintsEachTestsContributionOnOneLine) {
  const Contributions& c = Contributions::get();
  std::map<std::string, Share> shares = shares_of(c, kContributionTests);
  const Share& grep = shares["sed-and-grep"];
  std::string expected = "tracepack: tests: 3; each used " + std::to_string(shares["sed-once"].files) + "–" + std::to_string(grep.files) +
                         " files; 'sed-and-grep' alone brought " + std::to_string(grep.only_files) +
                         (grep.only_files == 1 ? " file (" : " files (") + human_bytes(grep.only_bytes) +
                         "); 'sed-again' and 'sed-once' brought nothing of their own\n";
  EXPECT_NE(c.build().err.find("\n" + expected), std::string::npos) << "expected:\n" << expected << "in:\n" << c.build().err;
}

TEST(ReportCli, FormatHtmlShowsEachTestsContribution) {
  if (!have_program("chromium")) GTEST_SKIP() << "chromium is not installed (Debian package chromium)";
  const Contributions& c = Contributions::get();
  std::map<std::string, Share> shares = shares_of(c, kContributionTests);
  std::string html = c.dir() / "contrib.html";
  RunResult r = tracepack({"report", c.bundle(), "--format", "html", "-o", html});
  ASSERT_TRUE(exited_with(r, 0));
  RunResult chromium = render_in_chromium(html);
  ASSERT_EQ(chromium.exit_code, 0) << chromium.err;
  const std::string& dom = chromium.out;
  ASSERT_TRUE(std::regex_search(dom, std::regex("<body[^>]*data-rendered=\"yes\""))) << "the page's script did not run to its end";
  // One row per test: name, processes, first process, files, bytes (the
  // exact count in the title), files no other test used, their bytes.
  for (const auto& [name, s] : shares) {
    std::string row = "<tr><td>" + name + "</td><td class=\"num\"></td><td></td><td class=\"num\">" + std::to_string(s.files) +
                      "</td><td class=\"num\" title=\"" + std::to_string(s.bytes) + "\">" + human_bytes(s.bytes) +
                      "</td><td class=\"num\">" + std::to_string(s.only_files) + "</td><td class=\"num\" title=\"" +
                      std::to_string(s.only_bytes) + "\">" + human_bytes(s.only_bytes) + "</td><td class=\"muted\">" +
                      (s.only_files == 0 ? "nothing of its own" : "") + "</td></tr>";
    EXPECT_NE(dom.find(row), std::string::npos) << row;
  }
  EXPECT_EQ(element_text(dom, "tests-note"), "");
}

// A manifest written before the list of tests: the bundle's entries still
// name their tests, but which test alone used a file is not known.
TEST(ReportCli, OlderManifestSaysPerTestCountsAreNotAvailable) {
  const Contributions& c = Contributions::get();
  std::string bundle = c.dir() / "older";
  ASSERT_TRUE(exited_with(tracepack({"pack", "--spec", c.spec(), "-f", "dir", "-o", bundle, c.trace("sed-once"), c.trace("sed-and-grep"),
                                     c.trace("sed-again")}),
                          0));
  std::string manifest = bundle + "/.tracepack/manifest.json";
  Json older = Json::parse(read_file(manifest));
  ASSERT_TRUE(older.contains("tests"));
  older.erase("tests");
  write_file(manifest, older.dump(2));
  Json report = report_json(bundle);
  ASSERT_EQ(report["tests"].size(), 3u);
  for (const Json& t : report["tests"]) {
    EXPECT_GT(t["files"].get<std::uint64_t>(), 0u) << t.dump();
    EXPECT_TRUE(t["only_files"].is_null()) << t.dump();
    EXPECT_TRUE(t["only_bytes"].is_null()) << t.dump();
  }
  RunResult text = tracepack({"report", bundle});
  ASSERT_TRUE(exited_with(text, 0));
  EXPECT_NE(text.out.find("Tests (files and bytes each used; alone: those no other test used)\n"
                          "  not available: this bundle's manifest, written by an older tracepack, does not record every test that "
                          "used a file (pack the bundle again)\n"),
            std::string::npos)
      << text.out;
}

// ---------------------------------------------------------------------------
// Output and colour

TEST(ReportCli, OutputFlagWritesTheFileAndNothingToStdout) {
  TempDir dir;
  RunResult r = tracepack({"report", Demo::get().bundle("tar"), "-o", dir / "report.txt"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  std::string text = read_file(dir / "report.txt");
  EXPECT_NE(text.find("Debian packages (files used / installed, bytes used / installed)"), std::string::npos) << text;
  EXPECT_EQ(text.find('\033'), std::string::npos);
}

/// Runs the text report on a pseudo-terminal (util-linux script).
RunResult report_on_tty(const std::vector<std::string>& env) {
  return run({"script", "-qec", std::string(TRACEPACK_BIN) + " report " + Demo::get().bundle("tar"), "/dev/null"}, {.env = env});
}

TEST(ReportCli, TextIsColouredOnATerminal) {
  if (!have_program("script")) GTEST_SKIP() << "script (util-linux) is not installed";
  RunResult r = report_on_tty({});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\033[1m"), std::string::npos) << r.out;
}

TEST(ReportCli, NoColorTurnsColourOff) {
  if (!have_program("script")) GTEST_SKIP() << "script (util-linux) is not installed";
  RunResult r = report_on_tty({"NO_COLOR=1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Largest directories"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find('\033'), std::string::npos);
}

// ---------------------------------------------------------------------------
// Errors, byte for byte

TEST(ReportCli, UnknownFormatIsRefused) {
  RunResult r = tracepack({"report", Demo::get().trace(), "--format", "pdf"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "tracepack: error: report: unknown format 'pdf' (use text, json or html)\n");
}

TEST(ReportCli, SpecWithABundleIsRefused) {
  std::string bundle = Demo::get().bundle("tar");
  RunResult r = tracepack({"report", bundle, "--spec", Demo::get().spec()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "tracepack: error: " + bundle + ": --spec applies to a trace, not to a bundle (its rules were applied when it was packed)\n");
}

TEST(ReportCli, ArchiveWithoutManifestIsRefused) {
  TempDir dir;
  write_file(dir / "file.txt", "hello\n");
  ASSERT_EQ(run({"tar", "-cf", dir / "plain.tar", "-C", dir / "", "file.txt"}).exit_code, 0);
  RunResult r = tracepack({"report", dir / "plain.tar"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "tracepack: error: " + (dir / "plain.tar") + ": not a tracepack bundle (no .tracepack/manifest.json)\n");
}

TEST(ReportCli, MissingInputIsRefused) {
  RunResult r = tracepack({"report", "/nonexistent/bundle.tar"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "tracepack: error: /nonexistent/bundle.tar: cannot read: No such file or directory\n");
}

}  // namespace
}  // namespace tracepack

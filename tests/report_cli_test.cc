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

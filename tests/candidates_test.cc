// Candidates to review, found by running the real python3 on real source
// files: what a bundle's sources import and the bundle does not hold.
#include "tracepack/candidates.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cli_test_util.h"

namespace tracepack {
namespace {

namespace fs = std::filesystem;
using namespace cli_test;

const PathBytes kPython = fs::canonical("/usr/bin/python3").string();

// The candidate for `path`, or nullptr.
const Candidate* find(const CandidateList& list, const PathBytes& path) {
  auto it = std::find_if(list.candidates.begin(), list.candidates.end(), [&](const Candidate& c) { return c.path == path; });
  return it == list.candidates.end() ? nullptr : &*it;
}

std::vector<PathBytes> paths_of(const CandidateList& list) {
  std::vector<PathBytes> paths;
  for (const Candidate& c : list.candidates) paths.push_back(c.path);
  return paths;
}

// An application: main.py imports json at the top and `heavy` (a package of
// two files) inside a function; `helpers` (next to it) at the top.
struct App {
  TempDir dir{CANDIDATES_TMP_DIR};
  PathBytes app;
  App() {
    app = fs::canonical(dir.path()).string() + "/app";
    fs::create_directories(app + "/heavy");
    write_file(app + "/main.py",
               "import json\n"
               "import helpers\n"
               "\n"
               "def plot(data):\n"
               "    import heavy\n"
               "    return heavy.draw(data)\n"
               "\n"
               "print(json.dumps(helpers.twice(2)))\n");
    write_file(app + "/helpers.py", "def twice(x):\n    return 2 * x\n");
    write_file(app + "/heavy/__init__.py", "from .core import draw\n");
    write_file(app + "/heavy/core.py", "def draw(data):\n    return data\n");
  }
  // What a bundle of the traced run would hold: the interpreter, json, main and helpers.
  std::vector<PathBytes> bundle() const {
    std::vector<PathBytes> paths = {kPython, app, app + "/main.py", app + "/helpers.py"};
    for (const auto& e : fs::recursive_directory_iterator("/usr/lib/python3.11/json")) paths.push_back(e.path().string());
    std::sort(paths.begin(), paths.end());
    return paths;
  }
};

TEST(Candidates, AnImportInsideAFunctionNoTestCalledIsACandidate) {
  App a;
  CandidateList list = find_candidates(a.bundle(), HostFileSystem());
  EXPECT_TRUE(list.notes.empty()) << list.notes.front();
  const Candidate* heavy = find(list, a.app + "/heavy");
  ASSERT_NE(heavy, nullptr) << testing::PrintToString(paths_of(list));
  EXPECT_EQ(heavy->kind, "python-import");
  EXPECT_EQ(heavy->reason, "module 'heavy' is imported but no test loaded it");
  EXPECT_EQ(heavy->evidence, std::vector<std::string>{a.app + "/main.py:5"});
  EXPECT_EQ(heavy->files, 2u);
  EXPECT_EQ(heavy->bytes, fs::file_size(a.app + "/heavy/__init__.py") + fs::file_size(a.app + "/heavy/core.py"));
  EXPECT_EQ(heavy->include, "- " + a.app + "/heavy/**");
  EXPECT_EQ(heavy->rank, 1);
  // What the bundle holds is no candidate: json (a package), helpers (a module).
  EXPECT_EQ(find(list, "/usr/lib/python3.11/json"), nullptr);
  EXPECT_EQ(find(list, a.app + "/helpers.py"), nullptr);
  // The application's candidates come first.
  EXPECT_EQ(list.candidates.front().path, a.app + "/heavy");
}

TEST(Candidates, RelativeSubmoduleAndLiteralDynamicImportsAreFound) {
  App a;
  write_file(a.app + "/main.py",
             "import importlib\n"
             "from heavy import core\n"
             "def later():\n"
             "    return importlib.import_module('helpers'), __import__('extra')\n");
  write_file(a.app + "/extra.py", "X = 1\n");
  write_file(a.app + "/heavy/__init__.py", "from . import core\nfrom .plugins import fancy\n");
  fs::create_directories(a.app + "/heavy/plugins");
  write_file(a.app + "/heavy/plugins/__init__.py", "");
  write_file(a.app + "/heavy/plugins/fancy.py", "Y = 2\n");
  // The bundle holds heavy/__init__.py (the package was imported) but none of its submodules.
  std::vector<PathBytes> bundle = a.bundle();
  bundle.push_back(a.app + "/heavy");
  bundle.push_back(a.app + "/heavy/__init__.py");
  for (const char* name : {"/importlib", "/importlib/__init__.py"}) bundle.push_back(std::string("/usr/lib/python3.11") + name);
  std::erase(bundle, a.app + "/helpers.py");
  std::sort(bundle.begin(), bundle.end());
  CandidateList list = find_candidates(bundle, HostFileSystem());
  std::vector<PathBytes> found = paths_of(list);
  std::erase_if(found, [&](const PathBytes& p) { return !p.starts_with(a.app); });  // importlib's own imports aside
  std::sort(found.begin(), found.end());
  EXPECT_EQ(found, (std::vector<PathBytes>{a.app + "/extra.py", a.app + "/heavy/core.py", a.app + "/heavy/plugins", a.app + "/helpers.py"}));
  ASSERT_NE(find(list, a.app + "/heavy/core.py"), nullptr);
  EXPECT_EQ(find(list, a.app + "/heavy/core.py")->evidence,
            (std::vector<std::string>{a.app + "/heavy/__init__.py:1", a.app + "/main.py:2"}));
  ASSERT_NE(find(list, a.app + "/heavy/plugins"), nullptr);
  EXPECT_EQ(find(list, a.app + "/heavy/plugins")->reason, "module 'heavy.plugins' is imported but no test loaded it");
  EXPECT_EQ(find(list, a.app + "/heavy/plugins")->include, "- " + a.app + "/heavy/plugins/**");
  ASSERT_NE(find(list, a.app + "/extra.py"), nullptr);
  EXPECT_EQ(find(list, a.app + "/extra.py")->evidence, std::vector<std::string>{a.app + "/main.py:4"});
  EXPECT_EQ(find(list, a.app + "/extra.py")->include, "- " + a.app + "/extra.py");
}

TEST(Candidates, TheStandardLibrarysOwnLazyImportsComeLast) {
  App a;
  std::vector<PathBytes> bundle = a.bundle();
  bundle.push_back("/usr/lib/python3.11/http/client.py");  // imports ssl lazily, among others
  std::sort(bundle.begin(), bundle.end());
  CandidateList list = find_candidates(bundle, HostFileSystem());
  const Candidate* ssl = find(list, "/usr/lib/python3.11/ssl.py");
  ASSERT_NE(ssl, nullptr) << testing::PrintToString(paths_of(list));
  EXPECT_EQ(ssl->rank, 3);
  EXPECT_EQ(ssl->reason, "module 'ssl' is imported by the standard library but no test loaded it");
  EXPECT_TRUE(ssl->evidence.front().starts_with("/usr/lib/python3.11/http/client.py:")) << ssl->evidence.front();
  EXPECT_EQ(list.candidates.front().path, a.app + "/heavy");
  for (const Candidate& c : list.candidates) EXPECT_EQ(c.rank, c.path == a.app + "/heavy" ? 1 : 3) << c.path;
}

TEST(Candidates, ReviewIgnoreGlobsLeaveCandidatesOut) {
  App a;
  ASSERT_NE(find(find_candidates(a.bundle(), HostFileSystem()), a.app + "/heavy"), nullptr);  // listed without the glob
  CandidateList list = find_candidates(a.bundle(), HostFileSystem(), "/", {"**/heavy"});
  EXPECT_EQ(find(list, a.app + "/heavy"), nullptr) << testing::PrintToString(paths_of(list));
}

TEST(Candidates, ABundleWithoutPythonHasNone) {
  App a;
  std::vector<PathBytes> bundle = a.bundle();
  std::erase(bundle, kPython);
  CandidateList list = find_candidates(bundle, HostFileSystem());
  EXPECT_TRUE(list.candidates.empty());
  EXPECT_TRUE(list.notes.empty());
}

TEST(Candidates, AnInterpreterThatFailsIsANoteNotAnError) {
  App a;
  fs::create_directories(a.app + "/bin");
  write_file(a.app + "/bin/python3", "#!/bin/sh\nexit 3\n");
  fs::permissions(a.app + "/bin/python3", fs::perms::owner_all);
  std::vector<PathBytes> bundle = a.bundle();
  std::erase(bundle, kPython);
  bundle.push_back(a.app + "/bin/python3");
  std::sort(bundle.begin(), bundle.end());
  CandidateList list = find_candidates(bundle, HostFileSystem());
  EXPECT_TRUE(list.candidates.empty());
  EXPECT_EQ(list.notes, std::vector<std::string>{"python imports not checked: " + a.app + "/bin/python3: exited with 3"});
}

// Where a candidate's files come from: the Debian package that installed
// them, else the Python distribution whose RECORD lists them.
TEST(Candidates, EachCandidateNamesThePackageItsFilesComeFrom) {
  TempDir dir(CANDIDATES_TMP_DIR);
  std::string site = dir.path() + "/lib/site-packages";
  fs::create_directories(site + "/fancy");
  fs::create_directories(site + "/fancy-2.1.0.dist-info");
  fs::create_directories(site + "/loose");
  write_file(site + "/fancy/__init__.py", "x = 1\n");
  write_file(site + "/loose/__init__.py", "x = 1\n");
  write_file(site + "/fancy-2.1.0.dist-info/RECORD", "fancy-2.1.0.dist-info/METADATA,,\nfancy/__init__.py,sha256=x,6\n");
  std::vector<Candidate> list(3);
  list[0].path = site + "/fancy";
  list[1].path = site + "/loose";
  list[2].path = site + "/*.py";
  find_candidate_packages(list, HostFileSystem(), "/", "/var/lib/dpkg");
  EXPECT_EQ(list[0].package, "Python distribution fancy 2.1.0");
  EXPECT_EQ(list[1].package, "");
  EXPECT_EQ(list[2].package, "");
  if (!fs::exists("/var/lib/dpkg/info/tzdata.list") || !fs::exists("/usr/share/zoneinfo")) GTEST_SKIP() << "no tzdata package here";
  std::vector<Candidate> zones(1);
  zones[0].path = "/usr/share/zoneinfo";
  find_candidate_packages(zones, HostFileSystem(), "/", "/var/lib/dpkg");
  EXPECT_EQ(zones[0].package, "Debian package tzdata");
}

// The lazy-import case end to end: the test never calls plot(), so the bundle
// lacks `heavy`; build counts it, report and why name it with the import's
// file:line and the include: line, and with that line the other path runs
// from the bundle.
struct LazyProject {
  TempDir dir{CANDIDATES_TMP_DIR};
  PathBytes root;
  LazyProject() {
    root = fs::canonical(dir.path()).string();
    fs::create_directories(root + "/app/heavy");
    write_file(root + "/app/main.py",
               "import sys\n"
               "\n"
               "\n"
               "def plot():\n"
               "    import heavy\n"
               "    return heavy.draw()\n"
               "\n"
               "\n"
               "print(plot() if sys.argv[1:] == ['plot'] else 'summary')\n");
    write_file(root + "/app/heavy/__init__.py", "def draw():\n    return 'plot'\n");
  }
  void spec(const std::string& extra_tests, const std::string& extra = "") const {
    write_file(root + "/tracepack.yaml",
               "name: lazy\n"
               "tests:\n"
               "  - name: summary\n"
               "    run: [/usr/bin/python3, app/main.py]\n"
               "    stdout: \"summary\\n\"\n" +
                   extra_tests + extra + "output:\n  path: dist/lazy.tar\n");
  }
  RunResult build() const { return tracepack({"build", "tracepack.yaml"}, {.cwd = root}); }
};

const std::string kPlotTest = "  - name: plot\n    run: [/usr/bin/python3, app/main.py, plot]\n    stdout: \"plot\\n\"\n";

TEST(CandidatesCli, TheLazyImportIsNamedWithItsLineAndTheIncludeThatAddsIt) {
  LazyProject p;
  p.spec("");
  RunResult built = p.build();
  ASSERT_TRUE(exited_with(built, 0));
  EXPECT_NE(built.err.find(" from the application's own files (what it may need that no test used): tracepack report " + p.root +
                           "/dist/lazy.tar\n"),
            std::string::npos)
      << built.err;

  Json report = report_json(p.root + "/dist/lazy.tar");
  ASSERT_GE(report["candidates"].size(), 1u);
  const Json& first = report["candidates"][0];
  EXPECT_EQ(first["path"], p.root + "/app/heavy");
  EXPECT_EQ(first["kind"], "python-import");
  EXPECT_EQ(first["reason"], "module 'heavy' is imported but no test loaded it");
  EXPECT_EQ(first["evidence"], Json::array({p.root + "/app/main.py:5"}));
  EXPECT_EQ(first["files"], 1);
  EXPECT_EQ(first["bytes"], fs::file_size(p.root + "/app/heavy/__init__.py"));
  EXPECT_EQ(first["include"], "- " + p.root + "/app/heavy/**");
  EXPECT_EQ(report["totals"]["candidates"], report["candidates"].size());

  RunResult text = tracepack({"report", p.root + "/dist/lazy.tar"});
  EXPECT_NE(text.out.find("Candidates to review (" + std::to_string(report["candidates"].size()) + ")\n  " + p.root +
                          "/app/heavy  (1 file, 30 B): module 'heavy' is imported but no test loaded it\n      at " + p.root +
                          "/app/main.py:5\n      to add it, include: - " + p.root + "/app/heavy/**\n"),
            std::string::npos)
      << text.out;

  RunResult why = tracepack({"why", p.root + "/dist/lazy.tar", p.root + "/app/heavy/__init__.py"});
  EXPECT_TRUE(exited_with(why, 1));
  EXPECT_NE(why.out.find("candidate to review: module 'heavy' is imported but no test loaded it\n  at " + p.root +
                         "/app/main.py:5\n  to add it, include: - " + p.root + "/app/heavy/**\n"),
            std::string::npos)
      << why.out;

  // The other path fails in this bundle...
  p.spec(kPlotTest);
  RunResult verified = tracepack({"verify", p.root + "/dist/lazy.tar", "--spec", "tracepack.yaml"}, {.cwd = p.root});
  EXPECT_TRUE(exited_with(verified, 1));
  EXPECT_NE(verified.out.find("test 'plot': FAILED in the bundle: exit status 1, expected 0\n  missing: " + p.root + "/app/heavy/__init__.py\n"),
            std::string::npos)
      << verified.out;
  // ... and runs from a bundle built with the include: line the report gave.
  p.spec("", "include:\n  " + first["include"].get<std::string>() + "\n");
  ASSERT_TRUE(exited_with(p.build(), 0));
  p.spec(kPlotTest);
  EXPECT_TRUE(exited_with(tracepack({"verify", p.root + "/dist/lazy.tar", "--spec", "tracepack.yaml"}, {.cwd = p.root}), 0));
}

TEST(CandidatesCli, ACandidateDeclinedInTheSpecIsNotListedAgain) {
  LazyProject p;
  p.spec("", "review:\n  ignore:\n    - \"**/app/heavy\"\n");
  ASSERT_TRUE(exited_with(p.build(), 0));
  Json report = report_json(p.root + "/dist/lazy.tar");
  for (const Json& c : report["candidates"]) EXPECT_NE(c["path"], p.root + "/app/heavy");
  RunResult built = p.build();
  EXPECT_NE(built.err.find(", 0 from the application's own files"), std::string::npos) << built.err;
}

}  // namespace
}  // namespace tracepack

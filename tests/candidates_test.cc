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
using cli_test::TempDir;
using cli_test::write_file;

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

}  // namespace
}  // namespace tracepack

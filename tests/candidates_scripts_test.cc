// Candidates to review found in scripts: Perl modules the real perl finds,
// Node.js modules node would load, programs a shell script runs. Each source
// end to end: a real program traced on one input, packed; the report names
// the missing piece with its FILE:LINE and include: line; the other input
// fails in the bundle and runs from one built with that line.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "cli_test_util.h"
#include "tracepack/candidates.h"

namespace tracepack {
namespace {

namespace fs = std::filesystem;
using namespace cli_test;

const Candidate* find(const CandidateList& list, const PathBytes& path) {
  auto it = std::find_if(list.candidates.begin(), list.candidates.end(), [&](const Candidate& c) { return c.path == path; });
  return it == list.candidates.end() ? nullptr : &*it;
}

std::vector<PathBytes> paths_of(const CandidateList& list) {
  std::vector<PathBytes> paths;
  for (const Candidate& c : list.candidates) paths.push_back(c.path);
  return paths;
}

const Json* find(const Json& candidates, const std::string& path) {
  for (const Json& c : candidates)
    if (c["path"] == path) return &c;
  return nullptr;
}

// A project of one script; `spec` writes its tracepack.yaml with a test of
// the first input, and `other` is the test of the input that needs more.
struct ScriptProject {
  TempDir dir{CANDIDATES_TMP_DIR};
  PathBytes root = fs::canonical(dir.path()).string();
  std::string first_test;
  std::string other_test;

  ScriptProject() { fs::create_directories(root + "/app"); }
  void spec(const std::string& tests, const std::string& extra = "") const {
    write_file(root + "/tracepack.yaml", "name: app\ntests:\n" + tests + extra + "output:\n  path: dist/app.tar\n");
  }
  RunResult build(const std::string& extra = "") const {
    spec(first_test, extra);
    return tracepack({"build", "tracepack.yaml"}, {.cwd = root});
  }
  RunResult verify_other() const {
    spec(other_test);
    return tracepack({"verify", root + "/dist/app.tar", "--spec", "tracepack.yaml"}, {.cwd = root});
  }
};

std::string test_item(const std::string& name, const std::string& run, const std::string& stdout_text) {
  return "  - name: " + name + "\n    run: " + run + "\n    stdout: \"" + stdout_text + "\\n\"\n";
}

// The include: lines of the report's candidates of `kind`, as a spec's include: list.
std::string includes_of(const Json& candidates, const std::string& kind) {
  std::string lines = "include:\n";
  for (const Json& c : candidates)
    if (c["kind"] == kind) lines += "  " + c["include"].get<std::string>() + "\n";
  return lines;
}

// ---- Perl -------------------------------------------------------------------

const std::string kPerlScript =
    "use strict;\n"
    "use warnings;\n"
    "\n"
    "if (@ARGV && $ARGV[0] eq 'wrap') {\n"
    "  require Text::Wrap;  # only here\n"
    "  print Text::Wrap::wrap('', '', 'wrapped'), \"\\n\";\n"
    "} else {\n"
    "  print \"plain\\n\";\n"
    "}\n"
    "__END__\n"
    "require Never::Loaded;\n";

TEST(CandidatesScripts, APerlRequireInABranchIsACandidateFoundOnPerlsOwnInc) {
  TempDir dir{CANDIDATES_TMP_DIR};
  PathBytes app = fs::canonical(dir.path()).string();
  write_file(app + "/main.pl", kPerlScript + "=pod\nrequire Pod::Only;\n=cut\n");
  write_file(app + "/Local.pm", "package Local;\nrequire Local::Missing;\n1;\n");
  fs::create_directories(app + "/Local");
  write_file(app + "/Local/Missing.pm", "package Local::Missing;\n1;\n");
  write_file(app + "/uses_lib.pl", "use lib '" + app + "';\nrequire Local;  # the bundle holds it\n");
  PathBytes perl = fs::canonical("/usr/bin/perl").string();
  std::vector<PathBytes> bundle = {perl, app + "/main.pl", app + "/uses_lib.pl", app + "/Local.pm"};
  std::sort(bundle.begin(), bundle.end());
  CandidateList list = find_candidates(bundle, HostFileSystem());
  EXPECT_TRUE(list.notes.empty()) << list.notes.front();
  // Where perl's @INC finds it: Debian's perl-base comes before the rest of the core library.
  PathBytes wrap = "/usr/lib/x86_64-linux-gnu/perl-base/Text/Wrap.pm";
  if (!fs::exists(wrap)) wrap = "/usr/share/perl/5.36/Text/Wrap.pm";
  const Candidate* c = find(list, wrap);
  ASSERT_NE(c, nullptr) << testing::PrintToString(paths_of(list));
  EXPECT_EQ(c->kind, "perl-module");
  EXPECT_EQ(c->reason, "module 'Text::Wrap' is required but no test loaded it");
  EXPECT_EQ(c->evidence, std::vector<std::string>{app + "/main.pl:5"});
  EXPECT_EQ(c->include, "- " + wrap);
  EXPECT_EQ(c->rank, 1);
  EXPECT_EQ(c->files, 1u);
  EXPECT_EQ(c->bytes, fs::file_size(wrap));
  // What Text::Wrap itself loads is found too, ranked as the core library's.
  const Candidate* tabs = find(list, fs::path(wrap).parent_path().string() + "/Tabs.pm");
  ASSERT_NE(tabs, nullptr) << testing::PrintToString(paths_of(list));
  EXPECT_EQ(tabs->rank, 3);
  EXPECT_EQ(tabs->reason, "module 'Text::Tabs' is required by the standard library but no test loaded it");
  // A local module found through `use lib`, required by a bundled module.
  const Candidate* local = find(list, app + "/Local/Missing.pm");
  ASSERT_NE(local, nullptr) << testing::PrintToString(paths_of(list));
  EXPECT_EQ(local->evidence, std::vector<std::string>{app + "/Local.pm:2"});
  // The bundled files' pragmas (perl loaded them), POD, text after __END__
  // and what the bundle holds are no candidates: main.pl's only site is line 5.
  for (const Candidate& k : list.candidates) {
    EXPECT_NE(k.path, app + "/Local.pm");
    for (const std::string& site : k.evidence) {
      if (site.starts_with(app + "/main.pl:")) {
        EXPECT_EQ(site, app + "/main.pl:5") << k.path;
      }
    }
  }
  EXPECT_EQ(list.candidates.front().rank, 1);
}

TEST(CandidatesScripts, APerlThatFailsIsANoteNotAnError) {
  TempDir dir{CANDIDATES_TMP_DIR};
  PathBytes app = fs::canonical(dir.path()).string();
  write_file(app + "/main.pl", kPerlScript);
  fs::create_directories(app + "/bin");
  write_file(app + "/bin/perl", "#!/bin/sh\nexit 4\n");
  fs::permissions(app + "/bin/perl", fs::perms::owner_all);
  CandidateList list = find_candidates({app + "/bin/perl", app + "/main.pl"}, HostFileSystem());
  EXPECT_TRUE(list.candidates.empty());
  EXPECT_EQ(list.notes, std::vector<std::string>{"perl modules not checked: " + app + "/bin/perl: exited with 4"});
}

TEST(CandidatesScriptsCli, TheModuleAPerlBranchRequiresIsNamedAndItsIncludeMakesTheBranchRun) {
  ScriptProject p;
  write_file(p.root + "/app/main.pl", kPerlScript);
  p.first_test = test_item("plain", "[/usr/bin/perl, app/main.pl]", "plain");
  p.other_test = test_item("wrap", "[/usr/bin/perl, app/main.pl, wrap]", "wrapped");
  ASSERT_TRUE(exited_with(p.build(), 0));
  Json report = report_json(p.root + "/dist/app.tar");
  const Json* wrap = nullptr;
  for (const Json& c : report["candidates"])
    if (c["reason"] == "module 'Text::Wrap' is required but no test loaded it") wrap = &c;
  ASSERT_NE(wrap, nullptr) << report["candidates"].dump(1);
  EXPECT_EQ((*wrap)["kind"], "perl-module");
  EXPECT_EQ((*wrap)["evidence"], Json::array({p.root + "/app/main.pl:5"}));
  EXPECT_EQ((*wrap)["include"], "- " + (*wrap)["path"].get<std::string>());
  EXPECT_EQ((*wrap)["rank"], 1);
  EXPECT_EQ(report["candidates"][0]["kind"], "perl-module");
  EXPECT_EQ(report["candidates"][0]["rank"], 1);

  RunResult text = tracepack({"report", p.root + "/dist/app.tar"});
  EXPECT_NE(text.out.find(": module 'Text::Wrap' is required but no test loaded it\n      at " + p.root + "/app/main.pl:5\n      to add it, include: " +
                          (*wrap)["include"].get<std::string>() + "\n"),
            std::string::npos)
      << text.out;

  RunResult failed = p.verify_other();
  EXPECT_TRUE(exited_with(failed, 1));
  EXPECT_NE(failed.out.find("test 'wrap': FAILED in the bundle"), std::string::npos) << failed.out;
  // What Text::Wrap loads in turn is listed with it: include them all.
  ASSERT_TRUE(exited_with(p.build(includes_of(report["candidates"], "perl-module")), 0));
  EXPECT_TRUE(exited_with(p.verify_other(), 0));
}

// ---- Node.js ----------------------------------------------------------------

bool have_node() { return fs::exists("/usr/bin/node"); }

struct NodeApp {
  TempDir dir{CANDIDATES_TMP_DIR};
  PathBytes app = fs::canonical(dir.path()).string() + "/app";
  NodeApp() {
    fs::create_directories(app + "/node_modules/shout/lib");
    fs::create_directories(app + "/node_modules/dual/dist");
    write_file(app + "/main.js",
               "const fs = require('node:fs');\n"
               "const path = require(\"path\");\n"
               "// require('./commented')\n"
               "if (process.argv[2] === 'fancy') {\n"
               "  const fancy = require('./fancy');\n"
               "  const shout = require('shout');\n"
               "  console.log(shout(fancy()));\n"
               "} else {\n"
               "  console.log('plain');\n"
               "}\n");
    write_file(app + "/fancy.js", "module.exports = () => 'fancy';\n");
    write_file(app + "/node_modules/shout/package.json", "{\"name\": \"shout\", \"main\": \"lib/shout.js\"}\n");
    write_file(app + "/node_modules/shout/lib/shout.js", "const up = require('./up');\nmodule.exports = (s) => up(s) + '!';\n");
    write_file(app + "/node_modules/shout/lib/up.js", "module.exports = (s) => s;\n");
    write_file(app + "/node_modules/dual/package.json",
               "{\"name\": \"dual\", \"exports\": {\".\": {\"import\": \"./dist/m.mjs\", \"require\": \"./dist/c.cjs\"}}}\n");
    write_file(app + "/node_modules/dual/dist/m.mjs", "export default 1;\n");
    write_file(app + "/node_modules/dual/dist/c.cjs", "module.exports = 1;\n");
  }
};

TEST(CandidatesScripts, NodeModulesAreResolvedAsNodeDoes) {
  if (!have_node()) GTEST_SKIP() << "node is not installed (.ci/install-deps installs it)";
  NodeApp a;
  write_file(a.app + "/esm.mjs", "import dual from 'dual';\nimport { x } from\n  './fancy.js';\nconst later = () => import('fs/promises');\n");
  std::vector<PathBytes> bundle = {"/usr/bin/node", a.app + "/esm.mjs", a.app + "/main.js"};
  CandidateList list = find_candidates(bundle, HostFileSystem());
  std::vector<PathBytes> found = paths_of(list);
  std::sort(found.begin(), found.end());
  EXPECT_EQ(found, (std::vector<PathBytes>{a.app + "/fancy.js", a.app + "/node_modules/dual", a.app + "/node_modules/shout"}));
  const Candidate* fancy = find(list, a.app + "/fancy.js");
  ASSERT_NE(fancy, nullptr);
  EXPECT_EQ(fancy->kind, "node-module");
  EXPECT_EQ(fancy->evidence, (std::vector<std::string>{a.app + "/esm.mjs:2", a.app + "/main.js:5"}));
  EXPECT_EQ(fancy->include, "- " + a.app + "/fancy.js");
  const Candidate* shout = find(list, a.app + "/node_modules/shout");
  ASSERT_NE(shout, nullptr);
  EXPECT_EQ(shout->reason, "module 'shout' is required but no test loaded it");
  EXPECT_EQ(shout->files, 3u);
  EXPECT_EQ(shout->include, "- " + a.app + "/node_modules/shout/**");
  EXPECT_EQ(shout->rank, 1);

  // A bundled package's entry the "import" condition names is the candidate.
  bundle.push_back(a.app + "/node_modules/dual/dist/c.cjs");
  list = find_candidates(bundle, HostFileSystem());
  ASSERT_NE(find(list, a.app + "/node_modules/dual/dist/m.mjs"), nullptr) << testing::PrintToString(paths_of(list));
  EXPECT_EQ(find(list, a.app + "/node_modules/dual/dist/m.mjs")->rank, 1);
}

TEST(CandidatesScriptsCli, TheModulesANodeBranchRequiresAreNamedAndTheirIncludesMakeTheBranchRun) {
  if (!have_node()) GTEST_SKIP() << "node is not installed (.ci/install-deps installs it)";
  ScriptProject p;
  NodeApp a;
  fs::rename(a.app, p.root + "/app");
  p.first_test = test_item("plain", "[/usr/bin/node, app/main.js]", "plain");
  p.other_test = test_item("fancy", "[/usr/bin/node, app/main.js, fancy]", "fancy!");
  ASSERT_TRUE(exited_with(p.build(), 0));
  Json report = report_json(p.root + "/dist/app.tar");
  const Json* fancy = find(report["candidates"], p.root + "/app/fancy.js");
  ASSERT_NE(fancy, nullptr) << report["candidates"].dump(1);
  EXPECT_EQ((*fancy)["evidence"], Json::array({p.root + "/app/main.js:5"}));
  EXPECT_EQ((*fancy)["include"], "- " + p.root + "/app/fancy.js");
  const Json* shout = find(report["candidates"], p.root + "/app/node_modules/shout");
  ASSERT_NE(shout, nullptr) << report["candidates"].dump(1);
  EXPECT_EQ((*shout)["evidence"], Json::array({p.root + "/app/main.js:6"}));
  EXPECT_EQ((*shout)["include"], "- " + p.root + "/app/node_modules/shout/**");

  RunResult failed = p.verify_other();
  EXPECT_TRUE(exited_with(failed, 1));
  EXPECT_NE(failed.out.find("test 'fancy': FAILED in the bundle"), std::string::npos) << failed.out;
  ASSERT_TRUE(exited_with(p.build(includes_of(report["candidates"], "node-module")), 0));
  EXPECT_TRUE(exited_with(p.verify_other(), 0));
}

// ---- Shell ------------------------------------------------------------------

const std::string kShellScript =
    "#!/bin/sh\n"
    "# gzip in a comment is no command\n"
    "set -e\n"
    "LC_ALL=C; export LC_ALL\n"
    "say() { echo \"$@\"; }\n"
    "case \"$1\" in\n"
    "  pack|gzip)\n"
    "    gzip -c \"$0\" >/dev/null && say packed ;;\n"
    "  *)\n"
    "    cat <<EOF\n"
    "plain\n"
    "xz here is text\n"
    "EOF\n"
    "    ;;\n"
    "esac\n";

TEST(CandidatesScripts, TheProgramsAShellScriptRunsAreFoundOnThePath) {
  TempDir dir{CANDIDATES_TMP_DIR};
  PathBytes app = fs::canonical(dir.path()).string();
  write_file(app + "/run.sh", kShellScript + "x=$(basename \"$0\") y=`uname`\nif [ -n \"$x\" ]; then sort </dev/null | wc -l 2>&1; fi\n");
  CandidateList list = find_candidates({"/usr/bin/cat", "/usr/bin/dash", app + "/run.sh"}, HostFileSystem());
  std::vector<PathBytes> found = paths_of(list);
  std::sort(found.begin(), found.end());
  EXPECT_EQ(found, (std::vector<PathBytes>{"/usr/bin/basename", "/usr/bin/gzip", "/usr/bin/sort", "/usr/bin/uname", "/usr/bin/wc"}));
  const Candidate* gzip = find(list, "/usr/bin/gzip");
  ASSERT_NE(gzip, nullptr);
  EXPECT_EQ(gzip->kind, "shell-command");
  EXPECT_EQ(gzip->reason, "program 'gzip' is run by a shell script but no test ran it");
  EXPECT_EQ(gzip->evidence, std::vector<std::string>{app + "/run.sh:8"});
  EXPECT_EQ(gzip->include, "- elf: /usr/bin/gzip");
  EXPECT_EQ(gzip->rank, 1);
  EXPECT_EQ(gzip->files, 1u);
  EXPECT_EQ(gzip->bytes, fs::file_size("/usr/bin/gzip"));
  EXPECT_EQ(find(list, "/usr/bin/sort")->evidence, std::vector<std::string>{app + "/run.sh:17"});
}

TEST(CandidatesScripts, AShellScriptBelowUsrRanksAsALibrarys) {
  // gunzip is a shell script of the gzip package that runs gzip.
  CandidateList list = find_candidates({"/usr/bin/dash", "/usr/bin/gunzip"}, HostFileSystem());
  const Candidate* gzip = find(list, "/usr/bin/gzip");
  ASSERT_NE(gzip, nullptr) << testing::PrintToString(paths_of(list));
  EXPECT_EQ(gzip->rank, 2);
}

TEST(CandidatesScriptsCli, TheProgramAShellBranchRunsIsNamedAndItsIncludeMakesTheBranchRun) {
  ScriptProject p;
  write_file(p.root + "/app/run.sh", kShellScript);
  p.first_test = test_item("plain", "[/bin/sh, app/run.sh]", "plain\\nxz here is text");
  p.other_test = test_item("pack", "[/bin/sh, app/run.sh, pack]", "packed");
  ASSERT_TRUE(exited_with(p.build(), 0));
  Json report = report_json(p.root + "/dist/app.tar");
  const Json* gzip = find(report["candidates"], "/usr/bin/gzip");
  ASSERT_NE(gzip, nullptr) << report["candidates"].dump(1);
  EXPECT_EQ((*gzip)["kind"], "shell-command");
  EXPECT_EQ((*gzip)["evidence"], Json::array({p.root + "/app/run.sh:8"}));
  EXPECT_EQ((*gzip)["include"], "- elf: /usr/bin/gzip");
  EXPECT_EQ((*gzip)["rank"], 1);
  RunResult text = tracepack({"report", p.root + "/dist/app.tar"});
  EXPECT_NE(text.out.find("/usr/bin/gzip  (1 file, "), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("): program 'gzip' is run by a shell script but no test ran it\n      at " + p.root +
                          "/app/run.sh:8\n      to add it, include: - elf: /usr/bin/gzip\n"),
            std::string::npos)
      << text.out;

  RunResult failed = p.verify_other();
  EXPECT_TRUE(exited_with(failed, 1));
  EXPECT_NE(failed.out.find("test 'pack': FAILED in the bundle"), std::string::npos) << failed.out;
  ASSERT_TRUE(exited_with(p.build("include:\n  - elf: /usr/bin/gzip\n"), 0));
  EXPECT_TRUE(exited_with(p.verify_other(), 0));
}

// ---- Shell commands through the tests' PATH ----------------------------------

TEST(CandidatesScripts, AShellCommandIsLookedUpOnTheTestsPathFirst) {
  TempDir dir{CANDIDATES_TMP_DIR};
  PathBytes app = fs::canonical(dir.path()).string();
  fs::create_directories(app + "/tools");
  write_file(app + "/tools/helper", "#!/bin/sh\necho helped\n");
  fs::permissions(app + "/tools/helper", fs::perms::owner_all);
  write_file(app + "/tools/gzip", "#!/bin/sh\nexec /usr/bin/gzip \"$@\"\n");
  fs::permissions(app + "/tools/gzip", fs::perms::owner_all);
  write_file(app + "/run.sh", "#!/bin/sh\nhelper\ngzip -c \"$0\"\n");
  std::vector<PathBytes> bundle = {"/usr/bin/dash", app + "/run.sh"};

  CandidateList standard = find_candidates(bundle, HostFileSystem());
  EXPECT_EQ(paths_of(standard), std::vector<PathBytes>{"/usr/bin/gzip"});

  // A relative directory (it depends on the test's cwd) is skipped.
  CandidateList tests = find_candidates(bundle, HostFileSystem(), "/", {}, {}, {}, {}, {"tools:" + app + "/tools/:/usr/bin"});
  std::vector<PathBytes> found = paths_of(tests);
  std::sort(found.begin(), found.end());
  EXPECT_EQ(found, (std::vector<PathBytes>{app + "/tools/gzip", app + "/tools/helper"}));
  const Candidate* helper = find(tests, app + "/tools/helper");
  ASSERT_NE(helper, nullptr);
  EXPECT_EQ(helper->reason, "program 'helper' is run by a shell script but no test ran it");
  EXPECT_EQ(helper->evidence, std::vector<std::string>{app + "/run.sh:2"});
  EXPECT_EQ(helper->include, "- " + app + "/tools/helper");
}

TEST(CandidatesScripts, TheTestsPathValuesComeFromTheSpecThenTheRecordedEnvironment) {
  TestCase plain, with_path, again;
  with_path.env = {{"PATH", "/opt/a:/usr/bin"}, {"LANG", "C"}};
  again.env = {{"PATH", "/opt/a:/usr/bin"}};
  Trace recorded, names_only;
  recorded.run.env_values = {{"PATH", "/opt/b"}, {"HOME", "/root"}};
  names_only.run.env_names = {"PATH"};
  EXPECT_EQ(test_search_paths({plain, with_path, again}, {names_only, recorded}), (std::vector<std::string>{"/opt/a:/usr/bin", "/opt/b"}));
  EXPECT_EQ(test_search_paths({plain}), std::vector<std::string>{});
}

TEST(CandidatesScriptsCli, AProgramOnThePathATestSetsIsNamedAndItsIncludeMakesTheOtherInputRun) {
  ScriptProject p;
  fs::create_directories(p.root + "/tools");
  write_file(p.root + "/tools/helper", "#!/bin/sh\necho helped\n");
  fs::permissions(p.root + "/tools/helper", fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
  write_file(p.root + "/app/run.sh",
             "#!/bin/sh\n"
             "if [ \"$1\" = help ]; then\n"
             "  helper\n"
             "else\n"
             "  echo plain\n"
             "fi\n");
  const std::string env = "    env: {PATH: \"" + p.root + "/tools:/usr/bin:/bin\"}\n";
  p.first_test = test_item("plain", "[/bin/sh, app/run.sh]", "plain") + env;
  p.other_test = test_item("help", "[/bin/sh, app/run.sh, help]", "helped") + env;
  p.spec(p.first_test);
  RunResult built = tracepack({"build", "tracepack.yaml", "--traces", "traces"}, {.cwd = p.root});
  ASSERT_TRUE(exited_with(built, 0)) << built.err;
  EXPECT_NE(built.err.find(" candidates to review, 1 from the application's own files"), std::string::npos) << built.err;

  Json report = report_json(p.root + "/traces/plain.jsonl", {"--spec", p.root + "/tracepack.yaml"});
  const Json* helper = find(report["candidates"], p.root + "/tools/helper");
  ASSERT_NE(helper, nullptr) << report["candidates"].dump(1);
  EXPECT_EQ((*helper)["kind"], "shell-command");
  EXPECT_EQ((*helper)["reason"], "program 'helper' is run by a shell script but no test ran it");
  EXPECT_EQ((*helper)["evidence"], Json::array({p.root + "/app/run.sh:3"}));
  EXPECT_EQ((*helper)["include"], "- " + p.root + "/tools/helper");
  EXPECT_EQ((*helper)["rank"], 1);
  RunResult why = tracepack({"why", p.root + "/traces/plain.jsonl", p.root + "/tools/helper", "--spec", "tracepack.yaml"}, {.cwd = p.root});
  EXPECT_TRUE(exited_with(why, 1));
  EXPECT_NE(why.out.find("candidate to review: program 'helper' is run by a shell script but no test ran it\n  at " + p.root +
                         "/app/run.sh:3\n  to add it, include: - " + p.root + "/tools/helper\n"),
            std::string::npos)
      << why.out;

  RunResult failed = p.verify_other();
  EXPECT_TRUE(exited_with(failed, 1));
  EXPECT_NE(failed.out.find("test 'help': FAILED in the bundle"), std::string::npos) << failed.out;
  ASSERT_TRUE(exited_with(p.build("include:\n  " + (*helper)["include"].get<std::string>() + "\n"), 0));
  EXPECT_TRUE(exited_with(p.verify_other(), 0));
}

}  // namespace
}  // namespace tracepack

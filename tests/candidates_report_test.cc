// The candidates section of `tracepack report`'s text, on real bundles: the
// likeliest candidates in full, alike lower-ranked ones folded into one row
// with one include glob, at most 20 rows, and --all-candidates for each in
// full. JSON keeps every candidate.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "cli_test_util.h"

namespace tracepack {
namespace {

namespace fs = std::filesystem;
using namespace cli_test;

std::size_t count(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (std::size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

// A program that lists a plugin directory of six and loads one.
struct PluginsProject {
  TempDir dir{CANDIDATES_TMP_DIR};
  std::string root = fs::canonical(dir.path()).string();
  std::string plugins = root + "/plugins";
  PluginsProject() {
    fs::create_directories(plugins);
    for (const char* name : {"one", "two", "three", "four", "five", "six"}) write_file(plugins + "/" + name + ".plugin", std::string(name) + "\n");
  }
  RunResult build(const std::string& extra = "") const {
    write_file(root + "/tracepack.yaml",
               "name: plugins\n"
               "tests:\n"
               "  - name: load\n"
               "    run: [" + copy_program(PLUGINS_BIN, root) + ", plugins, one.plugin]\n"
               "    stdout: \"one\\n\"\n" + extra +
               "output:\n  path: dist/plugins.tar\n");
    return tracepack({"build", "tracepack.yaml"}, {.cwd = root});
  }
};

TEST(CandidatesReport, AlikeLowerRankedCandidatesFoldIntoOneRowWithOneIncludeGlob) {
  PluginsProject p;
  ASSERT_TRUE(exited_with(p.build(), 0));
  std::string bundle = p.root + "/dist/plugins.tar";
  Json report = report_json(bundle);
  std::size_t listed = 0;
  for (const Json& c : report["candidates"]) listed += c["kind"] == "listed-directory";
  EXPECT_EQ(listed, 5u) << report["candidates"].dump(1);  // JSON keeps each

  RunResult text = tracepack({"report", bundle});
  ASSERT_TRUE(exited_with(text, 0));
  EXPECT_NE(text.out.find("\n  5 alike (5 files, 24 B): listed with " + p.plugins +
                          " by a traced process that used some of its entries, not this one: 'five.plugin', 'four.plugin', 'six.plugin' and 2 more\n"
                          "      at test 'load' (candidates_plugins) listed " + p.plugins + "; to add them all, include: - " + p.plugins + "/*.plugin\n"),
            std::string::npos)
      << text.out;
  EXPECT_EQ(text.out.find(p.plugins + "/two.plugin  ("), std::string::npos) << text.out;

  RunResult all = tracepack({"report", bundle, "--all-candidates"});
  ASSERT_TRUE(exited_with(all, 0));
  EXPECT_EQ(all.out.find(" alike ("), std::string::npos) << all.out;
  EXPECT_NE(all.out.find("\n  " + p.plugins + "/two.plugin  (1 file, 4 B): listed with " + p.plugins +
                         " by a traced process that used some of its entries, not this one\n      at test 'load' (candidates_plugins) listed " +
                         p.plugins + "\n      to add it, include: - " + p.plugins + "/two.plugin\n"),
            std::string::npos)
      << all.out;
  EXPECT_EQ(count(all.out, "      to add it, include: "), report["candidates"].size());

  // The folded row's glob adds them all.
  ASSERT_TRUE(exited_with(p.build("include:\n  - " + p.plugins + "/*.plugin\n"), 0));
  Json after = report_json(bundle);
  for (const Json& c : after["candidates"]) EXPECT_NE(c["kind"], "listed-directory") << c.dump();
}

// main.py imports 25 modules of its own inside a function no test calls.
struct ManyImportsProject {
  TempDir dir{CANDIDATES_TMP_DIR};
  std::string root = fs::canonical(dir.path()).string();
  ManyImportsProject() {
    fs::create_directories(root + "/app");
    std::string main = "def later():\n";
    for (int i = 1; i <= 25; ++i) {
      std::string name = (i < 10 ? "m0" : "m") + std::to_string(i);
      main += "    import " + name + "\n";
      write_file(root + "/app/" + name + ".py", "x = 1\n");
    }
    write_file(root + "/app/main.py", main + "\nprint('ok')\n");
    write_file(root + "/tracepack.yaml",
               "name: many\n"
               "tests:\n"
               "  - name: ok\n"
               "    run: [/usr/bin/python3, app/main.py]\n"
               "    stdout: \"ok\\n\"\n"
               "output:\n  path: dist/many.tar\n");
  }
};

TEST(CandidatesReport, AtMostTwentyRowsThenHowManyMoreAndTheCommandThatListsThemAll) {
  ManyImportsProject p;
  RunResult built = tracepack({"build", "tracepack.yaml"}, {.cwd = p.root});
  ASSERT_TRUE(exited_with(built, 0)) << built.err;
  std::string bundle = p.root + "/dist/many.tar";
  Json report = report_json(bundle);
  std::size_t total = report["candidates"].size();
  ASSERT_GE(total, 25u);
  EXPECT_NE(built.err.find("tracepack: " + std::to_string(total) + " candidates to review, "), std::string::npos) << built.err;

  // Rank 1 comes first, each in full: the first 20 rows are candidates of one.
  RunResult text = tracepack({"report", bundle});
  ASSERT_TRUE(exited_with(text, 0));
  EXPECT_NE(text.out.find("Candidates to review (" + std::to_string(total) + ")\n  " + p.root +
                          "/app/m01.py  (1 file, 6 B): module 'm01' is imported but no test loaded it\n      at " + p.root +
                          "/app/main.py:2\n      to add it, include: - " + p.root + "/app/m01.py\n"),
            std::string::npos)
      << text.out;
  EXPECT_EQ(count(text.out, "      to add it, include: "), 20u) << text.out;
  EXPECT_NE(text.out.find("/app/m20.py  ("), std::string::npos) << text.out;
  EXPECT_EQ(text.out.find("/app/m21.py  ("), std::string::npos) << text.out;
  EXPECT_TRUE(text.out.ends_with("  ... and " + std::to_string(total - 20) + " more candidates: tracepack report --all-candidates " + bundle + "\n"))
      << text.out;

  RunResult all = tracepack({"report", bundle, "--all-candidates"});
  ASSERT_TRUE(exited_with(all, 0));
  EXPECT_EQ(count(all.out, "      to add it, include: "), total) << all.out;
  EXPECT_NE(all.out.find("/app/m25.py  (1 file, 6 B): module 'm25' is imported but no test loaded it\n"), std::string::npos) << all.out;
  EXPECT_EQ(all.out.find("--all-candidates"), std::string::npos) << all.out;
}

}  // namespace
}  // namespace tracepack

// Sharded tracing end to end: `tracepack build --shard K/N --trace-only` on a
// small spec of shell tests, each reading its own file, then `pack` (directly
// or after `merge`) and `verify`, as docs/ci's GitHub Actions workflow and
// Kubernetes Indexed Job do. Their command lines are read from those files
// and run here with N=4, so that the test fails when the files drift; the
// bundle must be byte-identical (cmp) to the unsharded build's.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli_test_util.h"

namespace tracepack {
namespace {

namespace fs = std::filesystem;
using namespace cli_test;

const std::string kEpoch = "SOURCE_DATE_EPOCH=1700000000";
const std::string kDocsCi = DOCS_CI_DIR;

// Eight tests, each reading a file of its own with a program of its own.
const char* kTests[][2] = {{"cat-one", "cat data/f1.txt"},         {"wc-two", "wc -l data/f2.txt"},
                           {"head-three", "head -n1 data/f3.txt"}, {"sort-four", "sort data/f4.txt"},
                           {"grep-five", "grep file data/f5.txt"}, {"tail-six", "tail -n1 data/f6.txt"},
                           {"tr-seven", "tr a-z A-Z < data/f7.txt"}, {"cut-eight", "cut -c1-4 data/f8.txt"}};

std::string spec_text(std::size_t tests, const std::string& extra = "") {
  std::string text = "name: sharded\ntests:\n";
  for (std::size_t i = 0; i < tests; ++i) text += "  - name: " + std::string(kTests[i][0]) + "\n    shell: " + kTests[i][1] + "\n";
  text += extra;
  return text + "output:\n  path: dist/sharded.tar\n";
}

// A project directory under the build directory: the spec and its data files.
struct Project {
  TempDir dir{SHARD_TMP_DIR};
  explicit Project(std::size_t tests = 8, const std::string& extra = "") {
    fs::create_directory(dir / "data");
    for (int i = 1; i <= 8; ++i) write_file(dir / ("data/f" + std::to_string(i) + ".txt"), "file " + std::to_string(i) + "\n");
    write_file(dir / "tracepack.yaml", spec_text(tests, extra));
  }
  RunOptions options(std::vector<std::string> env = {}) const {
    env.push_back(kEpoch);
    env.push_back("PATH=" + fs::path(TRACEPACK_BIN).parent_path().string() + ":/usr/bin:/bin");
    return {.env = env, .cwd = dir.path()};
  }
  // One line of a CI file, run by the shell in the project.
  RunResult shell(const std::string& line, std::vector<std::string> env = {}) const { return run({"/bin/sh", "-ec", line}, options(env)); }
  // The unsharded bundle, the reference the sharded ones are compared with.
  std::string unsharded() const {
    RunResult built = tracepack({"build", "tracepack.yaml", "-o", dir / "unsharded.tar", "--no-verify"}, options());
    EXPECT_TRUE(exited_with(built, 0));
    return dir / "unsharded.tar";
  }
};

std::string trim(const std::string& s) {
  std::size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// The `run:` lines of a GitHub Actions workflow, in order.
std::vector<std::string> workflow_run_lines(const std::string& file) {
  std::vector<std::string> lines;
  std::istringstream in(read_file(file));
  for (std::string line; std::getline(in, line);) {
    std::string t = trim(line);
    if (t.starts_with("- run: ")) t = t.substr(2);
    if (t.starts_with("run: ")) lines.push_back(trim(t.substr(5)));
  }
  return lines;
}

// The lines of a file that start with "tracepack ", in order.
std::vector<std::string> tracepack_lines(const std::string& file) {
  std::vector<std::string> lines;
  std::istringstream in(read_file(file));
  for (std::string line; std::getline(in, line);)
    if (std::string t = trim(line); t.starts_with("tracepack ")) lines.push_back(t);
  return lines;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) text.replace(at, from.size(), to);
  return text;
}

// The tests `tracepack build --shard K/N --trace-only --json` traced.
std::vector<std::string> shard_tests(const Project& p, const std::string& shard) {
  RunResult r = tracepack({"build", "tracepack.yaml", "--shard", shard, "--trace-only", "--json", "--traces", p.dir / "t"}, p.options());
  EXPECT_TRUE(exited_with(r, 0));
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  if (j.is_discarded() || !j.contains("tests")) return {"(no JSON: " + r.out + ")"};
  return j["tests"].get<std::vector<std::string>>();
}

TEST(ShardCli, TheGithubActionsWorkflowGivesTheUnshardedBundle) {
  Project p;
  std::vector<std::string> lines = workflow_run_lines(kDocsCi + "/github-actions.yml");
  ASSERT_EQ(lines.size(), 3u) << "expected the trace, pack and verify steps";
  ASSERT_NE(lines[0].find("--shard ${{ matrix.shard }}/4 --trace-only"), std::string::npos) << lines[0];
  for (int k = 1; k <= 4; ++k) {
    RunResult traced = p.shell(replace_all(lines[0], "${{ matrix.shard }}", std::to_string(k)));
    ASSERT_TRUE(exited_with(traced, 0));
  }
  // Each of the 8 tests traced once, by one shard.
  std::set<std::string> traces;
  for (const auto& e : fs::directory_iterator(p.dir / "traces"))
    if (e.path().extension() == ".jsonl") traces.insert(e.path().filename().string());
  EXPECT_EQ(traces.size(), 8u);
  for (std::size_t i = 1; i < lines.size(); ++i) ASSERT_TRUE(exited_with(p.shell(lines[i]), 0)) << lines[i];
  std::string unsharded = p.unsharded();
  EXPECT_TRUE(exited_with(run({"cmp", unsharded, p.dir / "dist/bundle.tar"}), 0));
}

TEST(ShardCli, TheKubernetesIndexedJobGivesTheUnshardedBundle) {
  Project p;
  std::vector<std::string> lines = tracepack_lines(kDocsCi + "/k8s-indexed-job.yaml");
  ASSERT_EQ(lines.size(), 3u) << "expected the trace, pack and verify commands";
  ASSERT_NE(lines[0].find("--shard $((JOB_COMPLETION_INDEX + 1))/4 --trace-only"), std::string::npos) << lines[0];
  for (int index = 0; index < 4; ++index)
    ASSERT_TRUE(exited_with(p.shell(lines[0], {"JOB_COMPLETION_INDEX=" + std::to_string(index)}), 0));
  for (std::size_t i = 1; i < lines.size(); ++i) ASSERT_TRUE(exited_with(p.shell(lines[i]), 0)) << lines[i];
  std::string unsharded = p.unsharded();
  EXPECT_TRUE(exited_with(run({"cmp", unsharded, p.dir / "dist/bundle.tar"}), 0));
}

// Shards traced into directories of their own, merged in any order, then packed.
TEST(ShardCli, MergedShardsGiveTheUnshardedBundle) {
  Project p;
  std::vector<std::string> traces;
  for (int k = 4; k >= 1; --k) {
    std::string dir = p.dir / ("shard" + std::to_string(k));
    RunResult r = tracepack({"build", "tracepack.yaml", "--shard", std::to_string(k) + "/4", "--trace-only", "--traces", dir}, p.options());
    ASSERT_TRUE(exited_with(r, 0));
    if (fs::exists(dir))
      for (const auto& e : fs::directory_iterator(dir))
        if (e.path().extension() == ".jsonl") traces.push_back(e.path().string());
  }
  ASSERT_EQ(traces.size(), 8u);
  std::vector<std::string> merge = {"merge", "-o", p.dir / "merged.jsonl"};
  merge.insert(merge.end(), traces.begin(), traces.end());
  ASSERT_TRUE(exited_with(tracepack(merge, p.options()), 0));
  ASSERT_TRUE(exited_with(tracepack({"pack", "--spec", "tracepack.yaml", "-o", p.dir / "merged.tar", p.dir / "merged.jsonl"}, p.options()), 0));
  // And the traces themselves, last shard first.
  std::vector<std::string> pack = {"pack", "--spec", "tracepack.yaml", "-o", p.dir / "direct.tar"};
  pack.insert(pack.end(), traces.begin(), traces.end());
  ASSERT_TRUE(exited_with(tracepack(pack, p.options()), 0));
  std::string unsharded = p.unsharded();
  EXPECT_TRUE(exited_with(run({"cmp", unsharded, p.dir / "merged.tar"}), 0));
  EXPECT_TRUE(exited_with(run({"cmp", unsharded, p.dir / "direct.tar"}), 0));
}

// Shard 1 of 4 holds none of the eight names (shard_of is fixed by them).
TEST(ShardCli, AShardWithNoTestWritesNothingAndSaysSo) {
  Project p;
  RunResult r = tracepack({"build", "tracepack.yaml", "--shard", "1/4", "--trace-only", "--traces", p.dir / "t"}, p.options());
  ASSERT_TRUE(exited_with(r, 0));
  EXPECT_EQ(r.err, "tracepack: shard 1/4 holds none of the spec's 8 test(s): no trace written\n");
  EXPECT_TRUE(fs::is_empty(p.dir / "t"));
}

// Adding a test moves no other test to another shard.
TEST(ShardCli, ATestKeepsItsShardWhenAnotherIsAdded) {
  Project seven(7), eight(8);
  std::set<std::string> all;
  for (int k = 1; k <= 3; ++k) {
    std::string shard = std::to_string(k) + "/3";
    std::vector<std::string> before = shard_tests(seven, shard), after = shard_tests(eight, shard);
    after.erase(std::remove(after.begin(), after.end(), std::string("cut-eight")), after.end());
    EXPECT_EQ(before, after) << shard;
    all.insert(before.begin(), before.end());
  }
  EXPECT_EQ(all.size(), 7u);
}

TEST(ShardCli, TraceOnlyWritesTracesAndNoBundle) {
  Project p;
  RunResult r = tracepack({"build", "tracepack.yaml", "--trace-only"}, p.options());
  ASSERT_TRUE(exited_with(r, 0));
  std::string traces = p.dir / ".tracepack/traces";
  EXPECT_EQ(r.err, "tracepack: 8 test(s) traced into " + traces + "\ntracepack:   pack them with: tracepack pack --spec tracepack.yaml " +
                       traces + "/*.jsonl\n");
  EXPECT_TRUE(fs::exists(traces + "/cat-one.jsonl"));
  EXPECT_FALSE(fs::exists(p.dir / "dist"));
}

TEST(ShardCli, BadShardsAreUsageErrors) {
  Project p;
  for (const std::string shard : {"5/4", "0/4", "1/0", "1", "a/4", "1/4/2", "+1/4", ""}) {
    RunResult r = tracepack({"build", "tracepack.yaml", "--shard", shard, "--trace-only"}, p.options());
    EXPECT_TRUE(exited_with(r, 2)) << shard;
    EXPECT_EQ(r.err, "tracepack: error: --shard: expected K/N with 1 <= K <= N, not '" + shard + "'\n");
  }
  RunResult packing = tracepack({"build", "tracepack.yaml", "--shard", "1/4"}, p.options());
  EXPECT_TRUE(exited_with(packing, 2));
  EXPECT_EQ(packing.err,
            "tracepack: error: build: --shard needs --trace-only: a shard's traces are packed with the other shards' (tracepack pack "
            "--spec SPEC TRACES...)\n");
  EXPECT_FALSE(fs::exists(p.dir / ".tracepack"));
}

}  // namespace
}  // namespace tracepack

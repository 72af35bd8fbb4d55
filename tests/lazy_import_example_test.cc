// The lazy-import example (fixtures/lazy-import) end to end, and what it
// needs: an include: glob brings the libraries its ELF files link (numpy's
// extension modules and the BLAS and LAPACK behind them), the Python import
// finder survives a namespace package inside a regular one (numpy's
// random/_examples), and `build --no-candidates` skips the analysis.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "cli_test_util.h"
#include "tracepack/candidates.h"

namespace tracepack {
namespace {

namespace fs = std::filesystem;
using namespace cli_test;

bool have_numpy() { return run({"/usr/bin/python3", "-c", "import numpy"}).exit_code == 0; }

// fixtures/lazy-import/run-example.sh: build with the summary test, the
// report's numpy candidate, verify of the stats path failing, the include:
// line added, build again, verify passing. The script stops with an error
// when a step turns out otherwise; its work directory keeps each step's output.
TEST(LazyImportExample, TheReportNamesNumpyAndItsIncludeLineMakesTheStatsPathRun) {
  if (!have_numpy()) GTEST_SKIP() << "/usr/bin/python3 cannot import numpy (Debian package python3-numpy)";
  TempDir dir(LAZY_IMPORT_TMP_DIR);
  std::string work = dir / "work";
  RunResult example = run({LAZY_IMPORT_DIR "/run-example.sh", fs::path(TRACEPACK_BIN).parent_path().string(), work});
  ASSERT_TRUE(exited_with(example, 0));

  EXPECT_NE(example.err.find(" candidates to review, 1 from the application's own files (what it may need that no test used): "
                             "tracepack report " +
                             work + "/dist/lazy.tar\n"),
            std::string::npos)
      << example.err;
  Json report = Json::parse(read_file(work + "/report.json"));
  const Json* numpy = nullptr;
  for (const Json& c : report["candidates"])
    if (c["path"] == "/usr/lib/python3/dist-packages/numpy") numpy = &c;
  ASSERT_NE(numpy, nullptr) << report["candidates"].dump(1);
  EXPECT_EQ((*numpy)["reason"], "module 'numpy' is imported but no test loaded it");
  EXPECT_EQ((*numpy)["evidence"], Json::array({work + "/app.py:22"}));
  EXPECT_EQ((*numpy)["include"], "- /usr/lib/python3/dist-packages/numpy/**");
  EXPECT_EQ((*numpy)["rank"], 1);
  EXPECT_EQ((*numpy)["package"], "Debian package python3-numpy");
  EXPECT_NE(example.out.find(", Debian package python3-numpy): module 'numpy' is imported but no test loaded it\n"), std::string::npos)
      << example.out;
  EXPECT_NE(example.out.find("      at " + work + "/app.py:22\n      to add it, include: - /usr/lib/python3/dist-packages/numpy/**\n"),
            std::string::npos)
      << example.out;

  // Without numpy, the stats path fails in the bundle and verify names numpy's files.
  std::string first_verify = read_file(work + "/verify-1.txt");
  EXPECT_NE(first_verify.find("test 'summary': passed in the bundle\n"), std::string::npos) << first_verify;
  EXPECT_NE(first_verify.find("test 'stats': FAILED in the bundle: exit status 1, expected 0\n"), std::string::npos) << first_verify;
  EXPECT_NE(first_verify.find("  missing: /usr/lib/python3/dist-packages/numpy/"), std::string::npos) << first_verify;

  // With the include: line, both paths run from the bundle.
  EXPECT_NE(read_file(work + "/tracepack.yaml").find("include:\n  - /usr/lib/python3/dist-packages/numpy/**\n"), std::string::npos);
  EXPECT_TRUE(example.out.ends_with("test 'summary': passed in the bundle\ntest 'stats': passed in the bundle\n")) << example.out;
}

// A program that an include: glob matches (and no test ran) comes with the
// shared libraries it links, and runs from the bundle.
TEST(IncludeGlobLibraries, AProgramAnIncludeGlobMatchesBringsItsLibrariesAndRuns) {
  TempDir dir(LAZY_IMPORT_TMP_DIR);
  // xz: a program of the system, not of this build (which may be built with
  // sanitizers that cannot run under the verifying tracer).
  const std::string packer = "/usr/bin/xz";
  write_file(dir / "tracepack.yaml",
             "name: globbed\n"
             "tests:\n"
             "  - name: true\n"
             "    run: [/bin/true]\n"
             "include:\n"
             "  - " +
                 packer +
                 "\n"
                 "output:\n"
                 "  path: dist/globbed\n");
  ASSERT_TRUE(exited_with(tracepack({"build", "tracepack.yaml", "--no-candidates"}, {.cwd = dir.path()}), 0));
  std::string bundle = dir / "dist/globbed";
  const std::string yaml_cpp = fs::canonical("/lib/x86_64-linux-gnu/liblzma.so.5").string();
  ASSERT_TRUE(fs::exists(bundle + yaml_cpp)) << yaml_cpp << " is not in the bundle";
  RunResult why = tracepack({"why", bundle, yaml_cpp});
  EXPECT_TRUE(exited_with(why, 0));
  EXPECT_NE(why.out.find("liblzma.so.5 needed by " + packer + " (ld.so.cache)"), std::string::npos) << why.out;
  RunResult in_bundle = tracepack({"verify", bundle, "--", packer, "--version"}, {.cwd = dir.path()});
  EXPECT_TRUE(exited_with(in_bundle, 0));
}

// numpy/random/_examples has no __init__.py: a namespace package inside a
// regular one, which the import finder used to fail on, losing every import.
TEST(PythonImportCandidates, ANamespacePackageInsideARegularOneIsNoError) {
  TempDir dir(LAZY_IMPORT_TMP_DIR);
  PathBytes app = fs::canonical(dir.path()).string() + "/app";
  fs::create_directories(app + "/pkg/sub/ns");
  write_file(app + "/main.py", "import pkg.sub.ns.mod\n\n\ndef later():\n    import heavy\n");
  write_file(app + "/pkg/__init__.py", "");
  write_file(app + "/pkg/sub/__init__.py", "");
  write_file(app + "/pkg/sub/ns/mod.py", "");
  write_file(app + "/heavy.py", "");
  PathBytes python = fs::canonical("/usr/bin/python3").string();
  std::vector<PathBytes> bundle = {app,
                                   app + "/main.py",
                                   app + "/pkg",
                                   app + "/pkg/__init__.py",
                                   app + "/pkg/sub",
                                   app + "/pkg/sub/__init__.py",
                                   app + "/pkg/sub/ns",
                                   app + "/pkg/sub/ns/mod.py",
                                   python};
  std::sort(bundle.begin(), bundle.end());
  CandidateList list = find_candidates(bundle, HostFileSystem());
  EXPECT_TRUE(list.notes.empty()) << list.notes.front();
  ASSERT_EQ(list.candidates.size(), 1u);
  EXPECT_EQ(list.candidates[0].path, app + "/heavy.py");
  EXPECT_EQ(list.candidates[0].evidence, std::vector<std::string>{app + "/main.py:5"});
}

// `build --no-candidates` packs and verifies as before, without the analysis
// or its line.
TEST(BuildNoCandidates, TheFlagLeavesTheCandidatesLineOut) {
  TempDir dir(LAZY_IMPORT_TMP_DIR);
  write_file(dir / "main.py", "import sys\n\n\ndef later():\n    import heavy\n\n\nprint('ok')\n");
  write_file(dir / "heavy.py", "");
  write_file(dir / "tracepack.yaml",
             "name: flag\n"
             "tests:\n"
             "  - name: ok\n"
             "    run: [/usr/bin/python3, main.py]\n"
             "    env: {PYTHONDONTWRITEBYTECODE: \"1\"}\n"
             "    stdout: \"ok\\n\"\n"
             "output:\n"
             "  path: dist/flag.tar\n");
  RunResult with = tracepack({"build", "tracepack.yaml"}, {.cwd = dir.path()});
  ASSERT_TRUE(exited_with(with, 0));
  EXPECT_NE(with.err.find(" to review, 1 from the application's own files"), std::string::npos) << with.err;
  RunResult without = tracepack({"build", "tracepack.yaml", "--no-candidates"}, {.cwd = dir.path()});
  ASSERT_TRUE(exited_with(without, 0));
  EXPECT_EQ(without.err.find("to review"), std::string::npos) << without.err;
  EXPECT_NE(without.err.find("tracepack: verify: test 'ok': passed in the bundle\n"), std::string::npos) << without.err;
  RunResult help = tracepack({"build", "--help"});
  EXPECT_NE(help.out.find("--no-candidates"), std::string::npos) << help.out;
}

}  // namespace
}  // namespace tracepack

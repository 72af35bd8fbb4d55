// Candidates to review from ELF files (dlopen() hints: a .note.dlopen, a
// library name in read-only data) and from directories a traced process
// listed and used in part, found with real programs (candidates_fixtures/).
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

const Candidate* find_by_name(const CandidateList& list, const std::string& name) {
  auto it = std::find_if(list.candidates.begin(), list.candidates.end(),
                         [&](const Candidate& c) { return fs::path(c.path).filename() == name; });
  return it == list.candidates.end() ? nullptr : &*it;
}

std::vector<PathBytes> paths_of(const CandidateList& list) {
  std::vector<PathBytes> paths;
  for (const Candidate& c : list.candidates) paths.push_back(c.path);
  return paths;
}

// What a bundle of a traced run of `program` holds: it, libc and the loader
// (as traced: the paths opened, and their targets).
std::vector<PathBytes> bundle_of(const PathBytes& program) {
  std::vector<PathBytes> paths = {program};
  for (const char* lib : {"/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"}) {
    paths.push_back(lib);
    paths.push_back(fs::canonical(lib).string());
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

const PathBytes kLibz = fs::canonical("/lib/x86_64-linux-gnu/libz.so.1").string();

TEST(ElfCandidates, ALibraryNamedInReadOnlyDataIsACandidateWithAnElfInclude) {
  const PathBytes program = fs::canonical(DLOPEN_Z_BIN).string();
  CandidateList list = find_candidates(bundle_of(program), HostFileSystem());
  const Candidate* z = find_by_name(list, "libz.so.1");
  ASSERT_NE(z, nullptr) << testing::PrintToString(paths_of(list));
  EXPECT_EQ(fs::canonical(z->path).string(), kLibz);
  EXPECT_EQ(z->kind, "elf-string");
  EXPECT_EQ(z->rank, 3);
  EXPECT_EQ(z->reason, "library 'libz.so.1' is named in an ELF file's read-only data but no test loaded it");
  EXPECT_EQ(z->evidence, std::vector<std::string>{program + ": string \"libz.so.1\""});
  EXPECT_EQ(z->files, 1u);  // its closure's libc is in the bundle
  EXPECT_EQ(z->bytes, fs::file_size(kLibz));
  EXPECT_EQ(z->include, "- elf: " + z->path);
}

TEST(ElfCandidates, ALibraryTheBundleHoldsIsNoCandidate) {
  const PathBytes program = fs::canonical(DLOPEN_Z_BIN).string();
  std::vector<PathBytes> bundle = bundle_of(program);
  bundle.push_back("/lib/x86_64-linux-gnu/libz.so.1");
  bundle.push_back(kLibz);
  std::sort(bundle.begin(), bundle.end());
  EXPECT_EQ(find_by_name(find_candidates(bundle, HostFileSystem()), "libz.so.1"), nullptr);
}

TEST(ElfCandidates, ADlopenNoteComesBeforeAStringLiteral) {
  const PathBytes program = fs::canonical(DLOPEN_NOTE_BIN).string();
  CandidateList list = find_candidates(bundle_of(program), HostFileSystem());
  const Candidate* z = find_by_name(list, "libz.so.1");
  const Candidate* lzma = find_by_name(list, "liblzma.so.5");
  ASSERT_NE(z, nullptr) << testing::PrintToString(paths_of(list));
  ASSERT_NE(lzma, nullptr) << testing::PrintToString(paths_of(list));
  EXPECT_EQ(z->kind, "elf-dlopen-note");
  EXPECT_EQ(z->rank, 2);
  EXPECT_EQ(z->reason, "library 'libz.so.1' is declared for dlopen() in a .note.dlopen (feature compression) but no test loaded it");
  EXPECT_EQ(z->evidence, std::vector<std::string>{program + ": .note.dlopen (feature compression, priority required)"});
  EXPECT_EQ(z->include, "- elf: " + z->path);
  EXPECT_EQ(lzma->kind, "elf-string");
  EXPECT_EQ(lzma->rank, 3);
  EXPECT_EQ(lzma->evidence, std::vector<std::string>{program + ": string \"liblzma.so.5\""});
  EXPECT_EQ(list.candidates.front().path, z->path);
}

// A plugin directory of three files.
struct Plugins {
  TempDir dir{CANDIDATES_TMP_DIR};
  PathBytes root;
  PathBytes plugins;
  Plugins() {
    root = fs::canonical(dir.path()).string();
    plugins = root + "/plugins";
    fs::create_directories(plugins);
    for (const char* name : {"one.plugin", "two.plugin", "three.plugin"}) write_file(plugins + "/" + name, std::string(name) + "\n");
  }
};

TEST(ListedCandidates, TheEntriesOfAListedDirectoryNoTestOpenedAreCandidates) {
  Plugins p;
  PlanEntry dir;
  dir.path = p.plugins;
  dir.type = EntryType::directory;
  PlanReason listing;
  listing.detail = "test 'load', candidates_plugins, getdents64";
  listing.test = "load";
  listing.pid = 42;
  listing.syscall = "getdents64";
  dir.reasons.push_back(listing);
  std::vector<ListedDirectory> listed = listed_directories({dir});
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].by, std::vector<std::string>{"test 'load', pid 42 (candidates_plugins)"});

  CandidateList list = find_candidates({p.plugins, p.plugins + "/one.plugin"}, HostFileSystem(), "/", {}, listed);
  EXPECT_EQ(paths_of(list), (std::vector<PathBytes>{p.plugins + "/three.plugin", p.plugins + "/two.plugin"}));
  ASSERT_EQ(list.candidates.size(), 2u);
  const Candidate& two = list.candidates[1];
  EXPECT_EQ(two.kind, "listed-directory");
  EXPECT_EQ(two.rank, 4);
  EXPECT_EQ(two.reason, "listed with " + p.plugins + " by a traced process that used some of its entries, not this one");
  EXPECT_EQ(two.evidence, std::vector<std::string>{"test 'load', pid 42 (candidates_plugins) listed " + p.plugins});
  EXPECT_EQ(two.files, 1u);
  EXPECT_EQ(two.bytes, 11u);
  EXPECT_EQ(two.include, "- " + p.plugins + "/two.plugin");
}

TEST(ListedCandidates, ADirectoryOnlyListedGivesNone) {
  Plugins p;
  std::vector<ListedDirectory> listed = listed_directories({{p.plugins, {"test 'ls', ls, getdents64"}}});
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].by, std::vector<std::string>{"test 'ls' (ls)"});
  EXPECT_TRUE(find_candidates({p.plugins}, HostFileSystem(), "/", {}, listed).candidates.empty());
}

// End to end: the test runs the program without its argument, so the bundle
// lacks libz; the report names it with the elf: include, and with that line
// the run that loads it passes verify.
struct DlopenProject {
  TempDir dir{CANDIDATES_TMP_DIR};
  PathBytes root;
  PathBytes program;
  explicit DlopenProject(const char* binary = DLOPEN_Z_BIN) {
    root = fs::canonical(dir.path()).string();
    program = copy_program(binary, root);
  }
  void spec(const std::string& extra_tests, const std::string& extra = "") const {
    write_file(root + "/tracepack.yaml",
               "name: lazyz\n"
               "tests:\n"
               "  - name: plain\n"
               "    run: [" + program + "]\n"
               "    stdout: \"plain\\n\"\n" +
                   extra_tests + extra + "output:\n  path: dist/lazyz.tar\n");
  }
  std::string z_test() const { return "  - name: z\n    run: [" + program + ", z]\n    stdout: \"compressed\\n\"\n"; }
  RunResult build() const { return tracepack({"build", "tracepack.yaml"}, {.cwd = root}); }
  RunResult verify() const { return tracepack({"verify", root + "/dist/lazyz.tar", "--spec", "tracepack.yaml"}, {.cwd = root}); }
};

TEST(ElfCandidatesCli, TheDlopenedLibraryIsNamedWithTheElfIncludeThatAddsIt) {
  DlopenProject p;
  p.spec("");
  ASSERT_TRUE(exited_with(p.build(), 0));
  Json report = report_json(p.root + "/dist/lazyz.tar");
  const Json* z = nullptr;
  for (const Json& c : report["candidates"])
    if (fs::path(c["path"].get<std::string>()).filename() == "libz.so.1") z = &c;
  ASSERT_NE(z, nullptr) << report["candidates"].dump(2);
  EXPECT_EQ((*z)["kind"], "elf-string");
  EXPECT_EQ((*z)["evidence"], Json::array({p.program + ": string \"libz.so.1\""}));
  const std::string include = (*z)["include"].get<std::string>();
  EXPECT_EQ(include, "- elf: " + (*z)["path"].get<std::string>());

  RunResult text = tracepack({"report", p.root + "/dist/lazyz.tar"});
  EXPECT_NE(text.out.find("library 'libz.so.1' is named in an ELF file's read-only data but no test loaded it\n      at " + p.program +
                          ": string \"libz.so.1\"\n      to add it, include: " + include + "\n"),
            std::string::npos)
      << text.out;

  // The run that loads it fails in this bundle...
  p.spec(p.z_test());
  RunResult failed = p.verify();
  EXPECT_TRUE(exited_with(failed, 1));
  EXPECT_NE(failed.out.find("test 'z': FAILED in the bundle"), std::string::npos) << failed.out;
  // ... and passes in one built with the include: line the report gave.
  p.spec("", "include:\n  " + include + "\n");
  ASSERT_TRUE(exited_with(p.build(), 0));
  p.spec(p.z_test());
  RunResult passed = p.verify();
  EXPECT_TRUE(exited_with(passed, 0)) << passed.out << passed.err;
}

// The same with a program whose .note.dlopen alone declares the library.
TEST(ElfCandidatesCli, TheLibraryADlopenNoteDeclaresIsNamedAndItsIncludeMakesTheRunWork) {
  DlopenProject p(DLOPEN_NOTE_Z_BIN);
  p.spec("");
  ASSERT_TRUE(exited_with(p.build(), 0));
  Json report = report_json(p.root + "/dist/lazyz.tar");
  const Json* z = nullptr;
  for (const Json& c : report["candidates"])
    if (fs::path(c["path"].get<std::string>()).filename() == "libz.so.1") z = &c;
  ASSERT_NE(z, nullptr) << report["candidates"].dump(2);
  EXPECT_EQ((*z)["kind"], "elf-dlopen-note");
  EXPECT_EQ((*z)["rank"], 2);
  EXPECT_EQ((*z)["evidence"], Json::array({p.program + ": .note.dlopen (feature compression, priority recommended)"}));
  EXPECT_EQ((*z)["reason"], "library 'libz.so.1' is declared for dlopen() in a .note.dlopen (feature compression) but no test loaded it");
  const std::string include = (*z)["include"].get<std::string>();
  EXPECT_EQ(include, "- elf: " + (*z)["path"].get<std::string>());

  p.spec(p.z_test());
  RunResult failed = p.verify();
  EXPECT_TRUE(exited_with(failed, 1));
  EXPECT_NE(failed.out.find("test 'z': FAILED in the bundle"), std::string::npos) << failed.out;
  p.spec("", "include:\n  " + include + "\n");
  ASSERT_TRUE(exited_with(p.build(), 0));
  p.spec(p.z_test());
  RunResult passed = p.verify();
  EXPECT_TRUE(exited_with(passed, 0)) << passed.out << passed.err;
}

TEST(ListedCandidatesCli, TheOtherPluginsOfAListedDirectoryAreInTheReport) {
  Plugins p;
  write_file(p.root + "/tracepack.yaml",
             "name: plugins\n"
             "tests:\n"
             "  - name: load\n"
             "    run: [" + copy_program(PLUGINS_BIN, p.root) + ", plugins, one.plugin]\n"
             "    stdout: \"one.plugin\\n\"\n"
             "output:\n  path: dist/plugins.tar\n");
  ASSERT_TRUE(exited_with(tracepack({"build", "tracepack.yaml"}, {.cwd = p.root}), 0));
  Json report = report_json(p.root + "/dist/plugins.tar");
  std::vector<std::string> listed;
  for (const Json& c : report["candidates"])
    if (c["kind"] == "listed-directory") {
      listed.push_back(c["path"]);
      EXPECT_EQ(c["evidence"], Json::array({"test 'load' (candidates_plugins) listed " + p.plugins}));
      EXPECT_EQ(c["rank"], 4);
    }
  EXPECT_EQ(listed, (std::vector<std::string>{p.plugins + "/three.plugin", p.plugins + "/two.plugin"})) << report["candidates"].dump(2);
}

}  // namespace
}  // namespace tracepack

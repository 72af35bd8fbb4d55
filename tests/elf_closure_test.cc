// Tests for elf_closure: a differential test against ldd (the real ld.so in
// trace mode) on system files, and cases built with gcc from fixtures/elf/*.c
// in a temporary directory: RPATH against RUNPATH, $ORIGIN, $LIB/$PLATFORM,
// glibc-hwcaps, LD_LIBRARY_PATH, names with a '/', other-class libraries,
// missing libraries, symlink chains, fake roots with and without a cache.
// Where ld.so can run the fixture, its answer (ldd) is checked as well.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli_test_util.h"
#include "tracepack/elf_closure.h"
#include "tracepack/error.h"

namespace tracepack {
namespace {

namespace fs = std::filesystem;

const std::string kSources = std::string(FIXTURE_SRC_DIR) + "/elf/";

using cli_test::TempDir;  // its path is canonical, as the closure reports paths

struct CommandResult {
  int status = -1;
  std::string output;  // stdout, and stderr too unless the command redirects it
};

// Runs a shell command; stderr joins stdout unless `command` sends it elsewhere.
CommandResult run_command(const std::string& command) {
  CommandResult result;
  bool redirects_stderr = command.find(" 2>") != std::string::npos;
  FILE* pipe = popen((redirects_stderr ? command : command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  std::size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, n);
  int status = pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Runs gcc; a failure is a test failure, with gcc's output.
void gcc(const std::string& args) {
  CommandResult r = run_command("gcc " + args);
  ASSERT_EQ(r.status, 0) << "gcc " << args << "\n" << r.output;
}

void make_dirs(const std::string& path) { fs::create_directories(path); }

// Builds fixtures/elf/<source>.c as a shared library at `out`.
void build_lib(const std::string& source, const std::string& out, const std::string& flags = "") {
  make_dirs(fs::path(out).parent_path().string());
  gcc("-shared -fPIC -o " + quote(out) + " " + quote(kSources + source + ".c") + " " + flags);
}

// Builds fixtures/elf/<source>.c as an executable at `out`.
void build_exe(const std::string& source, const std::string& out, const std::string& flags) {
  make_dirs(fs::path(out).parent_path().string());
  gcc("-o " + quote(out) + " " + quote(kSources + source + ".c") + " " + flags);
}

std::string realpath_of(const std::string& path) {
  std::error_code error;
  fs::path p = fs::canonical(path, error);
  return error ? path : p.string();
}

// What ldd (ld.so with LD_TRACE_LOADED_OBJECTS) loads for `file`.
struct LddView {
  bool ok = false;
  std::set<std::string> resolved;  // realpath of every object, the interpreter included
  std::set<std::string> missing;   // names printed as "=> not found"
  std::string output;
};

void parse_ldd_line(const std::string& raw, LddView& view) {
  std::string line = raw.substr(std::min(raw.size(), raw.find_first_not_of(" \t")));
  std::size_t arrow = line.find(" => ");
  if (arrow != std::string::npos) {
    std::string rest = line.substr(arrow + 4);
    if (rest.starts_with("not found"))
      view.missing.insert(line.substr(0, arrow));
    else if (rest.starts_with("/"))
      view.resolved.insert(realpath_of(rest.substr(0, rest.find(" ("))));
  } else if (line.starts_with("/")) {
    view.resolved.insert(realpath_of(line.substr(0, line.find(" ("))));  // the interpreter
  }
}

LddView run_ldd(const std::string& file, const std::string& env = "") {
  LddView view;
  CommandResult r = run_command(env + " ldd " + quote(file));
  view.output = r.output;
  view.ok = r.output.find("=>") != std::string::npos || r.output.find("ld-linux") != std::string::npos;
  std::istringstream lines(r.output);
  for (std::string line; std::getline(lines, line);) parse_ldd_line(line, view);
  return view;
}

std::set<std::string> closure_resolved(const ElfClosure& closure) {
  std::set<std::string> out;
  for (const ElfDependency& dep : closure.dependencies) out.insert(dep.resolved);
  return out;
}

std::set<std::string> closure_missing_names(const ElfClosure& closure) {
  std::set<std::string> out;
  for (const std::string& entry : closure.missing) out.insert(entry.substr(0, entry.find(" (needed by ")));
  return out;
}

std::string describe_difference(const std::set<std::string>& ldd, const std::set<std::string>& ours) {
  std::string out;
  for (const std::string& path : ldd)
    if (!ours.contains(path)) out += "  only ldd:     " + path + "\n";
  for (const std::string& path : ours)
    if (!ldd.contains(path)) out += "  only closure: " + path + "\n";
  return out;
}

// Asserts that the closure loads the same files, and misses the same names, as ldd.
void expect_same_as_ldd(const std::string& file, const ElfClosure& closure, const std::string& env = "") {
  LddView ldd = run_ldd(file, env);
  ASSERT_TRUE(ldd.ok) << "ldd " << file << ":\n" << ldd.output;
  std::set<std::string> ours = closure_resolved(closure);
  EXPECT_EQ(ldd.resolved, ours) << file << ":\n" << describe_difference(ldd.resolved, ours) << ldd.output;
  EXPECT_EQ(ldd.missing, closure_missing_names(closure)) << file << ":\n" << ldd.output;
}

const ElfDependency* find_dep(const ElfClosure& closure, const std::string& needed) {
  for (const ElfDependency& dep : closure.dependencies)
    if (dep.needed == needed) return &dep;
  return nullptr;
}

// The standard chain: <dir>/b/libb.so, <dir>/a/liba.so (needs libb.so,
// with `a_flags`), and <dir>/bin/main (needs liba.so, with `main_flags`).
void build_chain(const TempDir& dir, const std::string& a_flags, const std::string& main_flags) {
  build_lib("libb", dir / "b/libb.so");
  build_lib("liba", dir / "a/liba.so", "-L" + quote(dir / "b") + " -lb " + a_flags);
  build_exe("main", dir / "bin/main", "-L" + quote(dir / "a") + " -la -Wl,-rpath-link," + quote(dir / "b") + " " + main_flags);
}

// ---------------------------------------------------------------------------
// Differential test against ldd

TEST(ElfClosureLdd, MatchesLddOnSystemFiles) {
  const std::vector<std::string> candidates = {"/usr/bin/python3",
                                               "/bin/bash",
                                               "/usr/bin/ssh",
                                               "/usr/bin/openssl",
                                               "/usr/bin/gcc",
                                               "/usr/lib/x86_64-linux-gnu/libarchive.so.13",
                                               "/usr/bin/tar",
                                               "/usr/bin/perl",
                                               "/usr/bin/find",
                                               "/usr/bin/sort",
                                               "/usr/bin/curl",
                                               "/usr/lib/x86_64-linux-gnu/libssl.so.3",
                                               "/usr/bin/strace",
                                               "/usr/bin/git",
                                               "/usr/bin/cmake",
                                               "/usr/bin/ninja",
                                               "/usr/lib/x86_64-linux-gnu/libelf.so.1",
                                               "/usr/lib/x86_64-linux-gnu/libstdc++.so.6"};
  int compared = 0;
  for (const std::string& file : candidates) {
    if (access(file.c_str(), R_OK) != 0) continue;
    SCOPED_TRACE(file);
    ElfClosure closure = elf_closure({file});
    expect_same_as_ldd(file, closure);
    std::printf("[ closure  ] %s: %zu objects, same as ldd\n", file.c_str(), closure.dependencies.size());
    ++compared;
  }
  EXPECT_GE(compared, 10) << "too few of the candidate files are installed";
}

// ---------------------------------------------------------------------------
// Fixture cases

TEST(ElfClosure, InterpreterComesFirstWithItsSymlinks) {
  TempDir dir;
  build_exe("plain", dir / "plain", "");
  ElfClosure closure = elf_closure({dir / "plain"});
  ASSERT_FALSE(closure.dependencies.empty());
  const ElfDependency& interp = closure.dependencies.front();
  EXPECT_EQ(interp.found_via, "PT_INTERP");
  EXPECT_EQ(interp.needed, "/lib64/ld-linux-x86-64.so.2");
  EXPECT_EQ(interp.path, "/lib64/ld-linux-x86-64.so.2");
  EXPECT_EQ(interp.needed_by, dir / "plain");
  EXPECT_EQ(interp.resolved, realpath_of("/lib64/ld-linux-x86-64.so.2"));
  if (fs::is_symlink("/lib64")) {
    ASSERT_FALSE(interp.links.empty());
    EXPECT_EQ(interp.links.front(), (Symlink{"/lib64", fs::read_symlink("/lib64").string()}));
  }
  EXPECT_EQ(closure.roots, std::vector<PathBytes>{dir / "plain"});
  expect_same_as_ldd(dir / "plain", closure);
}

TEST(ElfClosure, RpathIsTransitive) {
  TempDir dir;
  build_chain(dir, "", "-Wl,--disable-new-dtags,-rpath," + quote(dir / "a:" + dir / "b"));
  ElfClosure closure = elf_closure({dir / "bin/main"});
  EXPECT_TRUE(closure.missing.empty());
  const ElfDependency* b = find_dep(closure, "libb.so");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->path, dir / "b/libb.so");
  EXPECT_EQ(b->found_via, "DT_RPATH");
  EXPECT_EQ(b->needed_by, dir / "a/liba.so");
  expect_same_as_ldd(dir / "bin/main", closure);
}

TEST(ElfClosure, RunpathIsNotTransitive) {
  TempDir dir;
  build_chain(dir, "", "-Wl,--enable-new-dtags,-rpath," + quote(dir / "a:" + dir / "b"));
  ElfClosure closure = elf_closure({dir / "bin/main"});
  const ElfDependency* a = find_dep(closure, "liba.so");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->found_via, "DT_RUNPATH");
  EXPECT_EQ(find_dep(closure, "libb.so"), nullptr);
  EXPECT_EQ(closure.missing, std::vector<std::string>{"libb.so (needed by " + dir / "a/liba.so" + ")"});
  expect_same_as_ldd(dir / "bin/main", closure);
}

TEST(ElfClosure, RunpathOfTheRequesterDisablesRpathOfItsLoaders) {
  TempDir dir;
  // liba has a RUNPATH that leads nowhere: the executable's RPATH, which
  // holds libb, is then not searched for liba's needs.
  build_chain(dir, "-Wl,--enable-new-dtags,-rpath," + quote(dir / "nowhere"),
              "-Wl,--disable-new-dtags,-rpath," + quote(dir / "a:" + dir / "b"));
  ElfClosure closure = elf_closure({dir / "bin/main"});
  EXPECT_EQ(closure.missing, std::vector<std::string>{"libb.so (needed by " + dir / "a/liba.so" + ")"});
  expect_same_as_ldd(dir / "bin/main", closure);
}

TEST(ElfClosure, OriginExpandsInBothForms) {
  TempDir dir;
  build_chain(dir, "-Wl,--enable-new-dtags,-rpath,'${ORIGIN}/../b'", "-Wl,--enable-new-dtags,-rpath,'$ORIGIN/../a'");
  ElfClosure closure = elf_closure({dir / "bin/main"});
  EXPECT_TRUE(closure.missing.empty());
  const ElfDependency* a = find_dep(closure, "liba.so");
  const ElfDependency* b = find_dep(closure, "libb.so");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(a->path, dir / "bin/../a/liba.so");  // the loader joins the text, it does not normalise it
  EXPECT_EQ(a->resolved, dir / "a/liba.so");
  EXPECT_EQ(b->path, dir / "bin/../a/../b/libb.so");
  EXPECT_EQ(b->found_via, "DT_RUNPATH");
  expect_same_as_ldd(dir / "bin/main", closure);
}

TEST(ElfClosure, OriginOfTheExecutableIsItsResolvedDirectory) {
  TempDir dir;
  build_chain(dir, "", "-Wl,--disable-new-dtags,-rpath,'$ORIGIN/../a:$ORIGIN/../b'");
  make_dirs(dir / "elsewhere/deeper");
  fs::create_symlink(dir / "bin/main", dir / "elsewhere/deeper/link");
  ElfClosure closure = elf_closure({dir / "elsewhere/deeper/link"});
  EXPECT_TRUE(closure.missing.empty());
  EXPECT_EQ(closure.roots, std::vector<PathBytes>{dir / "bin/main"});
  EXPECT_EQ(find_dep(closure, "liba.so")->path, dir / "bin/../a/liba.so");
  // ldd runs the loader on the link's name and so takes the link's directory
  // as $ORIGIN; an exec takes /proc/self/exe's. Running it is the judge.
  CommandResult r = run_command(quote(dir / "elsewhere/deeper/link"));
  EXPECT_EQ(r.status, 0) << r.output;
}

TEST(ElfClosure, LibAndPlatformExpandLikeTheLoader) {
  TempDir dir;
  // Debian's ld.so: $LIB is "lib/x86_64-linux-gnu", $PLATFORM the AT_PLATFORM
  // name (or "haswell" on recent Intel CPUs). ldd is the judge.
  build_lib("libb", dir / "root/lib/x86_64-linux-gnu/libb.so");
  for (const char* platform : {"x86_64", "haswell", "xeon_phi"})
    build_lib("liba", dir / ("p/" + std::string(platform) + "/liba.so"), "-L" + quote(dir / "root/lib/x86_64-linux-gnu") + " -lb");
  build_exe("main", dir / "bin/main",
            "-L" + quote(dir / "p/x86_64") + " -la -Wl,-rpath-link," + quote(dir / "root/lib/x86_64-linux-gnu") +
                " -Wl,--disable-new-dtags,-rpath," + quote(dir / "root/$LIB:" + dir / "p/${PLATFORM}"));
  ElfClosure closure = elf_closure({dir / "bin/main"});
  EXPECT_TRUE(closure.missing.empty());
  const ElfDependency* b = find_dep(closure, "libb.so");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->path, dir / "root/lib/x86_64-linux-gnu/libb.so");
  expect_same_as_ldd(dir / "bin/main", closure);
}

TEST(ElfClosure, GlibcHwcapsSubdirectoryComesFirst) {
  TempDir dir;
  build_lib("libb", dir / "b/libb.so");
  build_lib("libb", dir / "b/glibc-hwcaps/x86-64-v2/libb.so");
  build_exe("plain", dir / "bin/plain",
            "-Wl,--no-as-needed -L" + quote(dir / "b") + " -lb -Wl,--disable-new-dtags,-rpath," + quote(dir / "b"));
  ElfClosure closure = elf_closure({dir / "bin/plain"});
  const ElfDependency* b = find_dep(closure, "libb.so");
  ASSERT_NE(b, nullptr);
  if (__builtin_cpu_supports("x86-64-v2")) {
    EXPECT_EQ(b->path, dir / "b/glibc-hwcaps/x86-64-v2/libb.so");
  }
  expect_same_as_ldd(dir / "bin/plain", closure);
}

TEST(ElfClosure, MissingLibraryIsReported) {
  TempDir dir;
  build_lib("libb", dir / "gone/libb.so");
  build_exe("plain", dir / "bin/plain", "-Wl,--no-as-needed -L" + quote(dir / "gone") + " -lb");
  fs::remove(dir / "gone/libb.so");
  ElfClosure closure = elf_closure({dir / "bin/plain"});
  EXPECT_EQ(closure.missing, std::vector<std::string>{"libb.so (needed by " + dir / "bin/plain" + ")"});
  expect_same_as_ldd(dir / "bin/plain", closure);
}

TEST(ElfClosure, NameWithASlashIsAPath) {
  TempDir dir;
  build_lib("libb", dir / "b/libb.so");
  // Without a SONAME, the linker records a library named by path as that path.
  build_exe("plain", dir / "bin/plain", "-Wl,--no-as-needed " + quote(dir / "b/libb.so"));
  ElfClosure closure = elf_closure({dir / "bin/plain"});
  const ElfDependency* b = find_dep(closure, dir / "b/libb.so");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->found_via, "absolute");
  EXPECT_EQ(b->path, dir / "b/libb.so");
  expect_same_as_ldd(dir / "bin/plain", closure);
}

TEST(ElfClosure, LibraryOfAnotherClassIsSkipped) {
  TempDir dir;
  if (run_command("gcc -m32 -shared -fPIC -o " + quote(dir / "probe.so") + " " + quote(kSources + "libb.c")).status != 0)
    GTEST_SKIP() << "gcc -m32 cannot build i386 libraries here";
  build_lib("libb", dir / "lib32/libb.so", "-m32");
  build_lib("libb", dir / "lib64/libb.so");
  build_exe(
      "plain", dir / "bin/plain",
      "-Wl,--no-as-needed -L" + quote(dir / "lib64") + " -lb -Wl,--disable-new-dtags,-rpath," + quote(dir / "lib32:" + dir / "lib64"));
  ElfClosure closure = elf_closure({dir / "bin/plain"});
  const ElfDependency* b = find_dep(closure, "libb.so");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->path, dir / "lib64/libb.so");
  expect_same_as_ldd(dir / "bin/plain", closure);
}

TEST(ElfClosure, I386ExecutableUsesTheI386Loader) {
  TempDir dir;
  if (run_command("gcc -m32 -o " + quote(dir / "plain32") + " " + quote(kSources + "plain.c")).status != 0)
    GTEST_SKIP() << "gcc -m32 cannot build i386 programs here";
  // This kernel may not run i386 programs, so there is no ldd to ask: the
  // i386 cache entries (flags "libc6", no x86-64 bit) are the check.
  ElfClosure closure = elf_closure({dir / "plain32"});
  ASSERT_FALSE(closure.dependencies.empty());
  EXPECT_EQ(closure.dependencies.front().needed, "/lib/ld-linux.so.2");
  const ElfDependency* libc = find_dep(closure, "libc.so.6");
  ASSERT_NE(libc, nullptr);
  EXPECT_EQ(libc->found_via, "ld.so.cache");
  CommandResult cache = run_command("/sbin/ldconfig -p | grep -F 'libc.so.6 (libc6) => '");
  EXPECT_NE(cache.output.find(" => " + libc->path + "\n"), std::string::npos) << cache.output;
}

TEST(ElfClosure, LibraryPathComesAfterRpathAndBeforeRunpath) {
  TempDir dir;
  build_lib("libb", dir / "runpath/libb.so");
  build_lib("libb", dir / "llp/libb.so");
  build_exe("plain", dir / "bin/plain",
            "-Wl,--no-as-needed -L" + quote(dir / "runpath") + " -lb -Wl,--enable-new-dtags,-rpath," + quote(dir / "runpath"));
  LoaderConfig config;
  config.library_path = {dir / "nothing:" + dir / "llp"};
  ElfClosure closure = elf_closure({dir / "bin/plain"}, config);
  const ElfDependency* b = find_dep(closure, "libb.so");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->path, dir / "llp/libb.so");
  EXPECT_EQ(b->found_via, "LD_LIBRARY_PATH");
  expect_same_as_ldd(dir / "bin/plain", closure, "LD_LIBRARY_PATH=" + quote(dir / "nothing:" + dir / "llp"));

  build_lib("libb", dir / "rpath/libb.so");
  build_exe("plain", dir / "bin/plain2",
            "-Wl,--no-as-needed -L" + quote(dir / "rpath") + " -lb -Wl,--disable-new-dtags,-rpath," + quote(dir / "rpath"));
  closure = elf_closure({dir / "bin/plain2"}, config);
  b = find_dep(closure, "libb.so");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->found_via, "DT_RPATH");
}

TEST(ElfClosure, SymlinkChainIsRecorded) {
  const std::string libz = "/lib/x86_64-linux-gnu/libz.so.1";
  if (access(libz.c_str(), R_OK) != 0 || !fs::is_symlink("/lib")) GTEST_SKIP() << "needs merged /usr and " << libz;
  TempDir dir;
  build_exe("plain", dir / "plain", "-Wl,--no-as-needed " + libz);
  ElfClosure closure = elf_closure({dir / "plain"});
  const ElfDependency* z = find_dep(closure, "libz.so.1");
  ASSERT_NE(z, nullptr);
  EXPECT_EQ(z->found_via, "ld.so.cache");
  EXPECT_EQ(z->path, libz);
  EXPECT_EQ(z->resolved, realpath_of(libz));
  std::vector<Symlink> expected = {
      {"/lib", fs::read_symlink("/lib").string()},
      {"/usr/lib/x86_64-linux-gnu/libz.so.1", fs::read_symlink(libz).string()},  // "libz.so.1.2.13"
  };
  EXPECT_EQ(z->links, expected);
}

TEST(ElfClosure, SameFileUnderTwoNamesIsLoadedOnce) {
  TempDir dir;
  // liba needs "libb-alias.so", which ends up a symlink to libb.so, which the
  // executable needs by its soname: one file, loaded once.
  build_lib("libb", dir / "b/libb.so", "-Wl,-soname,libb.so");
  build_lib("libb", dir / "b/libb-alias.so");
  build_lib("liba", dir / "a/liba.so", "-L" + quote(dir / "b") + " -l:libb-alias.so");
  fs::remove(dir / "b/libb-alias.so");
  fs::create_symlink("libb.so", dir / "b/libb-alias.so");
  build_exe("plain", dir / "bin/plain",
            "-Wl,--no-as-needed -L" + quote(dir / "b") + " -lb -L" + quote(dir / "a") + " -la -Wl,--disable-new-dtags,-rpath," +
                quote(dir / "b:" + dir / "a"));
  ElfClosure closure = elf_closure({dir / "bin/plain", dir / "bin/plain"});
  EXPECT_EQ(closure.roots.size(), 2u);
  std::size_t count = std::count_if(closure.dependencies.begin(), closure.dependencies.end(),
                                    [&](const ElfDependency& d) { return d.resolved == dir / "b/libb.so"; });
  EXPECT_EQ(count, 1u);
  EXPECT_EQ(find_dep(closure, "libb-alias.so"), nullptr);
  expect_same_as_ldd(dir / "bin/plain", closure);
}

// A fake root: /etc/ld.so.conf includes conf.d/*.conf naming /opt/lib, whose
// libb.so is reached through an absolute symlink that must stay in the root.
void build_fake_root(const TempDir& dir) {
  const std::string root = dir / "root";
  build_lib("libb", root + "/opt/real/libb.so", "-Wl,-soname,libb.so");
  make_dirs(root + "/opt/lib");
  fs::create_symlink("/opt/real/libb.so", root + "/opt/lib/libb.so");
  make_dirs(root + "/etc/conf.d");
  std::ofstream(root + "/etc/ld.so.conf") << "# test configuration\ninclude conf.d/*.conf\n";
  std::ofstream(root + "/etc/conf.d/opt.conf") << "/opt/lib/\n";
  build_exe("plain", root + "/usr/bin/plain", "-Wl,--no-as-needed " + quote(root + "/opt/real/libb.so"));
}

TEST(ElfClosure, FakeRootWithoutCacheSearchesLdSoConf) {
  TempDir dir;
  build_fake_root(dir);
  LoaderConfig config;
  config.root = dir / "root";
  config.use_ld_so_cache = false;
  ElfClosure closure = elf_closure({"/usr/bin/plain"}, config);
  EXPECT_EQ(closure.roots, std::vector<PathBytes>{"/usr/bin/plain"});
  const ElfDependency* b = find_dep(closure, "libb.so");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->path, "/opt/lib/libb.so");
  EXPECT_EQ(b->resolved, "/opt/real/libb.so");
  EXPECT_EQ(b->links, std::vector<Symlink>{(Symlink{"/opt/lib/libb.so", "/opt/real/libb.so"})});
  EXPECT_EQ(b->found_via, "ld.so.cache");
  EXPECT_EQ(b->needed_by, "/usr/bin/plain");
  // The fake root has no interpreter: it is reported, as ld.so's absence would be.
  std::vector<std::string> missing = {"/lib64/ld-linux-x86-64.so.2 (needed by /usr/bin/plain)", "libc.so.6 (needed by /usr/bin/plain)"};
  EXPECT_EQ(closure.missing, missing);
}

// In a root other than "/": /opt/current -> /opt/releases/v2 is absolute, so
// it stays in the root, and the ".." after it climbs from its target:
// /opt/current/../lib is /opt/releases/lib (the host's /opt plays no part).
TEST(ElfClosure, FakeRootDotDotAfterAnAbsoluteSymlinkClimbsFromItsTarget) {
  TempDir dir;
  const std::string root = dir / "root";
  build_lib("libb", root + "/opt/releases/lib/libb.so", "-Wl,-soname,libb.so");
  make_dirs(root + "/opt/releases/v2");
  fs::create_symlink("/opt/releases/v2", root + "/opt/current");
  build_exe("plain", root + "/usr/bin/plain", "-Wl,--no-as-needed " + quote(root + "/opt/releases/lib/libb.so"));
  LoaderConfig config;
  config.root = root;
  config.use_ld_so_cache = false;
  config.library_path = {"/opt/current/../lib"};
  ElfClosure closure = elf_closure({"/usr/bin/plain"}, config);
  const ElfDependency* b = find_dep(closure, "libb.so");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->path, "/opt/current/../lib/libb.so");
  EXPECT_EQ(b->resolved, "/opt/releases/lib/libb.so");
  EXPECT_EQ(b->links, std::vector<Symlink>{(Symlink{"/opt/current", "/opt/releases/v2"})});
  EXPECT_EQ(b->found_via, "LD_LIBRARY_PATH");
}

TEST(ElfClosure, FakeRootCacheBuiltByLdconfig) {
  TempDir dir;
  build_fake_root(dir);
  CommandResult r = run_command("/sbin/ldconfig -r " + quote(dir / "root"));
  if (r.status != 0 || access((dir / "root/etc/ld.so.cache").c_str(), R_OK) != 0)
    GTEST_SKIP() << "ldconfig -r did not build a cache: " << r.output;
  LoaderConfig config;
  config.root = dir / "root";
  ElfClosure closure = elf_closure({"/usr/bin/plain"}, config);
  const ElfDependency* b = find_dep(closure, "libb.so");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->found_via, "ld.so.cache");
  EXPECT_EQ(b->path, "/opt/lib/libb.so");
  EXPECT_EQ(b->resolved, "/opt/real/libb.so");
}

TEST(ElfClosure, UnknownCacheFormatIsRefused) {
  TempDir dir;
  build_fake_root(dir);
  std::ofstream(dir / "root/etc/ld.so.cache") << "not a cache at all, but long enough to have a header";
  LoaderConfig config;
  config.root = dir / "root";
  try {
    elf_closure({"/usr/bin/plain"}, config);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), (dir / "root/etc/ld.so.cache: not a glibc-ld.so.cache1.1 file").c_str());
  }
}

TEST(ElfClosure, RootErrors) {
  TempDir dir;
  std::ofstream(dir / "text") << "hello\n";
  try {
    elf_closure({dir / "absent"});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), (dir / "absent: No such file or directory").c_str());
  }
  try {
    elf_closure({dir / "text"});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), (dir / "text: not an ELF file").c_str());
  }
}

// ---------------------------------------------------------------------------
// `tracepack closure`

// `tracepack closure --help` works and documents --json. A build whose
// closure command is missing or broken fails the tests below, never skips them.
::testing::AssertionResult closure_command_works() {
  CommandResult r = run_command(std::string(TRACEPACK_BIN) + " closure --help");
  if (r.status == 0 && r.output.find("--json") != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "`tracepack closure --help` exited " << r.status << ":\n" << r.output;
}

TEST(ElfClosureCli, TextListsEachDependency) {
  ASSERT_TRUE(closure_command_works());
  TempDir dir;
  build_lib("libb", dir / "b/libb.so");
  build_exe("plain", dir / "plain", "-Wl,--no-as-needed " + quote(dir / "b/libb.so"));
  CommandResult r = run_command(std::string(TRACEPACK_BIN) + " closure " + quote(dir / "plain"));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find(dir / "b/libb.so => " + dir / "b/libb.so (" + dir / "b/libb.so) via absolute, needed by " + dir / "plain\n"),
            std::string::npos)
      << r.output;
}

TEST(ElfClosureCli, JsonAndMissingWarning) {
  ASSERT_TRUE(closure_command_works());
  TempDir dir;
  build_lib("libb", dir / "b/libb.so");
  build_exe("plain", dir / "plain", "-Wl,--no-as-needed -L" + quote(dir / "b") + " -lb");
  CommandResult r = run_command(std::string(TRACEPACK_BIN) + " closure --json " + quote(dir / "plain") + " 2>/dev/null");
  EXPECT_EQ(r.status, 1);
  nlohmann::json json = nlohmann::json::parse(r.output);
  EXPECT_EQ(json["missing"], nlohmann::json::array({"libb.so (needed by " + dir / "plain" + ")"}));
  EXPECT_EQ(json["dependencies"][0]["found_via"], "PT_INTERP");
  r = run_command(std::string(TRACEPACK_BIN) + " closure " + quote(dir / "plain") + " 2>&1 >/dev/null");
  EXPECT_EQ(r.output, "tracepack: warning: not found: libb.so (needed by " + dir / "plain" + ")\n");
}

TEST(ElfClosureCli, BadRootIsAnError) {
  ASSERT_TRUE(closure_command_works());
  TempDir dir;
  CommandResult r = run_command(std::string(TRACEPACK_BIN) + " closure " + quote(dir / "absent"));
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.output, "tracepack: error: " + dir / "absent: No such file or directory\n");
}

}  // namespace
}  // namespace tracepack

// make_plan over hand-made traces and an in-memory file system.
#include <gtest/gtest.h>

#include <cerrno>
#include <map>
#include <set>

#include "plan_tree.h"
#include "tracepack/error.h"
#include "tracepack/plan.h"

namespace tracepack {
namespace {

using plan_tree::FakeFileSystem;

// A trace with one process; accesses added with `access()`.
struct TraceBuilder {
  Trace trace;
  explicit TraceBuilder(const std::string& label) {
    trace.run.label = label;
    Process p;
    p.id = 1;
    p.pid = 100;
    p.execs.push_back(Exec{0, "/usr/bin/app", "/usr/bin/app", {"app"}, "/", {}});
    trace.processes.push_back(p);
  }
  TraceBuilder& access(AccessKind kind, const PathBytes& resolved, FileType type = FileType::regular, int error = 0,
                       std::vector<Symlink> links = {}) {
    FileAccess a;
    a.id = trace.accesses.size() + 1;
    a.process = 1;
    a.syscall = kind == AccessKind::exec ? "execve" : "openat";
    a.kind = kind;
    a.path = resolved;
    a.resolved = resolved;
    a.type = error ? FileType::none : type;
    a.error = error;
    a.links = std::move(links);
    trace.accesses.push_back(a);
    return *this;
  }
};

FakeFileSystem base_tree() {
  FakeFileSystem fs;
  fs.dir("/usr").dir("/usr/bin").dir("/usr/lib").dir("/etc", 0700).dir("/tmp", 01777).dir("/proc");
  fs.file("/usr/bin/app", 100, 0755).file("/usr/lib/libx.so.1.2", 50).link("/usr/lib/libx.so.1", "libx.so.1.2");
  fs.link("/lib", "usr/lib").file("/etc/app.conf", 5, 0600).file("/tmp/scratch").file("/proc/cpuinfo");
  return fs;
}

std::vector<PathBytes> paths(const BundlePlan& plan) {
  std::vector<PathBytes> out;
  for (const PlanEntry& e : plan.entries) out.push_back(e.path);
  return out;
}

const PlanEntry* entry(const BundlePlan& plan, const PathBytes& path) {
  for (const PlanEntry& e : plan.entries)
    if (e.path == path) return &e;
  return nullptr;
}

std::string exclusion(const BundlePlan& plan, const PathBytes& path) {
  for (const PlanExclusion& x : plan.excluded)
    if (x.path == path) return render_exclusion(x.reason);
  return "";
}

// A symlink's target with ".." after another symlink: the shared resolver
// climbs from where /opt/app/current led (/opt/app/releases/v2), so the target
// is /opt/app/releases/shared/app.conf, not /opt/app/shared/app.conf.
TEST(MakePlan, LinkTargetWithDotDotAfterASymlinkClimbsFromWhereItLed) {
  FakeFileSystem fs = base_tree();
  fs.dir("/opt").dir("/opt/app").dir("/opt/app/releases").dir("/opt/app/releases/v2").dir("/opt/app/releases/shared");
  fs.link("/opt/app/current", "releases/v2").file("/opt/app/releases/shared/app.conf");
  fs.dir("/opt/app/shared").file("/opt/app/shared/app.conf");
  fs.link("/opt/app/config", "current/../shared/app.conf");
  TraceBuilder t("unit");
  t.access(AccessKind::readlink, "/opt/app/config", FileType::symlink);
  PlanInputs in;
  in.traces.push_back(t.trace);
  BundlePlan plan = make_plan(in, fs);
  const PlanEntry* target = entry(plan, "/opt/app/releases/shared/app.conf");
  ASSERT_NE(target, nullptr);
  EXPECT_EQ(target->reasons.at(0).detail, "target of symlink /opt/app/config");
  const PlanEntry* crossed = entry(plan, "/opt/app/current");
  ASSERT_NE(crossed, nullptr);
  EXPECT_EQ(crossed->reasons.at(0).detail, "on the way to the target of symlink /opt/app/config");
  EXPECT_EQ(entry(plan, "/opt/app/shared/app.conf"), nullptr);
  EXPECT_TRUE(plan.dangling_links.empty());
}

TEST(MakePlan, TracedFilesTheirLinksParentsAndLinkTargets) {
  FakeFileSystem fs = base_tree();
  TraceBuilder t("unit");
  t.access(AccessKind::exec, "/usr/bin/app");
  t.access(AccessKind::read, "/usr/lib/libx.so.1.2", FileType::regular, 0, {{"/lib", "usr/lib"}, {"/usr/lib/libx.so.1", "libx.so.1.2"}});
  t.access(AccessKind::read, "/etc/app.conf");
  PlanInputs in;
  in.traces = {t.trace};
  BundlePlan plan = make_plan(in, fs);
  EXPECT_EQ(paths(plan), (std::vector<PathBytes>{"/etc", "/etc/app.conf", "/lib", "/usr", "/usr/bin", "/usr/bin/app", "/usr/lib",
                                                 "/usr/lib/libx.so.1", "/usr/lib/libx.so.1.2"}));
  ASSERT_NE(entry(plan, "/lib"), nullptr);
  EXPECT_EQ(entry(plan, "/lib")->type, EntryType::symlink);
  EXPECT_EQ(entry(plan, "/lib")->link_target, "usr/lib");
  EXPECT_EQ(entry(plan, "/etc")->mode, 0700u) << "directories keep their modes";
  EXPECT_EQ(entry(plan, "/usr/bin/app")->mode, 0755u);
  EXPECT_EQ(entry(plan, "/usr/bin/app")->reasons.at(0).detail, "test 'unit', app, execve");
  EXPECT_EQ(entry(plan, "/usr")->reasons.at(0).source, PlanReason::Source::parent);
}

TEST(MakePlan, LeavesOutPseudoFileSystemsFailuresSpecialFilesAndOutputs) {
  FakeFileSystem fs = base_tree();
  fs.special("/usr/lib/fifo", FileType::fifo).file("/usr/lib/made-here");
  TraceBuilder t("unit");
  t.access(AccessKind::read, "/proc/cpuinfo");
  t.access(AccessKind::read, "/tmp/scratch");
  t.access(AccessKind::stat, "/usr/lib/nothing", FileType::none, ENOENT);
  t.access(AccessKind::read, "/usr/lib/fifo", FileType::fifo);
  t.access(AccessKind::create, "/usr/lib/made-here");
  t.access(AccessKind::read, "/usr/lib/made-here");
  PlanInputs in;
  in.traces = {t.trace};
  BundlePlan plan = make_plan(in, fs);
  EXPECT_TRUE(plan.entries.empty()) << paths(plan).size();
  EXPECT_EQ(exclusion(plan, "/proc/cpuinfo"), "/proc: not packed (pseudo or temporary file system)");
  EXPECT_EQ(exclusion(plan, "/tmp/scratch"), "/tmp: temporary files, left out by default (an include: rule packs them)");
  EXPECT_EQ(exclusion(plan, "/usr/lib/nothing"), "lookup failed in test 'unit': No such file or directory");
  EXPECT_EQ(exclusion(plan, "/usr/lib/fifo"), "fifo: special files are never packed");
  EXPECT_EQ(exclusion(plan, "/usr/lib/made-here"), "output of the run: created or written first by test 'unit'");
}

// /tmp and /var/tmp: scratch space, left out by a default rule with its reason.
TEST(MakePlan, TemporaryFilesAreLeftOutByDefault) {
  FakeFileSystem fs = base_tree();
  fs.dir("/var").dir("/var/tmp", 01777).file("/var/tmp/cache");
  TraceBuilder t("unit");
  t.access(AccessKind::read, "/tmp/scratch").access(AccessKind::read, "/var/tmp/cache").access(AccessKind::list, "/tmp");
  PlanInputs in;
  in.traces = {t.trace};
  BundlePlan plan = make_plan(in, fs);
  EXPECT_TRUE(plan.entries.empty()) << paths(plan).size();
  EXPECT_EQ(exclusion(plan, "/tmp/scratch"), "/tmp: temporary files, left out by default (an include: rule packs them)");
  EXPECT_EQ(exclusion(plan, "/tmp"), "/tmp: temporary files, left out by default (an include: rule packs them)");
  EXPECT_EQ(exclusion(plan, "/var/tmp/cache"), "/var/tmp: temporary files, left out by default (an include: rule packs them)");
}

/// A project checked out under /tmp: its files, a scratch file beside it, and an output.
FakeFileSystem project_in_tmp() {
  FakeFileSystem fs = base_tree();
  fs.dir("/tmp/ci").dir("/tmp/ci/app").dir("/tmp/ci/app/data").dir("/tmp/ci/app/build");
  fs.file("/tmp/ci/app/data/input.txt").file("/tmp/ci/app/build/tool", 10, 0755).file("/tmp/ci/app/build/out.txt");
  fs.file("/tmp/ci/elsewhere.txt").link("/tmp/ci/current", "app");
  return fs;
}

TraceBuilder project_run() {
  TraceBuilder t("unit");
  t.access(AccessKind::exec, "/tmp/ci/app/build/tool").access(AccessKind::read, "/tmp/ci/app/data/input.txt");
  t.access(AccessKind::read, "/tmp/ci/elsewhere.txt").access(AccessKind::read, "/tmp/scratch");
  t.access(AccessKind::create, "/tmp/ci/app/build/out.txt").access(AccessKind::read, "/tmp/ci/app/build/out.txt");
  return t;
}

const std::vector<PathBytes> kProjectEntries = {
    "/tmp", "/tmp/ci", "/tmp/ci/app", "/tmp/ci/app/build", "/tmp/ci/app/build/tool", "/tmp/ci/app/data", "/tmp/ci/app/data/input.txt"};

TEST(MakePlan, AProjectUnderTmpIsPackedFromTheSpecsDirectory) {
  FakeFileSystem fs = project_in_tmp();
  PlanInputs in;
  in.traces = {project_run().trace};
  in.spec_dir = "/tmp/ci/current";  // through a symlink, as written
  BundlePlan plan = make_plan(in, fs);
  EXPECT_EQ(paths(plan), kProjectEntries);
  EXPECT_EQ(entry(plan, "/tmp")->mode, 01777u);
  EXPECT_EQ(entry(plan, "/tmp/ci/app/data/input.txt")->reasons.at(0).detail, "test 'unit', app, openat");
  EXPECT_EQ(exclusion(plan, "/tmp/ci/elsewhere.txt"), "/tmp: temporary files, left out by default (an include: rule packs them)");
  EXPECT_EQ(exclusion(plan, "/tmp/scratch"), "/tmp: temporary files, left out by default (an include: rule packs them)");
  EXPECT_EQ(exclusion(plan, "/tmp/ci/app/build/out.txt"), "output of the run: created or written first by test 'unit'");
}

TEST(MakePlan, AProjectUnderTmpIsPackedFromTheDirectoryATestRanIn) {
  FakeFileSystem fs = project_in_tmp();
  TraceBuilder t = project_run();
  t.trace.run.cwd = "/tmp/ci/app";
  t.trace.processes[0].execs[0].cwd = "/tmp/ci/app";
  PlanInputs in;
  in.traces = {t.trace};
  BundlePlan plan = make_plan(in, fs);
  EXPECT_EQ(paths(plan), kProjectEntries);
  EXPECT_EQ(entry(plan, "/tmp/ci/app")->reasons.at(0).detail, "working directory of test 'unit'");
  EXPECT_EQ(exclusion(plan, "/tmp/ci/elsewhere.txt"), "/tmp: temporary files, left out by default (an include: rule packs them)");
}

// A test run in /tmp itself does not make every temporary file an input.
TEST(MakePlan, TmpItselfIsNoProject) {
  FakeFileSystem fs = base_tree();
  TraceBuilder t("unit");
  t.trace.run.cwd = "/tmp";
  t.access(AccessKind::read, "/tmp/scratch");
  PlanInputs in;
  in.traces = {t.trace};
  in.spec_dir = "/tmp";
  BundlePlan plan = make_plan(in, fs);
  EXPECT_TRUE(plan.entries.empty()) << paths(plan).size();
  EXPECT_EQ(exclusion(plan, "/tmp/scratch"), "/tmp: temporary files, left out by default (an include: rule packs them)");
}

// include: beats the default rule, and its walk goes down into /tmp when the
// pattern names /tmp; a pattern that does not stays out of it.
TEST(MakePlan, AnIncludeRuleUnderTmpPacksIt) {
  FakeFileSystem fs = project_in_tmp();
  PlanInputs in;
  in.spec.include.push_back({IncludeRule::Kind::glob, "/tmp/ci/app/**", {"spec.yaml", 4, 5}});
  in.spec.include.push_back({IncludeRule::Kind::glob, "/**/input.txt", {"spec.yaml", 5, 5}});
  BundlePlan plan = make_plan(in, fs);
  std::vector<PathBytes> expected = {"/tmp",
                                     "/tmp/ci",
                                     "/tmp/ci/app",
                                     "/tmp/ci/app/build",
                                     "/tmp/ci/app/build/out.txt",
                                     "/tmp/ci/app/build/tool",
                                     "/tmp/ci/app/data",
                                     "/tmp/ci/app/data/input.txt"};
  EXPECT_EQ(paths(plan), expected);
  EXPECT_EQ(entry(plan, "/tmp/ci/app/data/input.txt")->reasons.size(), 1u) << "/**/input.txt does not walk /tmp";
  EXPECT_EQ(entry(plan, "/tmp/ci/app/data/input.txt")->reasons.at(0).detail, "included by rule '/tmp/ci/app/**' (spec.yaml:4:5)");
}

TEST(MakePlan, IncludeBeatsExcludeAndExcludeBeatsTraced) {
  FakeFileSystem fs = base_tree();
  fs.dir("/usr/share").dir("/usr/share/doc").file("/usr/share/doc/a.txt").file("/usr/share/doc/b.md");
  TraceBuilder t("unit");
  t.access(AccessKind::read, "/usr/share/doc/a.txt").access(AccessKind::read, "/usr/bin/app");
  PlanInputs in;
  in.traces = {t.trace};
  in.spec.exclude.push_back({"/usr/share/**", {"spec.yaml", 7, 5}});
  in.spec.include.push_back({IncludeRule::Kind::glob, "/usr/share/doc/*.md", {"spec.yaml", 4, 5}});
  BundlePlan plan = make_plan(in, fs);
  EXPECT_EQ(exclusion(plan, "/usr/share/doc/a.txt"), "excluded by rule '/usr/share/**' (spec.yaml:7:5)");
  ASSERT_NE(entry(plan, "/usr/share/doc/b.md"), nullptr);
  EXPECT_EQ(entry(plan, "/usr/share/doc/b.md")->reasons.at(0).detail, "included by rule '/usr/share/doc/*.md' (spec.yaml:4:5)");
  EXPECT_NE(entry(plan, "/usr/share/doc"), nullptr) << "parents of an included file come along";
}

TEST(MakePlan, AnIncludeRuleMatchingOnlyTracedFilesMatchedThem) {
  FakeFileSystem fs = base_tree();
  fs.dir("/etc").file("/etc/passwd");
  TraceBuilder t("unit");
  t.access(AccessKind::read, "/etc/passwd").access(AccessKind::read, "/usr/bin/app");
  PlanInputs in;
  in.traces = {t.trace};
  in.spec.include.push_back({IncludeRule::Kind::glob, "/etc/passwd", {"spec.yaml", 4, 5}});
  in.spec.include.push_back({IncludeRule::Kind::glob, "/etc/shadow*", {"spec.yaml", 5, 5}});
  BundlePlan plan = make_plan(in, fs);
  EXPECT_EQ(plan.warnings, std::vector<std::string>{"spec.yaml:5:5: include rule '/etc/shadow*' matches nothing"});
  ASSERT_NE(entry(plan, "/etc/passwd"), nullptr);
  EXPECT_EQ(entry(plan, "/etc/passwd")->reasons.size(), 2u);
}

TEST(MakePlan, ElfClosureEntriesComeWithTheirLinks) {
  FakeFileSystem fs = base_tree();
  PlanInputs in;
  in.spec.include.push_back({IncludeRule::Kind::elf, "/usr/bin/app", {"spec.yaml", 3, 5}});
  ElfClosure closure;
  closure.roots = {"/usr/bin/app"};
  closure.dependencies.push_back(
      {"libx.so.1", "/usr/bin/app", "/usr/lib/libx.so.1", "/usr/lib/libx.so.1.2", {{"/usr/lib/libx.so.1", "libx.so.1.2"}}, "default path"});
  in.closures = {closure};
  BundlePlan plan = make_plan(in, fs);
  EXPECT_EQ(paths(plan),
            (std::vector<PathBytes>{"/usr", "/usr/bin", "/usr/bin/app", "/usr/lib", "/usr/lib/libx.so.1", "/usr/lib/libx.so.1.2"}));
  EXPECT_EQ(entry(plan, "/usr/lib/libx.so.1.2")->reasons.at(0).detail, "libx.so.1 needed by /usr/bin/app (default path)");
}

TEST(MakePlan, OrderOfTracesDoesNotMatter) {
  FakeFileSystem fs = base_tree();
  TraceBuilder a("a"), b("b");
  a.access(AccessKind::read, "/usr/bin/app");
  b.access(AccessKind::read, "/etc/app.conf");
  PlanInputs ab, ba;
  ab.traces = {a.trace, b.trace};
  ba.traces = {b.trace, a.trace};
  EXPECT_EQ(paths(make_plan(ab, fs)), paths(make_plan(ba, fs)));
}

// Shards traced on different machines are packed from traces given in any
// order: the first failed lookup's test, and the runs the image defaults come
// from, follow the traces' labels, not the command line.
TEST(MakePlan, ExclusionsAndRunsDoNotDependOnTheOrderOfTraces) {
  FakeFileSystem fs = base_tree();
  TraceBuilder a("alpha"), b("beta");
  a.access(AccessKind::read, "/usr/lib/nothing", FileType::regular, ENOENT);
  b.access(AccessKind::read, "/usr/lib/nothing", FileType::regular, ENOENT);
  b.trace.run.cwd = "/srv/beta";
  PlanInputs ab, ba;
  ab.traces = {a.trace, b.trace};
  ba.traces = {b.trace, a.trace};
  for (const PlanInputs* in : {&ab, &ba}) {
    BundlePlan plan = make_plan(*in, fs);
    EXPECT_EQ(exclusion(plan, "/usr/lib/nothing"), "lookup failed in test 'alpha': No such file or directory");
    ASSERT_EQ(plan.runs.size(), 2u);
    EXPECT_EQ(plan.runs[0].label, "alpha");
    EXPECT_EQ(plan.runs[1].label, "beta");
  }
}

TEST(MakePlan, MissingFilesAreListedAllAtOnce) {
  FakeFileSystem fs = base_tree();
  TraceBuilder t("unit");
  t.access(AccessKind::read, "/usr/lib/gone1").access(AccessKind::read, "/usr/lib/gone2");
  PlanInputs in;
  in.traces = {t.trace};
  try {
    make_plan(in, fs);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "plan: 2 file(s) used by the traced run are gone or unreadable now (use --allow-missing to pack "
              "without them):\n  /usr/lib/gone1\n  /usr/lib/gone2");
  }
  in.allow_missing = true;
  BundlePlan plan = make_plan(in, fs);
  ASSERT_EQ(plan.warnings.size(), 1u);
  EXPECT_EQ(entry(plan, "/usr/lib/gone1"), nullptr);
}

TEST(MakePlan, HardLinksPointToTheFirstPath) {
  FakeFileSystem fs = base_tree();
  fs.file("/usr/bin/one", 10, 0755, 77, 2).file("/usr/bin/two", 10, 0755, 77, 2);
  TraceBuilder t("unit");
  t.access(AccessKind::exec, "/usr/bin/two").access(AccessKind::exec, "/usr/bin/one");
  PlanInputs in;
  in.traces = {t.trace};
  BundlePlan plan = make_plan(in, fs);
  EXPECT_EQ(entry(plan, "/usr/bin/one")->hardlink_to, "");
  EXPECT_EQ(entry(plan, "/usr/bin/two")->hardlink_to, "/usr/bin/one");
}

TEST(MakePlan, RelativeIncludePatternIsAnError) {
  FakeFileSystem fs = base_tree();
  PlanInputs in;
  in.spec.include.push_back({IncludeRule::Kind::glob, "*.conf", {"spec.yaml", 9, 5}});
  try {
    make_plan(in, fs);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "spec.yaml:9:5: include pattern '*.conf' must be an absolute path");
  }
}

TEST(ExplainPath, SaysWhyInAndWhyOut) {
  FakeFileSystem fs = base_tree();
  TraceBuilder t("unit");
  t.access(AccessKind::read, "/usr/bin/app").access(AccessKind::read, "/proc/cpuinfo");
  PlanInputs in;
  in.traces = {t.trace};
  BundlePlan plan = make_plan(in, fs);
  EXPECT_EQ(explain_path(plan, "/usr/bin/app"), (std::vector<std::string>{"/usr/bin/app: in the bundle", "  test 'unit', app, openat"}));
  EXPECT_EQ(explain_path(plan, "/proc/cpuinfo"),
            (std::vector<std::string>{"/proc/cpuinfo: not in the bundle", "  /proc: not packed (pseudo or temporary file system)"}));
  EXPECT_EQ(explain_path(plan, "/nowhere").size(), 1u);
}

// /usr/share/misc/magic.mgc -> ../../lib/file/magic.mgc, as Debian's `file` has it.
FakeFileSystem magic_tree() {
  FakeFileSystem fs = base_tree();
  fs.dir("/usr/share").dir("/usr/share/misc").dir("/usr/lib/file");
  fs.link("/usr/share/misc/magic.mgc", "../../lib/file/magic.mgc").file("/usr/lib/file/magic.mgc", 1000);
  return fs;
}

TEST(MakePlan, ExcludeBeatsTheTargetOfATracedSymlink) {
  FakeFileSystem fs = magic_tree();
  TraceBuilder t("unit");
  t.access(AccessKind::read, "/usr/lib/file/magic.mgc", FileType::regular, 0, {{"/usr/share/misc/magic.mgc", "../../lib/file/magic.mgc"}});
  PlanInputs in;
  in.traces = {t.trace};
  in.spec.exclude.push_back({"/usr/lib/file/**", {"spec.yaml", 9, 5}});
  BundlePlan plan = make_plan(in, fs);
  ASSERT_NE(entry(plan, "/usr/share/misc/magic.mgc"), nullptr);
  EXPECT_EQ(entry(plan, "/usr/lib/file/magic.mgc"), nullptr) << "closure over the tree re-added an excluded target";
  EXPECT_EQ(exclusion(plan, "/usr/lib/file/magic.mgc"), "excluded by rule '/usr/lib/file/**' (spec.yaml:9:5)");
  ASSERT_EQ(plan.dangling_links.size(), 1u);
  EXPECT_EQ(plan.dangling_links[0].link, "/usr/share/misc/magic.mgc");
  EXPECT_EQ(plan.dangling_links[0].blocked, "/usr/lib/file/magic.mgc");
  EXPECT_EQ(plan.warnings,
            (std::vector<std::string>{"symlink /usr/share/misc/magic.mgc -> ../../lib/file/magic.mgc dangles in the bundle: "
                                      "/usr/lib/file/magic.mgc is left out: excluded by rule '/usr/lib/file/**' (spec.yaml:9:5)"}));
  EXPECT_EQ(
      explain_path(plan, "/usr/lib/file/magic.mgc"),
      (std::vector<std::string>{"/usr/lib/file/magic.mgc: not in the bundle", "  excluded by rule '/usr/lib/file/**' (spec.yaml:9:5)"}));
  EXPECT_EQ(explain_path(plan, "/usr/share/misc/magic.mgc"),
            (std::vector<std::string>{"/usr/share/misc/magic.mgc: in the bundle", "  test 'unit', app, openat",
                                      "  dangles in the bundle: /usr/lib/file/magic.mgc is left out: excluded by rule "
                                      "'/usr/lib/file/**' (spec.yaml:9:5)"}));
}

TEST(MakePlan, ExcludedTargetOfAReadlinkOnlySymlinkNamesTheLink) {
  FakeFileSystem fs = magic_tree();
  TraceBuilder t("unit");
  t.access(AccessKind::readlink, "/usr/share/misc/magic.mgc", FileType::symlink);
  PlanInputs in;
  in.traces = {t.trace};
  in.spec.exclude.push_back({"/usr/lib/file/**", {"spec.yaml", 9, 5}});
  BundlePlan plan = make_plan(in, fs);
  EXPECT_EQ(entry(plan, "/usr/lib/file/magic.mgc"), nullptr);
  EXPECT_EQ(exclusion(plan, "/usr/lib/file/magic.mgc"),
            "excluded by rule '/usr/lib/file/**' (spec.yaml:9:5), although symlink /usr/share/misc/magic.mgc points to it");
  EXPECT_EQ(plan.dangling_links.size(), 1u);
}

TEST(MakePlan, IncludedSymlinkTargetBeatsExclude) {
  FakeFileSystem fs = magic_tree();
  TraceBuilder t("unit");
  t.access(AccessKind::read, "/usr/lib/file/magic.mgc", FileType::regular, 0, {{"/usr/share/misc/magic.mgc", "../../lib/file/magic.mgc"}});
  PlanInputs in;
  in.traces = {t.trace};
  in.spec.exclude.push_back({"/usr/lib/file/**", {"spec.yaml", 9, 5}});
  in.spec.include.push_back({IncludeRule::Kind::glob, "/usr/lib/file/magic.mgc", {"spec.yaml", 7, 5}});
  BundlePlan plan = make_plan(in, fs);
  EXPECT_NE(entry(plan, "/usr/lib/file/magic.mgc"), nullptr);
  EXPECT_TRUE(plan.dangling_links.empty());
  EXPECT_TRUE(plan.warnings.empty());
}

TEST(MakePlan, NothingInAKernelPseudoFileSystemIsPackedWhateverProposesIt) {
  FakeFileSystem fs = base_tree();
  fs.link("/proc/self", "42").dir("/proc/42").file("/proc/42/mounts").link("/etc/mtab", "../proc/self/mounts");
  fs.link("/etc/kmsg", "/proc/kmsg").file("/proc/kmsg", 0, 0400);
  TraceBuilder t("unit");
  t.access(AccessKind::readlink, "/etc/mtab", FileType::symlink);
  PlanInputs in;
  in.traces = {t.trace};
  in.spec.include.push_back({IncludeRule::Kind::glob, "/etc/kmsg", {"spec.yaml", 4, 5}});
  BundlePlan plan = make_plan(in, fs);
  EXPECT_EQ(paths(plan), (std::vector<PathBytes>{"/etc", "/etc/mtab"}));
  EXPECT_EQ(exclusion(plan, "/proc/self"), "/proc: kernel pseudo file system, never packed (the kernel provides it where the bundle runs)");
  EXPECT_EQ(plan.warnings,
            (std::vector<std::string>{
                "spec.yaml:4:5: include rule '/etc/kmsg' leads to /proc/kmsg, in /proc: a kernel pseudo file system is never packed"}));
  EXPECT_TRUE(plan.dangling_links.empty()) << "/proc is there wherever the bundle runs";
}

TEST(MakePlan, SpecialFileAnIncludeGlobMatchesIsNamedInAWarning) {
  FakeFileSystem fs = base_tree();
  fs.dir("/srv").file("/srv/data.txt").special("/srv/pipe", FileType::fifo).special("/srv/sock", FileType::socket);
  PlanInputs in;
  in.spec.include.push_back({IncludeRule::Kind::glob, "/srv/**", {"spec.yaml", 4, 5}});
  BundlePlan plan = make_plan(in, fs);
  EXPECT_EQ(paths(plan), (std::vector<PathBytes>{"/srv", "/srv/data.txt"}));
  EXPECT_EQ(exclusion(plan, "/srv/pipe"), "fifo: special files are never packed");
  EXPECT_EQ(plan.warnings,
            (std::vector<std::string>{
                "spec.yaml:4:5: include rule '/srv/**' matches /srv/pipe, a fifo: left out (special files are never packed)",
                "spec.yaml:4:5: include rule '/srv/**' matches /srv/sock, a socket: left out (special files are never packed)"}));
}

std::vector<std::string> findings(const BundlePlan& plan) {
  std::vector<std::string> out;
  for (const HostSpecificFinding& f : plan.host_specific) out.push_back(f.path + " | " + f.why + " | " + f.exclude_line);
  return out;
}

TEST(MakePlan, HostSpecificFilesAreListedForReview) {
  FakeFileSystem fs = base_tree();
  fs.file("/etc/hostname").file("/etc/resolv.conf").dir("/root").file("/root/.gitconfig");
  fs.dir("/home").dir("/home/ann").dir("/home/ann/proj").file("/home/ann/proj/main.py").file("/home/ann/.bashrc");
  fs.dir("/work").dir("/work/me").file("/work/me/.netrc-like");
  fs.dir("/usr/local").dir("/usr/local/share").dir("/usr/local/share/ca-certificates").file("/usr/local/share/ca-certificates/corp.crt");
  fs.dir("/usr/lib/python3").dir("/usr/lib/python3/site-packages").file("/usr/lib/python3/site-packages/corp-ca.pth");
  TraceBuilder t("unit");
  t.trace.run.cwd = "/home/ann/proj";
  for (const char* p :
       {"/etc/hostname", "/etc/resolv.conf", "/root/.gitconfig", "/home/ann/proj/main.py", "/home/ann/.bashrc", "/work/me/.netrc-like",
        "/usr/local/share/ca-certificates/corp.crt", "/usr/lib/python3/site-packages/corp-ca.pth", "/usr/bin/app"})
    t.access(AccessKind::read, p);
  PlanInputs in;
  in.traces = {t.trace};
  in.host_specific = {{"/work/me"}, "/nonexistent-dpkg", "/nonexistent-root"};
  BundlePlan plan = make_plan(in, fs);
  EXPECT_EQ(findings(plan),
            (std::vector<std::string>{
                "/etc/hostname | this host's name | - /etc/hostname",
                "/etc/resolv.conf | this host's DNS resolver configuration | - /etc/resolv.conf",
                "/home/ann/.bashrc | file in a home directory (/home/ann) | - /home/ann/.bashrc",
                "/root/.gitconfig | file in a home directory (/root) | - /root/.gitconfig",
                "/usr/lib/python3/site-packages/corp-ca.pth | Python .pth file that no package installed (runs at every interpreter "
                "start) | - /usr/lib/python3/site-packages/corp-ca.pth",
                "/usr/local/share/ca-certificates/corp.crt | CA certificate installed locally on this host | - "
                "/usr/local/share/ca-certificates/corp.crt",
                "/work/me/.netrc-like | file in a home directory (/work/me) | - /work/me/.netrc-like"}))
      << "the project below the run's working directory is not reported";
}

TEST(MakePlan, HostSpecificFilesCanBeAcknowledged) {
  FakeFileSystem fs = base_tree();
  fs.file("/etc/hostname").file("/etc/hosts").dir("/root").file("/root/.gitconfig");
  TraceBuilder t("unit");
  t.access(AccessKind::read, "/etc/hostname").access(AccessKind::read, "/root/.gitconfig").access(AccessKind::read, "/etc/hosts");
  PlanInputs in;
  in.traces = {t.trace};
  in.host_specific = {{}, "/nonexistent-dpkg", "/"};
  in.spec.host_specific.allow.push_back({"/etc/hostname", {"spec.yaml", 12, 7}});
  in.spec.include.push_back({IncludeRule::Kind::glob, "/root/.gitconfig", {"spec.yaml", 4, 5}});
  BundlePlan plan = make_plan(in, fs);
  EXPECT_EQ(findings(plan), (std::vector<std::string>{"/etc/hosts | this host's name table (host names and addresses) | - /etc/hosts"}));
}

TEST(MakePlan, OutputsOfAMergedTraceNameTheirTest) {
  FakeFileSystem fs = base_tree();
  fs.file("/usr/lib/made-here");
  TraceBuilder t("merged: 2 trace(s)");
  t.trace.processes[0].test = "writer";
  t.access(AccessKind::create, "/usr/lib/made-here").access(AccessKind::read, "/usr/lib/made-here");
  PlanInputs in;
  in.traces = {t.trace};
  BundlePlan plan = make_plan(in, fs);
  EXPECT_EQ(exclusion(plan, "/usr/lib/made-here"), "output of the run: created or written first by test 'writer'");
}

// ---------------------------------------------------------------------------
// Edge cases of the planner's passes: symlink loops met while closing the
// tree, the cap on an entry's reasons, outputs that the run renamed.

std::vector<std::string> reason_lines(const PlanEntry& e) {
  std::vector<std::string> out;
  for (const PlanReason& r : e.reasons) out.push_back(r.detail);
  return out;
}

// A plugin directory, listed by the run and included by a glob, holds links
// to itself, to its parent and a pair of links to each other. Closing the
// tree follows each link's target and stops at the loop; every path is one
// entry, and a reason met twice (the same stat through "self" twice) is kept once.
TEST(PlanEdgeCases, SymlinkLoopsInAListedDirectoryEndAndEachEntryIsOnce) {
  FakeFileSystem fs = base_tree();
  fs.dir("/srv").dir("/srv/app").dir("/srv/app/plugins").file("/srv/app/plugins/a.so");
  fs.link("/srv/app/plugins/self", ".").link("/srv/app/plugins/up", "..");
  fs.link("/srv/app/plugins/loop1", "loop2").link("/srv/app/plugins/loop2", "/srv/app/plugins/loop1");
  TraceBuilder t("unit");
  t.access(AccessKind::list, "/srv/app/plugins", FileType::directory);
  t.access(AccessKind::stat, "/srv/app/plugins/a.so", FileType::regular, 0,
           {{"/srv/app/plugins/self", "."}, {"/srv/app/plugins/self", "."}});
  t.access(AccessKind::stat, "/srv/app/plugins/a.so", FileType::regular, 0, {{"/srv/app/plugins/self", "."}});
  t.access(AccessKind::readlink, "/srv/app/plugins/loop1", FileType::symlink);
  PlanInputs in;
  in.traces = {t.trace};
  in.spec.include.push_back({IncludeRule::Kind::glob, "/srv/app/plugins/**", {"spec.yaml", 4, 5}});
  BundlePlan plan = make_plan(in, fs);
  EXPECT_EQ(paths(plan), (std::vector<PathBytes>{"/srv", "/srv/app", "/srv/app/plugins", "/srv/app/plugins/a.so", "/srv/app/plugins/loop1",
                                                 "/srv/app/plugins/loop2", "/srv/app/plugins/self", "/srv/app/plugins/up"}));
  for (const char* link : {"/srv/app/plugins/loop1", "/srv/app/plugins/loop2", "/srv/app/plugins/self", "/srv/app/plugins/up"})
    EXPECT_EQ(entry(plan, link)->type, EntryType::symlink) << link << " stays a link, not what it leads to";
  EXPECT_EQ(reason_lines(*entry(plan, "/srv/app/plugins/a.so")),
            (std::vector<std::string>{"test 'unit', app, openat", "included by rule '/srv/app/plugins/**' (spec.yaml:4:5)"}));
  EXPECT_EQ(reason_lines(*entry(plan, "/srv/app/plugins/self")),
            (std::vector<std::string>{"test 'unit', app, openat", "included by rule '/srv/app/plugins/**' (spec.yaml:4:5)"}));
  EXPECT_TRUE(plan.dangling_links.empty());
  EXPECT_TRUE(plan.warnings.empty()) << plan.warnings.front();
}

// Without the glob the loop is reached only through the traced readlink: the
// other link of the loop comes along as a step on the way to the target,
// once, and the walk gives up at the loop as the kernel does (ELOOP).
TEST(PlanEdgeCases, ATracedLinkIntoALoopBringsTheLoopOnce) {
  FakeFileSystem fs = base_tree();
  fs.dir("/srv").dir("/srv/app").link("/srv/app/loop1", "loop2").link("/srv/app/loop2", "loop1");
  TraceBuilder t("unit");
  t.access(AccessKind::readlink, "/srv/app/loop1", FileType::symlink);
  PlanInputs in;
  in.traces = {t.trace};
  BundlePlan plan = make_plan(in, fs);
  EXPECT_EQ(paths(plan), (std::vector<PathBytes>{"/srv", "/srv/app", "/srv/app/loop1", "/srv/app/loop2"}));
  EXPECT_EQ(reason_lines(*entry(plan, "/srv/app/loop2")), (std::vector<std::string>{"on the way to the target of symlink /srv/app/loop1"}));
}

// A file twelve tests read keeps eight reasons, the first by test name; the
// include rule that also names it is kept among them, as it is what makes
// the entry acknowledged rather than a host-specific finding.
TEST(PlanEdgeCases, AnEntryKeepsAtMostEightReasonsAndAlwaysItsRule) {
  FakeFileSystem fs = base_tree();
  fs.file("/etc/hosts");
  PlanInputs in;
  for (int i = 10; i < 22; ++i) {
    TraceBuilder t("test" + std::to_string(i));
    t.access(AccessKind::read, "/etc/hosts");
    in.traces.push_back(t.trace);
  }
  in.host_specific = {{}, "/nonexistent-dpkg", "/"};
  in.spec.include.push_back({IncludeRule::Kind::glob, "/etc/hosts", {"spec.yaml", 4, 5}});
  BundlePlan plan = make_plan(in, fs);
  ASSERT_NE(entry(plan, "/etc/hosts"), nullptr);
  EXPECT_EQ(reason_lines(*entry(plan, "/etc/hosts")),
            (std::vector<std::string>{"test 'test10', app, openat", "test 'test11', app, openat", "test 'test12', app, openat",
                                      "test 'test13', app, openat", "test 'test14', app, openat", "test 'test15', app, openat",
                                      "test 'test16', app, openat", "included by rule '/etc/hosts' (spec.yaml:4:5)"}));
  EXPECT_EQ(findings(plan), std::vector<std::string>{}) << "included by a rule: acknowledged";
}

// Eight or fewer distinct reasons are all kept; the same reason twice is one.
TEST(PlanEdgeCases, ReasonsUnderTheCapAreAllKeptOnce) {
  FakeFileSystem fs = base_tree();
  PlanInputs in;
  for (int i = 0; i < 8; ++i) {
    TraceBuilder t("t" + std::to_string(i));
    t.access(AccessKind::read, "/usr/lib/libx.so.1.2").access(AccessKind::read, "/usr/lib/libx.so.1.2");
    in.traces.push_back(t.trace);
  }
  BundlePlan plan = make_plan(in, fs);
  EXPECT_EQ(entry(plan, "/usr/lib/libx.so.1.2")->reasons.size(), 8u);
}

// Reasons are folded as they come (the plan holds a few per file, not one
// per access), yet the entry keeps the same ones as if every access had been
// kept and the list sorted at the end: the smallest details, each with the
// process of its first access. Here 24 processes of one test, the programs'
// names falling, each read the file twice; the earlier of each program's two
// processes (pid 200 + 2k) is the one its reason names.
TEST(PlanEdgeCases, ReasonsFoldedAsTheyComeAreTheSmallestWithTheirFirstProcess) {
  FakeFileSystem fs = base_tree();
  TraceBuilder t("unit");
  t.trace.processes.clear();
  for (int i = 0; i < 24; ++i) {
    std::string program = "prog" + std::to_string(23 - i / 2);
    Process p;
    p.id = static_cast<std::uint64_t>(i + 1);
    p.pid = 200 + i;
    p.execs.push_back(Exec{0, "/usr/bin/" + program, "/usr/bin/" + program, {program}, "/", {}});
    t.trace.processes.push_back(p);
    for (int twice = 0; twice < 2; ++twice) {
      t.access(AccessKind::read, "/usr/lib/libx.so.1.2");
      t.trace.accesses.back().process = p.id;
    }
  }
  PlanInputs in;
  in.traces = {t.trace};
  BundlePlan plan = make_plan(in, fs);
  std::vector<std::pair<std::string, int>> reasons;
  for (const PlanReason& r : entry(plan, "/usr/lib/libx.so.1.2")->reasons) reasons.emplace_back(r.detail, r.pid);
  EXPECT_EQ(reasons, (std::vector<std::pair<std::string, int>>{{"test 'unit', prog12, openat", 222},
                                                               {"test 'unit', prog13, openat", 220},
                                                               {"test 'unit', prog14, openat", 218},
                                                               {"test 'unit', prog15, openat", 216},
                                                               {"test 'unit', prog16, openat", 214},
                                                               {"test 'unit', prog17, openat", 212},
                                                               {"test 'unit', prog18, openat", 210},
                                                               {"test 'unit', prog19, openat", 208}}));
}

// The cap on reasons does not cap the tests: an entry names every test that
// used it, and the plan every test of its traces, even one that used nothing kept.
TEST(PlanEdgeCases, EntryTestsOutliveTheCapOnReasons) {
  FakeFileSystem fs = base_tree();
  PlanInputs in;
  std::vector<std::string> names;
  for (int i = 0; i < 12; ++i) {
    TraceBuilder t("t" + std::to_string(10 + i));
    t.access(AccessKind::read, "/usr/lib/libx.so.1.2");
    in.traces.push_back(t.trace);
    names.push_back(t.trace.run.label);
  }
  TraceBuilder idle("idle");
  idle.access(AccessKind::read, "/proc/cpuinfo");
  in.traces.push_back(idle.trace);
  BundlePlan plan = make_plan(in, fs);
  const PlanEntry* libx = entry(plan, "/usr/lib/libx.so.1.2");
  ASSERT_NE(libx, nullptr);
  EXPECT_EQ(libx->reasons.size(), 8u);
  EXPECT_EQ(libx->tests, names);
  EXPECT_EQ(entry_tests(*libx), names);
  names.insert(names.begin(), "idle");
  EXPECT_EQ(plan.tests, names);
}

FileAccess& renamed(TraceBuilder& t, const PathBytes& from, const PathBytes& to, FileType type = FileType::regular) {
  t.access(AccessKind::rename, from, type);
  FileAccess& a = t.trace.accesses.back();
  a.syscall = "rename";
  a.path2 = to;
  a.resolved2 = to;
  return a;
}

// Written under one name, renamed to another, then read: the file the run
// left behind is its output, not an input, whichever of its names is read.
TEST(PlanEdgeCases, RenamedOutputIsAnOutputNotPacked) {
  FakeFileSystem fs = base_tree();
  fs.dir("/srv").dir("/srv/app").file("/srv/app/input").file("/srv/app/result").file("/srv/app/data");
  TraceBuilder t("unit");
  t.access(AccessKind::read, "/srv/app/input");
  t.access(AccessKind::create, "/srv/app/result.tmp").access(AccessKind::write, "/srv/app/result.tmp");
  renamed(t, "/srv/app/result.tmp", "/srv/app/result");
  t.access(AccessKind::read, "/srv/app/result");
  // A file that was there before the run, renamed into place by it.
  renamed(t, "/srv/app/data.orig", "/srv/app/data");
  t.access(AccessKind::read, "/srv/app/data");
  PlanInputs in;
  in.traces = {t.trace};
  BundlePlan plan = make_plan(in, fs);
  EXPECT_EQ(paths(plan), (std::vector<PathBytes>{"/srv", "/srv/app", "/srv/app/input"}));
  EXPECT_EQ(exclusion(plan, "/srv/app/result"), "output of the run: created or written first by test 'unit'");
  EXPECT_EQ(exclusion(plan, "/srv/app/data"), "output of the run: created or written first by test 'unit'");
}

// A directory the run filled and then renamed into place: what is read
// below its new name was made by the run too.
TEST(PlanEdgeCases, FilesInARenamedOutputDirectoryAreOutputs) {
  FakeFileSystem fs = base_tree();
  fs.dir("/srv").dir("/srv/app").file("/srv/app/input").dir("/srv/app/final").file("/srv/app/final/report.txt");
  TraceBuilder t("unit");
  t.access(AccessKind::read, "/srv/app/input");
  t.access(AccessKind::mkdir, "/srv/app/stage", FileType::directory);
  t.access(AccessKind::create, "/srv/app/stage/report.txt");
  renamed(t, "/srv/app/stage", "/srv/app/final", FileType::directory);
  t.access(AccessKind::list, "/srv/app/final", FileType::directory);
  t.access(AccessKind::read, "/srv/app/final/report.txt");
  PlanInputs in;
  in.traces = {t.trace};
  BundlePlan plan = make_plan(in, fs);
  EXPECT_EQ(paths(plan), (std::vector<PathBytes>{"/srv", "/srv/app", "/srv/app/input"}));
  EXPECT_EQ(exclusion(plan, "/srv/app/final"), "output of the run: created or written first by test 'unit'");
  EXPECT_EQ(exclusion(plan, "/srv/app/final/report.txt"),
            "output of the run: in /srv/app/final, which test 'unit' made or renamed into place");
}

// Decisions as data: why a path stays out is a cause and its facts, rendered
// as a sentence by render_exclusion alone.

struct CauseCase {
  ExclusionReason reason;
  std::string text;   // render_exclusion's sentence, byte for byte as before
  std::string group;  // exclusion_group's key
};

const CauseCase kEveryCause[] = {
    {{.cause = ExclusionCause::lookup_failed, .subject = "greet", .detail = "No such file or directory"},
     "lookup failed in test 'greet': No such file or directory",
     "lookup failed in test 'greet'"},
    {{.cause = ExclusionCause::kernel_file_system, .subject = "/proc"},
     "/proc: kernel pseudo file system, never packed (the kernel provides it where the bundle runs)",
     "/proc"},
    {{.cause = ExclusionCause::pseudo_file_system, .subject = "/run"}, "/run: not packed (pseudo or temporary file system)", "/run"},
    {{.cause = ExclusionCause::scratch, .subject = "/var/tmp"},
     "/var/tmp: temporary files, left out by default (an include: rule packs them)",
     "/var/tmp"},
    {{.cause = ExclusionCause::output_of_run, .subject = "writer"},
     "output of the run: created or written first by test 'writer'",
     "output of the run"},
    {{.cause = ExclusionCause::in_output_directory, .subject = "writer", .detail = "/srv/out"},
     "output of the run: in /srv/out, which test 'writer' made or renamed into place",
     "output of the run"},
    {{.cause = ExclusionCause::excluded_by_rule, .subject = "**/*.pyc", .detail = "tracepack.yaml:9:5"},
     "excluded by rule '**/*.pyc' (tracepack.yaml:9:5)",
     "excluded by rule '**/*.pyc'"},
    {{.cause = ExclusionCause::excluded_by_rule,
      .subject = "/usr/lib/file/**",
      .detail = "spec.yaml:9:5",
      .symlink = "/usr/share/misc/magic\xFF.mgc"},
     "excluded by rule '/usr/lib/file/**' (spec.yaml:9:5), although symlink /usr/share/misc/magic%FF.mgc points to it",
     "excluded by rule '/usr/lib/file/**'"},
    {{.cause = ExclusionCause::special_file, .subject = "fifo"}, "fifo: special files are never packed", "fifo"},
    {{.cause = ExclusionCause::recorded, .subject = "left out by hand: too big"}, "left out by hand: too big", "left out by hand: too big"},
};

TEST(ExclusionReason, EachCauseRendersItsSentence) {
  for (const CauseCase& c : kEveryCause) EXPECT_EQ(render_exclusion(c.reason), c.text);
}

TEST(ExclusionReason, ASentenceParsesBackIntoItsCauseAndFacts) {
  for (const CauseCase& c : kEveryCause) EXPECT_EQ(parse_exclusion(c.text), c.reason) << c.text;
}

TEST(ExclusionReason, EachCauseIsCountedInItsGroup) {
  for (const CauseCase& c : kEveryCause) EXPECT_EQ(exclusion_group(c.reason), c.group) << c.text;
}

TEST(ExclusionReason, TextOfAnotherWritingIsKeptAsRecorded) {
  for (std::string text :
       {"lookup failed in test 'x'", "excluded by rule '/a' (s.yaml:1:1", "excluded by rule 'x', although symlink %ZZ points to it",
        "output of the run", "", ": special files are never packed!"}) {
    ExclusionReason r = parse_exclusion(text);
    EXPECT_EQ(r.cause, ExclusionCause::recorded) << text;
    EXPECT_EQ(render_exclusion(r), text);
  }
}

TEST(ExclusionReason, ThePlanRecordsTheCauseAndItsFacts) {
  FakeFileSystem fs = base_tree();
  fs.dir("/usr/share").dir("/usr/share/doc").file("/usr/share/doc/a.txt");
  TraceBuilder t("unit");
  t.access(AccessKind::read, "/usr/share/doc/a.txt").access(AccessKind::read, "/etc/gone", FileType::regular, ENOENT);
  PlanInputs in;
  in.traces = {t.trace};
  in.spec.exclude.push_back({"/usr/share/**", {"spec.yaml", 7, 5}});
  BundlePlan plan = make_plan(in, fs);
  ASSERT_EQ(plan.excluded.size(), 2u);
  EXPECT_EQ(plan.excluded[0].path, "/etc/gone");
  EXPECT_EQ(plan.excluded[0].reason,
            (ExclusionReason{.cause = ExclusionCause::lookup_failed, .subject = "unit", .detail = "No such file or directory"}));
  EXPECT_EQ(plan.excluded[1].reason,
            (ExclusionReason{.cause = ExclusionCause::excluded_by_rule, .subject = "/usr/share/**", .detail = "spec.yaml:7:5"}));
}

TEST(ReasonSource, EveryLineThePlanWritesNamesItsSource) {
  FakeFileSystem fs = base_tree();
  fs.dir("/opt").file("/opt/tool").link("/opt/lib", "/usr/lib/libx.so.1.2");
  TraceBuilder t("unit");
  t.access(AccessKind::read, "/usr/bin/app");
  PlanInputs in;
  in.traces = {t.trace};
  in.spec.include.push_back({IncludeRule::Kind::glob, "/opt/*", {"spec.yaml", 4, 5}});
  BundlePlan plan = make_plan(in, fs);
  std::set<PlanReason::Source> seen;
  for (const PlanEntry& e : plan.entries)
    for (const PlanReason& r : e.reasons) {
      EXPECT_EQ(reason_source(r.detail), r.source) << r.detail;
      seen.insert(r.source);
    }
  EXPECT_EQ(seen.size(), 4u) << "traced, rule, parent and link_target lines";
  EXPECT_EQ(reason_source("libz.so.1 needed by /usr/bin/app (DT_NEEDED)"), PlanReason::Source::elf);
  EXPECT_EQ(reason_source("included by elf: /usr/bin/app (spec.yaml:3:5)"), PlanReason::Source::rule);
  EXPECT_EQ(reason_source("working directory of test 'unit'"), PlanReason::Source::traced);
  EXPECT_EQ(reason_source("root"), std::nullopt);
}

TEST(EntryTypeNames, ToStringAndParseAreInverses) {
  for (EntryType type : {EntryType::regular, EntryType::directory, EntryType::symlink}) EXPECT_EQ(parse_entry_type(to_string(type)), type);
  EXPECT_EQ(to_string(EntryType::regular), "regular");
  EXPECT_EQ(to_string(EntryType::directory), "directory");
  EXPECT_EQ(to_string(EntryType::symlink), "symlink");
  EXPECT_EQ(parse_entry_type("fifo"), std::nullopt);
  EXPECT_EQ(parse_entry_type("Regular"), std::nullopt);
  EXPECT_EQ(parse_entry_type(""), std::nullopt);
}

}  // namespace
}  // namespace tracepack

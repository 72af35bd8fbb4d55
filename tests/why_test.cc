// explain_in_plan / explain_in_manifest / render_why over the fixture trace
// fixtures/traces/shell-cat.jsonl, planned against an in-memory copy of the
// Debian files it names, and over the hand-written manifests of
// fixtures/manifests. Each answer is compared with fixtures/expected/why-*.txt.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "plan_tree.h"
#include "review_test_util.h"
#include "tracepack/error.h"
#include "tracepack/manifest_reader.h"
#include "tracepack/plan.h"
#include "tracepack/why.h"

namespace tracepack {
namespace {

using review_test::kFixtures;
using review_test::matches_golden;
using review_test::read_text;

using plan_tree::FakeFileSystem;

// The files of a merged-/usr Debian 12 that the fixture trace names.
FakeFileSystem debian_tree() {
  FakeFileSystem fs;
  fs.link("/bin", "usr/bin").dir("/usr").dir("/usr/bin").link("/usr/bin/sh", "dash").file("/usr/bin/dash", 100, 0755);
  fs.file("/usr/bin/cat", 100, 0755).dir("/usr/lib").file("/usr/lib/os-release").dir("/etc");
  fs.link("/etc/os-release", "../usr/lib/os-release").file("/etc/passwd").file("/etc/debian_version");
  fs.dir("/opt").dir("/opt/tool").file("/opt/tool/tool", 100, 0755).file("/opt/tool/libtool.so.1");
  return fs;
}

struct Planned {
  Trace trace;
  BundlePlan plan;
};

Planned plan_fixture(const std::string& spec_name = "") {
  PlanInputs in;
  in.traces.push_back(read_trace(kFixtures + "/traces/shell-cat.jsonl"));
  if (!spec_name.empty()) in.spec = parse_spec(read_text(kFixtures + "/specs/" + spec_name), "specs/" + spec_name);
  FakeFileSystem fs = debian_tree();
  return {in.traces[0], make_plan(in, fs)};
}

std::string why_in_fixture(const std::string& path, const std::string& spec_name = "") {
  Planned p = plan_fixture(spec_name);
  return render_why(explain_in_plan(p.plan, {p.trace}, path));
}

TEST(WhyTrace, TracedThroughSymlinksNamesProcessArgvAndLinks) {
  EXPECT_TRUE(matches_golden("why-traced.txt", why_in_fixture("/usr/bin/dash")));
}

TEST(WhyTrace, SymlinkCrossedOnTheWayIsInWithTheAccessThatCrossedIt) {
  EXPECT_TRUE(matches_golden("why-symlink-crossed.txt", why_in_fixture("/bin")));
}

TEST(WhyTrace, ParentDirectoryNamesTheEntryBelowIt) { EXPECT_TRUE(matches_golden("why-parent.txt", why_in_fixture("/usr/lib"))); }

TEST(WhyTrace, ExcludedByRuleNamesTheRuleAndItsPosition) {
  EXPECT_TRUE(matches_golden("why-excluded-by-rule.txt", why_in_fixture("/etc/passwd", "why-exclude.yaml")));
}

// /etc/os-release -> ../usr/lib/os-release, traced by cat; the target is excluded.
TEST(WhyTrace, ExcludedSymlinkTargetNamesTheRuleAndTheLinkDangles) {
  PlanInputs in;
  in.traces.push_back(read_trace(kFixtures + "/traces/shell-cat.jsonl"));
  in.spec = parse_spec("name: x\ntests: [{name: t, run: [a]}]\noutput: {path: o}\nexclude: [/usr/lib/os-release]\n", "inline.yaml");
  FakeFileSystem fs = debian_tree();
  BundlePlan plan = make_plan(in, fs);
  std::string target = render_why(explain_in_plan(plan, in.traces, "/usr/lib/os-release"));
  EXPECT_NE(target.find("/usr/lib/os-release: not in the bundle\nreason:\n  excluded by rule '/usr/lib/os-release' (inline.yaml:4:11)\n"),
            std::string::npos)
      << target;
  std::string link = render_why(explain_in_plan(plan, in.traces, "/etc/os-release"));
  EXPECT_NE(link.find("  dangles in the bundle: /usr/lib/os-release is left out: excluded by rule '/usr/lib/os-release' "
                      "(inline.yaml:4:11)\n"),
            std::string::npos)
      << link;
}

TEST(WhyTrace, IncludedByRuleNamesTheRule) {
  EXPECT_TRUE(matches_golden("why-included-by-rule.txt", why_in_fixture("/etc/debian_version", "why-exclude.yaml")));
}

TEST(WhyTrace, PseudoFileSystemIsOut) { EXPECT_TRUE(matches_golden("why-pseudo.txt", why_in_fixture("/proc/4101/maps"))); }

TEST(WhyTrace, OutputOfTheRunIsOut) { EXPECT_TRUE(matches_golden("why-output.txt", why_in_fixture("/srv/demo/out.txt"))); }

TEST(WhyTrace, FailedLookupIsOut) { EXPECT_TRUE(matches_golden("why-failed-lookup.txt", why_in_fixture("/etc/ld.so.preload"))); }

TEST(WhyTrace, SpecialFileIsOut) { EXPECT_TRUE(matches_golden("why-special.txt", why_in_fixture("/srv/demo/pipe"))); }

TEST(WhyTrace, NeverTouchedPathIsOut) { EXPECT_TRUE(matches_golden("why-never-touched.txt", why_in_fixture("/etc/hosts"))); }

TEST(WhyTrace, PathThroughABundleSymlinkIsFollowedToItsEntry) { EXPECT_TRUE(matches_golden("why-route.txt", why_in_fixture("/bin/sh"))); }

TEST(WhyTrace, SymlinkLoopStopsFollowing) {
  BundlePlan plan;
  PlanEntry loop;
  loop.path = "/a";
  loop.type = EntryType::symlink;
  loop.link_target = "/a/b";
  plan.entries.push_back(loop);
  WhyAnswer answer = explain_in_plan(plan, {}, "/a/x");
  EXPECT_FALSE(answer.in_bundle);
  EXPECT_EQ(answer.route.size(), 40u);
}

// /opt/app/current -> releases/current -> /srv/app/v2: /opt/app/current/.. is
// /srv/app, the parent of where the links led, not /opt/app/releases (the
// textual parent of the first link's target) nor /opt/app.
BundlePlan release_plan() {
  BundlePlan plan;
  auto add = [&plan](const PathBytes& path, EntryType type, const PathBytes& target, const std::string& reason) {
    PlanEntry e;
    e.path = path;
    e.type = type;
    e.link_target = target;
    e.reasons.push_back({PlanReason::Source::rule, reason, {}, 0, 0, {}, {}});
    plan.entries.push_back(e);
  };
  for (const char* dir : {"/opt", "/opt/app", "/opt/app/bin", "/opt/app/releases", "/opt/app/releases/bin", "/srv", "/srv/app",
                          "/srv/app/v2", "/srv/app/bin"})
    add(dir, EntryType::directory, "", "directory");
  add("/opt/app/current", EntryType::symlink, "releases/current", "the current release");
  add("/opt/app/releases/current", EntryType::symlink, "/srv/app/v2", "where releases are served");
  add("/opt/app/bin/app", EntryType::regular, "", "the old layout's app");
  add("/opt/app/releases/bin/app", EntryType::regular, "", "the releases' app");
  add("/srv/app/bin/app", EntryType::regular, "", "the served app");
  std::sort(plan.entries.begin(), plan.entries.end(), [](const PlanEntry& a, const PlanEntry& b) { return a.path < b.path; });
  return plan;
}

TEST(WhyTrace, DotDotAfterASymlinkClimbsFromWhereTheLinksLed) {
  WhyAnswer answer = explain_in_plan(release_plan(), {}, "/opt/app/current/../bin/app");
  EXPECT_TRUE(answer.in_bundle);
  EXPECT_EQ(answer.reasons, std::vector<std::string>{"the served app"});
  std::vector<std::string> route = {
      "/opt/app/current is a symlink to releases/current: /opt/app/current/../bin/app is /opt/app/releases/current/../bin/app",
      "/opt/app/releases/current is a symlink to /srv/app/v2: /opt/app/releases/current/../bin/app is /srv/app/bin/app"};
  EXPECT_EQ(answer.route, route);
}

TEST(WhyBundle, DotDotAfterASymlinkClimbsFromWhereTheLinksLed) {
  Manifest manifest;
  manifest.has_exclusions = true;
  for (const PlanEntry& e : release_plan().entries) {
    ManifestEntry m;
    m.path = e.path;
    m.type = e.type;
    m.link_target = e.link_target;
    m.reasons = {e.reasons.at(0).detail};
    manifest.entries.push_back(m);
  }
  WhyAnswer answer = explain_in_manifest(manifest, "/opt/app/current/../bin/app");
  EXPECT_TRUE(answer.in_bundle);
  EXPECT_EQ(answer.reasons, std::vector<std::string>{"the served app"});
  EXPECT_EQ(answer.route.size(), 2u);
}

TEST(WhyTrace, ElfDependencyNamesTheObjectThatNeedsIt) {
  PlanInputs in;
  in.traces.push_back(read_trace(kFixtures + "/traces/shell-cat.jsonl"));
  in.spec = parse_spec("name: t\ntests: [{name: a, run: [x]}]\ninclude:\n  - elf: /opt/tool/tool\noutput: {path: o}\n", "tool.yaml");
  ElfClosure closure;
  closure.roots = {"/opt/tool/tool"};
  closure.dependencies.push_back({"libtool.so.1", "/opt/tool/tool", "/opt/tool/libtool.so.1", "/opt/tool/libtool.so.1", {}, "DT_RUNPATH"});
  in.closures.push_back(closure);
  FakeFileSystem fs = debian_tree();
  BundlePlan plan = make_plan(in, fs);
  EXPECT_TRUE(matches_golden("why-elf.txt", render_why(explain_in_plan(plan, in.traces, "/opt/tool/libtool.so.1"))));
}

TEST(WhyTrace, AccessesPastTheLimitAreCounted) {
  Planned p = plan_fixture();
  Trace many = p.trace;
  FileAccess a = many.accesses.back();
  for (std::size_t i = 0; i < kMaxWhyAccesses + 3; ++i) {
    a.id = many.accesses.size() + 1;
    many.accesses.push_back(a);
  }
  WhyAnswer answer = explain_in_plan(p.plan, {many}, a.resolved);
  EXPECT_EQ(answer.accesses.size(), kMaxWhyAccesses);
  EXPECT_EQ(answer.more_accesses, 4u);
  EXPECT_NE(render_why(answer).find("  ... and 4 more\n"), std::string::npos);
}

TEST(WhyPath, RelativePathIsRefused) {
  try {
    normalize_why_path("etc/passwd");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "why: path must be absolute: 'etc/passwd'");
  }
}

TEST(WhyPath, TrailingSlashesAreIgnored) {
  EXPECT_EQ(normalize_why_path("/usr/lib//"), "/usr/lib");
  EXPECT_EQ(normalize_why_path("/"), "/");
}

Manifest fixture_manifest(const std::string& name) {
  return parse_manifest(read_text(kFixtures + "/manifests/" + name + ".json"), name + ".json");
}

TEST(WhyBundle, EntryShowsItsReasonsAndTests) {
  EXPECT_TRUE(matches_golden("why-bundle-in.txt", render_why(explain_in_manifest(fixture_manifest("new"), "/opt/app/bin/app"))));
}

TEST(WhyBundle, ExclusionRecordedInTheManifestIsShown) {
  EXPECT_TRUE(matches_golden("why-bundle-excluded.txt", render_why(explain_in_manifest(fixture_manifest("new"), "/opt/app/legacy.conf"))));
}

TEST(WhyBundle, PathThroughABundleSymlinkIsFollowed) {
  EXPECT_TRUE(
      matches_golden("why-bundle-route.txt", render_why(explain_in_manifest(fixture_manifest("new"), "/opt/app/current/../bin/app"))));
}

TEST(WhyBundle, ManifestWithoutExclusionsSaysTheReasonIsUnknown) {
  EXPECT_TRUE(matches_golden("why-bundle-unknown.txt", render_why(explain_in_manifest(fixture_manifest("old"), "/etc/hosts"))));
}

}  // namespace
}  // namespace tracepack

// resolve_path, the one resolver of every stage, over an in-memory tree (a
// fake lookup) and, for host_lookup, over a real tree in a temporary directory.
#include "tracepack/path_resolution.h"

#include <errno.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>

namespace tracepack {
namespace {

namespace fs = std::filesystem;

// An in-memory tree, in its root's view: paths to nodes; "/" is a directory.
class FakeTree {
 public:
  FakeTree() { nodes_["/"] = {FileType::directory, 0, {}, {}, FileType::none}; }
  FakeTree& dir(const PathBytes& path) { return add(path, FileType::directory, {}); }
  FakeTree& file(const PathBytes& path) { return add(path, FileType::regular, {}); }
  FakeTree& link(const PathBytes& path, const PathBytes& target) { return add(path, FileType::symlink, target); }
  PathLookup lookup() const {
    return [this](const PathBytes& path) {
      auto it = nodes_.find(path);
      return it == nodes_.end() ? PathNode{FileType::none, ENOENT, {}, {}, FileType::none} : it->second;
    };
  }
  PathResolution resolve(std::string_view path, ResolveOptions options = {}) const { return resolve_path(lookup(), path, options); }

 private:
  FakeTree& add(const PathBytes& path, FileType type, const PathBytes& target) {
    nodes_[path] = {type, 0, target, {}, FileType::none};
    return *this;
  }
  std::map<PathBytes, PathNode> nodes_;
};

// /srv/current -> releases/v2 (relative), /srv/latest -> /srv/releases/v3/bin
// (absolute), /srv/releases/{v2,v3/bin,shared/app.conf}, and a decoy
// /srv/shared/app.conf where a textual ".." would land.
FakeTree releases() {
  FakeTree t;
  t.dir("/srv").dir("/srv/releases").dir("/srv/releases/v2").dir("/srv/releases/v3").dir("/srv/releases/v3/bin");
  t.dir("/srv/releases/shared").file("/srv/releases/shared/app.conf").dir("/srv/shared").file("/srv/shared/app.conf");
  t.link("/srv/current", "releases/v2").link("/srv/latest", "/srv/releases/v3/bin");
  return t;
}

TEST(ResolvePath, DotDotAfterARelativeSymlinkClimbsFromItsTarget) {
  PathResolution r = releases().resolve("/srv/current/../shared/app.conf");
  EXPECT_EQ(r.outcome(), ResolveOutcome::resolved);
  EXPECT_EQ(r.resolved, "/srv/releases/shared/app.conf");
  EXPECT_EQ(r.type, FileType::regular);
  EXPECT_EQ(r.links, std::vector<Symlink>{(Symlink{"/srv/current", "releases/v2"})});
  EXPECT_EQ(r.remaining, std::vector<PathBytes>{"../shared/app.conf"});
}

TEST(ResolvePath, DotDotAfterAnAbsoluteSymlinkClimbsFromItsTarget) {
  PathResolution r = releases().resolve("/srv/latest/../../shared/app.conf");
  EXPECT_EQ(r.resolved, "/srv/releases/shared/app.conf");
  EXPECT_EQ(r.links, std::vector<Symlink>{(Symlink{"/srv/latest", "/srv/releases/v3/bin"})});
}

TEST(ResolvePath, DotDotInsideALinkTargetClimbsFromWhereTheTargetLed) {
  FakeTree t = releases();
  t.link("/srv/config", "current/../shared/app.conf");
  PathResolution r = t.resolve("/srv/config");
  EXPECT_EQ(r.resolved, "/srv/releases/shared/app.conf");
  std::vector<Symlink> links = {{"/srv/config", "current/../shared/app.conf"}, {"/srv/current", "releases/v2"}};
  EXPECT_EQ(r.links, links);
}

TEST(ResolvePath, RelativePathStartsFromTheBase) {
  PathResolution r = releases().resolve("current/../shared/app.conf", ResolveOptions{"/srv", true});
  EXPECT_EQ(r.resolved, "/srv/releases/shared/app.conf");
}

TEST(ResolvePath, SymlinkLoopIsTooManyLinks) {
  FakeTree t;
  t.link("/loop1", "loop2").link("/loop2", "/loop1");
  PathResolution r = t.resolve("/loop1/x");
  EXPECT_EQ(r.outcome(), ResolveOutcome::too_many_links);
  EXPECT_EQ(r.error, ELOOP);
  EXPECT_EQ(r.links.size(), static_cast<std::size_t>(kMaxSymlinks));
  EXPECT_EQ(r.type, FileType::none);
}

// /n0 -> n1 -> ... -> n<count>, a file: `count` links to cross.
FakeTree chain(int count) {
  FakeTree t;
  for (int i = 0; i < count; ++i) t.link("/n" + std::to_string(i), "n" + std::to_string(i + 1));
  t.file("/n" + std::to_string(count));
  return t;
}

TEST(ResolvePath, FortyLinksAreFollowedAsByTheKernel) {
  ASSERT_EQ(kMaxSymlinks, 40);
  PathResolution r = chain(40).resolve("/n0");
  EXPECT_EQ(r.outcome(), ResolveOutcome::resolved);
  EXPECT_EQ(r.resolved, "/n40");
  EXPECT_EQ(r.links.size(), 40u);
}

TEST(ResolvePath, FortyFirstLinkIsRefusedAsByTheKernel) {
  PathResolution r = chain(41).resolve("/n0");
  EXPECT_EQ(r.outcome(), ResolveOutcome::too_many_links);
  EXPECT_EQ(r.error, ELOOP);
  EXPECT_EQ(r.resolved, "/n40") << "the link the walk stopped at";
  EXPECT_EQ(r.links.size(), 40u);
}

TEST(ResolvePath, DotDotAtTheTopStaysAtTheRoot) {
  FakeTree t = releases();
  t.link("/srv/up", "../../../srv");
  EXPECT_EQ(t.resolve("/../../srv/releases").resolved, "/srv/releases");
  PathResolution r = t.resolve("/srv/up/current/../shared/app.conf");
  EXPECT_EQ(r.outcome(), ResolveOutcome::resolved);
  EXPECT_EQ(r.resolved, "/srv/releases/shared/app.conf");
  EXPECT_EQ(t.resolve("/..").resolved, "/");
  EXPECT_EQ(t.resolve("/..").type, FileType::directory);
}

TEST(ResolvePath, TrailingSlashFollowsTheLastLinkAndRequiresADirectory) {
  FakeTree t = releases();
  PathResolution dir = t.resolve("/srv/current/", ResolveOptions{"/", false});
  EXPECT_EQ(dir.outcome(), ResolveOutcome::resolved);
  EXPECT_EQ(dir.resolved, "/srv/releases/v2");
  PathResolution file = t.resolve("/srv/shared/app.conf/");
  EXPECT_EQ(file.outcome(), ResolveOutcome::not_directory);
  EXPECT_EQ(file.error, ENOTDIR);
}

TEST(ResolvePath, FinalLinkIsKeptUnlessFollowed) {
  PathResolution r = releases().resolve("/srv/current", ResolveOptions{"/", false});
  EXPECT_EQ(r.resolved, "/srv/current");
  EXPECT_EQ(r.type, FileType::symlink);
  EXPECT_TRUE(r.links.empty());
}

TEST(ResolvePath, EmptyComponentsAndDotsAreSkipped) {
  PathResolution r = releases().resolve("//srv///./releases//shared/./app.conf");
  EXPECT_EQ(r.outcome(), ResolveOutcome::resolved);
  EXPECT_EQ(r.resolved, "/srv/releases/shared/app.conf");
}

TEST(ResolvePath, MissingComponentGivesThePathTheWalkWouldHaveReached) {
  PathResolution r = releases().resolve("/srv/current/nothing/../here");
  EXPECT_EQ(r.outcome(), ResolveOutcome::missing);
  EXPECT_EQ(r.error, ENOENT);
  EXPECT_EQ(r.resolved, "/srv/releases/v2/nothing/../here");
  EXPECT_EQ(r.type, FileType::none);
}

TEST(ResolvePath, FileUsedAsADirectoryIsNotADirectory) {
  PathResolution r = releases().resolve("/srv/shared/app.conf/x");
  EXPECT_EQ(r.outcome(), ResolveOutcome::not_directory);
  EXPECT_EQ(r.resolved, "/srv/shared/app.conf/x");
}

TEST(ResolvePath, EmptyPathIsMissing) { EXPECT_EQ(releases().resolve("").outcome(), ResolveOutcome::missing); }

TEST(ResolvePath, OtherLookupErrorsAreKept) {
  PathLookup denied = [](const PathBytes& path) {
    return path == "/" ? PathNode{FileType::directory, 0, {}, {}, FileType::none}
                       : PathNode{FileType::none, EACCES, {}, {}, FileType::none};
  };
  PathResolution r = resolve_path(denied, "/secret/x");
  EXPECT_EQ(r.outcome(), ResolveOutcome::lookup_failed);
  EXPECT_EQ(r.error, EACCES);
}

TEST(ResolvePath, OpaqueLinkEndsTheWalk) {
  PathLookup proc = [](const PathBytes& path) {
    if (path == "/fd") return PathNode{FileType::symlink, 0, "pipe:[7]", PathBytes("/fd"), FileType::fifo};
    return PathNode{FileType::directory, 0, {}, {}, FileType::none};
  };
  PathResolution r = resolve_path(proc, "/fd");
  EXPECT_EQ(r.outcome(), ResolveOutcome::resolved);
  EXPECT_EQ(r.resolved, "/fd");
  EXPECT_EQ(r.type, FileType::fifo);
  EXPECT_EQ(r.links, std::vector<Symlink>{(Symlink{"/fd", "pipe:[7]"})});
  EXPECT_EQ(resolve_path(proc, "/fd/x").outcome(), ResolveOutcome::not_directory);
}

TEST(ResolvePath, PathsAreBytesNotText) {
  FakeTree t;
  PathBytes odd = "/caf\xe9";  // Latin-1, not UTF-8
  t.dir(odd).link(odd + "/\xff", "..").file(odd + "/x");
  EXPECT_EQ(t.resolve(odd + "/\xff/caf\xe9/x").resolved, odd + "/x");
}

TEST(ParentOf, IsTheDirectoryPart) {
  EXPECT_EQ(parent_of("/usr/lib"), "/usr");
  EXPECT_EQ(parent_of("/usr"), "/");
  EXPECT_EQ(parent_of("/"), "/");
  EXPECT_EQ(parent_of("name"), "/");
}

// host_lookup inside a directory other than "/": a real tree in a temporary
// directory, where an absolute link and ".." at the top stay in the root.
class HostLookupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tracepack-resolution-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    fs::create_directories(root_ + "/usr/lib/app/v2");
    std::ofstream(root_ + "/usr/lib/app/app.conf") << "x";
    fs::create_directories(root_ + "/etc");
    fs::create_symlink("/usr/lib/app/v2", root_ + "/etc/app");       // absolute: inside the root
    fs::create_symlink("../../../../../..", root_ + "/etc/escape");  // climbs past the top
  }
  void TearDown() override { fs::remove_all(root_); }
  std::string root_;
};

TEST_F(HostLookupTest, AbsoluteLinkAndDotDotStayInsideTheRoot) {
  PathLookup lookup = host_lookup(root_ + "/");
  PathResolution r = resolve_path(lookup, "/etc/app/../app.conf");
  EXPECT_EQ(r.outcome(), ResolveOutcome::resolved);
  EXPECT_EQ(r.resolved, "/usr/lib/app/app.conf");
  EXPECT_EQ(r.type, FileType::regular);
  EXPECT_EQ(r.links, std::vector<Symlink>{(Symlink{"/etc/app", "/usr/lib/app/v2"})});
  PathResolution top = resolve_path(lookup, "/etc/escape/usr/lib/app/app.conf");
  EXPECT_EQ(top.resolved, "/usr/lib/app/app.conf");
  EXPECT_EQ(resolve_path(lookup, "/../../etc").resolved, "/etc");
}

TEST_F(HostLookupTest, MissingFileInTheRoot) {
  PathResolution r = resolve_path(host_lookup(root_), "/etc/app/nothing");
  EXPECT_EQ(r.outcome(), ResolveOutcome::missing);
  EXPECT_EQ(r.resolved, "/usr/lib/app/v2/nothing");
}

}  // namespace
}  // namespace tracepack

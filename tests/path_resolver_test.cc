// PathResolver against real directory trees built in a temporary directory.
#include "path_resolver.h"

#include <errno.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fcntl.h>

#include <filesystem>
#include <fstream>

namespace tracepack::tracer {
namespace {

namespace fs = std::filesystem;

class PathResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tracepack-resolver-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = fs::canonical(tmpl).string();
    fs::create_directories(root_ + "/usr/lib/pkg");
    std::ofstream(root_ + "/usr/lib/pkg/data.txt") << "x";
    fs::create_directory_symlink("usr/lib", root_ + "/lib");        // relative, merged-/usr style
    fs::create_symlink(root_ + "/lib/pkg", root_ + "/abs");         // absolute, through another link
    fs::create_symlink("../lib/pkg/data.txt", root_ + "/usr/rel");  // relative with ..
    fs::create_symlink("missing", root_ + "/dangling");
    fs::create_symlink("loop2", root_ + "/loop1");
    fs::create_symlink("loop1", root_ + "/loop2");
  }
  void TearDown() override { fs::remove_all(root_); }

  Resolution resolve(const std::string& path, bool follow = true) {
    return resolver_.resolve(root_, path, follow, Viewer{getpid(), getpid()});
  }

  std::string root_;
  PathResolver resolver_;
};

TEST_F(PathResolverTest, PlainFileHasNoLinks) {
  Resolution r = resolve("usr/lib/pkg/data.txt");
  EXPECT_EQ(r.resolved, root_ + "/usr/lib/pkg/data.txt");
  EXPECT_EQ(r.error, 0);
  EXPECT_EQ(r.type, FileType::regular);
  EXPECT_TRUE(r.links.empty());
}

TEST_F(PathResolverTest, KeepsEveryLinkOfAChain) {
  Resolution r = resolve(root_ + "/abs/data.txt");
  EXPECT_EQ(r.resolved, root_ + "/usr/lib/pkg/data.txt");
  ASSERT_EQ(r.links.size(), 2u);
  EXPECT_EQ(r.links[0].path, root_ + "/abs");
  EXPECT_EQ(r.links[0].target, root_ + "/lib/pkg");
  EXPECT_EQ(r.links[1].path, root_ + "/lib");
  EXPECT_EQ(r.links[1].target, "usr/lib");
}

TEST_F(PathResolverTest, DotDotAfterSymlinkIsPhysical) {
  // lib -> usr/lib, so lib/.. is usr, not the root (a textual collapse would say root).
  Resolution r = resolve("lib/../rel");
  EXPECT_EQ(r.error, 0);
  EXPECT_EQ(r.resolved, root_ + "/usr/lib/pkg/data.txt");
  ASSERT_EQ(r.links.size(), 3u);
  EXPECT_EQ(r.links[1].path, root_ + "/usr/rel");
  EXPECT_EQ(r.links[1].target, "../lib/pkg/data.txt");
}

TEST_F(PathResolverTest, UnderARootPrefixAbsoluteLinksAndDotDotStayInside) {
  // The traced processes' root is root_: /inroot -> /usr/lib/pkg means root_/usr/lib/pkg,
  // and the ".." after it climbs from there (to /usr/lib), not from the link's directory.
  fs::create_symlink("/usr/lib/pkg", root_ + "/inroot");
  resolver_.set_root(root_);
  Resolution r = resolver_.resolve("/", "/inroot/../pkg/data.txt", true, Viewer{getpid(), getpid()});
  EXPECT_EQ(r.error, 0);
  EXPECT_EQ(r.resolved, "/usr/lib/pkg/data.txt");
  EXPECT_EQ(r.type, FileType::regular);
  EXPECT_EQ(r.links, std::vector<Symlink>{(Symlink{"/inroot", "/usr/lib/pkg"})});
  EXPECT_EQ(resolver_.host_path(r.resolved), root_ + "/usr/lib/pkg/data.txt");
}

// A tracer in a chroot sees a sandbox's files through /proc under their whole
// path from the machine's root: as_seen_inside takes the root's prefix off,
// and a magic link's target is resolved inside the root.
TEST_F(PathResolverTest, ProcLinksNamingTheRootsWholePathAreSeenInside) {
  resolver_.set_root(root_, root_);
  EXPECT_EQ(resolver_.as_seen_inside(root_ + "/usr/lib"), "/usr/lib");
  EXPECT_EQ(resolver_.as_seen_inside(root_), "/");
  EXPECT_EQ(resolver_.as_seen_inside(root_ + "x/usr"), root_ + "x/usr");
  EXPECT_EQ(resolver_.as_seen_inside("/elsewhere"), "/elsewhere");
  int fd = open((root_ + "/usr/lib/pkg/data.txt").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  Resolution r = resolver_.resolve("/", "/proc/self/fd/" + std::to_string(fd), true, Viewer{getpid(), getpid()});
  close(fd);
  EXPECT_EQ(r.error, 0);
  EXPECT_EQ(r.resolved, "/usr/lib/pkg/data.txt");
  EXPECT_EQ(r.type, FileType::regular);
}

TEST_F(PathResolverTest, AfterAPivotRootProcLinksAreAlreadyInside) {
  resolver_.set_root(root_, "/");
  EXPECT_EQ(resolver_.as_seen_inside(root_ + "/usr/lib"), root_ + "/usr/lib");
}

TEST_F(PathResolverTest, FinalLinkNotFollowedOnRequest) {
  Resolution r = resolve("usr/rel", false);
  EXPECT_EQ(r.resolved, root_ + "/usr/rel");
  EXPECT_EQ(r.type, FileType::symlink);
  EXPECT_TRUE(r.links.empty());
}

TEST_F(PathResolverTest, TrailingSlashFollowsAndRequiresDirectory) {
  Resolution dir = resolve("lib/", false);
  EXPECT_EQ(dir.resolved, root_ + "/usr/lib");
  EXPECT_EQ(dir.type, FileType::directory);
  Resolution file = resolve("usr/lib/pkg/data.txt/");
  EXPECT_EQ(file.error, ENOTDIR);
}

TEST_F(PathResolverTest, DanglingLinkIsENOENTWithTheLinkRecorded) {
  Resolution r = resolve("dangling");
  EXPECT_EQ(r.error, ENOENT);
  EXPECT_EQ(r.resolved, root_ + "/missing");
  ASSERT_EQ(r.links.size(), 1u);
  EXPECT_EQ(r.links[0].target, "missing");
}

TEST_F(PathResolverTest, LoopGivesELOOP) { EXPECT_EQ(resolve("loop1").error, ELOOP); }

TEST_F(PathResolverTest, FileAsDirectoryGivesENOTDIR) { EXPECT_EQ(resolve("usr/lib/pkg/data.txt/x").error, ENOTDIR); }

TEST_F(PathResolverTest, MissingComponentGivesENOENT) {
  Resolution r = resolve("usr/nothing/here");
  EXPECT_EQ(r.error, ENOENT);
  EXPECT_EQ(r.resolved, root_ + "/usr/nothing/here") << "the path the walk would have reached";
  EXPECT_EQ(r.type, FileType::none);
}

TEST_F(PathResolverTest, EmptyPathIsENOENT) { EXPECT_EQ(resolve("").error, ENOENT); }

TEST_F(PathResolverTest, ForgetMakesANewFileVisible) {
  EXPECT_EQ(resolve("new.txt").error, ENOENT);
  std::ofstream(root_ + "/new.txt") << "y";
  EXPECT_EQ(resolve("new.txt").error, ENOENT) << "the negative answer is cached until forgotten";
  resolver_.forget(root_ + "/new.txt");
  EXPECT_EQ(resolve("new.txt").error, 0);
}

TEST_F(PathResolverTest, ProcSelfIsTheViewersProcess) {
  Resolution r = resolver_.resolve("/", "/proc/self/status", true, Viewer{1, 1});
  EXPECT_EQ(r.resolved, "/proc/1/status");
  ASSERT_EQ(r.links.size(), 1u);
  EXPECT_EQ(r.links[0].path, "/proc/self");
  EXPECT_EQ(r.links[0].target, "1");
}

TEST_F(PathResolverTest, ProcMagicLinkToAPipeEndsAtTheLink) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  std::string link = "/proc/self/fd/" + std::to_string(fds[0]);
  Resolution r = resolver_.resolve("/", link, true, Viewer{getpid(), getpid()});
  EXPECT_EQ(r.resolved, "/proc/" + std::to_string(getpid()) + "/fd/" + std::to_string(fds[0]));
  EXPECT_EQ(r.type, FileType::fifo);
  EXPECT_EQ(r.error, 0);
  close(fds[0]);
  close(fds[1]);
}

TEST_F(PathResolverTest, ProcMagicLinkToAFileLeadsToTheFile) {
  int fd = open((root_ + "/usr/lib/pkg/data.txt").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  Resolution r = resolver_.resolve("/", "/dev/fd/" + std::to_string(fd), true, Viewer{getpid(), getpid()});
  EXPECT_EQ(r.resolved, root_ + "/usr/lib/pkg/data.txt");
  EXPECT_EQ(r.type, FileType::regular);
  close(fd);
}

}  // namespace
}  // namespace tracepack::tracer

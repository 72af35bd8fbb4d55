// The mount family, system-administration calls and names at the limits
// (docs/tracer-cases.md, "Mount-family calls and long names"): every path
// argument is recorded byte for byte, with the error the kernel really gave,
// including when the call fails.
//
// The fixtures print "<call> <errno>" for each call they make, since whether
// a mount call fails with EPERM, EINVAL or ENOENT depends on the privileges
// the tests run with; the tests assert that the trace holds that very error.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <map>
#include <sstream>

#include "tracer_test_util.h"

namespace tracepack::test {
namespace {

// "<call> <errno>" lines of a fixture's output, by call.
std::map<std::string, int> printed_errors(const std::string& output) {
  std::map<std::string, int> errors;
  std::istringstream in(output);
  std::string call;
  int err = 0;
  while (in >> call >> err) errors[call] = err;
  return errors;
}

class MountCallsTest : public TracerTest {
 protected:
  void SetUp() override {
    make_dirs(data() / "src");
    make_dirs(data() / "dst");
    make_symlink("src", data() / "link");
    run_ = trace({fixture("mount_calls"), data().path()});
    ASSERT_TRUE(exited_with(run_, 0));
    errors_ = printed_errors(run_.process.out);
    ASSERT_EQ(errors_.size(), errors_.count("mount_bind") ? 17u : 15u) << run_.process.out;
  }
  std::string error_of(const std::string& call) { return error_name(errors_.at(call)); }

  TracedRun run_;
  std::map<std::string, int> errors_;
};

// Every path of every call, failed ones included, with the kernel's error.
TEST_F(MountCallsTest, RecordsEveryPathOfFailedCalls) {
  std::vector<std::string> expected = {
      "openat read $D -> $D ok directory",
      "mount other $D/missing -> $D/missing " + error_of("mount") + " none | mount_source -> ",
      "umount2 other $D/src -> $D/src " + error_of("umount2") + " directory",
      "umount2 other $D/link -> $D/link " + error_of("umount2_nofollow") + " symlink",
      "pivot_root other $D/src -> $D/src " + error_of("pivot_root") + " directory | $D/missing -> $D/missing",
      "open_tree other $D/missing -> $D/missing " + error_of("open_tree") + " none",
      "open_tree other  -> $D " + error_of("open_tree_fd") + " directory",
      "move_mount other $D/missing -> $D/missing " + error_of("move_mount") + " none | dst -> $D/dst",
      "fspick other link -> $D/link " + error_of("fspick") + " symlink",
      "mount_setattr other $D/missing -> $D/missing " + error_of("mount_setattr") + " none",
      "acct other $D/acct_sample -> $D/acct_sample " + error_of("acct") + " none",
      "swapon other $D/swap_sample -> $D/swap_sample " + error_of("swapon") + " none",
      "swapoff other $D/swap_sample -> $D/swap_sample " + error_of("swapoff") + " none",
      "quotactl other $D/missing -> $D/missing " + error_of("quotactl") + " none",
      "quotactl_fd other  -> $D " + error_of("quotactl_fd") + " directory",
      "fanotify_mark watch $D/missing -> $D/missing EBADF none",
  };
  if (errors_.count("mount_bind")) {
    expected.push_back("mount other $D/dst -> $D/dst " + error_of("mount_bind") + " directory | $D/src -> $D/src");
    expected.push_back("umount2 other $D/dst -> $D/dst " + error_of("umount2_bind") + " directory");
  }
  // Failures the kernel alone decides: none of them may be recorded as a success.
  for (const char* call : {"mount", "umount2", "umount2_nofollow", "pivot_root", "open_tree", "move_mount", "mount_setattr", "acct",
                           "swapon", "swapoff", "quotactl", "fanotify_mark"})
    EXPECT_NE(errors_.at(call), 0) << call;
  EXPECT_EQ(errors_.at("fanotify_mark"), EBADF);
  EXPECT_TRUE(same_lines(describe_under(*run_.trace, data().path()), expected)) << dump(*run_.trace);
}

// The results come from the exit stop, not from the tracer's own lookup.
TEST_F(MountCallsTest, ErrorsAreObservedAtExit) {
  std::vector<const FileAccess*> accesses = accesses_under(*run_.trace, data().path());
  std::erase_if(accesses, [](const FileAccess* a) { return a->syscall == "openat"; });
  ASSERT_GE(accesses.size(), 15u) << dump(*run_.trace);
  for (const FileAccess* a : accesses) EXPECT_TRUE(a->observed) << describe(*a, data().path());
}

// The mount source is kept exactly as given, with the flags of the call.
TEST_F(MountCallsTest, KeepsMountFlagsAndSourceAsGiven) {
  const FileAccess* a = find_access(*run_.trace, {.syscall = "mount", .path = data() / "missing"});
  ASSERT_NE(a, nullptr) << dump(*run_.trace);
  EXPECT_EQ(a->path2, "mount_source");
  EXPECT_EQ(a->resolved2, "");
  EXPECT_EQ(a->flags, 15u);
}

// A successful bind mount (root only): the tracer forgets what it cached
// about paths, since the same names now lead into another tree.
TEST_F(MountCallsTest, BindMountRecordsBothPathsResolved) {
  if (!errors_.count("mount_bind")) GTEST_SKIP() << "no private mount namespace here (no CAP_SYS_ADMIN, or a chroot)";
  ASSERT_EQ(errors_.at("mount_bind"), 0);
  ASSERT_EQ(errors_.at("umount2_bind"), 0);
  const FileAccess* a = find_access(*run_.trace, {.syscall = "mount", .path = data() / "dst"});
  ASSERT_NE(a, nullptr) << dump(*run_.trace);
  EXPECT_EQ(a->path2, data() / "src");
  EXPECT_EQ(a->resolved2, data() / "src");
  EXPECT_EQ(a->error, 0);
}

// 4095-byte names (and 4096 bytes with no NUL) given to the new mount API.
class LongNamesTest : public TracerTest {
 protected:
  void SetUp() override {
    run_ = trace({fixture("long_names"), data().path()});
    ASSERT_TRUE(run_.trace.has_value()) << run_.trace_error;
    ASSERT_EQ(run_.process.exit_code(), 0) << run_.process.err;
    std::istringstream in(run_.process.out);
    std::string call;
    int err = 0;
    while (in >> call >> err) results_.emplace_back(call, err);
    ASSERT_EQ(results_.size(), 10u) << run_.process.out;
    for (int i = 0; i < 4096; ++i) digits_ += static_cast<char>('0' + i % 10);
  }
  TracedRun run_;
  std::vector<std::pair<std::string, int>> results_;
  std::string digits_;  // the fixture's 4096 bytes
};

TEST_F(LongNamesTest, RecordsA4095ByteNameWhole) {
  const PathBytes name = digits_.substr(0, 4095);
  std::map<std::string, const FileAccess*> by_call;
  for (const FileAccess& a : run_.trace->accesses) {
    if (a.path == name) by_call[a.syscall] = &a;
    if (a.path2 == name) by_call[a.syscall + "_to"] = &a;
  }
  ASSERT_EQ(by_call.size(), 5u) << run_.trace->accesses.size() << " accesses";
  std::map<std::string, std::string> call_of = {{"open_tree", "open_tree"},
                                                {"move_mount_from", "move_mount"},
                                                {"move_mount_to", "move_mount_to"},
                                                {"fspick", "fspick"},
                                                {"mount_setattr", "mount_setattr"}};
  for (std::size_t i = 0; i < 5; ++i) {
    const auto& [call, err] = results_[i];
    const FileAccess* a = by_call.at(call_of.at(call));
    EXPECT_EQ(a->error, err) << call;
    EXPECT_TRUE(a->observed) << call;
    const PathBytes& resolved = call == "move_mount_to" ? a->resolved2 : a->resolved;
    EXPECT_EQ(resolved, data() / name) << call;
  }
  if (geteuid() == 0) {
    EXPECT_EQ(results_[0].second, ENAMETOOLONG);
  }
}

// With no NUL within PATH_MAX the kernel stops reading and fails the call;
// the trace keeps the 4096 bytes it read, unresolved.
TEST_F(LongNamesTest, RecordsAnUnterminatedNameAsItsFirst4096Bytes) {
  std::map<std::string, const FileAccess*> by_call;
  for (const FileAccess& a : run_.trace->accesses) {
    if (a.path == digits_) by_call[a.syscall] = &a;
    if (a.path2 == digits_) by_call[a.syscall + "_to"] = &a;
  }
  ASSERT_EQ(by_call.size(), 5u) << run_.trace->accesses.size() << " accesses";
  for (const auto& [call, a] : by_call) {
    EXPECT_TRUE(a->observed) << call;
    EXPECT_EQ(call.ends_with("_to") ? a->resolved2 : a->resolved, "") << call;
  }
  std::map<std::string, std::string> call_of = {{"open_tree", "open_tree"},
                                                {"move_mount_from", "move_mount"},
                                                {"move_mount_to", "move_mount_to"},
                                                {"fspick", "fspick"},
                                                {"mount_setattr", "mount_setattr"}};
  for (std::size_t i = 5; i < 10; ++i) EXPECT_EQ(by_call.at(call_of.at(results_[i].first))->error, results_[i].second) << results_[i].first;
  if (geteuid() == 0) {
    EXPECT_EQ(results_[5].second, ENAMETOOLONG);
  }
}

// strace's fsync-y sample: a name of control bytes, quotes, DEL and bytes
// that are not UTF-8, created in the directory and fsynced by descriptor.
TEST_F(TracerTest, KeepsANameOfControlBytesExactly) {
  const PathBytes name = "\1\0020\v\0047\f\58\t\79\n\10\0171\r\0167\218\37 \\\'\"<<0::0>>1~\177\200\377";
  ASSERT_EQ(name.size(), 39u);
  TracedRun run = trace({fixture("control_name"), data().path()});
  ASSERT_TRUE(exited_with(run, 0));
  const FileAccess* a = find_access(*run.trace, {.syscall = "open", .path = name});
  if (a == nullptr) a = find_access(*run.trace, {.syscall = "openat", .path = name});
  ASSERT_NE(a, nullptr) << dump(*run.trace);
  EXPECT_EQ(a->kind, AccessKind::create);
  EXPECT_EQ(a->resolved, data() / name);
  EXPECT_EQ(a->error, 0);
  EXPECT_TRUE(std::filesystem::exists(data() / name));
  // The same bytes after another round trip through the file format.
  std::string copy = scratch() / "copy.jsonl";
  write_trace(*run.trace, copy);
  EXPECT_EQ(read_trace(copy), *run.trace);
}

}  // namespace
}  // namespace tracepack::test

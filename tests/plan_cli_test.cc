// End-to-end tests of what the plan lets into a bundle, on real files and
// real processes: `tracepack trace` records a command, `tracepack pack`,
// `why` and `report` read the trace. Each test makes its files (a FIFO, a
// symlink, a home directory) in a directory under the build directory, since
// a bundle never holds /tmp.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include "cli_test_util.h"

namespace tracepack {
namespace {

namespace fs = std::filesystem;
using namespace cli_test;

/// A fresh directory under the build directory.
class PlanDir : public TempDir {
 public:
  PlanDir() : TempDir(PLAN_TMP_DIR) {}
};

/// `tracepack trace -o TRACE -- argv`, which must succeed.
void trace(const std::string& trace_file, const std::vector<std::string>& argv, const RunOptions& options = {}) {
  std::vector<std::string> args = {"trace", "-o", trace_file, "--"};
  args.insert(args.end(), argv.begin(), argv.end());
  RunResult r = tracepack(args, options);
  ASSERT_TRUE(exited_with(r, 0));
}

/// A spec with one test and `rules` (YAML lines) appended; the rules start on line 5.
void write_spec(const std::string& path, const std::string& rules) {
  write_file(path, "name: plan\ntests: [{name: t, run: [/bin/true]}]\noutput: {path: out}\n# rules\n" + rules);
}

bool has_line(const std::string& text, const std::string& line) { return ("\n" + text).find("\n" + line + "\n") != std::string::npos; }

TEST(PackCli, IncludeOfAKernelPseudoFileIsRefusedWhenTheSpecIsRead) {
  PlanDir dir;
  trace(dir / "t.jsonl", {"/bin/true"});
  write_spec(dir / "spec.yaml", "include:\n  - /proc/kmsg\n  - elf: /dev/null\n");
  RunResult r = tracepack({"pack", "-s", dir / "spec.yaml", "-o", dir / "out", "-f", "dir", dir / "t.jsonl"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "tracepack: error: " + (dir / "spec.yaml") +
                       ":6:5: include '/proc/kmsg' lies in /proc, a kernel pseudo file system: its files are made by the kernel "
                       "when read and are never packed\n" +
                       (dir / "spec.yaml") +
                       ":7:10: 'elf' '/dev/null' lies in /dev, a kernel pseudo file system: its files are made by the kernel when "
                       "read and are never packed\n");
  EXPECT_FALSE(fs::exists(dir / "out"));
}

TEST(PackCli, FifoInAnIncludeGlobIsNeverOpenedAndIsNamed) {
  PlanDir dir;
  fs::create_directory(dir / "app");
  write_file(dir / "app/data.txt", "data\n");
  ASSERT_EQ(mkfifo((dir / "app/pipe").c_str(), 0644), 0);
  trace(dir / "t.jsonl", {"/bin/true"});
  write_spec(dir / "spec.yaml", "include:\n  - " + (dir / "app/**") + "\n");
  // Were the FIFO opened for reading, pack would block here: nothing writes to it.
  RunResult r = tracepack({"pack", "-s", dir / "spec.yaml", "-o", dir / "out", "-f", "dir", dir / "t.jsonl"});
  ASSERT_TRUE(exited_with(r, 0));
  EXPECT_TRUE(has_line(r.err, "tracepack: warning: " + (dir / "spec.yaml") + ":6:5: include rule '" + (dir / "app/**") + "' matches " +
                                  (dir / "app/pipe") + ", a fifo: left out (special files are never packed)"))
      << r.err;
  EXPECT_TRUE(fs::is_regular_file(dir / ("out" + (dir / "app/data.txt"))));
  EXPECT_FALSE(fs::exists(fs::symlink_status(dir / ("out" + (dir / "app/pipe")))));
}

/// DIR/share/magic.mgc -> ../lib/file/magic.mgc, traced by cat; the spec excludes DIR/lib/file/**.
struct ExcludedTarget {
  PlanDir dir;
  std::string link = dir / "share/magic.mgc";
  std::string target = dir / "lib/file/magic.mgc";
  std::string rule = dir / "lib/file/**";
  std::string spec = dir / "spec.yaml";
  ExcludedTarget() {
    fs::create_directories(dir / "share");
    fs::create_directories(dir / "lib/file");
    write_file(target, "magic\n");
    fs::create_symlink("../lib/file/magic.mgc", link);
    trace(dir / "t.jsonl", {"/bin/cat", link});
    write_spec(spec, "exclude:\n  - " + rule + "\n");
  }
  std::string rule_text() const { return "excluded by rule '" + rule + "' (" + spec + ":6:5)"; }
};

TEST(PackCli, ExcludeBeatsTheTargetOfATracedSymlink) {
  ExcludedTarget t;
  RunResult r = tracepack({"pack", "-s", t.spec, "-o", t.dir / "out", "-f", "dir", t.dir / "t.jsonl"});
  ASSERT_TRUE(exited_with(r, 0));
  EXPECT_TRUE(fs::is_symlink(t.dir / ("out" + t.link)));
  EXPECT_FALSE(fs::exists(fs::symlink_status(t.dir / ("out" + t.target)))) << "the excluded target was packed";
  EXPECT_TRUE(has_line(r.err, "tracepack: warning: symlink " + t.link + " -> ../lib/file/magic.mgc dangles in the bundle: " + t.target +
                                  " is left out: " + t.rule_text()))
      << r.err;
}

TEST(PackCli, ExplainNamesTheExcludeRuleForASymlinkTarget) {
  ExcludedTarget t;
  RunResult r = tracepack({"pack", "-s", t.spec, "--explain", t.target, t.dir / "t.jsonl"});
  ASSERT_TRUE(exited_with(r, 0));
  EXPECT_EQ(r.out, t.target + ": not in the bundle\n  " + t.rule_text() + "\n");
  r = tracepack({"pack", "-s", t.spec, "--explain", t.link, t.dir / "t.jsonl"});
  ASSERT_TRUE(exited_with(r, 0));
  EXPECT_TRUE(has_line(r.out, "  dangles in the bundle: " + t.target + " is left out: " + t.rule_text())) << r.out;
}

TEST(WhyCli, NamesTheExcludeRuleForASymlinkTarget) {
  ExcludedTarget t;
  RunResult r = tracepack({"why", t.dir / "t.jsonl", t.target, "--spec", t.spec});
  EXPECT_TRUE(has_line(r.out, t.target + ": not in the bundle")) << r.out << r.err;
  EXPECT_TRUE(has_line(r.out, "  " + t.rule_text())) << r.out;
  r = tracepack({"why", t.dir / "t.jsonl", t.link, "--spec", t.spec});
  EXPECT_TRUE(has_line(r.out, "  dangles in the bundle: " + t.target + " is left out: " + t.rule_text())) << r.out;
}

// Debian's `file` reads /usr/share/misc/magic.mgc -> ../../lib/file/magic.mgc.
TEST(PackCli, ExcludeBeatsFilesMagicDatabaseLink) {
  REQUIRE_PROGRAM("file", "file");
  std::error_code ec;
  if (fs::canonical("/usr/share/misc/magic.mgc", ec) != "/usr/lib/file/magic.mgc" || !fs::is_symlink("/usr/share/misc/magic.mgc"))
    GTEST_SKIP() << "/usr/share/misc/magic.mgc is not a symlink to /usr/lib/file/magic.mgc here";
  PlanDir dir;
  trace(dir / "t.jsonl", {"file", "/bin/sh"});
  write_spec(dir / "spec.yaml", "exclude:\n  - /usr/lib/file/**\n");
  RunResult r = tracepack({"pack", "-s", dir / "spec.yaml", "--explain", "/usr/lib/file/magic.mgc", dir / "t.jsonl"});
  ASSERT_TRUE(exited_with(r, 0));
  EXPECT_EQ(r.out, "/usr/lib/file/magic.mgc: not in the bundle\n  excluded by rule '/usr/lib/file/**' (" + (dir / "spec.yaml") + ":6:5)\n");
}

/// HOME is DIR/home (with a .gitconfig); the command runs in / so that the
/// home directory is not below the traced working directory.
struct HostFiles {
  PlanDir dir;
  std::string home = dir / "home";
  std::string gitconfig = home + "/.gitconfig";
  // Run in the home directory, as git is run from ~: the home directory is
  // then no project of its own, wherever the test's directory lies.
  RunOptions options{.env = {"HOME=" + home}, .cwd = home};
  HostFiles() {
    fs::create_directory(home);
    write_file(gitconfig, "[user]\n\tname = Ann\n");
    trace(dir / "t.jsonl", {"/bin/cat", gitconfig, "/etc/hostname"}, options);
  }
};

// mount_calls makes every mount-family call on names in DIR (all failing,
// and as root a bind mount of DIR/src on DIR/dst that succeeds): the trace
// holds them, with kind "other", and pack, why and report take the trace in
// their stride without packing any of those paths.
TEST(PackCli, MountFamilyCallsAreRecordedButNeverPacked) {
  PlanDir dir;
  fs::create_directory(dir / "src");
  fs::create_directory(dir / "dst");
  write_file(dir / "src/f", "f\n");
  fs::create_directory_symlink("src", dir / "link");
  trace(dir / "t.jsonl", {std::string(FIXTURE_BIN_DIR) + "/mount_calls", dir.path()});
  std::string trace_text = read_file(dir / "t.jsonl");
  for (const char* call : {"\"mount\"", "\"umount2\"", "\"pivot_root\"", "\"acct\"", "\"swapon\"", "\"open_tree\""})
    EXPECT_NE(trace_text.find(std::string("\"syscall\":") + call + ",\"kind\":\"other\""), std::string::npos) << call << "\n" << trace_text;
  write_spec(dir / "spec.yaml", "");
  RunResult r = tracepack({"pack", "-s", dir / "spec.yaml", "-o", dir / "out", "-f", "dir", dir / "t.jsonl"});
  ASSERT_TRUE(exited_with(r, 0));
  for (const char* name : {"src", "dst", "link", "missing", "acct_sample", "swap_sample"})
    EXPECT_FALSE(fs::exists(fs::symlink_status(dir / ("out" + (dir / name))))) << name;
  RunResult why = tracepack({"why", dir / "t.jsonl", dir / "dst", "--spec", dir / "spec.yaml"});
  EXPECT_TRUE(has_line(why.out, (dir / "dst") + ": not in the bundle")) << why.out << why.err;
  RunResult report = tracepack({"report", dir / "out"});
  EXPECT_TRUE(exited_with(report, 0));
}

TEST(PackCli, HostSpecificFilesAreListedForReview) {
  if (!fs::is_regular_file("/etc/hostname")) GTEST_SKIP() << "no /etc/hostname on this machine";
  HostFiles h;
  RunResult r = tracepack({"pack", "-o", h.dir / "out", "-f", "dir", h.dir / "t.jsonl"}, h.options);
  ASSERT_TRUE(exited_with(r, 0));
  // Findings come sorted by path; where the home directory sorts depends on
  // where the test's directory lies.
  const std::string hostname_finding =
      "tracepack: host-specific: review /etc/hostname: this host's name\n"
      "tracepack:   to leave it out: exclude: - /etc/hostname\n";
  const std::string gitconfig_finding = "tracepack: host-specific: review " + h.gitconfig + ": file in a home directory (" + h.home +
                                        ")\ntracepack:   to leave it out: exclude: - " + h.gitconfig + "\n";
  const bool home_first = h.gitconfig < std::string("/etc/hostname");
  EXPECT_NE(r.err.find((home_first ? gitconfig_finding + hostname_finding : hostname_finding + gitconfig_finding) +
                       "tracepack: host-specific: to pack one on purpose, list its path under 'host_specific: allow:' in the spec\n"),
            std::string::npos)
      << r.err;
  RunResult reported = tracepack({"report", h.dir / "t.jsonl", "--format", "json"}, h.options);
  ASSERT_TRUE(exited_with(reported, 0));
  Json report = Json::parse(reported.out);
  ASSERT_EQ(report["host_specific"].size(), 2u) << report["host_specific"].dump();
  const Json& hostname = report["host_specific"][home_first ? 1 : 0];
  const Json& gitconfig = report["host_specific"][home_first ? 0 : 1];
  EXPECT_EQ(hostname["path"], "/etc/hostname");
  EXPECT_EQ(hostname["exclude_line"], "- /etc/hostname");
  EXPECT_EQ(gitconfig["path"], h.gitconfig);
  EXPECT_EQ(gitconfig["exclude_line"], "- " + h.gitconfig);
  EXPECT_EQ(report["totals"]["host_specific"], 2);
}

TEST(PackCli, HostSpecificFilesAcknowledgedByTheSpecAreNotListed) {
  if (!fs::is_regular_file("/etc/hostname")) GTEST_SKIP() << "no /etc/hostname on this machine";
  HostFiles h;
  write_spec(h.dir / "spec.yaml", "include:\n  - " + h.gitconfig + "\nhost_specific:\n  allow: [/etc/hostname]\n");
  RunResult r = tracepack({"pack", "-s", h.dir / "spec.yaml", "-o", h.dir / "out", "-f", "dir", h.dir / "t.jsonl"}, h.options);
  ASSERT_TRUE(exited_with(r, 0));
  EXPECT_EQ(r.err.find("host-specific"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::is_regular_file(h.dir / ("out" + h.gitconfig)));
}

TEST(PackCli, PthFileNoPackageInstalledIsListedForReview) {
  PlanDir dir;
  std::string site = dir / "lib/python3/site-packages";
  fs::create_directories(site + "/tool-1.0.dist-info");
  write_file(site + "/corp-ca.pth", "import corp_ca\n");
  write_file(site + "/tool.pth", "import tool\n");
  write_file(site + "/tool-1.0.dist-info/RECORD", "tool.pth,sha256=x,12\ntool-1.0.dist-info/RECORD,,\n");
  // Traced in its own directory, so that it is packed where temporary files
  // would be left out (a build directory under /tmp).
  trace(dir / "t.jsonl", {"/bin/cat", site + "/corp-ca.pth", site + "/tool.pth"}, {.cwd = dir.path()});
  RunResult r = tracepack({"pack", "-o", dir / "out", "-f", "dir", dir / "t.jsonl"});
  ASSERT_TRUE(exited_with(r, 0));
  EXPECT_TRUE(has_line(r.err, "tracepack: host-specific: review " + site +
                                  "/corp-ca.pth: Python .pth file that no package installed (runs at every interpreter start)"))
      << r.err;
  EXPECT_EQ(r.err.find("review " + site + "/tool.pth"), std::string::npos) << "tool.pth is in a RECORD";
}

}  // namespace
}  // namespace tracepack

// The example applications of fixtures/apps, end to end, one real Debian
// program each. For every application:
//  - `tracepack build` traces its tests, packs a directory bundle and re-runs
//    every test inside a root that holds only the bundle (verify): all must
//    pass;
//  - `tracepack report` describes the bundle in text, JSON and HTML: the JSON
//    totals equal the manifest's, the package breakdown shows the bundle is a
//    fraction of what its Debian packages install, and headless Chromium
//    renders the HTML with the JSON's numbers;
//  - each file the application needs only at run time (a dlopen()ed module, a
//    library of a program it executes) is removed from the bundle in turn:
//    verify must then fail and name exactly that file and the include line
//    that restores it.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "cli_test_util.h"

namespace tracepack {
namespace {

namespace fs = std::filesystem;
using namespace cli_test;

const std::string kApps = FIXTURE_SRC_DIR "/apps";

std::string canonical(const std::string& path) { return fs::canonical(path).string(); }

/// The first line a command prints; throws when it fails.
std::string output_line(const std::vector<std::string>& argv) {
  RunResult r = run(argv);
  if (r.exit_code != 0) throw std::runtime_error(argv[0] + " failed: " + r.err);
  return r.out.substr(0, r.out.find('\n'));
}

/// One example application and what its bundle must show.
struct App {
  std::string name;                   ///< its directory under fixtures/apps
  std::vector<std::string> tests;     ///< the tests of its spec, in order
  std::vector<std::string> env;       ///< for `tracepack build` and `verify`; @TMP@ is a fresh path in /tmp
  std::vector<std::string> run_time;  ///< files loaded only at run time (canonical host paths)
};

void PrintTo(const App& app, std::ostream* out) { *out << app.name; }

const std::string kLibDir = "/usr/lib/x86_64-linux-gnu";

std::vector<App> apps() {
  std::string perl_arch = output_line({"/usr/bin/perl", "-MConfig", "-e", "print $Config{archlibexp}"});
  std::string decimal = output_line({"/usr/bin/python3", "-c", "import _decimal; print(_decimal.__file__)"});
  return {
      {"python-stdlib", {"stdlib"}, {}, {canonical(decimal), canonical(kLibDir + "/libsqlite3.so.0")}},
      {"shell-pipeline", {"sections", "largest"}, {}, {canonical(kLibDir + "/libpcre2-8.so.0")}},
      {"gcc-hello",
       {"compile-and-run"},
       {"GCC_HELLO_OUT=@TMP@"},
       {canonical(kLibDir + "/libmpc.so.3"), canonical(output_line({"/usr/bin/gcc", "-print-prog-name=cc1"}))}},
      {"perl-modules",
       {"inventory"},
       {},
       {canonical(perl_arch + "/auto/Encode/Unicode/Unicode.so"), canonical(perl_arch + "/auto/Digest/SHA/SHA.so")}},
      {"iconv-utf16", {"to-utf16", "round-trip"}, {}, {kLibDir + "/gconv/UTF-16.so"}},
      {"getent-nss", {"passwd-files", "passwd-compat", "group"}, {}, {canonical(kLibDir + "/libnss_compat.so.2")}},
      {"openssl-digest", {"sha", "legacy"}, {}, {kLibDir + "/ossl-modules/legacy.so"}},
  };
}

/// An application built once for all of its tests: its traces, its
/// directory bundle, and what `tracepack build --json` said.
class Built {
 public:
  static const Built& of(const App& app) {
    static std::map<std::string, std::unique_ptr<Built>> built;
    auto& slot = built[app.name];
    if (!slot) slot.reset(new Built(app));
    return *slot;
  }
  std::string spec() const { return kApps + "/" + name_ + "/tracepack.yaml"; }
  std::string traces() const { return dir_ / "traces"; }
  std::string bundle() const { return dir_ / "bundle"; }
  const TempDir& dir() const { return dir_; }
  const RunResult& result() const { return result_; }
  const std::vector<std::string>& env() const { return env_; }
  Json summary() const { return Json::parse(result_.out); }

 private:
  // A program the run writes goes directly into /tmp (@TMP@): an output of
  // the run, never packed; the re-run in the bundle writes its own there.
  explicit Built(const App& app) : name_(app.name), dir_(), scratch_(dir_.path() + "-out") {
    for (std::string entry : app.env) {
      if (std::size_t at = entry.find("@TMP@"); at != std::string::npos) entry.replace(at, 5, scratch_);
      env_.push_back(entry);
    }
    result_ = tracepack({"build", spec(), "--traces", traces(), "-f", "dir", "-o", bundle(), "--json"}, {.env = env_});
  }
  ~Built() {
    std::error_code ignored;
    fs::remove(scratch_, ignored);
  }
  friend struct std::default_delete<Built>;
  std::string name_;
  TempDir dir_;
  std::string scratch_;
  std::vector<std::string> env_;
  RunResult result_;
};

class AppTest : public ::testing::TestWithParam<App> {};

TEST_P(AppTest, BuildVerifiesEveryTestInTheBundle) {
  const App& app = GetParam();
  const Built& built = Built::of(app);
  ASSERT_EQ(built.result().exit_code, 0) << built.result().err;
  Json verify = built.summary()["verify"];
  EXPECT_EQ(verify["passed"], true) << verify.dump(2);
  std::vector<std::string> verified;
  for (const Json& test : verify["tests"]) {
    verified.push_back(test["test"]);
    EXPECT_EQ(test["passed"], true) << test.dump(2);
  }
  EXPECT_EQ(verified, app.tests);
  for (const std::string& path : app.run_time) EXPECT_TRUE(fs::is_regular_file(built.bundle() + path)) << path;
}

TEST_P(AppTest, ReportsInTextJsonAndHtml) {
  const Built& built = Built::of(GetParam());
  ASSERT_EQ(built.result().exit_code, 0) << built.result().err;

  Json report = report_json(built.bundle());
  EXPECT_EQ(counts_of(report), count_manifest(manifest_of(built.bundle(), "dir")));
  // What the bundle takes from each Debian package is part of what that
  // package installs, and the packaged files add up to the bundle's bytes.
  std::uint64_t used = 0, installed = 0;
  for (const Json& package : report["packages"]) {
    EXPECT_LE(package["files_used"].get<std::uint64_t>(), package["files_installed"].get<std::uint64_t>()) << package;
    used += package["bytes_used"].get<std::uint64_t>();
    installed += package["bytes_installed"].get<std::uint64_t>();
  }
  EXPECT_GT(used, 0u);
  EXPECT_LT(used, installed);
  EXPECT_EQ(used + report["unpackaged"]["bytes"].get<std::uint64_t>(), report["totals"]["bytes"]) << report["unpackaged"];

  RunResult text = tracepack({"report", built.bundle()});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("tracepack report: " + GetParam().name + " "), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("  files          " + report["totals"]["files"].dump() + " ("), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("Debian packages (files used / installed, bytes used / installed)\n"), std::string::npos);
  for (const Json& package : report["packages"])
    EXPECT_NE(text.out.find(" " + package["package"].get<std::string>() + "\n"), std::string::npos) << package;

  std::string html = built.dir() / "report.html";
  RunResult written = tracepack({"report", built.bundle(), "--format", "html", "-o", html});
  ASSERT_EQ(written.exit_code, 0) << written.err;
  if (!have_program("chromium")) GTEST_SKIP() << "chromium is not installed (Debian package chromium)";
  RunResult chromium = render_in_chromium(html);
  ASSERT_EQ(chromium.exit_code, 0) << chromium.err;
  EXPECT_TRUE(std::regex_search(chromium.out, std::regex("<body[^>]*data-rendered=\"yes\""))) << "the script failed";
  EXPECT_EQ(element_text(chromium.out, "total-files"), report["totals"]["files"].dump());
  EXPECT_EQ(attribute(chromium.out, "treemap", "data-bytes"), report["totals"]["bytes"].dump());
}

TEST_P(AppTest, RemovingAFileNeededAtRunTimeFailsVerifyAndNamesIt) {
  const App& app = GetParam();
  const Built& built = Built::of(app);
  ASSERT_EQ(built.result().exit_code, 0) << built.result().err;
  for (const std::string& path : app.run_time) {
    std::string packed = built.bundle() + path, aside = built.dir() / "removed";
    ASSERT_TRUE(fs::is_regular_file(packed)) << path;
    fs::rename(packed, aside);
    RunResult r = tracepack({"verify", built.bundle(), "--spec", built.spec(), "--traces", built.traces()}, {.env = built.env()});
    fs::rename(aside, packed);
    EXPECT_EQ(r.exit_code, 1) << path << ": " << r.out << r.err;
    EXPECT_NE(r.out.find("  missing: " + path + "\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("add to the spec:\ninclude:\n  - " + path + "\n"), std::string::npos) << r.out;
    // Every test that failed names the removed file, and nothing else.
    std::set<std::string> named;
    std::regex missing_line("\n  missing: ([^\n]*)\n");
    for (auto it = std::sregex_iterator(r.out.begin(), r.out.end(), missing_line); it != std::sregex_iterator(); ++it)
      named.insert((*it)[1]);
    EXPECT_EQ(named, std::set<std::string>{path}) << r.out;
  }
}

INSTANTIATE_TEST_SUITE_P(Apps, AppTest, ::testing::ValuesIn(apps()), [](const ::testing::TestParamInfo<App>& param) {
  std::string name = param.param.name;
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
});

}  // namespace
}  // namespace tracepack

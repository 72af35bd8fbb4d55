// End-to-end tests of the packing commands: `tracepack build`, `pack` and
// `merge` run as child processes on the example applications of fixtures/apps
// (Debian's Python, bash with sed/awk/grep/sort, gcc) and the demo application, their
// bundles checked with the real clients: GNU tar, bsdtar, unzip, GNU cpio,
// sha256sum and cmp.
//
// A bundle is listed and extracted with the client of its format and, for
// archives, listed again with bsdtar: the two listings must agree. The
// extracted tree must mirror the host for the files that matter to each spec
// (same type; same bytes for files, same target for symlinks), and the
// manifest must describe exactly what was extracted: the same paths, and for
// every regular file the sha256 that sha256sum computes.
//
// Each test checks one behaviour and is named after the flag or command it
// exercises. Error messages are compared byte for byte.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli_test_util.h"
#include "tracepack/trace.h"

namespace tracepack {
namespace {

namespace fs = std::filesystem;
using namespace cli_test;

const std::string kSpecs = FIXTURE_SRC_DIR "/specs";
const std::string kApps = FIXTURE_SRC_DIR "/apps";  ///< the example applications
const std::string kDemoDir = FIXTURE_BIN_DIR "/demo";
const std::string kEpoch = "1700000000";
const std::vector<std::string> kFormats = {"dir", "tar", "tar.gz", "tar.zst", "tar.xz", "zip", "cpio"};

// ---------------------------------------------------------------------------
// Helpers: lines, errors, hashes

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

/// What `tracepack` printed from its error line on (progress lines come before it).
std::string error_text(const RunResult& r) {
  std::size_t at = r.err.find("tracepack: error: ");
  return at == std::string::npos ? "(no error line in stderr:\n" + r.err + ")" : r.err.substr(at);
}

/// The first word of each line `sha256sum FILES...` prints, by file.
std::map<std::string, std::string> sha256_of(const std::vector<std::string>& files) {
  std::map<std::string, std::string> sums;
  if (files.empty()) return sums;
  std::vector<std::string> argv = {"sha256sum", "--"};
  argv.insert(argv.end(), files.begin(), files.end());
  RunResult r = run(argv);
  if (r.exit_code != 0) throw std::runtime_error(r.command + " failed: " + r.err);
  for (const std::string& line : split_lines(r.out))
    if (line.size() > 66) sums[line.substr(66)] = line.substr(0, 64);
  return sums;
}

std::string sha256_of(const std::string& file) { return sha256_of(std::vector<std::string>{file})[file]; }

/// fs::canonical, or the path unchanged when it does not resolve (the check then fails on it).
std::string canonical(const std::string& path) {
  std::error_code ec;
  fs::path p = fs::canonical(path, ec);
  return ec ? path : p.string();
}

/// The lines a program prints; throws when it fails.
std::vector<std::string> output_of(const std::vector<std::string>& argv) {
  RunResult r = run(argv);
  if (r.exit_code != 0) throw std::runtime_error(r.command + " failed: " + r.err);
  return split_lines(r.out);
}

// ---------------------------------------------------------------------------
// Helpers: bundles

bool is_archive(const std::string& format) { return format != "dir"; }

/// Archive member names as paths: no "./" in front, no "/" at the end, sorted.
std::set<std::string> as_paths(const std::string& listing) {
  std::set<std::string> paths;
  for (std::string line : split_lines(listing)) {
    if (line.starts_with("./")) line.erase(0, 2);
    while (!line.empty() && line.back() == '/') line.pop_back();
    if (!line.empty() && line != ".") paths.insert(line);
  }
  return paths;
}

/// The listing by the format's own client: GNU tar, unzip or GNU cpio.
RunResult list_with_client(const std::string& format, const std::string& archive) {
  if (format == "zip") return run({"unzip", "-Z1", archive});
  if (format == "cpio") return run({"cpio", "-it", "--quiet"}, {.stdin_file = archive});
  return run({"tar", "-tf", archive});
}

RunResult extract_with_client(const std::string& format, const std::string& archive, const std::string& dir) {
  if (format == "zip") return run({"unzip", "-q", archive, "-d", dir});
  if (format == "cpio") return run({"cpio", "-idm", "--quiet"}, {.cwd = dir, .stdin_file = archive});
  return run({"tar", "-xf", archive, "-C", dir});
}

std::set<std::string> list_directory(const std::string& dir) {
  std::set<std::string> paths;
  for (const auto& e : fs::recursive_directory_iterator(dir)) paths.insert(e.path().lexically_relative(dir).string());
  return paths;
}

/// A bundle as its clients see it: listed, extracted, and its manifest.
struct OpenedBundle {
  std::set<std::string> listing;  ///< relative paths
  std::string root;               ///< the extracted tree (the output itself for dir)
  nlohmann::json manifest;
};

/// Lists and extracts `output` into `scratch`; ADD_FAILUREs on what the
/// clients report (errors, or bsdtar disagreeing with the format's client).
OpenedBundle open_bundle(const std::string& format, const std::string& output, const std::string& scratch) {
  OpenedBundle bundle;
  if (!is_archive(format)) {
    bundle.root = output;
    bundle.listing = list_directory(output);
  } else {
    RunResult listed = list_with_client(format, output);
    EXPECT_TRUE(exited_with(listed, 0));
    bundle.listing = as_paths(listed.out);
    RunResult bsdtar = run({"bsdtar", "-tf", output});
    EXPECT_TRUE(exited_with(bsdtar, 0));
    EXPECT_EQ(as_paths(bsdtar.out), bundle.listing) << "bsdtar and " << listed.command << " list different entries";
    bundle.root = scratch + "/extracted";
    fs::create_directories(bundle.root);
    EXPECT_TRUE(exited_with(extract_with_client(format, output, bundle.root), 0));
  }
  std::string manifest = read_file(bundle.root + "/.tracepack/manifest.json");
  bundle.manifest = nlohmann::json::parse(manifest, nullptr, false);
  EXPECT_FALSE(bundle.manifest.is_discarded()) << "manifest is not JSON:\n" << manifest;
  return bundle;
}

/// The manifest's entry for an absolute path; null when it has none.
nlohmann::json manifest_entry(const OpenedBundle& bundle, const std::string& path) {
  if (!bundle.manifest.contains("entries")) return nullptr;
  for (const nlohmann::json& e : bundle.manifest["entries"])
    if (e.value("path", "") == path) return e;
  return nullptr;
}

/// The manifest lists exactly the extracted entries (besides itself), and each
/// regular file's sha256 is the one sha256sum computes for the extracted copy.
::testing::AssertionResult manifest_matches(const OpenedBundle& bundle) {
  if (!bundle.manifest.contains("entries") || !bundle.manifest["entries"].is_array())
    return ::testing::AssertionFailure() << "manifest has no 'entries' list";
  std::set<std::string> listed = {".tracepack", ".tracepack/manifest.json"};
  std::vector<std::string> files;
  std::map<std::string, std::string> claimed;
  for (const nlohmann::json& e : bundle.manifest["entries"]) {
    std::string path = e.value("path", "");
    listed.insert(path.substr(1));
    if (e.value("type", "") != "regular") continue;
    files.push_back(bundle.root + path);
    claimed[bundle.root + path] = e.value("sha256", "");
  }
  if (listed != bundle.listing) {
    auto failure = ::testing::AssertionFailure() << "manifest paths differ from the bundle's entries:";
    for (const std::string& path : listed)
      if (!bundle.listing.contains(path)) failure << "\n  only in the manifest: " << path;
    for (const std::string& path : bundle.listing)
      if (!listed.contains(path)) failure << "\n  only in the bundle: " << path;
    return failure;
  }
  std::map<std::string, std::string> actual = sha256_of(files);
  for (const auto& [file, sum] : claimed)
    if (actual[file] != sum)
      return ::testing::AssertionFailure() << file << ": sha256 " << actual[file] << ", manifest says '" << sum << "'";
  return ::testing::AssertionSuccess();
}

/// `path` (absolute, on the host) is in the bundle as it is on the host: the
/// same type, the same bytes for a file, the same target for a symlink, and
/// the manifest agrees.
::testing::AssertionResult mirrors_host(const OpenedBundle& bundle, const std::string& path_as_written) {
  // The bundle holds a path under its physical parent directory (/usr/lib64/x,
  // reached as /lib64/x through the /lib64 symlink).
  fs::path written(path_as_written);
  std::string path = written.parent_path() == written ? path_as_written
                                                      : (fs::path(canonical(written.parent_path().string())) / written.filename()).string();
  std::string copy = bundle.root + path;
  struct stat host, packed;
  if (lstat(path.c_str(), &host) != 0) return ::testing::AssertionFailure() << path << ": not on the host";
  if (lstat(copy.c_str(), &packed) != 0) return ::testing::AssertionFailure() << path << ": not in the bundle";
  if ((host.st_mode & S_IFMT) != (packed.st_mode & S_IFMT))
    return ::testing::AssertionFailure() << path << ": file type differs from the host's";
  nlohmann::json entry = manifest_entry(bundle, path);
  if (entry.is_null()) return ::testing::AssertionFailure() << path << ": not in the manifest";
  if (S_ISLNK(host.st_mode)) {
    std::string target = fs::read_symlink(path).string();
    if (fs::read_symlink(copy).string() != target || entry.value("link_target", "") != target)
      return ::testing::AssertionFailure() << path << ": symlink target differs from the host's (" << target << ")";
  } else if (S_ISREG(host.st_mode)) {
    std::string sum = sha256_of(path);
    if (sha256_of(copy) != sum) return ::testing::AssertionFailure() << path << ": contents differ from the host's";
    if (entry.value("sha256", "") != sum) return ::testing::AssertionFailure() << path << ": manifest sha256 is wrong";
  }
  return ::testing::AssertionSuccess();
}

/// What `tar -tvf` shows in an archive, the manifest and its directory left
/// out: entries by type, and the content bytes of the regular files.
struct TarCounts {
  std::uint64_t files = 0, directories = 0, symlinks = 0, bytes = 0;
};

TarCounts count_tar_entries(const std::string& archive) {
  TarCounts counts;
  RunResult r = run({"tar", "-tvf", archive});
  EXPECT_TRUE(exited_with(r, 0));
  for (const std::string& line : split_lines(r.out)) {
    std::istringstream fields(line);
    std::string mode, owner, size;
    fields >> mode >> owner >> size;
    if (line.ends_with(" .tracepack/") || line.ends_with(" .tracepack/manifest.json")) continue;
    if (mode.empty()) continue;
    if (mode[0] == '-') ++counts.files, counts.bytes += std::stoull(size);
    if (mode[0] == 'd') ++counts.directories;
    if (mode[0] == 'l') ++counts.symlinks;
  }
  return counts;
}

// ---------------------------------------------------------------------------
// The specs under test

/// A spec to build, and the host paths its bundle must hold.
struct SpecCase {
  std::string spec;                  ///< the spec file
  std::vector<std::string> env;      ///< for `tracepack build`
  std::vector<std::string> present;  ///< absolute host paths the bundle must mirror
  std::vector<std::string> absent;   ///< absolute paths it must not hold
};

/// Paths every bundle of a dynamically linked program holds.
std::vector<std::string> loader_paths() {
  return {"/lib64", "/lib64/ld-linux-x86-64.so.2", canonical("/lib64/ld-linux-x86-64.so.2"), canonical("/lib/x86_64-linux-gnu/libc.so.6")};
}

SpecCase python_stdlib_case(const TempDir&) {
  // Where this interpreter keeps what the script uses, as it reports it.
  std::vector<std::string> modules = output_of({"/usr/bin/python3", "-c",
                                                "import _sqlite3, _ssl, _decimal, json, ssl\n"
                                                "print(_sqlite3.__file__, _ssl.__file__, _decimal.__file__, json.__file__,"
                                                " ssl.get_default_verify_paths().openssl_cafile, sep='\\n')"});
  SpecCase c{kApps + "/python-stdlib/tracepack.yaml", {}, loader_paths(), {}};
  c.present.insert(c.present.end(), {"/usr/bin/python3", canonical("/usr/bin/python3"), kApps + "/python-stdlib/stdlib_check.py"});
  for (const std::string& m : modules) c.present.push_back(m);
  c.present.push_back(canonical(modules.back()));  // the certificate store the symlink names
  return c;
}

SpecCase shell_pipeline_case(const TempDir&) {
  SpecCase c{kApps + "/shell-pipeline/tracepack.yaml", {}, loader_paths(), {}};
  c.present.insert(c.present.end(),
                   {"/bin", "/usr/bin/bash", "/usr/bin/sed", "/usr/bin/grep", "/usr/bin/sort", "/usr/bin/head", "/usr/bin/awk",
                    canonical("/usr/bin/awk"), kApps + "/shell-pipeline/pipeline.sh", kApps + "/shell-pipeline/inventory.txt"});
  return c;
}

SpecCase gcc_hello_case(const TempDir& scratch) {
  auto gcc_path = [](const std::string& option) { return canonical(output_of({"/usr/bin/gcc", option}).at(0)); };
  // Directly in /tmp: an output of the run, never packed; verify re-runs the
  // test in the bundle, where /tmp is writable and no other directory of the
  // host exists.
  std::string program = scratch.path() + "-hello";
  SpecCase c{kApps + "/gcc-hello/tracepack.yaml", {"GCC_HELLO_OUT=" + program}, loader_paths(), {program}};
  c.present.insert(c.present.end(),
                   {"/usr/bin/gcc", canonical("/usr/bin/gcc"), gcc_path("-print-prog-name=cc1"), gcc_path("-print-prog-name=collect2"),
                    "/usr/bin/as", canonical("/usr/bin/as"), "/usr/bin/ld", canonical("/usr/bin/ld"),
                    gcc_path("-print-file-name=crtbeginS.o"), gcc_path("-print-file-name=Scrt1.o"), gcc_path("-print-file-name=crti.o"),
                    gcc_path("-print-file-name=libc.so"), "/usr/include/stdio.h", kApps + "/gcc-hello/hello.c"});
  return c;
}

void replace_once(std::string& text, const std::string& from, const std::string& to) {
  std::size_t at = text.find(from);
  if (at == std::string::npos) throw std::runtime_error("demo.yaml has no '" + from + "'");
  text.replace(at, from.size(), to);
}

/// fixtures/specs/demo.yaml with its `cwd:` pointed at this build's demo, as
/// fixtures/demo/run-demo.sh does, written to `scratch`. Its zstd level 19
/// becomes zstd's default, 3: level 19 takes up to minutes on the demo's
/// tens of megabytes on a busy machine, and these tests are about contents.
std::string demo_spec(const TempDir& scratch) {
  std::string text = read_file(kSpecs + "/demo.yaml");
  replace_once(text, "cwd: ../../build/fixtures/demo", "cwd: " + kDemoDir);
  replace_once(text, "compression: 19", "compression: 3");
  write_file(scratch / "tracepack.yaml", text);
  return scratch / "tracepack.yaml";
}

SpecCase demo_case(const TempDir& scratch) {
  if (access((kDemoDir + "/greet").c_str(), X_OK) != 0)
    throw std::runtime_error(kDemoDir + "/greet: not built (build the demo_app target)");
  SpecCase c{demo_spec(scratch), {}, loader_paths(), {}};
  for (const char* name : {"greet", "demo-greeter", "stats.py", "greeting.txt", "plugins/libdemo-plugin.so"})
    c.present.push_back(kDemoDir + "/" + name);
  c.present.insert(c.present.end(), {canonical("/lib/x86_64-linux-gnu/libm.so.6"),
                                     // included by rule, whether or not the run decoded cp1252
                                     "/usr/lib/python3.11/encodings/cp1252.py"});
  return c;
}

SpecCase spec_case(const std::string& name, const TempDir& scratch) {
  if (name == "python_stdlib") return python_stdlib_case(scratch);
  if (name == "shell_pipeline") return shell_pipeline_case(scratch);
  if (name == "gcc_hello") return gcc_hello_case(scratch);
  return demo_case(scratch);
}

/// `tracepack build SPEC --traces DIR/traces -o OUTPUT [-f FORMAT] EXTRA...`.
RunResult build(const std::string& spec, const TempDir& dir, const std::string& output, const std::string& format,
                const std::vector<std::string>& extra = {}, const RunOptions& options = {}) {
  std::vector<std::string> args = {"build", spec, "--traces", dir / "traces", "-o", output};
  if (!format.empty()) args.insert(args.end(), {"-f", format});
  args.insert(args.end(), extra.begin(), extra.end());
  return tracepack(args, options);
}

// ---------------------------------------------------------------------------
// build -f FORMAT: every spec packs what its runs used, readable by the clients

struct FormatParam {
  std::string spec;
  std::string format;
};

void PrintTo(const FormatParam& param, std::ostream* out) { *out << param.spec << " -f " << param.format; }

class BuildFormat : public ::testing::TestWithParam<FormatParam> {};

TEST_P(BuildFormat, PacksTheFilesTheRunUsed) {
  TempDir dir;
  SpecCase c = spec_case(GetParam().spec, dir);
  std::string output = dir / ("out." + GetParam().format);
  RunResult built = build(c.spec, dir, output, GetParam().format, {}, {.env = c.env});
  ASSERT_TRUE(exited_with(built, 0));

  OpenedBundle bundle = open_bundle(GetParam().format, output, dir.path());
  EXPECT_TRUE(manifest_matches(bundle));
  for (const std::string& path : c.present) EXPECT_TRUE(mirrors_host(bundle, path));
  for (const std::string& path : c.absent) {
    EXPECT_FALSE(bundle.listing.contains(path.substr(1))) << path << " is an output of the run, yet packed";
    EXPECT_TRUE(fs::exists(path)) << path << ": the run did not write it";
    fs::remove(path);
  }
}

std::vector<FormatParam> format_params() {
  std::vector<FormatParam> params;
  for (const char* spec : {"shell_pipeline", "python_stdlib", "gcc_hello", "demo"})
    for (const std::string& format : kFormats) params.push_back({spec, format});
  return params;
}

INSTANTIATE_TEST_SUITE_P(Specs, BuildFormat, ::testing::ValuesIn(format_params()), [](const ::testing::TestParamInfo<FormatParam>& param) {
  std::string name = param.param.spec + "_" + param.param.format;
  std::replace(name.begin(), name.end(), '.', '_');
  return name;
});

// ---------------------------------------------------------------------------
// build: other flags

TEST(BuildCli, SourceDateEpochGivesByteIdenticalTarZst) {
  TempDir first, second;
  RunOptions epoch{.env = {"SOURCE_DATE_EPOCH=" + kEpoch}};
  ASSERT_TRUE(exited_with(build(kApps + "/python-stdlib/tracepack.yaml", first, first / "out.tar.zst", "", {}, epoch), 0));
  ASSERT_TRUE(exited_with(build(kApps + "/python-stdlib/tracepack.yaml", second, second / "out.tar.zst", "", {}, epoch), 0));
  RunResult compared = run({"cmp", first / "out.tar.zst", second / "out.tar.zst"});
  EXPECT_TRUE(exited_with(compared, 0));
}

TEST(BuildCli, JsonPrintsASummaryThatMatchesTheArchive) {
  TempDir dir;
  std::string output = dir / "out.tar.zst";
  RunResult built = build(kApps + "/shell-pipeline/tracepack.yaml", dir, output, "", {"--json"});
  ASSERT_TRUE(exited_with(built, 0));
  nlohmann::json summary = nlohmann::json::parse(built.out, nullptr, false);
  ASSERT_FALSE(summary.is_discarded()) << "stdout is not JSON:\n" << built.out;

  std::set<std::string> keys;
  for (const auto& [key, value] : summary.items()) keys.insert(key);
  EXPECT_EQ(keys, (std::set<std::string>{"bundle", "output", "format", "files", "directories", "symlinks", "bytes", "output_bytes", "tests",
                                         "excluded", "packages", "warnings", "host_specific", "verify"}));
  EXPECT_TRUE(summary["host_specific"].is_array());
  TarCounts counts = count_tar_entries(output);
  EXPECT_EQ(summary.value("bundle", ""), "shell-pipeline");
  EXPECT_EQ(summary.value("output", ""), output);
  EXPECT_EQ(summary.value("format", ""), "tar.zst");
  EXPECT_EQ(summary.value("tests", 0), 2);
  EXPECT_EQ(summary.value("files", std::uint64_t{0}), counts.files);
  EXPECT_EQ(summary.value("directories", std::uint64_t{0}), counts.directories);
  EXPECT_EQ(summary.value("symlinks", std::uint64_t{0}), counts.symlinks);
  EXPECT_EQ(summary.value("bytes", std::uint64_t{0}), counts.bytes);
  EXPECT_EQ(summary.value("output_bytes", std::uint64_t{0}), fs::file_size(output));
  EXPECT_EQ(summary["warnings"], nlohmann::json::array());
  // Every packed byte is attributed once: to a Debian package or to none (the last row).
  ASSERT_TRUE(summary["packages"].is_array() && !summary["packages"].empty());
  std::uint64_t attributed = 0;
  for (const auto& row : summary["packages"]) attributed += row.value("bytes_used", std::uint64_t{0});
  EXPECT_EQ(attributed, counts.bytes);
  if (access("/var/lib/dpkg/status", R_OK) == 0) {
    bool has_bash = false;
    for (const auto& row : summary["packages"]) has_bash = has_bash || row.value("package", "") == "bash";
    EXPECT_TRUE(has_bash) << summary["packages"].dump();
  }
  ASSERT_TRUE(summary["excluded"].is_object());
  for (const auto& [reason, count] : summary["excluded"].items())
    EXPECT_TRUE(count.is_number_unsigned() && count.get<unsigned>() > 0) << reason << ": " << count;
}

TEST(BuildCli, JobsTwoPacksTheSameEntriesAsJobsOne) {
  TempDir one, two;
  ASSERT_TRUE(exited_with(build(kApps + "/shell-pipeline/tracepack.yaml", one, one / "out.tar", "", {"-j", "1"}), 0));
  ASSERT_TRUE(exited_with(build(kApps + "/shell-pipeline/tracepack.yaml", two, two / "out.tar", "", {"-j", "2"}), 0));
  RunResult serial = run({"tar", "-tf", one / "out.tar"});
  RunResult parallel = run({"tar", "-tf", two / "out.tar"});
  ASSERT_TRUE(exited_with(serial, 0));
  ASSERT_TRUE(exited_with(parallel, 0));
  EXPECT_EQ(parallel.out, serial.out);
  EXPECT_TRUE(serial.out.find("usr/bin/head\n") != std::string::npos) << "the second test's program is missing";
}

TEST(BuildCli, TracesRelativePathIsTakenFromTheCurrentDirectory) {
  TempDir dir;
  RunResult built =
      tracepack({"build", kApps + "/shell-pipeline/tracepack.yaml", "--traces", "traces", "-o", "out.tar"}, {.cwd = dir.path()});
  EXPECT_TRUE(exited_with(built, 0));
  EXPECT_TRUE(fs::exists(dir / "traces/sections.jsonl"));
  EXPECT_TRUE(fs::exists(dir / "out.tar"));
}

/// A spec in `dir` with one passing test and `failing` (a test case in YAML).
std::string spec_with_failing_test(const TempDir& dir, const std::string& failing) {
  write_file(dir / "failing.yaml",
             "name: failing\n"
             "tests:\n"
             "  - name: passes\n"
             "    run: [/bin/true]\n" +
                 failing +
                 "output:\n"
                 "  path: out.tar\n");
  return dir / "failing.yaml";
}

TEST(BuildCli, ExitStatusMismatchFailsAndPacksNothing) {
  TempDir dir;
  std::string spec = spec_with_failing_test(dir,
                                            "  - name: wrong-exit\n"
                                            "    run: [/bin/sh, -c, 'exit 3']\n");
  RunResult built = build(spec, dir, dir / "out.tar", "");
  EXPECT_TRUE(exited_with(built, 1));
  EXPECT_EQ(error_text(built),
            "tracepack: error: build: test(s) failed, nothing packed:\n"
            "  test 'wrong-exit': exit status 3, expected 0\n");
  EXPECT_FALSE(fs::exists(dir / "out.tar"));
}

TEST(BuildCli, StdoutMismatchFailsAndPacksNothing) {
  TempDir dir;
  std::string spec = spec_with_failing_test(dir,
                                            "  - name: wrong-output\n"
                                            "    run: [/bin/echo, hello]\n"
                                            "    stdout: \"goodbye\\n\"\n");
  RunResult built = build(spec, dir, dir / "out.tar", "");
  EXPECT_TRUE(exited_with(built, 1));
  EXPECT_EQ(error_text(built),
            "tracepack: error: build: test(s) failed, nothing packed:\n"
            "  test 'wrong-output': standard output differs from the spec's 'stdout'\n");
  EXPECT_FALSE(fs::exists(dir / "out.tar"));
}

// tracepack runs its packing half with a GLIBC_TUNABLES of its own; the
// tests it traces must see the caller's, set or not, and no variable of tracepack's.
TEST(BuildCli, TestsSeeTheCallersGlibcTunables) {
  TempDir dir;
  auto spec_expecting = [&](const std::string& tunables) {
    return spec_with_failing_test(dir,
                                  "  - name: tunables\n"
                                  "    run: [/bin/sh, -c, 'echo \"${GLIBC_TUNABLES-unset}\"; env | grep -c TRACEPACK_ || true']\n"
                                  "    stdout: \"" +
                                      tunables + "\\n0\\n\"\n");
  };
  RunResult unset = build(spec_expecting("unset"), dir, dir / "unset.tar", "");
  EXPECT_TRUE(exited_with(unset, 0)) << unset.err;
  RunResult set =
      build(spec_expecting("glibc.malloc.check=0"), dir, dir / "set.tar", "", {}, {.env = {"GLIBC_TUNABLES=glibc.malloc.check=0"}});
  EXPECT_TRUE(exited_with(set, 0)) << set.err;
}

TEST(BuildCli, UnknownFormatIsRefused) {
  TempDir dir;
  RunResult built = build(kApps + "/shell-pipeline/tracepack.yaml", dir, dir / "out.rar", "rar");
  EXPECT_TRUE(exited_with(built, 1));
  EXPECT_EQ(error_text(built),
            "tracepack: error: rar: unknown bundle format (use dir, tar, tar.gz, tar.zst, tar.xz, zip, cpio, oci, oci-archive, "
            "docker-archive)\n");
  EXPECT_FALSE(fs::exists(dir / "out.rar"));
}

TEST(BuildCli, MisspeltSpecKeyIsRefusedWithDidYouMean) {
  TempDir dir;
  write_file(dir / "typo.yaml",
             "name: typo\n"
             "tests:\n"
             "  - name: ok\n"
             "    run: [/bin/true]\n"
             "    exti: 0\n"
             "output:\n"
             "  path: out.tar\n");
  RunResult built = build(dir / "typo.yaml", dir, dir / "out.tar", "");
  EXPECT_TRUE(exited_with(built, 1));
  EXPECT_EQ(built.err, "tracepack: error: " + (dir / "typo.yaml") + ":5:5: unknown key 'exti' (did you mean 'exit'?)\n");
  EXPECT_FALSE(fs::exists(dir / "traces")) << "a test ran although the spec is invalid";
}

// ---------------------------------------------------------------------------
// pack, merge

/// `tracepack trace --label LABEL -o TRACE -- COMMAND...`, run in `cwd` (the
/// caller's when empty); ADD_FAILUREs when it fails.
std::string trace(const std::string& file, const std::string& label, const std::vector<std::string>& command, const std::string& cwd = "") {
  std::vector<std::string> args = {"trace", "-q", "--label", label, "-o", file, "--"};
  args.insert(args.end(), command.begin(), command.end());
  EXPECT_TRUE(exited_with(tracepack(args, {.cwd = cwd}), 0));
  return file;
}

TEST(PackCli, ExplainTellsWhyAPackedFileIsIn) {
  TempDir dir;
  // Traced in its project's directory: packed even when the checkout is under /tmp.
  std::string input = kApps + "/shell-pipeline/inventory.txt";
  std::string t = trace(dir / "cat.jsonl", "cat", {"/bin/cat", "/proc/version", input}, kApps + "/shell-pipeline");
  RunResult explained = tracepack({"pack", t, "--explain", input});
  EXPECT_TRUE(exited_with(explained, 0));
  EXPECT_EQ(explained.out, input + ": in the bundle\n  test 'cat', cat, openat\n");
}

TEST(PackCli, ExplainTellsWhyAProcPathIsOut) {
  TempDir dir;
  std::string t = trace(dir / "cat.jsonl", "cat", {"/bin/cat", "/proc/version"});
  RunResult explained = tracepack({"pack", t, "--explain", "/proc/version"});
  EXPECT_TRUE(exited_with(explained, 0));
  EXPECT_EQ(explained.out, "/proc/version: not in the bundle\n  /proc: not packed (pseudo or temporary file system)\n");
}

/// A file of the project (beside the spec), traced being read by cat, then
/// deleted; the trace and a spec naming the test.
struct VanishedInput {
  TempDir dir{FIXTURE_BIN_DIR};
  std::string file = dir / "input.txt";
  std::string spec = dir / "tracepack.yaml";
  std::string trace_file = dir / "read.jsonl";

  VanishedInput() {
    write_file(file, "soon gone\n");
    write_file(spec, "name: vanished\ntests:\n  - name: read\n    run: [/bin/cat, " + file + "]\noutput:\n  path: out.tar\n");
    trace(trace_file, "read", {"/bin/cat", file});
    fs::remove(file);
  }
};

TEST(PackCli, MissingTracedFileIsAnError) {
  VanishedInput v;
  RunResult packed = tracepack({"pack", "--spec", v.spec, "-o", v.dir / "out.tar", v.trace_file});
  EXPECT_TRUE(exited_with(packed, 1));
  EXPECT_EQ(packed.err,
            "tracepack: error: plan: 1 file(s) used by the traced run are gone or unreadable now "
            "(use --allow-missing to pack without them):\n  " +
                v.file + "\n");
  EXPECT_FALSE(fs::exists(v.dir / "out.tar"));
}

TEST(PackCli, AllowMissingPacksTheRestWithAWarning) {
  VanishedInput v;
  RunResult packed = tracepack({"pack", "--spec", v.spec, "-o", v.dir / "out.tar", "--allow-missing", v.trace_file});
  ASSERT_TRUE(exited_with(packed, 0));
  EXPECT_NE(packed.err.find("tracepack: warning: 1 traced file(s) are gone and were left out:\n  " + v.file + "\n"), std::string::npos)
      << packed.err;
  RunResult listed = run({"tar", "-tf", v.dir / "out.tar"});
  ASSERT_TRUE(exited_with(listed, 0));
  std::set<std::string> paths = as_paths(listed.out);
  EXPECT_FALSE(paths.contains(v.file.substr(1)));
  EXPECT_TRUE(paths.contains("usr/bin/cat"));
}

TEST(PackCli, NonexistentTraceFileIsRefused) {
  TempDir dir;
  RunResult packed = tracepack({"pack", "-o", dir / "out.tar", dir / "no-such.jsonl"});
  EXPECT_TRUE(exited_with(packed, 1));
  EXPECT_EQ(packed.err, "tracepack: error: " + (dir / "no-such.jsonl") + ": cannot open: No such file or directory\n");
  EXPECT_FALSE(fs::exists(dir / "out.tar"));
}

TEST(PackCli, NoOutputIsRefused) {
  TempDir dir;
  std::string t = trace(dir / "true.jsonl", "true", {"/bin/true"});
  RunResult packed = tracepack({"pack", t});
  EXPECT_TRUE(exited_with(packed, 1));
  EXPECT_EQ(packed.err, "tracepack: error: pack: no output given (use -o PATH or output.path in the spec)\n");
}

TEST(PackCli, MalformedSourceDateEpochIsRefused) {
  TempDir dir;
  std::string t = trace(dir / "true.jsonl", "true", {"/bin/true"});
  RunResult packed = tracepack({"pack", "-o", dir / "out.tar", t}, {.env = {"SOURCE_DATE_EPOCH=soon"}});
  EXPECT_TRUE(exited_with(packed, 1));
  EXPECT_EQ(packed.err, "tracepack: error: SOURCE_DATE_EPOCH: not a number of seconds: 'soon'\n");
  EXPECT_FALSE(fs::exists(dir / "out.tar"));
}

TEST(TraceCli, NoCommandIsRefused) {
  RunResult traced = tracepack({"trace", "-q"});
  EXPECT_TRUE(exited_with(traced, 2));  // a usage error
  EXPECT_EQ(traced.err, "tracepack: error: trace: no command given (usage: tracepack trace [OPTIONS] [--] COMMAND [ARGS...])\n");
}

TEST(BuildCli, MissingTestDirectoryFailsTheTest) {
  TempDir dir;
  std::ofstream(dir / "tracepack.yaml") << "name: nodir\ntests:\n  - name: t\n    run: [/bin/true]\n    cwd: missing\n"
                                           "output:\n  path: out.tar\n";
  RunResult built = tracepack({"build", dir / "tracepack.yaml"});
  EXPECT_TRUE(exited_with(built, 1));
  EXPECT_NE(built.err.find("tracepack: error: test 't': cannot change to directory " + (dir / "missing") + ": No such file or directory\n"),
            std::string::npos)
      << built.err;
  EXPECT_NE(built.err.find("test 't': exit status 126, expected 0"), std::string::npos) << built.err;
  EXPECT_FALSE(fs::exists(dir / "out.tar"));
}

/// Two traces of different programs, for merging.
struct TwoTraces {
  TempDir dir;
  std::string cat = trace(dir / "cat.jsonl", "cat", {"/bin/cat", kApps + "/shell-pipeline/inventory.txt"});
  std::string pipeline = trace(dir / "pipeline.jsonl", "pipeline",
                               {"/bin/bash", kApps + "/shell-pipeline/pipeline.sh", kApps + "/shell-pipeline/inventory.txt"});
};

TEST(MergeCli, PackOfTheMergedTraceEqualsPackOfBoth) {
  TwoTraces t;
  ASSERT_TRUE(exited_with(tracepack({"merge", "-o", t.dir / "merged.jsonl", t.cat, t.pipeline}), 0));
  ASSERT_TRUE(exited_with(tracepack({"pack", "-o", t.dir / "merged.tar", t.dir / "merged.jsonl"}), 0));
  ASSERT_TRUE(exited_with(tracepack({"pack", "-o", t.dir / "both.tar", t.cat, t.pipeline}), 0));
  RunResult merged = run({"tar", "-tf", t.dir / "merged.tar"});
  RunResult both = run({"tar", "-tf", t.dir / "both.tar"});
  ASSERT_TRUE(exited_with(merged, 0));
  ASSERT_TRUE(exited_with(both, 0));
  EXPECT_EQ(merged.out, both.out);
  EXPECT_TRUE(merged.out.find("usr/bin/cat\n") != std::string::npos && merged.out.find("usr/bin/sort\n") != std::string::npos)
      << "the merged trace lost one of its inputs:\n"
      << merged.out;
}

TEST(MergeCli, OrderOfTheInputsDoesNotMatter) {
  TwoTraces t;
  ASSERT_TRUE(exited_with(tracepack({"merge", "-o", t.dir / "ab.jsonl", t.cat, t.pipeline}), 0));
  ASSERT_TRUE(exited_with(tracepack({"merge", "-o", t.dir / "ba.jsonl", t.pipeline, t.cat}), 0));
  EXPECT_TRUE(exited_with(run({"cmp", t.dir / "ab.jsonl", t.dir / "ba.jsonl"}), 0));
}

}  // namespace
}  // namespace tracepack

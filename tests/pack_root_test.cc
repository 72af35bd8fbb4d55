// Packing from an image's root (PackRequest::root): a fake root built under
// the build directory from the host's own dash, its loader and its C library
// (placed where the host has none), a dpkg database of its own and data files
// whose paths also exist on the host with other contents. Every read of the
// pack path must land in the root: the plan, the elf: closure, include:
// globs, package attribution, the host-specific and secrets checks, and the
// bytes of the bundle (tar and OCI, read back with GNU tar).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_test_util.h"
#include "tracepack/bundle_reader.h"
#include "tracepack/elf_closure.h"
#include "tracepack/error.h"
#include "tracepack/pack.h"
#include "tracepack/report.h"
#include "tracepack/trace.h"

namespace tracepack {
namespace {

namespace fs = std::filesystem;
using cli_test::exited_with;
using cli_test::read_file;
using cli_test::run;
using cli_test::RunResult;
using cli_test::TempDir;
using cli_test::write_file;

void write_at(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  write_file(path, text);
}

void copy_at(const std::string& from, const std::string& to) {
  fs::create_directories(fs::path(to).parent_path());
  fs::copy_file(from, to, fs::copy_options::overwrite_existing);
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

const PlanEntry* entry_of(const BundlePlan& plan, const PathBytes& path) {
  for (const PlanEntry& e : plan.entries)
    if (e.path == path) return &e;
  return nullptr;
}

/// A trace of one process running /bin/dash in `cwd`, which reads `reads` (absolute).
Trace dash_trace(const PathBytes& cwd, const std::vector<PathBytes>& reads) {
  Trace t;
  t.run.label = "image-test";
  t.run.arch = "x86_64";
  t.run.cwd = cwd;
  t.run.argv = {"/bin/dash", "-c", "cat data.txt"};
  Process p;
  p.id = 1;
  p.pid = 100;
  p.exited = true;
  p.execs.push_back(Exec{0, "/usr/bin/dash", "/usr/bin/dash", {"/bin/dash", "-c", "cat data.txt"}, cwd, {}});
  t.processes.push_back(p);
  FileAccess exec;
  exec.id = 1;
  exec.process = 1;
  exec.syscall = "execve";
  exec.kind = AccessKind::exec;
  exec.path = "/bin/dash";
  exec.resolved = "/usr/bin/dash";
  exec.links = {{"/bin", "usr/bin"}};
  exec.type = FileType::regular;
  t.accesses.push_back(exec);
  for (const PathBytes& path : reads) {
    FileAccess a;
    a.id = t.accesses.size() + 1;
    a.process = 1;
    a.syscall = "openat";
    a.kind = AccessKind::read;
    a.path = path;
    a.resolved = path;
    a.type = FileType::regular;
    t.accesses.push_back(a);
  }
  t.end = RunEnd{};
  return t;
}

class PackRoot : public ::testing::Test {
 protected:
  void SetUp() override {
    ElfClosure host = elf_closure({"/usr/bin/dash"});
    for (const ElfDependency& d : host.dependencies) {
      if (d.found_via == "PT_INTERP")
        interp_ = d;
      else
        libs_.push_back(d);
    }
    if (interp_.path.empty() || libs_.empty() || fs::exists("/usr/lib/" + libs_.front().needed))
      GTEST_SKIP() << "this host's dash is not linked as on Debian (a loader and a C library outside /usr/lib)";
    // The image: merged /usr, dash, its loader where PT_INTERP names it, its
    // libraries only in /usr/lib (the host has them in a multiarch directory).
    fs::create_directories(root_ + "/usr/bin");
    fs::create_directories(root_ + "/usr/lib");
    fs::create_symlink("usr/bin", root_ + "/bin");
    fs::create_symlink("usr/lib", root_ + "/lib");
    copy_at("/usr/bin/dash", root_ + "/usr/bin/dash");
    copy_at(interp_.resolved, root_ + interp_.path);
    for (const ElfDependency& d : libs_) copy_at(d.resolved, root_ + "/usr/lib/" + d.needed);
    if (fs::exists("/etc/ld.so.cache")) copy_at("/etc/ld.so.cache", root_ + "/etc/ld.so.cache");
    // Paths that lie both in the image and on the host, with other contents.
    write_at(root_ + data_ + "/data.txt", "image\n");
    write_at(data_ + "/data.txt", "host\n");
    write_at(root_ + data_ + "/only/in-image.txt", "image only\n");
    write_at(data_ + "/only/on-host.txt", "host only\n");
    write_at(data_ + "/host-only.txt", "host only\n");
    // The image's dpkg database: dash with a size of its own, and a package
    // whose list names data.txt through a symlink only the image has.
    fs::create_directory_symlink(".", root_ + data_ + "/alias");
    write_at(root_ + "/var/lib/dpkg/status",
             "Package: dash\nStatus: install ok installed\nInstalled-Size: 4242\nVersion: 9.9-test\n\n"
             "Package: image-data\nStatus: install ok installed\nInstalled-Size: 1\nVersion: 1.0\n\n");
    write_at(root_ + "/var/lib/dpkg/info/dash.list", "/.\n/bin\n/bin/dash\n");
    write_at(root_ + "/var/lib/dpkg/info/image-data.list", data_ + "/alias/data.txt\n");
  }

  PackRequest request(const std::vector<PathBytes>& reads) {
    std::string trace = tmp_ / "image.trace";
    write_trace(dash_trace(data_, reads), trace);
    PackRequest r;
    r.trace_files = {trace};
    r.spec.name = "image-test";
    r.spec.include = {IncludeRule{.kind = IncludeRule::Kind::elf, .pattern = "/bin/dash", .where = {}},
                      IncludeRule{.kind = IncludeRule::Kind::glob, .pattern = data_ + "/only/*", .where = {}}};
    r.root = root_;
    return r;
  }

  std::string libc_in_image() const { return "/usr/lib/" + libs_.front().needed; }

  TempDir tmp_{PACK_ROOT_TMP_DIR};
  std::string root_ = tmp_ / "rootfs";
  std::string data_ = tmp_ / "data";  ///< a path both in the image and on the host
  ElfDependency interp_;
  std::vector<ElfDependency> libs_;
};

TEST_F(PackRoot, PlanReadsTheImageNotTheHost) {
  BundlePlan plan = plan_bundle(request({data_ + "/data.txt"}));
  // The elf: closure resolved in the image: its loader a regular file where
  // PT_INTERP names it, its C library in /usr/lib, where the host has none.
  const PlanEntry* interp = entry_of(plan, interp_.path);
  ASSERT_NE(interp, nullptr);
  EXPECT_EQ(interp->type, EntryType::regular);
  const PlanEntry* libc = entry_of(plan, libc_in_image());
  ASSERT_NE(libc, nullptr);
  EXPECT_EQ(libc->size, fs::file_size(root_ + libc_in_image()));
  EXPECT_EQ(entry_of(plan, libs_.front().resolved), nullptr);
  // include: globs walk the image.
  EXPECT_NE(entry_of(plan, data_ + "/only/in-image.txt"), nullptr);
  EXPECT_EQ(entry_of(plan, data_ + "/only/on-host.txt"), nullptr);
  // Sizes are the image's ("image\n", not "host\n").
  ASSERT_NE(entry_of(plan, data_ + "/data.txt"), nullptr);
  EXPECT_EQ(entry_of(plan, data_ + "/data.txt")->size, 6u);
}

TEST_F(PackRoot, TarHoldsTheImageFiles) {
  PackRequest r = request({data_ + "/data.txt"});
  r.output = tmp_ / "out.tar";
  BundlePlan plan = plan_bundle(r);
  pack_bundle(r, plan);
  std::string member = data_.substr(1);  // members are named without the leading '/'
  std::string libc = libc_in_image().substr(1);
  RunResult data = run({"tar", "-xOf", r.output, member + "/data.txt"});
  ASSERT_TRUE(exited_with(data, 0));
  EXPECT_EQ(data.out, "image\n");
  RunResult list = run({"tar", "-tvf", r.output});
  ASSERT_TRUE(exited_with(list, 0));
  EXPECT_NE(list.out.find(" " + libc + "\n"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find(member + "/only/in-image.txt\n"), std::string::npos) << list.out;
  EXPECT_EQ(list.out.find("on-host.txt"), std::string::npos) << list.out;
  RunResult extracted = run({"sh", "-c", "tar -xOf '" + r.output + "' '" + libc + "' | cmp - '" + root_ + libc_in_image() + "'"});
  EXPECT_TRUE(exited_with(extracted, 0));
  // The manifest keeps the image's paths.
  BundleContents contents = read_bundle(r.output);
  bool found = std::any_of(contents.manifest.entries.begin(), contents.manifest.entries.end(),
                           [&](const ManifestEntry& e) { return e.path == data_ + "/data.txt" && e.size == 6; });
  EXPECT_TRUE(found);
}

TEST_F(PackRoot, OciLayerHoldsTheImageFiles) {
  PackRequest r = request({data_ + "/data.txt"});
  r.output = tmp_ / "out.oci";
  r.format = "oci";
  r.spec.image.layer_compression = "none";
  BundlePlan plan = plan_bundle(r);
  pack_bundle(r, plan);
  nlohmann::json index = nlohmann::json::parse(read_file(r.output + "/index.json"));
  std::string manifest_digest = index["manifests"][0]["digest"].get<std::string>().substr(7);
  nlohmann::json manifest = nlohmann::json::parse(read_file(r.output + "/blobs/sha256/" + manifest_digest));
  std::string layer = r.output + "/blobs/sha256/" + manifest["layers"][0]["digest"].get<std::string>().substr(7);
  RunResult data = run({"tar", "-xOf", layer, data_.substr(1) + "/data.txt"});
  ASSERT_TRUE(exited_with(data, 0));
  EXPECT_EQ(data.out, "image\n");
  RunResult list = run({"tar", "-tf", layer});
  EXPECT_NE(list.out.find("\n" + libc_in_image().substr(1) + "\n"), std::string::npos) << list.out;
}

TEST_F(PackRoot, ReportPackagesComeFromTheImagesDpkg) {
  PackRequest r = request({data_ + "/data.txt"});
  PlanInputs in = read_plan_inputs(r);
  HostFileSystem image(root_);
  BundlePlan plan = make_plan(in, image);
  BundleReport report = report_plan(plan, in.traces.front(), {.dpkg_admin_dir = dpkg_admin_dir(root_), .python_root = root_});
  auto find = [&](const std::string& name) -> const PackageUsage* {
    for (const PackageUsage& u : report.packages)
      if (u.package == name) return &u;
    return nullptr;
  };
  const PackageUsage* dash = find("dash");
  ASSERT_NE(dash, nullptr) << render_json(report);
  EXPECT_EQ(dash->files_used, 1u);
  EXPECT_EQ(dash->bytes_installed, 4242u * 1024);
  // Listed as <data>/alias/data.txt: only the image's alias symlink leads to the file.
  const PackageUsage* data = find("image-data");
  ASSERT_NE(data, nullptr) << render_json(report);
  EXPECT_EQ(data->files_used, 1u);
  EXPECT_EQ(data->bytes_used, 6u);
  EXPECT_EQ(find("libc6"), nullptr);
  EXPECT_EQ(dpkg_admin_dir("/"), "/var/lib/dpkg");
  EXPECT_EQ(dpkg_admin_dir(root_), root_ + "/var/lib/dpkg");
}

TEST_F(PackRoot, TracedFileMissingInTheImageIsNamed) {
  PackRequest r = request({data_ + "/data.txt", data_ + "/host-only.txt"});
  EXPECT_EQ(message_of([&] { plan_bundle(r); }),
            "plan: 1 file(s) used by the traced run are gone or unreadable now (use --allow-missing to pack without them):\n  " + data_ +
                "/host-only.txt");
}

TEST_F(PackRoot, RootThatIsNoDirectoryIsRefused) {
  PackRequest r = request({data_ + "/data.txt"});
  r.root = tmp_ / "no-such-root";
  EXPECT_EQ(message_of([&] { plan_bundle(r); }), tmp_ / "no-such-root: cannot open the source root: No such file or directory");
  r.root = data_ + "/data.txt";
  EXPECT_EQ(message_of([&] { plan_bundle(r); }), data_ + "/data.txt: cannot open the source root: Not a directory");
}

TEST_F(PackRoot, OutputInsideTheRootIsRefused) {
  PackRequest r = request({data_ + "/data.txt"});
  r.output = root_;
  r.format = "dir";
  EXPECT_EQ(message_of([&] { check_pack_output(r); }), root_ + ": not replaced: it is " + root_ + ", an input of this run");
}

TEST_F(PackRoot, SecretsAreSniffedInTheImage) {
  write_at(root_ + data_ + "/key.txt", "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n");
  write_at(data_ + "/key.txt", "not a key, and of another size\n");
  PackRequest r = request({data_ + "/data.txt", data_ + "/key.txt"});
  r.output = tmp_ / "out.tar";
  BundlePlan plan = plan_bundle(r);
  std::string message = message_of([&] { pack_bundle(r, plan); });
  EXPECT_EQ(message,
            "secrets: 1 file(s) to be packed look like secrets:\n  " + data_ + "/key.txt: OpenSSH private key\n    " +
                "test 'image-test', dash, openat (pid 100)" +
                "\nleave each one out with an 'exclude:' entry in the spec (--spec), or pack it on purpose by listing its path under "
                "'secrets: allow:' there");
  EXPECT_FALSE(fs::exists(r.output));
}

TEST_F(PackRoot, PthFilesAreCheckedAgainstTheImagesDistributions) {
  std::string site = data_ + "/site-packages";
  write_at(root_ + site + "/hack.pth", "import os\n");
  write_at(root_ + site + "/hack-1.0.dist-info/RECORD", "hack.pth,,10\n");
  write_at(root_ + site + "/stray.pth", "import sys\n");
  BundlePlan plan = plan_bundle(request({data_ + "/data.txt", site + "/hack.pth", site + "/stray.pth"}));
  std::vector<PathBytes> found;
  for (const HostSpecificFinding& f : plan.host_specific) found.push_back(f.path);
  EXPECT_EQ(found, std::vector<PathBytes>{site + "/stray.pth"});
}

// In the image, a test's working directory under /tmp is a project directory
// (its files are packed), while the spec's directory, a host path, is not.
TEST_F(PackRoot, ScratchRuleUsesTheImagesProjectDirectories) {
  std::string project = "/tmp/tracepack-root-test-project-" + fs::path(tmp_.path()).filename().string();
  std::string spec_dir = "/tmp/tracepack-root-test-spec-" + fs::path(tmp_.path()).filename().string();
  write_at(root_ + project + "/input.txt", "input\n");
  write_at(root_ + spec_dir + "/left.txt", "left\n");
  std::string trace = tmp_ / "tmp.trace";
  write_trace(dash_trace(project, {project + "/input.txt", spec_dir + "/left.txt"}), trace);
  PackRequest r;
  r.trace_files = {trace};
  r.spec.name = "image-test";
  r.spec.file = spec_dir + "/tracepack.yaml";
  r.root = root_ + "/";
  EXPECT_EQ(read_plan_inputs(r).spec_dir, "");
  BundlePlan plan = plan_bundle(r);
  EXPECT_NE(entry_of(plan, project + "/input.txt"), nullptr);
  EXPECT_EQ(entry_of(plan, spec_dir + "/left.txt"), nullptr);
  bool excluded =
      std::any_of(plan.excluded.begin(), plan.excluded.end(), [&](const PlanExclusion& x) { return x.path == spec_dir + "/left.txt"; });
  EXPECT_TRUE(excluded);
}

}  // namespace
}  // namespace tracepack

// End-to-end tests of the SBOMs (docs/sbom.md): /usr/bin/sed traced and packed
// by `tracepack build` with `sbom:` and by `tracepack pack --sbom`; the
// documents validated against the official CycloneDX 1.5 and SPDX 2.3 JSON
// schemas (vendored in tests/schemas/, checked by python3-jsonschema through
// tests/validate_sbom.py), their packages compared with what dpkg says of the
// bundled files, the distroless dpkg metadata with md5sum, and an image's
// label and in-image SBOM with skopeo and umoci.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "cli_test_util.h"

namespace tracepack::cli_test {
namespace {

const std::string kWork = SBOM_TMP_DIR;

void require_validator() {
  RunResult r = run({"python3", "-c", "import jsonschema"});
  if (r.exit_code != 0) GTEST_SKIP() << "python3-jsonschema is not installed (Debian package python3-jsonschema)";
}

/// A spec packing `sed --version`, with `extra` appended.
std::string write_sed_spec(const TempDir& dir, const std::string& extra) {
  write_file(dir / "tracepack.yaml",
             "name: sedapp\ntests:\n  - name: version\n    run: [/usr/bin/sed, --version]\noutput:\n  path: out/sed.tar\n" + extra);
  return dir / "tracepack.yaml";
}

/// `validate_sbom.py FORMAT FILE`.
RunResult validate(const std::string& format, const std::string& file) { return run({"python3", SBOM_VALIDATOR, format, file}); }

/// Packages and versions dpkg gives for `paths`: the owner (dpkg -S, the path
/// as the package lists it: with /usr or, merged-/usr, without) and its version.
std::set<std::string> dpkg_owners(const std::set<std::string>& paths) {
  std::set<std::string> out;
  for (const std::string& path : paths) {
    RunResult owner = run({"dpkg", "-S", path});
    if (owner.exit_code != 0 && path.starts_with("/usr/")) owner = run({"dpkg", "-S", path.substr(4)});
    if (owner.exit_code != 0) continue;
    std::string name = owner.out.substr(0, owner.out.find(':'));
    if (name.find(',') != std::string::npos) continue;  // diverted or shared: no single owner
    RunResult version = run({"dpkg-query", "-W", "-f", "${Package} ${Version}", name});
    if (version.exit_code == 0) out.insert(version.out);
  }
  return out;
}

/// The bundle's regular files, from its manifest (generated dpkg metadata left out).
std::set<std::string> bundled_files(const Json& manifest) {
  std::set<std::string> out;
  for (const Json& e : manifest["entries"])
    if (e["type"] == "regular" && !e["path"].get<std::string>().starts_with("/var/lib/dpkg/status.d/"))
      out.insert(e["path"].get<std::string>());
  return out;
}

TEST(SbomCli, BuildWithSpecSbomWritesBothValidDocumentsBesideAndInside) {
  require_validator();
  TempDir dir{kWork};
  std::string spec = write_sed_spec(dir, "sbom: [cyclonedx, spdx]\n");
  ASSERT_TRUE(exited_with(tracepack({"build", spec}), 0));
  RunResult cdx = validate("cyclonedx", dir / "out/sed.tar.cdx.json");
  EXPECT_TRUE(exited_with(cdx, 0));
  EXPECT_EQ(cdx.out, "valid\n");
  RunResult spdx = validate("spdx", dir / "out/sed.tar.spdx.json");
  EXPECT_TRUE(exited_with(spdx, 0));
  EXPECT_EQ(spdx.out, "valid\n");
  // The same documents inside the bundle, at the documented paths.
  RunResult inside = run({"tar", "-xOf", dir / "out/sed.tar", ".tracepack/sbom.cdx.json"});
  EXPECT_EQ(inside.out, read_file(dir / "out/sed.tar.cdx.json"));
  inside = run({"tar", "-xOf", dir / "out/sed.tar", ".tracepack/sbom.spdx.json"});
  EXPECT_EQ(inside.out, read_file(dir / "out/sed.tar.spdx.json"));
}

TEST(SbomCli, ValidatorRejectsADocumentOutsideTheSchema) {
  // The check above means something: a CycloneDX document without its
  // required specVersion, and an SPDX one without SPDXID, are refused.
  require_validator();
  TempDir dir{kWork};
  write_file(dir / "bad.cdx.json", "{\"bomFormat\": \"CycloneDX\"}\n");
  RunResult r = validate("cyclonedx", dir / "bad.cdx.json");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, ": 'specVersion' is a required property\n");
  write_file(dir / "bad.spdx.json",
             "{\"spdxVersion\": \"SPDX-2.3\", \"dataLicense\": \"CC0-1.0\", \"name\": \"x\", \"creationInfo\": "
             "{\"created\": \"1980-01-01T00:00:00Z\", \"creators\": [\"Tool: x\"]}}\n");
  r = validate("spdx", dir / "bad.spdx.json");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, ": 'SPDXID' is a required property\n");
}

TEST(SbomCli, PackagesAndVersionsAreWhatDpkgSaysOfTheBundledFiles) {
  TempDir dir{kWork};
  std::string spec = write_sed_spec(dir, "");
  ASSERT_TRUE(exited_with(tracepack({"build", spec, "--sbom", "cyclonedx,spdx", "--no-verify"}), 0));
  Json cdx = Json::parse(read_file(dir / "out/sed.tar.cdx.json"));
  std::set<std::string> from_cdx;
  for (const Json& c : cdx["components"])
    if (c["type"] == "library") {
      from_cdx.insert(c["name"].get<std::string>() + " " + c["version"].get<std::string>());
      std::string arch = run({"dpkg-query", "-W", "-f", "${Architecture}", c["name"].get<std::string>()}).out;
      EXPECT_EQ(
          c["purl"], "pkg:deb/debian/" + c["name"].get<std::string>() + "@" +
                         // purl percent-encodes '+' and ':' of Debian versions
                         [&] {
                           std::string v;
                           for (char ch : c["version"].get<std::string>()) v += ch == '+' ? "%2B" : ch == ':' ? "%3A" : std::string(1, ch);
                           return v;
                         }() +
                         "?arch=" + arch);
    }
  Json manifest = manifest_of(dir / "out/sed.tar", "tar");
  std::set<std::string> expected = dpkg_owners(bundled_files(manifest));
  EXPECT_EQ(from_cdx, expected);
  EXPECT_TRUE(from_cdx.contains(run({"dpkg-query", "-W", "-f", "${Package} ${Version}", "sed"}).out));
  Json spdx = Json::parse(read_file(dir / "out/sed.tar.spdx.json"));
  std::set<std::string> from_spdx;
  for (const Json& p : spdx["packages"])
    if (p.contains("versionInfo")) from_spdx.insert(p["name"].get<std::string>() + " " + p["versionInfo"].get<std::string>());
  EXPECT_EQ(from_spdx, expected);
  // Every bundled file is listed with the SHA-256 the manifest gives it.
  std::map<std::string, std::string> sha;
  for (const Json& e : manifest["entries"])
    if (e["type"] == "regular") sha["." + e["path"].get<std::string>()] = e["sha256"];
  std::map<std::string, std::string> listed;
  for (const Json& f : spdx["files"]) listed[f["fileName"]] = f["checksums"][0]["checksumValue"];
  EXPECT_EQ(listed, sha);
}

TEST(SbomCli, BundleHoldsDistrolessDpkgMetadataWithTheShippedFilesMd5sums) {
  TempDir dir{kWork};
  std::string spec = write_sed_spec(dir, "sbom: cyclonedx\n");
  ASSERT_TRUE(exited_with(tracepack({"build", spec, "--no-verify"}), 0));
  std::string root = dir / "root";
  ASSERT_TRUE(exited_with(run({"mkdir", root}), 0));
  ASSERT_TRUE(exited_with(run({"tar", "-xf", dir / "out/sed.tar", "-C", root}), 0));
  std::string status = read_file(root + "/var/lib/dpkg/status.d/sed");
  EXPECT_TRUE(status.starts_with("Package: sed\n")) << status;
  EXPECT_NE(status.find("\nVersion: " + run({"dpkg-query", "-W", "-f", "${Version}", "sed"}).out + "\n"), std::string::npos) << status;
  // md5sum -c, run in the bundle's root, checks every line against the shipped files.
  RunResult listed = run({"ls", root + "/var/lib/dpkg/status.d"});
  std::istringstream names(listed.out);
  int sums = 0;
  for (std::string name; std::getline(names, name);) {
    if (!name.ends_with(".md5sums")) continue;
    ++sums;
    RunResult check = run({"md5sum", "-c", "--strict", root + "/var/lib/dpkg/status.d/" + name}, {.cwd = root});
    EXPECT_TRUE(exited_with(check, 0)) << name;
    EXPECT_TRUE(read_file(root + "/var/lib/dpkg/status.d/" + name.substr(0, name.size() - 8)).starts_with("Package: ")) << name;
  }
  // One status.d paragraph and md5sums per package of the SBOM.
  Json cdx = Json::parse(read_file(dir / "out/sed.tar.cdx.json"));
  int packages = 0;
  for (const Json& c : cdx["components"]) packages += c["type"] == "library" ? 1 : 0;
  EXPECT_EQ(sums, packages);
  EXPECT_EQ(read_file(root + "/var/lib/dpkg/status.d/sed.md5sums"), run({"sh", "-c", "cd " + root + " && md5sum usr/bin/sed"}).out);
}

TEST(SbomCli, TwoPacksGiveTheSameSbomBytes) {
  TempDir dir{kWork};
  std::string spec = write_sed_spec(dir, "");
  ASSERT_TRUE(exited_with(tracepack({"build", spec, "--no-verify"}), 0));
  std::string trace = dir / ".tracepack/traces/version.jsonl";
  for (const char* out : {"a.tar", "b.tar"})
    ASSERT_TRUE(exited_with(tracepack({"pack", trace, "-s", spec, "-o", dir / out, "--sbom", "spdx", "--sbom", "cyclonedx"}), 0));
  for (const char* suffix : {".cdx.json", ".spdx.json"}) {
    std::string a = read_file(dir / (std::string("a.tar") + suffix));
    ASSERT_FALSE(a.empty());
    EXPECT_EQ(a, read_file(dir / (std::string("b.tar") + suffix))) << suffix;
  }
  EXPECT_EQ(read_file(dir / "a.tar"), read_file(dir / "b.tar"));
}

TEST(SbomCli, ImageCarriesTheLabelAndTheSbomInside) {
  REQUIRE_PROGRAM("skopeo", "skopeo");
  REQUIRE_PROGRAM("umoci", "umoci");
  TempDir dir{kWork};
  std::string spec = write_sed_spec(dir, "");
  ASSERT_TRUE(exited_with(tracepack({"build", spec, "--no-verify"}), 0));
  std::string layout = dir / "image";
  ASSERT_TRUE(exited_with(
      tracepack({"pack", dir / ".tracepack/traces/version.jsonl", "-s", spec, "-f", "oci", "-o", layout, "--sbom", "cyclonedx"}), 0));
  RunResult inspected = run({"skopeo", "inspect", "oci:" + layout});
  ASSERT_TRUE(exited_with(inspected, 0));
  EXPECT_EQ(Json::parse(inspected.out)["Labels"]["dev.tracepack.sbom"], "/.tracepack/sbom.cdx.json");
  RunResult tags =
      run({"sh", "-c",
           "ls " + layout + "/index.json >/dev/null && sed -n 's/.*ref.name\":\"\\([^\"]*\\)\".*/\\1/p' " + layout + "/index.json"});
  std::string tag = tags.out.substr(0, tags.out.find('\n'));
  ASSERT_FALSE(tag.empty()) << read_file(layout + "/index.json");
  std::string unpacked = dir / "unpacked";
  ASSERT_TRUE(exited_with(run({"umoci", "unpack", "--rootless", "--image", layout + ":" + tag, unpacked}), 0));
  EXPECT_EQ(read_file(unpacked + "/rootfs/.tracepack/sbom.cdx.json"), read_file(layout + ".cdx.json"));
  EXPECT_TRUE(read_file(unpacked + "/rootfs/var/lib/dpkg/status.d/sed").starts_with("Package: sed\n"));
}

TEST(SbomCli, APipInstalledDistributionIsAPypiPackageAndDebianLicencesAreSpdxExpressions) {
  require_validator();
  TempDir dir{kWork};
  // A distribution as pip installs it: the module, and a dist-info whose RECORD lists its files.
  std::string site = dir / "venv/lib/python3.11/site-packages";
  std::filesystem::create_directories(site + "/greeting");
  std::filesystem::create_directories(site + "/greeting-1.2.3.dist-info");
  write_file(site + "/greeting/__init__.py", "WORD = 'hello'\n");
  write_file(site + "/greeting-1.2.3.dist-info/METADATA", "Metadata-Version: 2.1\nName: greeting\nVersion: 1.2.3\n");
  write_file(site + "/greeting-1.2.3.dist-info/RECORD",
             "greeting/__init__.py,,\ngreeting-1.2.3.dist-info/METADATA,,\ngreeting-1.2.3.dist-info/RECORD,,\n");
  write_file(dir / "tracepack.yaml",
             "name: py\ntests:\n  - name: imports\n    run: [/usr/bin/python3, -c, \"import greeting, jsonschema; "
             "print(greeting.WORD)\"]\n    env: {PYTHONPATH: " +
                 site + ", PYTHONDONTWRITEBYTECODE: '1'}\nsbom: [cyclonedx, spdx]\noutput:\n  path: out/py.tar\n");
  ASSERT_TRUE(exited_with(tracepack({"build", dir / "tracepack.yaml"}), 0));
  EXPECT_TRUE(exited_with(validate("cyclonedx", dir / "out/py.tar.cdx.json"), 0));
  EXPECT_TRUE(exited_with(validate("spdx", dir / "out/py.tar.spdx.json"), 0));
  Json cdx = Json::parse(read_file(dir / "out/py.tar.cdx.json"));
  std::map<std::string, Json> by_name;
  for (const Json& c : cdx["components"])
    if (c.contains("purl")) by_name[c["name"].get<std::string>()] = c;
  ASSERT_TRUE(by_name.contains("greeting")) << cdx["components"].dump();
  EXPECT_EQ(by_name["greeting"]["purl"], "pkg:pypi/greeting@1.2.3");
  // Debian's own Python package stays a Debian package, with the licences its
  // machine-readable copyright file names (GPL-2+ and MIT) as one SPDX expression.
  ASSERT_TRUE(by_name.contains("python3-jsonschema")) << cdx["components"].dump();
  EXPECT_TRUE(by_name["python3-jsonschema"]["purl"].get<std::string>().starts_with("pkg:deb/debian/python3-jsonschema@"));
  EXPECT_EQ(by_name["python3-jsonschema"]["licenses"], Json::parse(R"([{"expression": "GPL-2.0-or-later AND MIT"}])"));
  Json spdx = Json::parse(read_file(dir / "out/py.tar.spdx.json"));
  bool found = false;
  for (const Json& p : spdx["packages"])
    if (p["name"] == "greeting") {
      found = true;
      EXPECT_EQ(p["versionInfo"], "1.2.3");
    }
  EXPECT_TRUE(found) << spdx["packages"].dump();
}

TEST(SbomCli, UnknownFormatOnTheCommandLineIsRefusedWithASuggestion) {
  TempDir dir{kWork};
  std::string spec = write_sed_spec(dir, "");
  RunResult r = tracepack({"build", spec, "--sbom", "cyclonedxx"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "tracepack: error: --sbom: unknown SBOM format 'cyclonedxx' (did you mean 'cyclonedx'?)\n");
  r = tracepack({"build", spec, "--sbom", "syft"});
  EXPECT_EQ(r.err, "tracepack: error: --sbom: unknown SBOM format 'syft' (expected one of: cyclonedx, spdx)\n");
}

TEST(SbomCli, UnknownFormatInTheSpecIsRefusedWithASuggestion) {
  TempDir dir{kWork};
  std::string spec = write_sed_spec(dir, "sbom: [cyclonedx, spdxx]\n");
  RunResult r = tracepack({"build", spec});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "tracepack: error: " + spec + ":7:19: unknown SBOM format 'spdxx' (did you mean 'spdx'?)\n");
}

}  // namespace
}  // namespace tracepack::cli_test

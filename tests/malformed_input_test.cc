// The readers of files tracepack did not necessarily write, given damaged or
// hostile input: a bundle's manifest (parse_manifest, read_bundle), an OCI
// image layout (read_image_layers) and a trace (read_trace). Each refusal is
// a tracepack::Error naming the file and the field, asserted byte for byte;
// and a sweep of mutated documents checks that no input makes a reader throw
// anything else (an nlohmann exception would end the CLI with SIGABRT).
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "cli_test_util.h"
#include "tracepack/bundle_reader.h"
#include "tracepack/error.h"
#include "tracepack/image_reader.h"
#include "tracepack/manifest_reader.h"
#include "tracepack/pack.h"
#include "tracepack/trace.h"

namespace tracepack {
namespace {

namespace fs = std::filesystem;
using namespace cli_test;

const std::string kScratch = INPUT_TMP_DIR;

/// The message of the Error `read` throws, "(no error)" when it returns.
/// Any other exception fails the test (it would abort the CLI).
std::string refusal(const std::function<void()>& read) {
  try {
    read();
  } catch (const Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a tracepack::Error: " << e.what();
    return "(other exception)";
  }
  return "(no error)";
}

std::string manifest_refusal(const std::string& text) {
  return refusal([&] { parse_manifest(text, "b/.tracepack/manifest.json"); });
}

const std::string kHead = R"({"format": "tracepack-manifest", "version": 1, )";

// ---------------------------------------------------------------------------
// Manifests

TEST(MalformedManifest, SignatureOfTheWrongTypeIsNotAManifest) {
  EXPECT_EQ(manifest_refusal(R"({"format":1})"), "b/.tracepack/manifest.json: not a tracepack manifest");
  EXPECT_EQ(manifest_refusal(R"({"format":["tracepack-manifest"]})"), "b/.tracepack/manifest.json: not a tracepack manifest");
  EXPECT_EQ(manifest_refusal(R"([{"format":"tracepack-manifest"}])"), "b/.tracepack/manifest.json: not a tracepack manifest");
  EXPECT_EQ(manifest_refusal(R"({"format":"tracepack-manifest","version":1e999})"), "b/.tracepack/manifest.json: not a tracepack manifest");
}

TEST(MalformedManifest, VersionIsChecked) {
  EXPECT_EQ(manifest_refusal(R"({"format":"tracepack-manifest"})"), "b/.tracepack/manifest.json: version: missing");
  EXPECT_EQ(manifest_refusal(R"({"format":"tracepack-manifest","version":"1"})"),
            "b/.tracepack/manifest.json: version: expected an integer");
  EXPECT_EQ(manifest_refusal(R"({"format":"tracepack-manifest","version":1.5})"),
            "b/.tracepack/manifest.json: version: expected an integer");
  EXPECT_EQ(manifest_refusal(R"({"format":"tracepack-manifest","version":18446744073709551615})"),
            "b/.tracepack/manifest.json: version: out of range");
  EXPECT_EQ(manifest_refusal(R"({"format":"tracepack-manifest","version":4294967297})"),
            "b/.tracepack/manifest.json: manifest version 4294967297 is not supported (this tracepack reads version 1)");
}

TEST(MalformedManifest, EveryFieldIsNamedWithItsPath) {
  struct Case {
    std::string rest;
    std::string message;
  };
  const Case cases[] = {
      {R"("bundle": "x"})", "entries: missing"},
      {R"("entries": {}})", "entries: expected an array"},
      {R"("bundle": 3, "entries": []})", "bundle: expected a string"},
      {R"("entries": [7]})", "entries[0]: expected an object"},
      {R"("entries": [{"path": "/a"}, {"path": 5}]})", "entries[1].path: expected a string"},
      {R"("entries": [{"path": "etc"}]})", "entries[0].path: not an absolute path: 'etc'"},
      {R"("entries": [{"path": "/a%G1"}]})", "entries[0].path: invalid escape '%G1' at offset 2"},
      {R"("entries": [{"path": "/a", "type": null}]})", "entries[0].type: expected a string"},
      {R"("entries": [{"path": "/a", "size": -1}]})", "entries[0].size: expected a non-negative integer"},
      {R"("entries": [{"path": "/a", "size": 1.5}]})", "entries[0].size: expected a non-negative integer"},
      {R"("entries": [{"path": "/a", "mode": "0644"}]})", "entries[0].mode: expected a non-negative integer"},
      {R"("entries": [{"path": "/a", "sha256": {}}]})", "entries[0].sha256: expected a string"},
      {R"("entries": [{"path": "/a", "link_target": true}]})", "entries[0].link_target: expected a string"},
      {R"("entries": [{"path": "/a", "hardlink_to": 1}]})", "entries[0].hardlink_to: expected a string"},
      {R"("entries": [{"path": "/a", "reasons": "traced"}]})", "entries[0].reasons: expected an array"},
      {R"("entries": [{"path": "/a", "reasons": ["ok", 2]}]})", "entries[0].reasons[1]: expected a string"},
      {R"("entries": [{"path": "/a", "tests": [null]}]})", "entries[0].tests[0]: expected a string"},
      {R"("entries": [], "excluded": "none"})", "excluded: expected an array"},
      {R"("entries": [], "excluded": [[]]})", "excluded[0]: expected an object"},
      {R"("entries": [], "excluded": [{"path": "/p", "reason": 4}]})", "excluded[0].reason: expected a string"},
  };
  for (const Case& c : cases) EXPECT_EQ(manifest_refusal(kHead + c.rest), "b/.tracepack/manifest.json: " + c.message) << c.rest;
}

TEST(MalformedManifest, BundleWarningsOfTheWrongTypeAreNamed) {
  TempDir dir(kScratch);
  fs::create_directories(dir / "b/.tracepack");
  write_file(dir / "b/.tracepack/manifest.json", kHead + R"("entries": [], "warnings": ["fine", 3]})");
  EXPECT_EQ(refusal([&] { read_bundle(dir / "b"); }), dir / "b:.tracepack/manifest.json: warnings[1]: expected a string");
  write_file(dir / "b/.tracepack/manifest.json", R"({"format":1})");
  EXPECT_EQ(refusal([&] { read_bundle(dir / "b"); }), dir / "b:.tracepack/manifest.json: not a tracepack manifest");
  EXPECT_EQ(refusal([&] { read_manifest(dir / "b"); }), dir / "b/.tracepack/manifest.json: not a tracepack manifest");
}

// ---------------------------------------------------------------------------
// OCI image layouts

const std::string kDigest = "sha256:" + std::string(64, 'a');
const std::string kDigest2 = "sha256:" + std::string(64, 'b');

/// An image layout in `dir` with this index.json and, as blob kDigest, this manifest.
void make_layout(const std::string& dir, const std::string& index, const std::string& manifest) {
  fs::create_directories(dir + "/blobs/sha256");
  write_file(dir + "/oci-layout", R"({"imageLayoutVersion": "1.0.0"})");
  write_file(dir + "/index.json", index);
  write_file(dir + "/blobs/sha256/" + std::string(64, 'a'), manifest);
}

std::string layout_refusal(const std::string& index, const std::string& manifest = "{}") {
  TempDir dir(kScratch);
  make_layout(dir / "img", index, manifest);
  std::string message = refusal([&] { read_image_layers(dir / "img", "img/"); });
  return message;
}

std::string index_of(const std::string& digest) {
  return R"({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": )" + digest + "}]}";
}

TEST(MalformedImage, IndexIsCheckedFieldByField) {
  EXPECT_EQ(layout_refusal(index_of("5")), "img/index.json: manifests[0].digest: expected a string");
  EXPECT_EQ(layout_refusal(R"({"manifests": [{}]})"), "img/index.json: manifests[0].digest: missing");
  EXPECT_EQ(layout_refusal(R"({"manifests": ["sha256:x"]})"), "img/index.json: manifests[0]: expected an object");
  EXPECT_EQ(layout_refusal(R"({"schemaVersion": 2})"), "img/index.json: manifests: missing");
  EXPECT_EQ(layout_refusal(R"({"manifests": {"digest": "x"}})"), "img/index.json: manifests: expected an array");
  EXPECT_EQ(layout_refusal(R"({"manifests": []})"),
            "img/index.json: manifests: names 0 manifests, tracepack reads images with exactly one");
  EXPECT_EQ(layout_refusal("[1, 2]"), "img/index.json: expected an object");
  EXPECT_EQ(layout_refusal("{\"manifests\": [1e999]}"), "img/index.json: not valid JSON");
  EXPECT_EQ(layout_refusal(index_of("\"sha256:../../../etc/passwd\"")),
            "img/index.json: manifests[0].digest: not a sha256 digest: 'sha256:../../../etc/passwd'");
  EXPECT_EQ(layout_refusal(index_of("\"" + kDigest2 + "\"")),
            "img/blobs/sha256/" + std::string(64, 'b') + ": cannot open: No such file or directory");
}

TEST(MalformedImage, ManifestIsCheckedFieldByField) {
  std::string index = index_of("\"" + kDigest + "\"");
  std::string blob = "img/blobs/sha256/" + std::string(64, 'a');
  EXPECT_EQ(layout_refusal(index, R"({"schemaVersion": 2})"), blob + ": layers: missing");
  EXPECT_EQ(layout_refusal(index, R"({"layers": []})"), blob + ": layers: empty, an image needs at least one layer");
  EXPECT_EQ(layout_refusal(index, R"({"layers": [{"digest": ")" + kDigest + R"("}, {"digest": null}]})"),
            blob + ": layers[1].digest: expected a string");
  EXPECT_EQ(layout_refusal(index, "not json"), blob + ": not valid JSON");
}

TEST(MalformedImage, AWellFormedLayoutNamesItsLayersInOrder) {
  TempDir dir(kScratch);
  make_layout(dir / "img", index_of("\"" + kDigest + "\""),
              R"({"layers": [{"digest": ")" + kDigest2 + R"("}, {"digest": ")" + kDigest + R"("}]})");
  EXPECT_TRUE(is_image_layout(dir / "img"));
  EXPECT_FALSE(is_image_layout(dir.path()));
  EXPECT_EQ(read_image_layers(dir / "img", "img/"),
            (std::vector<std::string>{dir / "img/blobs/sha256/" + std::string(64, 'b'), dir / "img/blobs/sha256/" + std::string(64, 'a')}));
}

// ---------------------------------------------------------------------------
// Truncated traces: reported as data, refused by one check

const std::string kHeader = R"({"format":"tracepack-trace","version":1,"tracepack":"0.1.0","label":"t","kernel":"6.1.0","arch":"x86_64",)"
                            R"("argv":["/bin/true"],"cwd":"/","start_time":"2024-01-01T00:00:00.000000Z","env_names":[]})"
                            "\n";
const std::string kProcess = R"({"t":"process","id":1,"pid":10,"parent":0,"start":0})"
                             "\n";
const std::string kAccess =
    R"({"t":"access","id":1,"process":1,"tid":10,"syscall":"openat","kind":"read","path":"/etc/hosts","resolved":"/etc/hosts"})"
    "\n";
const std::string kEnd = R"({"t":"end","end":0.5,"exit_code":0,"signal":0,"timed_out":false})"
                         "\n";

TEST(TruncatedTrace, CompleteTraceHasNoTruncation) {
  TempDir dir(kScratch);
  write_file(dir / "t.jsonl", kHeader + kProcess + kAccess + kEnd);
  Trace trace = read_trace(dir / "t.jsonl");
  EXPECT_EQ(truncation_of(trace), "");
  EXPECT_EQ(check_trace_complete(trace, "t.jsonl", false), "");
}

TEST(TruncatedTrace, MissingEndRecordIsRefusedUnlessAllowed) {
  TempDir dir(kScratch);
  write_file(dir / "t.jsonl", kHeader + kProcess + kAccess);
  Trace trace = read_trace(dir / "t.jsonl");
  EXPECT_EQ(trace.accesses.size(), 1u);
  EXPECT_EQ(trace.cut_line, 0u);
  EXPECT_EQ(truncation_of(trace), "no end record");
  EXPECT_EQ(refusal([&] { check_trace_complete(trace, "k.jsonl", false); }),
            "k.jsonl: truncated trace (no end record): the traced run was cut short, so a bundle made from it would be "
            "incomplete (--allow-truncated uses what it holds)");
  EXPECT_EQ(check_trace_complete(trace, "k.jsonl", true),
            "k.jsonl: truncated trace (no end record): the traced run was cut short; using what it holds, the bundle "
            "may lack files the run used after the cut");
}

// The check pack, build, report, why and diff share: reading a plan's inputs.
TEST(TruncatedTrace, PlanInputsRefuseItUnlessAllowedThenThePlanWarns) {
  TempDir dir(kScratch);
  std::string file = dir / "k.jsonl";
  write_file(file, kHeader + kProcess + kAccess);
  PackRequest request;
  request.trace_files = {file};
  request.allow_missing = true;
  EXPECT_EQ(refusal([&] { read_plan_inputs(request); }),
            file +
                ": truncated trace (no end record): the traced run was cut short, so a bundle made from it would be "
                "incomplete (--allow-truncated uses what it holds)");
  request.allow_truncated = true;
  PlanInputs in = read_plan_inputs(request);
  std::string warning = file +
                        ": truncated trace (no end record): the traced run was cut short; using what it holds, "
                        "the bundle may lack files the run used after the cut";
  EXPECT_EQ(in.warnings, std::vector<std::string>{warning});
  BundlePlan plan = plan_bundle(request);
  ASSERT_FALSE(plan.warnings.empty());
  EXPECT_EQ(plan.warnings.front(), warning);
}

TEST(TruncatedTrace, LineCutMidWriteIsTruncationNotAParseError) {
  TempDir dir(kScratch);
  std::string text = kHeader + kProcess + kAccess + kEnd;
  write_file(dir / "t.jsonl", text.substr(0, kHeader.size() + kProcess.size() + 40));
  Trace trace = read_trace(dir / "t.jsonl");
  EXPECT_EQ(trace.cut_line, 3u);
  EXPECT_TRUE(trace.accesses.empty());
  EXPECT_EQ(truncation_of(trace), "line 3 cut short, no end record");
  // A number too large for a double, cut before its line ended, is the same.
  write_file(dir / "t.jsonl", kHeader + kProcess + R"({"t":"exit","process":1,"end":1e999)");
  EXPECT_EQ(truncation_of(read_trace(dir / "t.jsonl")), "line 3 cut short, no end record");
}

TEST(TruncatedTrace, InvalidLineInTheMiddleStaysAParseError) {
  TempDir dir(kScratch);
  std::string file = dir / "t.jsonl";
  write_file(file, kHeader + kProcess + kAccess.substr(0, 40) + "\n" + kEnd);
  EXPECT_EQ(refusal([&] { read_trace(file); }),
            file + ":3: malformed JSON: syntax error while parsing object - unexpected end of input; expected '}'");
  write_file(file, kHeader + R"({"t":"process","id":1e999,"pid":10,"parent":0,"start":0})" + "\n" + kEnd);
  EXPECT_EQ(refusal([&] { read_trace(file); }), file + ":2: malformed JSON: number overflow parsing '1e999'");
}

// ---------------------------------------------------------------------------
// No input makes a reader throw anything but tracepack::Error

/// Deterministic mutations of `text`: bytes replaced, removed, duplicated,
/// and JSON tokens swapped for others of another type.
std::vector<std::string> mutations(const std::string& text, std::size_t count) {
  const std::vector<std::string> tokens = {
      "1", "-1", "1e999", "1.5", "\"s\"", "null", "true", "[]", "{}", "[1]", "{\"a\":1}", "18446744073709551616", "\"%G1\"", "\"%\""};
  std::mt19937 random(20240611);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < count; ++i) {
    std::string m = text;
    std::size_t at = random() % m.size();
    switch (random() % 4) {
      case 0:
        m[at] = static_cast<char>(random() % 256);
        break;
      case 1:
        m.erase(at, 1 + random() % 8);
        break;
      case 2:
        m.insert(at, m.substr(at, 1 + random() % 16));
        break;
      default: {
        // Replace a JSON value (after a ':' or '[' or ',') with another token.
        std::size_t colon = m.find_first_of(":[,", at);
        if (colon == std::string::npos) break;
        std::size_t end = m.find_first_of(",}]", colon + 1);
        if (end == std::string::npos) break;
        m.replace(colon + 1, end - colon - 1, tokens[random() % tokens.size()]);
      }
    }
    out.push_back(std::move(m));
  }
  return out;
}

TEST(MalformedInputSweep, ManifestReaderThrowsOnlyErrors) {
  std::string manifest = kHead + R"("bundle": "b", "entries": [{"path": "/", "type": "directory", "mode": 493, "reasons": ["root"]},)"
                                 R"({"path": "/a", "type": "regular", "size": 3, "mode": 420, "sha256": "ab", "tests": ["t"]},)"
                                 R"({"path": "/l", "type": "symlink", "link_target": "a", "hardlink_to": ""}],)"
                                 R"("excluded": [{"path": "/proc", "reason": "pseudo"}], "warnings": ["w"]})";
  ASSERT_EQ(parse_manifest(manifest, "m.json").entries.size(), 3u);
  for (const std::string& m : mutations(manifest, 5000)) refusal([&] { parse_manifest(m, "m.json"); });
}

TEST(MalformedInputSweep, TraceReaderThrowsOnlyErrors) {
  TempDir dir(kScratch);
  std::string trace =
      kHeader + kProcess +
      R"({"t":"exec","process":1,"time":0.1,"path":"/bin/true","exe":"/bin/true","argv":["true"],"cwd":"/","interpreters":[]})"
      "\n" +
      kAccess + R"({"t":"repeat","access":1,"count":2})" + "\n" + R"({"t":"warning","process":1,"message":"m"})" + "\n" +
      R"({"t":"exit","process":1,"end":0.4,"exit_code":0})" + "\n" + kEnd;
  write_file(dir / "t.jsonl", trace);
  ASSERT_TRUE(read_trace(dir / "t.jsonl").end.has_value());
  for (const std::string& m : mutations(trace, 3000)) {
    write_file(dir / "t.jsonl", m);
    refusal([&] { read_trace(dir / "t.jsonl"); });
  }
}

TEST(MalformedInputSweep, ImageReaderThrowsOnlyErrors) {
  TempDir dir(kScratch);
  std::string index = index_of("\"" + kDigest + "\"");
  std::string manifest =
      R"({"schemaVersion": 2, "config": {"digest": ")" + kDigest2 + R"("}, "layers": [{"digest": ")" + kDigest2 + R"(", "size": 10}]})";
  make_layout(dir / "img", index, manifest);
  ASSERT_EQ(read_image_layers(dir / "img", "img/").size(), 1u);
  for (const std::string& m : mutations(index, 1000)) {
    write_file(dir / "img/index.json", m);
    refusal([&] { read_image_layers(dir / "img", "img/"); });
  }
  write_file(dir / "img/index.json", index);
  for (const std::string& m : mutations(manifest, 1000)) {
    write_file(dir / "img/blobs/sha256/" + std::string(64, 'a'), m);
    refusal([&] { read_image_layers(dir / "img", "img/"); });
  }
}

}  // namespace
}  // namespace tracepack

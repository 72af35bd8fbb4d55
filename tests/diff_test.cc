// diff_entries and its renderers over the hand-written manifests of
// fixtures/manifests, compared with fixtures/expected/diff-*; plus the
// manifest reader's refusals, byte for byte.
#include <gtest/gtest.h>

#include "review_test_util.h"
#include "tracepack/diff.h"
#include "tracepack/error.h"
#include "tracepack/manifest_reader.h"

namespace tracepack {
namespace {

using review_test::kFixtures;
using review_test::matches_golden;
using review_test::read_text;

std::vector<DiffEntry> entries(const std::string& name) {
  return diff_entries_of(parse_manifest(read_text(kFixtures + "/manifests/" + name + ".json"), name + ".json"));
}

TEST(Diff, OldAgainstNewAsText) {
  EXPECT_TRUE(matches_golden("diff-old-new.txt", render_diff_text(diff_entries(entries("old"), entries("new")))));
}

TEST(Diff, OldAgainstNewAsJson) {
  BundleDiff diff = diff_entries(entries("old"), entries("new"));
  EXPECT_TRUE(matches_golden("diff-old-new.json", render_diff_json(diff, "old", "new")));
}

TEST(Diff, EqualBundlesHaveOnlyTheTotalsLine) {
  BundleDiff diff = diff_entries(entries("old"), entries("old"));
  EXPECT_TRUE(diff.equal());
  EXPECT_TRUE(matches_golden("diff-equal.txt", render_diff_text(diff)));
}

TEST(Diff, TotalsCountEveryEntryOnce) {
  std::vector<DiffEntry> a = entries("old"), b = entries("new");
  BundleDiff diff = diff_entries(a, b);
  EXPECT_EQ(diff.added.size() + diff.changed.size() + diff.unchanged, b.size());
  EXPECT_EQ(diff.removed.size() + diff.changed.size() + diff.unchanged, a.size());
  EXPECT_EQ(diff.added_bytes, 5120u);
  EXPECT_EQ(diff.removed_bytes, 120u);
}

TEST(Diff, UnknownSha256IsNotCompared) {
  DiffEntry a{.path = "/x", .type = EntryType::regular, .size = 3, .mode = 0644};
  DiffEntry b{.path = "/x", .type = EntryType::regular, .size = 3, .mode = 0644, .sha256 = "abc"};
  EXPECT_TRUE(diff_entries({a}, {b}).equal());
  a.sha256 = "def";
  BundleDiff diff = diff_entries({a}, {b});
  ASSERT_EQ(diff.changed.size(), 1u);
  EXPECT_EQ(diff.changed[0].changes[0].field, "sha256");
}

TEST(Diff, PlanEntriesAreHashedOnlyWhenAsked) {
  BundlePlan plan;
  PlanEntry file;
  file.path = "/etc/x";
  file.size = 4;
  file.mode = 0100644;
  PlanEntry dir;
  dir.path = "/etc";
  dir.type = EntryType::directory;
  dir.mode = 0755;
  plan.entries = {dir, file};
  std::vector<DiffEntry> plain = diff_entries_of(plan);
  ASSERT_EQ(plain.size(), 2u);
  EXPECT_EQ(plain[1].sha256, "");
  EXPECT_EQ(plain[1].mode, 0644u);
  std::vector<DiffEntry> hashed = diff_entries_of(plan, [](const PathBytes& p) { return "sha-of-" + p; });
  EXPECT_EQ(hashed[0].sha256, "");
  EXPECT_EQ(hashed[1].sha256, "sha-of-/etc/x");
}

std::string refusal(const std::string& text) {
  try {
    parse_manifest(text, "m.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ManifestReader, NewerVersionIsRefused) {
  EXPECT_EQ(refusal(read_text(kFixtures + "/manifests/future.json")),
            "m.json: manifest version 2 is not supported (this tracepack reads version 1)");
}

TEST(ManifestReader, OtherJsonIsRefused) {
  EXPECT_EQ(refusal("{\"format\": \"tracepack-trace\"}"), "m.json: not a tracepack manifest");
  EXPECT_EQ(refusal("not json"), "m.json: not a tracepack manifest");
}

TEST(ManifestReader, RelativeEntryPathIsRefused) {
  EXPECT_EQ(refusal(R"({"format": "tracepack-manifest", "version": 1, "entries": [{"path": "etc"}]})"),
            "m.json: entries[0].path: not an absolute path: 'etc'");
}

TEST(ManifestReader, UnknownEntryTypeIsRefusedNamingTheField) {
  EXPECT_EQ(refusal(R"({"format": "tracepack-manifest", "version": 1, "entries": [{"path": "/a", "type": "regular"},
                         {"path": "/p", "type": "fifo"}]})"),
            "m.json: entries[1].type: unknown entry type 'fifo' (expected regular, directory or symlink)");
}

TEST(ManifestReader, EntryTypesAreRead) {
  Manifest m = parse_manifest(R"({"format": "tracepack-manifest", "version": 1, "entries": [
      {"path": "/d", "type": "directory"}, {"path": "/l", "type": "symlink", "link_target": "d"}, {"path": "/f"}]})",
                              "m.json");
  ASSERT_EQ(m.entries.size(), 3u);
  EXPECT_EQ(m.entries[0].type, EntryType::directory);
  EXPECT_EQ(m.entries[1].type, EntryType::symlink);
  EXPECT_EQ(m.entries[2].type, EntryType::regular) << "an entry without a type is a regular file, as before";
}

TEST(ManifestReader, ExclusionSentencesAreReadBackIntoTheirCause) {
  Manifest m = parse_manifest(R"({"format": "tracepack-manifest", "version": 1, "entries": [], "excluded": [
      {"path": "/etc/nope", "reason": "lookup failed in test 'greet': No such file or directory"},
      {"path": "/x", "reason": "left out by hand"}]})",
                              "m.json");
  ASSERT_EQ(m.excluded.size(), 2u);
  EXPECT_EQ(m.excluded[0].reason.cause, ExclusionCause::lookup_failed);
  EXPECT_EQ(m.excluded[0].reason.detail, "No such file or directory");
  EXPECT_EQ(m.excluded[1].reason.cause, ExclusionCause::recorded);
  EXPECT_EQ(render_exclusion(m.excluded[1].reason), "left out by hand");
}

TEST(ManifestReader, EscapedPathsAreDecoded) {
  Manifest m = parse_manifest(R"({"format": "tracepack-manifest", "version": 1, "entries": [{"path": "/r%E9sum%E9", "type": "regular"}]})",
                              "m.json");
  ASSERT_EQ(m.entries.size(), 1u);
  EXPECT_EQ(m.entries[0].path, "/r\xE9sum\xE9");
  EXPECT_FALSE(m.has_exclusions);
}

}  // namespace
}  // namespace tracepack

// The manifest of a bundle: each entry's path, type, size, mode, SHA-256,
// link target, reasons and tests, in the order write_bundle wrote them, then
// what was left out and why, the plan's warnings and the test cases. Paths go
// through encode_path; reason texts are for people and may hold stray bytes,
// so the document is dumped replacing invalid UTF-8 rather than throwing.
#include "manifest_writer.h"

#include <utility>

#include "tracepack/trace.h"

namespace tracepack {

void ManifestWriter::add(const PlanEntry& e, const Digest* digest) {
  nlohmann::ordered_json j;
  j["path"] = encode_path(e.path);
  j["type"] = to_string(e.type);
  j["size"] = digest ? digest->size : 0;
  j["mode"] = e.mode & 07777;
  if (digest) j["sha256"] = digest->sha256;
  if (e.type == EntryType::symlink) j["link_target"] = encode_path(e.link_target);
  if (!e.hardlink_to.empty()) j["hardlink_to"] = encode_path(e.hardlink_to);
  nlohmann::ordered_json reasons = nlohmann::ordered_json::array();
  for (const PlanReason& r : e.reasons) reasons.push_back(r.detail);
  j["reasons"] = std::move(reasons);
  j["tests"] = entry_tests(e);
  entries_.push_back(std::move(j));
}

std::string ManifestWriter::text(const std::string& bundle_name, const BundlePlan& plan, const std::optional<ManifestBase>& from) {
  nlohmann::ordered_json doc;
  doc["format"] = "tracepack-manifest";
  doc["version"] = 1;
  doc["bundle"] = bundle_name;
  doc["entries"] = std::move(entries_);
  // Added fields (docs/report-format.md): what was left out and why, and the
  // plan's warnings. Paths in pseudo and temporary file systems are left out
  // of the list: process ids and temporary names differ from run to run, and
  // two builds of the same application must give the same bundle.
  nlohmann::ordered_json excluded = nlohmann::ordered_json::array();
  for (const PlanExclusion& x : plan.excluded)
    if (pseudo_root(x.path).empty() && scratch_root(x.path).empty())
      excluded.push_back({{"path", encode_path(x.path)}, {"reason", render_exclusion(x.reason)}});
  doc["excluded"] = std::move(excluded);
  doc["warnings"] = plan.warnings;
  if (!plan.review_ignore.empty()) doc["review"] = {{"ignore", plan.review_ignore}};
  if (!plan.packs_on.empty() || !plan.knowledge.empty()) {
    nlohmann::ordered_json knowledge = nlohmann::ordered_json::array();
    for (const KnowledgePack& pack : plan.knowledge) knowledge.push_back({{"file", pack.file}, {"text", pack.text}});
    doc["packs"] = {{"on", plan.packs_on}, {"knowledge", std::move(knowledge)}};
  }
  // Every test case of the traces, even one that used no entry; its presence
  // also says that each entry's "tests" is complete (older manifests took
  // them from the reasons, at most 8), which per-test counts need.
  doc["tests"] = plan.tests;
  if (from) {
    doc["from"] = {{"reference", from->reference}, {"kind", from->kind},      {"bytes", from->bytes},
                   {"files", from->files},         {"env", from->env},        {"workdir", from->workdir},
                   {"user", from->user},           {"command", from->command}};
  }
  // Reason texts are for people and may hold stray bytes: replace, never throw.
  return doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace tracepack

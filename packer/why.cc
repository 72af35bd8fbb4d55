// explain_in_plan / explain_in_manifest / render_why: `tracepack why`.
//
// The deciding facts come from the plan (or the manifest that recorded it):
// an entry's reasons, or the one reason a path was left out. From traces, the
// answer adds every access that touched the path, found by one scan of each
// trace's records: an access touched it when the path is where its lookup
// ended (`resolved`, `resolved2`) or one of the symlinks crossed on the way.
// Each access is shown with its process (pid and the argv of its last exec),
// so that "which program asked for this, and how" reads off one line. A path
// that is neither an entry nor an exclusion was never touched by any trace
// and matches no include rule, unless one of its parents is a symlink of the
// bundle (/bin -> usr/bin): then the path is resolved through the bundle's
// entries, as the kernel would inside the bundle (".." after a symlink climbs
// from where the link led), and the answer is that of the path it names
// (/usr/bin/sh), with the symlinks followed listed as its route.
#include "tracepack/why.h"

#include <errno.h>

#include <cstring>
#include <unordered_map>

#include "tracepack/error.h"
#include "tracepack/path_resolution.h"

namespace tracepack {
namespace {

constexpr std::size_t kMaxArgvText = 160;
constexpr std::string_view kNeverTouched = "never touched: no trace used it and no include rule matches it";

std::string entry_text(EntryType type, const PathBytes& link_target, const PathBytes& hardlink_to) {
  if (type == EntryType::directory) return "directory";
  if (type == EntryType::symlink) return "symlink to " + encode_path(link_target);
  if (!hardlink_to.empty()) return "hard link to " + encode_path(hardlink_to);
  return "regular file";
}

FileType file_type_of(EntryType type) {
  return type == EntryType::directory ? FileType::directory : type == EntryType::symlink ? FileType::symlink : FileType::regular;
}

// An ELF dependency's line names the object that needs it; the elf: rule whose
// closure it belongs to completes the chain.
std::string reason_text(const PlanReason& r) {
  if (r.source == PlanReason::Source::elf && !r.rule.empty()) return r.detail + ", in the closure of elf: " + r.rule;
  return r.detail;
}

// What a bundle's entries say of a path, for the resolver: its type and a
// symlink's target; a path that is no entry does not exist in the bundle.
template <typename Entry, typename TypeOf>
PathLookup entry_lookup(const std::unordered_map<PathBytes, const Entry*>& entries, TypeOf type_of) {
  return [&entries, type_of](const PathBytes& path) {
    auto it = entries.find(path);
    if (it == entries.end()) return PathNode{FileType::none, ENOENT, {}, {}, FileType::none};
    FileType type = type_of(*it->second);
    return PathNode{type, 0, type == FileType::symlink ? it->second->link_target : PathBytes(), {}, FileType::none};
  };
}

// `dir` followed by `rest`, its leading "." and ".." applied when `dir` is
// physical (symlink-free: its parent is then its textual parent).
PathBytes continued(PathBytes dir, std::string_view rest, bool physical) {
  while (physical && !rest.empty()) {
    std::size_t slash = rest.find('/');
    std::string_view name = rest.substr(0, slash);
    if (name != "." && name != "..") break;
    if (name == "..") dir = PathBytes(parent_of(dir));
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  }
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();  // a target written "usr/bin/"
  if (!rest.empty()) dir.append(dir == "/" ? "" : "/").append(rest);
  return dir;
}

/// Where `path` leads inside the bundle (its last component not followed: a
/// symlink entry is answered for itself), and one route step per symlink
/// followed: "LINK is a symlink to TARGET: PATH is NEXT". NEXT is the path
/// with the link replaced by where it led; the last step's is the end of the walk.
PathBytes follow_route(const PathBytes& path, const PathLookup& lookup, std::vector<std::string>& route) {
  PathResolution r = resolve_path(lookup, path, ResolveOptions{"/", false});
  PathBytes current = path;
  for (std::size_t i = 0; i < r.links.size(); ++i) {
    const Symlink& link = r.links[i];
    PathBytes next = r.resolved;
    if (i + 1 < r.links.size()) {
      // The link's target, physical when no other link lies in it; else as written.
      PathResolution led = resolve_path(lookup, link.path);
      bool physical = led.outcome() == ResolveOutcome::resolved && led.links.size() == 1;
      PathBytes written = link.target.starts_with('/') ? link.target : PathBytes(parent_of(link.path)) + "/" + link.target;
      next = continued(physical ? led.resolved : written, r.remaining[i], physical);
    }
    route.push_back(encode_path(link.path) + " is a symlink to " + encode_path(link.target) + ": " + encode_path(current) + " is " +
                    encode_path(next));
    current = std::move(next);
  }
  return r.resolved;
}

bool touches(const FileAccess& a, const PathBytes& path, bool& through_link) {
  through_link = false;
  if (a.resolved == path || a.resolved2 == path) return true;
  for (const std::vector<Symlink>* links : {&a.links, &a.links2})
    for (const Symlink& link : *links)
      if (link.path == path) return through_link = true;
  return false;
}

WhyAccess access_of(const FileAccess& a, const Process* p, const std::string& label, bool through_link) {
  WhyAccess w;
  w.test = p != nullptr && !p->test.empty() ? p->test : label;
  if (p != nullptr) {
    w.pid = p->pid;
    if (!p->execs.empty()) w.argv = p->execs.back().argv;
  }
  w.syscall = a.syscall;
  w.kind = a.kind;
  w.origin = a.origin;
  w.given = a.path;
  w.resolved = a.resolved;
  w.links = a.links;
  w.through_link = through_link;
  w.error = a.error;
  w.count = a.count;
  return w;
}

// Accesses that touched `path`, or named `asked` (the path before its route) as given.
void add_accesses(const Trace& trace, const PathBytes& path, const PathBytes& asked, WhyAnswer& answer) {
  std::unordered_map<std::uint64_t, const Process*> processes;
  for (const Process& p : trace.processes) processes.emplace(p.id, &p);
  for (const FileAccess& a : trace.accesses) {
    bool through_link = false;
    if (!touches(a, path, through_link) && a.path != asked) continue;
    if (answer.accesses.size() >= kMaxWhyAccesses) {
      ++answer.more_accesses;
      continue;
    }
    auto it = processes.find(a.process);
    answer.accesses.push_back(access_of(a, it == processes.end() ? nullptr : it->second, trace.run.label, through_link));
  }
}

std::string argv_text(const std::vector<PathBytes>& argv) {
  std::string text;
  for (const PathBytes& arg : argv) {
    std::string shown = encode_path(arg);
    if (shown.empty() || shown.find_first_of(" \t\n'\"") != std::string::npos) shown = "'" + shown + "'";
    text += (text.empty() ? "" : " ") + shown;
  }
  if (text.size() > kMaxArgvText) text = text.substr(0, kMaxArgvText) + "...";
  return text;
}

std::string access_line(const WhyAccess& w) {
  std::string line = "test '" + w.test + "', pid " + std::to_string(w.pid);
  if (!w.argv.empty()) line += " [" + argv_text(w.argv) + "]";
  line += ": " + w.syscall + " " + std::string(to_string(w.kind));
  if (w.origin != AccessOrigin::syscall) line += " (" + std::string(to_string(w.origin)) + ")";
  line += " " + encode_path(w.given);
  if (w.error != 0) return line + ": failed: " + std::strerror(w.error);
  if (w.resolved != w.given) line += " -> " + encode_path(w.resolved);
  if (w.count > 1) line += " (" + std::to_string(w.count) + " times)";
  return line;
}

void render_accesses(const WhyAnswer& answer, std::string& out) {
  if (answer.accesses.empty()) return;
  out += "accesses:\n";
  for (const WhyAccess& w : answer.accesses) {
    out += "  " + access_line(w) + "\n";
    for (const Symlink& link : w.links) out += "    via symlink " + encode_path(link.path) + " -> " + encode_path(link.target) + "\n";
    if (w.through_link) out += "    (this path is a symlink crossed on the way)\n";
  }
  if (answer.more_accesses > 0) out += "  ... and " + std::to_string(answer.more_accesses) + " more\n";
}

}  // namespace

PathBytes normalize_why_path(const PathBytes& path) {
  if (!path.starts_with('/')) throw Error("why: path must be absolute: '" + encode_path(path) + "'");
  PathBytes out = path;
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

WhyAnswer explain_in_plan(const BundlePlan& plan, const std::vector<Trace>& traces, const PathBytes& asked) {
  std::unordered_map<PathBytes, const PlanEntry*> entries;
  for (const PlanEntry& e : plan.entries) entries.emplace(e.path, &e);
  WhyAnswer answer;
  answer.path = asked;
  PathBytes path = follow_route(asked, entry_lookup(entries, [](const PlanEntry& e) { return file_type_of(e.type); }), answer.route);
  answer.reasons.emplace_back(kNeverTouched);
  for (const PlanEntry& e : plan.entries) {
    if (e.path != path) continue;
    answer.in_bundle = true;
    answer.entry = entry_text(e.type, e.link_target, e.hardlink_to);
    answer.reasons.clear();
    for (const PlanReason& r : e.reasons) answer.reasons.push_back(reason_text(r));
    for (std::string& note : dangling_notes(plan, e.path)) answer.reasons.push_back(std::move(note));
  }
  for (const PlanExclusion& x : plan.excluded)
    if (!answer.in_bundle && x.path == path) answer.reasons = {render_exclusion(x.reason)};
  for (const Trace& trace : traces) add_accesses(trace, path, asked, answer);
  return answer;
}

WhyAnswer explain_in_manifest(const Manifest& manifest, const PathBytes& asked) {
  std::unordered_map<PathBytes, const ManifestEntry*> entries;
  for (const ManifestEntry& e : manifest.entries) entries.emplace(e.path, &e);
  WhyAnswer answer;
  answer.path = asked;
  PathBytes path = follow_route(asked, entry_lookup(entries, [](const ManifestEntry& e) { return file_type_of(e.type); }), answer.route);
  answer.reasons.emplace_back(manifest.has_exclusions
                                  ? std::string(kNeverTouched)
                                  : "not in the manifest (this bundle records no exclusions, so the reason is unknown)");
  for (const ManifestEntry& e : manifest.entries) {
    if (e.path != path) continue;
    answer.in_bundle = true;
    answer.entry = entry_text(e.type, e.link_target, e.hardlink_to);
    answer.reasons = e.reasons;
    answer.tests = e.tests;
  }
  for (const PlanExclusion& x : manifest.excluded)
    if (!answer.in_bundle && x.path == path) answer.reasons = {render_exclusion(x.reason)};
  return answer;
}

void attach_candidate(WhyAnswer& answer, const std::vector<Candidate>& candidates) {
  if (answer.in_bundle) return;
  for (const Candidate& c : candidates) {
    const PathBytes& p = answer.path;
    if (p == c.path || (p.size() > c.path.size() && p.starts_with(c.path) && p[c.path.size()] == '/')) {
      answer.candidate = c;
      return;
    }
  }
}

std::string render_why(const WhyAnswer& answer) {
  std::string out = encode_path(answer.path) + (answer.in_bundle ? ": in the bundle (" + answer.entry + ")\n" : ": not in the bundle\n");
  if (!answer.route.empty()) {
    out += "route:\n";
    for (const std::string& step : answer.route) out += "  " + step + "\n";
  }
  out += answer.in_bundle ? "reasons:\n" : "reason:\n";
  for (const std::string& reason : answer.reasons) out += "  " + reason + "\n";
  if (!answer.tests.empty()) {
    out += "tests:";
    for (const std::string& test : answer.tests) out += " '" + test + "'";
    out += "\n";
  }
  render_accesses(answer, out);
  if (const std::optional<Candidate>& c = answer.candidate) {
    out += "candidate to review: " + c->reason + "\n";
    for (const std::string& at : c->evidence) out += "  at " + at + "\n";
    out += "  to add it, include: " + c->include + "\n";
  }
  return out;
}

}  // namespace tracepack

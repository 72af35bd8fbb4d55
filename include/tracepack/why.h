// `tracepack why`: the chain of reasons one path is, or is not, in a bundle.
// Answers come from a plan (traces + spec, with the traced accesses behind it)
// or from a bundle's manifest; render_why turns either into text.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tracepack/candidates.h"
#include "tracepack/manifest_reader.h"
#include "tracepack/plan.h"
#include "tracepack/trace.h"

namespace tracepack {

/// One traced access that touched the path, with the process behind it.
struct WhyAccess {
  std::string test;  ///< test case (label) of the process
  int pid = 0;
  std::vector<PathBytes> argv;  ///< argv of the process's last exec; empty when it never exec'd
  std::string syscall;
  AccessKind kind = AccessKind::other;
  AccessOrigin origin = AccessOrigin::syscall;
  PathBytes given;             ///< the path as the process named it
  PathBytes resolved;          ///< where the lookup ended
  std::vector<Symlink> links;  ///< symlinks met on the way to `resolved`
  bool through_link = false;   ///< true: the path is one of `links`, crossed on the way
  int error = 0;               ///< errno of a failed lookup, else 0
  std::uint64_t count = 1;
};

/// Why a path is in, or out of, a bundle.
struct WhyAnswer {
  PathBytes path;
  bool in_bundle = false;
  std::string entry;                 ///< in: "regular file", "directory", "symlink to X", "hard link to X"
  std::vector<std::string> route;    ///< symlinks of the bundle followed from `path` to the entry answered for
  std::vector<std::string> reasons;  ///< in: the entry's reasons, deciding one first; out: the one reason
  std::vector<std::string> tests;    ///< test cases that used it, when known
  std::vector<WhyAccess> accesses;   ///< from traces: every access that touched it, in record order
  std::size_t more_accesses = 0;     ///< accesses past kMaxWhyAccesses, counted, not listed
  std::optional<Candidate> candidate;  ///< out: the candidate to review holding it, if any (attach_candidate)
};

/// Accesses listed in a WhyAnswer; the rest are counted.
inline constexpr std::size_t kMaxWhyAccesses = 20;

/// The answer from a plan and the traces it was made from, for `path` as
/// normalize_why_path returns it. Pure.
WhyAnswer explain_in_plan(const BundlePlan& plan, const std::vector<Trace>& traces, const PathBytes& path);

/// The answer from a bundle's manifest (no accesses: a bundle keeps only the
/// reason lines). Pure.
WhyAnswer explain_in_manifest(const Manifest& manifest, const PathBytes& path);

/// Records in `answer`, when its path is out of the bundle, the candidate
/// (candidates.h) that is that path or a directory above it. Pure.
void attach_candidate(WhyAnswer& answer, const std::vector<Candidate>& candidates);

/// The answer for people, one item a line, ending with a newline; the
/// format is shown in README.md ("Reviewing a bundle") and fixtures/expected/why-*.txt.
std::string render_why(const WhyAnswer& answer);

/// `path` without trailing slashes; throws Error("why: ...") unless absolute.
PathBytes normalize_why_path(const PathBytes& path);

}  // namespace tracepack

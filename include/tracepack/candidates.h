// Candidates to review: files a bundle does not hold but that something in it
// may need at run time, found from what the bundle does hold. A bundle is
// what the tests used; a candidate is evidence of what they did not reach
// (an import inside a function no test called), with the include: line that
// would add it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tracepack/plan.h"
#include "tracepack/trace.h"

namespace tracepack {

/// A file or directory that may be needed and is not in the bundle.
struct Candidate {
  PathBytes path{};                   ///< a file, or a directory meaning everything below it
  std::string kind{};                 ///< "python-import"
  std::string reason{};               ///< one line for people: "module 'numpy' is imported but no test loaded it"
  std::vector<std::string> evidence;  ///< where the need shows: "/app/web.py:12", sorted
  std::uint64_t files = 0;            ///< regular files it would add
  std::uint64_t bytes = 0;            ///< their bytes
  std::string include{};              ///< the spec line that adds it: "- /usr/lib/python3/dist-packages/numpy/**"
  int rank = 0;                       ///< smaller is likelier to be needed; the list is sorted by it
};

/// What find_candidates found, and what it could not look at.
struct CandidateList {
  std::vector<Candidate> candidates;  ///< by rank, then by evidence count (most first), then path
  std::vector<std::string> notes;     ///< e.g. "python imports not checked: /usr/bin/python3.11 failed: ..."
};

/// The candidates for a bundle holding `paths` (every entry's path, sorted),
/// as found in the file system at `root` (the host's "/" or an image's
/// unpacked root), whose files `files` describes. Python imports: the
/// bundle's own interpreter (a regular file named python3 or python3.N)
/// parses the bundle's .py files and finds each imported module on its own
/// path (run with -I; under chroot when `root` is not "/"); a module whose
/// file is not in the bundle is a candidate, its import sites the evidence.
/// Candidates whose path matches one of `ignore` (spec review: ignore: globs)
/// are left out.
CandidateList find_candidates(const std::vector<PathBytes>& paths, const FileSystemView& files, const PathBytes& root = "/",
                              const std::vector<std::string>& ignore = {});

}  // namespace tracepack

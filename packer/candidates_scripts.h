// Candidates to review found in a bundle's scripts (candidates_scripts.cc):
// internal to the packer, called by find_candidates.
#pragma once

#include <vector>

#include "tracepack/candidates.h"

namespace tracepack {

/// Adds to `list` what the bundle's scripts may need and it lacks, as found
/// in the file system at `root` (see find_candidates): Perl modules its perl
/// finds for `use`/`require` ("perl-module"), Node.js modules that `require`
/// and `import` name ("node-module"), and programs its shell scripts run
/// ("shell-command", looked up on `search_paths`' PATH values, then on the
/// standard PATH). What cannot be checked is a note.
void script_candidates(const std::vector<PathBytes>& paths, const FileSystemView& files, const PathBytes& root,
                       const std::vector<std::string>& search_paths, CandidateList& list);

}  // namespace tracepack

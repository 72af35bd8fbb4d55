// The sources of candidates to review besides Python imports (candidates.cc),
// each adding to a CandidateList; find_candidates calls them in rank order.
#pragma once

#include <vector>

#include "tracepack/candidates.h"

namespace tracepack {

/// Ranks of the sources here (Python imports use 1 to 3).
inline constexpr int kRankDlopenNote = 2;
inline constexpr int kRankElfString = 3;
inline constexpr int kRankListedDirectory = 4;

/// Libraries the bundle's ELF files may dlopen() and the bundle lacks.
void elf_dlopen_candidates(const std::vector<PathBytes>& paths, const FileSystemView& files, const PathBytes& root, CandidateList& list);

/// Unused entries of directories a traced process listed and used in part;
/// none at or below a candidate `list` already holds.
void listed_directory_candidates(const std::vector<PathBytes>& paths, const FileSystemView& files, const std::vector<ListedDirectory>& listed,
                                 CandidateList& list);

/// Both of the above, in that order.
inline void elf_and_listing_candidates(const std::vector<PathBytes>& paths, const FileSystemView& files, const PathBytes& root,
                                       const std::vector<ListedDirectory>& listed, CandidateList& list) {
  elf_dlopen_candidates(paths, files, root, list);
  listed_directory_candidates(paths, files, listed, list);
}

/// Adds the regular files at or below `path` to candidate.files and .bytes.
void count_candidate_files(const FileSystemView& files, const PathBytes& path, Candidate& candidate);

}  // namespace tracepack

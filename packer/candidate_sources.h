// The sources of candidates to review besides Python imports (candidates.cc),
// each adding to a CandidateList; find_candidates calls them in rank order.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "tracepack/candidates.h"

namespace tracepack {

/// Ranks of the sources here (Python imports use 1 to 3).
inline constexpr int kRankApplication = 1;       ///< needed by the application's own files
inline constexpr int kRankLibrary = 2;           ///< by an installed library
inline constexpr int kRankStandardLibrary = 3;   ///< by the standard library only
inline constexpr int kRankDlopenNote = 2;
inline constexpr int kRankElfString = 3;
inline constexpr int kRankListedDirectory = 4;
inline constexpr int kRankKnowledgePack = 2;  ///< a knowledge pack's rule that is not turned on

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
/// Whether `path` lies strictly below the directory `dir`.
inline bool under(std::string_view path, std::string_view dir) {
  return path.size() > dir.size() && path.starts_with(dir) && (dir == "/" || path[dir.size()] == '/');
}

/// Adds the regular files and bytes at `path` (a file, or a directory walked
/// whole) to `candidate`'s counts.
void count_candidate_files(const FileSystemView& files, const PathBytes& path, Candidate& candidate);

/// The bundle's regular executable whose name `matches`, the longest name
/// first (python3.11 before python3); "" when there is none.
template <typename Match>
 PathBytes bundle_program(const std::vector<PathBytes>& paths, const FileSystemView& files, Match matches) {
  PathBytes best;
  for (const PathBytes& path : paths) {
    std::string base = std::filesystem::path(path).filename();
    if (!matches(base)) continue;
    std::optional<FileInfo> info = files.info(path);
    if (!info || info->type != EntryType::regular || !(info->mode & 0111)) continue;
    std::string best_base = std::filesystem::path(best).filename();
    if (best.empty() || base.size() > best_base.size() || (base.size() == best_base.size() && base > best_base)) best = path;
  }
  return best;
}



}  // namespace tracepack

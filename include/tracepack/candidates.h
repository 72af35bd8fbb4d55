// Candidates to review: files a bundle does not hold but that something in it
// may need at run time, found from what the bundle does hold. A bundle is
// what the tests used; a candidate is evidence of what they did not reach
// (an import inside a function no test called), with the include: line that
// would add it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tracepack/knowledge.h"
#include "tracepack/plan.h"
#include "tracepack/trace.h"

namespace tracepack {

/// A file or directory that may be needed and is not in the bundle.
struct Candidate {
  PathBytes path{};                   ///< a file, or a directory meaning everything below it
  std::string kind{};                 ///< "python-import", "elf-dlopen-note", "elf-string", "listed-directory"
  std::string reason{};               ///< one line for people: "module 'numpy' is imported but no test loaded it"
  std::vector<std::string> evidence;  ///< where the need shows: "/app/web.py:12", sorted
  std::uint64_t files = 0;            ///< regular files it would add
  std::uint64_t bytes = 0;            ///< their bytes
  std::string include{};              ///< the spec line that adds it: "- /usr/lib/python3/dist-packages/numpy/**"
  int rank = 0;                       ///< smaller is likelier to be needed; the list is sorted by it
  std::string package{};              ///< where its files come from: "Debian package python3-numpy", "Python distribution rich 13.7.1"; "" when unknown
};

/// What find_candidates found, and what it could not look at.
struct CandidateList {
  std::vector<Candidate> candidates;  ///< by rank, then by evidence count (most first), then path
  std::vector<std::string> notes;     ///< e.g. "python imports not checked: /usr/bin/python3.11 failed: ..."
};

/// A directory a traced process listed (getdents), and who listed it.
struct ListedDirectory {
  PathBytes path;
  std::vector<std::string> by;  ///< "test 'x', pid 42 (prog)"; "test 'x' (prog)" where only a bundle's reason lines are known
};

/// The directories among `entries` that a traced process listed: those with
/// a getdents or getdents64 reason.
std::vector<ListedDirectory> listed_directories(const std::vector<PlanEntry>& entries);

/// The same from reason lines (a bundle's manifest or report: one pair of
/// path and PlanReason::detail lines per entry), which hold no pid.
std::vector<ListedDirectory> listed_directories(const std::vector<std::pair<PathBytes, std::vector<std::string>>>& entries);

/// The candidates for a bundle holding `paths` (every entry's path, sorted),
/// as found in the file system at `root` (the host's "/" or an image's
/// unpacked root), whose files `files` describes. Python imports: the
/// bundle's own interpreter (a regular file named python3 or python3.N)
/// parses the bundle's .py files and finds each imported module on its own
/// path (run with -I; under chroot when `root` is not "/"); a module whose
/// file is not in the bundle is a candidate, its import sites the evidence.
/// ELF dlopen() hints: the bundle's ELF files (regular files with an exec
/// bit or ".so" in their name, and ELF magic) are read for .note.dlopen
/// notes and library-name string literals in .rodata; each name the loader
/// finds from that file (ld.so cache, default directories) and the bundle
/// lacks is a candidate, to be added with an `- elf:` include. Listed
/// directories: of each directory in `listed` of which the bundle holds some
/// entries, the others (at most 16, none of them Python modules, outside
/// pseudo and scratch roots) are candidates.
/// Knowledge packs: the rules of the built-in packs and of `knowledge` (the
/// spec's own) that the bundle's paths trigger, for the packs not named in
/// `packs_on` (pack_candidates, knowledge.h).
/// Candidates whose path matches one of `ignore` (spec review: ignore: globs)
/// are left out. A shell script's commands are looked up on each PATH value
/// of `search_paths` (what the tests ran with: test_search_paths), in order,
/// then on the standard PATH.
CandidateList find_candidates(const std::vector<PathBytes>& paths, const FileSystemView& files, const PathBytes& root = "/",
                              const std::vector<std::string>& ignore = {}, const std::vector<ListedDirectory>& listed = {},
                              const std::vector<KnowledgePack>& knowledge = {}, const std::vector<std::string>& packs_on = {},
                              const std::vector<std::string>& search_paths = {});

/// Fills each candidate's `package`: the Debian package that installed its
/// files (the dpkg database at `admin_dir`, its paths resolved in `root`),
/// else the Python distribution whose *.dist-info/RECORD in the enclosing
/// site-packages or dist-packages directory lists them. A directory stands
/// for its first regular file; a glob, or files no package installed, leave
/// it "".
void find_candidate_packages(std::vector<Candidate>& candidates, const FileSystemView& files, const PathBytes& root,
                             const std::string& admin_dir);

/// The PATH values the tests ran with, as far as they are known: each test's
/// `env: PATH` in the spec's order, then each trace's recorded PATH
/// (--record-env), each value once.
std::vector<std::string> test_search_paths(const std::vector<TestCase>& tests, const std::vector<Trace>& traces = {});

}  // namespace tracepack

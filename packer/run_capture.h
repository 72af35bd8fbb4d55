// Running a helper program and handing it a file, for the candidates to
// review (candidates.cc, candidates_scripts.cc): internal to the packer.
#pragma once

#include <string>
#include <vector>

#include "tracepack/trace.h"

namespace tracepack {

/// Runs `argv` (argv[0] a path; chrooted into `root` when it is not "/"),
/// standard input and error on /dev/null, and returns its standard output.
/// Throws Error "exited with N", "killed by signal N", "cannot run it" or
/// "ROOT: cannot chroot into it".
std::string run_capturing(const std::vector<std::string>& argv, const PathBytes& root);

/// A file holding `text` in `dir` ("/tmp" when empty), removed when destroyed.
class ScratchFile {
 public:
  ScratchFile(const PathBytes& dir, const std::string& text);
  ~ScratchFile();
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;
  /// Its path on the host.
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// Where a helper run in `root` can be handed a scratch file: $TMPDIR (else
/// /tmp) on the host, ROOT/tmp in another root.
PathBytes scratch_dir_for(const PathBytes& root);

/// `host_path` (below `root`) as a program chrooted into `root` sees it.
PathBytes path_inside(const PathBytes& root, const PathBytes& host_path);

}  // namespace tracepack

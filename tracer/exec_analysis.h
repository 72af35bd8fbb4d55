// What the kernel itself opens when a file is executed: "#!" interpreters and
// the ELF program interpreter (PT_INTERP), none of which the tracee names in a
// system call.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "path_resolver.h"
#include "tracepack/trace.h"

namespace tracepack::tracer {

/// A "#!" line: the interpreter and its optional single argument.
struct Shebang {
  PathBytes interpreter;
  std::string argument;
};

/// Parses the start of a file as the kernel's binfmt_script does: "#!", optional
/// blanks, the interpreter up to a blank or newline, then the rest of the line
/// (trimmed) as one argument. nullopt when `head` is not a script.
std::optional<Shebang> parse_shebang(std::string_view head);

/// One file the kernel ran or loaded on the way to the program's first instruction.
struct ExecStep {
  AccessOrigin origin;  ///< shebang or elf_interp
  PathBytes written;    ///< the path as written in the "#!" line or PT_INTERP
  Resolution resolution;
};

/// Reads PT_INTERP, "#!" lines and their interpreters' PT_INTERP from files on
/// disk, caching each file's answer by (device, inode, size, mtime).
class ExecAnalyzer {
 public:
  /// The chain after executing `file` (resolved, absolute): each "#!"
  /// interpreter in turn (resolved relative to `cwd`, as the kernel does; at most
  /// 4 levels, the kernel's limit), then the ELF interpreter of the last one.
  std::vector<ExecStep> analyze(PathResolver& resolver, const PathBytes& file, std::string_view cwd, Viewer viewer);

  /// The PT_INTERP string of an ELF file (32- or 64-bit), or nullopt.
  std::optional<PathBytes> elf_interpreter(const PathBytes& file);

 private:
  struct FileFacts {
    std::optional<Shebang> shebang;
    std::optional<PathBytes> interp;
  };
  FileFacts facts(const PathBytes& file);
  using Key = std::tuple<dev_t, ino_t, off_t, long, long>;
  std::map<Key, FileFacts> cache_;
};

}  // namespace tracepack::tracer

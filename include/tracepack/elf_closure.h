// The shared-library closure of ELF files, resolved exactly as the dynamic
// loader (glibc's ld.so) would, without running anything.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "tracepack/trace.h"

namespace tracepack {

/// How the search is set up; the defaults describe the running system.
struct LoaderConfig {
  PathBytes root = "/";                 ///< file system root to search (tests use a fake tree)
  std::vector<PathBytes> library_path;  ///< like LD_LIBRARY_PATH (empty by default)
  bool use_ld_so_cache = true;          ///< read <root>/etc/ld.so.cache
};

/// One file the loader would load.
struct ElfDependency {
  std::string needed;          ///< the DT_NEEDED name ("libz.so.1"), or the PT_INTERP path
  PathBytes needed_by;         ///< the object that named it (resolved path)
  PathBytes path;              ///< the path the loader opens (may contain symlinks)
  PathBytes resolved;          ///< with every symlink resolved
  std::vector<Symlink> links;  ///< symlinks met between path and resolved
  std::string found_via;       ///< "PT_INTERP", "DT_RPATH", "LD_LIBRARY_PATH", "DT_RUNPATH", "ld.so.cache", "default path", "absolute"
};

/// The closure of one or more ELF files.
struct ElfClosure {
  std::vector<PathBytes> roots;             ///< the files asked about, resolved
  std::vector<ElfDependency> dependencies;  ///< every object loaded, once each, in load (breadth-first) order
  std::vector<std::string> missing;         ///< "libfoo.so.1 (needed by /usr/bin/x)" for names not found
};

/// Resolves the closure the way ld.so does: PT_INTERP; DT_NEEDED searched in
/// DT_RPATH (of the object and, transitively, its loaders, unless the object
/// has DT_RUNPATH), LD_LIBRARY_PATH, DT_RUNPATH (the object's own only), the
/// ld.so cache, then the default paths (/lib, /usr/lib and their multiarch
/// directories, from /etc/ld.so.conf and its includes); $ORIGIN, $LIB and
/// $PLATFORM expanded; glibc-hwcaps subdirectories tried first; objects of
/// another ELF class or machine skipped like the loader does.
/// Throws Error when a root is not a readable ELF file.
ElfClosure elf_closure(const std::vector<PathBytes>& files, const LoaderConfig& config = {});

/// What an ELF file names that it may load with dlopen(), beyond DT_NEEDED.
struct ElfDlopenHints {
  std::vector<std::string> notes;    ///< payloads of its .note.dlopen notes (owner "FDO", type 0x407c0c0a): JSON text, as written
  std::vector<std::string> sonames;  ///< NUL-delimited strings of its read-only data (.rodata*) shaped like a library name: "libz.so.1", "libfoo.so"; each once, in file order
};

/// Reads `file` (a path in config.root) for its dlopen() hints: only the
/// section headers, its SHT_NOTE sections and its .rodata sections are read.
/// nullopt when it is no ELF file; throws Error when it cannot be opened.
std::optional<ElfDlopenHints> read_dlopen_hints(const PathBytes& file, const LoaderConfig& config = {});

/// One dlopen() to resolve: `name` (no '/') as the object `requester` opens it.
struct DlopenRequest {
  PathBytes requester;
  std::string name;
};

/// Where the loader finds each request's name, searched from its requester
/// as for a DT_NEEDED entry of it (its DT_RPATH unless DT_RUNPATH,
/// LD_LIBRARY_PATH, its DT_RUNPATH, the ld.so cache, the default directories);
/// nullopt where the name is not found or the requester is no ELF object of a
/// modelled machine. The ld.so cache is read once for all requests.
std::vector<std::optional<ElfDependency>> resolve_dlopen(const std::vector<DlopenRequest>& requests, const LoaderConfig& config = {});

}  // namespace tracepack

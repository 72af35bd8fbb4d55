// Path resolution as the kernel's namei does it, one component at a time,
// keeping every symlink crossed: the one resolver of every stage (the tracer's
// view of a process, the planner's file system, the ELF loader's root, a
// bundle's manifest), each giving its own way of reading the file system.
#pragma once

#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "tracepack/trace.h"

namespace tracepack {

/// The kernel's limit on symlinks followed in one lookup (MAXSYMLINKS): the
/// 40th is followed, the 41st is refused with ELOOP.
inline constexpr int kMaxSymlinks = 40;

/// The directory above `path`: "/" for "/x", for "/" and for a path without
/// a '/'. Textual: `path` is taken as already free of symlinks, "." and "..".
/// The result points into `path`.
std::string_view parent_of(std::string_view path);

/// What a lookup tells of one path (lstat, and readlink for a symlink).
struct PathNode {
  FileType type = FileType::none;  ///< none when the lookup failed
  int error = 0;                   ///< errno of the failed lookup (ENOENT, EACCES...), else 0
  PathBytes target;                ///< a symlink's contents
  /// A symlink that names no path to walk on (a /proc magic link to a pipe,
  /// a socket, a deleted file): following it ends the walk at `end`, of type
  /// `end_type`; a component after it is ENOTDIR.
  std::optional<PathBytes> end;
  FileType end_type = FileType::none;
};

/// How a resolution reads the file system: the node at an absolute,
/// symlink-free path. Paths are in the view of the lookup's root: "/" is the
/// root, which is how absolute symlink targets and ".." at the top stay inside
/// it (the kernel's chroot, openat2's RESOLVE_IN_ROOT).
using PathLookup = std::function<PathNode(const PathBytes& path)>;

/// lstat and readlink on the host, inside `root` ("/" or a directory such as
/// an unpacked image or a fake tree): the view's "/x" is the host's root + "/x".
PathLookup host_lookup(PathBytes root = "/");

/// What lstat and readlink say of the host file `host` (a path the calling
/// process can open): its type, a symlink's target, or the errno.
PathNode read_host_node(const PathBytes& host);

/// How a resolution ended.
enum class ResolveOutcome {
  resolved,        ///< the path exists (or ends at an opaque /proc link)
  missing,         ///< a component does not exist (ENOENT)
  not_directory,   ///< a component used as a directory is not one (ENOTDIR)
  too_many_links,  ///< more than kMaxSymlinks symlinks, or a loop (ELOOP)
  lookup_failed,   ///< the lookup failed otherwise (EACCES...; see `error`)
};

/// Where a path led.
struct PathResolution {
  PathBytes resolved;  ///< absolute, symlink-free; on failure the path the walk would have reached (the failing component plus the rest,
                       ///< unresolved)
  std::vector<Symlink> links;             ///< every symlink followed, in order
  int error = 0;                          ///< errno the kernel's lookup would give (ENOENT, ENOTDIR, ELOOP...), or 0
  FileType type = FileType::none;         ///< of `resolved`; none on failure
  std::vector<PathBytes> remaining = {};  ///< per link: the components still to walk after it, joined by '/' ("" after the last)

  /// `error` as an outcome.
  ResolveOutcome outcome() const;
};

/// How to resolve.
struct ResolveOptions {
  std::string_view base = "/";  ///< directory a relative path starts from: absolute, symlink-free
  bool follow_final = true;     ///< follow a symlink in the last component (always when the path ends in '/')
};

/// Resolves `path` through `lookup`: "." is skipped, ".." is physical (it
/// leaves the directory a symlink led to, and stays at "/"), a symlink's
/// target is walked in place of the link (from "/" when absolute), at most
/// kMaxSymlinks of them. A component followed by another must be a
/// directory, and so must the end of a path written with a trailing '/';
/// empty components are skipped; an empty path is ENOENT. Paths are bytes
/// split on '/' only.
PathResolution resolve_path(const PathLookup& lookup, std::string_view path, ResolveOptions options = {});

}  // namespace tracepack

// Unpacking a bundle archive into a directory, refusing anything that could
// land outside it.
#pragma once

#include <string>

namespace tracepack {

/// Extracts the archive at `archive` (any format tracepack writes: tar,
/// tar.gz, tar.zst, tar.xz, zip, cpio) into the existing empty directory
/// `dest`, keeping modes, symlinks, hard links and mtimes (owners too when
/// running as root). Refuses, naming the entry, every entry whose name or
/// hard-link target is absolute or holds "..", any entry that would be
/// written through a symlink, and device nodes, FIFOs and sockets. Throws
/// Error; what was extracted before the error stays in `dest` for the
/// caller to remove.
void extract_bundle(const std::string& archive, const std::string& dest);

}  // namespace tracepack

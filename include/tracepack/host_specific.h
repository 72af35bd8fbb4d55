// The host-specific check: planned files that are personal (a home directory's)
// or belong to this host's identity and configuration (/etc/hostname,
// /etc/resolv.conf, a locally installed CA, a .pth no package installed).
// Unlike the secrets check it refuses nothing: each finding is a warning to
// review, with the exclude: entry that drops it. The rules are listed for
// users in docs/spec-format.md (`host_specific:`).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "tracepack/plan.h"
#include "tracepack/spec.h"

namespace tracepack {

/// What a path alone says: why the file is host-specific ("this host's name",
/// "file in a home directory (/home/ann)"), or "" when it is not. `homes` are
/// home directories besides /root and /home/NAME ($HOME). A `.pth` file is not
/// judged here (see find_host_specific). Pure.
std::string host_specific_kind(std::string_view path, const std::vector<PathBytes>& homes);

/// The exclude: list item that leaves exactly `path` out: "- /etc/hostname",
/// glob characters escaped, quoted for YAML when needed. Pure.
std::string exclude_line_for(std::string_view path);

/// Every regular file or symlink of `plan` that is host-specific and not
/// acknowledged, in path order. Acknowledged: listed under the spec's
/// `host_specific: allow:`, or brought in by an include: rule or an elf: root
/// (a reason of source `rule`). Files below a traced run's working directory
/// (the project being bundled) are exempt from the home-directory rule,
/// unless that directory is a home directory itself. A `.pth` file in a
/// site-packages or dist-packages directory is host-specific unless a Debian
/// package (`options.dpkg_admin_dir`) or a Python distribution (a RECORD of a
/// *.dist-info beside it, read below `options.root`) installed it.
std::vector<HostSpecificFinding> find_host_specific(const BundlePlan& plan, const HostSpecificSpec& allowed,
                                                    const HostSpecificOptions& options);

/// The lines `build` and `pack` print for `findings` (without the "tracepack: "
/// prefix): "host-specific: review PATH: WHY" then "  to leave it out: exclude:
/// - PATH", at most `max_files` files, then a count of the rest. Empty when
/// `findings` is.
std::vector<std::string> host_specific_lines(const std::vector<HostSpecificFinding>& findings, std::size_t max_files = 20);

}  // namespace tracepack

// The tree formats of write_bundle ("dir" and the archives), for the public
// write_bundle (bundle_writer.cc) and the image writer's layer (oci_writer.cc).
// Internal to packer/.
#pragma once

#include <string_view>

#include "tracepack/bundle_writer.h"
#include "tracepack/plan.h"

namespace tracepack {

/// write_bundle for `format`, one of "dir", "tar", "tar.gz", "tar.zst",
/// "tar.xz", "zip" and "cpio" (options.format is not looked at). Throws Error.
WriteResult write_plain_bundle(const BundlePlan& plan, const WriteOptions& options, std::string_view format);

}  // namespace tracepack

// Writing a BundlePlan as a container image: an OCI image layout directory,
// the same as a tar, or the docker-archive hybrid that `docker save` writes.
#pragma once

#include <string_view>

#include "tracepack/bundle_writer.h"
#include "tracepack/output_format.h"
#include "tracepack/plan.h"

namespace tracepack {

/// Writes `plan` as a one-layer image in options.format, configured by
/// options.image. The layer is the bundle's tar (write_bundle with format
/// "tar", so it holds ".tracepack/manifest.json" too), compressed as
/// options.image.layer_compression says; the config's rootfs.diff_ids hold the
/// SHA-256 of the uncompressed tar. Reproducible like the tar: with the same
/// inputs the blobs and digests are the same; the config's "created" is
/// SOURCE_DATE_EPOCH, else the newest mtime of the plan (the current time
/// only when not reproducible). The output is atomic: built beside the target
/// under a temporary name and renamed at the end; on error nothing remains.
/// WriteResult::image_digest is the manifest's digest. Throws Error.
WriteResult write_image(const BundlePlan& plan, const WriteOptions& options);

}  // namespace tracepack

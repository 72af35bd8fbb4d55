// write_bundle: the format chosen (named, or from the output's extension),
// then the plan handed to the image writer (oci_writer.cc) or to the tree
// writer (archive_writer.cc). Calls go one way: this file calls both, and the
// image writer calls the tree writer for its layer.
#include "tracepack/bundle_writer.h"

#include "archive_writer.h"
#include "tracepack/error.h"
#include "tracepack/oci_writer.h"
#include "tracepack/output_format.h"

namespace tracepack {

WriteResult write_bundle(const BundlePlan& plan, const WriteOptions& options) {
  if (options.path.empty()) throw Error("bundle: no output path");
  std::string name = options.format.empty() ? format_from_path(options.path) : options.format;
  const OutputFormat& format = parse_output_format(name);
  if (is_image_format(format.name)) return write_image(plan, options);
  return write_plain_bundle(plan, options, format.name);
}

}  // namespace tracepack

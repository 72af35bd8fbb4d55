// Reading back a container image in an OCI image layout, as write_image
// (oci_writer.h) writes it and as verify (verify.h) unpacks it: index.json
// names one manifest, whose layers are the image's file system in order.
// Every field read is checked, so that a damaged or hostile layout is
// refused with the file and the field at fault.
#pragma once

#include <string>
#include <vector>

namespace tracepack {

/// Whether the directory `dir` is an OCI image layout: it holds "oci-layout".
bool is_image_layout(const std::string& dir);

/// The blob files of the layers of the image in the OCI layout `layout`, in
/// order: index.json names exactly one manifest, whose "layers" list at
/// least one descriptor; every digest is "sha256:" and 64 lower-case hex
/// digits. In messages the layout's files are named `shown` + their name in
/// the layout ("img/" + "index.json", or "img.tar:" + "index.json"). Throws
/// Error naming the file and the field ("img/index.json: manifests[0].digest:
/// expected a string"); never reads a document larger than 16 MiB.
std::vector<std::string> read_image_layers(const std::string& layout, const std::string& shown);

/// Extracts the layers of the image in the OCI layout `layout` (as
/// read_image_layers finds them, `shown` naming the layout in messages) into
/// the existing empty directory `root`, in order, each with extract_bundle
/// (bundle_extract.h). Throws Error.
void unpack_image(const std::string& layout, const std::string& shown, const std::string& root);

}  // namespace tracepack

// The configuration of a container image bundle (the spec's `image:`
// section) and the checks its values must pass. Plain data, standard library
// only: read by packer/spec.cc, written out by packer/oci_writer.cc.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tracepack {

/// Layer compressions `image.layer_compression` accepts.
inline constexpr std::string_view kLayerCompressions[] = {"none", "gzip", "zstd"};

/// The image's configuration. Empty or absent fields take defaults from the
/// traced run (complete_image_config, pack.h) and then from write_image.
struct ImageConfig {
  std::optional<std::vector<std::string>> entrypoint;  ///< nullopt = none
  std::optional<std::vector<std::string>> cmd;         ///< nullopt = the first test's command
  std::map<std::string, std::string> env;              ///< PATH added when absent
  std::string workdir;                                 ///< absolute; "" = unset
  std::string user;                                    ///< "" = unset (root)
  std::map<std::string, std::string> labels;
  std::vector<std::string> exposed_ports;  ///< normalized "PORT/PROTO" (see normalize_port)
  std::string tag;                         ///< "NAME[:TAG]"; "" = the bundle's name, ":latest"
  std::string architecture;                ///< OCI name ("amd64"); "" = the traced machine's
  std::string os;                          ///< "" = "linux"
  std::string layer_compression = "gzip";  ///< one of kLayerCompressions
};

/// The PATH an image gets when neither the spec nor the trace gives one.
inline constexpr std::string_view kDefaultImagePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Why `tag` is not a usable image reference "NAME[:TAG]", or "" when it is.
/// NAME is one or more '/'-separated components of lower-case letters and
/// digits joined by '.', '_', "__" or runs of '-' (the first may instead be a
/// registry host, "localhost" or one holding a '.' or a ":PORT"); TAG is 1 to
/// 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'.
std::string image_tag_error(std::string_view tag);

/// `tag` with ":latest" appended when it names no tag.
std::string full_image_tag(std::string_view tag);

/// "80" -> "80/tcp", "53/udp" -> "53/udp"; nullopt when `port` is not
/// PORT or PORT/PROTO with PORT from 1 to 65535 and PROTO tcp, udp or sctp.
std::optional<std::string> normalize_port(std::string_view port);

/// The OCI architecture name of a uname machine ("x86_64" -> "amd64",
/// "aarch64" -> "arm64", "i686" -> "386"); unknown machines unchanged.
std::string oci_architecture(std::string_view machine);

}  // namespace tracepack

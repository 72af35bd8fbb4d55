// The output formats tracepack writes: the one list of their names, the
// file name extensions that choose them, and which of them are single files.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace tracepack {

/// What an output of a format is on disk.
enum class OutputKind {
  directory,        ///< "dir": a directory tree
  archive,          ///< one archive file: "tar", "tar.gz", "zip", "cpio"...
  image_directory,  ///< "oci": an OCI image layout directory
  image_archive,    ///< "oci-archive", "docker-archive": an image layout as a tar
};

/// One output format.
struct OutputFormat {
  std::string_view name;  ///< as given to --format and output.format
  OutputKind kind;
  std::array<std::string_view, 2> extensions;  ///< lower-case suffixes that choose it ("" unused)
};

/// Every output format, in the order messages and help list them.
inline constexpr OutputFormat kOutputFormats[] = {
    {"dir", OutputKind::directory, {}},
    {"tar", OutputKind::archive, {".tar"}},
    {"tar.gz", OutputKind::archive, {".tar.gz", ".tgz"}},
    {"tar.zst", OutputKind::archive, {".tar.zst", ".tzst"}},
    {"tar.xz", OutputKind::archive, {".tar.xz", ".txz"}},
    {"zip", OutputKind::archive, {".zip"}},
    {"cpio", OutputKind::archive, {".cpio"}},
    {"oci", OutputKind::image_directory, {}},
    {"oci-archive", OutputKind::image_archive, {}},
    {"docker-archive", OutputKind::image_archive, {}},
};

/// The names of kOutputFormats, in its order (the formats `output.format` accepts).
inline constexpr auto kBundleFormats = [] {
  std::array<std::string_view, std::size(kOutputFormats)> names{};
  for (std::size_t i = 0; i < names.size(); ++i) names[i] = kOutputFormats[i].name;
  return names;
}();

/// The format named `name` (exactly, case matters); nullptr for none.
const OutputFormat* find_output_format(std::string_view name);

/// The format named `name`. Throws Error("<name>: unknown bundle format (use
/// dir, tar, ..., docker-archive)").
const OutputFormat& parse_output_format(const std::string& name);

/// The format names joined by ", ", the last two by `last_separator`
/// (", " gives "dir, tar, ..., docker-archive"; " or " "..., oci-archive or docker-archive").
std::string output_format_list(std::string_view last_separator = ", ");

/// True for the image formats: "oci", "oci-archive", "docker-archive".
bool is_image_format(std::string_view format);

/// True for the formats written as a directory: "dir" and "oci".
bool is_directory_format(std::string_view format);

/// The format named by an output path's extension ("x.tar.zst" -> "tar.zst",
/// a path ending in '/' or without a known extension -> "dir"). Throws Error
/// for an unknown extension that looks like an archive.
std::string format_from_path(const std::string& path);

}  // namespace tracepack

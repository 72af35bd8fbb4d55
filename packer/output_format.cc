// The output format list and the choice of a format by extension. An
// extension is matched case-insensitively against every format's suffixes;
// no suffix of the list ends another, so their order does not matter. A name
// with an extension of some other archive or compressor (".rar", ".tar.bz2")
// is refused rather than taken for a directory called "x.rar".
#include "tracepack/output_format.h"

#include "tracepack/error.h"

namespace tracepack {
namespace {

// Extensions of archives and compressors tracepack does not write: naming one
// is a mistake, not a directory called "x.rar".
constexpr std::string_view kForeignArchives[] = {
    ".rar", ".7z",  ".gz",       ".bz2",  ".tbz", ".tbz2", ".tb2",  ".lz",  ".lzma", ".tlz", ".lz4",
    ".lzo", ".zst", ".zstd",     ".xz",   ".z",   ".jar",  ".war",  ".apk", ".iso",  ".cab", ".ar",
    ".deb", ".rpm", ".squashfs", ".sqfs", ".wim", ".cpgz", ".shar", ".arj", ".lha",  ".lzh", ".zoo",
};

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string_view base_name(std::string_view path) {
  std::size_t slash = path.rfind('/');
  return slash == path.npos ? path : path.substr(slash + 1);
}

/// The archive-looking extension of a file name ("x.tar.bz2" -> ".tar.bz2",
/// "x.rar" -> ".rar"), or "" when it has none.
std::string_view foreign_extension(std::string_view name) {
  std::string low = lower(name);
  std::size_t tar = low.rfind(".tar.");
  if (tar != low.npos && tar > 0 && low.find('.', tar + 5) == low.npos) return name.substr(tar);
  std::size_t dot = low.rfind('.');
  if (dot == low.npos || dot == 0) return {};
  for (std::string_view ext : kForeignArchives)
    if (low.compare(dot, low.npos, ext) == 0) return name.substr(dot);
  return {};
}

}  // namespace

const OutputFormat* find_output_format(std::string_view name) {
  for (const OutputFormat& f : kOutputFormats)
    if (f.name == name) return &f;
  return nullptr;
}

const OutputFormat& parse_output_format(const std::string& name) {
  if (const OutputFormat* f = find_output_format(name)) return *f;
  throw Error(name + ": unknown bundle format (use " + output_format_list() + ")");
}

std::string output_format_list(std::string_view last_separator) {
  std::string out;
  for (std::size_t i = 0; i < std::size(kOutputFormats); ++i) {
    if (i > 0) out += i + 1 == std::size(kOutputFormats) ? last_separator : ", ";
    out += kOutputFormats[i].name;
  }
  return out;
}

bool is_image_format(std::string_view format) {
  const OutputFormat* f = find_output_format(format);
  return f && (f->kind == OutputKind::image_directory || f->kind == OutputKind::image_archive);
}

bool is_directory_format(std::string_view format) {
  const OutputFormat* f = find_output_format(format);
  return f && (f->kind == OutputKind::directory || f->kind == OutputKind::image_directory);
}

std::string format_from_path(const std::string& path) {
  if (path.empty() || path.back() == '/') return "dir";
  std::string_view name = base_name(path);
  std::string low = lower(name);
  for (const OutputFormat& f : kOutputFormats)
    for (std::string_view suffix : f.extensions)
      if (!suffix.empty() && low.size() > suffix.size() && low.ends_with(suffix)) return std::string(f.name);
  std::string_view foreign = foreign_extension(name);
  if (!foreign.empty())
    throw Error(path + ": unknown archive extension '" + std::string(foreign) + "' (use --format: " + output_format_list() + ")");
  return "dir";
}

}  // namespace tracepack

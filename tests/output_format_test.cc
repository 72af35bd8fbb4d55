// The output format list: every name and extension round-trips through
// find_output_format and format_from_path, and an unknown name is refused with
// the list of the known ones.
#include "tracepack/output_format.h"

#include <gtest/gtest.h>

#include <string>

#include "tracepack/error.h"

namespace tracepack {
namespace {

std::string upper(std::string text) {
  for (char& c : text)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return text;
}

TEST(OutputFormat, EveryNameRoundTrips) {
  ASSERT_EQ(std::size(kBundleFormats), std::size(kOutputFormats));
  for (std::size_t i = 0; i < std::size(kOutputFormats); ++i) {
    const OutputFormat& f = kOutputFormats[i];
    EXPECT_EQ(kBundleFormats[i], f.name);
    EXPECT_EQ(find_output_format(f.name), &f) << f.name;
    EXPECT_EQ(&parse_output_format(std::string(f.name)), &f) << f.name;
  }
}

TEST(OutputFormat, EveryExtensionRoundTrips) {
  int extensions = 0;
  for (const OutputFormat& f : kOutputFormats) {
    for (std::string_view ext : f.extensions) {
      if (ext.empty()) continue;
      ++extensions;
      EXPECT_EQ(format_from_path("out" + std::string(ext)), f.name) << ext;
      EXPECT_EQ(format_from_path("dist/OUT" + upper(std::string(ext))), f.name) << ext;
      EXPECT_EQ(format_from_path("out" + std::string(ext) + "/"), "dir") << ext;
    }
    bool archive = f.kind == OutputKind::archive;
    EXPECT_EQ(!f.extensions[0].empty(), archive) << f.name;  // only the plain archives are chosen by extension
  }
  EXPECT_EQ(extensions, 9);
}

TEST(OutputFormat, Kinds) {
  std::string images, directories;
  for (const OutputFormat& f : kOutputFormats) {
    if (is_image_format(f.name)) images += std::string(f.name) + " ";
    if (is_directory_format(f.name)) directories += std::string(f.name) + " ";
  }
  EXPECT_EQ(images, "oci oci-archive docker-archive ");
  EXPECT_EQ(directories, "dir oci ");
  EXPECT_FALSE(is_image_format("OCI"));
  EXPECT_FALSE(is_directory_format(""));
}

TEST(OutputFormat, Lists) {
  EXPECT_EQ(output_format_list(), "dir, tar, tar.gz, tar.zst, tar.xz, zip, cpio, oci, oci-archive, docker-archive");
  EXPECT_EQ(output_format_list(" or "), "dir, tar, tar.gz, tar.zst, tar.xz, zip, cpio, oci, oci-archive or docker-archive");
}

TEST(OutputFormat, UnknownName) {
  EXPECT_EQ(find_output_format("TAR"), nullptr);
  for (const char* name : {"rar", "TAR", "oci-tar", ""}) {
    try {
      parse_output_format(name);
      FAIL() << "no error for " << name;
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()), std::string(name) +
                                           ": unknown bundle format (use dir, tar, tar.gz, tar.zst, tar.xz, zip, cpio, "
                                           "oci, oci-archive, docker-archive)");
    }
  }
}

}  // namespace
}  // namespace tracepack

// extract_bundle: a bundle archive into a directory, safely.
//
// Every entry is checked before libarchive writes it: its name and any
// hard-link target must be relative paths without "..", and only regular
// files, directories, symlinks and hard links are accepted. The names are
// then prefixed with the (symlink-free) destination, and libarchive's
// ARCHIVE_EXTRACT_SECURE_SYMLINKS refuses to write through a symlink an
// earlier entry made, which is the remaining way out of the destination
// ("link -> /etc", then "link/passwd"). Symlinks themselves may point
// anywhere: inside the sandbox, "/" is the bundle's root.
#include "tracepack/bundle_extract.h"

#include <archive.h>
#include <archive_entry.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <memory>
#include <string_view>

#include "tracepack/error.h"
#include "tracepack/trace.h"

namespace tracepack {
namespace {

struct ReadFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct WriteFree {
  void operator()(archive* a) const { archive_write_free(a); }
};
using Reader = std::unique_ptr<archive, ReadFree>;
using Writer = std::unique_ptr<archive, WriteFree>;

/// libarchive's message, lower-cased, with `dest` left out of the paths it names.
std::string error_of(archive* a, const std::string& dest = "") {
  const char* text = archive_error_string(a);
  std::string message = text != nullptr ? text : "unknown error";
  if (!dest.empty())
    for (std::size_t at; (at = message.find(dest + "/")) != std::string::npos;) message.erase(at, dest.size() + 1);
  if (!message.empty() && message[0] >= 'A' && message[0] <= 'Z') message[0] = static_cast<char>(message[0] - 'A' + 'a');
  return message;
}

/// `name` without leading "./" and trailing '/'; "" for the root itself.
std::string_view trimmed(std::string_view name) {
  while (name.starts_with("./")) name.remove_prefix(2);
  if (name == ".") return {};
  while (!name.empty() && name.back() == '/') name.remove_suffix(1);
  return name;
}

/// Why `name` cannot be extracted under the destination, or "".
std::string unsafe(std::string_view name) {
  if (name.starts_with('/')) return "absolute path";
  std::size_t at = 0;
  while (at <= name.size()) {
    std::size_t slash = name.find('/', at);
    if (slash == std::string_view::npos) slash = name.size();
    if (name.substr(at, slash - at) == "..") return "path leads outside the bundle (\"..\")";
    at = slash + 1;
  }
  return "";
}

std::string real_directory(const std::string& dir) {
  char resolved[PATH_MAX];
  if (realpath(dir.c_str(), resolved) == nullptr) throw_system_error(dir + ": cannot extract into");
  return resolved;
}

Reader open_archive(const std::string& path) {
  Reader reader(archive_read_new());
  if (!reader) throw Error("libarchive: out of memory");
  archive_read_support_filter_all(reader.get());
  archive_read_support_format_tar(reader.get());
  archive_read_support_format_zip(reader.get());
  archive_read_support_format_cpio(reader.get());
  if (archive_read_open_filename(reader.get(), path.c_str(), 1 << 16) != ARCHIVE_OK)
    throw Error(path + ": cannot read as a bundle archive: " + error_of(reader.get()));
  return reader;
}

Writer open_disk() {
  Writer writer(archive_write_disk_new());
  if (!writer) throw Error("libarchive: out of memory");
  int flags = ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
              ARCHIVE_EXTRACT_SECURE_NODOTDOT;
  if (geteuid() == 0) flags |= ARCHIVE_EXTRACT_OWNER;
  archive_write_disk_set_options(writer.get(), flags);
  return writer;
}

/// Checks one entry and points it under `dest`; false for the root entry (skipped).
bool place(archive_entry* entry, const std::string& dest, const std::string& archive_path) {
  const char* raw = archive_entry_pathname(entry);
  std::string_view name = trimmed(raw != nullptr ? raw : "");
  auto refuse = [&](const std::string& why) {
    throw Error(archive_path + ": entry '" + encode_path(raw != nullptr ? raw : "") + "' refused: " + why);
  };
  if (name.empty()) return false;
  if (std::string why = unsafe(name); !why.empty()) refuse(why);
  if (const char* link = archive_entry_hardlink(entry)) {
    // A hard link's own type may be unset (tar) or the target's (cpio).
    std::string_view target = trimmed(link);
    if (target.empty()) refuse("hard link without a target");
    if (std::string why = unsafe(target); !why.empty()) refuse("hard link target: " + why);
    archive_entry_copy_hardlink(entry, (dest + "/" + std::string(target)).c_str());
  } else if (mode_t type = archive_entry_filetype(entry); type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK) {
    refuse("not a regular file, directory or symlink");
  }
  archive_entry_copy_pathname(entry, (dest + "/" + std::string(name)).c_str());
  return true;
}

void copy_data(archive* reader, archive* writer, const std::string& archive_path) {
  const void* block;
  std::size_t size;
  la_int64_t offset;
  for (;;) {
    int status = archive_read_data_block(reader, &block, &size, &offset);
    if (status == ARCHIVE_EOF) return;
    if (status != ARCHIVE_OK) throw Error(archive_path + ": cannot read: " + error_of(reader));
    if (archive_write_data_block(writer, block, size, offset) != ARCHIVE_OK)
      throw Error(archive_path + ": cannot extract: " + error_of(writer));
  }
}

}  // namespace

void extract_bundle(const std::string& archive_path, const std::string& dest_dir) {
  const std::string dest = real_directory(dest_dir);
  Reader reader = open_archive(archive_path);
  Writer writer = open_disk();
  archive_entry* entry = nullptr;
  for (;;) {
    int status = archive_read_next_header(reader.get(), &entry);
    if (status == ARCHIVE_EOF) break;
    if (status != ARCHIVE_OK && status != ARCHIVE_WARN)
      throw Error(archive_path + ": cannot read: " + error_of(reader.get()));
    if (!place(entry, dest, archive_path)) continue;
    if (archive_write_header(writer.get(), entry) != ARCHIVE_OK)
      throw Error(archive_path + ": entry '" + encode_path(archive_entry_pathname(entry) + dest.size() + 1) +
                  "' refused: " + error_of(writer.get(), dest));
    if (archive_entry_size(entry) > 0) copy_data(reader.get(), writer.get(), archive_path);
    if (archive_write_finish_entry(writer.get()) != ARCHIVE_OK)
      throw Error(archive_path + ": cannot extract: " + error_of(writer.get()));
  }
  if (archive_write_close(writer.get()) != ARCHIVE_OK)
    throw Error(archive_path + ": cannot extract: " + error_of(writer.get()));
}

}  // namespace tracepack

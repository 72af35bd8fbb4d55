// The one libarchive writer of tracepack (archive_reader.cc is its one
// reader): the archive formats of write_bundle (ArchiveSink), and the two
// files the image writer makes of other files (archive_files.h): the
// compressed layer (compress_file: libarchive's "raw" format behind a gzip or
// zstd filter) and the outer tar of the image archives (write_plain_tar).
// Every archive goes through one ArchiveStream, which owns the handle and the
// output descriptor, turns libarchive's statuses into Errors, and, after an
// error, closes the archive without letting it write. An ArchiveSink writes
// into an AtomicFile beside the target and commit() puts it in place
// (put_in_place, staged_output.h).
//
// Format notes. tar is pax "restricted": plain ustar headers unless a name,
// link or number does not fit or is not ASCII, then a pax header; names that
// are not UTF-8 go in raw under hdrcharset=BINARY (GNU tar warns that it does
// not know the keyword and keeps the bytes; bsdtar knows it).
// cpio is SVR4 "newc" (an initramfs can use it); its hard links share an
// inode number, the data rides on the first name (GNU cpio, bsdtar and the
// kernel accept that), and "TRAILER!!!" cannot be a name. zip has no hard
// links: each is stored as a copy (counted in WriteResult::hardlinks, its
// bytes not in WriteResult::bytes); names are raw bytes and carry the UTF-8
// flag only when they are valid UTF-8 (chosen per entry through the thread's
// locale, which libarchive consults); its DOS timestamps are local time by
// definition, so reproducing a zip byte for byte needs the same TZ.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <locale.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "archive_files.h"
#include "bundle_sink.h"
#include "sha256.h"
#include "staged_output.h"
#include "tracepack/atomic_file.h"
#include "tracepack/error.h"
#include "tracepack/posix.h"

namespace tracepack {
namespace {

enum class Format { tar, tar_gz, tar_zst, tar_xz, zip, cpio };

struct FormatName {
  std::string_view name;
  Format format;
};

constexpr FormatName kFormats[] = {
    {"tar", Format::tar},       {"tar.gz", Format::tar_gz}, {"tar.zst", Format::tar_zst},
    {"tar.xz", Format::tar_xz}, {"zip", Format::zip},       {"cpio", Format::cpio},
};

Format archive_format(std::string_view name) {
  for (const FormatName& f : kFormats)
    if (f.name == name) return f.format;
  throw Error(std::string(name) + ": not an archive format");
}

std::string_view format_name(Format format) {
  for (const FormatName& f : kFormats)
    if (f.format == format) return f.name;
  return "tar";
}

bool is_tar(Format f) { return f == Format::tar || f == Format::tar_gz || f == Format::tar_zst || f == Format::tar_xz; }

// ---------------------------------------------------------------------------
// Small RAII owners

/// Closes `fd`, reporting a deferred write error (NFS, quotas) against `what`.
void close_checked(UniqueFd& fd, const std::string& what) {
  // On Linux the descriptor is released even when close fails with EINTR.
  if (::close(fd.release()) != 0 && errno != EINTR) throw_system_error(what);
}

/// Makes the calling thread use a locale until destroyed; libarchive's zip
/// writer reads the codeset to decide an entry's UTF-8 flag.
class ThreadLocale {
 public:
  explicit ThreadLocale(locale_t locale) : previous_(locale ? uselocale(locale) : nullptr) {}
  ~ThreadLocale() {
    if (previous_) uselocale(previous_);
  }
  ThreadLocale(const ThreadLocale&) = delete;
  ThreadLocale& operator=(const ThreadLocale&) = delete;

 private:
  locale_t previous_;
};

/// A path for messages: the JSON form (raw bytes that are not UTF-8 escaped).
std::string shown(std::string_view path) { return encode_path(path); }

struct LocaleFree {
  void operator()(locale_t locale) const { freelocale(locale); }
};
using UniqueLocale = std::unique_ptr<std::remove_pointer_t<locale_t>, LocaleFree>;

UniqueLocale make_locale(const char* name) { return UniqueLocale(newlocale(LC_ALL_MASK, name, nullptr)); }
// ---------------------------------------------------------------------------
// libarchive's writer

struct ArchiveFree {
  void operator()(archive* a) const { archive_write_free(a); }
};
using UniqueEntry = std::unique_ptr<archive_entry, decltype(&archive_entry_free)>;

UniqueEntry make_entry() { return UniqueEntry(archive_entry_new(), &archive_entry_free); }

/// libarchive's last message for `a`, its first letter lowered unless it
/// starts an acronym ("Can't write" -> "can't write", "ZSTD ..." kept).
std::string lowered_error(archive* a) {
  const char* text = archive_error_string(a);
  std::string out = text ? text : "unknown libarchive error";
  if (!out.empty() && out[0] >= 'A' && out[0] <= 'Z' && (out.size() < 2 || !(out[1] >= 'A' && out[1] <= 'Z')))
    out[0] = static_cast<char>(out[0] - 'A' + 'a');
  return out;
}

/// A libarchive write handle streaming into a file it owns, counting (and on
/// request hashing) the bytes written: the one client callback of this file.
/// The owner sets the format and filters through get(), then open()s it;
/// finish() completes the file, and destroying it unfinished drops whatever
/// libarchive still emits.
class ArchiveStream {
 public:
  /// How an unfinished archive is given up. After an error, close (what it
  /// emits is dropped) releases the compressors and the output buffer, which
  /// free alone would leak in libarchive 3.6. fail_then_close: tar, cpio and
  /// raw, where archive_write_fail first keeps close from padding the
  /// unfinished entry to its size. close_only: zip, which does not pad, and
  /// needs its entry finished to release that entry's deflate stream.
  enum class Abort { fail_then_close, close_only };

  /// Takes `fd`, open for writing; `shown` names the output in messages.
  /// With `hash`, sha256_hex() digests the bytes written. Throws
  /// Error("libarchive: out of memory").
  ArchiveStream(UniqueFd fd, std::string shown, bool hash, Abort abort)
      : fd_(std::move(fd)), shown_(std::move(shown)), abort_(abort), archive_(archive_write_new()) {
    if (!archive_) throw Error("libarchive: out of memory");
    if (hash) sha_.emplace().reset();
  }
  ~ArchiveStream() {
    if (finished_) return;
    discarding_ = true;
    if (abort_ == Abort::fail_then_close) archive_write_fail(archive_.get());
    archive_write_close(archive_.get());
  }
  ArchiveStream(const ArchiveStream&) = delete;
  ArchiveStream& operator=(const ArchiveStream&) = delete;

  archive* get() const { return archive_.get(); }

  /// Starts the output once the format and filters are set.
  void open() {
    if (archive_write_open2(archive_.get(), this, nullptr, &ArchiveStream::callback, nullptr, nullptr) != ARCHIVE_OK) fail(shown_);
  }

  /// Adds the bytes of the current entry.
  void write(const char* data, std::size_t size) {
    la_ssize_t n = archive_write_data(archive_.get(), data, size);
    if (n < 0 || static_cast<std::size_t>(n) != size) fail(shown_);
  }

  void finish_entry() {
    if (archive_write_finish_entry(archive_.get()) != ARCHIVE_OK) fail(shown_);
  }

  /// Ends the archive and flushes the file to disk (fsync, a checked close).
  void finish() {
    finished_ = true;
    if (archive_write_close(archive_.get()) != ARCHIVE_OK) fail(shown_);
    if (fsync(fd_.get()) != 0) throw_system_error(shown_ + ": cannot write");
    close_checked(fd_, shown_ + ": cannot write");
  }

  std::uint64_t written() const { return written_; }
  /// The SHA-256 of the bytes written, once finished; only with `hash`.
  std::string sha256_hex() { return sha_->hex(); }

  /// Throws "<shown>: cannot write: <strerror>" after a failed write, else
  /// "<subject>: <libarchive's message>" (the subject defaults to <shown>).
  [[noreturn]] void fail(const std::string& subject) const {
    if (write_errno_ != 0) throw Error(system_error_message(shown_ + ": cannot write", write_errno_));
    throw Error(subject + ": " + lowered_error(archive_.get()));
  }
  [[noreturn]] void fail() const { fail(shown_); }

 private:
  static la_ssize_t callback(archive*, void* client, const void* buffer, std::size_t size) {
    return static_cast<ArchiveStream*>(client)->write_out(static_cast<const char*>(buffer), size);
  }

  la_ssize_t write_out(const char* data, std::size_t size) {
    if (discarding_) return static_cast<la_ssize_t>(size);
    for (std::size_t done = 0; done < size;) {
      ssize_t n = ::write(fd_.get(), data + done, size - done);
      if (n > 0) {
        done += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      write_errno_ = n < 0 ? errno : EIO;
      archive_set_error(archive_.get(), write_errno_, "write error");
      return -1;
    }
    if (sha_) sha_->update(data, size);
    written_ += size;
    return static_cast<la_ssize_t>(size);
  }

  UniqueFd fd_;
  std::string shown_;
  Abort abort_;
  std::unique_ptr<archive, ArchiveFree> archive_;  ///< destroyed before the descriptor it writes
  std::optional<Sha256> sha_;
  std::uint64_t written_ = 0;
  int write_errno_ = 0;
  bool finished_ = false;
  bool discarding_ = false;
};

/// Workers for zstd and xz. Their multi-threaded output does not depend on
/// the number of workers (xz cuts blocks of a size set by the level, not by
/// the thread count), so any number keeps reproducibility. At least two:
/// with one, libarchive switches xz to its single-threaded encoder, whose
/// output differs.
unsigned compressor_threads(unsigned requested) { return std::max(2u, requested != 0 ? requested : std::thread::hardware_concurrency()); }

/// Adds libarchive's `name` filter ("gzip", "xz" or "zstd") to `a`: a gzip
/// header without a timestamp when `reproducible`, zstd and xz on
/// compressor_threads(`threads`). Older libarchive lacks the threads option
/// (ARCHIVE_WARN): then it runs single-threaded.
void add_filter(archive* a, std::string_view name, bool reproducible, unsigned threads) {
  if (name == "gzip") {
    archive_write_add_filter_gzip(a);
    // A value of nullptr turns the option off: header mtime 0, not "now".
    if (reproducible) archive_write_set_filter_option(a, "gzip", "timestamp", nullptr);
    return;
  }
  if (name == "xz")
    archive_write_add_filter_xz(a);
  else
    archive_write_add_filter_zstd(a);
  std::string workers = std::to_string(compressor_threads(threads));
  archive_write_set_filter_option(a, std::string(name).c_str(), "threads", workers.c_str());
}

/// An archive written through libarchive into a temporary file beside the target.
class ArchiveSink final : public Sink {
 public:
  ArchiveSink(Format format, const WriteOptions& options) : format_(format), out_(open_output_path(options.path)) {
    check_replaceable(out_.parent.get(), out_.name, format_name(format), out_.shown);
    check_level(options.compression_level);
    auto abort = format == Format::zip ? ArchiveStream::Abort::close_only : ArchiveStream::Abort::fail_then_close;
    temp_.emplace(out_.parent.get(), out_.temp_prefix(), AtomicFile::Kind::file, out_.shown + ": cannot create a temporary file beside it");
    stream_.emplace(temp_->take_fd(), out_.shown, /*hash=*/false, abort);
    if (!entry_ || !c_locale_) throw Error("libarchive: out of memory");
    setup_format(options);
    setup_filter(options);
    // Large writes for throughput; plain tar keeps the customary 10240-byte
    // padding at the end, everything else ends exactly where its data does.
    archive_write_set_bytes_per_block(stream_->get(), static_cast<int>(kChunkSize));
    archive_write_set_bytes_in_last_block(stream_->get(), format == Format::tar ? 10240 : 1);
    stream_->open();
  }

  bool has_hardlinks() const override { return format_ != Format::zip; }

  void add(const Item& item) override {
    fill_entry(item);
    ThreadLocale locale(header_locale(item));
    int status = archive_write_header(stream_->get(), entry_.get());
    // pax could not express a name in UTF-8 and stored it raw under
    // hdrcharset=BINARY, the bytes kept: expected for such names.
    if (status == ARCHIVE_WARN && is_tar(format_) && !all_utf8(item)) status = ARCHIVE_OK;
    if (status != ARCHIVE_OK) stream_->fail(shown("/" + item.name));
  }

  void write(const char* data, std::size_t size) override { stream_->write(data, size); }

  void finish_file() override { stream_->finish_entry(); }

  std::uint64_t commit() override {
    stream_->finish();
    put_in_place(out_.parent.get(), temp_->name(), out_.name, out_.shown);
    temp_->release();
    return stream_->written();
  }

 private:
  void setup_format(const WriteOptions& options) {
    archive* a = stream_->get();
    if (is_tar(format_)) {
      archive_write_set_format_pax_restricted(a);
      // Headers are written under C.UTF-8 (see header_locale): UTF-8 names go
      // in unchanged, others raw with hdrcharset=BINARY. Without that locale,
      // every name is stored raw that way.
      if (!utf8_locale_ && archive_write_set_format_option(a, "pax", "hdrcharset", "BINARY") != ARCHIVE_OK) stream_->fail("pax");
    } else if (format_ == Format::zip) {
      archive_write_set_format_zip(a);
      if (options.compression_level >= 0) set_level("zip", /*format_option=*/true, options.compression_level);
    } else {
      archive_write_set_format_cpio_newc(a);
    }
  }

  void setup_filter(const WriteOptions& options) {
    const char* name = format_ == Format::tar_gz ? "gzip" : format_ == Format::tar_xz ? "xz" : "zstd";
    if (format_ != Format::tar_gz && format_ != Format::tar_xz && format_ != Format::tar_zst) return;
    add_filter(stream_->get(), name, options.reproducible, options.compression_threads);
    if (options.compression_level >= 0) set_level(name, /*format_option=*/false, options.compression_level);
  }

  /// Levels libarchive 3.6 accepts, checked before anything is created.
  void check_level(int level) const {
    if (level < 0 || format_ == Format::tar || format_ == Format::cpio) return;  // nothing to compress
    const char* name = format_ == Format::tar_gz ? "gzip" : format_ == Format::tar_xz ? "xz" : format_ == Format::zip ? "zip" : "zstd";
    int max = format_ == Format::tar_zst ? 22 : 9;
    if (level > max)
      throw Error("compression level " + std::to_string(level) + ": out of range for " + name + " (0-" + std::to_string(max) + ")");
  }

  void set_level(const char* module, bool format_option, int level) {
    archive* a = stream_->get();
    std::string value = std::to_string(level);
    int status = format_option ? archive_write_set_format_option(a, module, "compression-level", value.c_str())
                               : archive_write_set_filter_option(a, module, "compression-level", value.c_str());
    if (status != ARCHIVE_OK) throw Error("compression level " + value + ": not accepted by " + module + " (" + lowered_error(a) + ")");
  }

  void fill_entry(const Item& item) {
    archive_entry* e = archive_entry_clear(entry_.get());
    archive_entry_copy_pathname(e, item.name.c_str());  // raw bytes, no conversion
    archive_entry_set_perm(e, item.mode);
    archive_entry_set_uid(e, item.uid);
    archive_entry_set_gid(e, item.gid);
    archive_entry_set_mtime(e, item.mtime, 0);
    archive_entry_set_ino(e, item.ino);
    archive_entry_set_nlink(e, item.nlink);
    archive_entry_set_size(e, 0);  // cpio wants a size on every entry
    if (item.type == EntryType::directory) archive_entry_set_filetype(e, AE_IFDIR);
    if (item.type == EntryType::symlink) {
      archive_entry_set_filetype(e, AE_IFLNK);
      archive_entry_copy_symlink(e, item.link_target.c_str());
    }
    if (item.type != EntryType::regular) return;
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_size(e, item.hardlink_name.empty() ? static_cast<la_int64_t>(item.size) : 0);
    // cpio links by a shared inode number (set above); tar by name.
    if (!item.hardlink_name.empty() && format_ != Format::cpio) archive_entry_copy_hardlink(e, item.hardlink_name.c_str());
  }

  /// The locale libarchive sees while writing a header. pax converts names
  /// from the locale's codeset to UTF-8: under C.UTF-8 that is the identity
  /// for UTF-8 and a failure (so a raw BINARY header) for anything else,
  /// whatever locale the program runs in. zip sets an entry's UTF-8 flag when
  /// the codeset is UTF-8: only names that are UTF-8 should get it.
  locale_t header_locale(const Item& item) const {
    if (is_tar(format_)) return utf8_locale_.get();
    if (format_ != Format::zip) return nullptr;
    const std::string& name = item.name;
    bool ascii = std::all_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
    return !ascii && is_valid_utf8(name) && utf8_locale_ ? utf8_locale_.get() : c_locale_.get();
  }

  static bool all_utf8(const Item& item) {
    return is_valid_utf8(item.name) && is_valid_utf8(item.link_target) && is_valid_utf8(item.hardlink_name);
  }

  static bool is_valid_utf8(std::string_view text) {
    // encode_path leaves valid UTF-8 alone apart from '%'.
    std::string encoded = encode_path(text);
    return encoded.size() == text.size() + 2 * static_cast<std::size_t>(std::count(text.begin(), text.end(), '%'));
  }

  Format format_;
  OutputPath out_;
  std::optional<AtomicFile> temp_;  ///< destroyed after the stream, which holds the descriptor
  std::optional<ArchiveStream> stream_;
  UniqueEntry entry_ = make_entry();
  UniqueLocale utf8_locale_ = make_locale("C.UTF-8");  ///< missing: pax stores every name raw
  UniqueLocale c_locale_ = make_locale("C");
};

// ---------------------------------------------------------------------------
// The image writer's files: its outer tar and its compressed layer

std::uint64_t file_size(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) throw_system_error(path + ": cannot stat");
  return static_cast<std::uint64_t>(st.st_size);
}

/// Copies the bytes of the file at `path` into the current entry of `out`.
void copy_file(ArchiveStream& out, const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw_system_error(path + ": cannot open");
  std::vector<char> buffer(kChunkSize);
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_system_error(path + ": cannot read");
    if (n == 0) return;
    out.write(buffer.data(), static_cast<std::size_t>(n));
  }
}

/// Writes `member` into `out` through `entry`: a 0755 directory, or a 0644
/// regular file holding the bytes of member.source; owner 0:0, no user or
/// group names.
void add_member(ArchiveStream& out, archive_entry* entry, const TarMember& member) {
  archive_entry* e = archive_entry_clear(entry);
  archive_entry_copy_pathname(e, member.name.c_str());
  archive_entry_set_filetype(e, member.directory ? AE_IFDIR : AE_IFREG);
  archive_entry_set_perm(e, member.directory ? 0755 : 0644);
  archive_entry_set_mtime(e, member.mtime, 0);
  archive_entry_set_size(e, member.directory ? 0 : static_cast<la_int64_t>(file_size(member.source)));
  if (archive_write_header(out.get(), e) != ARCHIVE_OK) out.fail();
  if (!member.directory) copy_file(out, member.source);
}

/// A hashing stream into the new file at `path`, with an entry to fill.
struct NewFile {
  NewFile(UniqueFd fd, const std::string& shown) : out(std::move(fd), shown, /*hash=*/true, ArchiveStream::Abort::fail_then_close) {
    if (!entry) throw Error("libarchive: out of memory");
  }

  /// Ends the archive, flushes it to disk; its size and digest.
  WrittenFile finish() {
    out.finish();
    return {out.written(), out.sha256_hex()};
  }

  ArchiveStream out;
  UniqueEntry entry = make_entry();
};

}  // namespace

std::unique_ptr<Sink> open_archive_sink(std::string_view format, const WriteOptions& options) {
  return std::make_unique<ArchiveSink>(archive_format(format), options);
}

WrittenFile write_plain_tar(UniqueFd out, const std::vector<TarMember>& members, const std::string& shown) {
  NewFile file(std::move(out), shown);
  archive_write_set_format_pax_restricted(file.out.get());
  archive_write_set_bytes_in_last_block(file.out.get(), 1);
  file.out.open();
  for (const TarMember& member : members) add_member(file.out, file.entry.get(), member);
  return file.finish();
}

WrittenFile compress_file(const std::string& source, UniqueFd out, const Compression& how, const std::string& shown) {
  NewFile file(std::move(out), shown);
  archive* a = file.out.get();
  archive_write_set_format_raw(a);
  const char* filter = how.compressor == Compressor::gzip ? "gzip" : "zstd";
  add_filter(a, filter, how.reproducible, how.threads);
  std::string level = std::to_string(how.level);
  if (how.level >= 0 && archive_write_set_filter_option(a, filter, "compression-level", level.c_str()) != ARCHIVE_OK) file.out.fail();
  archive_write_set_bytes_in_last_block(a, 1);
  file.out.open();
  add_member(file.out, file.entry.get(), {"layer", /*directory=*/false, source, 0});
  return file.finish();
}

}  // namespace tracepack
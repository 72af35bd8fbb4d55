// The bundle spec (tracepack.yaml): test cases to trace and manual overrides.
// Documented for users in docs/spec-format.md.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tracepack/image_config.h"
#include "tracepack/knowledge.h"
#include "tracepack/output_format.h"
#include "tracepack/trace.h"

namespace tracepack {

/// Where a value came from in the spec file, for messages ("file:line:col").
struct SourceLocation {
  std::string file;
  int line = 0;    ///< 1-based; 0 when unknown
  int column = 0;  ///< 1-based
};

/// One representative test case.
struct TestCase {
  std::string name;
  std::vector<std::string> argv;  ///< `run:` as a list (empty when `shell` is used, or neither with from:)
  std::string shell;              ///< `shell:` string, run with /bin/sh -c
  std::string cwd;                ///< relative to the spec's directory (with from:, the image's working directory); empty = that directory
  std::map<std::string, std::string> env;  ///< added to (or overriding) the caller's environment
  double timeout = 0;                      ///< seconds, 0 = none
  int exit = 0;                            ///< expected exit code
  std::optional<std::string> stdout_text;  ///< expected standard output, exactly
  SourceLocation where;
};

/// An `include:` entry.
struct IncludeRule {
  enum class Kind { glob, elf };
  Kind kind = Kind::glob;
  std::string pattern;  ///< a glob (`*`, `**`, `?`, `[...]`) or, for elf, a file path
  SourceLocation where;
};

/// An `exclude:` entry.
struct ExcludeRule {
  std::string pattern;
  SourceLocation where;
};

/// `output:`.
struct OutputSpec {
  std::string path;            ///< relative to the spec's directory
  std::string format;          ///< one of kBundleFormats (output_format.h); empty = from the path's extension
  int compression_level = -1;  ///< -1 = the compressor's default
  bool reproducible = true;
  SourceLocation where;
};

/// One `secrets: allow:` entry: a file the secrets check lets into the bundle.
struct AllowedSecret {
  PathBytes path;  ///< absolute, compared with the bundle's paths exactly (no glob)
  SourceLocation where;
};

/// `secrets:`.
struct SecretsSpec {
  std::vector<AllowedSecret> allow;  ///< files packed even though they look like secrets
};

/// One `host_specific: allow:` entry: a host-specific file packed on purpose.
struct AllowedHostFile {
  PathBytes path;  ///< absolute, compared with the bundle's paths exactly (no glob)
  SourceLocation where;
};

/// `host_specific:`.
struct HostSpecificSpec {
  std::vector<AllowedHostFile> allow;  ///< files packed without a host-specific warning
};

/// `review:`: what the reviewer has decided about the candidates (candidates.h).
struct ReviewSpec {
  std::vector<std::string> ignore;  ///< globs: candidates they match are declined and not listed again
};

/// One `packs:` entry: a knowledge pack (knowledge.h) turned on.
struct PackChoice {
  std::string name;
  SourceLocation where;
};

/// `from:`: the container image (or root directory) the tests run in and
/// the bundle is taken from, instead of the host.
struct FromSpec {
  std::string reference;  ///< as written: "img:1.0", "app.tar", "rootfs/" (relative to the spec's directory)
  SourceLocation where;
};

/// A whole spec.
struct BundleSpec {
  std::string file;  ///< the spec's path, as given
  std::string name;
  std::optional<FromSpec> from;  ///< nullopt: the tests run on the host, and files are taken from it
  std::vector<TestCase> tests;
  std::vector<IncludeRule> include;
  std::vector<ExcludeRule> exclude;
  OutputSpec output;
  ImageConfig image;  ///< `image:`, used by the image formats
  SecretsSpec secrets;
  HostSpecificSpec host_specific;
  ReviewSpec review;
  std::vector<std::string> sbom;  ///< `sbom:` the SBOM formats to write (kSbomFormats, sbom.h), each once
  std::vector<PackChoice> packs;  ///< `packs:` the knowledge packs turned on: their rules' files are included
  std::vector<KnowledgePack> knowledge;  ///< `knowledge:` the spec's own packs, read from files next to it or written in place
};

/// Reads and checks a spec file. Every problem in the file is reported, not
/// just the first: the Error's message holds one "file:line:col: message" line
/// per problem (unknown keys get a did-you-mean). Throws Error.
BundleSpec load_spec(const std::string& file);

/// Same, from text already in memory (`file` names it in messages).
BundleSpec parse_spec(std::string_view text, const std::string& file);

/// Whether `path` (absolute) matches `pattern`: `*` and `?` and `[...]` within
/// one component (as fnmatch with FNM_PATHNAME), `**` as a whole component
/// matching zero or more components. A pattern not starting with '/' matches
/// at any depth ("*.pyc" matches every .pyc). Patterns are bytes, like paths.
bool glob_match(std::string_view pattern, std::string_view path);

/// Checks a pattern's syntax; returns an error message ("unclosed '['") or "".
std::string glob_error(std::string_view pattern);

/// The spec list item (for include: or exclude:) whose glob is `path` taken
/// literally, its glob characters escaped, followed by `tail` as written
/// ("/**" for everything below a directory): "- /etc/hostname",
/// "- /usr/lib/python3/dist-packages/numpy/**", quoted for YAML when needed.
std::string glob_list_item(std::string_view path, std::string_view tail = "");

/// The include: list item that packs the ELF file `path` (a path, not a
/// glob) and its dependency closure: "- elf: /usr/lib/x86_64-linux-gnu/libz.so.1",
/// quoted for YAML when needed.
std::string elf_list_item(std::string_view path);

/// The kernel pseudo file systems: their files are made by the kernel when
/// read (/proc/kmsg consumes the kernel log), so nothing below them is ever
/// packed, whatever a rule says. /run and /tmp hold real files and are not here.
inline constexpr std::string_view kKernelPseudoRoots[] = {"/proc", "/sys", "/dev"};

/// The entry of `roots` that `path` (absolute) is, or lies below, by whole
/// components ("/proc/1" lies below "/proc"; "/procfs" does not); "" if none.
std::string_view root_containing(std::string_view path, std::span<const std::string_view> roots);

/// The entry of kKernelPseudoRoots that `path` (absolute) is, or lies below;
/// "" for any other path. "/proc/**" lies below "/proc"; "/proc*" does not.
std::string_view kernel_pseudo_root(std::string_view path);

}  // namespace tracepack

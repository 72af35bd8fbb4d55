// The pack stage as one call: traces + spec → plan → bundle on disk.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tracepack/bundle_writer.h"
#include "tracepack/plan.h"
#include "tracepack/spec.h"

namespace tracepack {

/// What `tracepack pack` was asked to do.
struct PackRequest {
  std::vector<std::string> trace_files;
  BundleSpec spec;     ///< rules and output; an empty spec means "traces only"
  std::string output;  ///< overrides spec.output.path when non-empty
  std::string format;  ///< overrides spec.output.format when non-empty
  bool allow_missing = false;
  bool allow_truncated = false;                   ///< a trace without its end record is used, with a warning, not refused
  std::optional<std::int64_t> source_date_epoch;  ///< from SOURCE_DATE_EPOCH
  /// The file system the traces' paths lie in: "/" for the host, or the
  /// directory of an image's unpacked root (spec from:); every file is read below it.
  PathBytes root = "/";
  std::optional<ManifestBase> from;  ///< the base image the traces were taken in (spec from:), recorded in the manifest
  std::vector<std::string> sbom;     ///< SBOM formats (--sbom); when non-empty, used instead of spec.sbom
};

/// The dpkg database of the file system at `root` ("/var/lib/dpkg" below
/// it). With root itself as python_root, it points ReportOptions (report.h)
/// at an image's packages: ReportOptions{dpkg_admin_dir(root), root}.
std::string dpkg_admin_dir(const PathBytes& root);

/// Checks where `request` writes before anything is read:
/// check_output_target on its output and format (from the path when not
/// given), with its trace files, spec file and root (when not "/") as the
/// inputs an output must not hold, and `other_inputs` (a base image's path).
/// Creates a missing parent directory. Throws Error.
void check_pack_output(const PackRequest& request, const std::vector<std::string>& other_inputs = {});

/// The inputs of make_plan for `request`: its traces read and the ELF
/// closures of its spec's elf: rules computed, in request.root's view (its
/// loader, ld.so.cache and library directories); host_specific reads that
/// root's dpkg database and RECORD files. Below a root other than "/" the
/// spec's directory is no project directory (spec_dir ""; it is a host path)
/// and the user's $HOME is no home. Throws Error, also for a root that is no
/// directory, and for a truncated trace unless request.allow_truncated
/// (check_trace_complete in trace.h); an allowed one's warning goes into the
/// inputs' warnings.
PlanInputs read_plan_inputs(const PackRequest& request);

/// make_plan, and then, when the spec turns knowledge packs on (`packs:`),
/// the rules of those packs that the plan's paths trigger become rules of
/// the spec and the plan is made again (until no rule adds more, at most 4
/// times): each `add` glob an include: glob (whose ELF files bring their
/// libraries, as make_plan_with_glob_closures does for every include glob),
/// each `elf:` item's file and NSS module an `elf:` include with its closure
/// computed in `root`,
/// each `never` glob an exclude:, each `env` variable an image's
/// environment unless the spec sets it. Their reasons name the pack, the
/// rule and the path that triggered it; `in` is left holding those rules.
/// Throws Error.
BundlePlan plan_with_packs(PlanInputs& in, const FileSystemView& fs, const PathBytes& root);

/// plan_with_packs on HostFileSystem(root), then the libraries of what include:
/// globs brought: the ELF files among the entries an include: rule matched
/// (regular files with an exec bit or ".so" in their name, and ELF magic) are
/// resolved as the loader would (elf_closure, in root's view); when a library
/// they need, or a symlink on the way to it, is not in the plan, the plan is
/// made again with those libraries as its glob_dependencies. So an
/// include of a Python package's directory brings the libraries its extension
/// modules link (numpy: libblas, liblapack and theirs). A library not found
/// is passed over: verify names what a run misses. Throws Error.
BundlePlan make_plan_with_glob_closures(const PlanInputs& inputs, const PathBytes& root);

/// Reads the traces, computes the ELF closures of the spec's elf: rules and
/// makes the plan on HostFileSystem(request.root) with
/// make_plan_with_glob_closures (nothing is written); its paths are the
/// traces' (an image's paths, not the host's). Throws Error.
BundlePlan plan_bundle(const PackRequest& request);

/// check_secrets on the plan (refusing files that look like secrets and are
/// not allowed by the spec), then write_bundle to the requested output, both
/// reading contents below request.root. With SBOM formats (request.sbom, else
/// spec.sbom) the bundle also holds the dpkg metadata of its Debian packages
/// (dpkg_status_files, sbom.h) and each SBOM in ".tracepack/" (the result's
/// sboms), and an image carries the label kSbomLabel naming the first one's
/// path. Throws Error.
WriteResult pack_bundle(const PackRequest& request, const BundlePlan& plan);

/// Writes each SBOM of `written` beside the bundle at `output`
/// (sbom_output_path, sbom.h), atomically; returns their paths. Throws Error.
std::vector<std::string> write_sboms_beside(const WriteResult& written, const std::string& output);

/// The formats of --sbom, each once, checked: an unknown one throws
/// Error("--sbom: unknown SBOM format 'x' (did you mean 'y'?)").
std::vector<std::string> sbom_formats(const std::vector<std::string>& names);

/// The spec's `image:` completed from the run, for the image formats. Given
/// neither entrypoint nor cmd, cmd is the first test's command (its `run:`
/// list, or /bin/sh -c and its `shell:`), else the first trace's, and an unset
/// workdir becomes the directory that command ran in; architecture defaults
/// to the first trace's machine; PATH to the first test's, else the first
/// trace's recorded value (--record-env); the traces' headers come from
/// `plan`. Throws Error.
ImageConfig complete_image_config(const PackRequest& request, const BundlePlan& plan);

/// Exclusions counted by exclusion_group (plan.h): "/proc", "lookup failed in test 'demo'", "output of the run"...
std::vector<std::pair<std::string, std::size_t>> count_exclusions(const BundlePlan& plan);

}  // namespace tracepack

// `tracepack pack`: traces (+ a spec's rules) → bundle.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>

#include "commands.h"
#include "tracepack/error.h"
#include "tracepack/from_image.h"
#include "tracepack/host_specific.h"
#include "tracepack/output_format.h"
#include "tracepack/pack.h"

namespace tracepack::cli {
namespace {

std::optional<std::int64_t> source_date_epoch() {
  const char* value = std::getenv("SOURCE_DATE_EPOCH");
  if (value == nullptr || *value == '\0') return std::nullopt;
  char* end = nullptr;
  long long epoch = std::strtoll(value, &end, 10);
  if (*end != '\0' || epoch < 0) throw Error(std::string("SOURCE_DATE_EPOCH: not a number of seconds: '") + value + "'");
  return epoch;
}

double mib(std::uint64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

void print_outcome(const BundlePlan& plan, const WriteResult& w, const std::string& output) {
  std::fprintf(stderr, "tracepack: packed %llu files, %llu directories, %llu symlinks (%.1f MiB) into %s (%s, %.1f MiB)\n",
               static_cast<unsigned long long>(w.files), static_cast<unsigned long long>(w.directories),
               static_cast<unsigned long long>(w.symlinks), mib(w.bytes), output.c_str(), w.format.c_str(), mib(w.output_bytes));
  if (!w.image_digest.empty()) std::fprintf(stderr, "tracepack:   image %s\n", w.image_digest.c_str());
  for (const auto& [reason, count] : count_exclusions(plan)) std::fprintf(stderr, "tracepack:   left out %zu: %s\n", count, reason.c_str());
  for (const std::string& warning : plan.warnings) std::fprintf(stderr, "tracepack: warning: %s\n", warning.c_str());
  for (const std::string& line : host_specific_lines(plan.host_specific)) std::fprintf(stderr, "tracepack: %s\n", line.c_str());
}

struct PackArgs {
  std::vector<std::string> traces;
  std::string spec;
  std::string output;
  std::string format;
  std::string explain;
  std::string from;
  bool allow_missing = false;
  bool allow_truncated = false;
  std::vector<std::string> sbom;
};

int run_pack(const PackArgs& args) {
  PackRequest request;
  request.trace_files = args.traces;
  if (!args.spec.empty()) request.spec = load_spec(args.spec);
  request.output = args.output;
  request.format = args.format;
  request.allow_missing = args.allow_missing;
  request.allow_truncated = args.allow_truncated;
  request.source_date_epoch = source_date_epoch();
  request.sbom = sbom_formats(args.sbom);
  std::string from = base_reference(args.from, request.spec);  // "" for the host
  // Before the traces are read; the image they were taken in is an input too.
  if (args.explain.empty()) check_pack_output(request, from.empty() ? std::vector<std::string>{} : std::vector{base_image_path(from)});
  // Traces taken in an image name paths in it: the files are read from its root.
  std::optional<OpenedBase> base;
  if (!from.empty()) read_from_base(request, base.emplace(from));
  BundlePlan plan = plan_bundle(request);
  if (!args.explain.empty()) {
    for (const std::string& line : explain_path(plan, args.explain)) std::printf("%s\n", line.c_str());
    return 0;
  }
  WriteResult written = pack_bundle(request, plan);
  write_sboms_beside(written, request.output.empty() ? request.spec.output.path : request.output);
  print_outcome(plan, written, request.output.empty() ? request.spec.output.path : request.output);
  if (base) std::fprintf(stderr, "tracepack:   %s\n", size_reduction_line(base->image().bytes, written.bytes).c_str());
  return 0;
}

}  // namespace

Action add_pack_command(CLI::App& app) {
  auto args = std::make_shared<PackArgs>();
  CLI::App* cmd = add_command(app, "pack");
  cmd->add_option("traces", args->traces, "Trace files written by `tracepack trace`")->required();
  cmd->add_option("-s,--spec", args->spec, "Spec file (tracepack.yaml) with include/exclude rules and output");
  cmd->add_option("-o,--output", args->output, "Output path (overrides the spec's output.path)");
  cmd->add_option("-f,--format", args->format, output_format_list(" or ") + " (default: from the output's extension)");
  cmd->add_flag("--allow-missing", args->allow_missing, "Pack even if traced files are gone now (a warning instead of an error)");
  cmd->add_flag("--allow-truncated", args->allow_truncated, "Use a trace without its end record (the run was cut short), with a warning");
  cmd->add_option("--from", args->from,
                  "Image the traces were taken in (an OCI layout DIR[:TAG], an oci-archive or docker-archive tar, or a root directory): "
                  "files are read from it (overrides the spec's from:)");
  cmd->add_option("--sbom", args->sbom, "Also write an SBOM: cyclonedx or spdx (repeat, or comma-separated, for both)")->delimiter(',');
  cmd->add_option("--explain", args->explain, "Print why PATH is in or out of the bundle, and write nothing");
  cmd->footer(exit_status_footer(
      {{"0", "the bundle was written (or, with --explain, the answer printed)"}, {"1", "an error (message on stderr)"}}));
  return [args] { return run_pack(*args); };
}

}  // namespace tracepack::cli

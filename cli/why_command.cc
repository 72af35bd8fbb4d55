// `tracepack why TRACE|BUNDLE PATH [--spec SPEC]`: why PATH is in or out.
// Exit status as grep(1): 0 in the bundle, 1 out of it, 2 on error.
#include <cstdio>
#include <filesystem>
#include <optional>

#include "commands.h"
#include "tracepack/bundle_reader.h"
#include "tracepack/candidates.h"
#include "tracepack/error.h"
#include "tracepack/from_image.h"
#include "tracepack/manifest_reader.h"
#include "tracepack/pack.h"
#include "tracepack/why.h"

namespace tracepack::cli {
namespace {

constexpr int kExitIn = 0;
constexpr int kExitOut = 1;
constexpr int kExitTrouble = 2;  // any error: 1 means "out of the bundle"

struct WhyArgs {
  std::string input;
  std::string path;
  std::string spec;
  std::string from;
  bool allow_truncated = false;
};

// A trace is planned as `pack` would plan it, but a traced file gone since
// does not stop the answer.
WhyAnswer answer_from_trace(const WhyArgs& args, const PathBytes& path) {
  PackRequest request;
  request.trace_files = {args.input};
  if (!args.spec.empty()) request.spec = load_spec(args.spec);
  request.allow_missing = true;
  request.allow_truncated = args.allow_truncated;
  // A trace taken in an image names the image's files: plan from its root.
  std::optional<OpenedBase> base;
  if (std::string from = base_reference(args.from, request.spec); !from.empty()) read_from_base(request, base.emplace(from));
  BundlePlan plan = plan_bundle(request);
  for (const std::string& warning : plan.warnings) std::fprintf(stderr, "tracepack: warning: %s\n", warning.c_str());
  std::vector<Trace> traces = {read_trace(args.input)};
  WhyAnswer answer = explain_in_plan(plan, traces, path);
  if (!answer.in_bundle) {
    std::vector<PathBytes> paths;
    for (const PlanEntry& e : plan.entries) paths.push_back(e.path);
    attach_candidate(answer, find_candidates(paths, HostFileSystem(request.root), request.root, plan.review_ignore, listed_directories(plan.entries),
                                             plan.knowledge, plan.packs_on, test_search_paths(request.spec.tests, traces))
                                 .candidates);
  }
  return answer;
}

// A bundle's manifest; an image holds it in its layer, read as read_bundle does.
Manifest manifest_of(const std::string& input) {
  try {
    return read_manifest(input);
  } catch (const Error&) {
    std::optional<BundleContents> image;
    try {
      image = read_bundle(input);
    } catch (const Error&) {
    }
    if (!image || (image->format != "oci" && image->format != "oci-archive" && image->format != "docker-archive")) throw;
    return std::move(image->manifest);
  }
}

int run_why(const WhyArgs& args) {
  PathBytes path = normalize_why_path(args.path);
  WhyAnswer answer;
  if (is_trace_file(args.input)) {
    answer = answer_from_trace(args, path);
  } else {
    if (!args.spec.empty()) throw UsageError("why: --spec applies to a trace, not to a bundle (" + args.input + ")");
    if (!args.from.empty()) throw UsageError("why: --from applies to a trace, not to a bundle (" + args.input + ")");
    Manifest manifest = manifest_of(args.input);
    answer = explain_in_manifest(manifest, path);
    if (!answer.in_bundle && !manifest.from) {  // the files of a bundle taken from the host are the host's
      std::vector<PathBytes> paths;
      std::vector<std::pair<PathBytes, std::vector<std::string>>> directories;
      for (const ManifestEntry& e : manifest.entries) {
        paths.push_back(e.path);
        if (e.type == EntryType::directory) directories.emplace_back(e.path, e.reasons);
      }
      attach_candidate(answer, find_candidates(paths, HostFileSystem(), "/", manifest.review_ignore, listed_directories(directories), manifest.knowledge,
                                                       manifest.packs_on)
                                           .candidates);
    }
  }
  std::fputs(render_why(answer).c_str(), stdout);
  return answer.in_bundle ? kExitIn : kExitOut;
}

}  // namespace

Action add_why_command(CLI::App& app) {
  auto args = std::make_shared<WhyArgs>();
  CLI::App* cmd = add_command(app, "why");
  cmd->add_option("input", args->input, "Trace file, or bundle (directory or archive)")->required();
  cmd->add_option("path", args->path, "Absolute path to explain")->required();
  cmd->add_option("-s,--spec", args->spec, "Spec whose include/exclude rules apply (traces only)");
  cmd->add_option("--from", args->from, "The image a trace was taken in (default: the spec's from:): its files are read");
  cmd->add_flag("--allow-truncated", args->allow_truncated, "Use a trace without its end record (the run was cut short), with a warning");
  cmd->footer(exit_status_footer({{"0", "PATH is in the bundle"}, {"1", "PATH is not in the bundle"}}, true));
  return [args] { return run_with_error_status(kExitTrouble, [&args] { return run_why(*args); }); };
}

}  // namespace tracepack::cli

// `tracepack diff A B [-f text|json] [--spec SPEC]`: what differs
// between two bundles, two traces, or a trace and a bundle. Exit status as
// diff(1): 0 equal, 1 different, 2 trouble.
#include <cstdio>

#include "commands.h"
#include "tracepack/diff.h"
#include "tracepack/error.h"
#include "tracepack/manifest_reader.h"
#include "tracepack/pack.h"

namespace tracepack::cli {
namespace {

constexpr int kExitEqual = 0;
constexpr int kExitDifferent = 1;
constexpr int kExitTrouble = 2;

struct DiffArgs {
  std::string a;
  std::string b;
  std::string format = "text";
  std::string spec;
  bool allow_truncated = false;
};

// A trace stands for the bundle `pack` would make of it now. Its files are
// hashed only when compared with a bundle: two traces read the same host.
std::vector<DiffEntry> entries_of_input(const std::string& input, const DiffArgs& args, bool hash) {
  if (!is_trace_file(input)) return diff_entries_of(read_manifest(input));
  PackRequest request;
  request.trace_files = {input};
  if (!args.spec.empty()) request.spec = load_spec(args.spec);
  request.allow_missing = true;
  request.allow_truncated = args.allow_truncated;
  BundlePlan plan = plan_bundle(request);
  for (const std::string& warning : plan.warnings) std::fprintf(stderr, "tracepack: warning: %s\n", warning.c_str());
  return diff_entries_of(plan, hash ? ContentHasher(sha256_of_host_file) : ContentHasher());
}

int compare_inputs(const DiffArgs& args) {
  if (args.a.empty() || args.b.empty()) throw Error("diff: two inputs are needed (tracepack diff A B)");
  if (args.format != "text" && args.format != "json") throw Error("diff: unknown format '" + args.format + "' (expected text or json)");
  bool a_trace = is_trace_file(args.a), b_trace = is_trace_file(args.b);
  BundleDiff diff = diff_entries(entries_of_input(args.a, args, a_trace != b_trace), entries_of_input(args.b, args, a_trace != b_trace));
  std::string text = args.format == "json" ? render_diff_json(diff, args.a, args.b) : render_diff_text(diff);
  std::fputs(text.c_str(), stdout);
  return diff.equal() ? kExitEqual : kExitDifferent;
}

}  // namespace

Action add_diff_command(CLI::App& app) {
  auto args = std::make_shared<DiffArgs>();
  CLI::App* cmd = add_command(app, "diff");
  // Not ->required(): a missing input is an error of the command (exit 2), not of the parser.
  cmd->add_option("a", args->a, "Trace file or bundle (directory or archive)");
  cmd->add_option("b", args->b, "Trace file or bundle (directory or archive)");
  cmd->add_option("-f,--format", args->format, "text or json")->capture_default_str();
  cmd->add_option("-s,--spec", args->spec, "Spec whose include/exclude rules apply to traces");
  cmd->add_flag("--allow-truncated", args->allow_truncated, "Use a trace without its end record (the run was cut short), with a warning");
  cmd->footer(exit_status_footer({{"0", "A and B hold the same files"}, {"1", "A and B differ"}}, true));
  // Errors leave with 2, not run_app's 1: 1 means "different" here.
  return [args] { return run_with_error_status(kExitTrouble, [&args] { return compare_inputs(*args); }); };
}

}  // namespace tracepack::cli

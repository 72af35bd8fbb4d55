// `tracepack report TRACE|BUNDLE [--format text|json|html] [-o FILE] [--spec SPEC] [--all-candidates]`:
// what a bundle holds and why, for reviewers. Text goes to the terminal
// (coloured only on a TTY, never with NO_COLOR set); JSON and HTML are
// usually written to a file with -o.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "commands.h"
#include "tracepack/error.h"
#include "tracepack/report.h"

namespace tracepack::cli {
namespace {

struct ReportArgs {
  std::string input;
  std::string format = "text";
  std::string output;
  std::string spec;
  std::string from;
  bool allow_truncated = false;
  bool all_candidates = false;
};

/// https://no-color.org: any non-empty NO_COLOR turns colour off.
bool use_color(bool to_stdout) {
  const char* no_color = std::getenv("NO_COLOR");
  return to_stdout && isatty(STDOUT_FILENO) && (no_color == nullptr || *no_color == '\0');
}

std::string render(const BundleReport& report, const ReportArgs& args, bool color) {
  const std::string& format = args.format;
  if (format == "text") return render_text(report, color, args.all_candidates);
  if (format == "json") return render_json(report);
  return render_html(report);
}

void write_output(const std::string& file, const std::string& text) {
  std::FILE* out = file.empty() ? stdout : std::fopen(file.c_str(), "wb");
  if (out == nullptr) throw_system_error(file + ": cannot write the report");
  bool ok = std::fwrite(text.data(), 1, text.size(), out) == text.size();
  ok = (out == stdout ? std::fflush(out) : std::fclose(out)) == 0 && ok;
  if (!ok) throw_system_error((file.empty() ? std::string("stdout") : file) + ": cannot write the report");
}

int run_report(const ReportArgs& args) {
  if (args.format != "text" && args.format != "json" && args.format != "html")
    throw Error("report: unknown format '" + args.format + "' (use text, json or html)");
  BundleReport report = report_file(args.input, args.spec, args.allow_truncated, args.from);
  write_output(args.output, render(report, args, use_color(args.output.empty())));
  return 0;
}

}  // namespace

Action add_report_command(CLI::App& app) {
  auto args = std::make_shared<ReportArgs>();
  CLI::App* cmd = add_command(app, "report");
  cmd->add_option("input", args->input, "A trace file, or a bundle (directory or archive)")->required();
  cmd->add_option("-f,--format", args->format, "text, json or html")->capture_default_str();
  cmd->add_option("-o,--output", args->output, "Write the report to FILE instead of standard output");
  cmd->add_option("-s,--spec", args->spec, "Spec whose include/exclude rules apply to a trace");
  cmd->add_option("--from", args->from, "The base image a bundle was taken from, for its packages (default: the one its manifest records)");
  cmd->add_flag("--all-candidates", args->all_candidates, "List every candidate to review in full (text; JSON and HTML always hold them all)");
  cmd->add_flag("--allow-truncated", args->allow_truncated, "Use a trace without its end record (the run was cut short), with a warning");
  cmd->footer(exit_status_footer({{"0", "the report was written"}, {"1", "an error (message on stderr)"}}));
  return [args] { return run_report(*args); };
}

}  // namespace tracepack::cli

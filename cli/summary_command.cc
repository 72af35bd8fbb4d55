// `tracepack summary TRACE`: what ran and which files it used, by category.
#include <cstdio>

#include "commands.h"
#include "tracepack/summary.h"
#include "tracepack/trace.h"

namespace tracepack::cli {
namespace {

void print_list(const char* title, const std::vector<PathBytes>& paths, std::size_t limit) {
  std::printf("%-22s %zu\n", title, paths.size());
  for (std::size_t i = 0; i < paths.size() && i < limit; ++i) std::printf("    %s\n", encode_path(paths[i]).c_str());
  if (paths.size() > limit) std::printf("    ... and %zu more\n", paths.size() - limit);
}

int print_summary(const std::string& file, std::size_t limit) {
  TraceSummary s = summarize_trace(read_trace(file));
  std::printf("trace %s (%s)%s\n", file.c_str(), s.label.c_str(), s.truncated ? " [truncated: the tracer was stopped]" : "");
  std::printf("%-22s %zu (%zu exec)\n", "processes", s.processes, s.execs);
  print_list("programs executed", s.programs, limit);
  print_list("ELF interpreters", s.loaders, limit);
  print_list("shared libraries", s.libraries, limit);
  print_list("other files read", s.data_files, limit);
  print_list("directories listed", s.listed_dirs, limit);
  print_list("symlinks followed", s.symlinks, limit);
  print_list("files written", s.outputs, limit);
  std::printf("%-22s %zu\n", "failed lookups", s.failed_lookups);
  for (const std::string& w : s.warnings) std::printf("warning: %s\n", w.c_str());
  return 0;
}

}  // namespace

Action add_summary_command(CLI::App& app) {
  auto file = std::make_shared<std::string>();
  auto limit = std::make_shared<std::size_t>(10);
  CLI::App* cmd = add_command(app, "summary");
  cmd->add_option("trace", *file, "Trace file written by `tracepack trace`")->required();
  cmd->add_option("-n,--limit", *limit, "Paths listed per category")->capture_default_str();
  cmd->footer(exit_status_footer({{"0", "the summary was printed"}, {"1", "an error (message on stderr)"}}));
  return [file, limit] { return print_summary(*file, *limit); };
}

}  // namespace tracepack::cli

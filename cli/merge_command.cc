// `tracepack merge`: several traces (test cases, shards) → one trace.
#include <cstdio>

#include "commands.h"
#include "tracepack/merge.h"
#include "tracepack/trace.h"

namespace tracepack::cli {

Action add_merge_command(CLI::App& app) {
  auto output = std::make_shared<std::string>();
  auto inputs = std::make_shared<std::vector<std::string>>();
  auto allow_truncated = std::make_shared<bool>(false);
  CLI::App* cmd = add_command(app, "merge");
  cmd->add_option("-o,--output", *output, "Merged trace to write")->required();
  cmd->add_option("traces", *inputs, "Trace files")->required();
  cmd->footer(exit_status_footer({{"0", "the merged trace was written"}, {"1", "an error (message on stderr)"}}));
  cmd->add_flag("--allow-truncated", *allow_truncated, "Use a trace without its end record (the run was cut short), with a warning");
  return [output, inputs, allow_truncated] {
    std::vector<std::string> warnings;
    write_trace(merge_trace_files(*inputs, *allow_truncated, warnings), *output);
    for (const std::string& warning : warnings) std::fprintf(stderr, "tracepack: warning: %s\n", warning.c_str());
    return 0;
  };
}

}  // namespace tracepack::cli

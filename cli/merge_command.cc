// `tracepack merge`: several traces (test cases, shards) → one trace.
#include "commands.h"
#include "tracepack/merge.h"
#include "tracepack/trace.h"

namespace tracepack::cli {

Action add_merge_command(CLI::App& app) {
  auto output = std::make_shared<std::string>();
  auto inputs = std::make_shared<std::vector<std::string>>();
  CLI::App* cmd = app.add_subcommand("merge", "Merge traces (test cases, shards) into one, keeping each test's name");
  cmd->add_option("-o,--output", *output, "Merged trace to write")->required();
  cmd->add_option("traces", *inputs, "Trace files")->required();
  cmd->footer(exit_status_footer({{"0", "the merged trace was written"}, {"1", "an error (message on stderr)"}}));
  return [output, inputs] {
    std::vector<Trace> traces;
    for (const std::string& file : *inputs) traces.push_back(read_trace(file));
    write_trace(merge_traces(std::move(traces)), *output);
    return 0;
  };
}

}  // namespace tracepack::cli

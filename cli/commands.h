// Subcommand registration. Each command adds itself to the CLI11 app and
// returns the action to run after parsing; the action's result is the exit code.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace tracepack::cli {

using Action = std::function<int()>;

/// `tracepack trace [options] -- COMMAND [ARGS...]`
Action add_trace_command(CLI::App& app);

/// `tracepack summary TRACE`
Action add_summary_command(CLI::App& app);

}  // namespace tracepack::cli

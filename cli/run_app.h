// The part of main() both tracepack programs share: register subcommands,
// parse, run the chosen one, and turn a tracepack::Error into
// "tracepack: error: ..." and exit status 1.
#pragma once

#include <vector>

#include "commands.h"

namespace tracepack::cli {

using CommandAdder = Action (*)(CLI::App&);

/// Builds the app from `adders`, parses argv and runs the chosen subcommand.
int run_app(CLI::App& app, const std::vector<CommandAdder>& adders, int argc, char** argv);

}  // namespace tracepack::cli

// The part of main() both tracepack programs share: register subcommands,
// parse, run the chosen one, and turn what it throws into a message and an
// exit status (kExitError, kExitUsage, kExitInternal: see commands.h).
#pragma once

#include <vector>

#include "commands.h"

namespace tracepack::cli {

using CommandAdder = Action (*)(CLI::App&);

/// Builds the app from `adders`, parses argv and runs the chosen subcommand;
/// returns its exit status. `help [COMMAND]` prints the help; an unknown
/// command gets a did-you-mean. Never throws: a usage error is printed and
/// returns kExitUsage, a tracepack::Error kExitError, any other exception
/// kExitInternal ("tracepack: internal error: ...").
int run_app(CLI::App& app, const std::vector<CommandAdder>& adders, int argc, char** argv);

}  // namespace tracepack::cli

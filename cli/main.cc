// tracepack's command line: parses arguments, runs one subcommand, and turns
// a tracepack::Error into "tracepack: error: ..." and a non-zero exit status.
#include <cstdio>
#include <map>

#include "commands.h"
#include "tracepack/error.h"

int main(int argc, char** argv) {
  CLI::App app{"tracepack: find and bundle exactly the files an application uses"};
  app.set_version_flag("--version", "tracepack " TRACEPACK_VERSION);
  app.require_subcommand(1);
  std::map<CLI::App*, tracepack::cli::Action> actions;
  auto add = [&](tracepack::cli::Action (*adder)(CLI::App&)) {
    std::size_t before = app.get_subcommands({}).size();
    tracepack::cli::Action action = adder(app);
    actions[app.get_subcommands({}).at(before)] = std::move(action);
  };
  add(tracepack::cli::add_trace_command);
  add(tracepack::cli::add_summary_command);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (auto& [command, action] : actions)
      if (command->parsed()) return action();
  } catch (const tracepack::Error& e) {
    std::fprintf(stderr, "tracepack: error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "tracepack: error: out of memory\n");
    return 1;
  }
  return 0;
}

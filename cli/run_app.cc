#include "run_app.h"

#include <cstdio>
#include <map>
#include <new>

#include "tracepack/error.h"

namespace tracepack::cli {

int run_app(CLI::App& app, const std::vector<CommandAdder>& adders, int argc, char** argv) {
  app.set_version_flag("--version", "tracepack " TRACEPACK_VERSION);
  app.require_subcommand(1);
  std::map<CLI::App*, Action> actions;
  for (CommandAdder adder : adders) {
    std::size_t before = app.get_subcommands({}).size();
    Action action = adder(app);
    actions[app.get_subcommands({}).at(before)] = std::move(action);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (auto& [command, action] : actions)
      if (command->parsed()) return action();
  } catch (const Error& e) {
    std::fprintf(stderr, "tracepack: error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "tracepack: error: out of memory\n");
    return 1;
  }
  return 0;
}

}  // namespace tracepack::cli

// The command table both tracepack programs print their help from: each
// command's name, one-line description and the program that runs it.
// tracepack lists the packer's commands from it without linking them, and
// each command registers itself with its row (add_command), so that the
// listing and the command's own help can never say different things.
#include "commands.h"

#include <stdexcept>
#include <string>

namespace tracepack::cli {
namespace {

constexpr CommandInfo kCommands[] = {
    {"pack", "Build a bundle from traces (and a spec's include/exclude rules)", Program::packer},
    {"build", "Trace every test of a spec, then pack the bundle", Program::packer},
    {"closure", "Print the shared-library closure of ELF files, as the dynamic loader resolves it", Program::packer},
    {"verify", "Run the spec's tests (or one command) in a root holding only the bundle", Program::packer},
    {"exec", "Run a command in a root holding only the bundle, with this terminal", Program::packer},
    {"why", "Explain why a path is, or is not, in the bundle of a trace or in a bundle (and whether it is a candidate to review)", Program::packer},
    {"diff", "Compare two bundles or traces: files added, removed and changed", Program::packer},
    {"report", "Report what a bundle (or a trace's plan) holds and why, what each test brought, and the candidates to review: text, JSON or HTML", Program::packer},
    {"trace", "Run a command and record every file it and its children use", Program::tracepack},
    {"summary", "Print what a trace shows: programs, libraries, data files", Program::tracepack},
    {"merge", "Merge traces (test cases, shards) into one, keeping each test's name", Program::tracepack},
};

}  // namespace

std::span<const CommandInfo> command_table() { return kCommands; }

const CommandInfo* find_command_info(std::string_view name) {
  for (const CommandInfo& command : kCommands)
    if (name == command.name) return &command;
  return nullptr;
}

CLI::App* add_command(CLI::App& app, std::string_view name) {
  const CommandInfo* info = find_command_info(name);
  if (info == nullptr) throw std::logic_error("command '" + std::string(name) + "' is not in the command table");
  return app.add_subcommand(info->name, info->description);
}

}  // namespace tracepack::cli

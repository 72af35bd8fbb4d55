// The part of main() both tracepack programs share, and the command-line
// conventions they follow (README, "Command line" and "Exit statuses").
//
// Before CLI11 sees the arguments: `help [COMMAND]` becomes `[COMMAND]
// --help`; an unknown command is refused with a did-you-mean; and for a
// command that takes a command line (trace, verify, exec) the arguments are
// cut where that command line starts (see take_command_line), so that CLI11
// never reorders or reads them. CLI11 then parses the rest; its usage
// errors are reworded and exit with kExitUsage. The action runs last, and
// every exception it lets out ends here: tracepack::Error as
// "tracepack: error: ...", anything else as an internal error (kExitInternal),
// never an abort.
#include "run_app.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <new>
#include <string_view>

#include "tracepack/error.h"
#include "tracepack/spelling.h"

namespace tracepack::cli {
namespace {

struct CommandLineTail {
  std::shared_ptr<std::vector<std::string>> argv;
  std::string usage;
};

// Filled while the commands register, before anything is parsed.
std::map<const CLI::App*, CommandLineTail>& tails() {
  static std::map<const CLI::App*, CommandLineTail> registered;
  return registered;
}

std::string upper(std::string text) {
  for (char& c : text)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return text;
}

// The closest of `choices` to `text`, as a string ("" when none is close).
std::string closest(const std::string& text, const std::vector<std::string>& choices) {
  std::vector<std::string_view> views(choices.begin(), choices.end());
  return std::string(closest_spelling(text, views));
}

// CLI11's help, without its markup: positionals in capitals, no "{false}"
// after negated flags, and the command line a command takes in its Usage line.
class HelpFormatter : public CLI::Formatter {
 public:
  HelpFormatter() { label("SUBCOMMAND", "COMMAND"); }
  std::string make_usage(const CLI::App* app, std::string name) const override {
    std::string usage = CLI::Formatter::make_usage(app, std::move(name));
    auto tail = tails().find(app);
    if (tail != tails().end() && !usage.empty() && usage.back() == '\n') usage.insert(usage.size() - 1, " " + tail->second.usage);
    return usage;
  }
  std::string make_option_name(const CLI::Option* opt, bool is_positional) const override {
    if (is_positional) return upper(opt->get_name(true, false));
    std::string name = opt->get_name(false, true);
    for (std::size_t open; (open = name.find('{')) != std::string::npos;) {
      std::size_t close = name.find('}', open);
      name.erase(open, close == std::string::npos ? std::string::npos : close - open + 1);
    }
    return name;
  }
};

void print_error(const char* message) { std::fprintf(stderr, "tracepack: error: %s\n", message); }

CLI::App* find_command(CLI::App& app, const std::string& name) {
  for (CLI::App* command : app.get_subcommands({}))
    if (command->get_name() == name) return command;
  return nullptr;
}

std::string unknown_command_message(CLI::App& app, const std::string& name) {
  std::vector<std::string> names;
  for (CLI::App* command : app.get_subcommands({})) names.push_back(command->get_name());
  std::string suggestion = closest(name, names);
  if (!suggestion.empty()) return "unknown command '" + name + "' (did you mean '" + suggestion + "'?)";
  return "unknown command '" + name + "' ('tracepack help' lists the commands)";
}

// Whether the option `name` ("--output", "-o") of `command` takes a value.
bool takes_value(const CLI::App& command, const std::string& name) {
  const CLI::Option* option = command.get_option_no_throw(name);
  return option != nullptr && option->get_expected_max() > 0;
}

// Whether `arg`, an option, takes the next argument as its value: "-o FILE",
// "--output FILE", "-qo FILE"; not "--output=FILE", "-oFILE" or a flag. An
// unknown option takes none (CLI11 then reports it).
bool takes_next_argument(const CLI::App& command, const std::string& arg) {
  if (arg.starts_with("--")) return arg.find('=') == std::string::npos && takes_value(command, arg);
  for (std::size_t k = 1; k < arg.size(); ++k)
    if (takes_value(command, std::string("-") + arg[k])) return k + 1 == arg.size();
  return false;
}

// Where, in the arguments of `command`, the command line it takes starts:
// at "--", or at the first argument that is neither an option, an option's
// value, nor one of its positionals; args.size() when nowhere.
std::size_t command_line_start(const CLI::App& command, const std::vector<std::string>& args) {
  std::size_t positionals = command.get_options([](const CLI::Option* o) { return o->get_positional(); }).size();
  std::size_t seen = 0;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") return i;
    if (arg.size() > 1 && arg[0] == '-') {
      if (takes_next_argument(command, arg)) ++i;
    } else if (seen < positionals) {
      ++seen;
    } else {
      return i;
    }
  }
  return args.size();
}

// Cuts `args` (the command's name first) where the command line `command`
// takes starts, and returns that command line, without a leading "--".
std::vector<std::string> cut_command_line(const CLI::App& command, std::vector<std::string>& args) {
  std::vector<std::string> rest(args.begin() + 1, args.end());
  std::size_t start = command_line_start(command, rest);
  std::size_t skip = start < rest.size() && rest[start] == "--" ? 1 : 0;
  std::vector<std::string> line(rest.begin() + static_cast<std::ptrdiff_t>(start + skip), rest.end());
  args.resize(1 + start);
  return line;
}

std::string unknown_option_message(const CLI::App& command, const std::string& arg) {
  std::string option = arg.substr(0, arg.find('='));
  std::string message = "unknown option '" + option + "'";
  if (!option.starts_with("--")) return message;
  std::vector<std::string> names;
  for (const CLI::Option* o : command.get_options())
    for (const std::string& name : o->get_lnames()) names.push_back("--" + name);
  std::string suggestion = closest(option, names);
  return suggestion.empty() ? message : message + " (did you mean '" + suggestion + "'?)";
}

// CLI11's message for a usage error, in tracepack's words: "COMMAND: problem".
std::string usage_message(const CLI::App& app, const CLI::App* command, const CLI::ParseError& e) {
  const CLI::App& where = command != nullptr ? *command : app;
  std::string prefix = command != nullptr ? command->get_name() + ": " : "";
  std::string help = command != nullptr ? "tracepack help " + command->get_name() : "tracepack help";
  std::vector<std::string> extras = where.remaining();
  if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr && !extras.empty()) {
    const std::string& first = extras.front();
    if (first.size() > 1 && first[0] == '-') {
      std::string message = unknown_option_message(where, first);
      return prefix + message + (message.ends_with("?)") ? "" : " (see '" + help + "')");
    }
    return prefix + "unexpected argument '" + first + "' (see '" + help + "')";
  }
  std::string what = e.what();
  if (!what.empty() && what[0] >= 'A' && what[0] <= 'Z') what[0] = static_cast<char>(what[0] - 'A' + 'a');
  return prefix + what + " (see '" + help + "')";
}

int parse_and_run(CLI::App& app, const std::vector<CommandAdder>& adders, int argc, char** argv) {
  app.name("tracepack");
  app.formatter(std::make_shared<HelpFormatter>());
  app.set_version_flag("--version", "tracepack " TRACEPACK_VERSION);
  app.require_subcommand(1);
  app.footer("Run 'tracepack help COMMAND' for the options of a command and its exit statuses.\n\n" +
             exit_status_footer({{"0", "success"},
                                 {"1",
                                  "an error (message on stderr); why, diff, verify and build "
                                  "give 1 a meaning of their own: see their help"}}));
  std::map<CLI::App*, Action> actions;
  for (CommandAdder adder : adders) {
    std::size_t before = app.get_subcommands({}).size();
    Action action = adder(app);
    actions[app.get_subcommands({}).at(before)] = std::move(action);
  }
  for (CLI::App* command : app.get_subcommands({})) command->group("Commands");
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args.front() == "help") {
    if (args.size() > 2) throw UsageError("help: one command at most (tracepack help [COMMAND])");
    args.erase(args.begin());
    args.push_back("--help");
  }
  if (args.empty()) throw UsageError("no command given ('tracepack help' lists the commands)");
  CLI::App* command = args.front().starts_with("-") ? nullptr : find_command(app, args.front());
  if (command == nullptr && !args.front().starts_with("-")) throw UsageError(unknown_command_message(app, args.front()));
  auto tail = tails().find(command);
  std::vector<std::string> command_line;
  if (tail != tails().end()) command_line = cut_command_line(*command, args);
  std::reverse(args.begin(), args.end());  // CLI11 parses a vector from its end
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    throw UsageError(usage_message(app, command, e));
  }
  if (tail != tails().end()) *tail->second.argv = std::move(command_line);
  for (auto& [parsed, action] : actions)
    if (parsed->parsed()) return action();
  return 0;
}

}  // namespace

std::string exit_status_footer(const std::vector<std::pair<std::string, std::string>>& own, bool errors_exit_2) {
  std::string text = "Exit status:";
  auto line = [&text](const std::string& status, const std::string& meaning) {
    text += "\n  " + status + std::string(status.size() < 4 ? 4 - status.size() : 1, ' ') + meaning;
  };
  for (const auto& [status, meaning] : own) line(status, meaning);
  line(std::to_string(kExitUsage), errors_exit_2 ? "an error (message on stderr), or a usage error: unknown option, "
                                                   "missing argument"
                                                 : "usage error: unknown command or option, missing argument");
  line(std::to_string(kExitInternal), "internal error: a bug in tracepack (please report it)");
  return text;
}

void take_command_line(CLI::App* cmd, std::shared_ptr<std::vector<std::string>> argv, std::string usage) {
  tails()[cmd] = {std::move(argv), std::move(usage)};
}

int run_with_error_status(int status, const Action& action) {
  try {
    return action();
  } catch (const Error& e) {
    print_error(e.what());
    return status;
  } catch (const std::bad_alloc&) {
    print_error("out of memory");
    return status;
  }
}

int run_app(CLI::App& app, const std::vector<CommandAdder>& adders, int argc, char** argv) {
  try {
    return parse_and_run(app, adders, argc, argv);
  } catch (const UsageError& e) {
    print_error(e.what());
    return kExitUsage;
  } catch (const Error& e) {
    print_error(e.what());
    return kExitError;
  } catch (const std::bad_alloc&) {
    print_error("out of memory");
    return kExitError;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tracepack: internal error: %s (a bug in tracepack: please report it)\n", e.what());
    return kExitInternal;
  } catch (...) {
    std::fprintf(stderr, "tracepack: internal error: an unknown exception (a bug in tracepack: please report it)\n");
    return kExitInternal;
  }
}

}  // namespace tracepack::cli

// Subcommand registration. Each command adds itself to the CLI11 app and
// returns the action to run after parsing; the action's result is the exit code.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tracepack/error.h"

namespace tracepack::cli {

using Action = std::function<int()>;

/// The program that runs a command: `tracepack` itself (the tracer and the
/// light commands) or `tracepack-packer`, which tracepack runs for the rest.
enum class Program { tracepack, packer };

/// One command: its name, the one-line description that `tracepack help`
/// lists and that heads `tracepack help NAME`, and the program that runs it.
struct CommandInfo {
  const char* name;
  const char* description;
  Program program;
};

/// Every command of tracepack, in the order `tracepack help` lists them: the
/// one place a command's description is written (commands.cc).
std::span<const CommandInfo> command_table();

/// The row of `name` in command_table(), or nullptr when there is none.
const CommandInfo* find_command_info(std::string_view name);

/// Adds the subcommand `name` to `app` with its description from
/// command_table(). Throws std::logic_error when the table has no such row
/// (a command registered without one is a bug).
CLI::App* add_command(CLI::App& app, std::string_view name);

/// Exit statuses every command shares (README, "Exit statuses"). 0 is
/// success and 1 an error, except where a command gives 1 a meaning of its
/// own (why: out of the bundle; diff: different) and reports errors with 2.
inline constexpr int kExitError = 1;
/// The command line is wrong: an unknown command or option, a missing
/// argument (as diff, grep and tar).
inline constexpr int kExitUsage = 2;
/// An exception tracepack did not expect: a bug (sysexits.h's EX_SOFTWARE).
inline constexpr int kExitInternal = 70;

/// A command line tracepack cannot act on. run_app prints it as it prints
/// an Error ("tracepack: error: <message>") and exits with kExitUsage.
class UsageError : public Error {
 public:
  using Error::Error;
};

/// The "Exit status:" footer of a command's help: `own` (status, meaning)
/// first, then the usage-error and internal-error lines every command
/// shares. `errors_exit_2`: the command reports every error with 2, its 1
/// meaning something else (why, diff).
std::string exit_status_footer(const std::vector<std::pair<std::string, std::string>>& own, bool errors_exit_2 = false);

/// Makes `cmd` take a command line after its options and positionals, as
/// strace, env, nice and sudo do: the first argument that is neither an
/// option (or an option's value) nor one of `cmd`'s positionals starts the
/// command, and it and everything after it are stored in `argv`, untouched;
/// a "--" also ends tracepack's options, and is dropped. An unknown option
/// before the command is a usage error. `usage` shows it in the help's Usage
/// line, e.g. "[--] COMMAND [ARGS...]". run_app does the splitting.
void take_command_line(CLI::App* cmd, std::shared_ptr<std::vector<std::string>> argv, std::string usage);

/// Runs `action`, printing a tracepack::Error as run_app does but exiting
/// with `status`: for commands whose 1 is an answer (why, diff).
int run_with_error_status(int status, const Action& action);

/// The variable through which tracepack hands its caller's GLIBC_TUNABLES
/// to tracepack-packer: "=VALUE", or empty when the caller had none.
inline constexpr const char* kSavedTunables = "TRACEPACK_CALLER_GLIBC_TUNABLES";

/// `tracepack trace [OPTIONS] [--] COMMAND [ARGS...]`
Action add_trace_command(CLI::App& app);

/// `tracepack summary TRACE`
Action add_summary_command(CLI::App& app);

/// `tracepack pack [--spec SPEC] [-o OUT] TRACE...`
Action add_pack_command(CLI::App& app);

/// `tracepack merge -o OUT TRACE...`
Action add_merge_command(CLI::App& app);

/// `tracepack build [SPEC]`
Action add_build_command(CLI::App& app);

/// `tracepack closure [--json] [-L DIRS] [--root DIR] [--no-ld-so-cache] FILE...`
Action add_closure_command(CLI::App& app);

/// `tracepack verify [OPTIONS] BUNDLE [[--] COMMAND [ARGS...]]`; exits 0 passed, 1 failed
Action add_verify_command(CLI::App& app);

/// `tracepack exec [--cwd DIR] BUNDLE [--] COMMAND [ARGS...]`
Action add_exec_command(CLI::App& app);

/// `tracepack why TRACE|BUNDLE PATH [--spec SPEC]`; exits 0 in the bundle, 1 out, 2 on error
Action add_why_command(CLI::App& app);

/// `tracepack diff A B [-f text|json] [--spec SPEC]`; exits 0 equal, 1 different, 2 on error
Action add_diff_command(CLI::App& app);

/// `tracepack report TRACE|BUNDLE [--format text|json|html] [-o FILE] [--spec SPEC]`
Action add_report_command(CLI::App& app);

}  // namespace tracepack::cli

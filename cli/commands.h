// Subcommand registration. Each command adds itself to the CLI11 app and
// returns the action to run after parsing; the action's result is the exit code.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace tracepack::cli {

using Action = std::function<int()>;

/// The variable through which tracepack hands its caller's GLIBC_TUNABLES
/// to tracepack-packer: "=VALUE", or empty when the caller had none.
inline constexpr const char* kSavedTunables = "TRACEPACK_CALLER_GLIBC_TUNABLES";

/// `tracepack trace [options] -- COMMAND [ARGS...]`
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

/// `tracepack verify BUNDLE [--spec SPEC] [-- COMMAND [ARGS...]]`; exits 0 passed, 1 failed
Action add_verify_command(CLI::App& app);

/// `tracepack exec BUNDLE [--cwd DIR] -- COMMAND [ARGS...]`
Action add_exec_command(CLI::App& app);

/// `tracepack why TRACE|BUNDLE PATH [--spec SPEC]`
Action add_why_command(CLI::App& app);

/// `tracepack diff A B [--format text|json] [--spec SPEC]`; exits 0 equal, 1 different, 2 on error
Action add_diff_command(CLI::App& app);

/// `tracepack report TRACE|BUNDLE [--format text|json|html] [-o FILE] [--spec SPEC]`
Action add_report_command(CLI::App& app);

}  // namespace tracepack::cli

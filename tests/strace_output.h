// Reading strace's output (`strace -f -y -o FILE`), for the tests that compare
// tracepack's traces with strace: whole calls (the halves of a call
// interrupted by another process's line joined again), their arguments split
// at top-level commas, C string escapes undone, and the paths -y prints after
// file descriptors.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tracepack::test {

/// One complete system call of strace's output.
struct StraceCall {
  std::string pid;                ///< the first column (strace -f)
  std::string name;               ///< "openat"
  std::vector<std::string> args;  ///< each argument as printed, surrounding spaces removed
  std::string result;             ///< the text after " = " ("3</etc/hosts>", "-1 ENOENT (...)"); empty when none
};

/// Every call of the file `strace -f -o` wrote, in order: "<unfinished ...>"
/// and "<... NAME resumed>" joined per pid; signal ("---") and exit ("+++")
/// lines left out.
std::vector<StraceCall> read_strace_calls(const std::string& file);

/// One call line without its pid ("openat(3</x>, \"y\", O_RDONLY) = 4</x/y>");
/// nullopt when it is not a call.
std::optional<StraceCall> parse_strace_call(std::string_view line);

/// Undoes strace's C-style string escapes (\n, \t, \", \\, \xHH, \ooo).
std::string unescape_strace(std::string_view text);

/// A quoted string argument.
struct StraceString {
  std::string bytes;  ///< unescaped
  bool cut = false;   ///< strace printed "..." after it: it did not read the string to its end
};

/// `arg` when it is a quoted string ("\"/etc\"" or "\"abc\"..."); nullopt for
/// NULL, addresses, numbers, flags and structures.
std::optional<StraceString> string_argument(std::string_view arg);

/// A call's result.
struct StraceResult {
  long value = -1;
  std::string fd_path;  ///< the -y decoration of a returned fd, unescaped
};

/// "3</usr/lib/libc.so.6>" -> {3, "/usr/lib/libc.so.6"}; nullopt for "?".
std::optional<StraceResult> parse_strace_result(std::string_view result);

/// Every path -y prints in `text` after a descriptor ("3</etc>" -> "/etc",
/// "AT_FDCWD</tmp>" -> "/tmp"), unescaped, outside quoted strings.
std::vector<std::string> fd_paths(std::string_view text);

}  // namespace tracepack::test

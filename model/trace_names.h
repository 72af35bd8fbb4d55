// The names the trace format spells enums and errno values with: shared by
// the trace writer and reader (trace_writer.cc, trace_reader.cc). Internal to model/.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace tracepack::trace_format {

/// The first field of a trace's header line.
inline constexpr std::string_view kFormatName = "tracepack-trace";

/// Indexed by the enums' values (trace.h).
inline constexpr std::array<std::string_view, 16> kAccessKindNames = {"read",    "write", "create", "exec",   "stat",   "readlink",
                                                                      "list",    "chdir", "mkdir",  "remove", "rename", "link",
                                                                      "symlink", "attr",  "watch",  "other"};
inline constexpr std::array<std::string_view, 4> kOriginNames = {"syscall", "shebang", "elf_interp", "exe"};
inline constexpr std::array<std::string_view, 9> kFileTypeNames = {"none",   "regular",     "directory",    "symlink", "fifo",
                                                                   "socket", "char_device", "block_device", "other"};

/// The name of `value` in `names` (indexed by the enum's value), "unknown" past the end.
template <class Enum, std::size_t N>
std::string_view enum_name(const std::array<std::string_view, N>& names, Enum value) {
  auto index = static_cast<std::size_t>(value);
  return index < N ? names[index] : std::string_view("unknown");
}

/// The enum value named `name` in `names`, nullopt for none.
template <class Enum, std::size_t N>
std::optional<Enum> enum_from_name(const std::array<std::string_view, N>& names, std::string_view name) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == name) return static_cast<Enum>(i);
  }
  return std::nullopt;
}

/// Appends "ENOENT" for a known errno, "E<number>" for any other value.
void append_errno_name(std::string& out, int number);

/// Inverse of append_errno_name; also accepts the aliases (EWOULDBLOCK...)
/// and "E<number>". nullopt for anything else.
std::optional<int> errno_from_name(std::string_view name);

}  // namespace tracepack::trace_format

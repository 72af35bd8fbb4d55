// Reading a stopped tracee's memory: path strings, argv arrays, small structs.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tracepack::tracer {

/// Longest path the kernel accepts, terminating NUL included.
inline constexpr std::size_t kPathMax = 4096;

/// A NUL-terminated string at `address` in `tid`, at most `limit` bytes
/// (terminator excluded). nullopt when the memory cannot be read (EFAULT) or
/// no NUL appears within the limit. Reads page by page with process_vm_readv,
/// falling back to PTRACE_PEEKDATA where that syscall is refused.
std::optional<std::string> read_string(pid_t tid, std::uint64_t address, std::size_t limit = kPathMax - 1);

/// A path argument as the kernel copies it: the bytes before the first NUL,
/// read no further than kPathMax bytes. When no NUL appears within kPathMax
/// bytes the kernel fails the call with ENAMETOOLONG without reading on; so
/// does this: the kPathMax bytes are returned, and a result of exactly
/// kPathMax bytes (longer than any real path) means "cut, no terminator".
/// nullopt when the memory cannot be read (EFAULT).
std::optional<std::string> read_path(pid_t tid, std::uint64_t address);

/// `size` bytes at `address`; false when unreadable.
bool read_bytes(pid_t tid, std::uint64_t address, void* out, std::size_t size);

/// Writes `size` bytes at `address`; false when the memory cannot be written.
bool write_bytes(pid_t tid, std::uint64_t address, const void* data, std::size_t size);

/// A NULL-terminated array of string pointers (argv), each pointer
/// `pointer_size` bytes wide. Stops quietly at unreadable memory.
std::vector<std::string> read_string_array(pid_t tid, std::uint64_t address, unsigned pointer_size);

}  // namespace tracepack::tracer

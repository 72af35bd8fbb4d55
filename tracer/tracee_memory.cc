// Reading tracee memory while the tracee is stopped.
//
// process_vm_readv copies straight from the tracee's pages in one call, but
// fails as a whole when any part of the range is unmapped; a string near the
// end of a mapping would then be unreadable. Reads are therefore cut at page
// boundaries: the first chunk ends at the string's page end, and later chunks
// are whole pages, so an unmapped page after the terminator is never touched.
// Where process_vm_readv itself is refused (old kernels, some seccomp
// sandboxes), PTRACE_PEEKDATA reads a word at a time.
#include "tracee_memory.h"

#include <errno.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace tracepack::tracer {
namespace {

const std::size_t kPageSize = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));

bool peek_bytes(pid_t tid, std::uint64_t address, char* out, std::size_t size) {
  std::size_t done = 0;
  while (done < size) {
    std::uint64_t aligned = (address + done) & ~std::uint64_t{sizeof(long) - 1};
    errno = 0;
    long word = ptrace(PTRACE_PEEKDATA, tid, aligned, nullptr);
    if (errno != 0) return false;
    std::size_t skip = static_cast<std::size_t>(address + done - aligned);
    std::size_t n = std::min(sizeof(long) - skip, size - done);
    std::memcpy(out + done, reinterpret_cast<char*>(&word) + skip, n);
    done += n;
  }
  return true;
}

bool vm_read(pid_t tid, std::uint64_t address, char* out, std::size_t size) {
  iovec local{out, size};
  iovec remote{reinterpret_cast<void*>(address), size};
  ssize_t n = process_vm_readv(tid, &local, 1, &remote, 1, 0);
  if (n == static_cast<ssize_t>(size)) return true;
  if (n < 0 && (errno == ENOSYS || errno == EPERM)) return peek_bytes(tid, address, out, size);
  return false;
}

// Reads up to `max_bytes` bytes, stopping at the first NUL (left out);
// `terminated` says whether one was found.
std::optional<std::string> read_until_nul(pid_t tid, std::uint64_t address, std::size_t max_bytes, bool& terminated) {
  terminated = false;
  if (address == 0) return std::nullopt;
  std::string result;
  char buffer[4096];
  std::uint64_t at = address;
  while (result.size() < max_bytes) {
    std::size_t to_page_end = kPageSize - static_cast<std::size_t>(at % kPageSize);
    std::size_t chunk = std::min({to_page_end, sizeof buffer, max_bytes - result.size()});
    if (!vm_read(tid, at, buffer, chunk)) return std::nullopt;
    const void* nul = std::memchr(buffer, '\0', chunk);
    if (nul != nullptr) {
      result.append(buffer, static_cast<const char*>(nul) - buffer);
      terminated = true;
      return result;
    }
    result.append(buffer, chunk);
    at += chunk;
  }
  return result;
}

}  // namespace

bool read_bytes(pid_t tid, std::uint64_t address, void* out, std::size_t size) {
  return address != 0 && vm_read(tid, address, static_cast<char*>(out), size);
}

bool write_bytes(pid_t tid, std::uint64_t address, const void* data, std::size_t size) {
  iovec local{const_cast<void*>(data), size};
  iovec remote{reinterpret_cast<void*>(address), size};
  return address != 0 && process_vm_writev(tid, &local, 1, &remote, 1, 0) == static_cast<ssize_t>(size);
}

std::optional<std::string> read_string(pid_t tid, std::uint64_t address, std::size_t limit) {
  bool terminated = false;
  std::optional<std::string> s = read_until_nul(tid, address, limit + 1, terminated);
  if (!terminated) return std::nullopt;
  return s;
}

std::optional<std::string> read_path(pid_t tid, std::uint64_t address) {
  bool terminated = false;
  return read_until_nul(tid, address, kPathMax, terminated);
}

std::vector<std::string> read_string_array(pid_t tid, std::uint64_t address, unsigned pointer_size) {
  std::vector<std::string> strings;
  // ARG_MAX bounds argv in practice; the cap only guards against garbage pointers.
  constexpr std::size_t kMaxEntries = 1 << 20;
  for (std::size_t i = 0; address != 0 && i < kMaxEntries; ++i) {
    std::uint64_t pointer = 0;
    if (!read_bytes(tid, address + i * pointer_size, &pointer, pointer_size)) break;
    if (pointer == 0) break;
    std::optional<std::string> s = read_string(tid, pointer, 128 * 1024);
    if (!s) break;
    strings.push_back(std::move(*s));
  }
  return strings;
}

}  // namespace tracepack::tracer

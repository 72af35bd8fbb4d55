// The errno table of the trace format and the public to_string of its enums.
// Every errno Linux defines is written by name, so a trace reads the same on
// any host; numbers without a name are written "E<number>".
#include "trace_names.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <iterator>
#include <unordered_map>

#include "tracepack/trace.h"

namespace tracepack {
namespace trace_format {
namespace {

struct ErrnoName {
  int number;
  std::string_view name;
};

// Every errno Linux defines, in increasing order. The first group is the
// user-space set from <errno.h>; the second holds the kernel-internal values
// (include/linux/errno.h) that a tracer can still see in a syscall's return
// register at the exit stop, e.g. ERESTARTSYS when a signal interrupts a call.
#define TRACEPACK_ERRNO(name) \
  { name, #name }
constexpr ErrnoName kErrnoNames[] = {
    TRACEPACK_ERRNO(EPERM),
    TRACEPACK_ERRNO(ENOENT),
    TRACEPACK_ERRNO(ESRCH),
    TRACEPACK_ERRNO(EINTR),
    TRACEPACK_ERRNO(EIO),
    TRACEPACK_ERRNO(ENXIO),
    TRACEPACK_ERRNO(E2BIG),
    TRACEPACK_ERRNO(ENOEXEC),
    TRACEPACK_ERRNO(EBADF),
    TRACEPACK_ERRNO(ECHILD),
    TRACEPACK_ERRNO(EAGAIN),
    TRACEPACK_ERRNO(ENOMEM),
    TRACEPACK_ERRNO(EACCES),
    TRACEPACK_ERRNO(EFAULT),
    TRACEPACK_ERRNO(ENOTBLK),
    TRACEPACK_ERRNO(EBUSY),
    TRACEPACK_ERRNO(EEXIST),
    TRACEPACK_ERRNO(EXDEV),
    TRACEPACK_ERRNO(ENODEV),
    TRACEPACK_ERRNO(ENOTDIR),
    TRACEPACK_ERRNO(EISDIR),
    TRACEPACK_ERRNO(EINVAL),
    TRACEPACK_ERRNO(ENFILE),
    TRACEPACK_ERRNO(EMFILE),
    TRACEPACK_ERRNO(ENOTTY),
    TRACEPACK_ERRNO(ETXTBSY),
    TRACEPACK_ERRNO(EFBIG),
    TRACEPACK_ERRNO(ENOSPC),
    TRACEPACK_ERRNO(ESPIPE),
    TRACEPACK_ERRNO(EROFS),
    TRACEPACK_ERRNO(EMLINK),
    TRACEPACK_ERRNO(EPIPE),
    TRACEPACK_ERRNO(EDOM),
    TRACEPACK_ERRNO(ERANGE),
    TRACEPACK_ERRNO(EDEADLK),
    TRACEPACK_ERRNO(ENAMETOOLONG),
    TRACEPACK_ERRNO(ENOLCK),
    TRACEPACK_ERRNO(ENOSYS),
    TRACEPACK_ERRNO(ENOTEMPTY),
    TRACEPACK_ERRNO(ELOOP),
    TRACEPACK_ERRNO(ENOMSG),
    TRACEPACK_ERRNO(EIDRM),
    TRACEPACK_ERRNO(ECHRNG),
    TRACEPACK_ERRNO(EL2NSYNC),
    TRACEPACK_ERRNO(EL3HLT),
    TRACEPACK_ERRNO(EL3RST),
    TRACEPACK_ERRNO(ELNRNG),
    TRACEPACK_ERRNO(EUNATCH),
    TRACEPACK_ERRNO(ENOCSI),
    TRACEPACK_ERRNO(EL2HLT),
    TRACEPACK_ERRNO(EBADE),
    TRACEPACK_ERRNO(EBADR),
    TRACEPACK_ERRNO(EXFULL),
    TRACEPACK_ERRNO(ENOANO),
    TRACEPACK_ERRNO(EBADRQC),
    TRACEPACK_ERRNO(EBADSLT),
    TRACEPACK_ERRNO(EBFONT),
    TRACEPACK_ERRNO(ENOSTR),
    TRACEPACK_ERRNO(ENODATA),
    TRACEPACK_ERRNO(ETIME),
    TRACEPACK_ERRNO(ENOSR),
    TRACEPACK_ERRNO(ENONET),
    TRACEPACK_ERRNO(ENOPKG),
    TRACEPACK_ERRNO(EREMOTE),
    TRACEPACK_ERRNO(ENOLINK),
    TRACEPACK_ERRNO(EADV),
    TRACEPACK_ERRNO(ESRMNT),
    TRACEPACK_ERRNO(ECOMM),
    TRACEPACK_ERRNO(EPROTO),
    TRACEPACK_ERRNO(EMULTIHOP),
    TRACEPACK_ERRNO(EDOTDOT),
    TRACEPACK_ERRNO(EBADMSG),
    TRACEPACK_ERRNO(EOVERFLOW),
    TRACEPACK_ERRNO(ENOTUNIQ),
    TRACEPACK_ERRNO(EBADFD),
    TRACEPACK_ERRNO(EREMCHG),
    TRACEPACK_ERRNO(ELIBACC),
    TRACEPACK_ERRNO(ELIBBAD),
    TRACEPACK_ERRNO(ELIBSCN),
    TRACEPACK_ERRNO(ELIBMAX),
    TRACEPACK_ERRNO(ELIBEXEC),
    TRACEPACK_ERRNO(EILSEQ),
    TRACEPACK_ERRNO(ERESTART),
    TRACEPACK_ERRNO(ESTRPIPE),
    TRACEPACK_ERRNO(EUSERS),
    TRACEPACK_ERRNO(ENOTSOCK),
    TRACEPACK_ERRNO(EDESTADDRREQ),
    TRACEPACK_ERRNO(EMSGSIZE),
    TRACEPACK_ERRNO(EPROTOTYPE),
    TRACEPACK_ERRNO(ENOPROTOOPT),
    TRACEPACK_ERRNO(EPROTONOSUPPORT),
    TRACEPACK_ERRNO(ESOCKTNOSUPPORT),
    TRACEPACK_ERRNO(EOPNOTSUPP),
    TRACEPACK_ERRNO(EPFNOSUPPORT),
    TRACEPACK_ERRNO(EAFNOSUPPORT),
    TRACEPACK_ERRNO(EADDRINUSE),
    TRACEPACK_ERRNO(EADDRNOTAVAIL),
    TRACEPACK_ERRNO(ENETDOWN),
    TRACEPACK_ERRNO(ENETUNREACH),
    TRACEPACK_ERRNO(ENETRESET),
    TRACEPACK_ERRNO(ECONNABORTED),
    TRACEPACK_ERRNO(ECONNRESET),
    TRACEPACK_ERRNO(ENOBUFS),
    TRACEPACK_ERRNO(EISCONN),
    TRACEPACK_ERRNO(ENOTCONN),
    TRACEPACK_ERRNO(ESHUTDOWN),
    TRACEPACK_ERRNO(ETOOMANYREFS),
    TRACEPACK_ERRNO(ETIMEDOUT),
    TRACEPACK_ERRNO(ECONNREFUSED),
    TRACEPACK_ERRNO(EHOSTDOWN),
    TRACEPACK_ERRNO(EHOSTUNREACH),
    TRACEPACK_ERRNO(EALREADY),
    TRACEPACK_ERRNO(EINPROGRESS),
    TRACEPACK_ERRNO(ESTALE),
    TRACEPACK_ERRNO(EUCLEAN),
    TRACEPACK_ERRNO(ENOTNAM),
    TRACEPACK_ERRNO(ENAVAIL),
    TRACEPACK_ERRNO(EISNAM),
    TRACEPACK_ERRNO(EREMOTEIO),
    TRACEPACK_ERRNO(EDQUOT),
    TRACEPACK_ERRNO(ENOMEDIUM),
    TRACEPACK_ERRNO(EMEDIUMTYPE),
    TRACEPACK_ERRNO(ECANCELED),
    TRACEPACK_ERRNO(ENOKEY),
    TRACEPACK_ERRNO(EKEYEXPIRED),
    TRACEPACK_ERRNO(EKEYREVOKED),
    TRACEPACK_ERRNO(EKEYREJECTED),
    TRACEPACK_ERRNO(EOWNERDEAD),
    TRACEPACK_ERRNO(ENOTRECOVERABLE),
    TRACEPACK_ERRNO(ERFKILL),
    TRACEPACK_ERRNO(EHWPOISON),
    {512, "ERESTARTSYS"},
    {513, "ERESTARTNOINTR"},
    {514, "ERESTARTNOHAND"},
    {515, "ENOIOCTLCMD"},
    {516, "ERESTART_RESTARTBLOCK"},
    {517, "EPROBE_DEFER"},
    {518, "EOPENSTALE"},
    {519, "ENOPARAM"},
    {521, "EBADHANDLE"},
    {522, "ENOTSYNC"},
    {523, "EBADCOOKIE"},
    {524, "ENOTSUPP"},
    {525, "ETOOSMALL"},
    {526, "ESERVERFAULT"},
    {527, "EBADTYPE"},
    {528, "EJUKEBOX"},
    {529, "EIOCBQUEUED"},
    {530, "ERECALLCONFLICT"},
    {531, "ENOGRACE"},
};
#undef TRACEPACK_ERRNO
static_assert(std::is_sorted(std::begin(kErrnoNames), std::end(kErrnoNames),
                             [](const ErrnoName& a, const ErrnoName& b) { return a.number < b.number; }),
              "errno_name() searches kErrnoNames by binary search");

// Other spellings of the same numbers, accepted when reading.
constexpr ErrnoName kErrnoAliases[] = {{EWOULDBLOCK, "EWOULDBLOCK"}, {EDEADLOCK, "EDEADLOCK"}, {ENOTSUP, "ENOTSUP"}};

}  // namespace

void append_errno_name(std::string& out, int number) {
  auto it =
      std::lower_bound(std::begin(kErrnoNames), std::end(kErrnoNames), number, [](const ErrnoName& e, int n) { return e.number < n; });
  if (it != std::end(kErrnoNames) && it->number == number) {
    out += it->name;
  } else {
    out += 'E';
    out += std::to_string(number);
  }
}

/// Inverse of errno_name; also accepts the aliases. nullopt for anything else.
std::optional<int> errno_from_name(std::string_view name) {
  static const std::unordered_map<std::string_view, int> names = [] {
    std::unordered_map<std::string_view, int> map;
    for (const ErrnoName& e : kErrnoNames) map.emplace(e.name, e.number);
    for (const ErrnoName& e : kErrnoAliases) map.emplace(e.name, e.number);
    return map;
  }();
  if (auto it = names.find(name); it != names.end()) return it->second;
  if (name.size() < 2 || name[0] != 'E') return std::nullopt;
  int number = 0;
  auto [end, ec] = std::from_chars(name.data() + 1, name.data() + name.size(), number);
  if (ec != std::errc() || end != name.data() + name.size()) return std::nullopt;
  return number;
}

}  // namespace trace_format

std::string_view to_string(AccessKind kind) { return trace_format::enum_name(trace_format::kAccessKindNames, kind); }
std::string_view to_string(AccessOrigin origin) { return trace_format::enum_name(trace_format::kOriginNames, origin); }
std::string_view to_string(FileType type) { return trace_format::enum_name(trace_format::kFileTypeNames, type); }

}  // namespace tracepack

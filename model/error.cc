#include "tracepack/error.h"

#include <cerrno>
#include <cstring>

namespace tracepack {

std::string system_error_message(const std::string& what, int err) { return what + ": " + std::strerror(err); }

void throw_system_error(const std::string& what) { throw Error(system_error_message(what, errno)); }

}  // namespace tracepack

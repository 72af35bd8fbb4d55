// tracepack::Error: the one exception type every library stage throws.
#pragma once

#include <stdexcept>
#include <string>

namespace tracepack {

/// A failure a user can act on. The message follows "subject: problem" in lower
/// case; system errors end with ": <strerror>". Only cli/ catches and prints it.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Builds "<what>: <strerror(err)>" for a failed system call.
std::string system_error_message(const std::string& what, int err);

/// Throws Error(system_error_message(what, errno)).
[[noreturn]] void throw_system_error(const std::string& what);

}  // namespace tracepack

// The path escaping of the trace format (see encode_path in trace.h), fused
// with JSON string escaping for the trace writer's hot loop. Internal to model/.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tracepack::trace_format {

/// Length of the well-formed UTF-8 sequence that starts at s[i], 0 if s[i]
/// starts none (Unicode Table 3-7).
std::size_t utf8_sequence_length(std::string_view s, std::size_t i);

/// Appends '%' and the two upper-case hex digits of `byte`.
void append_percent(std::string& out, unsigned char byte);

/// Appends an ASCII character as it must appear inside a JSON string.
void append_json_ascii(std::string& out, char c);

/// True for ASCII that passes through both escapings untouched.
inline bool is_plain_ascii(char c) { return c >= 0x20 && c < 0x7F && c != '%' && c != '"' && c != '\\'; }

/// Appends the escaped form of `bytes` (see encode_path); with kJson, also
/// escapes it for the inside of a JSON string literal.
template <bool kJson>
void append_encoded(std::string& out, std::string_view bytes) {
  std::size_t i = 0;
  while (i < bytes.size()) {
    std::size_t run = i;
    while (run < bytes.size() && is_plain_ascii(bytes[run])) ++run;
    out.append(bytes.data() + i, run - i);
    if (run == bytes.size()) return;
    i = run;
    auto c = static_cast<unsigned char>(bytes[i]);
    std::size_t length = c < 0x80 ? 1 : utf8_sequence_length(bytes, i);
    if (c == '%' || length == 0) {
      append_percent(out, c);
      length = 1;
    } else if (c < 0x80) {
      if constexpr (kJson)
        append_json_ascii(out, bytes[i]);
      else
        out += bytes[i];
    } else {
      out.append(bytes.data() + i, length);
    }
    i += length;
  }
}

/// Decodes `text` into `out`. On a malformed escape returns false and sets
/// `bad` to the offset of its '%'.
bool decode_into(std::string_view text, std::string& out, std::size_t& bad);

/// "invalid escape '%4' at offset 3": the problem of a bad escape at `bad`.
std::string bad_escape_message(std::string_view text, std::size_t bad);

}  // namespace tracepack::trace_format

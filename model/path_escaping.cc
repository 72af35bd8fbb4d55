// Path escaping: a string is a sequence of bytes. Each maximal well-formed UTF-8
// sequence (Unicode Table 3-7: no overlongs, no surrogates, nothing above
// U+10FFFF) is kept as is, except '%'; '%' and every byte that does not start a
// well-formed sequence become "%XX". The result is valid UTF-8, hence a valid
// JSON string once '"', '\' and control characters are escaped the JSON way
// (append_encoded<true>, which the trace writer uses).
#include "path_escaping.h"

#include <optional>
#include <utility>

#include "tracepack/error.h"
#include "tracepack/trace.h"

namespace tracepack {
namespace trace_format {

std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  // 0x100 stands for "past the end": it is in no byte range below.
  auto byte = [&](std::size_t k) -> unsigned { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0x100u; };
  auto in = [](unsigned b, unsigned lo, unsigned hi) { return b >= lo && b <= hi; };
  unsigned b0 = byte(0);
  if (b0 < 0x80) return 1;
  std::size_t length = 0;
  unsigned lo = 0x80, hi = 0xBF;  // range of the second byte
  if (in(b0, 0xC2, 0xDF)) {
    length = 2;
  } else if (in(b0, 0xE0, 0xEF)) {
    length = 3;
    if (b0 == 0xE0) lo = 0xA0;  // shorter forms are overlong
    if (b0 == 0xED) hi = 0x9F;  // ED A0..BF would be a surrogate
  } else if (in(b0, 0xF0, 0xF4)) {
    length = 4;
    if (b0 == 0xF0) lo = 0x90;  // overlong
    if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;  // continuation byte, C0/C1 (always overlong) or F5..FF
  }
  if (!in(byte(1), lo, hi)) return 0;
  for (std::size_t k = 2; k < length; ++k) {
    if (!in(byte(k), 0x80, 0xBF)) return 0;
  }
  return length;
}

void append_percent(std::string& out, unsigned char byte) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  out += '%';
  out += kHex[byte >> 4];
  out += kHex[byte & 0xF];
}

/// Appends an ASCII character as it must appear inside a JSON string.
void append_json_ascii(std::string& out, char c) {
  switch (c) {
    case '"':
      out += "\\\"";
      return;
    case '\\':
      out += "\\\\";
      return;
    case '\n':
      out += "\\n";
      return;
    case '\t':
      out += "\\t";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\b':
      out += "\\b";
      return;
    case '\f':
      out += "\\f";
      return;
    default:
      break;
  }
  if (static_cast<unsigned char>(c) < 0x20) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += "\\u00";
    out += kHex[c >> 4];
    out += kHex[c & 0xF];
  } else {
    out += c;
  }
}

namespace {

int hex_value(std::string_view text, std::size_t i) {
  if (i >= text.size()) return -1;
  char c = text[i];
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

bool decode_into(std::string_view text, std::string& out, std::size_t& bad) {
  out.clear();
  out.reserve(text.size());
  std::size_t i = 0;
  for (;;) {
    std::size_t percent = text.find('%', i);
    if (percent == std::string_view::npos) {
      out.append(text.substr(i));
      return true;
    }
    out.append(text.substr(i, percent - i));
    int high = hex_value(text, percent + 1);
    int low = high < 0 ? -1 : hex_value(text, percent + 2);
    if (low < 0) {
      bad = percent;
      return false;
    }
    out += static_cast<char>(high * 16 + low);
    i = percent + 3;
  }
}

std::string bad_escape_message(std::string_view text, std::size_t bad) {
  return "invalid escape '" + std::string(text.substr(bad, 3)) + "' at offset " + std::to_string(bad);
}

}  // namespace trace_format

std::string encode_path(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  trace_format::append_encoded<false>(out, bytes);
  return out;
}

PathBytes decode_path(std::string_view text) {
  std::string problem;
  std::optional<PathBytes> bytes = decode_path(text, problem);
  if (!bytes) throw Error("path: " + problem);
  return std::move(*bytes);
}

std::optional<PathBytes> decode_path(std::string_view text, std::string& problem) {
  PathBytes bytes;
  std::size_t bad = 0;
  if (trace_format::decode_into(text, bytes, bad)) return bytes;
  problem = trace_format::bad_escape_message(text, bad);
  return std::nullopt;
}

}  // namespace tracepack

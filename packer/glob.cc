// Glob matching for include:/exclude: patterns.
//
// A pattern and a path are both split at '/' into components (empty components,
// from a leading, doubled or trailing '/', are dropped). A component that is
// exactly "**" matches any run of zero or more path components; every other
// component is matched against exactly one path component by fnmatch(3) with
// FNM_PATHNAME and without FNM_PERIOD, so '*' also matches names that start
// with '.'. Matching runs under the "C" locale, so '?' and '[...]' see bytes,
// never multibyte characters.
//
// Before matching, a pattern is normalized:
//   - a pattern not starting with '/' gets a leading "**" (it matches at any depth);
//   - runs of "**" collapse into one;
//   - a trailing "**" becomes "*" "**": "/usr/lib/**" matches everything below
//     /usr/lib, but not /usr/lib itself.
// The component lists are then matched like a one-wildcard string pattern
// (each "**" a '*', each other component a single character): on a mismatch,
// the last "**" absorbs one more path component and matching resumes after it.
// Only the last "**" needs revisiting, so this is O(components²) at worst.
#include <fnmatch.h>
#include <locale.h>

#include <algorithm>
#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "tracepack/spec.h"

namespace tracepack {
namespace {

constexpr std::string_view kAnyDepth = "**";

std::vector<std::string_view> split_components(std::string_view text) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t slash = text.find('/', start);
    if (slash == text.npos) slash = text.size();
    if (slash > start) parts.push_back(text.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

std::vector<std::string_view> normalize_pattern(std::string_view pattern) {
  std::vector<std::string_view> parts;
  if (!pattern.starts_with('/')) parts.push_back(kAnyDepth);
  for (std::string_view part : split_components(pattern))
    if (part != kAnyDepth || parts.empty() || parts.back() != kAnyDepth) parts.push_back(part);
  if (!parts.empty() && parts.back() == kAnyDepth) {
    parts.back() = "*";
    parts.push_back(kAnyDepth);
  }
  return parts;
}

// Switches the calling thread to the "C" locale for its lifetime, so that
// fnmatch compares bytes whatever locale the program set.
class CLocaleScope {
 public:
  CLocaleScope() : previous_(uselocale(c_locale())) {}
  ~CLocaleScope() { uselocale(previous_); }
  CLocaleScope(const CLocaleScope&) = delete;
  CLocaleScope& operator=(const CLocaleScope&) = delete;

 private:
  static locale_t c_locale() {
    static const locale_t c = newlocale(LC_ALL_MASK, "C", locale_t{});
    return c;
  }
  locale_t previous_;
};

bool component_match(std::string_view pattern, std::string_view name) {
  // fnmatch wants NUL-terminated strings; components are short.
  return fnmatch(std::string(pattern).c_str(), std::string(name).c_str(), FNM_PATHNAME) == 0;
}

bool match_components(const std::vector<std::string_view>& pattern, const std::vector<std::string_view>& path) {
  std::size_t p = 0, s = 0;
  std::size_t star = pattern.size(), star_s = 0;  // last "**" seen, and where it started absorbing
  while (s < path.size()) {
    if (p < pattern.size() && pattern[p] == kAnyDepth) {
      star = p++;
      star_s = s;
    } else if (p < pattern.size() && component_match(pattern[p], path[s])) {
      ++p;
      ++s;
    } else if (star != pattern.size()) {
      p = star + 1;
      s = ++star_s;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == kAnyDepth) ++p;
  return p == pattern.size();
}

constexpr std::array<std::string_view, 12> kCharClasses = {"alnum", "alpha", "blank", "cntrl", "digit", "graph",
                                                           "lower", "print", "punct", "space", "upper", "xdigit"};

bool is_char_class(std::string_view name) {
  for (std::string_view known : kCharClasses)
    if (name == known) return true;
  return false;
}

// Checks the bracket expression starting at component[open] == '['. On success
// sets `end` to the index of its closing ']' and returns "".
std::string bracket_error(std::string_view component, std::size_t open, std::size_t& end) {
  std::size_t i = open + 1;
  if (i < component.size() && (component[i] == '!' || component[i] == '^')) ++i;
  if (i < component.size() && component[i] == ']') ++i;  // a leading ']' is a member
  while (i < component.size()) {
    char c = component[i];
    if (c == ']') {
      end = i;
      return "";
    }
    if (c == '\\') {
      i += 2;
    } else if (c == '[' && i + 1 < component.size() && std::string_view(":.=").find(component[i + 1]) != std::string_view::npos) {
      char kind = component[i + 1];
      std::size_t close = component.find(std::string{kind, ']'}, i + 2);
      if (close == component.npos) return std::string("unclosed '[") + kind + "'";
      std::string_view name = component.substr(i + 2, close - i - 2);
      if (kind == ':' && !is_char_class(name)) return "unknown character class '" + std::string(name) + "'";
      i = close + 2;
    } else {
      ++i;
    }
  }
  return "unclosed '['";
}

std::string component_error(std::string_view component) {
  if (component == "." || component == "..")
    return "'" + std::string(component) + "' components never match (paths are absolute and normalized)";
  for (std::size_t i = 0; i < component.size(); ++i) {
    if (component[i] == '\\') {
      if (i + 1 == component.size()) return "'\\' at the end of a component escapes nothing";
      ++i;
    } else if (component[i] == '[') {
      std::size_t end = 0;
      std::string error = bracket_error(component, i, end);
      if (!error.empty()) return error;
      i = end;
    }
  }
  return "";
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view path) {
  CLocaleScope c_locale;
  return match_components(normalize_pattern(pattern), split_components(path));
}

std::string glob_error(std::string_view pattern) {
  if (pattern.empty()) return "empty pattern";
  if (pattern.find('\0') != pattern.npos) return "NUL byte in pattern";
  for (std::string_view component : split_components(pattern)) {
    std::string error = component_error(component);
    if (!error.empty()) return error;
  }
  return "";
}

namespace {

// Plain YAML scalars (no quotes needed) made of these characters only.
bool plain_yaml_safe(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("/._+-~@\\=,*").find(c) != std::string_view::npos;
  });
}

}  // namespace

std::string elf_list_item(std::string_view path) {
  if (plain_yaml_safe(path) && path.find('*') == std::string_view::npos) return "- elf: " + std::string(path);
  std::string quoted = "'";
  for (char c : path) quoted += c == '\'' ? std::string("''") : std::string(1, c);
  return "- elf: " + quoted + "'";
}

std::string glob_list_item(std::string_view path, std::string_view tail) {
  std::string pattern;
  for (char c : path) {
    if (c == '*' || c == '?' || c == '[' || c == '\\') pattern += '\\';
    pattern += c;
  }
  pattern += tail;
  if (plain_yaml_safe(pattern) && pattern.front() != '*') return "- " + pattern;
  std::string quoted = "'";
  for (char c : pattern) quoted += c == '\'' ? std::string("''") : std::string(1, c);
  return "- " + quoted + "'";
}

}  // namespace tracepack

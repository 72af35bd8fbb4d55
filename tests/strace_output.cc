// strace's output, read back. A call line is scanned once, character by
// character, keeping track of what cannot hold an argument separator: quoted
// strings (with their backslash escapes), the -y decorations "<...>" after a
// descriptor (whose '<' and '>' strace escapes inside the path), comments
// "/* ... */", and brackets of arrays, structures and nested calls. A comma
// at depth 0 ends an argument; the ')' that closes the call ends the list.
#include "strace_output.h"

#include <cctype>
#include <fstream>
#include <map>

namespace tracepack::test {
namespace {

// Index just past the quoted string starting at text[open] (a '"').
std::size_t skip_string(std::string_view text, std::size_t open) {
  std::size_t i = open + 1;
  while (i < text.size() && text[i] != '"') i += text[i] == '\\' ? 2 : 1;
  return std::min(i + 1, text.size());
}

// Index just past the decoration starting at text[open] (a '<'); -yy nests them.
std::size_t skip_decoration(std::string_view text, std::size_t open) {
  int depth = 0;
  std::size_t i = open;
  while (i < text.size()) {
    char c = text[i];
    if (c == '\\') {
      i += 2;
      continue;
    }
    if (c == '<') ++depth;
    if (c == '>' && --depth == 0) return i + 1;
    ++i;
  }
  return text.size();
}

// A '<' opens a decoration when it follows a descriptor ("3<", "AT_FDCWD<").
bool opens_decoration(std::string_view text, std::size_t i) {
  return text[i] == '<' && i > 0 && (std::isalnum(static_cast<unsigned char>(text[i - 1])) || text[i - 1] == '_');
}

std::string trimmed(std::string_view text) {
  std::size_t begin = text.find_first_not_of(' ');
  if (begin == std::string_view::npos) return {};
  std::size_t end = text.find_last_not_of(' ');
  return std::string(text.substr(begin, end - begin + 1));
}

}  // namespace

std::string unescape_strace(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      out += text[i];
      continue;
    }
    char c = text[++i];
    if (c == 'x' && i + 2 < text.size() + 1) {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else if (c >= '0' && c <= '7') {
      std::size_t len = 1;
      while (len < 3 && i + len < text.size() && text[i + len] >= '0' && text[i + len] <= '7') ++len;
      out += static_cast<char>(std::stoi(std::string(text.substr(i, len)), nullptr, 8));
      i += len - 1;
    } else {
      static const std::map<char, char> simple = {{'n', '\n'}, {'t', '\t'}, {'r', '\r'}, {'v', '\v'},
                                                  {'f', '\f'}, {'a', '\a'}, {'b', '\b'}};
      auto it = simple.find(c);
      out += it == simple.end() ? c : it->second;
    }
  }
  return out;
}

std::optional<StraceCall> parse_strace_call(std::string_view line) {
  std::size_t paren = line.find('(');
  if (paren == std::string_view::npos || paren == 0) return std::nullopt;
  StraceCall call;
  call.name = std::string(line.substr(0, paren));
  for (char c : call.name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return std::nullopt;
  }
  int depth = 0;
  std::size_t start = paren + 1;
  std::size_t i = start;
  while (i < line.size()) {
    char c = line[i];
    if (c == '"') {
      i = skip_string(line, i);
    } else if (opens_decoration(line, i)) {
      i = skip_decoration(line, i);
    } else if (line.substr(i, 2) == "/*") {
      std::size_t end = line.find("*/", i + 2);
      i = end == std::string_view::npos ? line.size() : end + 2;
    } else if (c == '(' || c == '[' || c == '{') {
      ++depth, ++i;
    } else if ((c == ')' || c == ']' || c == '}') && depth > 0) {
      --depth, ++i;
    } else if ((c == ',' || c == ')') && depth == 0) {
      std::string arg = trimmed(line.substr(start, i - start));
      if (!arg.empty() || c == ',') call.args.push_back(arg);
      start = ++i;
      if (c == ')') break;
    } else {
      ++i;
    }
  }
  std::size_t eq = line.find(" = ", start);
  if (eq != std::string_view::npos) call.result = trimmed(line.substr(eq + 3));
  return call;
}

std::vector<StraceCall> read_strace_calls(const std::string& file) {
  std::vector<StraceCall> calls;
  std::map<std::string, std::string> unfinished;  // pid -> the call's first half
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    std::size_t space = line.find(' ');
    if (space == std::string::npos) continue;
    std::string pid = line.substr(0, space);
    std::size_t text = line.find_first_not_of(' ', space);
    if (text == std::string::npos) continue;
    std::string call = line.substr(text);
    if (call.starts_with("---") || call.starts_with("+++")) continue;
    if (std::size_t cut = call.find(" <unfinished ...>"); cut != std::string::npos) {
      unfinished[pid] = call.substr(0, cut);
      continue;
    }
    if (call.starts_with("<... ")) {
      std::size_t resumed = call.find(" resumed>");
      if (resumed == std::string::npos || !unfinished.count(pid)) continue;
      call = unfinished[pid] + call.substr(resumed + 9);
      unfinished.erase(pid);
    }
    if (std::optional<StraceCall> parsed = parse_strace_call(call)) {
      parsed->pid = pid;
      calls.push_back(std::move(*parsed));
    }
  }
  return calls;
}

std::optional<StraceString> string_argument(std::string_view arg) {
  if (!arg.starts_with('"')) return std::nullopt;
  std::size_t end = skip_string(arg, 0);
  if (end < 2 || arg[end - 1] != '"') return std::nullopt;
  return StraceString{unescape_strace(arg.substr(1, end - 2)), arg.substr(end).starts_with("...")};
}

std::optional<StraceResult> parse_strace_result(std::string_view text) {
  StraceResult result;
  std::size_t used = 0;
  try {
    result.value = std::stol(std::string(text), &used);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (used < text.size() && text[used] == '<') {
    std::size_t close = skip_decoration(text, used);
    result.fd_path = unescape_strace(text.substr(used + 1, close - used - 2));
  }
  return result;
}

std::vector<std::string> fd_paths(std::string_view text) {
  std::vector<std::string> paths;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '"') {
      i = skip_string(text, i);
    } else if (opens_decoration(text, i)) {
      std::size_t close = skip_decoration(text, i);
      std::string_view inner = text.substr(i + 1, close - i - 2);
      // -yy appends details in a nested "<...>": the path is what precedes it.
      std::size_t nested = 0;
      while (nested < inner.size() && inner[nested] != '<') nested += inner[nested] == '\\' ? 2 : 1;
      paths.push_back(unescape_strace(inner.substr(0, std::min(nested, inner.size()))));
      i = close;
    } else {
      ++i;
    }
  }
  return paths;
}

}  // namespace tracepack::test

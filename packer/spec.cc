// load_spec / parse_spec: tracepack.yaml into a BundleSpec.
//
// yaml-cpp builds the node tree first; a syntax error stops there, reported
// with yaml-cpp's position. The tree is then walked once, level by level. At
// each map the keys are checked against that level's fixed key table (unknown
// keys get a did-you-mean, as ninja's SpellcheckString does; duplicates are
// refused), then each known key's value is checked and read. A problem never
// stops the walk: it is recorded with the file:line:col of the offending node,
// the walk goes on with the next value, and only at the end are all problems
// thrown as one Error, sorted by position (mold's checkpoint).
//
// yaml-cpp keeps every scalar as text; a scalar's kind is decided here with the
// YAML 1.2 core schema, restricted to what a spec needs: an unquoted scalar is
// a boolean (true/false), a decimal number, or else a string; a quoted or block
// scalar is always a string. String fields accept any scalar ("env: {N: 1}"),
// number and boolean fields insist on their kind. yaml-cpp's marks are 0-based;
// messages use 1-based lines and columns.
#include <sys/stat.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tracepack/error.h"
#include "tracepack/knowledge.h"
#include "tracepack/sbom.h"
#include "tracepack/spec.h"
#include "tracepack/spelling.h"

namespace tracepack {
namespace {

// ---- collecting problems ---------------------------------------------------

/// "file:line:col" for a mark (1-based), or just "file" for a null mark.
std::string position(const std::string& file, const YAML::Mark& mark) {
  if (mark.is_null()) return file;
  return file + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

class Problems {
 public:
  explicit Problems(std::string file) : file_(std::move(file)) {}

  /// Records "file:line:col: message" (just "file: message" for a null mark).
  void add(const YAML::Mark& mark, std::string message) {
    problems_.push_back({mark.line, mark.column, position(file_, mark) + ": " + message});
  }

  /// Throws all recorded problems, in file order, as one Error; returns if none.
  void check() {
    if (problems_.empty()) return;
    std::stable_sort(problems_.begin(), problems_.end(),
                     [](const Problem& a, const Problem& b) { return std::pair(a.line, a.column) < std::pair(b.line, b.column); });
    std::string message;
    for (const Problem& p : problems_) message += (message.empty() ? "" : "\n") + p.text;
    throw Error(message);
  }

  SourceLocation location(const YAML::Mark& mark) const {
    if (mark.is_null()) return {file_, 0, 0};
    return {file_, mark.line + 1, mark.column + 1};
  }

 private:
  struct Problem {
    int line, column;
    std::string text;
  };

  std::string file_;
  std::vector<Problem> problems_;
};

std::string quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

/// `text` with NUL bytes shown as "\0", so that a message stays one C string.
std::string printable(std::string_view text) {
  std::string out;
  for (char c : text) out += c == '\0' ? std::string("\\0") : std::string(1, c);
  return out;
}

// ---- scalar kinds ----------------------------------------------------------

bool is_plain(const YAML::Node& node) { return node.IsScalar() && node.Tag() == "?"; }

bool is_bool_word(std::string_view s) { return s == "true" || s == "True" || s == "TRUE" || s == "false" || s == "False" || s == "FALSE"; }

std::size_t skip_digits(std::string_view s, std::size_t i) {
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  return i;
}

// [-+]?(digits(.digits?)?|.digits)([eE][-+]?digits)?: YAML 1.2's decimal
// numbers. Hex, octal, .inf and .nan are left as strings on purpose.
bool is_decimal(std::string_view s) {
  std::size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  std::size_t int_end = skip_digits(s, i);
  std::size_t frac_end = int_end;
  if (frac_end < s.size() && s[frac_end] == '.') frac_end = skip_digits(s, frac_end + 1);
  if (int_end == i && frac_end <= int_end + 1) return false;  // no digit at all
  i = frac_end;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    std::size_t exp = i + 1 + ((i + 1 < s.size() && (s[i + 1] == '-' || s[i + 1] == '+')) ? 1 : 0);
    i = skip_digits(s, exp);
    if (i == exp) return false;
  }
  return i == s.size();
}

bool is_integer_text(std::string_view s) {
  std::size_t start = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  return s.size() > start && skip_digits(s, start) == s.size();
}

/// How a node reads in a message: "a map", "a number", "an empty value"...
std::string kind_name(const YAML::Node& node) {
  if (node.IsMap()) return "a map";
  if (node.IsSequence()) return "a list";
  if (!node.IsScalar()) return "an empty value";
  if (is_plain(node) && is_bool_word(node.Scalar())) return "a boolean";
  if (is_plain(node) && is_decimal(node.Scalar())) return "a number";
  return "a string";
}

// ---- did-you-mean ----------------------------------------------------------

std::string joined(std::span<const std::string_view> items) {
  std::string out;
  for (std::string_view item : items) out += (out.empty() ? "" : ", ") + std::string(item);
  return out;
}

std::string unknown_key_message(std::string_view key, std::span<const std::string_view> keys) {
  std::string_view suggestion = closest_spelling(key, keys);
  if (!suggestion.empty()) return "unknown key " + quoted(key) + " (did you mean " + quoted(suggestion) + "?)";
  return "unknown key " + quoted(key) + " (expected one of: " + joined(keys) + ")";
}

// ---- maps and typed values -------------------------------------------------

/// A key present in a map, with its value.
struct Field {
  std::string name;
  YAML::Node key;
  YAML::Node value;

  /// Where a problem with the value is reported: the value itself, or the key
  /// when the value is empty (yaml-cpp marks an empty value at the next token).
  YAML::Mark mark() const { return value.IsNull() ? key.Mark() : value.Mark(); }
};

using Fields = std::map<std::string, Field, std::less<>>;

/// The known keys of `map`; reports unknown, duplicate and non-string keys.
Fields read_fields(const YAML::Node& map, std::span<const std::string_view> keys, Problems& problems) {
  Fields fields;
  for (const auto& pair : map) {
    const YAML::Node& key = pair.first;
    if (!key.IsScalar()) {
      problems.add(key.Mark(), "a key must be a string, not " + kind_name(key));
    } else if (std::find(keys.begin(), keys.end(), key.Scalar()) == keys.end()) {
      problems.add(key.Mark(), unknown_key_message(key.Scalar(), keys));
    } else if (auto first = fields.find(key.Scalar()); first != fields.end()) {
      problems.add(key.Mark(),
                   "duplicate key " + quoted(key.Scalar()) + " (first at line " + std::to_string(first->second.key.Mark().line + 1) + ")");
    } else {
      fields.emplace(key.Scalar(), Field{key.Scalar(), key, pair.second});
    }
  }
  return fields;
}

const Field* find_field(const Fields& fields, std::string_view name) {
  auto it = fields.find(name);
  return it == fields.end() ? nullptr : &it->second;
}

/// The field, or nullptr after reporting "missing required key" at `map`.
const Field* require_field(const Fields& fields, std::string_view name, const YAML::Node& map, Problems& problems) {
  const Field* field = find_field(fields, name);
  if (!field) problems.add(map.Mark(), "missing required key " + quoted(name));
  return field;
}

void type_problem(const Field& field, std::string_view wanted, Problems& problems) {
  problems.add(field.mark(), quoted(field.name) + " must be " + std::string(wanted) + ", not " + kind_name(field.value));
}

/// Any scalar, as written.
std::optional<std::string> read_string(const Field& field, Problems& problems) {
  if (field.value.IsScalar()) return field.value.Scalar();
  type_problem(field, "a string", problems);
  return std::nullopt;
}

/// A string that must not be empty.
std::optional<std::string> read_nonempty_string(const Field& field, Problems& problems) {
  std::optional<std::string> text = read_string(field, problems);
  if (text && text->empty()) {
    problems.add(field.mark(), quoted(field.name) + " must not be empty");
    return std::nullopt;
  }
  return text;
}

std::optional<bool> read_bool(const Field& field, Problems& problems) {
  if (is_plain(field.value) && is_bool_word(field.value.Scalar())) return field.value.Scalar()[0] == 't' || field.value.Scalar()[0] == 'T';
  type_problem(field, "true or false", problems);
  return std::nullopt;
}

/// A number greater than 0.
std::optional<double> read_positive_number(const Field& field, Problems& problems) {
  if (!is_plain(field.value) || !is_decimal(field.value.Scalar())) {
    type_problem(field, "a number", problems);
    return std::nullopt;
  }
  std::string_view text = field.value.Scalar();
  if (text.starts_with('+')) text.remove_prefix(1);
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || !(value > 0)) {
    problems.add(field.mark(), quoted(field.name) + " must be greater than 0, not " + field.value.Scalar());
    return std::nullopt;
  }
  return value;
}

/// An integer from `low` to `high`.
std::optional<int> read_integer(const Field& field, int low, int high, Problems& problems) {
  std::string text = field.value.IsScalar() ? field.value.Scalar() : "";
  if (!is_plain(field.value) || !is_decimal(text)) {
    type_problem(field, "an integer", problems);
    return std::nullopt;
  }
  if (!is_integer_text(text)) {
    problems.add(field.mark(), quoted(field.name) + " must be an integer, not " + text);
    return std::nullopt;
  }
  std::string_view digits = text;
  if (digits.starts_with('+')) digits.remove_prefix(1);
  long long value = 0;
  if (std::from_chars(digits.data(), digits.data() + digits.size(), value).ec == std::errc::result_out_of_range)
    value = digits.starts_with('-') ? LLONG_MIN : LLONG_MAX;
  if (value < low || value > high) {
    std::string bound = value < low ? "at least " + std::to_string(low) : "at most " + std::to_string(high);
    problems.add(field.mark(), quoted(field.name) + " must be " + bound + ", not " + text);
    return std::nullopt;
  }
  return static_cast<int>(value);
}

/// A list's items; an empty value is an empty list.
std::optional<std::vector<YAML::Node>> read_list(const Field& field, Problems& problems) {
  if (field.value.IsNull()) return std::vector<YAML::Node>{};
  if (!field.value.IsSequence()) {
    type_problem(field, "a list", problems);
    return std::nullopt;
  }
  return std::vector<YAML::Node>(field.value.begin(), field.value.end());
}

/// A string item of the list named `list`.
std::optional<std::string> read_string_item(const YAML::Node& item, std::string_view list, Problems& problems) {
  if (item.IsScalar()) return item.Scalar();
  problems.add(item.Mark(), quoted(list) + " entries must be strings, not " + kind_name(item));
  return std::nullopt;
}

std::optional<std::string> read_glob_item(const YAML::Node& item, std::string_view list, Problems& problems) {
  std::optional<std::string> pattern = read_string_item(item, list, problems);
  if (!pattern) return std::nullopt;
  if (std::string error = glob_error(*pattern); !error.empty()) {
    problems.add(item.Mark(), "invalid glob " + quoted(printable(*pattern)) + ": " + error);
    return std::nullopt;
  }
  return pattern;
}

// ---- the spec's levels -----------------------------------------------------

constexpr std::string_view kTopKeys[] = {"name",    "from",          "tests", "include", "exclude", "output",
                                         "secrets", "host_specific", "image", "sbom",    "review", "packs", "knowledge"};
constexpr std::string_view kTestKeys[] = {"name", "run", "shell", "cwd", "env", "timeout", "exit", "stdout"};
constexpr std::string_view kElfKeys[] = {"elf"};
constexpr std::string_view kOutputKeys[] = {"path", "format", "compression", "reproducible"};
constexpr std::string_view kAllowKeys[] = {"allow"};
constexpr std::string_view kReviewKeys[] = {"ignore"};
constexpr std::string_view kPackKeys[] = {"name", "description", "rules"};
constexpr std::string_view kRuleKeys[] = {"name", "why", "when", "add", "never", "env"};
constexpr std::string_view kPackItemKeys[] = {"elf", "nss_modules"};
constexpr std::string_view kImageKeys[] = {"tag",    "entrypoint",    "cmd",          "env", "workdir",          "user",
                                           "labels", "exposed_ports", "architecture", "os",  "layer_compression"};

bool is_valid_bundle_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

void read_bundle_name(const Field& field, std::string& name, Problems& problems) {
  std::optional<std::string> text = read_nonempty_string(field, problems);
  if (!text) return;
  if (!is_valid_bundle_name(*text))
    problems.add(field.mark(), "invalid name " + quoted(*text) + " (use only letters, digits, '.', '_' and '-')");
  else
    name = *text;
}

void read_run(const Field& field, TestCase& test, Problems& problems) {
  if (field.value.IsScalar()) {
    problems.add(field.mark(), "'run' must be a list, not a string (use 'shell' for a command line)");
    return;
  }
  std::optional<std::vector<YAML::Node>> items = read_list(field, problems);
  if (!items) return;
  if (items->empty()) problems.add(field.mark(), "'run' must list at least one argument");
  for (const YAML::Node& item : *items)
    if (std::optional<std::string> arg = read_string_item(item, "run", problems)) test.argv.push_back(*arg);
  if (!test.argv.empty() && test.argv[0].empty()) problems.add((*items)[0].Mark(), "'run' must not start with an empty string");
}

bool is_valid_env_name(std::string_view name) { return !name.empty() && name.find('=') == name.npos && name.find('\0') == name.npos; }

void read_env(const Field& field, std::map<std::string, std::string>& env, Problems& problems) {
  if (field.value.IsNull()) return;
  if (!field.value.IsMap()) return type_problem(field, "a map", problems);
  std::map<std::string, int> first_line;
  for (const auto& pair : field.value) {
    if (!pair.first.IsScalar() || !is_valid_env_name(pair.first.Scalar())) {
      std::string shown = pair.first.IsScalar() ? quoted(pair.first.Scalar()) : kind_name(pair.first);
      problems.add(pair.first.Mark(), "invalid environment variable name " + shown);
    } else if (!pair.second.IsScalar()) {
      Field value{pair.first.Scalar(), pair.first, pair.second};
      problems.add(value.mark(), "'env' values must be strings, not " + kind_name(pair.second));
    } else if (auto [first, fresh] = first_line.emplace(pair.first.Scalar(), pair.first.Mark().line + 1); !fresh) {
      problems.add(pair.first.Mark(),
                   "duplicate key " + quoted(pair.first.Scalar()) + " (first at line " + std::to_string(first->second) + ")");
    } else {
      env[pair.first.Scalar()] = pair.second.Scalar();
    }
  }
}

std::string test_title(const TestCase& test) { return test.name.empty() ? "test case" : "test " + quoted(test.name); }

// Without from:, a test says what it runs; with it, a test that says
// nothing runs the image's entrypoint and cmd.
void check_command(const Fields& fields, const YAML::Node& map, const TestCase& test, bool from_image, Problems& problems) {
  const Field* run = find_field(fields, "run");
  const Field* shell = find_field(fields, "shell");
  if (run && shell) {
    // Reported at whichever of the two comes second: the first looked fine.
    const Field* second = run->key.Mark().pos > shell->key.Mark().pos ? run : shell;
    problems.add(second->key.Mark(), test_title(test) + " has both 'run' and 'shell' (give exactly one)");
  } else if (!run && !shell && !from_image) {
    problems.add(map.Mark(), test_title(test) + " has neither 'run' nor 'shell' (give exactly one)");
  }
}

// Each optional key of a test case and how to read it, in kTestKeys order.
void read_test_options(const Fields& fields, TestCase& test, Problems& problems) {
  if (const Field* f = find_field(fields, "run")) read_run(*f, test, problems);
  if (const Field* f = find_field(fields, "shell"))
    if (auto v = read_nonempty_string(*f, problems)) test.shell = *v;
  if (const Field* f = find_field(fields, "cwd"))
    if (auto v = read_string(*f, problems)) test.cwd = *v;
  if (const Field* f = find_field(fields, "env")) read_env(*f, test.env, problems);
  if (const Field* f = find_field(fields, "timeout"))
    if (auto v = read_positive_number(*f, problems)) test.timeout = *v;
  if (const Field* f = find_field(fields, "exit"))
    if (auto v = read_integer(*f, 0, 255, problems)) test.exit = *v;
  if (const Field* f = find_field(fields, "stdout"))
    if (auto v = read_string(*f, problems)) test.stdout_text = *v;
}

std::optional<TestCase> read_test(const YAML::Node& node, bool from_image, Problems& problems) {
  if (!node.IsMap()) {
    problems.add(node.Mark(), "'tests' entries must be maps, not " + kind_name(node));
    return std::nullopt;
  }
  Fields fields = read_fields(node, kTestKeys, problems);
  TestCase test;
  test.where = problems.location(node.Mark());
  if (const Field* f = require_field(fields, "name", node, problems))
    if (auto v = read_nonempty_string(*f, problems)) test.name = *v;
  read_test_options(fields, test, problems);
  check_command(fields, node, test, from_image, problems);
  return test;
}

void read_tests(const Field& field, std::vector<TestCase>& tests, bool from_image, Problems& problems) {
  std::optional<std::vector<YAML::Node>> items = read_list(field, problems);
  if (!items) return;
  if (items->empty()) problems.add(field.mark(), "'tests' must list at least one test case");
  std::map<std::string, int> first_line;
  for (const YAML::Node& item : *items) {
    std::optional<TestCase> test = read_test(item, from_image, problems);
    if (!test) continue;
    if (!test->name.empty()) {
      YAML::Mark name_mark = item["name"].Mark();
      auto [first, fresh] = first_line.emplace(test->name, name_mark.line + 1);
      if (!fresh)
        problems.add(name_mark, "duplicate test name " + quoted(test->name) + " (first at line " + std::to_string(first->second) + ")");
    }
    tests.push_back(std::move(*test));
  }
}

// Reading a kernel file is not copying a file: it can consume the kernel log
// (/proc/kmsg) or block forever (/dev/random on old kernels, a tty).
std::string pseudo_problem(std::string_view what, std::string_view path, std::string_view root) {
  return std::string(what) + " " + quoted(printable(path)) + " lies in " + std::string(root) +
         ", a kernel pseudo file system: its files are made by the kernel when read and are never packed";
}

std::optional<IncludeRule> read_elf_include(const YAML::Node& node, Problems& problems) {
  Fields fields = read_fields(node, kElfKeys, problems);
  const Field* elf = require_field(fields, "elf", node, problems);
  if (!elf) return std::nullopt;
  std::optional<std::string> path = read_nonempty_string(*elf, problems);
  if (!path) return std::nullopt;
  if (!path->starts_with('/')) {
    problems.add(elf->mark(), "'elf' must be an absolute path, not " + quoted(*path));
    return std::nullopt;
  }
  if (std::string_view root = kernel_pseudo_root(*path); !root.empty()) {
    problems.add(elf->mark(), pseudo_problem("'elf'", *path, root));
    return std::nullopt;
  }
  return IncludeRule{IncludeRule::Kind::elf, *path, problems.location(node.Mark())};
}

void read_includes(const Field& field, std::vector<IncludeRule>& rules, Problems& problems) {
  std::optional<std::vector<YAML::Node>> items = read_list(field, problems);
  if (!items) return;
  for (const YAML::Node& item : *items) {
    if (item.IsMap()) {
      if (auto rule = read_elf_include(item, problems)) rules.push_back(std::move(*rule));
    } else if (!item.IsScalar()) {
      problems.add(item.Mark(), "'include' entries must be globs or 'elf:' maps, not " + kind_name(item));
    } else if (auto pattern = read_glob_item(item, "include", problems)) {
      // Include globs are expanded by walking the file system from their
      // literal prefix; "at any depth" would mean walking all of it.
      if (!pattern->starts_with('/'))
        problems.add(item.Mark(), "include glob " + quoted(*pattern) + " must start with '/' (only exclude globs match at any depth)");
      else if (std::string_view root = kernel_pseudo_root(*pattern); !root.empty())
        problems.add(item.Mark(), pseudo_problem("include", *pattern, root));
      else
        rules.push_back({IncludeRule::Kind::glob, *pattern, problems.location(item.Mark())});
    }
  }
}

void read_excludes(const Field& field, std::vector<ExcludeRule>& rules, Problems& problems) {
  std::optional<std::vector<YAML::Node>> items = read_list(field, problems);
  if (!items) return;
  for (const YAML::Node& item : *items)
    if (auto pattern = read_glob_item(item, "exclude", problems)) rules.push_back({*pattern, problems.location(item.Mark())});
}

void read_format(const Field& field, std::string& format, Problems& problems) {
  std::optional<std::string> text = read_string(field, problems);
  if (!text) return;
  if (std::find(std::begin(kBundleFormats), std::end(kBundleFormats), *text) == std::end(kBundleFormats))
    problems.add(field.mark(), "unknown output format " + quoted(*text) + " (expected one of: " + joined(kBundleFormats) + ")");
  else
    format = *text;
}

void read_output(const Field& field, OutputSpec& output, Problems& problems) {
  if (!field.value.IsMap()) return type_problem(field, "a map", problems);
  Fields fields = read_fields(field.value, kOutputKeys, problems);
  output.where = problems.location(field.value.Mark());
  if (const Field* f = require_field(fields, "path", field.value, problems))
    if (auto v = read_nonempty_string(*f, problems)) output.path = *v;
  if (const Field* f = find_field(fields, "format")) read_format(*f, output.format, problems);
  if (const Field* f = find_field(fields, "compression"))
    if (auto v = read_integer(*f, 0, INT_MAX, problems)) output.compression_level = *v;
  if (const Field* f = find_field(fields, "reproducible"))
    if (auto v = read_bool(*f, problems)) output.reproducible = *v;
}

// `secrets: allow:` and `host_specific: allow:` name files one by one, so
// each entry is an absolute path, not a glob.
/// The items of a map's one list key (`allow:` of `secrets:`, `ignore:` of
/// `review:`); empty when the map or the key is absent, or on a problem.
std::vector<YAML::Node> read_one_list_map(const Field& field, std::span<const std::string_view> keys, Problems& problems) {
  if (field.value.IsNull()) return {};
  if (!field.value.IsMap()) {
    type_problem(field, "a map", problems);
    return {};
  }
  Fields fields = read_fields(field.value, keys, problems);
  const Field* list = find_field(fields, keys.front());
  if (!list) return {};
  return read_list(*list, problems).value_or(std::vector<YAML::Node>{});
}

template <typename Allowed>
void read_allow_list(const Field& field, std::vector<Allowed>& allow_list, Problems& problems) {
  for (const YAML::Node& item : read_one_list_map(field, kAllowKeys, problems)) {
    std::optional<std::string> path = read_string_item(item, "allow", problems);
    if (!path) continue;
    if (!path->starts_with('/'))
      problems.add(item.Mark(), "'allow' entries must be absolute paths, not " + quoted(printable(*path)));
    else
      allow_list.push_back({*path, problems.location(item.Mark())});
  }
}

/// `review: ignore:` a list of globs.
void read_review(const Field& field, ReviewSpec& review, Problems& problems) {
  for (const YAML::Node& item : read_one_list_map(field, kReviewKeys, problems))
    if (auto pattern = read_glob_item(item, "ignore", problems)) review.ignore.push_back(*pattern);
}

// ---- image: ----------------------------------------------------------------

/// A list of strings; an empty value is an empty list.
std::optional<std::vector<std::string>> read_string_list(const Field& field, Problems& problems) {
  std::optional<std::vector<YAML::Node>> items = read_list(field, problems);
  if (!items) return std::nullopt;
  std::vector<std::string> out;
  for (const YAML::Node& item : *items)
    if (std::optional<std::string> text = read_string_item(item, field.name, problems)) out.push_back(*text);
  return out;
}

/// A map of non-empty string keys to string values (`labels:`).
void read_string_map(const Field& field, std::map<std::string, std::string>& out, Problems& problems) {
  if (field.value.IsNull()) return;
  if (!field.value.IsMap()) return type_problem(field, "a map", problems);
  std::map<std::string, int> first_line;
  for (const auto& pair : field.value) {
    if (!pair.first.IsScalar() || pair.first.Scalar().empty()) {
      std::string shown = pair.first.IsScalar() ? "an empty string" : kind_name(pair.first);
      problems.add(pair.first.Mark(), quoted(field.name) + " keys must be non-empty strings, not " + shown);
    } else if (!pair.second.IsScalar()) {
      Field value{pair.first.Scalar(), pair.first, pair.second};
      problems.add(value.mark(), quoted(field.name) + " values must be strings, not " + kind_name(pair.second));
    } else if (auto [first, fresh] = first_line.emplace(pair.first.Scalar(), pair.first.Mark().line + 1); !fresh) {
      problems.add(pair.first.Mark(),
                   "duplicate key " + quoted(pair.first.Scalar()) + " (first at line " + std::to_string(first->second) + ")");
    } else {
      out[pair.first.Scalar()] = pair.second.Scalar();
    }
  }
}

void read_exposed_ports(const Field& field, std::vector<std::string>& ports, Problems& problems) {
  std::optional<std::vector<YAML::Node>> items = read_list(field, problems);
  if (!items) return;
  for (const YAML::Node& item : *items) {
    std::optional<std::string> text = read_string_item(item, field.name, problems);
    if (!text) continue;
    if (std::optional<std::string> port = normalize_port(*text))
      ports.push_back(*port);
    else
      problems.add(item.Mark(),
                   "invalid port " + quoted(*text) + " (expected PORT or PORT/PROTO, PORT from 1 to 65535, PROTO tcp, udp or sctp)");
  }
}

void read_image_tag(const Field& field, std::string& tag, Problems& problems) {
  std::optional<std::string> text = read_nonempty_string(field, problems);
  if (!text) return;
  if (std::string error = image_tag_error(*text); !error.empty())
    problems.add(field.mark(), "invalid image tag " + quoted(printable(*text)) + ": " + error);
  else
    tag = *text;
}

void read_workdir(const Field& field, std::string& workdir, Problems& problems) {
  std::optional<std::string> text = read_nonempty_string(field, problems);
  if (!text) return;
  if (!text->starts_with('/'))
    problems.add(field.mark(), "'workdir' must be an absolute path, not " + quoted(*text));
  else
    workdir = *text;
}

void read_layer_compression(const Field& field, std::string& compression, Problems& problems) {
  std::optional<std::string> text = read_string(field, problems);
  if (!text) return;
  if (std::find(std::begin(kLayerCompressions), std::end(kLayerCompressions), *text) == std::end(kLayerCompressions))
    problems.add(field.mark(), "unknown layer compression " + quoted(*text) + " (expected one of: " + joined(kLayerCompressions) + ")");
  else
    compression = *text;
}

// Each key of `image:` and how to read it, in kImageKeys order.
void read_image(const Field& field, ImageConfig& image, Problems& problems) {
  if (!field.value.IsMap()) return type_problem(field, "a map", problems);
  Fields fields = read_fields(field.value, kImageKeys, problems);
  if (const Field* f = find_field(fields, "tag")) read_image_tag(*f, image.tag, problems);
  if (const Field* f = find_field(fields, "entrypoint")) image.entrypoint = read_string_list(*f, problems);
  if (const Field* f = find_field(fields, "cmd")) image.cmd = read_string_list(*f, problems);
  if (const Field* f = find_field(fields, "env")) read_env(*f, image.env, problems);
  if (const Field* f = find_field(fields, "workdir")) read_workdir(*f, image.workdir, problems);
  if (const Field* f = find_field(fields, "user"))
    if (auto v = read_nonempty_string(*f, problems)) image.user = *v;
  if (const Field* f = find_field(fields, "labels")) read_string_map(*f, image.labels, problems);
  if (const Field* f = find_field(fields, "exposed_ports")) read_exposed_ports(*f, image.exposed_ports, problems);
  if (const Field* f = find_field(fields, "architecture"))
    if (auto v = read_nonempty_string(*f, problems)) image.architecture = *v;
  if (const Field* f = find_field(fields, "os"))
    if (auto v = read_nonempty_string(*f, problems)) image.os = *v;
  if (const Field* f = find_field(fields, "layer_compression")) read_layer_compression(*f, image.layer_compression, problems);
}

// ---- knowledge packs (knowledge.h; the format is docs/knowledge-packs.md) ----

/// A name of a pack or rule: like a bundle's name.
std::optional<std::string> read_pack_name(const Field& field, Problems& problems) {
  std::optional<std::string> text = read_nonempty_string(field, problems);
  if (text && !is_valid_bundle_name(*text)) {
    problems.add(field.mark(), "invalid name " + quoted(*text) + " (use only letters, digits, '.', '_' and '-')");
    return std::nullopt;
  }
  return text;
}

/// An absolute glob, or one starting "${dir}/" (the trigger's directory,
/// which "/.." components may leave upwards).
std::optional<std::string> read_add_glob(const YAML::Node& item, Problems& problems) {
  std::optional<std::string> pattern = read_string_item(item, "add", problems);
  if (!pattern) return std::nullopt;
  std::string_view rest = *pattern;
  if (rest.starts_with("${dir}")) {
    rest.remove_prefix(6);
    while (rest.starts_with("/..")) rest.remove_prefix(3);
  }
  if (std::string error = glob_error(rest); !error.empty()) {
    problems.add(item.Mark(), "invalid glob " + quoted(printable(*pattern)) + ": " + error);
    return std::nullopt;
  }
  if (!pattern->starts_with('/') && !pattern->starts_with("${dir}/")) {
    problems.add(item.Mark(), "'add' glob " + quoted(*pattern) + " must start with '/' or '${dir}/'");
    return std::nullopt;
  }
  if (std::string_view root = kernel_pseudo_root(*pattern); !root.empty()) {
    problems.add(item.Mark(), pseudo_problem("'add' glob", *pattern, root));
    return std::nullopt;
  }
  return pattern;
}

std::optional<PackItem> read_pack_item(const YAML::Node& item, Problems& problems) {
  if (item.IsScalar()) {
    if (auto pattern = read_add_glob(item, problems)) return PackItem{PackItem::Kind::glob, *pattern};
    return std::nullopt;
  }
  if (!item.IsMap() || item.size() != 1) {
    problems.add(item.Mark(), "'add' entries must be globs, or maps with one key 'elf' or 'nss_modules', not " + kind_name(item));
    return std::nullopt;
  }
  Fields fields = read_fields(item, kPackItemKeys, problems);
  if (fields.empty()) return std::nullopt;
  const Field& field = fields.begin()->second;
  std::optional<std::string> path = read_nonempty_string(field, problems);
  if (!path) return std::nullopt;
  if (!path->starts_with('/') && !path->starts_with("${dir}/")) {
    problems.add(field.mark(), quoted(field.name) + " must be an absolute path or start with '${dir}/', not " + quoted(*path));
    return std::nullopt;
  }
  return PackItem{field.name == "elf" ? PackItem::Kind::elf : PackItem::Kind::nss_modules, *path};
}

std::optional<PackRule> read_pack_rule(const YAML::Node& node, Problems& problems) {
  if (!node.IsMap()) {
    problems.add(node.Mark(), "'rules' entries must be maps, not " + kind_name(node));
    return std::nullopt;
  }
  Fields fields = read_fields(node, kRuleKeys, problems);
  PackRule rule;
  YAML::Mark mark = node.Mark();
  rule.where = position(problems.location(mark).file, mark);
  if (const Field* f = require_field(fields, "name", node, problems))
    if (auto v = read_pack_name(*f, problems)) rule.name = *v;
  if (const Field* f = require_field(fields, "why", node, problems))
    if (auto v = read_nonempty_string(*f, problems)) rule.why = *v;
  if (const Field* f = require_field(fields, "when", node, problems)) {
    for (const YAML::Node& item : read_list(*f, problems).value_or(std::vector<YAML::Node>{}))
      if (auto pattern = read_glob_item(item, "when", problems)) rule.when.push_back(*pattern);
    if (rule.when.empty()) problems.add(f->mark(), "'when' must list at least one glob");
  }
  if (const Field* f = require_field(fields, "add", node, problems)) {
    for (const YAML::Node& item : read_list(*f, problems).value_or(std::vector<YAML::Node>{}))
      if (auto added = read_pack_item(item, problems)) rule.add.push_back(*added);
  }
  if (const Field* f = find_field(fields, "never"))
    for (const YAML::Node& item : read_list(*f, problems).value_or(std::vector<YAML::Node>{}))
      if (auto pattern = read_glob_item(item, "never", problems)) rule.never.push_back(*pattern);
  if (const Field* f = find_field(fields, "env")) read_env(*f, rule.env, problems);
  return rule;
}

/// A pack: a map with a name, a description and its rules.
std::optional<KnowledgePack> read_pack(const YAML::Node& node, const std::string& file, Problems& problems) {
  if (!node.IsMap()) {
    problems.add(node.Mark(), "a knowledge pack must be a map, not " + kind_name(node));
    return std::nullopt;
  }
  Fields fields = read_fields(node, kPackKeys, problems);
  KnowledgePack pack;
  pack.file = file;
  if (const Field* f = require_field(fields, "name", node, problems))
    if (auto v = read_pack_name(*f, problems)) pack.name = *v;
  if (const Field* f = find_field(fields, "description"))
    if (auto v = read_string(*f, problems)) pack.description = *v;
  if (const Field* f = require_field(fields, "rules", node, problems)) {
    std::map<std::string, int> first_line;
    for (const YAML::Node& item : read_list(*f, problems).value_or(std::vector<YAML::Node>{})) {
      std::optional<PackRule> rule = read_pack_rule(item, problems);
      if (!rule) continue;
      if (auto [first, fresh] = first_line.emplace(rule->name, item.Mark().line + 1); !fresh && !rule->name.empty())
        problems.add(item["name"].Mark(), "duplicate rule name " + quoted(rule->name) + " (first at line " + std::to_string(first->second) + ")");
      pack.rules.push_back(std::move(*rule));
    }
  }
  return pack;
}

/// `packs:` the names of the packs to turn on, each once.
void read_pack_choices(const Field& field, std::vector<PackChoice>& choices, Problems& problems) {
  for (const YAML::Node& item : read_list(field, problems).value_or(std::vector<YAML::Node>{})) {
    std::optional<std::string> name = read_string_item(item, "packs", problems);
    if (!name) continue;
    if (std::any_of(choices.begin(), choices.end(), [&](const PackChoice& c) { return c.name == *name; }))
      problems.add(item.Mark(), "pack " + quoted(*name) + " is named twice");
    else
      choices.push_back({*name, problems.location(item.Mark())});
  }
}

std::string read_text_file(const std::string& file);

/// `knowledge:` the spec's own packs: files (relative to the spec's
/// directory) or maps written in place.
void read_knowledge(const Field& field, const std::string& spec_file, std::vector<KnowledgePack>& packs, Problems& problems) {
  std::size_t slash = spec_file.rfind('/');
  std::string dir = slash == std::string::npos ? "" : spec_file.substr(0, slash + 1);
  for (const YAML::Node& item : read_list(field, problems).value_or(std::vector<YAML::Node>{})) {
    if (item.IsMap()) {
      if (auto pack = read_pack(item, spec_file, problems)) {
        pack->text = YAML::Dump(item);
        packs.push_back(std::move(*pack));
      }
      continue;
    }
    std::optional<std::string> name = read_string_item(item, "knowledge", problems);
    if (!name) continue;
    std::string file = name->starts_with('/') ? *name : dir + *name;
    // Only a regular file: a device or a FIFO could be endless, or block.
    struct stat status {};
    if (stat(file.c_str(), &status) == 0 && !S_ISREG(status.st_mode)) {
      problems.add(item.Mark(), "knowledge pack " + quoted(*name) + ": " + file + " is not a regular file");
      continue;
    }
    try {
      packs.push_back(parse_pack(read_text_file(file), file));
    } catch (const Error& e) {
      problems.add(item.Mark(), "knowledge pack " + quoted(*name) + ": " + e.what());
    }
  }
}

/// Each `packs:` name must be a built-in pack or one of `knowledge:`.
void check_pack_choices(const BundleSpec& spec, Problems& problems, const YAML::Node& root) {
  std::vector<const KnowledgePack*> available;
  try {
    available = available_packs(spec.knowledge);
  } catch (const Error& e) {
    problems.add(root["knowledge"].Mark(), e.what());
    return;
  }
  std::vector<std::string_view> names;
  for (const KnowledgePack* pack : available) names.push_back(pack->name);
  const YAML::Node list = root["packs"];
  for (std::size_t i = 0; i < spec.packs.size(); ++i) {
    const PackChoice& choice = spec.packs[i];
    if (std::find(names.begin(), names.end(), choice.name) != names.end()) continue;
    YAML::Mark mark;
    for (const YAML::Node& item : list)
      if (item.IsScalar() && item.Scalar() == choice.name) mark = item.Mark();
    std::string_view suggestion = closest_spelling(choice.name, names);
    problems.add(mark, "unknown pack " + quoted(choice.name) +
                           (suggestion.empty() ? " (known packs: " + joined(names) + ")" : " (did you mean " + quoted(suggestion) + "?)"));
  }
}


// ---- sbom: -----------------------------------------------------------------

/// `sbom:` one format or a list of them (kSbomFormats), each once.
void read_sbom(const Field& field, std::vector<std::string>& formats, Problems& problems) {
  std::vector<YAML::Node> items;
  if (field.value.IsScalar()) {
    items.push_back(field.value);
  } else if (std::optional<std::vector<YAML::Node>> list = read_list(field, problems)) {
    items = *list;
  }
  for (const YAML::Node& item : items) {
    std::optional<std::string> name = read_string_item(item, "sbom", problems);
    if (!name) continue;
    if (std::string problem = sbom_format_problem(*name); !problem.empty())
      problems.add(item.Mark(), problem);
    else if (std::find(formats.begin(), formats.end(), *name) == formats.end())
      formats.push_back(*name);
  }
}

void read_top(const YAML::Node& root, BundleSpec& spec, Problems& problems) {
  Fields fields = read_fields(root, kTopKeys, problems);
  if (const Field* f = require_field(fields, "name", root, problems)) read_bundle_name(*f, spec.name, problems);
  if (const Field* f = find_field(fields, "from"))
    if (auto v = read_nonempty_string(*f, problems)) spec.from = FromSpec{.reference = *v, .where = problems.location(f->mark())};
  if (const Field* f = require_field(fields, "tests", root, problems)) read_tests(*f, spec.tests, spec.from.has_value(), problems);
  if (const Field* f = find_field(fields, "include")) read_includes(*f, spec.include, problems);
  if (const Field* f = find_field(fields, "exclude")) read_excludes(*f, spec.exclude, problems);
  if (const Field* f = require_field(fields, "output", root, problems)) read_output(*f, spec.output, problems);
  if (const Field* f = find_field(fields, "secrets")) read_allow_list(*f, spec.secrets.allow, problems);
  if (const Field* f = find_field(fields, "host_specific")) read_allow_list(*f, spec.host_specific.allow, problems);
  if (const Field* f = find_field(fields, "image")) read_image(*f, spec.image, problems);
  if (const Field* f = find_field(fields, "sbom")) read_sbom(*f, spec.sbom, problems);
  if (const Field* f = find_field(fields, "review")) read_review(*f, spec.review, problems);
  if (const Field* f = find_field(fields, "knowledge")) read_knowledge(*f, spec.file, spec.knowledge, problems);
  if (const Field* f = find_field(fields, "packs")) read_pack_choices(*f, spec.packs, problems);
  if (!spec.packs.empty() || !spec.knowledge.empty()) check_pack_choices(spec, problems, root);
}

/// Records where each document starts and where its root node is, stopping
/// at the second document. yaml-cpp's LoadAll is not used: on some malformed
/// input (",'") its parser yields empty documents forever without moving on.
class DocumentMarks : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> starts;  ///< each document's start
  std::vector<YAML::Mark> roots;   ///< each document's root node (its Node::Mark())

  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t, const std::string&) override { node(mark); }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override { node(mark); }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override { node(mark); }
  void OnMapEnd() override {}

 private:
  void node(const YAML::Mark& mark) {
    if (roots.size() < starts.size()) roots.push_back(mark);
  }
};

/// The single document of `text`; throws Error for bad YAML, reports the rest.
YAML::Node parse_document(std::string_view text, const std::string& file) {
  const std::string source(text);
  DocumentMarks marks;
  YAML::Node document;
  try {
    std::istringstream in(source);
    YAML::Parser parser(in);
    while (marks.starts.size() < 2 && parser.HandleNextDocument(marks)) {
      if (marks.starts.size() == 2 && marks.starts[1].pos == marks.starts[0].pos)
        throw Error(position(file, marks.starts[1]) + ": invalid YAML: unexpected text");
    }
    document = YAML::Load(source);
  } catch (const YAML::Exception& e) {
    throw Error(position(file, e.mark) + ": invalid YAML: " + e.msg);
  }
  Problems problems(file);
  YAML::Mark start;  // 1:1
  if (marks.starts.empty() || document.IsNull())
    problems.add(start, "empty spec (expected a map with 'name', 'tests' and 'output')");
  else if (!document.IsMap())
    problems.add(document.Mark(), "a spec must be a map, not " + kind_name(document));
  if (marks.roots.size() > 1) problems.add(marks.roots[1], "a spec must be a single YAML document");
  problems.check();
  return document;
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

BundleSpec parse_spec(std::string_view text, const std::string& file) {
  YAML::Node root = parse_document(text, file);
  Problems problems(file);
  BundleSpec spec;
  spec.file = file;
  read_top(root, spec, problems);
  problems.check();
  return spec;
}

std::string_view root_containing(std::string_view path, std::span<const std::string_view> roots) {
  for (std::string_view root : roots)
    if (path.starts_with(root) && (path.size() == root.size() || path[root.size()] == '/')) return root;
  return {};
}

std::string_view kernel_pseudo_root(std::string_view path) { return root_containing(path, kKernelPseudoRoots); }

namespace {

std::string read_text_file(const std::string& file) {
  std::unique_ptr<std::FILE, FileCloser> in(std::fopen(file.c_str(), "rb"));
  if (!in) throw_system_error(file + ": cannot read");
  std::string text;
  char buffer[65536];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, in.get())) text.append(buffer, n);
  if (std::ferror(in.get())) throw_system_error(file + ": cannot read");
  return text;
}

}  // namespace

BundleSpec load_spec(const std::string& file) { return parse_spec(read_text_file(file), file); }

KnowledgePack parse_pack(std::string_view text, const std::string& file) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    throw Error(position(file, e.mark) + ": invalid YAML: " + e.msg);
  }
  Problems problems(file);
  std::optional<KnowledgePack> pack = read_pack(root, file, problems);
  problems.check();
  pack->text = std::string(text);
  return std::move(*pack);
}

}  // namespace tracepack

// Reading JSON that tracepack did not necessarily write (a bundle's manifest,
// an image's index): each value is checked for the type it must have before
// it is used, and a problem is reported as a tracepack::Error
// "<file>: <field>: <problem>" ("img/index.json: manifests[0].digest:
// expected a string"), never as an nlohmann exception.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tracepack/trace.h"

namespace tracepack {

/// Parses `text`; nullopt when it is not valid JSON.
/// Never throws for any bytes (numbers too large for a double included).
std::optional<nlohmann::json> parse_json(std::string_view text);

/// A JSON value and where it was found: the file and the field's path in it.
/// Refers to the value and to the file name, which must outlive it.
class JsonField {
 public:
  /// The whole document read from `file`.
  JsonField(const nlohmann::json& value, const std::string& file) : value_(&value), file_(&file) {}

  const nlohmann::json& json() const { return *value_; }
  /// "manifests[0].digest"; "" for the whole document.
  const std::string& path() const { return path_; }

  /// Throws Error "<file>: <path>: <problem>" ("<file>: <problem>" at the top).
  [[noreturn]] void fail(const std::string& problem) const;

  /// The member `key` of this object; fails when this is not an object, or
  /// with "missing" when it has no such member.
  JsonField at(std::string_view key) const;
  /// The member `key` of this object, nullopt when absent; fails when this is not an object.
  std::optional<JsonField> find(std::string_view key) const;
  /// The elements of this array; fails when this is not an array.
  std::vector<JsonField> elements() const;

  /// This value, which must be of that type ("expected a string"...).
  std::string string() const;
  std::int64_t integer() const;
  std::uint64_t unsigned_integer() const;
  bool boolean() const;
  /// This array of strings ("[2]: expected a string" for another element).
  std::vector<std::string> strings() const;
  /// This string, a path escaped as in a trace (encode_path), decoded.
  PathBytes path_bytes() const;
  /// This value, which must be an object.
  void expect_object() const;

  /// The member `key` read with `read` (e.g. &JsonField::string), or `fallback` when absent.
  template <class T>
  T get_or(std::string_view key, T fallback, T (JsonField::*read)() const) const {
    std::optional<JsonField> member = find(key);
    return member ? ((*member).*read)() : fallback;
  }

 private:
  JsonField(const nlohmann::json& value, const std::string& file, std::string path)
      : value_(&value), file_(&file), path_(std::move(path)) {}

  const nlohmann::json* value_;
  const std::string* file_;
  std::string path_;
};

}  // namespace tracepack

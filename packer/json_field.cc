// JsonField: typed reads of a JSON value, every problem named by file and
// field path. The path grows as the reader descends: ".key" for a member
// (no dot at the top), "[i]" for an element.
#include "json_field.h"

#include "tracepack/error.h"

namespace tracepack {

std::optional<nlohmann::json> parse_json(std::string_view text) {
  // Without exceptions nlohmann reports every error, out_of_range 406 for
  // "1e999" included, as a discarded value.
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return std::nullopt;
  return doc;
}

void JsonField::fail(const std::string& problem) const { throw Error(*file_ + ": " + (path_.empty() ? "" : path_ + ": ") + problem); }

void JsonField::expect_object() const {
  if (!value_->is_object()) fail("expected an object");
}

std::optional<JsonField> JsonField::find(std::string_view key) const {
  expect_object();
  auto it = value_->find(key);
  if (it == value_->end()) return std::nullopt;
  return JsonField(*it, *file_, path_.empty() ? std::string(key) : path_ + "." + std::string(key));
}

JsonField JsonField::at(std::string_view key) const {
  std::optional<JsonField> member = find(key);
  if (!member) JsonField(*value_, *file_, path_.empty() ? std::string(key) : path_ + "." + std::string(key)).fail("missing");
  return *member;
}

std::vector<JsonField> JsonField::elements() const {
  if (!value_->is_array()) fail("expected an array");
  std::vector<JsonField> out;
  out.reserve(value_->size());
  for (std::size_t i = 0; i < value_->size(); ++i) out.push_back(JsonField((*value_)[i], *file_, path_ + "[" + std::to_string(i) + "]"));
  return out;
}

std::string JsonField::string() const {
  if (!value_->is_string()) fail("expected a string");
  return value_->get<std::string>();
}

std::int64_t JsonField::integer() const {
  if (value_->is_number_unsigned() && value_->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) fail("out of range");
  if (!value_->is_number_integer()) fail("expected an integer");
  return value_->get<std::int64_t>();
}

std::uint64_t JsonField::unsigned_integer() const {
  if (!value_->is_number_unsigned()) fail("expected a non-negative integer");
  return value_->get<std::uint64_t>();
}

bool JsonField::boolean() const {
  if (!value_->is_boolean()) fail("expected a boolean");
  return value_->get<bool>();
}

std::vector<std::string> JsonField::strings() const {
  std::vector<std::string> out;
  for (const JsonField& item : elements()) out.push_back(item.string());
  return out;
}

PathBytes JsonField::path_bytes() const {
  std::string problem;
  std::optional<PathBytes> bytes = decode_path(string(), problem);
  if (!bytes) fail(problem);
  return std::move(*bytes);
}

}  // namespace tracepack

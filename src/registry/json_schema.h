// A small JSON Schema (draft 2020-12) validator, complete for the keywords listed in
// json_schema.cpp (Debian 12 packages no C++ validator). compile() refuses a schema that uses any
// other keyword, so a schema can never be half-checked; `format` is an annotation, as 2020-12's
// default vocabulary says, and is not asserted.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <regex>
#include <string>
#include <unordered_map>
#include <vector>

#include "tinyq/status.h"

namespace tinyq::registry {

// One failed assertion: where in the instance (a JSON pointer, "" for the root) and why.
struct SchemaError {
  std::string pointer;
  std::string message;
};

// "/models/3/id" from path components; escapes '~' and '/' as RFC 6901 says.
std::string json_pointer_append(const std::string& base, const std::string& token);

class JsonSchema {
 public:
  // Checks every keyword is known, every $ref resolves inside the document and every pattern
  // compiles. Errors name the schema location.
  static Result<JsonSchema> compile(nlohmann::json schema);
  // Every failed assertion, in document order (within allOf/anyOf/if, the branch errors that
  // explain the failure). Empty when the instance is valid.
  std::vector<SchemaError> validate(const nlohmann::json& instance) const;

 private:
  struct Compiled {
    nlohmann::json root;
    std::unordered_map<const nlohmann::json*, std::regex> patterns;
  };
  class Validator;
  explicit JsonSchema(std::shared_ptr<const Compiled> c) : c_(std::move(c)) {}
  std::shared_ptr<const Compiled> c_;
};

// Parses JSON text, also refusing duplicate object keys (parsers disagree on which one wins, so
// a duplicate "sha256" could show a reviewer one digest and a loader another). Parse errors
// fail with kCorrupt naming `display_name`; duplicate keys are returned in `duplicates`.
Result<nlohmann::json> parse_json_strict(std::string_view text, const std::string& display_name,
                                         std::vector<SchemaError>* duplicates);

}  // namespace tinyq::registry

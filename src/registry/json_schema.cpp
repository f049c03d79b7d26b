// Keywords implemented (draft 2020-12 semantics):
//   core:        $schema (root only, must name 2020-12), $id (root only), $ref (local "#..."
//                pointers), $defs, $comment
//   applicators: allOf, anyOf, oneOf, not, if/then/else, properties, patternProperties,
//                additionalProperties, prefixItems, items
//   validation:  type, enum, const, minimum, maximum, exclusiveMinimum, exclusiveMaximum,
//                minLength, maxLength, pattern, minItems, maxItems, uniqueItems, required,
//                minProperties, maxProperties
//   annotations: title, description, default, examples, deprecated, readOnly, writeOnly, format
#include "registry/json_schema.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace tinyq::registry {

using nlohmann::json;

namespace {

constexpr const char* kDraft202012 = "https://json-schema.org/draft/2020-12/schema";
// Bounds recursion through $ref and nested applicators, so a cyclic schema or a deep instance
// ends in an error instead of a stack overflow.
constexpr int kMaxDepth = 128;
// std::regex matches recursively, one frame per character; strings longer than this are not
// matched against a pattern (reported instead), which keeps the stack bounded. The registry's
// patterned fields are at most 256 characters.
constexpr size_t kMaxPatternSubjectBytes = 1024;
// Values quoted in messages are cut to this many bytes.
constexpr size_t kMaxQuotedBytes = 80;

const std::set<std::string>& known_keywords() {
  static const std::set<std::string> k = {
      "$schema", "$id", "$ref", "$defs", "$comment",
      "allOf", "anyOf", "oneOf", "not", "if", "then", "else",
      "properties", "patternProperties", "additionalProperties", "prefixItems", "items",
      "type", "enum", "const", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
      "minLength", "maxLength", "pattern", "minItems", "maxItems", "uniqueItems", "required",
      "minProperties", "maxProperties",
      "title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly", "format"};
  return k;
}

const std::set<std::string>& type_names() {
  static const std::set<std::string> k = {"null", "boolean", "integer", "number", "string", "array", "object"};
  return k;
}

bool is_integral(const json& v) {
  if (v.is_number_integer()) return true;
  if (!v.is_number_float()) return false;
  double d = v.get<double>();
  return std::isfinite(d) && std::floor(d) == d;
}

std::string type_of(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "boolean";
    case json::value_t::string: return "string";
    case json::value_t::array: return "array";
    case json::value_t::object: return "object";
    default: return is_integral(v) ? "integer" : "number";
  }
}

bool has_type(const json& v, const std::string& t) {
  if (t == "number") return v.is_number();
  if (t == "integer") return is_integral(v);
  return type_of(v) == t;
}

size_t utf8_length(const std::string& s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// A short, never-recursive rendering of a value for messages.
std::string quote(const json& v) {
  if (v.is_string()) {
    std::string s = v.get<std::string>();
    bool cut = s.size() > kMaxQuotedBytes;
    if (cut) {
      size_t n = kMaxQuotedBytes;
      while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
      s.resize(n);
    }
    return json(s).dump(-1, ' ', false, json::error_handler_t::replace) + (cut ? "..." : "");
  }
  if (v.is_array()) return "an array of " + std::to_string(v.size());
  if (v.is_object()) return "an object";
  return v.dump();
}

std::string join_quoted(const json& values) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : ", ") + quote(v);
  return out;
}

std::string fmt_number(double d) {
  json j = d;
  if (is_integral(j) && std::fabs(d) < 1e15) return std::to_string(static_cast<long long>(d));
  return j.dump();
}

// Compile-time checks: keywords known, values well-formed, refs resolvable, patterns compiled.
class Compiler {
 public:
  Compiler(const json& root, std::unordered_map<const json*, std::regex>* patterns) : root_(root), patterns_(patterns) {}

  Status walk(const json& s, const std::string& at, bool is_root) {
    if (s.is_boolean()) return Status::ok();
    if (!s.is_object()) return bad(at, "a schema must be an object or a boolean");
    for (const auto& [key, value] : s.items()) {
      std::string here = json_pointer_append(at, key);
      if (!known_keywords().count(key))
        return bad(here, "keyword '" + key + "' is not implemented by tinyq's validator");
      TINYQ_RETURN_IF_ERROR(check_keyword(key, value, here, is_root));
    }
    return Status::ok();
  }

 private:
  Status bad(const std::string& at, const std::string& why) const {
    return Status::invalid_argument("schema " + (at.empty() ? std::string("root") : at) + ": " + why);
  }
  Status non_negative_int(const json& v, const std::string& at) const {
    if (!is_integral(v) || v.get<double>() < 0) return bad(at, "must be a non-negative integer");
    return Status::ok();
  }
  Status schema_map(const json& v, const std::string& at) {
    if (!v.is_object()) return bad(at, "must be an object of schemas");
    for (const auto& [k, sub] : v.items()) TINYQ_RETURN_IF_ERROR(walk(sub, json_pointer_append(at, k), false));
    return Status::ok();
  }
  Status schema_list(const json& v, const std::string& at) {
    if (!v.is_array() || v.empty()) return bad(at, "must be a non-empty array of schemas");
    for (size_t i = 0; i < v.size(); ++i) TINYQ_RETURN_IF_ERROR(walk(v[i], json_pointer_append(at, std::to_string(i)), false));
    return Status::ok();
  }

  Status check_keyword(const std::string& key, const json& v, const std::string& at, bool is_root) {
    if (key == "$schema") {
      if (!is_root) return bad(at, "$schema is only allowed at the root");
      if (v != kDraft202012) return bad(at, "only draft 2020-12 (" + std::string(kDraft202012) + ") is supported");
      return Status::ok();
    }
    if (key == "$id") {
      if (!is_root) return bad(at, "$id is only supported at the root (refs resolve against the root document)");
      return v.is_string() ? Status::ok() : bad(at, "must be a string");
    }
    if (key == "$ref") {
      if (!v.is_string()) return bad(at, "must be a string");
      std::string ref = v.get<std::string>();
      if (ref.empty() || ref[0] != '#') return bad(at, "only local references ('#/...') are supported, not '" + ref + "'");
      if (!resolve_ref(root_, ref)) return bad(at, "'" + ref + "' does not resolve inside the schema");
      return Status::ok();
    }
    if (key == "$defs" || key == "properties") return schema_map(v, at);
    if (key == "patternProperties") {
      TINYQ_RETURN_IF_ERROR(schema_map(v, at));
      for (const auto& [k, sub] : v.items()) TINYQ_RETURN_IF_ERROR(compile_pattern(k, &v, json_pointer_append(at, k)));
      return Status::ok();
    }
    if (key == "allOf" || key == "anyOf" || key == "oneOf" || key == "prefixItems") return schema_list(v, at);
    if (key == "not" || key == "if" || key == "then" || key == "else" || key == "additionalProperties" || key == "items")
      return walk(v, at, false);
    if (key == "type") {
      std::vector<json> names = v.is_array() ? std::vector<json>(v.begin(), v.end()) : std::vector<json>{v};
      if (names.empty()) return bad(at, "must name at least one type");
      for (const auto& n : names)
        if (!n.is_string() || !type_names().count(n.get<std::string>())) return bad(at, quote(n) + " is not a JSON Schema type");
      return Status::ok();
    }
    if (key == "enum") return v.is_array() && !v.empty() ? Status::ok() : bad(at, "must be a non-empty array");
    if (key == "minimum" || key == "maximum" || key == "exclusiveMinimum" || key == "exclusiveMaximum")
      return v.is_number() ? Status::ok() : bad(at, "must be a number");
    if (key == "minLength" || key == "maxLength" || key == "minItems" || key == "maxItems" || key == "minProperties" ||
        key == "maxProperties")
      return non_negative_int(v, at);
    if (key == "uniqueItems" || key == "deprecated" || key == "readOnly" || key == "writeOnly")
      return v.is_boolean() ? Status::ok() : bad(at, "must be a boolean");
    if (key == "pattern") {
      if (!v.is_string()) return bad(at, "must be a string");
      return compile_pattern(v.get<std::string>(), &v, at);
    }
    if (key == "required") {
      if (!v.is_array()) return bad(at, "must be an array of strings");
      for (const auto& n : v)
        if (!n.is_string()) return bad(at, "must be an array of strings");
      return Status::ok();
    }
    if (key == "title" || key == "description" || key == "$comment" || key == "format")
      return v.is_string() ? Status::ok() : bad(at, "must be a string");
    return Status::ok();  // const, default, examples: any value
  }

  // Compiled regexes are keyed by a node of the (immutable) schema: the "pattern" string itself,
  // or, for patternProperties, the subschema its pattern key selects.
  Status compile_pattern(const std::string& pattern, const json* owner, const std::string& at) {
    const json* key_node = owner;
    if (owner->is_object()) key_node = &(*owner)[pattern];  // patternProperties: key the subschema
    try {
      patterns_->emplace(key_node, std::regex(pattern, std::regex::ECMAScript));
    } catch (const std::regex_error& e) {
      return bad(at, "pattern " + quote(json(pattern)) + " does not compile: " + e.what());
    }
    return Status::ok();
  }

 public:
  static const json* resolve_ref(const json& root, const std::string& ref) {
    if (ref == "#") return &root;
    if (ref.size() < 2 || ref[1] != '/') return nullptr;
    const json* node = &root;
    size_t pos = 1;
    while (pos < ref.size()) {
      size_t next = ref.find('/', pos + 1);
      std::string token = ref.substr(pos + 1, next == std::string::npos ? std::string::npos : next - pos - 1);
      std::string decoded;
      for (size_t i = 0; i < token.size(); ++i) {
        if (token[i] == '~' && i + 1 < token.size() && (token[i + 1] == '0' || token[i + 1] == '1')) {
          decoded += token[i + 1] == '0' ? '~' : '/';
          ++i;
        } else {
          decoded += token[i];
        }
      }
      if (node->is_object()) {
        auto it = node->find(decoded);
        if (it == node->end()) return nullptr;
        node = &*it;
      } else if (node->is_array()) {
        if (decoded.empty() || decoded.find_first_not_of("0123456789") != std::string::npos) return nullptr;
        size_t idx = std::stoul(decoded);
        if (idx >= node->size()) return nullptr;
        node = &(*node)[idx];
      } else {
        return nullptr;
      }
      pos = next == std::string::npos ? ref.size() : next;
    }
    return node;
  }

 private:
  const json& root_;
  std::unordered_map<const json*, std::regex>* patterns_;
};

}  // namespace

std::string json_pointer_append(const std::string& base, const std::string& token) {
  std::string out = base + "/";
  for (char c : token) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

class JsonSchema::Validator {
 public:
  explicit Validator(const Compiled& c) : c_(c) {}

  void check(const json& s, const json& v, const std::string& at, std::vector<SchemaError>& errs, int depth) const {
    if (depth > kMaxDepth) {
      errs.push_back({at, "nested deeper than " + std::to_string(kMaxDepth) + " schema levels"});
      return;
    }
    if (s.is_boolean()) {
      if (!s.get<bool>()) errs.push_back({at, "no value is allowed here"});
      return;
    }
    if (auto it = s.find("$ref"); it != s.end())
      check(*Compiler::resolve_ref(c_.root, it->get<std::string>()), v, at, errs, depth + 1);
    if (auto it = s.find("type"); it != s.end()) {
      bool ok = false;
      std::string wanted;
      auto one = [&](const json& t) {
        ok = ok || has_type(v, t.get<std::string>());
        wanted += (wanted.empty() ? "" : " or ") + t.get<std::string>();
      };
      if (it->is_array()) for (const auto& t : *it) one(t);
      else one(*it);
      if (!ok) {
        // The other keywords would only repeat the point.
        std::string actual = v.is_array() || v.is_object() ? "an " + type_of(v) : type_of(v) + " " + quote(v);
        errs.push_back({at, "is " + actual + ", expected " + wanted});
        return;
      }
    }
    if (auto it = s.find("enum"); it != s.end()) {
      if (std::none_of(it->begin(), it->end(), [&](const json& e) { return e == v; }))
        errs.push_back({at, quote(v) + " is not one of: " + join_quoted(*it)});
    }
    if (auto it = s.find("const"); it != s.end() && *it != v)
      errs.push_back({at, quote(v) + " must be " + quote(*it)});
    if (v.is_number()) check_number(s, v, at, errs);
    if (v.is_string()) check_string(s, v.get_ref<const std::string&>(), at, errs);
    if (v.is_array()) check_array(s, v, at, errs, depth);
    if (v.is_object()) check_object(s, v, at, errs, depth);
    check_combinators(s, v, at, errs, depth);
  }

 private:
  void check_number(const json& s, const json& v, const std::string& at, std::vector<SchemaError>& errs) const {
    double d = v.get<double>();
    auto bound = [&](const char* key, auto fails, const char* relation) {
      auto it = s.find(key);
      if (it != s.end() && fails(d, it->template get<double>()))
        errs.push_back({at, fmt_number(d) + " must be " + relation + " " + fmt_number(it->template get<double>())});
    };
    bound("minimum", [](double x, double b) { return x < b; }, ">=");
    bound("maximum", [](double x, double b) { return x > b; }, "<=");
    bound("exclusiveMinimum", [](double x, double b) { return x <= b; }, ">");
    bound("exclusiveMaximum", [](double x, double b) { return x >= b; }, "<");
  }

  void check_string(const json& s, const std::string& v, const std::string& at, std::vector<SchemaError>& errs) const {
    size_t len = utf8_length(v);
    if (auto it = s.find("minLength"); it != s.end() && len < it->get<double>())
      errs.push_back({at, "is " + std::to_string(len) + " characters long, shorter than the minimum " + fmt_number(it->get<double>())});
    if (auto it = s.find("maxLength"); it != s.end() && len > it->get<double>())
      errs.push_back({at, "is " + std::to_string(len) + " characters long, longer than the maximum " + fmt_number(it->get<double>())});
    if (auto it = s.find("pattern"); it != s.end()) {
      if (v.size() > kMaxPatternSubjectBytes) {
        errs.push_back({at, "is " + std::to_string(v.size()) + " bytes long; pattern " + quote(*it) + " is only checked on strings up to " +
                                std::to_string(kMaxPatternSubjectBytes) + " bytes"});
      } else if (!std::regex_search(v, c_.patterns.at(&*it))) {
        errs.push_back({at, quote(json(v)) + " does not match the pattern " + quote(*it)});
      }
    }
  }

  void check_array(const json& s, const json& v, const std::string& at, std::vector<SchemaError>& errs, int depth) const {
    if (auto it = s.find("minItems"); it != s.end() && v.size() < it->get<double>())
      errs.push_back({at, "has " + std::to_string(v.size()) + " items, fewer than the minimum " + fmt_number(it->get<double>())});
    if (auto it = s.find("maxItems"); it != s.end() && v.size() > it->get<double>())
      errs.push_back({at, "has " + std::to_string(v.size()) + " items, more than the maximum " + fmt_number(it->get<double>())});
    if (auto it = s.find("uniqueItems"); it != s.end() && it->get<bool>()) {
      for (size_t i = 1; i < v.size(); ++i)
        for (size_t j = 0; j < i; ++j)
          if (v[i] == v[j]) {
            errs.push_back({json_pointer_append(at, std::to_string(i)), "repeats item " + std::to_string(j) + "; items must be unique"});
            j = i;  // one report per repeated item
          }
    }
    size_t first = 0;
    if (auto it = s.find("prefixItems"); it != s.end()) {
      first = std::min(it->size(), v.size());
      for (size_t i = 0; i < first; ++i) check((*it)[i], v[i], json_pointer_append(at, std::to_string(i)), errs, depth + 1);
    }
    if (auto it = s.find("items"); it != s.end())
      for (size_t i = first; i < v.size(); ++i) check(*it, v[i], json_pointer_append(at, std::to_string(i)), errs, depth + 1);
  }

  void check_object(const json& s, const json& v, const std::string& at, std::vector<SchemaError>& errs, int depth) const {
    if (auto it = s.find("required"); it != s.end())
      for (const auto& name : *it)
        if (!v.contains(name.get<std::string>())) errs.push_back({at, "missing required property " + quote(name)});
    if (auto it = s.find("minProperties"); it != s.end() && v.size() < it->get<double>())
      errs.push_back({at, "has " + std::to_string(v.size()) + " properties, fewer than the minimum " + fmt_number(it->get<double>())});
    if (auto it = s.find("maxProperties"); it != s.end() && v.size() > it->get<double>())
      errs.push_back({at, "has " + std::to_string(v.size()) + " properties, more than the maximum " + fmt_number(it->get<double>())});
    auto props = s.find("properties");
    auto pattern_props = s.find("patternProperties");
    auto additional = s.find("additionalProperties");
    for (const auto& [key, value] : v.items()) {
      std::string here = json_pointer_append(at, key);
      bool matched = false;
      if (props != s.end()) {
        if (auto p = props->find(key); p != props->end()) {
          matched = true;
          check(*p, value, here, errs, depth + 1);
        }
      }
      if (pattern_props != s.end()) {
        for (const auto& [pattern, sub] : pattern_props->items()) {
          if (key.size() <= kMaxPatternSubjectBytes && std::regex_search(key, c_.patterns.at(&sub))) {
            matched = true;
            check(sub, value, here, errs, depth + 1);
          }
        }
      }
      if (!matched && additional != s.end()) {
        if (additional->is_boolean() && !additional->get<bool>()) errs.push_back({here, "unknown property " + quote(json(key))});
        else check(*additional, value, here, errs, depth + 1);
      }
    }
  }

  void check_combinators(const json& s, const json& v, const std::string& at, std::vector<SchemaError>& errs, int depth) const {
    if (auto it = s.find("allOf"); it != s.end())
      for (const auto& sub : *it) check(sub, v, at, errs, depth + 1);
    if (auto it = s.find("anyOf"); it != s.end()) {
      std::vector<SchemaError> best;
      bool any = false;
      for (const auto& sub : *it) {
        std::vector<SchemaError> e;
        check(sub, v, at, e, depth + 1);
        if (e.empty()) { any = true; break; }
        if (best.empty() || e.size() < best.size()) best = std::move(e);
      }
      if (!any) {
        errs.push_back({at, "matches none of the " + std::to_string(it->size()) + " anyOf alternatives; the closest fails with:"});
        errs.insert(errs.end(), best.begin(), best.end());
      }
    }
    if (auto it = s.find("oneOf"); it != s.end()) {
      size_t valid = 0;
      for (const auto& sub : *it) {
        std::vector<SchemaError> e;
        check(sub, v, at, e, depth + 1);
        valid += e.empty();
      }
      if (valid != 1) errs.push_back({at, "matches " + std::to_string(valid) + " of the oneOf alternatives; exactly one must match"});
    }
    if (auto it = s.find("not"); it != s.end()) {
      std::vector<SchemaError> e;
      check(*it, v, at, e, depth + 1);
      if (e.empty()) errs.push_back({at, "matches a schema it must not match"});
    }
    if (auto it = s.find("if"); it != s.end()) {
      std::vector<SchemaError> e;
      check(*it, v, at, e, depth + 1);
      auto branch = s.find(e.empty() ? "then" : "else");
      if (branch != s.end()) {
        size_t before = errs.size();
        check(*branch, v, at, errs, depth + 1);
        // A conditional requirement reads better with its reason.
        if (branch->is_object() && branch->contains("description") && (*branch)["description"].is_string())
          for (size_t i = before; i < errs.size(); ++i) errs[i].message += " (" + (*branch)["description"].get<std::string>() + ")";
      }
    }
  }

  const Compiled& c_;
};

Result<JsonSchema> JsonSchema::compile(json schema) {
  auto c = std::make_shared<Compiled>();
  c->root = std::move(schema);
  Compiler compiler(c->root, &c->patterns);
  TINYQ_RETURN_IF_ERROR(compiler.walk(c->root, "", true));
  return JsonSchema(std::move(c));
}

std::vector<SchemaError> JsonSchema::validate(const json& instance) const {
  std::vector<SchemaError> errs;
  Validator(*c_).check(c_->root, instance, "", errs, 0);
  return errs;
}

Result<json> parse_json_strict(std::string_view text, const std::string& display_name, std::vector<SchemaError>* duplicates) {
  struct Frame {
    bool array = false;
    size_t index = 0;
    std::string key;
    std::set<std::string> keys;
  };
  std::vector<Frame> frames;
  auto pointer_of_parents = [&frames]() {
    std::string p;
    for (size_t i = 0; i + 1 < frames.size(); ++i)
      p = json_pointer_append(p, frames[i].array ? std::to_string(frames[i].index) : frames[i].key);
    return p;
  };
  auto element_done = [&frames]() {
    if (!frames.empty() && frames.back().array) ++frames.back().index;
  };
  json::parser_callback_t cb = [&](int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start: frames.push_back({}); break;
      case json::parse_event_t::array_start: frames.push_back(Frame{true, 0, {}, {}}); break;
      case json::parse_event_t::key: {
        Frame& f = frames.back();
        f.key = parsed.get<std::string>();
        if (!f.keys.insert(f.key).second && duplicates)
          duplicates->push_back({json_pointer_append(pointer_of_parents(), f.key),
                                 "duplicate key " + quote(parsed) + " (JSON readers disagree on which value wins)"});
        break;
      }
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        frames.pop_back();
        element_done();
        break;
      case json::parse_event_t::value: element_done(); break;
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/true, /*ignore_comments=*/false);
  } catch (const json::exception& e) {
    std::string what = e.what();
    // Drop nlohmann's "[json.exception.parse_error.101] " prefix.
    if (auto p = what.find("] "); what.rfind("[json.exception", 0) == 0 && p != std::string::npos) what = what.substr(p + 2);
    return Status::corrupt("'" + display_name + "' is not JSON: " + what);
  }
}

}  // namespace tinyq::registry

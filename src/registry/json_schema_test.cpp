// The JSON Schema validator, keyword by keyword, with the pointers and messages it reports.
#include "registry/json_schema.h"

#include <gtest/gtest.h>

using nlohmann::json;
using namespace tinyq;
using namespace tinyq::registry;

namespace {

registry::JsonSchema compiled(const json& schema) {
  auto s = JsonSchema::compile(schema);
  EXPECT_TRUE(s.is_ok()) << s.status().to_string();
  return std::move(s).value();
}

std::vector<SchemaError> errors(const json& schema, const json& instance) { return compiled(schema).validate(instance); }

std::string joined(const std::vector<SchemaError>& errs) {
  std::string s;
  for (const auto& e : errs) s += e.pointer + ": " + e.message + "\n";
  return s;
}

TEST(JsonSchema, TypeNamesTheActualAndExpectedTypes) {
  json s = {{"type", "string"}};
  EXPECT_TRUE(errors(s, "x").empty());
  auto e = errors(s, 3);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].pointer, "");
  EXPECT_EQ(e[0].message, "is integer 3, expected string");
  EXPECT_TRUE(errors({{"type", json::array({"string", "null"})}}, nullptr).empty());
}

TEST(JsonSchema, IntegerAcceptsWholeFloatsAsDraft202012Says) {
  json s = {{"type", "integer"}};
  EXPECT_TRUE(errors(s, 17).empty());
  EXPECT_TRUE(errors(s, 17.0).empty());
  EXPECT_EQ(errors(s, 17.5).size(), 1u);
  EXPECT_EQ(errors(s, "17").size(), 1u);
  EXPECT_TRUE(errors({{"type", "number"}}, 17).empty());
}

TEST(JsonSchema, EnumAndConst) {
  json s = {{"enum", {"fp32", "static"}}};
  EXPECT_TRUE(errors(s, "fp32").empty());
  auto e = errors(s, "int4");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].message, "\"int4\" is not one of: \"fp32\", \"static\"");
  EXPECT_TRUE(errors({{"enum", {0, 1}}}, 1.0).empty()) << "1.0 equals 1 in JSON Schema";
  EXPECT_EQ(errors({{"const", "a"}}, "b").size(), 1u);
  EXPECT_TRUE(errors({{"const", "a"}}, "a").empty());
}

TEST(JsonSchema, NumberBounds) {
  json s = {{"minimum", 7}, {"maximum", 21}};
  EXPECT_TRUE(errors(s, 7).empty());
  EXPECT_TRUE(errors(s, 21).empty());
  auto e = errors(s, 22);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].message, "22 must be <= 21");
  EXPECT_EQ(errors(s, 6.5).size(), 1u);
  json x = {{"exclusiveMinimum", 0}, {"exclusiveMaximum", 1}};
  EXPECT_EQ(errors(x, 0).size(), 1u);
  EXPECT_EQ(errors(x, 1).size(), 1u);
  EXPECT_TRUE(errors(x, 0.5).empty());
  EXPECT_TRUE(errors(s, "not a number").empty()) << "bounds only apply to numbers";
}

TEST(JsonSchema, LengthCountsCodePointsNotBytes) {
  json s = {{"maxLength", 3}, {"minLength", 2}};
  EXPECT_TRUE(errors(s, "\xE2\x80\x94\xE2\x80\x94\xE2\x80\x94").empty()) << "three em dashes are 9 bytes, 3 characters";
  EXPECT_EQ(errors(s, "abcd").size(), 1u);
  EXPECT_EQ(errors(s, "a").size(), 1u);
}

TEST(JsonSchema, PatternIsAnUnanchoredEcmaScriptSearch) {
  json s = {{"pattern", "^[0-9a-f]{4}$"}};
  EXPECT_TRUE(errors(s, "00af").empty());
  auto e = errors(s, "00AF");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].message, "\"00AF\" does not match the pattern \"^[0-9a-f]{4}$\"");
  EXPECT_TRUE(errors({{"pattern", "b"}}, "abc").empty());
}

TEST(JsonSchema, VeryLongStringsAreNotFedToTheRegexEngine) {
  // std::regex recurses per character; a megabyte of id must be an error, not a stack overflow.
  json s = {{"pattern", "^[a-z0-9][a-z0-9_-]*$"}};
  auto e = errors(s, std::string(1 << 20, 'a'));
  ASSERT_EQ(e.size(), 1u);
  EXPECT_NE(e[0].message.find("only checked on strings up to"), std::string::npos) << e[0].message;
}

TEST(JsonSchema, ObjectsRequiredPropertiesAndUnknownOnes) {
  json s = {{"type", "object"},
            {"required", {"id", "sha256"}},
            {"properties", {{"id", {{"type", "string"}}}, {"sha256", {{"type", "string"}}}}},
            {"additionalProperties", false}};
  EXPECT_TRUE(errors(s, {{"id", "a"}, {"sha256", "b"}}).empty());
  auto e = errors(s, {{"id", 1}, {"extra", true}});
  ASSERT_EQ(e.size(), 3u) << joined(e);
  EXPECT_EQ(e[0].pointer, "");
  EXPECT_EQ(e[0].message, "missing required property \"sha256\"");
  EXPECT_EQ(e[1].pointer, "/extra");
  EXPECT_EQ(e[1].message, "unknown property \"extra\"");
  EXPECT_EQ(e[2].pointer, "/id");
}

TEST(JsonSchema, AdditionalAndPatternProperties) {
  json s = {{"patternProperties", {{"^x-", {{"type", "string"}}}}}, {"additionalProperties", {{"type", "integer"}}}};
  EXPECT_TRUE(errors(s, {{"x-a", "s"}, {"n", 1}}).empty());
  auto e = errors(s, {{"x-a", 1}, {"n", "s"}});
  ASSERT_EQ(e.size(), 2u) << joined(e);
  EXPECT_EQ(e[0].pointer, "/n");
  EXPECT_EQ(e[1].pointer, "/x-a");
  json counts = {{"minProperties", 1}, {"maxProperties", 2}};
  EXPECT_EQ(errors(counts, json::object()).size(), 1u);
  EXPECT_EQ(errors(counts, {{"a", 1}, {"b", 2}, {"c", 3}}).size(), 1u);
}

TEST(JsonSchema, ArraysItemsPrefixItemsAndCounts) {
  json s = {{"prefixItems", {{{"type", "string"}}}}, {"items", {{"type", "integer"}}}, {"minItems", 1}, {"maxItems", 3}};
  EXPECT_TRUE(errors(s, {"a", 1, 2}).empty());
  auto e = errors(s, {1, "b"});
  ASSERT_EQ(e.size(), 2u) << joined(e);
  EXPECT_EQ(e[0].pointer, "/0");
  EXPECT_EQ(e[1].pointer, "/1");
  EXPECT_EQ(errors(s, json::array()).size(), 1u);
  EXPECT_EQ(errors(s, {"a", 1, 2, 3}).size(), 1u);
  auto u = errors({{"uniqueItems", true}}, {1, 2, 1.0});
  ASSERT_EQ(u.size(), 1u);
  EXPECT_EQ(u[0].pointer, "/2");
}

TEST(JsonSchema, RefsResolveIntoDefsAndPointersEscape) {
  json s = {{"$defs", {{"hex", {{"type", "string"}, {"pattern", "^[0-9a-f]+$"}}}, {"a/b~c", {{"type", "integer"}}}}},
            {"properties", {{"digest", {{"$ref", "#/$defs/hex"}}}, {"n", {{"$ref", "#/$defs/a~1b~0c"}}}, {"x/y", {{"type", "null"}}}}}};
  EXPECT_TRUE(errors(s, {{"digest", "ab"}, {"n", 2}}).empty());
  auto e = errors(s, {{"digest", "XY"}, {"n", "two"}, {"x/y", 1}});
  ASSERT_EQ(e.size(), 3u) << joined(e);
  EXPECT_EQ(e[0].pointer, "/digest");
  EXPECT_EQ(e[1].pointer, "/n");
  EXPECT_EQ(e[2].pointer, "/x~1y");
}

TEST(JsonSchema, Combinators) {
  json any = {{"anyOf", {{{"type", "string"}}, {{"type", "integer"}}}}};
  EXPECT_TRUE(errors(any, 1).empty());
  EXPECT_FALSE(errors(any, true).empty());
  json one = {{"oneOf", {{{"type", "integer"}}, {{"minimum", 0}}}}};
  EXPECT_TRUE(errors(one, -1).empty());
  EXPECT_EQ(errors(one, 1).size(), 1u) << "both match";
  EXPECT_EQ(errors({{"not", {{"type", "null"}}}}, nullptr).size(), 1u);
  json all = {{"allOf", {{{"minimum", 0}}, {{"maximum", 1}}}}};
  EXPECT_EQ(errors(all, 2).size(), 1u);
  EXPECT_TRUE(errors(false, nullptr).size() == 1 && errors(true, nullptr).empty());
}

TEST(JsonSchema, IfThenElseAddsTheBranchDescription) {
  json s = {{"if", {{"required", {"quant_mode"}}, {"properties", {{"quant_mode", {{"enum", {"dynamic"}}}}}}}},
            {"then", {{"required", {"int8_sha256"}}, {"description", "needed for int8"}}},
            {"else", {{"not", {{"required", {"int8_sha256"}}}}}}};
  EXPECT_TRUE(errors(s, {{"quant_mode", "dynamic"}, {"int8_sha256", "x"}}).empty());
  auto e = errors(s, {{"quant_mode", "dynamic"}});
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].message, "missing required property \"int8_sha256\" (needed for int8)");
  EXPECT_TRUE(errors(s, {{"quant_mode", "fp32"}}).empty());
  EXPECT_EQ(errors(s, {{"int8_sha256", "x"}}).size(), 1u) << "else branch";
}

TEST(JsonSchema, CompileRefusesWhatItCannotCheck) {
  auto unknown = JsonSchema::compile({{"properties", {{"a", {{"multipleOf", 2}}}}}});
  ASSERT_FALSE(unknown.is_ok());
  EXPECT_NE(unknown.status().message().find("/properties/a/multipleOf"), std::string::npos) << unknown.status().message();
  EXPECT_FALSE(JsonSchema::compile({{"$ref", "#/$defs/missing"}}).is_ok());
  EXPECT_FALSE(JsonSchema::compile({{"$ref", "https://example.com/s.json"}}).is_ok());
  EXPECT_FALSE(JsonSchema::compile({{"pattern", "(["}}).is_ok());
  EXPECT_FALSE(JsonSchema::compile({{"$schema", "http://json-schema.org/draft-07/schema#"}}).is_ok());
  EXPECT_FALSE(JsonSchema::compile({{"type", "float"}}).is_ok());
  EXPECT_FALSE(JsonSchema::compile({{"required", "id"}}).is_ok());
  EXPECT_FALSE(JsonSchema::compile({{"minLength", -1}}).is_ok());
  EXPECT_FALSE(JsonSchema::compile(json::array()).is_ok());
  EXPECT_TRUE(JsonSchema::compile({{"format", "uri"}, {"title", "t"}, {"default", 1}}).is_ok()) << "annotations";
}

TEST(JsonSchema, CyclicRefsEndInAnErrorNotACrash) {
  json s = {{"$defs", {{"a", {{"$ref", "#/$defs/a"}}}}}, {"$ref", "#/$defs/a"}};
  auto e = errors(s, 1);
  ASSERT_FALSE(e.empty());
  EXPECT_NE(e[0].message.find("nested deeper"), std::string::npos);
}

TEST(JsonSchema, DeepInstancesAgainstARecursiveSchemaAreBounded) {
  json s = {{"$defs", {{"node", {{"type", "array"}, {"items", {{"$ref", "#/$defs/node"}}}}}}}, {"$ref", "#/$defs/node"}};
  std::string text(5000, '[');
  text += std::string(5000, ']');
  auto doc = parse_json_strict(text, "deep.json", nullptr);
  ASSERT_TRUE(doc.is_ok());
  auto e = errors(s, *doc);
  ASSERT_FALSE(e.empty());
}

TEST(ParseJsonStrict, NotJsonNamesTheFileLineAndColumn) {
  auto r = parse_json_strict("{\n  \"a\": tru}", "reg.json", nullptr);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorrupt);
  EXPECT_NE(r.status().message().find("'reg.json' is not JSON"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("line 2"), std::string::npos) << r.status().message();
  EXPECT_FALSE(parse_json_strict("", "empty.json", nullptr).is_ok());
  EXPECT_FALSE(parse_json_strict("{\"a\": \"\xff\"}", "utf8.json", nullptr).is_ok()) << "invalid UTF-8";
}

TEST(ParseJsonStrict, DuplicateKeysAreReportedWithTheirPointer) {
  std::vector<SchemaError> dups;
  auto r = parse_json_strict(R"({"models": [{"id": "a"}, {"id": "b", "sha256": "1", "x/y": 0, "sha256": "2"}], "models2": 1})",
                             "reg.json", &dups);
  ASSERT_TRUE(r.is_ok());
  ASSERT_EQ(dups.size(), 1u);
  EXPECT_EQ(dups[0].pointer, "/models/1/sha256");
  EXPECT_NE(dups[0].message.find("duplicate key"), std::string::npos);
  dups.clear();
  ASSERT_TRUE(parse_json_strict(R"([[1, {"a": 1}], {"a": 1, "a": 2}])", "x", &dups).is_ok());
  ASSERT_EQ(dups.size(), 1u);
  EXPECT_EQ(dups[0].pointer, "/1/a");
}

}  // namespace

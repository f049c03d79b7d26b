// Registry documents: parsing, the schema, and the checks JSON Schema cannot state (unique ids,
// paths that stay in the registry's folder).
#include "tinyq/registry.h"

#include <filesystem>
#include <map>

#include "registry/json_schema.h"
#include "util/file.h"

namespace tinyq {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Sidecars are small metadata files; anything bigger is not one.
constexpr uint64_t kMaxSidecarBytes = uint64_t{1} << 20;

const Result<registry::JsonSchema>& builtin_schema() {
  static const Result<registry::JsonSchema> schema = []() -> Result<registry::JsonSchema> {
    TINYQ_ASSIGN_OR_RETURN(json doc, registry::parse_json_strict(registry_schema_text(), "registry.schema.json", nullptr));
    return registry::JsonSchema::compile(std::move(doc));
  }();
  return schema;
}

std::string str_field(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<std::string> names_field(const json& obj, const char* plural, const char* singular) {
  std::vector<std::string> out;
  if (auto it = obj.find(plural); it != obj.end() && it->is_array()) {
    for (const auto& n : *it)
      if (n.is_string()) out.push_back(n.get<std::string>());
  } else if (auto one = obj.find(singular); one != obj.end() && one->is_string()) {
    out.push_back(one->get<std::string>());
  }
  return out;
}

bool parse_quant_mode(const std::string& s, QuantMode* out) {
  static const std::map<std::string, QuantMode> k = {
      {"fp32", QuantMode::kFp32}, {"static", QuantMode::kStatic}, {"dynamic", QuantMode::kDynamic}, {"qat", QuantMode::kQat}};
  auto it = k.find(s);
  if (it == k.end()) return false;
  *out = it->second;
  return true;
}

// Reads the fields that have the right type; the schema reports the others.
RegistryEntry read_entry(const json& m, const std::string& pointer) {
  RegistryEntry e;
  e.pointer = pointer;
  e.id = str_field(m, "id");
  e.kind = str_field(m, "kind");
  e.onnx = str_field(m, "onnx");
  e.sha256 = str_field(m, "sha256");
  if (auto it = m.find("opset"); it != m.end() && it->is_number_integer()) e.opset = it->get<int64_t>();
  (void)parse_quant_mode(str_field(m, "quant_mode"), &e.quant_mode);
  e.int8_sha256 = str_field(m, "int8_sha256");
  e.quant_calibration_set = str_field(m, "quant_calibration_set");
  if (auto it = m.find("quant_accuracy_budget_plcc"); it != m.end() && it->is_number()) e.quant_accuracy_budget_plcc = it->get<double>();
  if (auto it = m.find("smoke"); it != m.end() && it->is_boolean()) e.smoke = it->get<bool>();
  e.license = str_field(m, "license");
  e.license_url = str_field(m, "license_url");
  e.description = str_field(m, "description");
  e.notes = str_field(m, "notes");
  e.sigstore_bundle = str_field(m, "sigstore_bundle");
  e.fixtures = str_field(m, "fixtures");
  e.train_set = str_field(m, "train_set");
  e.quant_gate_reference = str_field(m, "quant_gate_reference");
  return e;
}

// The path fields of an entry, by JSON key.
std::vector<std::pair<const char*, const std::string*>> path_fields(const RegistryEntry& e) {
  return {{"onnx", &e.onnx}, {"quant_calibration_set", &e.quant_calibration_set}, {"fixtures", &e.fixtures},
          {"train_set", &e.train_set}, {"sigstore_bundle", &e.sigstore_bundle}};
}

}  // namespace

const char* quant_mode_name(QuantMode mode) {
  switch (mode) {
    case QuantMode::kFp32: return "fp32";
    case QuantMode::kStatic: return "static";
    case QuantMode::kDynamic: return "dynamic";
    case QuantMode::kQat: return "qat";
  }
  return "?";
}

std::string RegistryEntry::stem() const {
  constexpr std::string_view kExt = ".onnx";
  if (onnx.size() >= kExt.size() && onnx.compare(onnx.size() - kExt.size(), kExt.size(), kExt) == 0)
    return onnx.substr(0, onnx.size() - kExt.size());
  return onnx;
}
std::string RegistryEntry::int8_onnx() const { return stem() + ".int8.onnx"; }
std::string RegistryEntry::sidecar() const { return stem() + ".json"; }

Result<Registry> Registry::read(const std::string& path) {
  TINYQ_ASSIGN_OR_RETURN(std::string text, util::read_file(path, kMaxRegistryBytes));
  return parse(text, path);
}

Result<Registry> Registry::parse(std::string_view text, const std::string& path) {
  std::vector<registry::SchemaError> duplicates;
  TINYQ_ASSIGN_OR_RETURN(json doc, registry::parse_json_strict(text, path, &duplicates));
  Registry r;
  r.path_ = path;
  r.dir_ = fs::path(path).parent_path().string();
  if (r.dir_.empty()) r.dir_ = ".";
  const auto& schema = builtin_schema();
  // tinyq's own schema text (registry_test.cpp compiles it); failing here is a build bug.
  if (!schema.is_ok()) return Status::internal("built-in registry schema: " + schema.status().message());
  for (auto& e : schema->validate(doc)) r.problems_.push_back({std::move(e.pointer), std::move(e.message)});
  for (auto& e : duplicates) r.problems_.push_back({std::move(e.pointer), std::move(e.message)});
  if (!doc.is_object()) return r;
  if (auto it = doc.find("schema_version"); it != doc.end() && it->is_number_integer()) r.schema_version_ = it->get<int64_t>();
  auto models = doc.find("models");
  if (models == doc.end() || !models->is_array()) return r;

  std::map<std::string, std::string> first_pointer_of_id;
  for (size_t i = 0; i < models->size(); ++i) {
    const json& m = (*models)[i];
    if (!m.is_object()) continue;
    RegistryEntry e = read_entry(m, "/models/" + std::to_string(i));
    if (!e.id.empty()) {
      auto [it, fresh] = first_pointer_of_id.emplace(e.id, e.pointer);
      if (!fresh) r.problems_.push_back({e.pointer + "/id", "duplicate id '" + e.id + "' (first at " + it->second + ")"});
    }
    for (const auto& [key, value] : path_fields(e)) {
      if (value->empty()) continue;
      fs::path p(*value);
      bool up = false;
      for (const auto& part : p) up = up || part == "..";
      if (p.is_absolute() || up)
        r.problems_.push_back({e.pointer + "/" + key, "'" + *value + "' leaves the registry's folder; paths are relative to " + r.dir_ +
                                                          " and may not contain '..' or start with '/'"});
    }
    r.models_.push_back(std::move(e));
  }
  return r;
}

Result<Registry> Registry::load(const std::string& path) {
  TINYQ_ASSIGN_OR_RETURN(Registry r, read(path));
  if (r.valid()) return r;
  constexpr size_t kMaxListed = 20;
  std::string msg = "'" + path + "' is not a valid registry (" + std::to_string(r.problems_.size()) + " problem" +
                    (r.problems_.size() == 1 ? "" : "s") + "):";
  for (size_t i = 0; i < r.problems_.size() && i < kMaxListed; ++i)
    msg += "\n  " + (r.problems_[i].pointer.empty() ? std::string("(root)") : r.problems_[i].pointer) + ": " + r.problems_[i].message;
  if (r.problems_.size() > kMaxListed) msg += "\n  ...";
  return Status::invalid_argument(msg);
}

const RegistryEntry* Registry::find(std::string_view id) const {
  for (const auto& e : models_)
    if (e.id == id) return &e;
  return nullptr;
}

Result<std::string> Registry::resolve(const std::string& relative) const { return util::resolve_inside(dir_, relative); }

Result<std::optional<Sidecar>> Registry::read_sidecar(const RegistryEntry& entry) const {
  if (entry.onnx.empty()) return std::optional<Sidecar>();
  TINYQ_ASSIGN_OR_RETURN(std::string file, resolve(entry.sidecar()));
  std::error_code ec;
  if (!fs::exists(file, ec)) return std::optional<Sidecar>();
  TINYQ_ASSIGN_OR_RETURN(std::string text, util::read_file(file, kMaxSidecarBytes));
  TINYQ_ASSIGN_OR_RETURN(json doc, registry::parse_json_strict(text, file, nullptr));
  if (!doc.is_object()) return Status::corrupt("sidecar '" + file + "' is not a JSON object");
  Sidecar s;
  s.file = file;
  s.id = str_field(doc, "id");
  if (s.id.empty()) s.id = str_field(doc, "name");
  s.onnx = str_field(doc, "onnx");
  s.sha256 = str_field(doc, "sha256");
  s.int8_sha256 = str_field(doc, "int8_sha256");
  s.quant_mode = str_field(doc, "quant_mode");
  s.kind = str_field(doc, "kind");
  for (const char* key : {"opset", "onnx_opset"})
    if (auto it = doc.find(key); s.opset == 0 && it != doc.end() && it->is_number_integer()) s.opset = it->get<int64_t>();
  s.input_names = names_field(doc, "input_names", "input_name");
  s.output_names = names_field(doc, "output_names", "output_name");
  return std::optional<Sidecar>(std::move(s));
}

}  // namespace tinyq

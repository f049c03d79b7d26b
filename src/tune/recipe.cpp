// Recipes as text: what tune writes into an entry's notes and what replay reads back. The text
// is the recipe's only record (the registry schema has no field for it), so it round-trips.
#include <sstream>

#include "tinyq/tune.h"
#include "tune/notes.h"
#include "tune/recipe.h"

namespace tinyq {

namespace {

constexpr std::string_view kFp32Prefix = "fp32=";

Status bad(std::string_view text, const std::string& why) {
  return Status::invalid_argument("tune recipe '" + std::string(text) + "': " + why);
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in{std::string(s)};
  while (std::getline(in, cur, sep))
    if (!cur.empty()) out.push_back(cur);
  return out;
}

}  // namespace

namespace tune {

const char* method_name(CalibrationMethod m) {
  switch (m) {
    case CalibrationMethod::kMinMax: return "minmax";
    case CalibrationMethod::kPercentile: return "percentile";
    case CalibrationMethod::kEntropy: return "entropy";
    case CalibrationMethod::kMse: return "mse";
  }
  return "?";
}

const char* activation_name(ActivationFormat a) { return a == ActivationFormat::kS8 ? "s8" : "u8"; }

std::string recipe_label(const TuneRecipe& r) {
  auto t = tune_recipe_text(r);
  return t.is_ok() ? *t : "?";
}

}  // namespace tune

Result<std::string> tune_recipe_text(const TuneRecipe& r) {
  std::string out;
  switch (r.mode) {
    case QuantMode::kDynamic: out = "dynamic"; break;
    case QuantMode::kStatic: out = "static"; break;
    case QuantMode::kQat: out = "qat"; break;
    case QuantMode::kFp32: return Status::invalid_argument("an fp32 model has no tune recipe");
  }
  if (r.mode != QuantMode::kDynamic) out += std::string(" ") + tune::method_name(r.method);
  out += r.per_channel ? " per-channel" : " per-tensor";
  if (r.mode != QuantMode::kDynamic) out += std::string(" ") + tune::activation_name(r.activations);
  if (!r.fp32_nodes.empty()) {
    out += " ";
    out += kFp32Prefix;
    for (size_t i = 0; i < r.fp32_nodes.size(); ++i) {
      const std::string& n = r.fp32_nodes[i];
      if (n.empty() || n.find_first_of(" ,;\t\n") != std::string::npos)
        return Status::invalid_argument("node name '" + n + "' cannot be written in a tune recipe (spaces, commas, semicolons)");
      out += (i ? "," : "") + n;
    }
  }
  return out;
}

Result<TuneRecipe> parse_tune_recipe(std::string_view text) {
  std::vector<std::string> words = split(text, ' ');
  TuneRecipe r;
  size_t w = 0;
  auto next = [&]() -> const std::string* { return w < words.size() ? &words[w++] : nullptr; };
  const std::string* mode = next();
  if (!mode) return bad(text, "empty");
  if (*mode == "dynamic") r.mode = QuantMode::kDynamic;
  else if (*mode == "static") r.mode = QuantMode::kStatic;
  else if (*mode == "qat") r.mode = QuantMode::kQat;
  else return bad(text, "unknown mode '" + *mode + "' (dynamic, static or qat)");
  if (r.mode != QuantMode::kDynamic) {
    const std::string* m = next();
    if (!m) return bad(text, "no calibration method");
    auto method = parse_calibration_method(*m);
    if (!method.is_ok()) return bad(text, method.status().message());
    r.method = *method;
  }
  const std::string* g = next();
  if (!g || (*g != "per-channel" && *g != "per-tensor")) return bad(text, "expected per-channel or per-tensor");
  r.per_channel = *g == "per-channel";
  if (r.mode != QuantMode::kDynamic) {
    const std::string* a = next();
    if (!a) return bad(text, "no activation format (u8 or s8)");
    auto act = parse_activation_format(*a);
    if (!act.is_ok()) return bad(text, act.status().message());
    r.activations = *act;
  }
  if (const std::string* f = next()) {
    if (f->compare(0, kFp32Prefix.size(), kFp32Prefix) != 0) return bad(text, "unexpected '" + *f + "'");
    r.fp32_nodes = split(std::string_view(*f).substr(kFp32Prefix.size()), ',');
    if (r.fp32_nodes.empty()) return bad(text, "fp32= names no node");
  }
  if (w < words.size()) return bad(text, "unexpected '" + words[w] + "'");
  return r;
}

Result<TuneRecipe> recorded_tune_recipe(std::string_view notes) {
  const size_t at = notes.rfind(tune::kNotesMarker);
  if (at == std::string_view::npos) return Status::not_found("the notes hold no \"" + std::string(tune::kNotesMarker) + "...\" recipe");
  std::string_view rest = notes.substr(at + tune::kNotesMarker.size());
  return parse_tune_recipe(rest.substr(0, rest.find(';')));
}

}  // namespace tinyq

// Makes the bundled feature MLP frame_mlp_v1 and its calibration and fixture sets from the frames
// already bundled in models/data/, deterministically (same inputs, same bytes):
//
//   1. Frames. Calibration rows come from the calibration sets of nr_metric_v1 (16 frames) and
//      learned_filter_v1 (8 frames); fixture rows from their fixture sets (48 + 16 frames). The two
//      sides come from disjoint scenes (models/NOTICE.md), and the generator checks it.
//   2. Rows. Each calibration frame gives 12 rows: the frame and 11 fixed edits of it (kEdits
//      below: flip, blur, sharpen, noise, zoom, contrast, posterise). Each fixture frame gives one
//      row: the frame as bundled, unedited.
//   3. Features: the six of frame_features.h, per row.
//   4. Labels: nr_metric_v1's fp32 `mos` of the row's frame, computed by tinyq's runtime with the
//      scalar reference kernels (same bits on every ISA). frame_mlp_v1 is a cheap stand-in for that CNN.
//   5. Training, on the calibration rows only: a 6 -> 32 -> 16 -> 1 ReLU MLP on standardised inputs
//      and targets, full-batch Adam (lr 3e-3, 4000 steps, L2 1e-4 on weights), weights initialised
//      from splitmix64 with a fixed seed, all in double precision in a fixed order.
//   6. The model: features [N,6] -> Sub(mean) -> Div(std) -> Gemm -> Relu -> Gemm -> Relu -> Gemm
//      -> Reshape -> score [N] (opset 17; the target scaling is folded into the last Gemm), written
//      with tinyq's ONNX writer; the sets as .npz (`features` [N,6] and the label `score` [N],
//      float32) with a .json beside each giving every row's provenance. Every file goes to a temp
//      file that is renamed into place.
//   7. fp32 quality: the written model, run by tinyq, against the labels of the fixture rows
//      (which training never sees): PLCC and RMSE, printed and recorded in the fixtures' .json.
//
// Usage: tinyq_make_frame_mlp MODELS_DIR [OUT_DIR]
//   reads MODELS_DIR/nr_metric_v1.onnx and MODELS_DIR/data/{nr_metric_v1,learned_filter_v1}.
//   {calibration,fixtures}.{npz,json}; writes OUT_DIR/frame_mlp_v1.onnx and
//   OUT_DIR/data/frame_mlp_v1.{calibration,fixtures}.{npz,json} (OUT_DIR defaults to MODELS_DIR).
// Exit codes: 0 written; 2 bad input or a failed write (the message names the file).
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "frame_features.h"
#include "io/npy.h"
#include "ir/builder.h"
#include "onnx/onnx_io.h"
#include "tinyq/registry.h"
#include "tinyq/session.h"
#include "util/file.h"

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace tinyq::frame_mlp {
namespace {

constexpr int kSide = 224;
constexpr const char* kModelId = "frame_mlp_v1";
constexpr const char* kTeacher = "nr_metric_v1";
constexpr uint64_t kSeed = 20261127;
constexpr int kHidden1 = 32, kHidden2 = 16;
constexpr int kSteps = 4000;
constexpr double kLearningRate = 3e-3, kWeightDecay = 1e-4;

[[noreturn]] void fail(const std::string& message) {
  std::fprintf(stderr, "tinyq_make_frame_mlp: %s\n", message.c_str());
  std::exit(2);
}

template <typename T>
T value_or_fail(Result<T> r) {
  if (!r.is_ok()) fail(r.status().message());
  return std::move(*r);
}

void ok_or_fail(const Status& s) {
  if (!s.is_ok()) fail(s.message());
}

// One edit of a calibration frame; `seed` varies per frame so the noise differs between frames.
struct Edit {
  const char* name;
  std::function<Frame(const Frame&, uint64_t seed)> apply;
};

const std::vector<Edit>& edits() {
  static const std::vector<Edit> kEdits = {
      {"none", [](const Frame& f, uint64_t) { return f; }},
      {"hflip", [](const Frame& f, uint64_t) { return hflip(f); }},
      {"box3", [](const Frame& f, uint64_t) { return box3(f); }},
      {"box3x2", [](const Frame& f, uint64_t) { return box3(box3(f)); }},
      {"sharpen1", [](const Frame& f, uint64_t) { return sharpen(f, 1.0); }},
      {"noise0.03", [](const Frame& f, uint64_t s) { return add_noise(f, 0.03, s); }},
      {"noise0.08", [](const Frame& f, uint64_t s) { return add_noise(f, 0.08, s); }},
      {"zoom0.75", [](const Frame& f, uint64_t) { return zoom(f, 0.75); }},
      {"zoom0.5", [](const Frame& f, uint64_t) { return zoom(f, 0.5); }},
      {"contrast0.6", [](const Frame& f, uint64_t) { return contrast(f, 0.6); }},
      {"posterise8", [](const Frame& f, uint64_t) { return posterise(f, 8); }},
      {"box3+noise0.03", [](const Frame& f, uint64_t s) { return add_noise(box3(f), 0.03, s); }},
  };
  return kEdits;
}

// A bundled source set: its frames and its .json's per-row provenance.
struct SourceSet {
  std::string name;  // "nr_metric_v1.calibration"
  std::vector<Frame> frames;
  json samples;
};

SourceSet read_source(const fs::path& data_dir, const std::string& model, const std::string& set, const std::string& array) {
  SourceSet s;
  s.name = model + "." + set;
  const std::string npz = (data_dir / (s.name + ".npz")).string();
  const std::string meta = (data_dir / (s.name + ".json")).string();
  io::NamedArrays arrays = value_or_fail(io::read_npz(npz));
  const Tensor* t = nullptr;
  for (const auto& [name, a] : arrays)
    if (name == array) t = &a;
  if (!t) fail(npz + ": no array '" + array + "'");
  if (t->dtype() != DType::kFloat32 || t->rank() != 4 || t->shape()[1] != 1 || t->shape()[2] != kSide || t->shape()[3] != kSide)
    fail(npz + ": array '" + array + "' is " + std::string(dtype_name(t->dtype())) + shape_str(t->shape()) +
         ", expected float32[N,1,224,224]");
  const int64_t n = t->shape()[0];
  const float* v = t->data<float>();
  for (int64_t i = 0; i < t->numel(); ++i)
    if (!std::isfinite(v[i]) || v[i] < 0 || v[i] > 1)
      fail(npz + ": array '" + array + "' holds " + std::to_string(v[i]) + " at flat index " + std::to_string(i) +
           "; frames are luma in [0,1]");
  for (int64_t r = 0; r < n; ++r) {
    Frame f;
    f.size = kSide;
    f.px.assign(v + r * kSide * kSide, v + (r + 1) * kSide * kSide);
    s.frames.push_back(std::move(f));
  }
  std::string text = value_or_fail(util::read_file(meta));
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) fail(meta + ": not a JSON object");
  if (!doc.contains("samples") || !doc["samples"].is_array() || static_cast<int64_t>(doc["samples"].size()) != n)
    fail(meta + ": 'samples' must be an array of " + std::to_string(n) + " rows (one per row of " + npz + ")");
  for (const json& row : doc["samples"])
    if (!row.is_object() || !row.contains("scene") || !row["scene"].is_string())
      fail(meta + ": every entry of 'samples' needs a string 'scene'");
  s.samples = doc["samples"];
  return s;
}

// One row of a generated set.
struct Row {
  std::array<float, kFeatures> features{};
  float mos = 0;
  json provenance;
};

float teacher_mos(Session& teacher, const Frame& f, const std::string& where) {
  Tensor in = Tensor::from_vector<float>({1, 1, kSide, kSide}, f.px);
  auto out = teacher.run(std::span<const Tensor>(&in, 1));
  if (!out.is_ok()) fail(kTeacher + std::string(" on ") + where + ": " + out.status().message());
  if (out->empty() || (*out)[0].dtype() != DType::kFloat32 || (*out)[0].numel() != 1)
    fail(std::string(kTeacher) + " on " + where + ": expected one float32 'mos' value");
  const float m = (*out)[0].data<float>()[0];
  if (!std::isfinite(m)) fail(std::string(kTeacher) + " on " + where + ": non-finite mos");
  return m;
}

Row make_row(Session& teacher, const Frame& f, const SourceSet& src, size_t src_row, const std::string& edit) {
  Row row;
  const auto feats = frame_features(f.px.data(), f.size, f.size);
  for (int k = 0; k < kFeatures; ++k) row.features[k] = static_cast<float>(feats[k]);
  row.mos = teacher_mos(teacher, f, src.name + " row " + std::to_string(src_row) + " (" + edit + ")");
  const json& s = src.samples[src_row];
  row.provenance = json{{"source", src.name + ".npz"}, {"source_row", src_row}, {"scene", s["scene"]}};
  for (const char* key : {"photo", "degradation"})
    if (s.contains(key)) row.provenance[std::string("source_") + key] = s[key];
  row.provenance["edit"] = edit;
  row.provenance["mos"] = row.mos;
  return row;
}

// ---- The MLP, in double precision ----

struct Mlp {
  std::vector<double> w1, b1, w2, b2, w3, b3;  // row-major [out][in]
};

struct Trained {
  Mlp net;
  std::array<float, kFeatures> mean{}, std{};
  double target_mean = 0, target_std = 1;
  double train_rmse_std = 0;  // final training RMSE in standardised target units
};

// Forward pass of one standardised row; h1 and h2 receive the post-ReLU activations.
double forward(const Mlp& m, const float* z, double* h1, double* h2) {
  for (int j = 0; j < kHidden1; ++j) {
    double s = m.b1[j];
    for (int k = 0; k < kFeatures; ++k) s += m.w1[j * kFeatures + k] * z[k];
    h1[j] = s > 0 ? s : 0;
  }
  for (int j = 0; j < kHidden2; ++j) {
    double s = m.b2[j];
    for (int k = 0; k < kHidden1; ++k) s += m.w2[j * kHidden1 + k] * h1[k];
    h2[j] = s > 0 ? s : 0;
  }
  double y = m.b3[0];
  for (int k = 0; k < kHidden2; ++k) y += m.w3[k] * h2[k];
  return y;
}

void init_layer(std::vector<double>& w, std::vector<double>& b, int out, int in, uint64_t& state) {
  const double limit = std::sqrt(6.0 / in);  // He uniform
  w.resize(static_cast<size_t>(out) * in);
  for (double& x : w) x = limit * (2 * uniform01(state) - 1);
  b.assign(out, 0.0);
}

Trained train(const std::vector<Row>& rows) {
  Trained t;
  const size_t n = rows.size();
  // Standardisation, as the model computes it: float((x - mean) / std) in float32.
  for (int k = 0; k < kFeatures; ++k) {
    double s = 0, sq = 0;
    for (const Row& r : rows) s += r.features[k];
    const double mu = s / n;
    for (const Row& r : rows) sq += (r.features[k] - mu) * (r.features[k] - mu);
    const double sd = std::sqrt(sq / n);
    if (!(sd > 0)) fail("feature " + std::string(kFeatureNames[k]) + " is constant over the calibration rows");
    t.mean[k] = static_cast<float>(mu);
    t.std[k] = static_cast<float>(sd);
  }
  std::vector<float> z(n * kFeatures);
  for (size_t i = 0; i < n; ++i)
    for (int k = 0; k < kFeatures; ++k) z[i * kFeatures + k] = (rows[i].features[k] - t.mean[k]) / t.std[k];
  double s = 0, sq = 0;
  for (const Row& r : rows) s += r.mos;
  t.target_mean = s / n;
  for (const Row& r : rows) sq += (r.mos - t.target_mean) * (r.mos - t.target_mean);
  t.target_std = std::sqrt(sq / n);
  if (!(t.target_std > 0)) fail("the teacher's mos is constant over the calibration rows");
  std::vector<double> y(n);
  for (size_t i = 0; i < n; ++i) y[i] = (rows[i].mos - t.target_mean) / t.target_std;

  Mlp& m = t.net;
  uint64_t state = kSeed;
  init_layer(m.w1, m.b1, kHidden1, kFeatures, state);
  init_layer(m.w2, m.b2, kHidden2, kHidden1, state);
  init_layer(m.w3, m.b3, 1, kHidden2, state);

  std::vector<std::vector<double>*> params = {&m.w1, &m.b1, &m.w2, &m.b2, &m.w3, &m.b3};
  const std::vector<bool> decays = {true, false, true, false, true, false};
  std::vector<std::vector<double>> grads, m1, m2;
  for (auto* p : params) {
    grads.emplace_back(p->size());
    m1.emplace_back(p->size());
    m2.emplace_back(p->size());
  }
  const double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double beta1_t = 1, beta2_t = 1;
  std::array<double, kHidden1> h1{}, g1{};
  std::array<double, kHidden2> h2{}, g2{};
  double loss = 0;
  for (int step = 1; step <= kSteps; ++step) {
    for (auto& g : grads) std::fill(g.begin(), g.end(), 0.0);
    loss = 0;
    for (size_t i = 0; i < n; ++i) {
      const float* zi = &z[i * kFeatures];
      const double out = forward(m, zi, h1.data(), h2.data());
      const double err = out - y[i];
      loss += err * err;
      const double d = 2 * err / n;  // d(mean squared error)/d(out)
      grads[5][0] += d;
      for (int k = 0; k < kHidden2; ++k) {
        grads[4][k] += d * h2[k];
        g2[k] = h2[k] > 0 ? d * m.w3[k] : 0;
      }
      for (int j = 0; j < kHidden2; ++j) {
        grads[3][j] += g2[j];
        for (int k = 0; k < kHidden1; ++k) grads[2][j * kHidden1 + k] += g2[j] * h1[k];
      }
      for (int k = 0; k < kHidden1; ++k) {
        double acc = 0;
        for (int j = 0; j < kHidden2; ++j) acc += g2[j] * m.w2[j * kHidden1 + k];
        g1[k] = h1[k] > 0 ? acc : 0;
      }
      for (int j = 0; j < kHidden1; ++j) {
        grads[1][j] += g1[j];
        for (int k = 0; k < kFeatures; ++k) grads[0][j * kFeatures + k] += g1[j] * zi[k];
      }
    }
    loss /= n;
    beta1_t *= beta1;
    beta2_t *= beta2;
    for (size_t p = 0; p < params.size(); ++p) {
      std::vector<double>& w = *params[p];
      for (size_t i = 0; i < w.size(); ++i) {
        const double g = grads[p][i] + (decays[p] ? 2 * kWeightDecay * w[i] : 0.0);
        m1[p][i] = beta1 * m1[p][i] + (1 - beta1) * g;
        m2[p][i] = beta2 * m2[p][i] + (1 - beta2) * g * g;
        const double mhat = m1[p][i] / (1 - beta1_t), vhat = m2[p][i] / (1 - beta2_t);
        w[i] -= kLearningRate * mhat / (std::sqrt(vhat) + eps);
      }
    }
  }
  t.train_rmse_std = std::sqrt(loss);
  return t;
}

// ---- The ONNX model ----

Tensor f32_tensor(Shape shape, const std::vector<double>& v, double scale = 1, double shift = 0) {
  std::vector<float> f(v.size());
  for (size_t i = 0; i < v.size(); ++i) f[i] = static_cast<float>(v[i] * scale + shift);
  return Tensor::from_vector<float>(std::move(shape), f);
}

ir::Model build_model(const Trained& t) {
  ir::Model model;
  model.ir_version = 8;
  model.opset_imports[""] = 17;
  model.producer_name = "tinyq_make_frame_mlp";
  model.producer_version = "1";
  model.doc_string =
      "frame_mlp_v1: six no-reference luma features (mean, std, mean |horizontal gradient|, mean |vertical gradient|, "
      "Laplacian energy, high-frequency ratio; tools/make-frame-mlp/frame_features.h) -> nr_metric_v1's mos. "
      "Distilled by tinyq from nr_metric_v1 on the bundled calibration frames; see models/NOTICE.md.";
  ir::Graph& g = model.graph;
  g.name = kModelId;
  const ir::Dim batch{-1, "N"};
  g.inputs.push_back(ir::make_value("features", DType::kFloat32, {batch, ir::Dim{kFeatures, ""}}));
  g.outputs.push_back(ir::make_value("score", DType::kFloat32, {batch}));
  std::vector<double> mean(t.mean.begin(), t.mean.end()), sd(t.std.begin(), t.std.end());
  g.initializers["feature_mean"] = f32_tensor({kFeatures}, mean);
  g.initializers["feature_std"] = f32_tensor({kFeatures}, sd);
  g.initializers["fc1.weight"] = f32_tensor({kHidden1, kFeatures}, t.net.w1);
  g.initializers["fc1.bias"] = f32_tensor({kHidden1}, t.net.b1);
  g.initializers["fc2.weight"] = f32_tensor({kHidden2, kHidden1}, t.net.w2);
  g.initializers["fc2.bias"] = f32_tensor({kHidden2}, t.net.b2);
  // The target's standardisation folded in: score = target_mean + target_std * out.
  g.initializers["fc3.weight"] = f32_tensor({1, kHidden2}, t.net.w3, t.target_std);
  g.initializers["fc3.bias"] = f32_tensor({1}, t.net.b3, t.target_std, t.target_mean);
  g.initializers["score_shape"] = Tensor::from_vector<int64_t>({1}, {-1});
  g.nodes.push_back(ir::make_node("sub_mean", "Sub", {"features", "feature_mean"}, {"centred"}));
  g.nodes.push_back(ir::make_node("div_std", "Div", {"centred", "feature_std"}, {"standardised"}));
  const std::array<std::array<std::string, 4>, 3> layers = {{{"fc1", "standardised", "fc1.out", "relu1.out"},
                                                             {"fc2", "relu1.out", "fc2.out", "relu2.out"},
                                                             {"fc3", "relu2.out", "fc3.out", ""}}};
  for (const auto& [name, in, out, relu] : layers) {
    g.nodes.push_back(ir::make_node(name, "Gemm", {in, name + ".weight", name + ".bias"}, {out}, {{"transB", ir::int_attr(1)}}));
    if (!relu.empty()) g.nodes.push_back(ir::make_node(name == "fc1" ? "relu1" : "relu2", "Relu", {out}, {relu}));
  }
  g.nodes.push_back(ir::make_node("flatten_score", "Reshape", {"fc3.out", "score_shape"}, {"score"}));
  ok_or_fail(ir::topo_sort(g));
  return model;
}

// ---- Metrics and output ----

double plcc(const std::vector<double>& a, const std::vector<double>& b) {
  const size_t n = a.size();
  double ma = 0, mb = 0;
  for (size_t i = 0; i < n; ++i) ma += a[i], mb += b[i];
  ma /= n;
  mb /= n;
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < n; ++i) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  return sab / std::sqrt(saa * sbb);
}

double rmse(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
  return std::sqrt(s / a.size());
}

struct Quality {
  double plcc = 0, rmse = 0, label_std = 0;
};

Quality measure(Session& mlp, const std::vector<Row>& rows) {
  std::vector<float> x;
  for (const Row& r : rows) x.insert(x.end(), r.features.begin(), r.features.end());
  Tensor in = Tensor::from_vector<float>({static_cast<int64_t>(rows.size()), kFeatures}, x);
  auto out = mlp.run(std::span<const Tensor>(&in, 1));
  if (!out.is_ok()) fail(std::string(kModelId) + ": " + out.status().message());
  const Tensor& s = (*out)[0];
  if (s.numel() != static_cast<int64_t>(rows.size())) fail(std::string(kModelId) + ": output has the wrong size");
  std::vector<double> pred(s.data<float>(), s.data<float>() + s.numel()), label;
  for (const Row& r : rows) label.push_back(r.mos);
  double mu = 0, sq = 0;
  for (double v : label) mu += v;
  mu /= label.size();
  for (double v : label) sq += (v - mu) * (v - mu);
  return {plcc(pred, label), rmse(pred, label), std::sqrt(sq / label.size())};
}

void write_set(const fs::path& data_dir, const std::string& set, const std::vector<Row>& rows, const std::string& teacher_sha,
               const std::vector<std::string>& sources, const std::string& edits_note, const json& extra) {
  const std::string base = std::string(kModelId) + "." + set;
  std::vector<float> x, y;
  for (const Row& r : rows) {
    x.insert(x.end(), r.features.begin(), r.features.end());
    y.push_back(r.mos);
  }
  const int64_t n = static_cast<int64_t>(rows.size());
  io::NamedArrays arrays;
  arrays.emplace_back("features", Tensor::from_vector<float>({n, kFeatures}, x));
  arrays.emplace_back("score", Tensor::from_vector<float>({n}, y));
  ok_or_fail(io::write_npz((data_dir / (base + ".npz")).string(), arrays));

  json doc;
  doc["generator"] = "tools/make-frame-mlp (tinyq_make_frame_mlp)";
  doc["model"] = kModelId;
  doc["set"] = set;
  doc["n"] = n;
  doc["arrays"] = json{{"features", json{{"dtype", "float32"}, {"shape", {n, kFeatures}}}},
                       {"score", json{{"dtype", "float32"}, {"shape", {n}}}}};
  doc["features"] = json::array();
  for (const char* name : kFeatureNames) doc["features"].push_back(name);
  doc["feature_definitions"] = "tools/make-frame-mlp/frame_features.h; models/NOTICE.md";
  doc["label"] = json{{"array", "score"},
                      {"what", "nr_metric_v1's fp32 output 'mos' on the row's frame, tinyq runtime, scalar reference kernels"},
                      {"teacher", "nr_metric_v1.onnx"},
                      {"teacher_sha256", teacher_sha}};
  doc["sources"] = sources;
  doc["edits"] = edits_note;
  for (const auto& [k, v] : extra.items()) doc[k] = v;
  doc["samples"] = json::array();
  for (size_t i = 0; i < rows.size(); ++i) {
    json p = json{{"i", i}};
    for (const auto& [k, v] : rows[i].provenance.items()) p[k] = v;
    doc["samples"].push_back(p);
  }
  ok_or_fail(util::write_file_atomic((data_dir / (base + ".json")).string(), doc.dump(1) + "\n"));
  std::printf("%s: %lld rows\n", (data_dir / (base + ".npz")).string().c_str(), static_cast<long long>(n));
}

int run(int argc, char** argv) {
  if (argc < 2 || argc > 3 || std::string(argv[1]) == "-h" || std::string(argv[1]) == "--help") {
    std::fprintf(stderr, "usage: tinyq_make_frame_mlp MODELS_DIR [OUT_DIR]\n");
    return 2;
  }
  const fs::path models = argv[1];
  const fs::path out = argc == 3 ? fs::path(argv[2]) : models;
  const fs::path data = models / "data";

  const std::vector<SourceSet> cal_sources = {read_source(data, "nr_metric_v1", "calibration", "frame"),
                                              read_source(data, "learned_filter_v1", "calibration", "degraded")};
  const std::vector<SourceSet> fix_sources = {read_source(data, "nr_metric_v1", "fixtures", "frame"),
                                              read_source(data, "learned_filter_v1", "fixtures", "degraded")};
  std::set<std::string> cal_scenes;
  for (const SourceSet& s : cal_sources)
    for (const json& row : s.samples) cal_scenes.insert(row["scene"].get<std::string>());
  for (const SourceSet& s : fix_sources)
    for (const json& row : s.samples)
      if (cal_scenes.count(row["scene"].get<std::string>()))
        fail((data / (s.name + ".json")).string() + ": scene '" + row["scene"].get<std::string>() +
             "' is also in a calibration set; calibration and fixture rows must come from disjoint scenes");

  const std::string teacher_path = (models / (std::string(kTeacher) + ".onnx")).string();
  const std::string teacher_bytes = value_or_fail(util::read_file(teacher_path));
  const std::string teacher_sha = sha256_hex(teacher_bytes.data(), teacher_bytes.size());
  SessionOptions reference;
  reference.reference_kernels = true;
  auto teacher = value_or_fail(Session::from_bytes(teacher_bytes.data(), teacher_bytes.size(), models.string(), teacher_path, reference));

  std::vector<Row> cal, fix;
  uint64_t frame_index = 0;
  for (const SourceSet& s : cal_sources)
    for (size_t r = 0; r < s.frames.size(); ++r, ++frame_index)
      for (const Edit& e : edits()) {
        const uint64_t seed = kSeed ^ (frame_index << 32);
        cal.push_back(make_row(*teacher, e.apply(s.frames[r], seed), s, r, e.name));
      }
  for (const SourceSet& s : fix_sources)
    for (size_t r = 0; r < s.frames.size(); ++r) fix.push_back(make_row(*teacher, s.frames[r], s, r, "none"));
  std::printf("labelled %zu calibration rows (%llu frames x %zu edits) and %zu fixture rows with %s\n", cal.size(),
              static_cast<unsigned long long>(frame_index), edits().size(), fix.size(), kTeacher);

  const Trained t = train(cal);
  fs::create_directories(out / "data");
  const std::string model_path = (out / (std::string(kModelId) + ".onnx")).string();
  ok_or_fail(onnx_io::save_model(build_model(t), model_path));
  auto mlp = value_or_fail(Session::open(model_path, reference));
  const Quality on_cal = measure(*mlp, cal), on_fix = measure(*mlp, fix);
  std::printf("%s: training RMSE %.4f (standardised); calibration rows PLCC %.4f RMSE %.4f; fixture rows PLCC %.4f RMSE %.4f "
              "(label std %.4f)\n",
              model_path.c_str(), t.train_rmse_std, on_cal.plcc, on_cal.rmse, on_fix.plcc, on_fix.rmse, on_fix.label_std);

  auto names = [](const std::vector<SourceSet>& v) {
    std::vector<std::string> n;
    for (const SourceSet& s : v) n.push_back("models/data/" + s.name + ".npz");
    return n;
  };
  std::string edit_list;
  for (const Edit& e : edits()) edit_list += (edit_list.empty() ? "" : ", ") + std::string(e.name);
  auto quality_json = [](const Quality& q) {
    return json{{"plcc", q.plcc}, {"rmse", q.rmse}, {"label_std", q.label_std}};
  };
  write_set(out / "data", "calibration", cal, teacher_sha, names(cal_sources),
            "every calibration frame gives 12 rows, one per edit (tools/make-frame-mlp/frame_features.h): " + edit_list,
            json{{"training", json{{"use", "the only rows frame_mlp_v1 was trained on"},
                                   {"fp32_quality", quality_json(on_cal)}}}});
  write_set(out / "data", "fixtures", fix, teacher_sha, names(fix_sources),
            "none: one row per fixture frame, as bundled",
            json{{"fp32_quality",
                  json{{"what", "frame_mlp_v1.onnx (fp32, tinyq reference kernels) against the label, on these rows, "
                                "which training never saw (disjoint scenes)"},
                       {"plcc", on_fix.plcc},
                       {"rmse", on_fix.rmse},
                       {"label_std", on_fix.label_std}}}});
  return 0;
}

}  // namespace
}  // namespace tinyq::frame_mlp

int main(int argc, char** argv) { return tinyq::frame_mlp::run(argc, argv); }

// The int8 fusion pass on QDQ as tinyq's quantiser writes it (float or requantised outputs,
// fp32 biases, dynamic hand-offs): fused node counts, and bit-identical outputs to the unfused graph.
#include "passes/quant_fusion.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <random>

#include "../../bench/qdq_stand_in.h"
#include "io/npy.h"
#include "kernels/kernel.h"
#include "onnx/onnx_io.h"
#include "passes/quant_fusion_test_util.h"
#include "tinyq/session.h"

namespace tinyq::passes {
namespace {

namespace fs = std::filesystem;
using namespace fusion_test;

// ---- QDQ as tinyq's quantiser writes it: Q -> DQ (or DynamicQuantizeLinear -> DQ) on the
// activations, DQ on int8 weights without a zero point, fp32 biases, and outputs that stay float
// unless the next quantised op's QuantizeLinear follows. ----

// Float-accumulated unfused graphs and the fused int32 sums differ only by float rounding: each
// product and partial sum of the unfused Conv/Gemm rounds once (relative 2^-24), so with n terms
// the error is at most about n * 2^-24 times the sum of the terms' magnitudes. The tests bound
// that sum by depth * max|x| * max|w| + max|bias| and allow kRoundingSlack times the first-order
// bound (the fused side's few roundings of the scale, alpha and bias fit in the slack).
constexpr double kFloatEps = 1.0 / (1 << 24);
constexpr double kRoundingSlack = 4.0;
// Requantised outputs may round a value lying within float rounding of a half step the other
// way: at most one quantisation step.
constexpr int kRequantStepTolerance = 1;

double rounding_tolerance(int64_t depth, double max_abs_x, double max_abs_w, double max_abs_bias = 1.0) {
  const double l1 = static_cast<double>(depth) * max_abs_x * max_abs_w + max_abs_bias;
  return kRoundingSlack * static_cast<double>(depth + 2) * kFloatEps * l1;
}

// Runs `m` fused (default options) and unfused with the reference kernels; float outputs must
// agree within `tol` (absolute), quantised ones within kRequantStepTolerance steps.
void expect_fused_near_unfused(const ir::Model& m, const std::vector<Tensor>& inputs, double tol,
                               const std::string& what) {
  SessionOptions ref;
  ref.reference_kernels = true;
  auto fused = Session::from_ir(m, what);
  auto reference = Session::from_ir(m, what, ref);
  ASSERT_TRUE(fused.is_ok()) << fused.status().message();
  ASSERT_TRUE(reference.is_ok()) << reference.status().message();
  auto a = (*fused)->run(inputs);
  auto b = (*reference)->run(inputs);
  ASSERT_TRUE(a.is_ok()) << a.status().message();
  ASSERT_TRUE(b.is_ok()) << b.status().message();
  ASSERT_EQ(a->size(), b->size());
  for (size_t i = 0; i < a->size(); ++i) {
    const Tensor& x = (*a)[i];
    const Tensor& y = (*b)[i];
    ASSERT_EQ(x.shape(), y.shape()) << what;
    ASSERT_EQ(x.dtype(), y.dtype()) << what;
    double worst = 0.0;
    for (int64_t k = 0; k < x.numel(); ++k) {
      double d = 0.0;
      if (x.dtype() == DType::kFloat32) d = std::fabs(static_cast<double>(x.data<float>()[k]) - y.data<float>()[k]);
      else if (x.dtype() == DType::kInt8) d = std::abs(x.data<int8_t>()[k] - y.data<int8_t>()[k]);
      else d = std::abs(x.data<uint8_t>()[k] - y.data<uint8_t>()[k]);
      if (!(d == d)) d = std::numeric_limits<double>::infinity();  // NaN on one side only
      worst = std::max(worst, d);
    }
    const double allowed = x.dtype() == DType::kFloat32 ? tol : kRequantStepTolerance;
    EXPECT_LE(worst, allowed) << what << ": output " << i << " differs from the unfused graph by " << worst;
  }
}

enum class Act { kU8, kS8 };

struct ActParams {
  float scale;
  Tensor zero_point;
};

// Activation parameters for values in [lo, hi]: u8 asymmetric, or s8 symmetric (zero point 0).
ActParams act_params(Act a, float lo, float hi) {
  if (a == Act::kS8) {
    const float m = std::max(std::fabs(lo), std::fabs(hi));
    return {m / 127.0f, Tensor::from_vector<int8_t>({}, {0})};
  }
  const float scale = (hi - lo) / 255.0f;
  const int zp = static_cast<int>(std::nearbyint(-lo / scale));
  return {scale, Tensor::from_vector<uint8_t>({}, {static_cast<uint8_t>(std::clamp(zp, 0, 255))})};
}

// Full-range int8 weights [rows x per] with per-row (per_channel) or one scale.
struct QWeights {
  Tensor q;
  Tensor scale;
  float max_scale = 0.0f;
};

QWeights qweights(std::mt19937& rng, Shape shape, int64_t channels, bool per_channel) {
  QWeights w;
  w.q = Tensor::from_vector<int8_t>(shape, random_weights(rng, static_cast<size_t>(shape_numel(shape))));
  std::uniform_real_distribution<float> u(0.002f, 0.03f);
  std::vector<float> s(per_channel ? channels : 1);
  for (auto& v : s) {
    v = u(rng);
    w.max_scale = std::max(w.max_scale, v);
  }
  w.scale = per_channel ? Tensor::from_vector<float>({channels}, s) : Tensor::from_vector<float>({}, s);
  return w;
}

// Adds Q -> DQ of float tensor `t` with the given parameters; returns the dequantised name.
std::string add_qdq(ir::Graph& g, const std::string& t, const ActParams& p) {
  g.initializers[t + "_s"] = Tensor::from_vector<float>({}, {p.scale});
  g.initializers[t + "_z"] = p.zero_point;
  g.nodes.push_back(node("QuantizeLinear", {t, t + "_s", t + "_z"}, {t + "_q"}));
  g.nodes.push_back(node("DequantizeLinear", {t + "_q", t + "_s", t + "_z"}, {t + "_dq"}));
  return t + "_dq";
}

// Adds DynamicQuantizeLinear -> DQ of float tensor `t`; returns the dequantised name.
std::string add_dynamic_qdq(ir::Graph& g, const std::string& t) {
  g.nodes.push_back(node("DynamicQuantizeLinear", {t}, {t + "_q", t + "_s", t + "_z"}));
  g.nodes.push_back(node("DequantizeLinear", {t + "_q", t + "_s", t + "_z"}, {t + "_dq"}));
  return t + "_dq";
}

// Adds DQ of int8 weights (no zero point; axis for per-channel scales); returns its name.
std::string add_weight_dq(ir::Graph& g, const std::string& name, const QWeights& w, int64_t axis) {
  g.initializers[name] = w.q;
  g.initializers[name + "_s"] = w.scale;
  std::map<std::string, ir::Attribute> attrs;
  if (w.scale.numel() > 1) attrs["axis"] = integer(axis);
  g.nodes.push_back(node("DequantizeLinear", {name, name + "_s"}, {name + "_dq"}, attrs));
  return name + "_dq";
}

// Q -> DQ (or DynamicQuantizeLinear -> DQ) -> Conv (int8 weights, fp32 bias) -> Relu/Clip -> float
// output, over u8/s8 activations and per-tensor/per-channel weights.
TEST(QuantFusion, QdqConvWithFloatOutputFuses) {
  std::mt19937 rng(kSeed + 10);
  const int64_t cin = 5, cout = 7;
  for (int dynamic = 0; dynamic < 2; ++dynamic)
    for (Act act : {Act::kU8, Act::kS8})
      for (bool per_channel : {false, true}) {
        if (dynamic && act == Act::kS8) continue;  // DynamicQuantizeLinear is u8 only
        const std::string what = std::string(dynamic ? "dynamic" : "static") + (act == Act::kU8 ? " u8" : " s8") +
                                 (per_channel ? " per-channel" : " per-tensor") + " conv";
        ir::Graph g;
        g.inputs.push_back(value("x", DType::kFloat32, {1, cin, 9, 13}));
        const float lo = act == Act::kU8 ? -1.0f : -2.0f, hi = 3.0f;
        const std::string xd = dynamic ? add_dynamic_qdq(g, "x") : add_qdq(g, "x", act_params(act, lo, hi));
        QWeights w = qweights(rng, {cout, cin, 3, 3}, cout, per_channel);
        const std::string wd = add_weight_dq(g, "w", w, 0);
        g.initializers["b"] = random_floats(rng, {cout}, -1.0f, 1.0f);
        g.initializers["lo"] = Tensor::from_vector<float>({}, {-0.5f});
        g.initializers["hi"] = Tensor::from_vector<float>({}, {6.0f});
        g.nodes.push_back(node("Conv", {xd, wd, "b"}, {"conv"}, {{"pads", ints({1, 1, 1, 1})}}));
        g.nodes.push_back(node("Clip", {"conv", "lo", "hi"}, {"y"}));
        g.outputs.push_back(value("y", DType::kFloat32, {1, cout, 9, 13}));
        ir::Graph fused = g;
        const QuantFusionCounts counts = fuse_quantized(fused, 17);
        EXPECT_EQ(counts.static_nodes, dynamic ? 0 : 1) << what;
        EXPECT_EQ(counts.dynamic_nodes, dynamic ? 1 : 0) << what;
        ASSERT_EQ(fused.nodes.size(), 1u) << what;  // Q/DQL, both DQs and the Clip fold in
        EXPECT_EQ(fused.nodes[0].op_type, "ConvIntegerFused");
        EXPECT_EQ(fused.nodes[0].inputs[0], "x");
        EXPECT_FALSE(fused.is_initializer("w"));
        const int64_t depth = cin * 9;
        const double tol = rounding_tolerance(depth, 127.0 * act_params(act, lo, hi).scale + 3.0, 128.0 * w.max_scale);
        for (int rep = 0; rep < 3; ++rep)
          expect_fused_near_unfused(model_of(g), {random_floats(rng, {1, cin, 9, 13}, lo, hi)}, tol, what);
      }
}

// Gemm with transB 0/1, alpha and beta, and MatMul + Add(bias), each with a float output; u8 and
// s8 activations, per-tensor and per-channel weights; batch 1 and 300.
TEST(QuantFusion, QdqGemmAndMatMulWithFloatOutputFuse) {
  std::mt19937 rng(kSeed + 11);
  const int64_t k = 13, n = 21;
  struct GemmForm {
    const char* name;
    bool matmul;
    int64_t trans_b;
    float alpha, beta;
  };
  const std::vector<GemmForm> forms = {
      {"gemm", false, 0, 1.0f, 1.0f},
      {"gemm transB", false, 1, 1.0f, 1.0f},
      {"gemm alpha beta", false, 1, 0.75f, -2.0f},
      {"matmul + add", true, 0, 1.0f, 1.0f},
  };
  for (const GemmForm& f : forms)
    for (Act act : {Act::kU8, Act::kS8})
      for (bool per_channel : {false, true}) {
        const std::string what = std::string(f.name) + (act == Act::kU8 ? " u8" : " s8") +
                                 (per_channel ? " per-channel" : " per-tensor");
        ir::Graph g;
        g.inputs.push_back(value("x", DType::kFloat32, {-1, k}));
        g.inputs[0].dims[0] = ir::Dim{-1, "N"};
        const float lo = -4.0f, hi = 2.5f;
        const std::string xd = add_qdq(g, "x", act_params(act, lo, hi));
        QWeights w = qweights(rng, f.trans_b ? Shape{n, k} : Shape{k, n}, n, per_channel);
        const std::string wd = add_weight_dq(g, "w", w, f.trans_b ? 0 : 1);
        g.initializers["b"] = random_floats(rng, {n}, -1.0f, 1.0f);
        if (f.matmul) {
          g.nodes.push_back(node("MatMul", {xd, wd}, {"mm"}));
          g.nodes.push_back(node("Add", {"b", "mm"}, {"lin"}));
        } else {
          ir::Attribute alpha, beta;
          alpha.kind = beta.kind = ir::Attribute::Kind::kFloat;
          alpha.f = f.alpha;
          beta.f = f.beta;
          g.nodes.push_back(node("Gemm", {xd, wd, "b"}, {"lin"},
                                 {{"transB", integer(f.trans_b)}, {"alpha", alpha}, {"beta", beta}}));
        }
        g.nodes.push_back(node("Relu", {"lin"}, {"y"}));
        g.outputs.push_back(value("y", DType::kFloat32, {-1, n}));
        ir::Graph fused = g;
        EXPECT_EQ(fuse_quantized(fused, 17).static_nodes, 1) << what;
        ASSERT_EQ(fused.nodes.size(), 1u) << what;
        EXPECT_EQ(fused.nodes[0].op_type, "MatMulIntegerFused") << what;
        const double tol = rounding_tolerance(k, 4.0 + 127.0 * act_params(act, lo, hi).scale,
                                              128.0 * w.max_scale * f.alpha, std::fabs(f.beta));
        for (int64_t batch : {1, 300})
          expect_fused_near_unfused(model_of(g), {random_floats(rng, {batch, k}, lo, hi)}, tol,
                                    what + " batch " + std::to_string(batch));
      }
}

// Forms the fused ops cannot take stay as they are and still run: Gemm with transA, alpha <= 0,
// or a bias that is not per column. (The fp32 Gemm's fast and reference kernels sum in other
// orders, so only fused and unfused are compared.)
TEST(QuantFusion, QdqGemmFormsOutsideTheFusedOpsAreLeftAlone) {
  std::mt19937 rng(kSeed + 12);
  const int64_t k = 8, n = 6, m = 4;
  for (int form = 0; form < 3; ++form) {
    ir::Graph g;
    const Shape x_shape = form == 0 ? Shape{k, m} : Shape{m, k};  // transA reads x as [K, M]
    g.inputs.push_back(value("x", DType::kFloat32, x_shape));
    const std::string xd = add_qdq(g, "x", act_params(Act::kU8, -1.0f, 1.0f));
    QWeights w = qweights(rng, {k, n}, n, true);
    const std::string wd = add_weight_dq(g, "w", w, 1);
    g.initializers["c"] = random_floats(rng, form == 2 ? Shape{m, n} : Shape{n}, -1.0f, 1.0f);
    std::map<std::string, ir::Attribute> attrs;
    if (form == 0) attrs["transA"] = integer(1);
    if (form == 1) {
      ir::Attribute alpha;
      alpha.kind = ir::Attribute::Kind::kFloat;
      alpha.f = -1.0f;
      attrs["alpha"] = alpha;
    }
    g.nodes.push_back(node("Gemm", {xd, wd, "c"}, {"y"}, attrs));
    g.outputs.push_back(value("y", DType::kFloat32, {m, n}));
    ir::Graph fused = g;
    const QuantFusionCounts counts = fuse_quantized(fused, 17);
    EXPECT_EQ(counts.static_nodes + counts.dynamic_nodes, 0) << "form " << form;
    EXPECT_EQ(fused.nodes.size(), g.nodes.size()) << "form " << form;
    expect_fused_equals_unfused(model_of(g), {random_floats(rng, x_shape, -1.0f, 1.0f)},
                                "unfused gemm form " + std::to_string(form), /*with_reference=*/false);
  }
}

// A conv chain as the static quantiser writes it: x -> Q/DQ -> Conv(+fp32 bias) -> Relu -> Q/DQ ->
// Conv(+fp32 bias) -> float output. The first conv requantises (its output feeds only the second
// conv's QuantizeLinear), the second outputs float. Also a residual: a conv output read both by a
// QuantizeLinear and by a float Add stays float.
TEST(QuantFusion, QdqConvChainRequantisesBetweenQuantisedOps) {
  std::mt19937 rng(kSeed + 13);
  const int64_t c = 6;
  for (Act act : {Act::kU8, Act::kS8})
    for (bool residual : {false, true}) {
      const std::string what = std::string(act == Act::kU8 ? "u8" : "s8") + (residual ? " residual" : " chain");
      ir::Graph g;
      g.inputs.push_back(value("x", DType::kFloat32, {1, c, 10, 12}));
      QWeights w1 = qweights(rng, {c, c, 3, 3}, c, true), w2 = qweights(rng, {c, c, 3, 3}, c, true);
      g.initializers["b1"] = random_floats(rng, {c}, -0.5f, 0.5f);
      g.initializers["b2"] = random_floats(rng, {c}, -0.5f, 0.5f);
      const ActParams pa = act_params(act, -1.0f, 1.0f), ph = act_params(act, -1.0f, 4.0f);
      const std::string xd = add_qdq(g, "x", pa);
      const std::map<std::string, ir::Attribute> pads = {{"pads", ints({1, 1, 1, 1})}};
      g.nodes.push_back(node("Conv", {xd, add_weight_dq(g, "w1", w1, 0), "b1"}, {"c1"}, pads));
      g.nodes.push_back(node("Relu", {"c1"}, {"h"}));
      const std::string hd = add_qdq(g, "h", ph);
      g.nodes.push_back(node("Conv", {hd, add_weight_dq(g, "w2", w2, 0), "b2"}, {"c2"}, pads));
      if (residual) {
        g.nodes.push_back(node("Add", {"c2", "h"}, {"y"}));
      } else {
        g.nodes.push_back(node("Relu", {"c2"}, {"y"}));
      }
      g.outputs.push_back(value("y", DType::kFloat32, {1, c, 10, 12}));
      ir::Graph fused = g;
      EXPECT_EQ(fuse_quantized(fused, 17).static_nodes, 2) << what;
      EXPECT_EQ(count_op(fused, "QLinearConvFused"), residual ? 0 : 1) << what;
      EXPECT_EQ(count_op(fused, "ConvIntegerFused"), residual ? 2 : 1) << what;
      EXPECT_EQ(count_op(fused, "QuantizeLinear") + count_op(fused, "DequantizeLinear"), 0) << what;
      // One step of h (ph.scale) may flip per input of the second conv: allow that on top of
      // the rounding of both convs.
      const int64_t depth = c * 9;
      const double max_w2 = 128.0 * w2.max_scale;
      // The residual Add rounds once more, relative to |y| <= l1 + |h|: within the slack.
      const double tol = static_cast<double>(depth) * ph.scale * max_w2 * kRequantStepTolerance +
                         rounding_tolerance(depth, 4.0 + 127.0 * ph.scale, max_w2, residual ? 5.0 : 1.0);
      for (int rep = 0; rep < 2; ++rep)
        expect_fused_near_unfused(model_of(g), {random_floats(rng, {1, c, 10, 12}, -1.0f, 1.0f)}, tol, what);
    }
}

// A quantised output (the requantising form) with an fp32 bias, per-channel weights without zero
// point: within one step of the unfused QuantizeLinear; with a DequantizeLinear after it, within
// one step of y_scale.
TEST(QuantFusion, QdqRequantisedOutputWithFloatBias) {
  std::mt19937 rng(kSeed + 14);
  for (Act act : {Act::kU8, Act::kS8})
    for (bool dequantize : {false, true}) {
      const std::string what =
          std::string(act == Act::kU8 ? "u8" : "s8") + (dequantize ? " dequantised" : " quantised");
      ir::Graph g;
      g.inputs.push_back(value("x", DType::kFloat32, {1, 4, 9, 11}));
      QWeights w = qweights(rng, {6, 4, 3, 3}, 6, true);
      g.initializers["b"] = random_floats(rng, {6}, -1.0f, 1.0f);
      const ActParams px = act_params(act, -2.0f, 2.0f), py = act_params(act, -1.0f, 5.0f);
      const std::string xd = add_qdq(g, "x", px);
      g.nodes.push_back(node("Conv", {xd, add_weight_dq(g, "w", w, 0), "b"}, {"conv"}, {{"pads", ints({1, 1, 1, 1})}}));
      g.nodes.push_back(node("Relu", {"conv"}, {"relu"}));
      g.initializers["ys"] = Tensor::from_vector<float>({}, {py.scale});
      g.initializers["yz"] = py.zero_point;
      g.nodes.push_back(node("QuantizeLinear", {"relu", "ys", "yz"}, {"yq"}));
      if (dequantize) g.nodes.push_back(node("DequantizeLinear", {"yq", "ys", "yz"}, {"y"}));
      const DType y_type = dequantize ? DType::kFloat32 : py.zero_point.dtype();
      g.outputs.push_back(value(dequantize ? "y" : "yq", y_type, {1, 6, 9, 11}));
      ir::Graph fused = g;
      EXPECT_EQ(fuse_quantized(fused, 17).static_nodes, 1) << what;
      ASSERT_EQ(fused.nodes.size(), 1u) << what;
      EXPECT_EQ(fused.nodes[0].op_type, "QLinearConvFused") << what;
      for (int rep = 0; rep < 3; ++rep)
        expect_fused_near_unfused(model_of(g), {random_floats(rng, {1, 4, 9, 11}, -2.0f, 2.0f)},
                                  py.scale * kRequantStepTolerance * (1.0 + 1e-6), what);
    }
}

// A feature MLP as the static quantiser writes it (Gemm -> Relu per layer, every Gemm input
// behind Q/DQ, fp32 biases): the hidden layers requantise, the head outputs float.
TEST(QuantFusion, QdqMlpFusesEveryLayer) {
  std::mt19937 rng(kSeed + 15);
  const std::vector<int64_t> widths = {6, 32, 16, 1};
  for (Act act : {Act::kU8, Act::kS8}) {
    ir::Graph g;
    g.inputs.push_back(value("x", DType::kFloat32, {-1, 6}));
    g.inputs[0].dims[0] = ir::Dim{-1, "N"};
    std::string cur = "x";
    double max_w = 0.0;
    for (size_t l = 0; l + 1 < widths.size(); ++l) {
      const std::string p = "l" + std::to_string(l);
      const std::string xd = add_qdq(g, cur, act_params(act, l == 0 ? -3.0f : 0.0f, 3.0f));
      QWeights w = qweights(rng, {widths[l + 1], widths[l]}, widths[l + 1], true);
      max_w = std::max(max_w, 128.0 * w.max_scale);
      g.initializers[p + "_b"] = random_floats(rng, {widths[l + 1]}, -0.3f, 0.3f);
      g.nodes.push_back(node("Gemm", {xd, add_weight_dq(g, p + "_w", w, 0), p + "_b"}, {p + "_lin"},
                             {{"transB", integer(1)}}));
      cur = p + "_lin";
      if (l + 2 < widths.size()) {
        g.nodes.push_back(node("Relu", {cur}, {p + "_relu"}));
        cur = p + "_relu";
      }
    }
    g.outputs.push_back(value(cur, DType::kFloat32, {-1, 1}));
    ir::Graph fused = g;
    EXPECT_EQ(fuse_quantized(fused, 17).static_nodes, 3);
    EXPECT_EQ(fused.nodes.size(), 3u);
    EXPECT_EQ(count_op(fused, "QLinearMatMulFused"), 2);
    EXPECT_EQ(count_op(fused, "MatMulIntegerFused"), 1);
    // One step of the head's input (3 / 127 at most) may flip per input, on top of rounding.
    const double step = act_params(act, 0.0f, 3.0f).scale;
    const double tol = 16.0 * step * max_w * kRequantStepTolerance + rounding_tolerance(16, 3.5, max_w);
    for (int64_t batch : {1, 300})
      expect_fused_near_unfused(model_of(g), {random_floats(rng, {batch, 6}, -3.0f, 3.0f)}, tol,
                                std::string(act == Act::kU8 ? "u8" : "s8") + " MLP batch " + std::to_string(batch));
  }
}

// Dynamic QDQ (DynamicQuantizeLinear -> DQ) conv -> Relu -> conv: both fuse into the dynamic
// kernels, and the second takes the first's output range instead of scanning its input.
TEST(QuantFusion, DynamicQdqChainHandsOffRanges) {
  std::mt19937 rng(kSeed + 16);
  const int64_t c = 8;
  ir::Graph g;
  g.inputs.push_back(value("x", DType::kFloat32, {1, 1, 16, 16}));
  QWeights w1 = qweights(rng, {c, 1, 3, 3}, c, true), w2 = qweights(rng, {c, 1, 3, 3}, c, true);
  g.initializers["b1"] = random_floats(rng, {c}, -0.5f, 0.5f);
  g.initializers["b2"] = random_floats(rng, {c}, -0.5f, 0.5f);
  g.nodes.push_back(node("Conv", {add_dynamic_qdq(g, "x"), add_weight_dq(g, "w1", w1, 0), "b1"}, {"c1"},
                         {{"pads", ints({1, 1, 1, 1})}, {"strides", ints({2, 2})}}));
  g.nodes.push_back(node("Relu", {"c1"}, {"h"}));
  g.nodes.push_back(node("Conv", {add_dynamic_qdq(g, "h"), add_weight_dq(g, "w2", w2, 0), "b2"}, {"y"},
                         {{"pads", ints({1, 1, 1, 1})}, {"group", integer(c)}}));
  g.outputs.push_back(value("y", DType::kFloat32, {1, c, 8, 8}));
  ir::Graph fused = g;
  EXPECT_EQ(fuse_quantized(fused, 17).dynamic_nodes, 2);
  ASSERT_EQ(fused.nodes.size(), 2u);
  EXPECT_EQ(count_op(fused, "ConvIntegerFused"), 2);
  EXPECT_EQ(fused.nodes[0].outputs.size(), 2u);  // y_range
  ASSERT_EQ(fused.nodes[1].inputs.size(), 9u);
  EXPECT_EQ(fused.nodes[1].inputs[8], fused.nodes[0].outputs[1]);
  // The first conv quantises with the same DynamicQuantizeLinear as the graph, so only float
  // rounding separates them; the second's input may then differ by rounding, which can move its
  // dynamic range and zero point: compare the first layer exactly through its own graph.
  ir::Graph one = g;
  one.nodes.resize(5);  // DQL, DQ, weight DQ, Conv, Relu
  one.outputs = {value("h", DType::kFloat32, {1, c, 8, 8})};
  const double tol1 = rounding_tolerance(9, 1.0, 128.0 * w1.max_scale);
  for (int rep = 0; rep < 3; ++rep)
    expect_fused_near_unfused(model_of(one), {random_floats(rng, {1, 1, 16, 16}, 0.0f, 1.0f)}, tol1,
                              "dynamic QDQ layer");

  // A third conv reading the same dequantised h: both readers fold the DynamicQuantizeLinear and
  // share the producer's one range output.
  ir::Graph two = g;
  QWeights w3 = qweights(rng, {c, c, 1, 1}, c, false);
  two.nodes.push_back(node("Conv", {"h_dq", add_weight_dq(two, "w3", w3, 0)}, {"z"}));
  two.outputs.push_back(value("z", DType::kFloat32, {1, c, 8, 8}));
  ir::Graph fused2 = two;
  EXPECT_EQ(fuse_quantized(fused2, 17).dynamic_nodes, 3);
  ASSERT_EQ(fused2.nodes.size(), 3u);
  EXPECT_EQ(fused2.nodes[0].outputs.size(), 2u);
  for (int i = 1; i < 3; ++i) {
    ASSERT_EQ(fused2.nodes[i].inputs.size(), 9u);
    EXPECT_EQ(fused2.nodes[i].inputs[8], fused2.nodes[0].outputs[1]);
  }
  auto s2 = Session::from_ir(model_of(two), "two readers");
  ASSERT_TRUE(s2.is_ok()) << s2.status().message();
  const std::vector<Tensor> in2 = {random_floats(rng, {1, 1, 16, 16}, 0.0f, 1.0f)};
  auto out2 = (*s2)->run(in2);
  ASSERT_TRUE(out2.is_ok()) << out2.status().message();
  EXPECT_EQ(out2->size(), 2u);
}

}  // namespace
}  // namespace tinyq::passes

// A stand-in static quantiser, until tinyq has a real one: turns an fp32 model into a QDQ model
// with per-channel symmetric int8 weights and per-tensor asymmetric uint8 activations whose
// ranges come from a calibration run. Header-only, so bench/make_static_qdq.cpp and the tests
// (src/passes/quant_fusion_test.cpp) share it.
//
// What it quantises, as ONNX Runtime's quantize_static does with op_types_to_quantize =
// [Conv, Gemm, MatMul] in QDQ format:
//  - weights of Conv / Gemm / MatMul (constant initializers): int8, scale max|w| / 127 per output
//    channel (DequantizeLinear with axis), zero point 0;
//  - their biases: int32 with scale x_scale * w_scale[c] (DequantizeLinear);
//  - their input activations and outputs (after a directly following Relu/Clip): one
//    QuantizeLinear -> DequantizeLinear pair per tensor. Consumers of a quantised output read its
//    dequantised value; a graph input or other unquantised tensor is dequantised only for the
//    quantised ops that read it.
// Everything else (Add, ReduceMean, ...) stays float.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "kernels/quant_params.h"
#include "tinyq/session.h"

namespace tinyq::bench {

namespace qdq_detail {

inline bool quantizable(const ir::Node& n, const ir::Graph& g) {
  if (!n.domain.empty() && n.domain != "ai.onnx") return false;
  if (n.op_type != "Conv" && n.op_type != "Gemm" && n.op_type != "MatMul") return false;
  if (n.inputs.size() < 2 || !g.is_initializer(n.inputs[1])) return false;
  const Tensor& w = g.initializers.at(n.inputs[1]);
  if (w.dtype() != DType::kFloat32) return false;
  if (n.op_type == "Conv") return w.rank() == 3 || w.rank() == 4;
  if (w.rank() != 2) return false;
  if (n.op_type == "Gemm") {
    for (const auto& [k, a] : n.attributes) {
      if ((k == "alpha" || k == "beta") && a.f != 1.0f) return false;
      if (k == "transA" && a.i != 0) return false;
    }
    if (n.inputs.size() > 2 && !n.inputs[2].empty() &&
        (!g.is_initializer(n.inputs[2]) || g.initializers.at(n.inputs[2]).rank() != 1))
      return false;
  }
  return true;
}

inline ir::Node make_node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out) {
  ir::Node n;
  n.op_type = op;
  n.name = out[0] + "_" + op;
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  return n;
}

}  // namespace qdq_detail

// rows: calibration inputs, one vector of tensors (in graph input order) per run.
inline Result<ir::Model> make_static_qdq(const ir::Model& fp32, const std::vector<std::vector<Tensor>>& rows) {
  using namespace qdq_detail;
  const ir::Graph& g = fp32.graph;
  std::map<std::string, int> uses;
  for (const auto& n : g.nodes)
    for (const auto& in : n.inputs) ++uses[in];
  std::map<std::string, const ir::Node*> producer;
  for (const auto& n : g.nodes)
    for (const auto& o : n.outputs) producer[o] = &n;

  // Activation tensors to quantise; `outputs` are those whose every reader sees the dequantised value.
  std::vector<std::string> acts;
  std::set<std::string> outputs;
  auto add_act = [&](const std::string& t) {
    if (std::find(acts.begin(), acts.end(), t) == acts.end()) acts.push_back(t);
  };
  for (const auto& n : g.nodes) {
    if (!quantizable(n, g)) continue;
    add_act(n.inputs[0]);
    std::string out = n.outputs[0];
    for (const auto& c : g.nodes)  // a Relu/Clip that is the output's only reader
      if (uses[out] == 1 && !c.inputs.empty() && c.inputs[0] == out && (c.op_type == "Relu" || c.op_type == "Clip")) {
        out = c.outputs[0];
        break;
      }
    if (g.find_output(out)) continue;  // a graph output keeps its float value
    add_act(out);
    outputs.insert(out);
  }

  // Calibration: every activation becomes a graph output; ranges over all rows.
  ir::Model probe = fp32;
  for (const auto& t : acts)
    if (!probe.graph.find_output(t)) {
      ir::ValueInfo v;
      v.name = t;
      v.dtype = DType::kFloat32;
      probe.graph.outputs.push_back(v);
    }
  SessionOptions so;
  so.graph_passes = false;
  TINYQ_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::from_ir(probe, "calibration", so));
  std::map<std::string, std::pair<float, float>> range;
  for (const auto& row : rows) {
    TINYQ_ASSIGN_OR_RETURN(std::vector<Tensor> out, session->run(row));
    for (size_t i = 0; i < probe.graph.outputs.size(); ++i) {
      const Tensor& t = out[i];
      auto& r = range.try_emplace(probe.graph.outputs[i].name, 0.0f, 0.0f).first->second;
      for (int64_t k = 0; k < t.numel(); ++k) {
        r.first = std::min(r.first, t.data<float>()[k]);
        r.second = std::max(r.second, t.data<float>()[k]);
      }
    }
  }

  ir::Model m = fp32;
  ir::Graph& q = m.graph;
  std::map<std::string, std::string> dq_name;  // activation -> its dequantised value
  std::map<std::string, float> act_scale;
  std::vector<ir::Node> nodes;
  auto add_init = [&](const std::string& name, Tensor t) {
    q.initializers[name] = std::move(t);
    return name;
  };
  for (const auto& t : acts) {
    const auto [lo, hi] = range[t];
    const float scale = hi > lo ? (hi - lo) / 255.0f : 1.0f;
    const int32_t zp = kernels::quantize_saturate(0.0f - lo / scale, 0, 0, 255);
    act_scale[t] = scale;
    add_init(t + "_scale", Tensor::from_vector<float>({}, {scale}));
    add_init(t + "_zero_point", Tensor::from_vector<uint8_t>({}, {static_cast<uint8_t>(zp)}));
    dq_name[t] = t + "_dq";
  }
  // Node list with Q/DQ pairs placed right after each activation is available.
  auto emit_pair = [&](const std::string& t) {
    nodes.push_back(make_node("QuantizeLinear", {t, t + "_scale", t + "_zero_point"}, {t + "_q"}));
    nodes.push_back(make_node("DequantizeLinear", {t + "_q", t + "_scale", t + "_zero_point"}, {t + "_dq"}));
  };
  for (const auto& in : q.inputs)
    if (dq_name.count(in.name)) emit_pair(in.name);
  for (const auto& n0 : q.nodes) {
    ir::Node n = n0;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      const std::string& in = n.inputs[i];
      if (!dq_name.count(in)) continue;
      if (outputs.count(in) || (i == 0 && quantizable(n0, g))) n.inputs[i] = dq_name[in];
    }
    if (quantizable(n0, g)) {
      const std::string wname = n0.inputs[1];
      const Tensor& w = g.initializers.at(wname);
      const bool trans_b = n0.op_type == "Gemm" && n0.attr("transB") && n0.attr("transB")->i != 0;
      const int64_t axis = n0.op_type == "Conv" ? 0 : (trans_b ? 0 : 1);
      const int64_t channels = w.shape()[axis];
      const int64_t per = w.numel() / channels;  // weights per output channel
      auto at = [&](int64_t c, int64_t j) { return axis == 0 ? c * per + j : j * channels + c; };
      std::vector<float> ws(channels);
      Tensor wq(DType::kInt8, w.shape());
      for (int64_t c = 0; c < channels; ++c) {
        float mx = 0.0f;
        for (int64_t j = 0; j < per; ++j) mx = std::max(mx, std::fabs(w.data<float>()[at(c, j)]));
        ws[c] = mx > 0.0f ? mx / 127.0f : 1.0f;
        for (int64_t j = 0; j < per; ++j)
          wq.data<int8_t>()[at(c, j)] =
              static_cast<int8_t>(kernels::quantize_saturate(w.data<float>()[at(c, j)] / ws[c], 0, -127, 127));
      }
      const std::string base = n0.name.empty() ? n0.outputs[0] : n0.name;
      add_init(base + "_wq", wq);
      add_init(base + "_ws", Tensor::from_vector<float>({channels}, ws));
      add_init(base + "_wz", Tensor(DType::kInt8, {channels}));
      ir::Node dqw = make_node("DequantizeLinear", {base + "_wq", base + "_ws", base + "_wz"}, {base + "_wdq"});
      ir::Attribute ax;
      ax.kind = ir::Attribute::Kind::kInt;
      ax.i = axis;
      dqw.attributes["axis"] = ax;
      nodes.push_back(dqw);
      n.inputs[1] = base + "_wdq";
      if (n0.inputs.size() > 2 && !n0.inputs[2].empty()) {
        const Tensor& b = g.initializers.at(n0.inputs[2]);
        const float sx = act_scale[n0.inputs[0]];
        std::vector<int32_t> bq(channels);
        std::vector<float> bs(channels);
        for (int64_t c = 0; c < channels; ++c) {
          bs[c] = sx * ws[c];
          const double v = std::nearbyint(static_cast<double>(b.data<float>()[c]) / bs[c]);
          bq[c] = static_cast<int32_t>(std::clamp(v, -2147483647.0, 2147483647.0));
        }
        add_init(base + "_bq", Tensor::from_vector<int32_t>({channels}, bq));
        add_init(base + "_bs", Tensor::from_vector<float>({channels}, bs));
        ir::Node dqb = make_node("DequantizeLinear", {base + "_bq", base + "_bs"}, {base + "_bdq"});
        dqb.attributes["axis"] = ax;
        dqb.attributes["axis"].i = 0;  // the bias is 1-D
        nodes.push_back(dqb);
        n.inputs[2] = base + "_bdq";
      }
    }
    nodes.push_back(n);
    for (const auto& o : n0.outputs)
      if (dq_name.count(o)) emit_pair(o);
  }
  q.nodes = std::move(nodes);
  // Float weights no longer read.
  std::set<std::string> read;
  for (const auto& n : q.nodes)
    for (const auto& in : n.inputs) read.insert(in);
  for (auto it = q.initializers.begin(); it != q.initializers.end();)
    it = read.count(it->first) ? std::next(it) : q.initializers.erase(it);
  TINYQ_RETURN_IF_ERROR(ir::topo_sort(q));
  if (m.opset() < 13) return Status::unsupported("per-channel DequantizeLinear needs opset >= 13");
  return m;
}

}  // namespace tinyq::bench

// A stand-in quantiser for benchmarks and tests: turns an fp32 model into a QDQ model in the
// format tinyq's quantiser (src/quant) writes, without depending on it. Header-only, so
// bench/make_static_qdq.cpp and the tests (src/passes/quant_fusion_test.cpp) share it.
//
// What it writes, for every Conv / Gemm / MatMul with a constant fp32 weight:
//  - the weight as int8 (symmetric, scale max|w| / 127 per output channel or per tensor) behind a
//    DequantizeLinear without zero point (axis set when per channel);
//  - its bias (Conv input 2, Gemm C) left fp32;
//  - its input activation behind QuantizeLinear -> DequantizeLinear (static: u8 asymmetric or s8
//    symmetric, range from a calibration run over `rows`) or DynamicQuantizeLinear ->
//    DequantizeLinear (dynamic: range per run), one pair per tensor shared by its readers.
// Outputs are not quantised: an op's float output feeds float ops, or the next quantised op's
// QuantizeLinear. Everything else (Add, ReduceMean, ...) stays float.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ir/builder.h"
#include "kernels/quant_params.h"
#include "tinyq/session.h"

namespace tinyq::bench {

struct StandInOptions {
  bool dynamic = false;      // DynamicQuantizeLinear activations (no calibration)
  bool s8 = false;           // static: s8 symmetric activations, else u8 asymmetric
  bool per_channel = true;   // weights: one scale per output channel, else one per tensor
};

namespace qdq_detail {

inline bool quantizable(const ir::Node& n, const ir::Graph& g) {
  if (!n.domain.empty() && n.domain != "ai.onnx") return false;
  if (n.op_type != "Conv" && n.op_type != "Gemm" && n.op_type != "MatMul") return false;
  if (n.inputs.size() < 2 || !g.is_initializer(n.inputs[1])) return false;
  const Tensor& w = g.initializers.at(n.inputs[1]);
  if (w.dtype() != DType::kFloat32) return false;
  if (n.op_type == "Conv") return w.rank() == 3 || w.rank() == 4;
  if (w.rank() != 2) return false;
  if (n.op_type == "Gemm")
    for (const auto& [k, a] : n.attributes)
      if (k == "transA" && a.i != 0) return false;
  return true;
}

// A node named "<first output>_<op>".
inline ir::Node make_node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out) {
  const std::string name = out[0] + "_" + op;  // before `out` is moved from
  return ir::make_node(name, op, std::move(in), std::move(out));
}

// min/max (with 0) of each named tensor over the calibration rows.
inline Result<std::map<std::string, std::pair<float, float>>> calibrate(const ir::Model& fp32,
                                                                        const std::vector<std::string>& acts,
                                                                        const std::vector<std::vector<Tensor>>& rows) {
  ir::Model probe = fp32;
  for (const auto& t : acts)
    if (!probe.graph.find_output(t)) probe.graph.outputs.push_back(ir::make_unshaped_value(t, DType::kFloat32));
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
  return range;
}

}  // namespace qdq_detail

// rows: calibration inputs, one vector of tensors (in graph input order) per run (unused when
// dynamic).
inline Result<ir::Model> make_static_qdq(const ir::Model& fp32, const std::vector<std::vector<Tensor>>& rows,
                                         const StandInOptions& opt = {}) {
  using namespace qdq_detail;
  const ir::Graph& g = fp32.graph;
  if (fp32.opset() < 13) return Status::unsupported("per-channel DequantizeLinear needs opset >= 13");
  std::vector<std::string> acts;  // activations read by quantised ops, in graph order
  for (const auto& n : g.nodes)
    if (quantizable(n, g) && std::find(acts.begin(), acts.end(), n.inputs[0]) == acts.end()) acts.push_back(n.inputs[0]);
  std::map<std::string, std::pair<float, float>> range;
  if (!opt.dynamic) {
    TINYQ_ASSIGN_OR_RETURN(range, calibrate(fp32, acts, rows));
  }

  ir::Model m = fp32;
  ir::Graph& q = m.graph;
  std::vector<ir::Node> nodes;
  std::map<std::string, std::string> dq_name;  // activation -> its dequantised value
  auto emit_activation = [&](const std::string& t) {
    if (dq_name.count(t)) return;
    const std::string s = t + "_scale", z = t + "_zero_point", tq = t + "_q";
    if (opt.dynamic) {
      nodes.push_back(make_node("DynamicQuantizeLinear", {t}, {tq, s, z}));
    } else {
      const auto [lo, hi] = range[t];
      float scale;
      if (opt.s8) {
        const float m_abs = std::max(std::fabs(lo), std::fabs(hi));
        scale = m_abs > 0.0f ? m_abs / 127.0f : 1.0f;
        q.initializers[z] = Tensor::from_vector<int8_t>({}, {0});
      } else {
        scale = hi > lo ? (hi - lo) / 255.0f : 1.0f;
        const int32_t zp = kernels::quantize_saturate(0.0f - lo / scale, 0, 0, 255);
        q.initializers[z] = Tensor::from_vector<uint8_t>({}, {static_cast<uint8_t>(zp)});
      }
      q.initializers[s] = Tensor::from_vector<float>({}, {scale});
      nodes.push_back(make_node("QuantizeLinear", {t, s, z}, {tq}));
    }
    nodes.push_back(make_node("DequantizeLinear", {tq, s, z}, {t + "_dq"}));
    dq_name[t] = t + "_dq";
  };
  for (const auto& in : q.inputs)
    if (std::find(acts.begin(), acts.end(), in.name) != acts.end()) emit_activation(in.name);
  for (const auto& n0 : q.nodes) {
    ir::Node n = n0;
    if (quantizable(n0, g)) {
      emit_activation(n0.inputs[0]);
      n.inputs[0] = dq_name[n0.inputs[0]];
      const std::string wname = n0.inputs[1];
      const Tensor& w = g.initializers.at(wname);
      const bool trans_b = n0.op_type == "Gemm" && n0.attr("transB") && n0.attr("transB")->i != 0;
      const int64_t axis = n0.op_type == "Conv" ? 0 : (trans_b ? 0 : 1);
      const int64_t channels = w.shape()[axis];
      const int64_t per = w.numel() / channels;  // weights per output channel
      auto at = [&](int64_t c, int64_t j) { return axis == 0 ? c * per + j : j * channels + c; };
      std::vector<float> ws(opt.per_channel ? channels : 1);
      for (int64_t c = 0; c < channels; ++c)
        for (int64_t j = 0; j < per; ++j) {
          float& s = ws[opt.per_channel ? c : 0];
          s = std::max(s, std::fabs(w.data<float>()[at(c, j)]));
        }
      for (float& s : ws) s = s > 0.0f ? s / 127.0f : 1.0f;
      Tensor wq(DType::kInt8, w.shape());
      for (int64_t c = 0; c < channels; ++c)
        for (int64_t j = 0; j < per; ++j)
          wq.data<int8_t>()[at(c, j)] = static_cast<int8_t>(
              kernels::quantize_saturate(w.data<float>()[at(c, j)] / ws[opt.per_channel ? c : 0], 0, -127, 127));
      const std::string base = n0.name.empty() ? n0.outputs[0] : n0.name;
      q.initializers[base + "_wq"] = wq;
      q.initializers[base + "_ws"] = opt.per_channel ? Tensor::from_vector<float>({channels}, ws)
                                                     : Tensor::from_vector<float>({}, ws);
      ir::Node dqw = make_node("DequantizeLinear", {base + "_wq", base + "_ws"}, {base + "_wdq"});
      if (opt.per_channel) dqw.attributes["axis"] = ir::int_attr(axis);
      nodes.push_back(dqw);
      n.inputs[1] = base + "_wdq";
    }
    nodes.push_back(n);
  }
  q.nodes = std::move(nodes);
  // Float weights no longer read.
  std::set<std::string> read;
  for (const auto& n : q.nodes)
    for (const auto& in : n.inputs) read.insert(in);
  for (auto it = q.initializers.begin(); it != q.initializers.end();)
    it = read.count(it->first) ? std::next(it) : q.initializers.erase(it);
  TINYQ_RETURN_IF_ERROR(ir::topo_sort(q));
  return m;
}

}  // namespace tinyq::bench

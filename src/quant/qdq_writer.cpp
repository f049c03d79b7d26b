// write_qdq: turns a plan and its parameters into the QDQ file format described in plan.h.
#include <algorithm>
#include <cmath>
#include <set>

#include "ir/builder.h"
#include "quant/plan.h"
#include "quant/weights.h"

namespace tinyq::quant {

namespace {

// Default-domain ops whose inputs or attributes changed meaning between an older opset and
// kQdqOpset, with the opset where they changed: raising the opset past it would change what the
// node computes, so the writer refuses instead.
const std::map<std::string, int64_t>& changed_ops() {
  static const std::map<std::string, int64_t> kChanged = {
      {"Upsample", 10}, {"Slice", 10},    {"TopK", 10},       {"Clip", 11},       {"Pad", 11},
      {"Resize", 11},   {"Dropout", 12},  {"Squeeze", 13},    {"Unsqueeze", 13},  {"ReduceSum", 13},
      {"Split", 13},    {"Softmax", 13},  {"LogSoftmax", 13}, {"Hardmax", 13},    {"BatchNormalization", 9},
  };
  return kChanged;
}

Status raise_opset(ir::Model& m) {
  const int64_t opset = m.opset();
  if (opset >= kQdqOpset) return Status::ok();
  for (const auto& n : m.graph.nodes) {
    if (!n.domain.empty() && n.domain != "ai.onnx") continue;
    auto it = changed_ops().find(n.op_type);
    if (it != changed_ops().end() && it->second > opset)
      return Status::unsupported("the quantised file needs opset " + std::to_string(kQdqOpset) + " (per-axis DequantizeLinear), but " +
                                 n.describe() + " changed meaning at opset " + std::to_string(it->second) +
                                 " and the model imports opset " + std::to_string(opset) + "; convert the model to opset " +
                                 std::to_string(kQdqOpset) + " first");
  }
  const std::string key = m.opset_imports.count("ai.onnx") && !m.opset_imports.count("") ? "ai.onnx" : "";
  m.opset_imports[key] = kQdqOpset;
  m.ir_version = std::max(m.ir_version, kQdqIrVersion);
  return Status::ok();
}

// Builds the rewritten graph: names new values without clashing, emits each Q/DQ chain once,
// just before its first reader.
class Writer {
 public:
  Writer(const ir::Model& fp32, const QuantPlan& plan, const QdqParams& params)
      : m_(fp32), plan_(plan), params_(params) {
    const ir::Graph& g = m_.graph;
    for (const auto& [name, t] : g.initializers) used_.insert(name);
    for (const auto* list : {&g.inputs, &g.outputs, &g.value_info})
      for (const auto& v : *list) used_.insert(v.name);
    for (const auto& n : g.nodes) {
      used_.insert(n.inputs.begin(), n.inputs.end());
      used_.insert(n.outputs.begin(), n.outputs.end());
    }
  }

  Result<ir::Model> run() {
    TINYQ_RETURN_IF_ERROR(raise_opset(m_));
    ir::Graph& g = m_.graph;
    std::map<std::string, const NodeSite*> sites;
    for (const auto& s : plan_.nodes) sites[s.node] = &s;
    TINYQ_RETURN_IF_ERROR(check_weight_sharing());

    std::vector<ir::Node> out;
    for (const ir::Node& n0 : g.nodes) {
      auto it = sites.find(site_name(n0));
      if (it == sites.end()) {
        out.push_back(n0);
        continue;
      }
      const NodeSite& site = *it->second;
      seen_sites_.insert(site.node);
      if (site.op_type != n0.op_type)
        return Status::invalid_argument("plan node '" + site.node + "' is a " + site.op_type + " but the graph's is a " + n0.op_type);
      ir::Node n = n0;
      for (const auto& a : site.activations) {
        TINYQ_ASSIGN_OR_RETURN(std::string dq, activation(a, &out));
        for (auto& in : n.inputs)
          if (in == a) in = dq;
      }
      for (const auto& w : site.weights) {
        if (w.input < 0 || static_cast<size_t>(w.input) >= n.inputs.size() || n0.inputs[w.input] != w.initializer)
          return Status::invalid_argument("plan weight '" + w.initializer + "' is not input " + std::to_string(w.input) +
                                          " of " + n0.describe());
        TINYQ_ASSIGN_OR_RETURN(std::string dq, weight(w, &out));
        n.inputs[w.input] = dq;
      }
      out.push_back(std::move(n));
    }
    for (const auto& [name, p] : sites)
      if (!seen_sites_.count(name)) return Status::invalid_argument("plan node '" + name + "' is not in the graph");
    g.nodes = std::move(out);
    drop_unread_weights();
    TINYQ_RETURN_IF_ERROR(ir::topo_sort(g));
    return std::move(m_);
  }

 private:
  std::string fresh(const std::string& base) {
    std::string name = base;
    for (int k = 2; used_.count(name); ++k) name = base + std::to_string(k);
    used_.insert(name);
    return name;
  }

  // New nodes go unnamed (ONNX allows it; messages name them by their output): the file stays
  // small, and no name can clash with the model's.
  static ir::Node node(const std::string& op, std::vector<std::string> in, std::vector<std::string> outs) {
    ir::Node n;
    n.op_type = op;
    n.inputs = std::move(in);
    n.outputs = std::move(outs);
    return n;
  }

  // A weight initializer keeps one int8 copy per axis; its fp32 name may carry the dequantised
  // value (so the node's input and any value_info stay as written) when nothing else reads it.
  Status check_weight_sharing() {
    std::map<std::string, int> weight_reads;
    std::map<std::string, std::set<int64_t>> axes;
    for (const auto& s : plan_.nodes)
      for (const auto& w : s.weights) {
        ++weight_reads[w.initializer];
        axes[w.initializer].insert(w.axis);
      }
    std::map<std::string, int> reads;
    for (const auto& n : m_.graph.nodes)
      for (const auto& in : n.inputs) ++reads[in];
    for (const auto& [init, count] : weight_reads) {
      if (!m_.graph.is_initializer(init) && !params_.weight_overrides.count(init))
        return Status::invalid_argument("plan weight '" + init + "' is not an initializer");
      const bool only_weights = reads[init] == count && !m_.graph.find_output(init) && axes[init].size() == 1;
      if (only_weights) keep_name_.insert(init);
    }
    return Status::ok();
  }

  Result<std::string> activation(const std::string& t, std::vector<ir::Node>* out) {
    auto done = activation_dq_.find(t);
    if (done != activation_dq_.end()) return done->second;
    ir::Graph& g = m_.graph;
    const std::string q = fresh(t + "_q"), s = fresh(t + "_s"), z = fresh(t + "_z"), dq = fresh(t + "_dq");
    if (params_.dynamic) {
      out->push_back(node("DynamicQuantizeLinear", {t}, {q, s, z}));
    } else {
      auto it = params_.activations.find(t);
      if (it == params_.activations.end()) return Status::invalid_argument("no quantisation parameters for activation '" + t + "'");
      const ActivationParams& p = it->second;
      if (!(p.scale > 0.0f) || !std::isfinite(p.scale))
        return Status::invalid_argument("activation '" + t + "': scale " + std::to_string(p.scale) + " is not finite and > 0");
      if (p.type == ActivationType::kU8Asymmetric) {
        if (p.zero_point < 0 || p.zero_point > 255)
          return Status::invalid_argument("activation '" + t + "': zero point " + std::to_string(p.zero_point) + " is outside uint8");
        g.initializers[z] = Tensor::from_vector<uint8_t>({}, {static_cast<uint8_t>(p.zero_point)});
      } else {
        if (p.zero_point != 0)
          return Status::invalid_argument("activation '" + t + "': s8 symmetric needs zero point 0, not " + std::to_string(p.zero_point));
        g.initializers[z] = Tensor::from_vector<int8_t>({}, {0});
      }
      g.initializers[s] = Tensor::from_vector<float>({}, {p.scale});
      out->push_back(node("QuantizeLinear", {t, s, z}, {q}));
    }
    out->push_back(node("DequantizeLinear", {q, s, z}, {dq}));
    activation_dq_[t] = dq;
    return dq;
  }

  Result<std::string> weight(const WeightSite& w, std::vector<ir::Node>* out) {
    const std::string key = w.initializer + "\n" + std::to_string(w.axis);
    auto done = weight_dq_.find(key);
    if (done != weight_dq_.end()) return done->second;
    ir::Graph& g = m_.graph;
    auto ov = params_.weight_overrides.find(w.initializer);
    const Tensor& fp = ov != params_.weight_overrides.end() ? ov->second : g.initializers.at(w.initializer);
    const std::string who = "weight '" + w.initializer + "'";
    if (fp.dtype() != DType::kFloat32) return Status::invalid_argument(who + " is not float32");
    if (ov != params_.weight_overrides.end() && g.is_initializer(w.initializer) &&
        g.initializers.at(w.initializer).shape() != fp.shape())
      return Status::invalid_argument(who + ": the replacement has shape " + shape_str(fp.shape()) + ", the model's " +
                                      shape_str(g.initializers.at(w.initializer).shape()));
    if (w.axis >= fp.rank()) return Status::invalid_argument(who + ": axis " + std::to_string(w.axis) + " is past its rank");
    std::vector<float> scales;
    if (auto s = params_.weight_scales.find(w.initializer); s != params_.weight_scales.end()) {
      scales = s->second;
    } else {
      scales = max_abs_scales(fp, w.axis);
    }
    Tensor q;
    if (auto v = params_.weight_values.find(w.initializer); v != params_.weight_values.end()) {
      if (!params_.weight_scales.count(w.initializer))
        return Status::invalid_argument(who + ": int8 values given without their scales");
      if (v->second.dtype() != DType::kInt8 || v->second.shape() != fp.shape())
        return Status::invalid_argument(who + ": int8 values must be int8 " + shape_str(fp.shape()));
      q = v->second;
      for (int64_t k = 0; k < q.numel(); ++k)
        if (q.data<int8_t>()[k] < -kWeightQMax)
          return Status::invalid_argument(who + ": int8 value " + std::to_string(q.data<int8_t>()[k]) + " is outside the symmetric range");
    } else {
      auto r = params_.rounding == QdqParams::Rounding::kSumPreserving && w.group_begin >= 0
                   ? round_weights_sum_preserving(fp, w.axis, scales, w.group_begin, w.group_end)
                   : round_weights(fp, w.axis, scales);
      if (!r.is_ok()) return r.status().with_context(who);
      q = std::move(r).value();
    }
    const ChannelLayout l = channel_layout(fp.shape(), w.axis);
    if (scales.size() != 1 && static_cast<int64_t>(scales.size()) != l.channels)
      return Status::invalid_argument(who + ": " + std::to_string(scales.size()) + " scales for " + std::to_string(l.channels) + " channels");
    for (float s : scales)
      if (!(s > 0.0f) || !std::isfinite(s)) return Status::invalid_argument(who + ": scale " + std::to_string(s) + " is not finite and > 0");
    const bool per_axis = scales.size() > 1;
    const std::string wq = fresh(w.initializer + "_q"), ws = fresh(w.initializer + "_s");
    g.initializers[wq] = q;
    g.initializers[ws] = per_axis ? Tensor::from_vector<float>({static_cast<int64_t>(scales.size())}, scales)
                                  : Tensor::from_vector<float>({}, {scales[0]});
    const std::string dq = keep_name_.count(w.initializer) ? w.initializer : fresh(w.initializer + "_dq");
    ir::Node n = node("DequantizeLinear", {wq, ws}, {dq});
    if (per_axis) n.attributes["axis"] = ir::int_attr(w.axis);
    out->push_back(std::move(n));
    weights_.insert(w.initializer);
    weight_dq_[key] = dq;
    return dq;
  }

  // Removes the fp32 weights nothing reads any more (the int8 copy replaces them), and value_info
  // that described them.
  void drop_unread_weights() {
    ir::Graph& g = m_.graph;
    std::set<std::string> read;
    for (const auto& n : g.nodes) read.insert(n.inputs.begin(), n.inputs.end());
    for (const auto& o : g.outputs) read.insert(o.name);
    std::set<std::string> produced;
    for (const auto& n : g.nodes) produced.insert(n.outputs.begin(), n.outputs.end());
    for (const auto& w : weights_) {
      if (produced.count(w)) {
        g.initializers.erase(w);  // the name now carries the dequantised value
        continue;
      }
      if (!read.count(w)) g.initializers.erase(w);
    }
    std::erase_if(g.value_info, [&](const ir::ValueInfo& v) { return weights_.count(v.name) && !g.is_initializer(v.name) && !produced.count(v.name); });
  }

  ir::Model m_;
  const QuantPlan& plan_;
  const QdqParams& params_;
  std::set<std::string> used_, keep_name_, weights_, seen_sites_;
  std::map<std::string, std::string> activation_dq_, weight_dq_;
};

}  // namespace

Result<ir::Model> write_qdq(const ir::Model& fp32, const QuantPlan& plan, const QdqParams& params) {
  Writer w(fp32, plan, params);
  return w.run();
}

}  // namespace tinyq::quant

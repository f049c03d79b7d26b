#include "passes/quant_fusion.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ir/builder.h"
#include "kernels/int8/fused_common.h"
#include "kernels/int8/packing.h"
#include "kernels/kernel.h"

namespace tinyq::passes {

namespace {

namespace i8 = kernels::int8;

bool is_op(const ir::Node& n, const char* op) {
  return n.op_type == op && (n.domain.empty() || n.domain == "ai.onnx");
}

// Producers, consumers and constant values of a graph being rewritten.
class Index {
 public:
  Index(ir::Graph& g, int64_t opset) : g_(g), opset_(opset) {
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      for (const auto& o : g.nodes[i].outputs)
        if (!o.empty()) producer_[o] = static_cast<int>(i);
      for (const auto& in : g.nodes[i].inputs)
        if (!in.empty()) ++uses_[in];
    }
    for (const auto& o : g.outputs) graph_outputs_.insert(o.name);
    removed_.assign(g.nodes.size(), false);
  }

  ir::Graph& graph() { return g_; }
  int64_t opset() const { return opset_; }

  // The node producing `v` (not yet removed), or nullptr.
  ir::Node* producer(const std::string& v) {
    auto it = producer_.find(v);
    if (it == producer_.end() || removed_[it->second]) return nullptr;
    return &g_.nodes[it->second];
  }
  // The single node reading `v` through a single input, when `v` is not a graph output.
  ir::Node* only_consumer(const std::string& v) {
    if (v.empty() || graph_outputs_.count(v) || uses_[v] != 1) return nullptr;
    for (size_t i = 0; i < g_.nodes.size(); ++i)
      if (!removed_[i])
        for (const auto& in : g_.nodes[i].inputs)
          if (in == v) return &g_.nodes[i];
    return nullptr;
  }
  // True when `v` is read by exactly one input in total and is not a graph output.
  bool used_once(const std::string& v) { return !graph_outputs_.count(v) && uses_[v] == 1; }

  // The value of `v` when it is constant: an initializer, a Constant node, or Identity /
  // Reshape of constants.
  std::optional<Tensor> constant(const std::string& v) {
    if (v.empty()) return std::nullopt;
    auto init = g_.initializers.find(v);
    if (init != g_.initializers.end()) return init->second;
    ir::Node* p = producer(v);
    if (!p) return std::nullopt;
    if (is_op(*p, "Constant")) {
      const ir::Attribute* a = p->attr("value");
      if (a && a->kind == ir::Attribute::Kind::kTensor && p->attributes.size() == 1) return a->t;
      return std::nullopt;
    }
    if (is_op(*p, "Identity") && p->inputs.size() == 1) return constant(p->inputs[0]);
    if (is_op(*p, "Reshape") && p->inputs.size() == 2) {
      if (p->attr("allowzero") && p->attr("allowzero")->i != 0) return std::nullopt;
      auto data = constant(p->inputs[0]);
      auto shape = constant(p->inputs[1]);
      if (!data || !shape || shape->dtype() != DType::kInt64) return std::nullopt;
      Shape dims = shape->to_int64();
      int64_t known = 1, infer = -1;
      for (size_t i = 0; i < dims.size(); ++i) {
        if (dims[i] == 0 && i < data->shape().size()) dims[i] = data->shape()[i];
        if (dims[i] == -1) {
          if (infer >= 0) return std::nullopt;
          infer = static_cast<int64_t>(i);
        } else if (dims[i] < 0) {
          return std::nullopt;
        } else {
          known *= dims[i];
        }
      }
      if (infer >= 0) {
        if (known == 0 || data->numel() % known) return std::nullopt;
        dims[infer] = data->numel() / known;
      }
      if (shape_numel(dims) != data->numel()) return std::nullopt;
      return data->reshaped(dims);
    }
    return std::nullopt;
  }

  // True when a Conv, MatMul or Gemm reads `v` (it may then fuse with the int8 value itself).
  bool feeds_matmul_like(const std::string& v) {
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      const ir::Node& n = g_.nodes[i];
      if (removed_[i] || !(is_op(n, "Conv") || is_op(n, "MatMul") || is_op(n, "Gemm"))) continue;
      for (const auto& in : n.inputs)
        if (in == v) return true;
    }
    return false;
  }

  void remove(ir::Node* n) { removed_[n - g_.nodes.data()] = true; }
  bool removed(size_t i) const { return removed_[i]; }

  // A name not used by any value or initializer yet.
  std::string fresh(const std::string& base) {
    std::string name = base;
    for (int i = 1; g_.initializers.count(name) || producer_.count(name) || uses_.count(name); ++i)
      name = base + "_" + std::to_string(i);
    uses_[name] = 0;
    return name;
  }
  std::string add_initializer(const std::string& base, Tensor t) {
    const std::string name = fresh(base);
    g_.initializers[name] = std::move(t);
    return name;
  }

  // Replaces `last` (the final node of a matched chain) with `fused`, keeping its position.
  void replace(ir::Node* last, ir::Node fused) {
    const size_t at = static_cast<size_t>(last - g_.nodes.data());
    for (const auto& in : fused.inputs)
      if (!in.empty()) ++uses_[in];
    fused.index = static_cast<int>(at);
    g_.nodes[at] = std::move(fused);
    removed_[at] = false;
    for (const auto& o : g_.nodes[at].outputs) producer_[o] = static_cast<int>(at);
  }

 private:
  ir::Graph& g_;
  int64_t opset_;
  std::map<std::string, int> producer_;
  std::map<std::string, int> uses_;
  std::set<std::string> graph_outputs_;
  std::vector<bool> removed_;
};

// Values per output channel of a constant that broadcasts against an output of rank
// `out_rank` whose channel axis is `channel_axis`: 1 entry (any shape of one element) or
// `channels` entries along that axis with 1 elsewhere. Empty when it does not.
template <typename T>
std::vector<T> per_channel(const Tensor& t, int64_t out_rank, int64_t channel_axis, int64_t channels) {
  if (t.dtype() != DTypeOf<T>::value) return {};
  const T* v = t.data<T>();
  if (t.numel() == 1) {
    if (t.rank() > out_rank) return {};
    return {v[0]};
  }
  if (t.numel() != channels || t.rank() > out_rank) return {};
  const int64_t axis = channel_axis - (out_rank - t.rank());  // right-aligned
  if (axis < 0 || t.shape()[axis] != channels) return {};
  return std::vector<T>(v, v + channels);
}

template <typename T>
Tensor vector_tensor(const std::vector<T>& v) {
  return Tensor::from_vector<T>({static_cast<int64_t>(v.size())}, v);
}

// Bounds of a Relu, or of a Clip with constant bounds, as the fused clamp.
bool activation_bounds(Index& ix, const ir::Node& act, float* lo, float* hi) {
  *lo = -std::numeric_limits<float>::infinity();
  *hi = std::numeric_limits<float>::infinity();
  if (is_op(act, "Relu") && act.attributes.empty() && act.inputs.size() == 1) {
    *lo = 0.0f;
    return true;
  }
  if (!is_op(act, "Clip")) return false;
  if (ix.opset() < 11) {
    for (const auto& [k, a] : act.attributes) {
      if (k == "min") *lo = a.f;
      else if (k == "max") *hi = a.f;
      else return false;
    }
    return *lo <= *hi;
  }
  if (!act.attributes.empty()) return false;
  for (size_t i = 1; i < act.inputs.size() && i < 3; ++i) {
    if (act.inputs[i].empty()) continue;
    auto c = ix.constant(act.inputs[i]);
    if (!c || c->dtype() != DType::kFloat32 || c->numel() != 1) return false;
    (i == 1 ? *lo : *hi) = c->data<float>()[0];
  }
  return *lo <= *hi;
}

void set_clamp(ir::Node& fused, float lo, float hi) {
  fused.clamp_min = lo;
  fused.clamp_max = hi;
}

// Constant int8 weights and their zero points as the engine needs them (int8; uint8 weights
// are shifted by -128 together with their zero point, which leaves w - zero_point unchanged).
struct Weights {
  Tensor w;                      // int8, the original shape
  std::vector<int32_t> zero;     // 1 or C entries
};

std::optional<Weights> signed_weights(const Tensor& w, const std::optional<Tensor>& zp, int64_t channels,
                                      int64_t out_rank, int64_t channel_axis) {
  if (w.dtype() != DType::kInt8 && w.dtype() != DType::kUInt8) return std::nullopt;
  Weights out;
  const bool u8 = w.dtype() == DType::kUInt8;
  if (zp) {
    if (zp->dtype() != w.dtype()) return std::nullopt;
    std::vector<int32_t> z;
    if (u8) {
      auto v = per_channel<uint8_t>(*zp, out_rank, channel_axis, channels);
      for (uint8_t x : v) z.push_back(x);
    } else {
      auto v = per_channel<int8_t>(*zp, out_rank, channel_axis, channels);
      for (int8_t x : v) z.push_back(x);
    }
    if (z.empty()) return std::nullopt;
    out.zero = z;
  } else {
    out.zero = {0};
  }
  out.w = Tensor(DType::kInt8, w.shape());
  for (int64_t i = 0; i < w.numel(); ++i)
    out.w.data<int8_t>()[i] = u8 ? static_cast<int8_t>(static_cast<int>(w.data<uint8_t>()[i]) - 128) : w.data<int8_t>()[i];
  if (u8)
    for (auto& z : out.zero) z -= 128;
  return out;
}

Tensor zero_point_tensor(const std::vector<int32_t>& z) {
  std::vector<int8_t> v(z.begin(), z.end());
  return vector_tensor(v);
}

bool all_zero(const std::vector<int32_t>& z) {
  for (int32_t v : z)
    if (v) return false;
  return true;
}

// Packs conv weights [C_out, cin_g, k...] (1-D or 2-D kernels) as [C_out, T*4].
Tensor pack_conv(const Tensor& w) {
  const Shape& s = w.shape();
  const int64_t kh = s.size() == 4 ? s[2] : 1, kw = s.back();
  Tensor packed(DType::kInt8, {s[0], i8::conv_packed_row(s[1], kh, kw)});
  i8::pack_conv_weights(w.data<int8_t>(), s[0], s[1], kh, kw, packed.data<int8_t>());
  return packed;
}

// Packs GEMM weights [K, N] (or [N, K] when trans_b).
Tensor pack_gemm(const Tensor& w, bool trans_b, int64_t* n_out) {
  const int64_t k = trans_b ? w.shape()[1] : w.shape()[0], n = trans_b ? w.shape()[0] : w.shape()[1];
  Tensor packed(DType::kInt8, {i8::gemm_panels(n) * i8::gemm_panel(n), i8::gemm_k_quads(k) * 4});
  i8::pack_gemm_weights(w.data<int8_t>(), trans_b, k, n, packed.data<int8_t>());
  *n_out = n;
  return packed;
}

void copy_conv_attrs(const ir::Node& conv, const Shape& w_shape, ir::Node& fused) {
  for (const char* k : {"auto_pad", "dilations", "group", "pads", "strides"})
    if (const ir::Attribute* a = conv.attr(k)) fused.attributes[k] = *a;
  fused.attributes["kernel_shape"] = ir::ints_attr(std::vector<int64_t>(w_shape.begin() + 2, w_shape.end()));
}

// Follows an optional Relu/Clip after `cur`; returns the node and its bounds.
ir::Node* follow_activation(Index& ix, const std::string& cur, float* lo, float* hi) {
  ir::Node* act = ix.only_consumer(cur);
  if (act && act->inputs[0] == cur && activation_bounds(ix, *act, lo, hi)) return act;
  *lo = -std::numeric_limits<float>::infinity();
  *hi = std::numeric_limits<float>::infinity();
  return nullptr;
}

// ---- Dynamic: [DynamicQuantizeLinear ->] ConvInteger/MatMulInteger -> Cast -> Mul ... ----

bool fuse_dynamic(Index& ix, ir::Node& n) {
  const bool conv = is_op(n, "ConvInteger");
  if (!conv && !is_op(n, "MatMulInteger")) return false;
  if (n.inputs.size() < 2 || n.outputs.size() != 1) return false;
  auto wq = ix.constant(n.inputs[1]);
  if (!wq) return false;
  const int64_t wrank = wq->rank();
  if (conv ? (wrank != 3 && wrank != 4) : wrank != 2) return false;
  const int64_t channels = conv ? wq->shape()[0] : wq->shape()[1];
  const int64_t out_rank = conv ? wrank : 2, channel_axis = conv ? 1 : out_rank - 1;
  std::optional<Tensor> wz;
  if (n.inputs.size() > 3 && !n.inputs[3].empty()) {
    wz = ix.constant(n.inputs[3]);
    if (!wz) return false;
  }
  // MatMulInteger's zero point is per column of B; ConvInteger's per output channel: both are
  // "per channel" of the output here. (A 1-element zero point of any rank is per tensor.)
  auto weights = signed_weights(*wq, wz, channels, conv ? 1 : 2, conv ? 0 : 1);
  if (!weights) return false;

  ir::Node* cast = ix.only_consumer(n.outputs[0]);
  if (!cast || !is_op(*cast, "Cast") || !cast->attr("to") || cast->attr("to")->i != 1) return false;
  ir::Node* mul = ix.only_consumer(cast->outputs[0]);
  if (!mul || !is_op(*mul, "Mul") || mul->inputs.size() != 2) return false;
  const std::string& s = mul->inputs[0] == cast->outputs[0] ? mul->inputs[1] : mul->inputs[0];
  if (s == cast->outputs[0]) return false;
  ir::Node* scale_mul = ix.producer(s);
  if (!scale_mul || !is_op(*scale_mul, "Mul") || scale_mul->inputs.size() != 2) return false;
  // One factor is the activation scale (a DynamicQuantizeLinear's scalar output), the other the
  // constant weight scale.
  std::string x_scale;
  std::optional<Tensor> ws;
  for (int i = 0; i < 2; ++i) {
    ir::Node* p = ix.producer(scale_mul->inputs[i]);
    if (p && is_op(*p, "DynamicQuantizeLinear") && p->outputs.size() > 1 && p->outputs[1] == scale_mul->inputs[i]) {
      x_scale = scale_mul->inputs[i];
      ws = ix.constant(scale_mul->inputs[1 - i]);
    }
  }
  if (x_scale.empty() || !ws || ws->dtype() != DType::kFloat32) return false;
  std::vector<float> w_scale = per_channel<float>(*ws, out_rank, channel_axis, channels);
  if (w_scale.empty()) return false;
  for (float v : w_scale)
    if (!std::isfinite(v) || !(v > 0.0f)) return false;

  std::vector<ir::Node*> chain{&n, cast, mul};
  std::string cur = mul->outputs[0];
  std::vector<float> bias;
  if (ir::Node* add = ix.only_consumer(cur); add && is_op(*add, "Add") && add->inputs.size() == 2) {
    const std::string& other = add->inputs[0] == cur ? add->inputs[1] : add->inputs[0];
    if (auto b = ix.constant(other); b && other != cur) {
      bias = per_channel<float>(*b, out_rank, channel_axis, channels);
      if (!bias.empty()) {
        if (bias.size() == 1) bias.assign(channels, bias[0]);
        chain.push_back(add);
        cur = add->outputs[0];
      }
    }
  }
  float lo, hi;
  if (ir::Node* act = follow_activation(ix, cur, &lo, &hi)) {
    chain.push_back(act);
    cur = act->outputs[0];
  }

  // Fold the DynamicQuantizeLinear when this chain is its only reader.
  ir::Node* dql = ix.producer(n.inputs[0]);
  const bool fold = dql && is_op(*dql, "DynamicQuantizeLinear") && dql->outputs.size() == 3 &&
                    dql->outputs[1] == x_scale && n.inputs.size() > 2 && n.inputs[2] == dql->outputs[2] &&
                    ix.used_once(dql->outputs[0]) && ix.used_once(dql->outputs[1]) &&
                    ix.used_once(dql->outputs[2]) && ix.used_once(s);

  ir::Node fused;
  fused.name = n.name.empty() ? cur : n.name;
  fused.op_type = conv ? "ConvIntegerFused" : "MatMulIntegerFused";
  fused.domain = kernels::kInternalDomain;
  const std::string base = fused.name;
  std::string packed;
  if (conv) {
    packed = ix.add_initializer(base + "_w_packed", pack_conv(weights->w));
    copy_conv_attrs(n, wq->shape(), fused);
  } else {
    int64_t cols = 0;
    packed = ix.add_initializer(base + "_w_packed", pack_gemm(weights->w, false, &cols));
    fused.attributes["n"] = ir::int_attr(cols);
  }
  set_clamp(fused, lo, hi);
  fused.inputs = {fold ? dql->inputs[0] : n.inputs[0], fold ? "" : x_scale,
                  fold ? "" : (n.inputs.size() > 2 ? n.inputs[2] : ""), packed,
                  ix.add_initializer(base + "_w_scale", vector_tensor(w_scale)),
                  all_zero(weights->zero) ? "" : ix.add_initializer(base + "_w_zero_point", zero_point_tensor(weights->zero)),
                  bias.empty() ? "" : ix.add_initializer(base + "_bias", vector_tensor(bias))};
  while (!fused.inputs.empty() && fused.inputs.back().empty()) fused.inputs.pop_back();
  fused.outputs = {cur};
  if (fold) {
    ix.remove(dql);
    ix.remove(scale_mul);
  } else if (ix.used_once(s)) {
    ix.remove(scale_mul);
  }
  ir::Node* last = chain.back();
  for (ir::Node* c : chain) ix.remove(c);
  ix.replace(last, std::move(fused));
  return true;
}

// ---- QDQ: DequantizeLinear -> Conv/MatMul/Gemm (+bias) (+act) [-> QuantizeLinear] ----

struct QParams {
  float scale = 0.0f;
  std::optional<Tensor> zero_point;  // absent: uint8 0
  DType type = DType::kUInt8;
  bool operator==(const QParams& o) const {
    if (scale != o.scale || type != o.type) return false;
    const int64_t a = zero_point ? zero_point->to_int64()[0] : 0, b = o.zero_point ? o.zero_point->to_int64()[0] : 0;
    return a == b;
  }
};

// The only attribute a per-tensor QuantizeLinear / DequantizeLinear may carry here (block_size,
// output_dtype and saturate are not handled).
bool plain_q_attrs(const ir::Node& q) {
  for (const auto& [k, a] : q.attributes)
    if (k != "axis") return false;
  return true;
}

// The per-tensor constant parameters of a QuantizeLinear / DequantizeLinear node.
std::optional<QParams> per_tensor_params(Index& ix, const ir::Node& q) {
  if (q.inputs.size() < 2 || !plain_q_attrs(q)) return std::nullopt;
  QParams p;
  auto s = ix.constant(q.inputs[1]);
  if (!s || s->dtype() != DType::kFloat32 || s->numel() != 1) return std::nullopt;
  p.scale = s->data<float>()[0];
  if (!std::isfinite(p.scale) || !(p.scale > 0.0f)) return std::nullopt;
  if (q.inputs.size() > 2 && !q.inputs[2].empty()) {
    auto z = ix.constant(q.inputs[2]);
    if (!z || z->numel() != 1 || (z->dtype() != DType::kUInt8 && z->dtype() != DType::kInt8)) return std::nullopt;
    p.type = z->dtype();
    p.zero_point = z->reshaped({});
  }
  return p;
}

// Where a QDQ op's quantised activations come from: fused inputs 0-2.
struct XSource {
  std::string x, scale, zero_point;  // scale and zero point empty when dynamic
  bool dynamic = false;              // DynamicQuantizeLinear(x) folded in: float x, range per run
  std::optional<QParams> params;     // the constant parameters otherwise
};

// The activations' DequantizeLinear `dqx`: after DynamicQuantizeLinear(T) the op quantises T per
// run; after QuantizeLinear(T) with the same parameters it quantises T with them; otherwise it
// reads the quantised tensor. A folded producer other readers still need stays (remove_dead).
std::optional<XSource> x_source(Index& ix, const ir::Node& dqx) {
  if (!is_op(dqx, "DequantizeLinear") || dqx.inputs.size() < 2 || !plain_q_attrs(dqx)) return std::nullopt;
  XSource s;
  ir::Node* p = ix.producer(dqx.inputs[0]);
  if (p && is_op(*p, "DynamicQuantizeLinear") && p->outputs.size() == 3 && dqx.inputs.size() == 3 &&
      dqx.inputs[0] == p->outputs[0] && dqx.inputs[1] == p->outputs[1] && dqx.inputs[2] == p->outputs[2]) {
    s.x = p->inputs[0];
    s.dynamic = true;
    return s;
  }
  s.params = per_tensor_params(ix, dqx);
  if (!s.params) return std::nullopt;
  s.scale = dqx.inputs[1];
  s.zero_point = dqx.inputs.size() > 2 ? dqx.inputs[2] : "";
  s.x = dqx.inputs[0];
  if (p && is_op(*p, "QuantizeLinear") && p->outputs.size() == 1)
    if (auto qp = per_tensor_params(ix, *p); qp && *qp == *s.params) s.x = p->inputs[0];
  return s;
}

// Gemm's attributes as the fused op can take them: alpha > 0 folds into the weight scales, beta
// into the bias; transA must be 0.
struct GemmAttrs {
  bool trans_b = false;
  float alpha = 1.0f, beta = 1.0f;
};

std::optional<GemmAttrs> gemm_attrs(const ir::Node& n) {
  GemmAttrs g;
  for (const auto& [k, a] : n.attributes) {
    if (k == "alpha") g.alpha = a.f;
    else if (k == "beta") g.beta = a.f;
    else if (k == "transB") g.trans_b = a.i != 0;
    else if (k != "transA" || a.i != 0) return std::nullopt;
  }
  if (!std::isfinite(g.alpha) || !(g.alpha > 0.0f) || !std::isfinite(g.beta)) return std::nullopt;
  return g;
}

// Constant weights behind a DequantizeLinear, per tensor or per output channel.
struct QdqWeights {
  Weights w;
  Shape shape;               // the original weight shape
  std::vector<float> scale;  // 1 or `channels` entries
  int64_t channels = 0;
};

std::optional<QdqWeights> qdq_weights(Index& ix, const ir::Node& dqw, bool conv, bool trans_b) {
  if (!is_op(dqw, "DequantizeLinear") || dqw.inputs.size() < 2) return std::nullopt;
  auto wq = ix.constant(dqw.inputs[0]);
  auto ws_t = ix.constant(dqw.inputs[1]);
  if (!wq || !ws_t || ws_t->dtype() != DType::kFloat32) return std::nullopt;
  QdqWeights out;
  out.shape = wq->shape();
  const int64_t wrank = wq->rank();
  if (conv ? (wrank != 3 && wrank != 4) : wrank != 2) return std::nullopt;
  out.channels = conv ? wq->shape()[0] : (trans_b ? wq->shape()[0] : wq->shape()[1]);
  const int64_t w_axis = conv ? 0 : (trans_b ? 0 : 1);
  int64_t axis = dqw.attr("axis") ? dqw.attr("axis")->i : 1;
  if (axis < 0) axis += wrank;
  if (!plain_q_attrs(dqw)) return std::nullopt;
  if (ws_t->numel() == 1) {
    out.scale = {ws_t->data<float>()[0]};
  } else {
    if (axis != w_axis || ws_t->rank() != 1 || ws_t->numel() != out.channels) return std::nullopt;
    out.scale.assign(ws_t->data<float>(), ws_t->data<float>() + out.channels);
  }
  for (float v : out.scale)
    if (!std::isfinite(v) || !(v > 0.0f)) return std::nullopt;
  std::optional<Tensor> wz;
  if (dqw.inputs.size() > 2 && !dqw.inputs[2].empty()) {
    wz = ix.constant(dqw.inputs[2]);
    if (!wz || wz->numel() != static_cast<int64_t>(out.scale.size())) return std::nullopt;
    wz = wz->reshaped({wz->numel()});
  }
  auto w = signed_weights(*wq, wz, out.channels, 1, 0);
  if (!w) return std::nullopt;
  out.w = std::move(*w);
  return out;
}

// A QDQ op's bias: an int32 DequantizeLinear (`dq` set; values q * scale) or a float constant.
struct QdqBias {
  ir::Node* dq = nullptr;
  std::vector<int32_t> q;      // int32 form: C entries
  std::vector<float> q_scale;  // int32 form: 1 or C entries
  std::vector<float> f;        // float form: C entries
  bool present() const { return dq || !f.empty(); }
  // The bias as the unfused graph adds it: DequantizeLinear's float(q) * scale, times beta.
  std::vector<float> as_float(float beta) const {
    std::vector<float> out = f;
    if (dq) {
      out.resize(q.size());
      for (size_t c = 0; c < q.size(); ++c) out[c] = static_cast<float>(q[c]) * q_scale[q_scale.size() == 1 ? 0 : c];
    }
    if (beta != 1.0f)
      for (float& v : out) v *= beta;
    return out;
  }
};

// Reads `v` as a per-channel bias for an output of rank out_rank with channels on channel_axis.
bool read_qdq_bias(Index& ix, const std::string& v, int64_t channels, int64_t out_rank, int64_t channel_axis,
                   QdqBias* out) {
  if (auto b = ix.constant(v); b && b->dtype() == DType::kFloat32) {
    out->f = per_channel<float>(*b, out_rank, channel_axis, channels);
    if (out->f.size() == 1) out->f.assign(channels, out->f[0]);
    return !out->f.empty();
  }
  ir::Node* dqb = ix.producer(v);
  if (!dqb || !is_op(*dqb, "DequantizeLinear") || dqb->inputs.size() < 2 || !plain_q_attrs(*dqb)) return false;
  auto bq = ix.constant(dqb->inputs[0]);
  auto bs = ix.constant(dqb->inputs[1]);
  if (!bq || !bs || bq->dtype() != DType::kInt32 || bs->dtype() != DType::kFloat32) return false;
  if (dqb->inputs.size() > 2 && !dqb->inputs[2].empty()) {
    auto bz = ix.constant(dqb->inputs[2]);
    if (!bz) return false;
    for (int64_t z : bz->to_int64())
      if (z) return false;
  }
  out->q = per_channel<int32_t>(*bq, out_rank, channel_axis, channels);
  if (out->q.size() == 1) out->q.assign(channels, out->q[0]);
  if (out->q.empty() || (bs->numel() != 1 && (bs->rank() != 1 || bs->numel() != channels))) return false;
  if (bs->numel() != 1 && bq->numel() != channels) return false;  // per-axis scale needs a per-axis bias
  out->q_scale.assign(bs->data<float>(), bs->data<float>() + bs->numel());
  out->dq = dqb;
  return true;
}

enum class QdqFused { kNone, kStatic, kDynamic };

// Conv / Gemm / MatMul whose inputs are DequantizeLinear'd activations and constant weights.
// With a QuantizeLinear after it (and constant activation parameters) it becomes a requantising
// QLinear*Fused op; otherwise a float-output *IntegerFused op: y = float(sum) * x_scale *
// w_scale[c] + bias[c], then the clamp. Returns whether the activations were static or dynamic.
QdqFused fuse_qdq(Index& ix, ir::Node& n) {
  const bool conv = is_op(n, "Conv"), gemm = is_op(n, "Gemm"), matmul = is_op(n, "MatMul");
  if (!conv && !gemm && !matmul) return QdqFused::kNone;
  if (n.has_clamp()) return QdqFused::kNone;  // fuse_activations runs later; a clamp here would be a foreign one
  if (n.inputs.size() < 2 || n.outputs.size() != 1) return QdqFused::kNone;
  GemmAttrs ga;
  if (gemm) {
    auto a = gemm_attrs(n);
    if (!a) return QdqFused::kNone;
    ga = *a;
  }
  ir::Node* dqx = ix.producer(n.inputs[0]);
  if (!dqx) return QdqFused::kNone;
  auto xs = x_source(ix, *dqx);
  if (!xs) return QdqFused::kNone;
  ir::Node* dqw = ix.producer(n.inputs[1]);
  if (!dqw) return QdqFused::kNone;
  auto wt = qdq_weights(ix, *dqw, conv, ga.trans_b);
  if (!wt) return QdqFused::kNone;
  const int64_t channels = wt->channels;
  std::vector<float> w_scale = wt->scale;
  for (float& v : w_scale) v *= ga.alpha;

  std::vector<ir::Node*> chain{&n};
  std::string cur = n.outputs[0];
  QdqBias bias;
  if ((conv || gemm) && n.inputs.size() > 2 && !n.inputs[2].empty()) {
    // Conv: a 1-D [C] bias; Gemm: C broadcast against [M, N], per column only.
    if (!read_qdq_bias(ix, n.inputs[2], channels, conv ? 1 : 2, conv ? 0 : 1, &bias)) return QdqFused::kNone;
    if (gemm && ga.beta == 0.0f) bias = QdqBias{};  // 0 * C: C plays no part (a finite constant)
  } else if (matmul) {
    if (ir::Node* add = ix.only_consumer(cur); add && is_op(*add, "Add") && add->inputs.size() == 2) {
      const std::string& other = add->inputs[0] == cur ? add->inputs[1] : add->inputs[0];
      // Rank <= 1 (out_rank 1): it broadcasts along the last axis without changing the output's shape.
      if (other != cur && read_qdq_bias(ix, other, channels, 1, 0, &bias)) {
        chain.push_back(add);
        cur = add->outputs[0];
      }
    }
  }
  float lo, hi;
  if (ir::Node* act = follow_activation(ix, cur, &lo, &hi)) {
    chain.push_back(act);
    cur = act->outputs[0];
  }
  // Requantised output: a per-tensor QuantizeLinear as the only reader.
  ir::Node* qy = xs->dynamic ? nullptr : ix.only_consumer(cur);
  std::optional<QParams> yp;
  if (qy && is_op(*qy, "QuantizeLinear") && qy->inputs[0] == cur) yp = per_tensor_params(ix, *qy);
  const bool requant = yp.has_value();

  ir::Node fused;
  const std::string base = n.name.empty() ? cur : n.name;
  fused.domain = kernels::kInternalDomain;
  std::string bias_input;
  bool dequantize = false;
  if (requant) {
    chain.push_back(qy);
    cur = qy->outputs[0];
    // A DequantizeLinear with the same parameters right after: output the float values, unless a
    // Conv/MatMul/Gemm reads them (that one fuses with the int8 values instead).
    if (ir::Node* dqy = ix.only_consumer(cur); dqy && is_op(*dqy, "DequantizeLinear") && dqy->inputs[0] == cur &&
                                               !ix.feeds_matmul_like(dqy->outputs[0])) {
      auto dp = per_tensor_params(ix, *dqy);
      if (dp && *dp == *yp) {
        chain.push_back(dqy);
        cur = dqy->outputs[0];
        dequantize = true;
      }
    }
    // An int32 bias whose scale is exactly x_scale * w_scale adds into the exact sum.
    bool exact = bias.dq && ga.alpha == 1.0f && ga.beta == 1.0f;
    for (int64_t c = 0; exact && c < channels; ++c) {
      const float want = xs->params->scale * w_scale[w_scale.size() == 1 ? 0 : c];
      exact = bias.q_scale[bias.q_scale.size() == 1 ? 0 : c] == want;
    }
    if (exact) bias_input = ix.add_initializer(base + "_bias", vector_tensor(bias.q));
  }
  if (bias.present() && bias_input.empty())
    bias_input = ix.add_initializer(base + "_bias", vector_tensor(bias.as_float(ga.beta)));

  fused.name = n.name.empty() ? cur : n.name;
  fused.op_type = conv ? (requant ? "QLinearConvFused" : "ConvIntegerFused")
                       : (requant ? "QLinearMatMulFused" : "MatMulIntegerFused");
  std::string packed;
  if (conv) {
    packed = ix.add_initializer(base + "_w_packed", pack_conv(wt->w.w));
    copy_conv_attrs(n, wt->shape, fused);
  } else {
    int64_t cols = 0;
    packed = ix.add_initializer(base + "_w_packed", pack_gemm(wt->w.w, ga.trans_b, &cols));
    fused.attributes["n"] = ir::int_attr(cols);
  }
  set_clamp(fused, lo, hi);
  if (dequantize) fused.attributes[i8::kDequantizeOutputAttr] = ir::int_attr(1);
  fused.inputs = {xs->x, xs->scale, xs->zero_point, packed,
                  ix.add_initializer(base + "_w_scale", vector_tensor(w_scale)),
                  all_zero(wt->w.zero) ? "" : ix.add_initializer(base + "_w_zero_point", zero_point_tensor(wt->w.zero)),
                  bias_input};
  if (requant) {
    fused.inputs.push_back(qy->inputs[1]);
    fused.inputs.push_back(qy->inputs.size() > 2 ? qy->inputs[2] : "");
  }
  while (!fused.inputs.empty() && fused.inputs.back().empty()) fused.inputs.pop_back();
  fused.outputs = {cur};
  if (ix.used_once(n.inputs[0])) ix.remove(dqx);
  if (ix.used_once(n.inputs[1])) ix.remove(dqw);
  if (bias.dq && ix.used_once(bias.dq->outputs[0])) ix.remove(bias.dq);
  ir::Node* last = chain.back();
  for (ir::Node* c : chain) ix.remove(c);
  const bool dynamic = xs->dynamic;
  ix.replace(last, std::move(fused));
  return dynamic ? QdqFused::kDynamic : QdqFused::kStatic;
}

// Drops nodes whose outputs nothing reads, and initializers nothing reads, until none is left.
void remove_dead(ir::Graph& g) {
  std::set<std::string> needed;
  for (const auto& o : g.outputs) needed.insert(o.name);
  std::vector<bool> keep(g.nodes.size(), false);
  for (size_t i = g.nodes.size(); i-- > 0;) {
    bool live = false;
    for (const auto& o : g.nodes[i].outputs) live |= !o.empty() && needed.count(o);
    if (!live) continue;
    keep[i] = true;
    for (const auto& in : g.nodes[i].inputs)
      if (!in.empty()) needed.insert(in);
  }
  std::vector<ir::Node> kept;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (keep[i]) kept.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(kept);
  for (size_t i = 0; i < g.nodes.size(); ++i) g.nodes[i].index = static_cast<int>(i);
  for (auto it = g.initializers.begin(); it != g.initializers.end();)
    it = needed.count(it->first) ? std::next(it) : g.initializers.erase(it);
}

// A dynamic fused node whose float input is another dynamic fused node's output gets that
// node's y_range (the range its epilogue gathers) instead of scanning the tensor again.
void hand_off_ranges(ir::Graph& g) {
  std::set<std::string> names;
  std::map<std::string, size_t> producer;
  for (const auto& in : g.inputs) names.insert(in.name);
  for (const auto& [k, t] : g.initializers) names.insert(k);
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const auto& o : g.nodes[i].outputs) {
      names.insert(o);
      producer[o] = i;
    }
  auto dynamic_fused = [](const ir::Node& n) {
    return n.domain == kernels::kInternalDomain && (n.op_type == "ConvIntegerFused" || n.op_type == "MatMulIntegerFused");
  };
  for (ir::Node& b : g.nodes) {
    if (!dynamic_fused(b) || b.inputs.size() > 8 || (b.inputs.size() > 1 && !b.inputs[1].empty())) continue;
    auto p = producer.find(b.inputs[0]);
    if (p == producer.end()) continue;
    ir::Node& a = g.nodes[p->second];
    if (!dynamic_fused(a) || a.outputs.empty() || a.outputs[0] != b.inputs[0]) continue;
    if (a.outputs.size() == 1) {  // the first reader adds the range output; later ones share it
      std::string name = a.outputs[0] + "_range";
      for (int i = 1; names.count(name); ++i) name = a.outputs[0] + "_range_" + std::to_string(i);
      names.insert(name);
      a.outputs.push_back(name);
    }
    b.inputs.resize(9);
    b.inputs[8] = a.outputs[1];
  }
}

}  // namespace

QuantFusionCounts fuse_quantized(ir::Graph& g, int64_t opset) {
  QuantFusionCounts counts;
  Index ix(g, opset);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (ix.removed(i)) continue;
    ir::Node& n = g.nodes[i];
    if (fuse_dynamic(ix, n)) ++counts.dynamic_nodes;
    else if (const QdqFused q = fuse_qdq(ix, n); q != QdqFused::kNone)
      ++(q == QdqFused::kStatic ? counts.static_nodes : counts.dynamic_nodes);
  }
  if (counts.dynamic_nodes + counts.static_nodes == 0) return counts;
  std::vector<ir::Node> kept;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (!ix.removed(i)) kept.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(kept);
  for (size_t i = 0; i < g.nodes.size(); ++i) g.nodes[i].index = static_cast<int>(i);
  remove_dead(g);
  hand_off_ranges(g);
  return counts;
}

}  // namespace tinyq::passes

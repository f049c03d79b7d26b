#include "qat/onnx_ops.h"

#include <torch/types.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>
#include <string_view>

namespace tinyq::qat {

namespace {

using OpFn = TorchGraph::OpFn;
using Tensors = std::vector<torch::Tensor>;

// The node's attributes, each read with its ONNX default; allow() refuses any attribute the op
// does not implement, so nothing is silently ignored.
class Attrs {
 public:
  explicit Attrs(const ir::Node& node) : node_(node) {}

  Status allow(std::initializer_list<std::string_view> keys) const {
    for (const auto& [key, value] : node_.attributes) {
      if (std::find(keys.begin(), keys.end(), key) == keys.end())
        return Status::unsupported(node_.describe() + ": attribute '" + key + "' is not supported in QAT");
    }
    return Status::ok();
  }
  bool has(const std::string& key) const { return node_.attr(key) != nullptr; }
  int64_t i(const std::string& key, int64_t def) const {
    const ir::Attribute* a = node_.attr(key);
    return a ? a->i : def;
  }
  float f(const std::string& key, float def) const {
    const ir::Attribute* a = node_.attr(key);
    return a ? a->f : def;
  }
  std::string s(const std::string& key, std::string def) const {
    const ir::Attribute* a = node_.attr(key);
    return a ? a->s : def;
  }
  std::vector<int64_t> ints(const std::string& key, std::vector<int64_t> def = {}) const {
    const ir::Attribute* a = node_.attr(key);
    return a ? a->ints : def;
  }

 private:
  const ir::Node& node_;
};

// Values of a small integer tensor (axes, shapes, pads) that arrives as an input.
std::vector<int64_t> int_values(const torch::Tensor& t) {
  torch::Tensor c = t.to(torch::kLong).contiguous();
  const int64_t* p = c.data_ptr<int64_t>();
  return std::vector<int64_t>(p, p + c.numel());
}

[[noreturn]] void fail(const std::string& message) { throw std::invalid_argument(message); }

int64_t normalize_axis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank)
    fail("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  return axis < 0 ? axis + rank : axis;
}

// Axes from input `index` when given (newer opsets), else from attribute "axes".
std::vector<int64_t> axes_of(const Tensors& in, size_t index, const std::vector<int64_t>& attr_axes) {
  if (in.size() > index && in[index].defined()) return int_values(in[index]);
  return attr_axes;
}

// ---- elementwise ----

OpFn unary(std::function<torch::Tensor(const torch::Tensor&)> f) {
  return [f](const Tensors& in) { return Tensors{f(in[0])}; };
}

Result<OpFn> make_unary(const ir::Node& node, int64_t) {
  Attrs a(node);
  const std::string& op = node.op_type;
  if (op == "LeakyRelu") {
    TINYQ_RETURN_IF_ERROR(a.allow({"alpha"}));
    const double alpha = a.f("alpha", 0.01f);
    return unary([alpha](const torch::Tensor& x) { return torch::leaky_relu(x, alpha); });
  }
  if (op == "HardSigmoid") {
    TINYQ_RETURN_IF_ERROR(a.allow({"alpha", "beta"}));
    const double alpha = a.f("alpha", 0.2f), beta = a.f("beta", 0.5f);
    return unary([alpha, beta](const torch::Tensor& x) { return torch::clamp(x * alpha + beta, 0.0, 1.0); });
  }
  if (op == "Elu") {
    TINYQ_RETURN_IF_ERROR(a.allow({"alpha"}));
    const double alpha = a.f("alpha", 1.0f);
    return unary([alpha](const torch::Tensor& x) { return torch::elu(x, alpha); });
  }
  TINYQ_RETURN_IF_ERROR(a.allow({}));
  static const std::map<std::string, torch::Tensor (*)(const torch::Tensor&), std::less<>> kPlain = {
      {"Relu", [](const torch::Tensor& x) { return torch::relu(x); }},
      {"Sigmoid", [](const torch::Tensor& x) { return torch::sigmoid(x); }},
      {"Tanh", [](const torch::Tensor& x) { return torch::tanh(x); }},
      {"Erf", [](const torch::Tensor& x) { return torch::erf(x); }},
      {"Exp", [](const torch::Tensor& x) { return torch::exp(x); }},
      {"Log", [](const torch::Tensor& x) { return torch::log(x); }},
      {"Sqrt", [](const torch::Tensor& x) { return torch::sqrt(x); }},
      {"Neg", [](const torch::Tensor& x) { return torch::neg(x); }},
      {"Abs", [](const torch::Tensor& x) { return torch::abs(x); }},
      {"Reciprocal", [](const torch::Tensor& x) { return torch::reciprocal(x); }},
      {"Softplus", [](const torch::Tensor& x) { return torch::softplus(x); }},
      {"HardSwish", [](const torch::Tensor& x) { return torch::hardswish(x); }},
      {"Round", [](const torch::Tensor& x) { return torch::round(x); }},  // half to even, as ONNX
      {"Identity", [](const torch::Tensor& x) { return x; }},
  };
  auto it = kPlain.find(op);
  if (it == kPlain.end()) return Status::internal(node.describe() + ": no unary function");
  return unary(it->second);
}

Result<OpFn> make_dropout(const ir::Node& node, int64_t) {
  // Inference semantics: the model is exported for inference, so dropout is the identity.
  TINYQ_RETURN_IF_ERROR(Attrs(node).allow({"seed", "is_test", "ratio"}));
  if (node.outputs.size() > 1 && !node.outputs[1].empty())
    return Status::unsupported(node.describe() + ": Dropout's mask output is not supported in QAT");
  return unary([](const torch::Tensor& x) { return x; });
}

Result<OpFn> make_binary(const ir::Node& node, int64_t) {
  TINYQ_RETURN_IF_ERROR(Attrs(node).allow({}));
  const std::string& op = node.op_type;
  if (op == "Add") return OpFn([](const Tensors& in) { return Tensors{in[0] + in[1]}; });
  if (op == "Sub") return OpFn([](const Tensors& in) { return Tensors{in[0] - in[1]}; });
  if (op == "Mul") return OpFn([](const Tensors& in) { return Tensors{in[0] * in[1]}; });
  if (op == "Pow") return OpFn([](const Tensors& in) { return Tensors{torch::pow(in[0], in[1])}; });
  // ONNX integer division truncates (shape arithmetic uses it); float division is true division.
  return OpFn([](const Tensors& in) {
    if (in[0].is_floating_point() || in[1].is_floating_point()) return Tensors{in[0] / in[1]};
    return Tensors{torch::div(in[0], in[1], "trunc")};
  });
}

Result<OpFn> make_clip(const ir::Node& node, int64_t opset) {
  Attrs a(node);
  if (opset < 11) {
    TINYQ_RETURN_IF_ERROR(a.allow({"min", "max"}));
    const double lo = a.f("min", -std::numeric_limits<float>::max());
    const double hi = a.f("max", std::numeric_limits<float>::max());
    return unary([lo, hi](const torch::Tensor& x) { return torch::clamp(x, lo, hi); });
  }
  TINYQ_RETURN_IF_ERROR(a.allow({}));
  return OpFn([](const Tensors& in) {
    c10::optional<torch::Scalar> lo, hi;  // libtorch 1.13 takes c10::optional
    if (in.size() > 1 && in[1].defined()) lo = in[1].item();
    if (in.size() > 2 && in[2].defined()) hi = in[2].item();
    return Tensors{torch::clamp(in[0], lo, hi)};
  });
}

// ---- linear algebra ----

Result<OpFn> make_gemm(const ir::Node& node, int64_t) {
  Attrs a(node);
  TINYQ_RETURN_IF_ERROR(a.allow({"alpha", "beta", "transA", "transB"}));
  const double alpha = a.f("alpha", 1.0f), beta = a.f("beta", 1.0f);
  const bool trans_a = a.i("transA", 0) != 0, trans_b = a.i("transB", 0) != 0;
  return OpFn([=](const Tensors& in) {
    torch::Tensor y = torch::matmul(trans_a ? in[0].t() : in[0], trans_b ? in[1].t() : in[1]);
    if (alpha != 1.0) y = y * alpha;
    if (in.size() > 2 && in[2].defined()) y = y + (beta == 1.0 ? in[2] : in[2] * beta);
    return Tensors{y};
  });
}

Result<OpFn> make_matmul(const ir::Node& node, int64_t) {
  TINYQ_RETURN_IF_ERROR(Attrs(node).allow({}));
  return OpFn([](const Tensors& in) { return Tensors{torch::matmul(in[0], in[1])}; });
}

// Begin and end padding per spatial axis: ONNX's SAME_UPPER / SAME_LOWER put the odd pixel at
// the end / the beginning.
struct SpatialPads {
  std::vector<int64_t> begin, end;
};
SpatialPads same_pads(const torch::Tensor& x, const std::vector<int64_t>& kernel, const std::vector<int64_t>& strides,
                      const std::vector<int64_t>& dilations, bool upper) {
  SpatialPads p;
  for (size_t d = 0; d < kernel.size(); ++d) {
    const int64_t in = x.size(static_cast<int64_t>(d) + 2);
    const int64_t out = (in + strides[d] - 1) / strides[d];
    const int64_t total = std::max<int64_t>(0, (out - 1) * strides[d] + (kernel[d] - 1) * dilations[d] + 1 - in);
    const int64_t small = total / 2;
    p.begin.push_back(upper ? small : total - small);
    p.end.push_back(upper ? total - small : small);
  }
  return p;
}

// Pads x explicitly where begin != end (torch pads symmetrically only) and returns the
// symmetric padding left to give the op.
std::vector<int64_t> apply_pads(torch::Tensor& x, const SpatialPads& p, double value) {
  if (p.begin == p.end) return p.begin;
  std::vector<int64_t> torch_pads;  // last axis first, (begin, end) pairs
  for (size_t d = p.begin.size(); d-- > 0;) {
    torch_pads.push_back(p.begin[d]);
    torch_pads.push_back(p.end[d]);
  }
  x = torch::constant_pad_nd(x, torch_pads, value);
  return std::vector<int64_t>(p.begin.size(), 0);
}

// Window geometry shared by Conv, ConvTranspose and the pools, as the attributes give it (an
// absent one takes ONNX's default once the number of spatial axes is known: from kernel_shape,
// or from the weight when a run sees it).
struct Window {
  std::string auto_pad;
  std::vector<int64_t> kernel, strides, dilations, pads;  // pads: ONNX order, begins then ends

  Status read(const ir::Node& node, const Attrs& a) {
    auto_pad = a.s("auto_pad", "NOTSET");
    if (auto_pad != "NOTSET" && auto_pad != "VALID" && auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER")
      return Status::unsupported(node.describe() + ": auto_pad '" + auto_pad + "' is not supported");
    kernel = a.ints("kernel_shape");
    strides = a.ints("strides");
    dilations = a.ints("dilations");
    pads = a.ints("pads");
    return Status::ok();
  }
  // The geometry for n spatial axes with defaults filled in; empty when an attribute has another length.
  std::optional<Window> for_axes(size_t n) const {
    Window w = *this;
    if (w.strides.empty()) w.strides.assign(n, 1);
    if (w.dilations.empty()) w.dilations.assign(n, 1);
    if (w.pads.empty()) w.pads.assign(2 * n, 0);
    if (w.strides.size() != n || w.dilations.size() != n || w.pads.size() != 2 * n || (!w.kernel.empty() && w.kernel.size() != n))
      return std::nullopt;
    return w;
  }
  // for_axes() of a weight's spatial axes, checked against kernel_shape; throws when they disagree.
  Window for_weight(const torch::Tensor& weight) const {
    const size_t n = weight.dim() > 2 ? static_cast<size_t>(weight.dim() - 2) : 0;
    std::optional<Window> w = for_axes(n);
    if (!w || n == 0) fail("strides/dilations/pads/kernel_shape do not match the weight's " + std::to_string(n) + " spatial axes");
    std::vector<int64_t> k(weight.sizes().begin() + 2, weight.sizes().end());
    if (!w->kernel.empty() && w->kernel != k) fail("kernel_shape does not match the weight");
    w->kernel = k;
    return *w;
  }
  SpatialPads resolve(const torch::Tensor& x) const {
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") return same_pads(x, kernel, strides, dilations, auto_pad == "SAME_UPPER");
    const size_t n = kernel.size();
    if (auto_pad == "VALID") return {std::vector<int64_t>(n, 0), std::vector<int64_t>(n, 0)};
    return {std::vector<int64_t>(pads.begin(), pads.begin() + n), std::vector<int64_t>(pads.begin() + n, pads.end())};
  }
};

Result<OpFn> make_conv(const ir::Node& node, int64_t) {
  Attrs a(node);
  TINYQ_RETURN_IF_ERROR(a.allow({"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"}));
  const int64_t group = a.i("group", 1);
  Window window;
  TINYQ_RETURN_IF_ERROR(window.read(node, a));
  return OpFn([window, group](const Tensors& in) {
    torch::Tensor x = in[0];
    const Window w = window.for_weight(in[1]);
    std::vector<int64_t> padding = apply_pads(x, w.resolve(x), 0.0);
    c10::optional<torch::Tensor> bias;
    if (in.size() > 2 && in[2].defined()) bias = in[2];
    return Tensors{at::convolution(x, in[1], bias, w.strides, padding, w.dilations, false,
                                   std::vector<int64_t>(w.kernel.size(), 0), group)};
  });
}

Result<OpFn> make_conv_transpose(const ir::Node& node, int64_t) {
  Attrs a(node);
  TINYQ_RETURN_IF_ERROR(a.allow({"auto_pad", "dilations", "group", "kernel_shape", "output_padding", "pads", "strides"}));
  if (a.s("auto_pad", "NOTSET") != "NOTSET")
    return Status::unsupported(node.describe() + ": ConvTranspose with auto_pad is not supported in QAT (give pads)");
  const int64_t group = a.i("group", 1);
  Window window;
  TINYQ_RETURN_IF_ERROR(window.read(node, a));
  const std::vector<int64_t> output_padding = a.ints("output_padding");
  return OpFn([window, group, output_padding](const Tensors& in) {
    const Window w = window.for_weight(in[1]);
    const size_t n = w.kernel.size();
    std::vector<int64_t> extra = output_padding.empty() ? std::vector<int64_t>(n, 0) : output_padding;
    if (extra.size() != n) fail("output_padding does not match the weight's " + std::to_string(n) + " spatial axes");
    c10::optional<torch::Tensor> bias;
    if (in.size() > 2 && in[2].defined()) bias = in[2];
    // The full transposed convolution, then ONNX's pads crop it (they may differ per side).
    torch::Tensor y = at::convolution(in[0], in[1], bias, w.strides, std::vector<int64_t>(n, 0), w.dilations, true, extra, group);
    for (size_t d = 0; d < n; ++d) {
      const int64_t axis = static_cast<int64_t>(d) + 2;
      y = y.slice(axis, w.pads[d], y.size(axis) - w.pads[d + n]);
    }
    return Tensors{y};
  });
}

Result<OpFn> make_variadic(const ir::Node& node, int64_t) {
  TINYQ_RETURN_IF_ERROR(Attrs(node).allow({}));
  const bool is_min = node.op_type == "Min";
  return OpFn([is_min](const Tensors& in) {
    torch::Tensor y = in[0];
    for (size_t i = 1; i < in.size(); ++i) y = is_min ? torch::minimum(y, in[i]) : torch::maximum(y, in[i]);
    return Tensors{y};
  });
}

Result<OpFn> make_batchnorm(const ir::Node& node, int64_t) {
  Attrs a(node);
  TINYQ_RETURN_IF_ERROR(a.allow({"epsilon", "momentum", "training_mode", "spatial"}));
  if (a.i("training_mode", 0) != 0 || a.i("spatial", 1) != 1)
    return Status::unsupported(node.describe() + ": only inference-mode BatchNormalization is supported");
  if (node.outputs.size() > 1)
    return Status::unsupported(node.describe() + ": BatchNormalization's running statistics outputs are not supported");
  const double eps = a.f("epsilon", 1e-5f);
  return OpFn([eps](const Tensors& in) {
    return Tensors{torch::batch_norm(in[0], in[1], in[2], in[3], in[4], false, 0.0, eps, false)};
  });
}

Result<OpFn> make_pool(const ir::Node& node, int64_t) {
  Attrs a(node);
  const bool is_max = node.op_type == "MaxPool";
  if (is_max) {
    TINYQ_RETURN_IF_ERROR(a.allow({"auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides"}));
    if (a.i("storage_order", 0) != 0 || node.outputs.size() > 1)
      return Status::unsupported(node.describe() + ": MaxPool's Indices output is not supported in QAT");
  } else {
    TINYQ_RETURN_IF_ERROR(a.allow({"auto_pad", "ceil_mode", "count_include_pad", "kernel_shape", "pads", "strides"}));
  }
  Window window;
  TINYQ_RETURN_IF_ERROR(window.read(node, a));
  if (window.kernel.empty() || window.kernel.size() > 3)
    return Status::unsupported(node.describe() + ": kernel_shape must name 1 to 3 spatial axes");
  std::optional<Window> w = window.for_axes(window.kernel.size());
  if (!w)
    return Status::invalid_argument(node.describe() + ": strides/dilations/pads do not match kernel_shape's " +
                                    std::to_string(window.kernel.size()) + " spatial axes");
  const bool ceil_mode = a.i("ceil_mode", 0) != 0;
  const bool count_pad = a.i("count_include_pad", 0) != 0;
  return OpFn([w = *w, is_max, ceil_mode, count_pad](const Tensors& in) {
    torch::Tensor x = in[0];
    const SpatialPads pads = w.resolve(x);
    // Asymmetric padding becomes explicit padding: -inf for max; zeros for an average that
    // counts padded cells. An average that excludes them cannot be padded explicitly.
    if (!is_max && pads.begin != pads.end && !count_pad) fail("asymmetric pads with count_include_pad=0 are not supported");
    std::vector<int64_t> padding = apply_pads(x, pads, is_max ? -std::numeric_limits<double>::infinity() : 0.0);
    const size_t n = w.kernel.size();
    if (is_max) {
      if (n == 1) return Tensors{torch::max_pool1d(x, w.kernel, w.strides, padding, w.dilations, ceil_mode)};
      if (n == 2) return Tensors{torch::max_pool2d(x, w.kernel, w.strides, padding, w.dilations, ceil_mode)};
      return Tensors{torch::max_pool3d(x, w.kernel, w.strides, padding, w.dilations, ceil_mode)};
    }
    if (n == 1) return Tensors{torch::avg_pool1d(x, w.kernel, w.strides, padding, ceil_mode, count_pad)};
    if (n == 2) return Tensors{torch::avg_pool2d(x, w.kernel, w.strides, padding, ceil_mode, count_pad)};
    return Tensors{torch::avg_pool3d(x, w.kernel, w.strides, padding, ceil_mode, count_pad)};
  });
}

Result<OpFn> make_global_pool(const ir::Node& node, int64_t) {
  TINYQ_RETURN_IF_ERROR(Attrs(node).allow({}));
  const bool is_max = node.op_type == "GlobalMaxPool";
  return OpFn([is_max](const Tensors& in) {
    std::vector<int64_t> dims;
    for (int64_t d = 2; d < in[0].dim(); ++d) dims.push_back(d);
    return Tensors{is_max ? torch::amax(in[0], dims, true) : torch::mean(in[0], dims, true)};
  });
}

// ---- reductions and normalisation ----

Result<OpFn> make_reduce(const ir::Node& node, int64_t opset) {
  Attrs a(node);
  TINYQ_RETURN_IF_ERROR(a.allow({"axes", "keepdims", "noop_with_empty_axes"}));
  const bool keep = a.i("keepdims", 1) != 0, noop = a.i("noop_with_empty_axes", 0) != 0;
  const std::vector<int64_t> attr_axes = a.ints("axes");
  const std::string op = node.op_type;
  return OpFn([=](const Tensors& in) {
    std::vector<int64_t> axes = axes_of(in, 1, attr_axes);
    if (axes.empty() && noop) return Tensors{in[0]};
    if (axes.empty())
      for (int64_t d = 0; d < in[0].dim(); ++d) axes.push_back(d);
    for (auto& ax : axes) ax = normalize_axis(ax, in[0].dim());
    if (op == "ReduceMean") return Tensors{torch::mean(in[0], axes, keep)};
    if (op == "ReduceSum") return Tensors{torch::sum(in[0], axes, keep)};
    if (op == "ReduceMax") return Tensors{torch::amax(in[0], axes, keep)};
    return Tensors{torch::amin(in[0], axes, keep)};
  });
}

Result<OpFn> make_softmax(const ir::Node& node, int64_t opset) {
  Attrs a(node);
  TINYQ_RETURN_IF_ERROR(a.allow({"axis"}));
  const bool legacy = opset < 13;  // before 13: softmax over the input flattened to 2D at `axis`
  const int64_t axis = a.i("axis", legacy ? 1 : -1);
  const bool log = node.op_type == "LogSoftmax";
  return OpFn([=](const Tensors& in) {
    const torch::Tensor& x = in[0];
    const int64_t ax = normalize_axis(axis, x.dim());
    if (!legacy) return Tensors{log ? torch::log_softmax(x, ax) : torch::softmax(x, ax)};
    int64_t outer = 1;
    for (int64_t d = 0; d < ax; ++d) outer *= x.size(d);
    torch::Tensor flat = x.reshape({outer, -1});
    torch::Tensor y = log ? torch::log_softmax(flat, 1) : torch::softmax(flat, 1);
    return Tensors{y.reshape(x.sizes())};
  });
}

// ---- shape ops ----

Result<OpFn> make_shape(const ir::Node& node, int64_t) {
  Attrs a(node);
  TINYQ_RETURN_IF_ERROR(a.allow({"start", "end"}));
  const int64_t start = a.i("start", 0);
  const std::optional<int64_t> end = a.has("end") ? std::optional<int64_t>(a.i("end", 0)) : std::nullopt;
  return OpFn([start, end](const Tensors& in) {
    const int64_t r = in[0].dim();
    auto clamp_dim = [r](int64_t d) { return std::clamp<int64_t>(d < 0 ? d + r : d, 0, r); };
    const int64_t s = clamp_dim(start), e = end ? clamp_dim(*end) : r;
    std::vector<int64_t> dims(in[0].sizes().begin() + s, in[0].sizes().begin() + std::max(s, e));
    return Tensors{torch::tensor(dims, torch::kLong)};
  });
}

Result<OpFn> make_reshape(const ir::Node& node, int64_t) {
  Attrs a(node);
  TINYQ_RETURN_IF_ERROR(a.allow({"allowzero"}));
  const bool allow_zero = a.i("allowzero", 0) != 0;
  return OpFn([allow_zero](const Tensors& in) {
    std::vector<int64_t> shape = int_values(in[1]);
    // 0 copies the input's dimension unless allowzero says it means an empty dimension.
    if (!allow_zero)
      for (size_t d = 0; d < shape.size(); ++d)
        if (shape[d] == 0) {
          if (static_cast<int64_t>(d) >= in[0].dim()) fail("shape entry 0 at an axis the input lacks");
          shape[d] = in[0].size(static_cast<int64_t>(d));
        }
    return Tensors{in[0].reshape(shape)};
  });
}

Result<OpFn> make_flatten(const ir::Node& node, int64_t) {
  Attrs a(node);
  TINYQ_RETURN_IF_ERROR(a.allow({"axis"}));
  const int64_t axis = a.i("axis", 1);
  return OpFn([axis](const Tensors& in) {
    const int64_t r = in[0].dim();
    const int64_t ax = axis < 0 ? axis + r : axis;
    if (ax < 0 || ax > r) fail("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(r));
    int64_t outer = 1;
    for (int64_t d = 0; d < ax; ++d) outer *= in[0].size(d);
    return Tensors{in[0].reshape({outer, -1})};
  });
}

Result<OpFn> make_squeeze(const ir::Node& node, int64_t) {
  Attrs a(node);
  TINYQ_RETURN_IF_ERROR(a.allow({"axes"}));
  const std::vector<int64_t> attr_axes = a.ints("axes");
  return OpFn([attr_axes](const Tensors& in) {
    std::vector<int64_t> axes = axes_of(in, 1, attr_axes);
    const int64_t r = in[0].dim();
    std::vector<int64_t> keep;
    std::vector<bool> drop(static_cast<size_t>(r), axes.empty());
    for (int64_t ax : axes) {
      const int64_t d = normalize_axis(ax, r);
      if (in[0].size(d) != 1) fail("cannot squeeze axis " + std::to_string(ax) + " of size " + std::to_string(in[0].size(d)));
      drop[static_cast<size_t>(d)] = true;
    }
    for (int64_t d = 0; d < r; ++d)
      if (!(drop[static_cast<size_t>(d)] && in[0].size(d) == 1)) keep.push_back(in[0].size(d));
    return Tensors{in[0].reshape(keep)};
  });
}

Result<OpFn> make_unsqueeze(const ir::Node& node, int64_t) {
  Attrs a(node);
  TINYQ_RETURN_IF_ERROR(a.allow({"axes"}));
  const std::vector<int64_t> attr_axes = a.ints("axes");
  return OpFn([attr_axes](const Tensors& in) {
    std::vector<int64_t> axes = axes_of(in, 1, attr_axes);
    const int64_t out_rank = in[0].dim() + static_cast<int64_t>(axes.size());
    std::vector<bool> inserted(static_cast<size_t>(out_rank), false);
    for (int64_t ax : axes) inserted[static_cast<size_t>(normalize_axis(ax, out_rank))] = true;
    std::vector<int64_t> shape;
    int64_t src = 0;
    for (int64_t d = 0; d < out_rank; ++d) shape.push_back(inserted[static_cast<size_t>(d)] ? 1 : in[0].size(src++));
    if (src != in[0].dim()) fail("repeated axes");
    return Tensors{in[0].reshape(shape)};
  });
}

Result<OpFn> make_concat(const ir::Node& node, int64_t) {
  Attrs a(node);
  TINYQ_RETURN_IF_ERROR(a.allow({"axis"}));
  if (!a.has("axis")) return Status::invalid_argument(node.describe() + ": Concat needs attribute 'axis'");
  const int64_t axis = a.i("axis", 0);
  return OpFn([axis](const Tensors& in) { return Tensors{torch::cat(in, normalize_axis(axis, in[0].dim()))}; });
}

Result<OpFn> make_gather(const ir::Node& node, int64_t) {
  Attrs a(node);
  TINYQ_RETURN_IF_ERROR(a.allow({"axis"}));
  const int64_t axis = a.i("axis", 0);
  return OpFn([axis](const Tensors& in) {
    const torch::Tensor& data = in[0];
    const int64_t ax = normalize_axis(axis, data.dim());
    torch::Tensor idx = in[1].to(torch::kLong);
    idx = torch::where(idx < 0, idx + data.size(ax), idx);
    std::vector<int64_t> shape(data.sizes().begin(), data.sizes().begin() + ax);
    for (int64_t s : in[1].sizes()) shape.push_back(s);
    shape.insert(shape.end(), data.sizes().begin() + ax + 1, data.sizes().end());
    return Tensors{data.index_select(ax, idx.reshape({-1})).reshape(shape)};
  });
}

Result<OpFn> make_transpose(const ir::Node& node, int64_t) {
  Attrs a(node);
  TINYQ_RETURN_IF_ERROR(a.allow({"perm"}));
  const std::vector<int64_t> perm = a.ints("perm");
  return OpFn([perm](const Tensors& in) {
    std::vector<int64_t> p = perm;
    if (p.empty())
      for (int64_t d = in[0].dim(); d-- > 0;) p.push_back(d);
    return Tensors{in[0].permute(p)};
  });
}

Result<OpFn> make_slice(const ir::Node& node, int64_t opset) {
  Attrs a(node);
  TINYQ_RETURN_IF_ERROR(a.allow({"starts", "ends", "axes"}));
  const bool legacy = opset < 10;  // before 10: starts/ends/axes are attributes
  const std::vector<int64_t> a_starts = a.ints("starts"), a_ends = a.ints("ends"), a_axes = a.ints("axes");
  return OpFn([=](const Tensors& in) {
    std::vector<int64_t> starts = legacy ? a_starts : int_values(in[1]);
    std::vector<int64_t> ends = legacy ? a_ends : int_values(in[2]);
    std::vector<int64_t> axes = legacy ? a_axes : axes_of(in, 3, {});
    std::vector<int64_t> steps = legacy ? std::vector<int64_t>{} : axes_of(in, 4, {});
    if (axes.empty())
      for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
    if (steps.empty()) steps.assign(starts.size(), 1);
    if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
      fail("starts, ends, axes and steps differ in length");
    torch::Tensor y = in[0];
    for (size_t i = 0; i < starts.size(); ++i) {
      const int64_t ax = normalize_axis(axes[i], y.dim()), dim = y.size(ax);
      if (steps[i] <= 0) fail("only positive steps are supported in QAT");
      auto clamp = [dim](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + dim : v, 0, dim); };
      y = y.slice(ax, clamp(starts[i]), std::max(clamp(starts[i]), clamp(ends[i])), steps[i]);
    }
    return Tensors{y};
  });
}

Result<OpFn> make_pad(const ir::Node& node, int64_t opset) {
  Attrs a(node);
  TINYQ_RETURN_IF_ERROR(a.allow({"mode", "pads", "value"}));
  if (a.s("mode", "constant") != "constant")
    return Status::unsupported(node.describe() + ": Pad mode '" + a.s("mode", "") + "' is not supported in QAT");
  const bool legacy = opset < 11;  // before 11: pads and value are attributes
  const std::vector<int64_t> a_pads = a.ints("pads");
  const double a_value = a.f("value", 0.0f);
  return OpFn([=](const Tensors& in) {
    std::vector<int64_t> pads = legacy ? a_pads : int_values(in[1]);
    const double value = legacy ? a_value : (in.size() > 2 && in[2].defined() ? in[2].item<double>() : 0.0);
    const int64_t r = in[0].dim();
    if (static_cast<int64_t>(pads.size()) != 2 * r) fail("pads has " + std::to_string(pads.size()) + " entries for rank " + std::to_string(r));
    if (in.size() > 3 && in[3].defined()) fail("Pad's axes input is not supported in QAT");
    std::vector<int64_t> torch_pads;
    for (int64_t d = r; d-- > 0;) {
      torch_pads.push_back(pads[static_cast<size_t>(d)]);
      torch_pads.push_back(pads[static_cast<size_t>(d + r)]);
    }
    return Tensors{torch::constant_pad_nd(in[0], torch_pads, value)};
  });
}

Result<torch::ScalarType> torch_dtype(const ir::Node& node, int64_t onnx_type) {
  switch (static_cast<DType>(onnx_type)) {
    case DType::kFloat32: return torch::kFloat;
    case DType::kFloat64: return torch::kDouble;
    case DType::kInt64: return torch::kLong;
    case DType::kInt32: return torch::kInt;
    case DType::kInt8: return torch::kChar;
    case DType::kUInt8: return torch::kByte;
    case DType::kBool: return torch::kBool;
    default: return Status::unsupported(node.describe() + ": cast to type " + std::to_string(onnx_type) + " is not supported in QAT");
  }
}

Result<OpFn> make_cast(const ir::Node& node, int64_t) {
  Attrs a(node);
  TINYQ_RETURN_IF_ERROR(a.allow({"to", "saturate"}));
  TINYQ_ASSIGN_OR_RETURN(torch::ScalarType to, torch_dtype(node, a.i("to", 0)));
  return unary([to](const torch::Tensor& x) { return x.to(to); });
}

Result<OpFn> make_constant(const ir::Node& node, int64_t) {
  Attrs a(node);
  TINYQ_RETURN_IF_ERROR(a.allow({"value", "value_float", "value_floats", "value_int", "value_ints"}));
  torch::Tensor value;
  if (const ir::Attribute* v = node.attr("value")) {
    TINYQ_ASSIGN_OR_RETURN(value, to_torch(v->t));
  } else if (const ir::Attribute* v = node.attr("value_float")) {
    value = torch::tensor(v->f);
  } else if (const ir::Attribute* v = node.attr("value_floats")) {
    value = torch::tensor(v->floats);
  } else if (const ir::Attribute* v = node.attr("value_int")) {
    value = torch::tensor(v->i, torch::kLong);
  } else if (const ir::Attribute* v = node.attr("value_ints")) {
    value = torch::tensor(v->ints, torch::kLong);
  } else {
    return Status::invalid_argument(node.describe() + ": Constant has no value attribute");
  }
  return OpFn([value](const Tensors&) { return Tensors{value}; });
}

using Factory = Result<OpFn> (*)(const ir::Node&, int64_t);

const std::map<std::string, Factory, std::less<>>& factories() {
  static const std::map<std::string, Factory, std::less<>> kTable = {
      {"Abs", make_unary}, {"Add", make_binary}, {"AveragePool", make_pool}, {"BatchNormalization", make_batchnorm},
      {"Cast", make_cast}, {"Clip", make_clip}, {"Concat", make_concat}, {"Constant", make_constant},
      {"Conv", make_conv}, {"ConvTranspose", make_conv_transpose}, {"Div", make_binary}, {"Dropout", make_dropout},
      {"Elu", make_unary}, {"Erf", make_unary}, {"Exp", make_unary}, {"Flatten", make_flatten},
      {"Gather", make_gather}, {"Gemm", make_gemm}, {"GlobalAveragePool", make_global_pool},
      {"GlobalMaxPool", make_global_pool}, {"HardSigmoid", make_unary}, {"HardSwish", make_unary},
      {"Identity", make_unary}, {"LeakyRelu", make_unary}, {"Log", make_unary}, {"LogSoftmax", make_softmax},
      {"MatMul", make_matmul}, {"Max", make_variadic}, {"MaxPool", make_pool}, {"Min", make_variadic},
      {"Mul", make_binary}, {"Neg", make_unary}, {"Pad", make_pad}, {"Pow", make_binary}, {"Reciprocal", make_unary},
      {"ReduceMax", make_reduce}, {"ReduceMean", make_reduce}, {"ReduceMin", make_reduce}, {"ReduceSum", make_reduce},
      {"Relu", make_unary}, {"Reshape", make_reshape}, {"Round", make_unary}, {"Shape", make_shape},
      {"Sigmoid", make_unary}, {"Slice", make_slice}, {"Softmax", make_softmax}, {"Softplus", make_unary},
      {"Sqrt", make_unary}, {"Squeeze", make_squeeze}, {"Sub", make_binary}, {"Tanh", make_unary},
      {"Transpose", make_transpose}, {"Unsqueeze", make_unsqueeze},
  };
  return kTable;
}

}  // namespace

Result<TorchGraph::OpFn> make_op(const ir::Node& node, int64_t opset) {
  if (!node.domain.empty() && node.domain != "ai.onnx")
    return Status::unsupported(node.describe() + ": domain '" + node.domain + "' is not supported in QAT");
  auto it = factories().find(node.op_type);
  if (it == factories().end()) {
    std::string list;
    for (const std::string& op : supported_ops()) list += (list.empty() ? "" : ", ") + op;
    return Status::unsupported(node.describe() + ": op " + node.op_type +
                               " is not supported by QAT's libtorch graph (supported: " + list + ")");
  }
  return it->second(node, opset);
}

std::vector<std::string> supported_ops() {
  std::vector<std::string> ops;
  for (const auto& [name, factory] : factories()) ops.push_back(name);
  return ops;
}

}  // namespace tinyq::qat

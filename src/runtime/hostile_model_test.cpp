// Hostile attribute and shape values (the kind a fuzzer or a crafted file produces): each model
// must be refused with an error naming the node, or plan and run, but never overflow, divide by
// zero or allocate without bound. The sanitizer build (scripts/test-sanitizers.sh) is what turns
// an overflow here into a failure; the normal build checks the error.
// To add a case: append to hostile_cases() a model built with the helpers below.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "ir/builder.h"
#include "tinyq/session.h"

namespace tinyq {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

using ir::int_attr;

ir::Attribute ints(std::vector<int64_t> v) { return ir::ints_attr(std::move(v)); }

ir::ValueInfo value(const std::string& name, const Shape& dims) {
  return ir::make_value(name, DType::kFloat32, ir::fixed_dims(dims));
}

struct HostileCase {
  std::string what;
  ir::Model model;
};

// y = op(x [, initializers...]) with x float32 of shape `x_shape`.
HostileCase one_node(const std::string& what, const std::string& op, const Shape& x_shape,
                     std::vector<std::pair<std::string, Tensor>> constants, std::map<std::string, ir::Attribute> attrs,
                     int64_t opset = 17) {
  ir::Model m;
  m.opset_imports[""] = opset;
  ir::Graph& g = m.graph;
  g.inputs.push_back(value("x", x_shape));
  g.outputs.push_back(ir::make_unshaped_value("y", DType::kFloat32));
  ir::Node n = ir::make_node(what, op, {"x"}, {"y"}, std::move(attrs));
  for (auto& [name, t] : constants) {
    n.inputs.push_back(name);
    if (!name.empty()) g.initializers[name] = t;
  }
  g.nodes.push_back(std::move(n));
  EXPECT_TRUE(ir::topo_sort(g).is_ok());
  return {what, std::move(m)};
}

std::vector<HostileCase> hostile_cases() {
  const Tensor w = Tensor(DType::kFloat32, {1, 1, 2, 2});
  const Shape img{1, 1, 4, 4};
  std::vector<HostileCase> c;
  c.push_back(one_node("conv_dilation_max", "Conv", img, {{"w", w}}, {{"dilations", ints({kMax, 1})}}));
  c.push_back(one_node("conv_stride_max", "Conv", img, {{"w", w}}, {{"strides", ints({kMax, kMax})}}));
  c.push_back(one_node("conv_pads_max", "Conv", img, {{"w", w}}, {{"pads", ints({kMax, kMax, kMax, kMax})}}));
  c.push_back(one_node("conv_pads_min", "Conv", img, {{"w", w}}, {{"pads", ints({kMin, 0, kMin, 0})}}));
  c.push_back(one_node("conv_group_huge", "Conv", img, {{"w", w}}, {{"group", int_attr(kMax)}}));
  c.push_back(one_node("maxpool_pads_max", "MaxPool", img, {},
                       {{"kernel_shape", ints({2, 2})}, {"pads", ints({kMax, kMax, kMax, kMax})}}));
  c.push_back(one_node("maxpool_kernel_max", "MaxPool", img, {}, {{"kernel_shape", ints({kMax, kMax})}}));
  c.push_back(one_node("maxpool_ceil_stride_max", "MaxPool", img, {},
                       {{"kernel_shape", ints({2, 2})}, {"strides", ints({kMax, kMax})}, {"ceil_mode", int_attr(1)}}));
  c.push_back(one_node("avgpool_dilation_max", "AveragePool", img, {},
                       {{"kernel_shape", ints({2, 2})}, {"dilations", ints({kMax, kMax})}}, 19));
  c.push_back(one_node("convtranspose_stride_max", "ConvTranspose", img, {{"w", w}}, {{"strides", ints({kMax, 1})}}));
  c.push_back(one_node("convtranspose_dilation_max", "ConvTranspose", img, {{"w", w}}, {{"dilations", ints({kMax, 1})}}));
  c.push_back(one_node("convtranspose_output_shape_min", "ConvTranspose", img, {{"w", w}},
                       {{"output_shape", ints({kMin, kMin})}}));
  c.push_back(one_node("convtranspose_output_padding_max", "ConvTranspose", img, {{"w", w}},
                       {{"output_padding", ints({kMax, 0})}, {"strides", ints({2, 2})}}));
  c.push_back(one_node("convtranspose_pads_min", "ConvTranspose", img, {{"w", w}}, {{"pads", ints({kMin, 0, kMin, 0})}}));
  c.push_back(one_node("pad_max", "Pad", {2}, {{"pads", Tensor::from_vector<int64_t>({2}, {kMax, kMax})}}, {}));
  c.push_back(one_node("pad_min", "Pad", {2}, {{"pads", Tensor::from_vector<int64_t>({2}, {kMin, kMin})}}, {}));
  c.push_back(one_node("slice_step_min", "Slice", {8},
                       {{"starts", Tensor::from_vector<int64_t>({1}, {kMax})},
                        {"ends", Tensor::from_vector<int64_t>({1}, {kMin})},
                        {"axes", Tensor::from_vector<int64_t>({1}, {0})},
                        {"steps", Tensor::from_vector<int64_t>({1}, {kMin})}},
                       {}));
  c.push_back(one_node("slice_axis_min", "Slice", {8},
                       {{"starts", Tensor::from_vector<int64_t>({1}, {0})},
                        {"ends", Tensor::from_vector<int64_t>({1}, {1})},
                        {"axes", Tensor::from_vector<int64_t>({1}, {kMin})}},
                       {}));
  c.push_back(one_node("reshape_huge", "Reshape", {4}, {{"shape", Tensor::from_vector<int64_t>({2}, {kMax, kMax})}}, {}));
  c.push_back(one_node("reshape_min", "Reshape", {4}, {{"shape", Tensor::from_vector<int64_t>({2}, {kMin, -1})}}, {}));
  c.push_back(one_node("resize_sizes_max", "Resize", img,
                       {{"", Tensor()}, {"", Tensor()}, {"sizes", Tensor::from_vector<int64_t>({4}, {1, 1, kMax, kMax})}},
                       {}, 13));
  c.push_back(one_node("resize_scale_inf", "Resize", img,
                       {{"", Tensor()},
                        {"scales", Tensor::from_vector<float>({4}, {1, 1, std::numeric_limits<float>::infinity(), 1})}},
                       {}, 13));
  c.push_back(one_node("softmax_axis_min", "Softmax", img, {}, {{"axis", int_attr(kMin)}}));
  c.push_back(one_node("flatten_axis_min", "Flatten", img, {}, {{"axis", int_attr(kMin)}}));
  c.push_back(one_node("transpose_perm_huge", "Transpose", img, {}, {{"perm", ints({kMax, kMin, 0, 1})}}));
  c.push_back(one_node("concat_axis_min", "Concat", img, {}, {{"axis", int_attr(kMin)}}));
  c.push_back(one_node("gather_axis_min", "Gather", {4}, {{"i", Tensor::from_vector<int64_t>({1}, {kMin})}},
                       {{"axis", int_attr(kMin)}}));
  c.push_back(one_node("gather_index_min", "Gather", {4}, {{"i", Tensor::from_vector<int64_t>({1}, {kMin})}}, {}));
  c.push_back(one_node("reduce_axes_min", "ReduceMean", img, {}, {{"axes", ints({kMin})}}, 13));
  c.push_back(one_node("unsqueeze_axes_max", "Unsqueeze", {4}, {{"axes", Tensor::from_vector<int64_t>({1}, {kMax})}}, {}));
  c.push_back(one_node("squeeze_axes_min", "Squeeze", {1, 4}, {{"axes", Tensor::from_vector<int64_t>({1}, {kMin})}}, {}));
  return c;
}

TEST(HostileModels, ErrorsOrRunsNeverUndefinedBehaviour) {
  for (HostileCase& c : hostile_cases()) {
    SCOPED_TRACE(c.what);
    Shape x_shape;
    for (const auto& d : c.model.graph.inputs[0].dims) x_shape.push_back(d.value);
    auto s = Session::from_ir(std::move(c.model), "hostile");
    if (!s.is_ok()) {
      EXPECT_NE(s.status().message().find(c.what), std::string::npos) << s.status().to_string();
      continue;
    }
    auto y = (*s)->run(std::vector<Tensor>{Tensor(DType::kFloat32, x_shape)});
    if (!y.is_ok()) EXPECT_NE(y.status().message().find(c.what), std::string::npos) << y.status().to_string();
  }
}

// Found by fuzz_onnx_load (fuzz/regressions/onnx_load/shape-without-outputs.onnx): a node whose
// required first output is missing reached its kernel, which wrote through a null output.
TEST(HostileModels, NodeWithoutItsFirstOutputIsAnErrorNamingIt) {
  for (const char* op : {"Shape", "Relu", "Conv"}) {
    SCOPED_TRACE(op);
    HostileCase c = one_node(std::string("no_output_") + op, op, {1, 1, 4, 4},
                             {{"w", Tensor(DType::kFloat32, {1, 1, 2, 2})}}, {});
    if (std::string(op) != "Conv") c.model.graph.nodes[0].inputs.resize(1);
    for (bool empty_name : {false, true}) {
      ir::Model m = c.model;
      if (empty_name) m.graph.nodes[0].outputs[0].clear();
      else m.graph.nodes[0].outputs.clear();
      m.graph.outputs.clear();
      // Sessions plan on the first run, so the error may come from either step.
      Status st = Status::ok();
      auto s = Session::from_ir(std::move(m), "hostile");
      if (!s.is_ok()) st = s.status();
      else if (auto y = (*s)->run(std::vector<Tensor>{Tensor(DType::kFloat32, {1, 1, 4, 4})}); !y.is_ok()) st = y.status();
      ASSERT_FALSE(st.is_ok());
      EXPECT_NE(st.message().find("no_output_" + std::string(op)), std::string::npos) << st.to_string();
      EXPECT_NE(st.message().find("has no output 0"), std::string::npos) << st.to_string();
    }
  }
}

}  // namespace
}  // namespace tinyq

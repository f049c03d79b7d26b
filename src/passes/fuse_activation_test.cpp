#include "passes/fuse_activation.h"

#include <gtest/gtest.h>

#include <cmath>

#include "ir/builder.h"

namespace tinyq::passes {
namespace {

// An unnamed node.
ir::Node node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out) {
  return ir::make_node("", op, std::move(in), std::move(out));
}

ir::ValueInfo output(const std::string& name) { return ir::make_unshaped_value(name, DType::kFloat32); }

TEST(FuseActivation, FusesReluAndConstantClip) {
  ir::Graph g;
  g.initializers["lo"] = Tensor::from_vector<float>({}, {0.0f});
  g.initializers["hi"] = Tensor::from_vector<float>({}, {6.0f});
  g.nodes.push_back(node("Gemm", {"x", "w1"}, {"a"}));
  g.nodes.push_back(node("Relu", {"a"}, {"b"}));
  g.nodes.push_back(node("Conv", {"b", "w2"}, {"c"}));
  g.nodes.push_back(node("Clip", {"c", "lo", "hi"}, {"y"}));
  g.outputs.push_back(output("y"));
  EXPECT_EQ(fuse_activations(g, 17), 2);
  ASSERT_EQ(g.nodes.size(), 2u);
  EXPECT_EQ(g.nodes[0].outputs[0], "b");
  EXPECT_EQ(g.nodes[0].clamp_min, 0.0f);
  EXPECT_TRUE(std::isinf(g.nodes[0].clamp_max));
  EXPECT_EQ(g.nodes[1].inputs[0], "b");
  EXPECT_EQ(g.nodes[1].outputs[0], "y");
  EXPECT_EQ(g.nodes[1].clamp_min, 0.0f);
  EXPECT_EQ(g.nodes[1].clamp_max, 6.0f);
}

TEST(FuseActivation, LeavesSharedOutputsAndRuntimeBoundsAlone) {
  ir::Graph g;
  g.nodes.push_back(node("Gemm", {"x", "w"}, {"a"}));
  g.nodes.push_back(node("Relu", {"a"}, {"b"}));
  g.nodes.push_back(node("Add", {"a", "b"}, {"c"}));        // 'a' has two consumers
  g.nodes.push_back(node("MatMul", {"c", "w"}, {"d"}));
  g.nodes.push_back(node("Clip", {"d", "lo_input"}, {"y"}));  // bound is a graph input
  g.nodes.push_back(node("Conv", {"y", "w"}, {"z"}));
  g.nodes.push_back(node("Relu", {"z"}, {"r"}));
  g.outputs.push_back(output("z"));                          // 'z' is a graph output
  g.outputs.push_back(output("r"));
  EXPECT_EQ(fuse_activations(g, 17), 0);
  EXPECT_EQ(g.nodes.size(), 7u);
}

TEST(FuseActivation, OldClipUsesAttributes) {
  ir::Graph g;
  g.nodes.push_back(node("Conv", {"x", "w"}, {"a"}));
  ir::Node clip = node("Clip", {"a"}, {"y"});
  clip.attributes["min"] = ir::float_attr(-1.0f);
  clip.attributes["max"] = ir::float_attr(1.0f);
  g.nodes.push_back(clip);
  g.outputs.push_back(output("y"));
  EXPECT_EQ(fuse_activations(g, 6), 1);
  EXPECT_EQ(g.nodes[0].clamp_min, -1.0f);
  EXPECT_EQ(g.nodes[0].clamp_max, 1.0f);
}

}  // namespace
}  // namespace tinyq::passes

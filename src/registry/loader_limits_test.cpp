// The registry loader applies the session's resource limits while it parses a registered model.
#include <gtest/gtest.h>

#include <string>

#include "tinyq/registry.h"

namespace tinyq {
namespace {

const std::string kRegistry = std::string(TINYQ_SOURCE_DIR) + "/models/registry.json";
constexpr const char* kModel = "vmaf_tiny_v2";  // 8 nodes; its largest initializer is [16,6]

TEST(LoaderLimits, RegisteredModelsAreParsedUnderTheSessionLimits) {
  LoaderOptions o;
  ASSERT_TRUE(open_registered(kRegistry, kModel, o).is_ok());

  o.session.limits.max_nodes = 2;
  auto nodes = open_registered(kRegistry, kModel, o);
  ASSERT_FALSE(nodes.is_ok());
  EXPECT_EQ(nodes.status().code(), StatusCode::kLimit) << nodes.status().to_string();
  EXPECT_NE(nodes.status().message().find("max_nodes"), std::string::npos) << nodes.status().message();
  EXPECT_NE(nodes.status().message().find("vmaf_tiny_v2.onnx"), std::string::npos) << nodes.status().message();

  o.session.limits = {};
  o.session.limits.max_tensor_elements = 10;
  auto elements = open_registered(kRegistry, kModel, o);
  ASSERT_FALSE(elements.is_ok());
  EXPECT_EQ(elements.status().code(), StatusCode::kLimit) << elements.status().to_string();
  EXPECT_NE(elements.status().message().find("max_tensor_elements"), std::string::npos) << elements.status().message();
}

}  // namespace
}  // namespace tinyq

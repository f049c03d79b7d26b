// The loader's resource limits (onnx_io::LoadOptions, from ResourceLimits): every over-limit model
// is refused with kLimit naming the model and the limit, before the oversized thing is allocated.
// To add a case: build the hostile ModelProto with the helpers below and check the Status.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "onnx/onnx_io.h"
#include "tinyq/session.h"

namespace fs = std::filesystem;

namespace tinyq::onnx_io {
namespace {

constexpr const char* kName = "hostile.onnx";

// y = Identity(x) over float [3], plus whatever the test adds.
onnx::ModelProto identity_model() {
  onnx::ModelProto mp;
  mp.set_ir_version(8);
  mp.add_opset_import()->set_version(17);
  auto* g = mp.mutable_graph();
  g->set_name("g");
  auto* in = g->add_input();
  in->set_name("x");
  in->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  in->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(3);
  auto* out = g->add_output();
  out->set_name("y");
  out->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  auto* n = g->add_node();
  n->set_op_type("Identity");
  n->add_input("x");
  n->add_output("y");
  return mp;
}

onnx::TensorProto* add_initializer(onnx::ModelProto& mp, const std::string& name, std::initializer_list<int64_t> dims) {
  auto* t = mp.mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t->add_dims(d);
  return t;
}

Result<ir::Model> parse(const onnx::ModelProto& mp, const LoadOptions& options = {}) {
  const std::string bytes = mp.SerializeAsString();
  return parse_model(bytes.data(), bytes.size(), "", kName, options);
}

// kLimit whose message names the model and the limit.
void expect_limit(const Status& st, const std::string& limit) {
  EXPECT_EQ(st.code(), StatusCode::kLimit) << st.to_string();
  EXPECT_NE(st.message().find(kName), std::string::npos) << st.message();
  EXPECT_NE(st.message().find(limit), std::string::npos) << st.message();
}

TEST(LoaderLimits, ModelBytes) {
  onnx::ModelProto mp = identity_model();
  const size_t size = mp.SerializeAsString().size();
  LoadOptions o;
  o.max_file_bytes = size - 1;
  expect_limit(parse(mp, o).status(), "max_model_bytes");
  o.max_file_bytes = size;
  EXPECT_TRUE(parse(mp, o).is_ok());
}

TEST(LoaderLimits, ModelBytesThroughSessionFromBytesAndOpen) {
  const std::string bytes = identity_model().SerializeAsString();
  SessionOptions so;
  so.limits.max_model_bytes = bytes.size() - 1;
  auto s = Session::from_bytes(bytes.data(), bytes.size(), "", kName, so);
  ASSERT_FALSE(s.is_ok());
  expect_limit(s.status(), "max_model_bytes");

  const fs::path path = fs::temp_directory_path() / ("tinyq_limits_" + std::to_string(::getpid()) + "_" + kName);
  std::ofstream(path, std::ios::binary) << bytes;
  auto opened = Session::open(path.string(), so);
  fs::remove(path);
  ASSERT_FALSE(opened.is_ok());
  expect_limit(opened.status(), "max_model_bytes");
}

TEST(LoaderLimits, InitializerElements) {
  onnx::ModelProto mp = identity_model();
  auto* w = add_initializer(mp, "w", {40, 50});
  w->set_raw_data(std::string(40 * 50 * sizeof(float), '\0'));
  LoadOptions o;
  o.max_tensor_elements = 40 * 50 - 1;
  Status st = parse(mp, o).status();
  expect_limit(st, "max_tensor_elements");
  EXPECT_NE(st.message().find("initializer 'w'"), std::string::npos) << st.message();
  o.max_tensor_elements = 40 * 50;
  EXPECT_TRUE(parse(mp, o).is_ok());
}

TEST(LoaderLimits, TensorAttributeElements) {
  onnx::ModelProto mp = identity_model();
  auto* c = mp.mutable_graph()->add_node();
  c->set_op_type("Constant");
  c->set_name("big_constant");
  c->add_output("c");
  auto* a = c->add_attribute();
  a->set_name("value");
  a->set_type(onnx::AttributeProto::TENSOR);
  a->mutable_t()->set_data_type(onnx::TensorProto::FLOAT);
  a->mutable_t()->add_dims(int64_t{1} << 40);
  Status st = parse(mp).status();
  expect_limit(st, "max_tensor_elements");
  EXPECT_NE(st.message().find("big_constant"), std::string::npos) << st.message();
}

TEST(LoaderLimits, ElementCountOverflowingInt64) {
  onnx::ModelProto mp = identity_model();
  add_initializer(mp, "w", {int64_t{1} << 40, int64_t{1} << 40, 0});
  Status st = parse(mp).status();
  expect_limit(st, "max_tensor_elements");
  EXPECT_NE(st.message().find("int64"), std::string::npos) << st.message();
}

// Dimensions claiming 2^30 doubles (8 GiB) over a few bytes of data: refused as corrupt before
// any allocation, whichever field holds the data. (Allocating first would zero-fill 8 GiB.)
TEST(LoaderLimits, InitializerClaimingMoreDataThanItHasAllocatesNothing) {
  for (int field = 0; field < 2; ++field) {
    onnx::ModelProto mp = identity_model();
    auto* w = add_initializer(mp, "w", {int64_t{1} << 30});
    w->set_data_type(onnx::TensorProto::DOUBLE);
    if (field == 0) w->set_raw_data(std::string(8, '\0'));
    else w->add_double_data(1.0);
    Status st = parse(mp).status();
    EXPECT_EQ(st.code(), StatusCode::kCorrupt) << st.to_string();
    EXPECT_NE(st.message().find("initializer 'w'"), std::string::npos) << st.message();
  }
}

TEST(LoaderLimits, NodeCount) {
  onnx::ModelProto mp = identity_model();
  for (int i = 0; i < 3; ++i) {
    auto* n = mp.mutable_graph()->add_node();
    n->set_op_type("Identity");
    n->add_input("x");
    n->add_output("extra" + std::to_string(i));
  }
  LoadOptions o;
  o.max_nodes = 3;
  expect_limit(parse(mp, o).status(), "max_nodes");
  o.max_nodes = 4;
  EXPECT_TRUE(parse(mp, o).is_ok());
}

// The constants together, not just each one: two 4000-byte initializers under a 6000-byte cap.
TEST(LoaderLimits, ConstantBytesAcrossInitializers) {
  onnx::ModelProto mp = identity_model();
  for (const char* name : {"a", "b"}) add_initializer(mp, name, {1000})->set_raw_data(std::string(4000, '\0'));
  LoadOptions o;
  o.max_constant_bytes = 6000;
  expect_limit(parse(mp, o).status(), "max_session_bytes");
  o.max_constant_bytes = 8000;
  EXPECT_TRUE(parse(mp, o).is_ok());
}

TEST(LoaderLimits, LoadOptionsFollowResourceLimits) {
  ResourceLimits l;
  l.max_model_bytes = 11;
  l.max_tensor_elements = 22;
  l.max_nodes = 33;
  l.max_session_bytes = 44;
  LoadOptions o = load_options(l);
  EXPECT_EQ(o.max_file_bytes, 11u);
  EXPECT_EQ(o.max_tensor_elements, 22);
  EXPECT_EQ(o.max_nodes, 33);
  EXPECT_EQ(o.max_constant_bytes, 44u);
}

}  // namespace
}  // namespace tinyq::onnx_io

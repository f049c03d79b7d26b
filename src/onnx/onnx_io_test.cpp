#include "onnx/onnx_io.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

namespace tinyq::onnx_io {
namespace {

class OnnxIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("tinyq_onnx_io_" + std::to_string(::getpid()) + "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_ / "models");
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A one-node model y = Add(x, w) whose initializer w lives in external data at `location`.
  std::string write_external_model(const std::string& location, bool write_data, int64_t length = 12) {
    onnx::ModelProto mp;
    mp.set_ir_version(8);
    auto* op = mp.add_opset_import();
    op->set_version(17);
    auto* g = mp.mutable_graph();
    g->set_name("g");
    auto* w = g->add_initializer();
    w->set_name("w");
    w->set_data_type(onnx::TensorProto::FLOAT);
    w->add_dims(3);
    w->set_data_location(onnx::TensorProto::EXTERNAL);
    auto* kv = w->add_external_data();
    kv->set_key("location");
    kv->set_value(location);
    kv = w->add_external_data();
    kv->set_key("length");
    kv->set_value(std::to_string(length));
    auto* in = g->add_input();
    in->set_name("x");
    in->mutable_type()->mutable_tensor_type()->set_elem_type(1);
    in->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(3);
    auto* out = g->add_output();
    out->set_name("y");
    out->mutable_type()->mutable_tensor_type()->set_elem_type(1);
    auto* n = g->add_node();
    n->set_op_type("Add");
    n->add_input("x");
    n->add_input("w");
    n->add_output("y");
    std::string path = (dir_ / "models" / "m.onnx").string();
    std::ofstream(path, std::ios::binary) << mp.SerializeAsString();
    if (write_data) {
      const float values[3] = {1.5f, -2.0f, 4.0f};
      std::ofstream(dir_ / "models" / "m.onnx.data", std::ios::binary).write(reinterpret_cast<const char*>(values), 12);
    }
    return path;
  }

  fs::path dir_;
};

TEST_F(OnnxIoTest, LoadsExternalData) {
  auto m = load_model(write_external_model("m.onnx.data", true));
  ASSERT_TRUE(m.is_ok()) << m.status().to_string();
  const Tensor& w = m->graph.initializers.at("w");
  EXPECT_EQ(w.shape(), (Shape{3}));
  EXPECT_EQ(w.data<float>()[2], 4.0f);
  ASSERT_EQ(m->graph.inputs.size(), 1u);
  EXPECT_EQ(m->graph.inputs[0].name, "x");
  EXPECT_EQ(m->opset(), 17);
}

TEST_F(OnnxIoTest, MissingExternalDataNamesTheFile) {
  auto m = load_model(write_external_model("m.onnx.data", false));
  ASSERT_FALSE(m.is_ok());
  EXPECT_EQ(m.status().code(), StatusCode::kNotFound);
  EXPECT_NE(m.status().message().find("m.onnx.data"), std::string::npos) << m.status().message();
  EXPECT_NE(m.status().message().find("'w'"), std::string::npos) << m.status().message();
}

TEST_F(OnnxIoTest, ExternalDataMayNotEscapeTheModelFolder) {
  std::ofstream(dir_ / "secret.bin", std::ios::binary) << "0123456789ab";
  for (const std::string& loc : std::vector<std::string>{"../secret.bin", (dir_ / "secret.bin").string()}) {
    auto m = load_model(write_external_model(loc, false));
    ASSERT_FALSE(m.is_ok()) << loc;
    EXPECT_EQ(m.status().code(), StatusCode::kIntegrity) << m.status().to_string();
  }
  fs::create_symlink(dir_ / "secret.bin", dir_ / "models" / "link.bin");
  auto m = load_model(write_external_model("link.bin", false));
  ASSERT_FALSE(m.is_ok());
  EXPECT_EQ(m.status().code(), StatusCode::kIntegrity) << m.status().to_string();
}

TEST_F(OnnxIoTest, ShortExternalDataIsCorrupt) {
  auto m = load_model(write_external_model("m.onnx.data", true, 16));
  ASSERT_FALSE(m.is_ok());
  EXPECT_EQ(m.status().code(), StatusCode::kCorrupt) << m.status().to_string();
}

TEST_F(OnnxIoTest, TruncatedFileIsCorruptAndNamed) {
  std::string path = write_external_model("m.onnx.data", true);
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign((std::istreambuf_iterator<char>(in)), {});
  }
  for (size_t cut : {size_t{0}, bytes.size() / 3, bytes.size() - 1}) {
    auto m = parse_model(bytes.data(), cut, dir_.string(), "cut.onnx");
    ASSERT_FALSE(m.is_ok()) << cut;
    EXPECT_NE(m.status().message().find("cut.onnx"), std::string::npos);
  }
}

TEST_F(OnnxIoTest, SaveThenLoadRoundTrips) {
  auto m = load_model(write_external_model("m.onnx.data", true));
  ASSERT_TRUE(m.is_ok());
  std::string out = (dir_ / "copy.onnx").string();
  ASSERT_TRUE(save_model(*m, out).is_ok());
  auto back = load_model(out);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(back->graph.nodes.size(), 1u);
  EXPECT_EQ(back->graph.nodes[0].op_type, "Add");
  EXPECT_EQ(back->graph.initializers.at("w").data<float>()[0], 1.5f);
  EXPECT_EQ(back->graph.inputs[0].dims[0].value, 3);
  EXPECT_EQ(back->opset(), 17);
}

TEST_F(OnnxIoTest, ZooModelsLoadWithSymbolicBatchAndClashingValueInfo) {
  fs::path zoo = fs::path(TINYQ_TEST_SHARED_DIR) / "zoo" / "models";
  if (const char* env = std::getenv("TINYQ_SHARED_DIR")) zoo = fs::path(env) / "zoo" / "models";
  ASSERT_TRUE(fs::is_directory(zoo)) << zoo;
  auto m = load_model((zoo / "vmaf_tiny_v4.onnx").string());
  ASSERT_TRUE(m.is_ok()) << m.status().to_string();
  ASSERT_EQ(m->graph.inputs.size(), 1u);
  EXPECT_EQ(m->graph.inputs[0].dims[0].symbol, "N");
  for (const auto& vi : m->graph.value_info) EXPECT_FALSE(m->graph.is_initializer(vi.name)) << vi.name;
  auto nr = load_model((zoo / "nr_metric_v1.onnx").string());
  ASSERT_TRUE(nr.is_ok());
  EXPECT_EQ(nr->opset(), 18);  // the model's own opset_import, not the registry's 17
}

TEST(OnnxIo, OpsetOutsideTheSupportedRangeIsRejected) {
  onnx::ModelProto mp;
  mp.set_ir_version(8);
  mp.add_opset_import()->set_version(22);
  mp.mutable_graph()->set_name("g");
  std::string bytes = mp.SerializeAsString();
  auto m = parse_model(bytes.data(), bytes.size(), ".", "new.onnx");
  ASSERT_FALSE(m.is_ok());
  EXPECT_EQ(m.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(m.status().message().find("22"), std::string::npos);
}

TEST(OnnxIo, TensorPbRoundTrip) {
  onnx::TensorProto tp;
  tp.set_name("t");
  tp.set_data_type(onnx::TensorProto::INT64);
  tp.add_dims(2);
  tp.add_int64_data(-7);
  tp.add_int64_data(9);
  std::string bytes = tp.SerializeAsString();
  auto t = parse_tensor_pb(bytes.data(), bytes.size(), "t.pb");
  ASSERT_TRUE(t.is_ok()) << t.status().to_string();
  EXPECT_EQ(t->first, "t");
  EXPECT_EQ(t->second.to_int64(), (std::vector<int64_t>{-7, 9}));
  tp.add_int64_data(1);  // three values for shape [2]
  bytes = tp.SerializeAsString();
  EXPECT_FALSE(parse_tensor_pb(bytes.data(), bytes.size(), "t.pb").is_ok());
}

}  // namespace
}  // namespace tinyq::onnx_io

#include "io/npz_stream.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string_view>

#include "io/npy.h"
#include "io/npy_test_blobs.h"
#include "io/npz_stream_test_blobs.h"

namespace fs = std::filesystem;

namespace tinyq::io {
namespace {

// Rows of the compressed blob repeat with this period (see npz_stream_test_blobs.h).
constexpr int64_t kBlobPeriod = 13;
constexpr int64_t kBlobRows = 5000;

class NpzStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("tinyq_npz_stream_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::string spit(const std::string& name, const unsigned char* data, size_t size) const {
    std::ofstream(path(name), std::ios::binary).write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    return path(name);
  }

  fs::path dir_;
};

// The rows [begin, begin + count) of a whole tensor, for comparison.
std::vector<double> rows_of(const Tensor& t, int64_t begin, int64_t count) {
  const std::vector<double> all = t.to_double();
  const int64_t per_row = t.numel() / t.shape()[0];
  return {all.begin() + begin * per_row, all.begin() + (begin + count) * per_row};
}

TEST_F(NpzStreamTest, StoredArchiveRowsEqualReadNpz) {
  std::vector<float> x(37 * 3 * 2);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i) * 0.5f - 7.0f;
  std::vector<int64_t> y(37);
  for (size_t i = 0; i < y.size(); ++i) y[i] = static_cast<int64_t>(i * i);
  const NamedArrays arrays = {{"x", Tensor::from_vector<float>({37, 3, 2}, x)},
                              {"y", Tensor::from_vector<int64_t>({37}, y)},
                              {"s", Tensor::from_vector<float>({}, {4.0f})}};
  ASSERT_TRUE(write_npz(path("a.npz"), arrays).is_ok());

  auto reader = NpzReader::open(path("a.npz"));
  ASSERT_TRUE(reader.is_ok()) << reader.status().to_string();
  ASSERT_EQ(reader->arrays().size(), 3u);
  EXPECT_EQ(reader->arrays()[0].name, "x");
  EXPECT_EQ(reader->arrays()[0].dtype, DType::kFloat32);
  EXPECT_EQ(reader->arrays()[0].shape, (Shape{37, 3, 2}));
  EXPECT_FALSE(reader->arrays()[0].compressed);
  EXPECT_EQ(reader->arrays()[1].shape, (Shape{37}));
  EXPECT_EQ(reader->arrays()[2].shape, Shape{});

  // Out of order on purpose: stored entries are read by offset.
  for (auto [begin, count] : {std::pair<int64_t, int64_t>{30, 7}, {0, 1}, {12, 5}, {0, 37}, {36, 1}, {5, 0}}) {
    auto rows = reader->read_rows("x", begin, count);
    ASSERT_TRUE(rows.is_ok()) << rows.status().to_string();
    EXPECT_EQ(rows->shape(), (Shape{count, 3, 2}));
    EXPECT_EQ(rows->to_double(), rows_of(arrays[0].second, begin, count)) << "rows " << begin << "+" << count;
    auto labels = reader->read_rows("y", begin, count);
    ASSERT_TRUE(labels.is_ok()) << labels.status().to_string();
    EXPECT_EQ(labels->to_double(), rows_of(arrays[1].second, begin, count));
  }
}

TEST_F(NpzStreamTest, CompressedArchiveRowsEqualReadNpz) {
  const std::string file = spit("c.npz", test_blobs::kCompressedNpz, sizeof test_blobs::kCompressedNpz);
  auto whole = read_npz(file);
  ASSERT_TRUE(whole.is_ok()) << whole.status().to_string();
  auto reader = NpzReader::open(file);
  ASSERT_TRUE(reader.is_ok()) << reader.status().to_string();
  const NpzArrayInfo* big = reader->find("big");
  ASSERT_NE(big, nullptr);
  EXPECT_TRUE(big->compressed);
  EXPECT_EQ(big->shape, (Shape{kBlobRows, 4}));

  // Forward in batches (the calibration pattern), then a jump back that restarts the entry, then
  // a long forward skip (more than one skip chunk).
  for (int64_t begin = 0; begin < 40; begin += 8) {
    auto rows = reader->read_rows("big", begin, 8);
    ASSERT_TRUE(rows.is_ok()) << rows.status().to_string();
    EXPECT_EQ(rows->to_double(), rows_of((*whole)[0].second, begin, 8));
  }
  for (auto [begin, count] : {std::pair<int64_t, int64_t>{3, 2}, {4099, 3}, {kBlobRows - 1, 1}}) {
    auto rows = reader->read_rows("big", begin, count);
    ASSERT_TRUE(rows.is_ok()) << rows.status().to_string();
    EXPECT_EQ(rows->to_double(), rows_of((*whole)[0].second, begin, count));
    EXPECT_EQ(rows->data<float>()[1], static_cast<float>(100 + begin % kBlobPeriod));  // row `begin`, column 1
  }
  auto labels = reader->read_rows("label", 4990, 10);
  ASSERT_TRUE(labels.is_ok()) << labels.status().to_string();
  EXPECT_EQ(labels->to_int64(), (std::vector<int64_t>{4990 % 13, 4991 % 13, 4992 % 13, 4993 % 13, 4994 % 13,
                                                      4995 % 13, 4996 % 13, 4997 % 13, 4998 % 13, 4999 % 13}));
}

TEST_F(NpzStreamTest, MixedDeflatedAndStoredEntries) {
  const std::string file = spit("m.npz", test_blobs::kMixedNpz, sizeof test_blobs::kMixedNpz);
  auto reader = NpzReader::open(file);
  ASSERT_TRUE(reader.is_ok()) << reader.status().to_string();
  EXPECT_TRUE(reader->find("a")->compressed);
  EXPECT_FALSE(reader->find("b")->compressed);
  auto a = reader->read_rows("a", 1, 1);
  ASSERT_TRUE(a.is_ok()) << a.status().to_string();
  EXPECT_EQ(a->to_double(), (std::vector<double>{3, 4, 5}));
  auto b = reader->read_rows("b", 1, 2);
  ASSERT_TRUE(b.is_ok()) << b.status().to_string();
  EXPECT_EQ(b->to_int64(), (std::vector<int64_t>{-8, 9}));
}

TEST_F(NpzStreamTest, ErrorsNameTheFileAndArray) {
  ASSERT_TRUE(write_npz(path("e.npz"), {{"x", Tensor::from_vector<float>({2, 2}, {1, 2, 3, 4})},
                                        {"s", Tensor::from_vector<float>({}, {4.0f})}})
                  .is_ok());
  auto reader = NpzReader::open(path("e.npz"));
  ASSERT_TRUE(reader.is_ok()) << reader.status().to_string();

  auto missing = reader->read_rows("nope", 0, 1);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find(path("e.npz")), std::string::npos) << missing.status().message();
  EXPECT_NE(missing.status().message().find("'nope'"), std::string::npos) << missing.status().message();

  auto past = reader->read_rows("x", 1, 2);
  EXPECT_EQ(past.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(past.status().message().find("array 'x' has 2 rows"), std::string::npos) << past.status().message();

  auto scalar = reader->read_rows("s", 0, 1);
  EXPECT_EQ(scalar.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(scalar.status().message().find("array 's'"), std::string::npos) << scalar.status().message();

  auto absent = NpzReader::open(path("absent.npz"));
  EXPECT_EQ(absent.status().code(), StatusCode::kNotFound);
  EXPECT_NE(absent.status().message().find("absent.npz"), std::string::npos);
}

TEST_F(NpzStreamTest, TruncatedEntryIsCorruptNamingTheArray) {
  // A stored archive whose 'x' entry claims [4,2] float32 but holds only 3 rows of data: build it by
  // saving the short array and patching the shape in the npy header, which sits uncompressed.
  ASSERT_TRUE(write_npz(path("t.npz"), {{"x", Tensor::from_vector<float>({3, 2}, {1, 2, 3, 4, 5, 6})}}).is_ok());
  std::string bytes;
  {
    std::ifstream in(path("t.npz"), std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const size_t at = bytes.find("'shape': (3, 2)");
  ASSERT_NE(at, std::string::npos);
  bytes[at + std::string_view("'shape': (").size()] = '4';
  std::ofstream(path("t.npz"), std::ios::binary) << bytes;
  auto reader = NpzReader::open(path("t.npz"));
  ASSERT_FALSE(reader.is_ok());
  EXPECT_NE(reader.status().message().find("array 'x'"), std::string::npos) << reader.status().message();
}

}  // namespace
}  // namespace tinyq::io

#include "io/npy.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "io/npy_test_blobs.h"

// To add a case: malformed inputs go in the ErrorCase table (bytes, expected code, words the message
// must contain); archives that need a real zip go in npy_test_blobs.h.

namespace tinyq::io {
namespace {

namespace fs = std::filesystem;

// The zoo (../shared) lives beside the repo; TINYQ_SHARED_DIR overrides where.
fs::path shared_dir() {
  if (const char* env = std::getenv("TINYQ_SHARED_DIR"); env && *env) return env;
  const fs::path repo = fs::path(__FILE__).parent_path().parent_path().parent_path();
  return repo / ".." / "shared";
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spit(const fs::path& p, std::string_view bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A tensor of the given dtype and shape whose bytes are a fixed pseudo-random pattern.
Tensor pattern_tensor(DType dtype, const Shape& shape, uint32_t seed) {
  Tensor t(dtype, shape);
  std::mt19937 rng(seed);
  auto* p = static_cast<unsigned char*>(t.raw());
  for (size_t i = 0; i < t.nbytes(); ++i) p[i] = static_cast<unsigned char>(rng());
  if (dtype == DType::kBool)
    for (size_t i = 0; i < t.nbytes(); ++i) p[i] &= 1;
  return t;
}

void expect_same(const Tensor& a, const Tensor& b) {
  ASSERT_EQ(a.dtype(), b.dtype());
  ASSERT_EQ(a.shape(), b.shape());
  ASSERT_EQ(a.nbytes(), b.nbytes());
  EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.nbytes()), 0);
}

class NpyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("tinyq_npy_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  // Names in the temp folder, to prove no temp file is left behind.
  std::vector<std::string> listing() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
  fs::path dir_;
};

constexpr DType kAllDTypes[] = {DType::kFloat32, DType::kFloat64, DType::kInt8,  DType::kUInt8, DType::kInt16,
                                DType::kUInt16,  DType::kInt32,   DType::kInt64, DType::kBool};
const Shape kShapesByRank[] = {{}, {5}, {2, 3}, {2, 1, 3}, {1, 2, 3, 2}};

TEST_F(NpyTest, RoundTripsEveryDTypeAndRank) {
  NamedArrays all;
  uint32_t seed = 1;
  for (DType dtype : kAllDTypes) {
    for (const Shape& shape : kShapesByRank) {
      SCOPED_TRACE(std::string(dtype_name(dtype)) + shape_str(shape));
      Tensor t = pattern_tensor(dtype, shape, seed++);
      const std::string file = path("x.npy");
      ASSERT_TRUE(write_npy(file, t).is_ok());
      auto back = read_npy(file);
      ASSERT_TRUE(back.is_ok()) << back.status().to_string();
      expect_same(t, *back);
      // np.save aligns the data to 64 bytes.
      EXPECT_EQ((fs::file_size(file) - t.nbytes()) % 64, 0u);
      all.emplace_back(std::string(dtype_name(dtype)) + "_r" + std::to_string(shape.size()), t);
    }
  }
  ASSERT_TRUE(write_npz(path("all.npz"), all).is_ok());
  auto back = read_npz(path("all.npz"));
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  ASSERT_EQ(back->size(), all.size());
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ((*back)[i].first, all[i].first);
    expect_same(all[i].second, (*back)[i].second);
  }
  EXPECT_EQ(listing(), (std::vector<std::string>{"all.npz", "x.npy"}));
}

TEST_F(NpyTest, RoundTripsEmptyArraysAndEmptyArchive) {
  Tensor empty(DType::kFloat32, {0, 3});
  ASSERT_TRUE(write_npy(path("e.npy"), empty).is_ok());
  auto back = read_npy(path("e.npy"));
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(back->shape(), (Shape{0, 3}));

  ASSERT_TRUE(write_npz(path("e.npz"), {{"e", empty}}).is_ok());
  auto arc = read_npz(path("e.npz"));
  ASSERT_TRUE(arc.is_ok()) << arc.status().to_string();
  ASSERT_EQ(arc->size(), 1u);
  EXPECT_EQ((*arc)[0].second.shape(), (Shape{0, 3}));

  ASSERT_TRUE(write_npz(path("none.npz"), {}).is_ok());
  auto none = read_npz(path("none.npz"));
  ASSERT_TRUE(none.is_ok()) << none.status().to_string();
  EXPECT_TRUE(none->empty());
}

// np.save(f, np.array([1, -2], dtype='<f4')), written out by hand.
std::string golden_f32_pair() {
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";  // 57 chars
  std::string bytes("\x93NUMPY\x01\x00", 8);
  bytes += std::string("\x76\x00", 2);  // header length 118: 57 + 20 growth spaces + 40 pad + '\n'
  bytes += dict;
  bytes += std::string(20 + 40, ' ');
  bytes += '\n';
  bytes += std::string("\x00\x00\x80\x3f\x00\x00\x00\xc0", 8);  // 1.0f, -2.0f
  return bytes;
}

TEST_F(NpyTest, MatchesGoldenBytes) {
  const std::string golden = golden_f32_pair();
  ASSERT_EQ(golden.size(), 128u + 8u);
  auto t = parse_npy(golden.data(), golden.size(), "golden");
  ASSERT_TRUE(t.is_ok()) << t.status().to_string();
  EXPECT_EQ(t->dtype(), DType::kFloat32);
  EXPECT_EQ(t->shape(), (Shape{2}));
  EXPECT_EQ(t->data<float>()[0], 1.0f);
  EXPECT_EQ(t->data<float>()[1], -2.0f);

  auto bytes = serialize_npy(Tensor::from_vector<float>({2}, {1.0f, -2.0f}));
  ASSERT_TRUE(bytes.is_ok());
  EXPECT_EQ(*bytes, golden);
  ASSERT_TRUE(write_npy(path("g.npy"), *t).is_ok());
  EXPECT_EQ(slurp(path("g.npy")), golden);
}

// Headers np.save never writes but numpy reads: versions 2.0/3.0, other quoting, no padding.
TEST_F(NpyTest, ReadsOtherVersionsAndHeaderSpellings) {
  const std::string data("\x01\x00\xff\xff", 4);  // int16 {1, -1}
  struct Case {
    int major;
    std::string header;
  };
  const Case cases[] = {
      {1, "{'descr':'<i2','fortran_order':False,'shape':(2,)}\n"},
      {2, "{'descr': '<i2', 'fortran_order': False, 'shape': (2,), }\n"},
      {3, "{\"shape\": (2,), \"descr\": \"<i2\", \"fortran_order\": False}"},
      {1, "{'fortran_order': False, 'shape': (1, 2, ), 'descr': '<i2', }   \n"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.header);
    std::string bytes("\x93NUMPY", 6);
    bytes += static_cast<char>(c.major);
    bytes += '\0';
    const size_t len_bytes = c.major == 1 ? 2 : 4;
    for (size_t i = 0; i < len_bytes; ++i) bytes += static_cast<char>((c.header.size() >> (8 * i)) & 0xff);
    bytes += c.header + data;
    auto t = parse_npy(bytes.data(), bytes.size(), "hand");
    ASSERT_TRUE(t.is_ok()) << t.status().to_string();
    EXPECT_EQ(t->numel(), 2);
    EXPECT_EQ(t->to_int64(), (std::vector<int64_t>{1, -1}));
  }
}

TEST_F(NpyTest, ReadsDeflatedAndStoredEntries) {
  spit(path("mixed.npz"), std::string_view(reinterpret_cast<const char*>(test_blobs::kMixedNpz),
                                           sizeof test_blobs::kMixedNpz));
  auto arrays = read_npz(path("mixed.npz"));
  ASSERT_TRUE(arrays.is_ok()) << arrays.status().to_string();
  ASSERT_EQ(arrays->size(), 2u);
  EXPECT_EQ((*arrays)[0].first, "a");
  EXPECT_EQ((*arrays)[0].second.shape(), (Shape{2, 3}));
  EXPECT_EQ((*arrays)[0].second.to_double(), (std::vector<double>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ((*arrays)[1].first, "b");
  EXPECT_EQ((*arrays)[1].second.dtype(), DType::kInt64);
  EXPECT_EQ((*arrays)[1].second.to_int64(), (std::vector<int64_t>{7, -8, 9}));
}

TEST_F(NpyTest, ReadsZooFixturesByteExactly) {
  const fs::path fixtures = shared_dir() / "zoo" / "fixtures" / "vmaf_tiny_v4.fixtures.npz";
  if (!fs::exists(fixtures)) GTEST_SKIP() << "zoo not found at " << fixtures;
  auto arrays = read_npz(fixtures.string());
  ASSERT_TRUE(arrays.is_ok()) << arrays.status().to_string();
  ASSERT_EQ(arrays->size(), 2u);
  EXPECT_EQ((*arrays)[0].first, "features");
  EXPECT_EQ((*arrays)[0].second.dtype(), DType::kFloat32);
  EXPECT_EQ((*arrays)[0].second.shape(), (Shape{512, 6}));
  EXPECT_EQ((*arrays)[1].first, "vmaf");
  EXPECT_EQ((*arrays)[1].second.shape(), (Shape{512}));
  // VMAF scores lie in [0, 100].
  for (double v : (*arrays)[1].second.to_double()) {
    EXPECT_GE(v, 0.0);
    EXPECT_LE(v, 100.0);
  }
  // The archive is stored, so numpy's exact .npy bytes appear in it verbatim: ours must match them.
  const std::string raw = slurp(fixtures);
  for (const auto& [name, t] : *arrays) {
    auto bytes = serialize_npy(t);
    ASSERT_TRUE(bytes.is_ok());
    EXPECT_NE(raw.find(*bytes), std::string::npos) << name;
  }
  // Writing them back gives an archive that reads the same.
  ASSERT_TRUE(write_npz(path("copy.npz"), *arrays).is_ok());
  auto again = read_npz(path("copy.npz"));
  ASSERT_TRUE(again.is_ok());
  ASSERT_EQ(again->size(), 2u);
  for (size_t i = 0; i < 2; ++i) expect_same((*arrays)[i].second, (*again)[i].second);

  const fs::path reference = shared_dir() / "zoo" / "reference" / "vmaf_tiny_v4.fixtures.ort_fp32.npz";
  if (!fs::exists(reference)) return;
  auto outputs = read_npz(reference.string());
  ASSERT_TRUE(outputs.is_ok()) << outputs.status().to_string();
  ASSERT_EQ(outputs->size(), 1u);
  EXPECT_EQ((*outputs)[0].first, "vmaf");
  EXPECT_EQ((*outputs)[0].second.shape(), (Shape{512}));
}

// --- malformed input -----------------------------------------------------------------------

// An npy file with the given version and header text, followed by `data`.
std::string npy_bytes(const std::string& header, const std::string& data, int major = 1) {
  std::string bytes("\x93NUMPY", 6);
  bytes += static_cast<char>(major);
  bytes += '\0';
  const size_t len_bytes = major == 1 ? 2 : 4;
  for (size_t i = 0; i < len_bytes; ++i) bytes += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return bytes + header + data;
}

std::string f32_header(const std::string& descr, const std::string& shape, const std::string& fortran = "False") {
  return "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }\n";
}

struct ErrorCase {
  std::string label;
  std::string bytes;
  StatusCode code;
  std::vector<std::string> message_words;
};

std::vector<ErrorCase> error_cases() {
  const std::string four(4, '\0');
  const std::string golden = golden_f32_pair();
  std::string huge_header("\x93NUMPY\x02\x00", 8);
  huge_header += std::string("\xa0\x86\x01\x00", 4);  // 100000 bytes declared
  return {
      {"text", "hello, world", StatusCode::kCorrupt, {"not an npy file"}},
      {"empty", "", StatusCode::kCorrupt, {"not an npy file"}},
      {"pickle", "\x80\x04\x95\x10", StatusCode::kUnsupported, {"pickle"}},
      {"zip", "PK\x03\x04rest", StatusCode::kCorrupt, {"zip"}},
      {"short magic", "\x93NUM", StatusCode::kCorrupt, {"truncated"}},
      {"no length", std::string("\x93NUMPY\x01\x00\x10", 9), StatusCode::kCorrupt, {"truncated"}},
      {"short header", golden.substr(0, 60), StatusCode::kCorrupt, {"truncated", "header"}},
      {"short data", golden.substr(0, golden.size() - 1), StatusCode::kCorrupt, {"truncated", "float32 [2]"}},
      {"extra data", golden + "x", StatusCode::kCorrupt, {"size mismatch", "float32 [2]"}},
      {"version 4", npy_bytes(f32_header("<f4", "(1,)"), four, 4), StatusCode::kUnsupported, {"version 4.0"}},
      {"huge header", huge_header, StatusCode::kLimit, {"header too large"}},
      {"big-endian", npy_bytes(f32_header(">f4", "(1,)"), four), StatusCode::kUnsupported, {"big-endian", "'>f4'"}},
      {"object", npy_bytes(f32_header("|O", "(1,)"), std::string(8, '\0')), StatusCode::kUnsupported, {"object"}},
      {"fortran", npy_bytes(f32_header("<f4", "(2, 2)", "True"), std::string(16, '\0')), StatusCode::kUnsupported,
       {"Fortran"}},
      {"float16", npy_bytes(f32_header("<f2", "(1,)"), "\0\0"), StatusCode::kUnsupported, {"unsupported dtype", "'<f2'"}},
      {"complex", npy_bytes(f32_header("<c8", "(1,)"), std::string(8, '\0')), StatusCode::kUnsupported, {"'<c8'"}},
      {"unicode", npy_bytes(f32_header("<U3", "(1,)"), std::string(12, '\0')), StatusCode::kUnsupported, {"'<U3'"}},
      {"uint32", npy_bytes(f32_header("<u4", "(1,)"), four), StatusCode::kUnsupported, {"'<u4'"}},
      {"structured", npy_bytes("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }\n", four),
       StatusCode::kUnsupported, {"structured"}},
      {"no shape", npy_bytes("{'descr': '<f4', 'fortran_order': False}\n", four), StatusCode::kCorrupt,
       {"missing key 'shape'"}},
      {"extra key", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}\n", four),
       StatusCode::kCorrupt, {"unexpected key 'x'"}},
      {"unclosed", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1,", four), StatusCode::kCorrupt,
       {"malformed npy header"}},
      {"negative dim", npy_bytes(f32_header("<f4", "(-1,)"), four), StatusCode::kCorrupt, {"negative"}},
      {"dim overflow", npy_bytes(f32_header("<f4", "(99999999999999999999,)"), four), StatusCode::kCorrupt,
       {"too large"}},
      {"shape overflow", npy_bytes(f32_header("<f4", "(4294967296, 4294967296)"), four), StatusCode::kCorrupt,
       {"overflows"}},
      {"bytes overflow", npy_bytes(f32_header("<f8", "(4611686018427387904,)"), four), StatusCode::kCorrupt,
       {"too large"}},
      {"huge shape, no data", npy_bytes(f32_header("<f4", "(1000000000, 1000)"), four), StatusCode::kCorrupt,
       {"truncated"}},
  };
}

TEST_F(NpyTest, RejectsMalformedNpyWithClearErrors) {
  for (const ErrorCase& c : error_cases()) {
    SCOPED_TRACE(c.label);
    const std::string file = path("bad.npy");
    spit(file, c.bytes);
    auto t = read_npy(file);
    ASSERT_FALSE(t.is_ok());
    EXPECT_EQ(t.status().code(), c.code) << t.status().to_string();
    EXPECT_NE(t.status().message().find(file), std::string::npos) << t.status().message();
    for (const std::string& word : c.message_words)
      EXPECT_NE(t.status().message().find(word), std::string::npos) << t.status().message();
  }
}

// Every prefix of a valid file is truncated somewhere; none may crash or be accepted.
TEST_F(NpyTest, RejectsEveryTruncation) {
  const std::string golden = golden_f32_pair();
  for (size_t n = 0; n < golden.size(); ++n) {
    auto t = parse_npy(golden.data(), n, "cut");
    EXPECT_FALSE(t.is_ok()) << n;
  }
}

TEST_F(NpyTest, RejectsMalformedNpz) {
  auto expect_error = [&](const std::string& file, StatusCode code, const std::vector<std::string>& words) {
    auto r = read_npz(file);
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), code) << r.status().to_string();
    EXPECT_NE(r.status().message().find(file), std::string::npos) << r.status().message();
    for (const std::string& w : words) EXPECT_NE(r.status().message().find(w), std::string::npos) << r.status().message();
  };
  expect_error(path("missing.npz"), StatusCode::kNotFound, {});
  spit(path("text.npz"), "definitely not a zip archive, just some text");
  expect_error(path("text.npz"), StatusCode::kCorrupt, {"not an npz"});
  spit(path("plain.npz"), golden_f32_pair());
  expect_error(path("plain.npz"), StatusCode::kCorrupt, {".npy file"});

  spit(path("half.npz"),
       std::string_view(reinterpret_cast<const char*>(test_blobs::kHalfNpz), sizeof test_blobs::kHalfNpz));
  expect_error(path("half.npz"), StatusCode::kUnsupported, {"array 'half'", "'<f2'"});
  spit(path("txt.npz"),
       std::string_view(reinterpret_cast<const char*>(test_blobs::kTextNpz), sizeof test_blobs::kTextNpz));
  expect_error(path("txt.npz"), StatusCode::kCorrupt, {"'readme.txt'", "not an .npy"});

  // A flipped data byte in a stored entry fails its CRC.
  ASSERT_TRUE(write_npz(path("good.npz"), {{"w", Tensor::from_vector<float>({2}, {1.0f, -2.0f})}}).is_ok());
  std::string bytes = slurp(path("good.npz"));
  const size_t at = bytes.find(std::string("\x00\x00\x80\x3f", 4));
  ASSERT_NE(at, std::string::npos);
  bytes[at + 3] = '\x40';
  spit(path("crc.npz"), bytes);
  expect_error(path("crc.npz"), StatusCode::kCorrupt, {"array 'w'"});
  // Cutting the archive anywhere loses its directory.
  for (size_t n : {size_t{0}, size_t{10}, bytes.size() / 2, bytes.size() - 1}) {
    spit(path("cut.npz"), std::string_view(bytes).substr(0, n));
    auto r = read_npz(path("cut.npz"));
    EXPECT_FALSE(r.is_ok()) << n;
  }
}

TEST_F(NpyTest, FailedWritesLeaveExistingFilesAlone) {
  const Tensor original = Tensor::from_vector<int32_t>({3}, {1, 2, 3});
  ASSERT_TRUE(write_npy(path("keep.npy"), original).is_ok());
  ASSERT_TRUE(write_npz(path("keep.npz"), {{"x", original}}).is_ok());
  const std::string npy_before = slurp(path("keep.npy")), npz_before = slurp(path("keep.npz"));

  // Types npy cannot hold, duplicate or empty names, undefined tensors.
  Status s = write_npy(path("keep.npy"), Tensor(DType::kUInt32, {2}));
  EXPECT_EQ(s.code(), StatusCode::kUnsupported) << s.to_string();
  EXPECT_NE(s.message().find("keep.npy"), std::string::npos);
  EXPECT_EQ(write_npy(path("keep.npy"), Tensor()).code(), StatusCode::kInvalidArgument);
  s = write_npz(path("keep.npz"), {{"a", original}, {"a", original}});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.to_string();
  EXPECT_NE(s.message().find("'a'"), std::string::npos);
  EXPECT_EQ(write_npz(path("keep.npz"), {{"", original}}).code(), StatusCode::kInvalidArgument);
  s = write_npz(path("keep.npz"), {{"ok", original}, {"bad", Tensor(DType::kUInt64, {1})}});
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("'bad'"), std::string::npos) << s.message();

  // The rename itself fails when the target is a non-empty folder.
  fs::create_directories(dir_ / "folder.npy" / "inside");
  s = write_npy(path("folder.npy"), original);
  EXPECT_EQ(s.code(), StatusCode::kIoError) << s.to_string();
  // No such folder: nothing can be created.
  EXPECT_FALSE(write_npy(path("no/such/dir/x.npy"), original).is_ok());

  EXPECT_EQ(slurp(path("keep.npy")), npy_before);
  EXPECT_EQ(slurp(path("keep.npz")), npz_before);
  EXPECT_EQ(listing(), (std::vector<std::string>{"folder.npy", "keep.npy", "keep.npz"}));
}

TEST_F(NpyTest, OverwritesAtomically) {
  ASSERT_TRUE(write_npy(path("v.npy"), Tensor::from_vector<int8_t>({1}, {1})).is_ok());
  ASSERT_TRUE(write_npy(path("v.npy"), Tensor::from_vector<int8_t>({2}, {5, 6})).is_ok());
  auto t = read_npy(path("v.npy"));
  ASSERT_TRUE(t.is_ok());
  EXPECT_EQ(t->to_int64(), (std::vector<int64_t>{5, 6}));
  EXPECT_EQ(listing(), (std::vector<std::string>{"v.npy"}));
}

}  // namespace
}  // namespace tinyq::io

#include "tinyq/tensor.h"

#include <cassert>
#include <cstdlib>
#include <new>

namespace tinyq {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::kFloat32: return 4;
    case DType::kUInt8: return 1;
    case DType::kInt8: return 1;
    case DType::kUInt16: return 2;
    case DType::kInt16: return 2;
    case DType::kInt32: return 4;
    case DType::kInt64: return 8;
    case DType::kBool: return 1;
    case DType::kFloat64: return 8;
    case DType::kUInt32: return 4;
    case DType::kUInt64: return 8;
    default: return 0;
  }
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::kUndefined: return "undefined";
    case DType::kFloat32: return "float32";
    case DType::kUInt8: return "uint8";
    case DType::kInt8: return "int8";
    case DType::kUInt16: return "uint16";
    case DType::kInt16: return "int16";
    case DType::kInt32: return "int32";
    case DType::kInt64: return "int64";
    case DType::kString: return "string";
    case DType::kBool: return "bool";
    case DType::kFloat16: return "float16";
    case DType::kFloat64: return "float64";
    case DType::kUInt32: return "uint32";
    case DType::kUInt64: return "uint64";
  }
  return "unknown";
}

bool dtype_supported(DType t) { return dtype_size(t) != 0; }

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += ",";
    out += std::to_string(s[i]);
  }
  return out + "]";
}

void Tensor::FreeDeleter::operator()(std::byte* p) const { std::free(p); }

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  numel_ = shape_numel(shape_);
  assert(numel_ >= 0);
  size_t bytes = nbytes();
  // Round up so aligned_alloc's size is a multiple of the alignment; never 0 bytes.
  size_t alloc = ((bytes + 63) / 64) * 64;
  if (alloc == 0) alloc = 64;
  void* p = std::aligned_alloc(64, alloc);
  if (!p) throw std::bad_alloc();
  std::memset(p, 0, alloc);
  data_ = std::shared_ptr<std::byte>(static_cast<std::byte*>(p), FreeDeleter{});
}

Tensor Tensor::reshaped(Shape shape) const {
  Tensor t = *this;
  assert(shape_numel(shape) == numel_);
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::clone() const {
  if (empty()) return {};
  Tensor t(dtype_, shape_);
  std::memcpy(t.raw(), raw(), nbytes());
  return t;
}

namespace {
template <typename Out, typename Fn>
std::vector<Out> convert(const Tensor& t, Fn&& fn) {
  std::vector<Out> out(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) out[i] = fn(i);
  return out;
}
}  // namespace

#define TINYQ_CASE_CONVERT(DT, CT, OUT) \
  case DT: return convert<OUT>(*this, [&](int64_t i) { return static_cast<OUT>(data<CT>()[i]); });

std::vector<int64_t> Tensor::to_int64() const {
  switch (dtype_) {
    TINYQ_CASE_CONVERT(DType::kUInt8, uint8_t, int64_t)
    TINYQ_CASE_CONVERT(DType::kInt8, int8_t, int64_t)
    TINYQ_CASE_CONVERT(DType::kUInt16, uint16_t, int64_t)
    TINYQ_CASE_CONVERT(DType::kInt16, int16_t, int64_t)
    TINYQ_CASE_CONVERT(DType::kInt32, int32_t, int64_t)
    TINYQ_CASE_CONVERT(DType::kInt64, int64_t, int64_t)
    TINYQ_CASE_CONVERT(DType::kUInt32, uint32_t, int64_t)
    TINYQ_CASE_CONVERT(DType::kUInt64, uint64_t, int64_t)
    TINYQ_CASE_CONVERT(DType::kBool, bool, int64_t)
    default: return {};
  }
}

std::vector<double> Tensor::to_double() const {
  switch (dtype_) {
    TINYQ_CASE_CONVERT(DType::kFloat32, float, double)
    TINYQ_CASE_CONVERT(DType::kFloat64, double, double)
    TINYQ_CASE_CONVERT(DType::kUInt8, uint8_t, double)
    TINYQ_CASE_CONVERT(DType::kInt8, int8_t, double)
    TINYQ_CASE_CONVERT(DType::kUInt16, uint16_t, double)
    TINYQ_CASE_CONVERT(DType::kInt16, int16_t, double)
    TINYQ_CASE_CONVERT(DType::kInt32, int32_t, double)
    TINYQ_CASE_CONVERT(DType::kInt64, int64_t, double)
    TINYQ_CASE_CONVERT(DType::kUInt32, uint32_t, double)
    TINYQ_CASE_CONVERT(DType::kUInt64, uint64_t, double)
    TINYQ_CASE_CONVERT(DType::kBool, bool, double)
    default: return {};
  }
}

#undef TINYQ_CASE_CONVERT

}  // namespace tinyq

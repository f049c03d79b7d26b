// Element types and the owned host tensor that crosses tinyq's public API.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tinyq {

// Values equal ONNX TensorProto.DataType codes, so conversion at the ONNX edge is a cast.
enum class DType : int32_t {
  kUndefined = 0,
  kFloat32 = 1,
  kUInt8 = 2,
  kInt8 = 3,
  kUInt16 = 4,
  kInt16 = 5,
  kInt32 = 6,
  kInt64 = 7,
  kString = 8,  // not supported by the runtime; named so errors can say so
  kBool = 9,
  kFloat16 = 10,  // not supported by the runtime
  kFloat64 = 11,
  kUInt32 = 12,
  kUInt64 = 13,
};

// Bytes per element; 0 for types tinyq cannot hold in a Tensor.
size_t dtype_size(DType t);
// "float32", "int8", ...; numpy-like names.
const char* dtype_name(DType t);
// True for the types a Tensor can hold (fixed-size numeric and bool).
bool dtype_supported(DType t);

template <typename T> struct DTypeOf;
template <> struct DTypeOf<float> { static constexpr DType value = DType::kFloat32; };
template <> struct DTypeOf<double> { static constexpr DType value = DType::kFloat64; };
template <> struct DTypeOf<uint8_t> { static constexpr DType value = DType::kUInt8; };
template <> struct DTypeOf<int8_t> { static constexpr DType value = DType::kInt8; };
template <> struct DTypeOf<uint16_t> { static constexpr DType value = DType::kUInt16; };
template <> struct DTypeOf<int16_t> { static constexpr DType value = DType::kInt16; };
template <> struct DTypeOf<int32_t> { static constexpr DType value = DType::kInt32; };
template <> struct DTypeOf<int64_t> { static constexpr DType value = DType::kInt64; };
template <> struct DTypeOf<uint32_t> { static constexpr DType value = DType::kUInt32; };
template <> struct DTypeOf<uint64_t> { static constexpr DType value = DType::kUInt64; };
template <> struct DTypeOf<bool> { static constexpr DType value = DType::kBool; };

using Shape = std::vector<int64_t>;

// Product of the dimensions; 1 for a scalar (rank 0).
int64_t shape_numel(const Shape& s);
// "[1,16,224,224]".
std::string shape_str(const Shape& s);

// A contiguous, row-major host tensor with 64-byte aligned storage. Copies share the storage;
// clone() makes a deep copy.
class Tensor {
 public:
  Tensor() = default;
  Tensor(DType dtype, Shape shape);  // zero-filled
  template <typename T>
  static Tensor from_vector(Shape shape, const std::vector<T>& values) {
    Tensor t(DTypeOf<T>::value, std::move(shape));
    if (!values.empty()) std::memcpy(t.raw(), values.data(), t.nbytes());
    return t;
  }

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  int64_t numel() const { return numel_; }
  size_t nbytes() const { return static_cast<size_t>(numel_) * dtype_size(dtype_); }
  bool empty() const { return dtype_ == DType::kUndefined; }

  void* raw() { return data_.get(); }
  const void* raw() const { return data_.get(); }
  template <typename T> T* data() { return static_cast<T*>(raw()); }
  template <typename T> const T* data() const { return static_cast<const T*>(raw()); }

  // Same storage viewed with a new shape; numel must match.
  Tensor reshaped(Shape shape) const;
  // Deep copy.
  Tensor clone() const;
  // Values as int64 (for int32/int64/uint8/... index-like tensors); empty for float tensors.
  std::vector<int64_t> to_int64() const;
  // Values as float64, for any numeric dtype.
  std::vector<double> to_double() const;

 private:
  struct FreeDeleter { void operator()(std::byte* p) const; };
  DType dtype_ = DType::kUndefined;
  Shape shape_;
  int64_t numel_ = 0;
  std::shared_ptr<std::byte> data_;
};

}  // namespace tinyq

#include "kernels/shape_helpers.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <string>

namespace tinyq::kernels::shape {

Status check_movable_dtype(const PrepareContext& ctx, DType t, const char* what) {
  switch (t) {
    case DType::kBool:
    case DType::kInt8:
    case DType::kUInt8:
    case DType::kInt16:
    case DType::kUInt16:
    case DType::kInt32:
    case DType::kInt64:
    case DType::kFloat32:
    case DType::kFloat64:
      return Status::ok();
    default:
      return ctx.unsupported(std::string(what) + " has dtype " + dtype_name(t) + ", which is not supported");
  }
}

Result<int64_t> normalize_axis(const PrepareContext& ctx, int64_t axis, int64_t rank, const char* what,
                               bool inclusive) {
  const int64_t hi = inclusive ? rank : rank - 1;
  if (axis < -rank || axis > hi) {
    return ctx.error(std::string(what) + " " + std::to_string(axis) + " is out of range for rank " +
                     std::to_string(rank));
  }
  return axis < 0 ? axis + rank : axis;
}

Result<std::vector<int64_t>> normalize_axes(const PrepareContext& ctx, const std::vector<int64_t>& axes,
                                            int64_t rank, const char* what) {
  std::vector<int64_t> out;
  out.reserve(axes.size());
  for (int64_t a : axes) {
    TINYQ_ASSIGN_OR_RETURN(int64_t n, normalize_axis(ctx, a, rank, what));
    if (std::find(out.begin(), out.end(), n) != out.end())
      return ctx.error(std::string(what) + " repeats axis " + std::to_string(a));
    out.push_back(n);
  }
  return out;
}

Result<std::vector<int64_t>> const_ints(PrepareContext& ctx, int i, const char* what) {
  TINYQ_ASSIGN_OR_RETURN(const Tensor* t, ctx.const_input(i));
  if (t->dtype() != DType::kInt64 && t->dtype() != DType::kInt32)
    return ctx.error(std::string(what) + " must be int32 or int64, not " + dtype_name(t->dtype()));
  if (t->rank() > 1) return ctx.error(std::string(what) + " must be a 1-D tensor, got shape " + shape_str(t->shape()));
  return t->to_int64();
}

Result<std::vector<double>> const_floats(PrepareContext& ctx, int i, const char* what) {
  TINYQ_ASSIGN_OR_RETURN(const Tensor* t, ctx.const_input(i));
  if (t->dtype() != DType::kFloat32 && t->dtype() != DType::kFloat64)
    return ctx.error(std::string(what) + " must be float32 or float64, not " + dtype_name(t->dtype()));
  if (t->rank() > 1) return ctx.error(std::string(what) + " must be a 1-D tensor, got shape " + shape_str(t->shape()));
  return t->to_double();
}

namespace {
// Float-to-integer casts of out-of-range values are undefined, so integers saturate (NaN -> 0).
template <typename T>
T saturate(double v) {
  if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(v);
  } else {
    if (std::isnan(v)) return T{0};
    if (v <= static_cast<double>(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
    if (v >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
    return static_cast<T>(v);
  }
}
}  // namespace

uint64_t scalar_bits(double v, DType t) {
  uint64_t bits = 0;
  auto put = [&bits](auto x) { std::memcpy(&bits, &x, sizeof(x)); };
  switch (t) {
    case DType::kFloat32: put(saturate<float>(v)); break;
    case DType::kFloat64: put(v); break;
    case DType::kInt8: put(saturate<int8_t>(v)); break;
    case DType::kUInt8: put(saturate<uint8_t>(v)); break;
    case DType::kInt16: put(saturate<int16_t>(v)); break;
    case DType::kUInt16: put(saturate<uint16_t>(v)); break;
    case DType::kInt32: put(saturate<int32_t>(v)); break;
    case DType::kInt64: put(saturate<int64_t>(v)); break;
    case DType::kBool: put(static_cast<uint8_t>(v != 0.0)); break;
    default: break;
  }
  return bits;
}

std::vector<int64_t> contiguous_strides(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (size_t k = s.size(); k-- > 1;) st[k - 1] = st[k] * s[k];
  return st;
}

Result<StridedCopy> make_strided_copy(const PrepareContext& ctx, const Shape& out_dims,
                                      const std::vector<int64_t>& src_strides, int64_t base, size_t elem) {
  StridedCopy p;
  p.elem = elem;
  p.base = base;
  p.numel = shape_numel(out_dims);
  p.ref_dims = out_dims;
  p.ref_strides = src_strides;
  // Walk from the innermost dim outwards, merging a dim into the one inside it when stepping it
  // is the same as stepping past the whole inner dim.
  std::vector<int64_t> dims, strides;
  for (size_t k = out_dims.size(); k-- > 0;) {
    if (out_dims[k] == 1) continue;
    if (!dims.empty() && src_strides[k] == strides.back() * dims.back()) {
      dims.back() *= out_dims[k];
    } else {
      dims.push_back(out_dims[k]);
      strides.push_back(src_strides[k]);
    }
  }
  std::reverse(dims.begin(), dims.end());
  std::reverse(strides.begin(), strides.end());
  if (dims.size() > static_cast<size_t>(kMaxRank))
    return ctx.unsupported("needs a " + std::to_string(dims.size()) + "-D strided copy; at most " +
                           std::to_string(kMaxRank) + " dims are supported");
  p.dims = std::move(dims);
  p.strides = std::move(strides);
  return p;
}

namespace {

template <typename W>
void reference_walk(const StridedCopy& p, const W* src, W* dst) {
  const size_t r = p.ref_dims.size();
  for (int64_t i = 0; i < p.numel; ++i) {
    int64_t rem = i;
    int64_t off = p.base;
    for (size_t k = r; k-- > 0;) {
      off += (rem % p.ref_dims[k]) * p.ref_strides[k];
      rem /= p.ref_dims[k];
    }
    dst[i] = src[off];
  }
}

// Tile edge for blocked transposes: 16x16 elements of 8 bytes fit comfortably in L1.
constexpr int64_t kTile = 16;

// One full tile with compile-time extents, so the compiler unrolls it completely.
template <typename W, int64_t kN>
inline void copy_tile(const W* __restrict s, int64_t s_stride, W* __restrict d, int64_t d_stride) {
  for (int64_t u = 0; u < kN; ++u)
    for (int64_t l = 0; l < kN; ++l) d[u * d_stride + l] = s[u + l * s_stride];
}

template <typename W>
void fast_walk(const StridedCopy& p, const W* src, W* dst) {
  const int r = static_cast<int>(p.dims.size());
  if (r == 0) {
    dst[0] = src[p.base];
    return;
  }
  const int64_t n_last = p.dims[r - 1];
  const int64_t s_last = p.strides[r - 1];

  // A transpose: the source's unit-stride dim lies outside the output's innermost dim. Copy in
  // square tiles over those two dims so both sides stay in cache.
  int unit = -1;
  if (s_last != 1)
    for (int k = 0; k < r - 1; ++k)
      if (p.strides[k] == 1) unit = k;
  if (unit >= 0) {
    std::array<int64_t, kMaxRank> dst_stride{};
    dst_stride[r - 1] = 1;
    for (int k = r - 1; k-- > 0;) dst_stride[k] = dst_stride[k + 1] * p.dims[k + 1];
    // Outer dims: all but `unit` and the last, walked with an odometer.
    std::array<int, kMaxRank> outer{};
    int n_outer = 0;
    for (int k = 0; k < r - 1; ++k)
      if (k != unit) outer[n_outer++] = k;
    std::array<int64_t, kMaxRank> cnt{};
    const int64_t nu = p.dims[unit];
    const int64_t du = dst_stride[unit];
    int64_t soff = p.base, doff = 0;
    const int64_t blocks = p.numel / (nu * n_last);
    for (int64_t b = 0; b < blocks; ++b) {
      for (int64_t u0 = 0; u0 < nu; u0 += kTile) {
        const int64_t u1 = std::min(nu, u0 + kTile);
        for (int64_t l0 = 0; l0 < n_last; l0 += kTile) {
          const int64_t l1 = std::min(n_last, l0 + kTile);
          if (u1 - u0 == kTile && l1 - l0 == kTile) {
            copy_tile<W, kTile>(src + soff + u0 + l0 * s_last, s_last, dst + doff + u0 * du + l0, du);
            continue;
          }
          for (int64_t u = u0; u < u1; ++u) {
            W* d = dst + doff + u * du;
            const W* s = src + soff + u;
            for (int64_t l = l0; l < l1; ++l) d[l] = s[l * s_last];
          }
        }
      }
      for (int j = n_outer; j-- > 0;) {
        const int k = outer[j];
        soff += p.strides[k];
        doff += dst_stride[k];
        if (++cnt[j] < p.dims[k]) break;
        soff -= p.strides[k] * p.dims[k];
        doff -= dst_stride[k] * p.dims[k];
        cnt[j] = 0;
      }
    }
    return;
  }

  std::array<int64_t, kMaxRank> cnt{};
  int64_t soff = p.base;
  const int64_t rows = p.numel / n_last;
  for (int64_t row = 0; row < rows; ++row) {
    if (s_last == 1) {
      std::memcpy(dst, src + soff, static_cast<size_t>(n_last) * sizeof(W));
    } else {
      const W* s = src + soff;
      for (int64_t l = 0; l < n_last; ++l) dst[l] = s[l * s_last];
    }
    dst += n_last;
    for (int k = r - 1; k-- > 0;) {
      soff += p.strides[k];
      if (++cnt[k] < p.dims[k]) break;
      soff -= p.strides[k] * p.dims[k];
      cnt[k] = 0;
    }
  }
}

}  // namespace

void strided_copy_reference(const StridedCopy& p, const void* src, void* dst) {
  if (p.numel == 0) return;
  dispatch_elem_size(p.elem, [&](auto w) {
    using W = decltype(w);
    reference_walk(p, static_cast<const W*>(src), static_cast<W*>(dst));
  });
}

void strided_copy_fast(const StridedCopy& p, const void* src, void* dst) {
  if (p.numel == 0) return;
  dispatch_elem_size(p.elem, [&](auto w) {
    using W = decltype(w);
    fast_walk(p, static_cast<const W*>(src), static_cast<W*>(dst));
  });
}

}  // namespace tinyq::kernels::shape

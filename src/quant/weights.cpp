#include "quant/weights.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>

#include "kernels/quant_params.h"

namespace tinyq::quant {

ChannelLayout channel_layout(const Shape& shape, int64_t axis) {
  ChannelLayout l;
  if (axis < 0) {
    l.inner = shape_numel(shape);
    return l;
  }
  for (int64_t d = 0; d < axis; ++d) l.outer *= shape[d];
  l.channels = shape[axis];
  for (size_t d = static_cast<size_t>(axis) + 1; d < shape.size(); ++d) l.inner *= shape[d];
  return l;
}

std::vector<float> max_abs_scales(const Tensor& w, int64_t axis) {
  const ChannelLayout l = channel_layout(w.shape(), axis);
  const float* v = w.data<float>();
  std::vector<float> scales(l.channels);
  for (int64_t c = 0; c < l.channels; ++c) {
    float m = 0.0f;
    for (int64_t o = 0; o < l.outer; ++o)
      for (int64_t i = 0; i < l.inner; ++i) m = std::max(m, std::fabs(v[l.index(o, c, i)]));
    scales[c] = m > 0.0f && std::isfinite(m) ? m / static_cast<float>(kWeightQMax) : 1.0f;
  }
  return scales;
}

Result<Tensor> round_weights(const Tensor& w, int64_t axis, std::span<const float> scales) {
  const ChannelLayout l = channel_layout(w.shape(), axis);
  if (scales.size() != 1 && static_cast<int64_t>(scales.size()) != l.channels)
    return Status::invalid_argument("weight scales have " + std::to_string(scales.size()) + " entries for " +
                                    std::to_string(l.channels) + " channels");
  for (float s : scales)
    if (!(s > 0.0f) || !std::isfinite(s)) return Status::invalid_argument("weight scale " + std::to_string(s) + " is not finite and > 0");
  Tensor q(DType::kInt8, w.shape());
  const float* v = w.data<float>();
  int8_t* out = q.data<int8_t>();
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t c = 0; c < l.channels; ++c) {
      const float s = scales[scales.size() == 1 ? 0 : c];
      for (int64_t i = 0; i < l.inner; ++i) {
        const int64_t k = l.index(o, c, i);
        out[k] = static_cast<int8_t>(kernels::quantize_saturate(v[k] / s, 0, -kWeightQMax, kWeightQMax));
      }
    }
  return q;
}

Result<Tensor> round_weights_sum_preserving(const Tensor& w, int64_t axis, std::span<const float> scales,
                                           int64_t group_begin, int64_t group_end) {
  TINYQ_ASSIGN_OR_RETURN(Tensor q, round_weights(w, axis, scales));
  const Shape& shape = w.shape();
  const int64_t rank = w.rank();
  if (group_begin < 0 || group_end > rank || group_begin >= group_end || (axis >= group_begin && axis < group_end))
    return Status::invalid_argument("rounding group dims [" + std::to_string(group_begin) + ", " + std::to_string(group_end) +
                                    ") do not fit a weight of rank " + std::to_string(rank) + " scaled along axis " +
                                    std::to_string(axis));
  // Group (o, i) holds elements o * len * inner + j * inner + i, j in [0, len).
  int64_t outer = 1, len = 1, inner = 1;
  for (int64_t d = 0; d < group_begin; ++d) outer *= shape[d];
  for (int64_t d = group_begin; d < group_end; ++d) len *= shape[d];
  for (int64_t d = group_end; d < rank; ++d) inner *= shape[d];
  const ChannelLayout scale_layout = channel_layout(shape, axis);
  auto scale_of = [&](int64_t k) {
    return scales.size() == 1 ? scales[0] : scales[(k / scale_layout.inner) % scale_layout.channels];
  };
  const float* v = w.data<float>();
  int8_t* out = q.data<int8_t>();
  struct Move {
    double cost;
    int64_t k;
  };
  std::vector<Move> moves;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t base = o * len * inner + i;
      const float s = scale_of(base);  // the scale axis is outside the group: one scale
      double real = 0;
      int64_t sum = 0;
      for (int64_t j = 0; j < len; ++j) {
        real += static_cast<double>(v[base + j * inner]) / s;
        sum += out[base + j * inner];
      }
      int64_t need = static_cast<int64_t>(std::nearbyint(real)) - sum;
      if (need == 0) continue;
      const int dir = need > 0 ? 1 : -1;
      moves.clear();
      for (int64_t j = 0; j < len; ++j) {
        const int64_t k = base + j * inner;
        const int32_t moved = out[k] + dir;
        if (moved < -kWeightQMax || moved > kWeightQMax) continue;
        const double x = static_cast<double>(v[k]) / s;
        moves.push_back({std::fabs(moved - x) - std::fabs(out[k] - x), k});
      }
      // A fresh element costs at most one step more; moving one twice costs a full step, so the
      // cheapest |need| distinct elements are the best moves.
      const size_t n = std::min<size_t>(moves.size(), static_cast<size_t>(std::llabs(need)));
      std::partial_sort(moves.begin(), moves.begin() + static_cast<std::ptrdiff_t>(n), moves.end(),
                        [](const Move& a, const Move& b) { return a.cost < b.cost || (a.cost == b.cost && a.k < b.k); });
      for (size_t m = 0; m < n; ++m) out[moves[m].k] = static_cast<int8_t>(out[moves[m].k] + dir);
    }
  return q;
}

}  // namespace tinyq::quant

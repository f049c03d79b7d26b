// The int8 engine's quantisation and range scans (engine.h: quantize_u8, quantize_quads,
// range_f32, and fused_common.h's dynamic parameters) on every ISA against the scalar arithmetic
// of QuantizeLinear and DynamicQuantizeLinear.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "kernels/int8/engine.h"
#include "kernels/int8/fused_common.h"
#include "kernels/int8/isa.h"
#include "kernels/quant_params.h"

namespace tinyq::kernels::int8 {
namespace {

constexpr uint32_t kSeed = 20261127;

// The zero point's rounding shortcut equals quantize_saturate on ties, edges and specials.
TEST(Int8Engine, ZeroPointRoundingMatchesQuantizeSaturate) {
  std::vector<float> v = {0.0f, -0.0f, 0.5f, 1.5f, 2.5f, 254.5f, 255.0f, 255.49998f, 255.5f, 256.0f, 1e30f,
                          -1.0f, -0.5f, std::nanf(""), std::numeric_limits<float>::infinity(),
                          -std::numeric_limits<float>::infinity(), 0.49999997f, 0.50000006f, 127.5f, 128.5f};
  std::mt19937 rng(kSeed + 9);
  std::uniform_real_distribution<float> u(-10.0f, 300.0f);
  for (int i = 0; i < 100000; ++i) v.push_back(u(rng));
  for (int i = 0; i <= 600; ++i) v.push_back(static_cast<float>(i) * 0.5f);
  for (float x : v) ASSERT_EQ(saturate_u8_round_half_even(x), quantize_saturate(x, 0, 0, 255)) << x;
}

// Quantisation and range scans: every ISA equals DynamicQuantizeLinear's scalar arithmetic,
// including ties, NaN, infinities and values far outside the range.
TEST(Int8Engine, QuantizeMatchesScalarOnEveryIsa) {
  std::mt19937 rng(kSeed + 7);
  std::vector<float> x(1000);
  std::uniform_real_distribution<float> u(-300.0f, 300.0f);
  for (auto& v : x) v = u(rng);
  for (int i = 0; i < 40; ++i) x[i] = static_cast<float>(i) * 0.5f - 10.0f;  // exact ties at scale 1
  x[50] = std::nanf("");
  x[51] = std::numeric_limits<float>::infinity();
  x[52] = -std::numeric_limits<float>::infinity();
  x[53] = 3e30f;
  x[54] = -0.0f;
  for (float scale : {1.0f, 0.37f, 2.5f}) {
    std::vector<uint8_t> want(x.size());
    quantize_u8(Isa::kScalar, x.data(), static_cast<int64_t>(x.size()), scale, 17, want.data());
    for (int64_t n : {int64_t{1000}, int64_t{997}, int64_t{5}}) {
      for (Isa isa : runnable_isas()) {
        std::vector<uint8_t> got(x.size(), 0);
        quantize_u8(isa, x.data(), n, scale, 17, got.data());
        for (int64_t i = 0; i < n; ++i) ASSERT_EQ(got[i], want[i]) << isa_name(isa) << " at " << i << " scale " << scale;
        float lo, hi, rlo, rhi;
        bool bad, rbad;
        range_f32(isa, x.data() + 60, n - 60 > 0 ? n - 60 : 0, &lo, &hi, &bad);
        range_f32(Isa::kScalar, x.data() + 60, n - 60 > 0 ? n - 60 : 0, &rlo, &rhi, &rbad);
        EXPECT_EQ(lo, rlo);
        EXPECT_EQ(hi, rhi);
        EXPECT_FALSE(bad);
        EXPECT_FALSE(rbad);
        range_f32(isa, x.data(), n, &lo, &hi, &bad);
        EXPECT_EQ(bad, n > 50) << isa_name(isa);  // x[50] is NaN
        // Finite inputs within the range take the bounded path, which must agree too.
        std::vector<float> finite(x.begin() + 60, x.end());
        std::vector<uint8_t> a(finite.size()), b(finite.size());
        const float s = 600.0f / 255.0f;
        quantize_u8(Isa::kScalar, finite.data(), static_cast<int64_t>(finite.size()), s, 128, a.data());
        quantize_u8(isa, finite.data(), static_cast<int64_t>(finite.size()), s, 128, b.data(), true);
        EXPECT_EQ(a, b) << isa_name(isa);
      }
    }
  }
}

// Values on, just beside and between the half steps of several scales quantise as the scalar
// x / scale does on every ISA, on the bounded path and (with large values and NaN) the guarded one.
TEST(Int8Engine, QuantizeMatchesScalarAtHalfSteps) {
  for (float scale : {1.0f / 255, 6.0f / 255, 0.37f, 0.0123f, 3.0f, 1.0f}) {
    std::vector<float> x;
    for (int k = -256; k <= 255; ++k) {
      const float t = (static_cast<float>(k) + 0.5f) * scale;  // near k + 0.5 after dividing
      x.push_back(t);
      x.push_back(std::nextafter(t, 1e9f));
      x.push_back(std::nextafter(t, -1e9f));
      x.push_back(std::nextafter(std::nextafter(t, 1e9f), 1e9f));
      x.push_back(static_cast<float>(k) * scale);
    }
    // The bounded contract: |x / scale| < 256; the unbounded path also sees lanes past 512 and NaN.
    std::vector<float> all = x;
    std::erase_if(x, [&](float v) { return !(std::fabs(v / scale) < 255.9f); });
    for (float v : {600.0f * scale, -1e4f * scale, std::nanf(""), 511.5f * scale, -511.5f * scale}) all.push_back(v);
    for (bool bounded : {true, false}) {
      const std::vector<float>& in = bounded ? x : all;
      for (int zp : {0, 128, 255}) {
        std::vector<uint8_t> want(in.size());
        quantize_u8(Isa::kScalar, in.data(), static_cast<int64_t>(in.size()), scale, zp, want.data());
        for (Isa isa : runnable_isas()) {
          std::vector<uint8_t> got(in.size());
          quantize_u8(isa, in.data(), static_cast<int64_t>(in.size()), scale, zp, got.data(), bounded);
          for (size_t i = 0; i < in.size(); ++i)
            ASSERT_EQ(got[i], want[i]) << isa_name(isa) << " x " << in[i] << " scale " << scale << " zp " << zp
                                       << (bounded ? " bounded" : "");
        }
      }
    }
  }
}

// dynamic_params_fast (the zero point without waiting for the scale) equals dynamic_params on
// random ranges over many magnitudes, on ranges whose zero point is a tie or next to one, and on
// the edge cases (zero and one-sided ranges, equal bounds, extreme and non-finite bounds).
TEST(Int8Engine, DynamicParamsFastMatchesDivision) {
  std::mt19937 rng(kSeed + 13);
  std::uniform_real_distribution<float> expo(-30.0f, 30.0f), unit(0.0f, 1.0f);
  std::vector<std::pair<float, float>> ranges = {
      {0.0f, 0.0f},  {0.0f, 1.0f},   {-1.0f, 0.0f},   {-0.0f, 3.0f},    {-1e-45f, 0.0f}, {-1e-45f, 1e-45f},
      {-3e38f, 3e38f}, {-1.0f, 2.0f}, {-2.0f, 1.0f},  {-0x1p-101f, 1.0f}, {-1.0f, 0x1p101f},
      {-std::numeric_limits<float>::infinity(), 1.0f}, {-1.0f, std::numeric_limits<float>::infinity()},
      {std::nanf(""), 1.0f}};
  for (int i = 0; i < 20000; ++i) {
    const float m = std::exp2(expo(rng));
    ranges.push_back({-unit(rng) * m, unit(rng) * m});
    // A zero point at or beside a tie: lo = -(k + 0.5) * scale, nudged by a few ulps.
    const float scale = m / 255.0f;
    const float k = static_cast<float>(rng() % 255);
    float lo = -(k + 0.5f) * scale;
    for (int step = static_cast<int>(rng() % 7) - 3; step != 0; step += step > 0 ? -1 : 1)
      lo = std::nextafter(lo, step > 0 ? 1e30f : -1e30f);
    ranges.push_back({std::min(lo, 0.0f), std::min(lo, 0.0f) + 255.0f * scale});
  }
  for (auto [lo, hi] : ranges) {
    float s1, s2;
    int32_t z1, z2;
    dynamic_params(lo, hi, &s1, &z1);
    dynamic_params_fast(lo, hi, &s2, &z2);
    ASSERT_EQ(z2, z1) << "lo " << lo << " hi " << hi;
    if (std::isnan(s1)) ASSERT_TRUE(std::isnan(s2)) << "lo " << lo << " hi " << hi;
    else ASSERT_EQ(s2, s1) << "lo " << lo << " hi " << hi;
  }
}

// The fast ISAs quantise by the reciprocal with a tie check (quantize_impl): random scales over
// many magnitudes (and the extremes that keep the division), random values in and past the
// range, every length and offset around the four-vector blocks, both paths.
// range_f32 on every ISA finds the minimum, the maximum and a non-finite value wherever it lies:
// in any of the vector scan's accumulators, in its single-vector remainder or in the scalar tail.
TEST(Int8Engine, RangeFindsExtremesAnywhere) {
  std::mt19937 rng(kSeed + 13);
  std::uniform_real_distribution<float> u(-5.0f, 5.0f);
  const float specials[] = {std::nanf(""), std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(), -1e30f, 1e30f};
  for (int64_t n : {int64_t{5}, int64_t{16}, int64_t{63}, int64_t{64}, int64_t{100}, int64_t{257}}) {
    std::vector<float> x(static_cast<size_t>(n));
    for (auto& v : x) v = u(rng);
    for (int64_t pos = 0; pos < n; ++pos)
      for (float special : specials) {
        const float keep = x[pos];
        x[pos] = special;
        float rlo, rhi;
        bool rbad;
        range_f32(Isa::kScalar, x.data(), n, &rlo, &rhi, &rbad);
        for (Isa isa : runnable_isas()) {
          float lo, hi;
          bool bad;
          range_f32(isa, x.data(), n, &lo, &hi, &bad);
          ASSERT_EQ(bad, rbad) << isa_name(isa) << " n " << n << " at " << pos << " " << special;
          ASSERT_EQ(lo, rlo) << isa_name(isa) << " n " << n << " at " << pos << " " << special;
          ASSERT_EQ(hi, rhi) << isa_name(isa) << " n " << n << " at " << pos << " " << special;
        }
        x[pos] = keep;
      }
  }
}

// quantize_quads(isa, ...) equals quantize_u8(Isa::kScalar, ...) laid out in quads: channels
// past the last and pixels past the plane hold the zero point.
void expect_quads_match(const std::vector<float>& x, float scale, int32_t zp, bool bounded) {
  for (int64_t channels : {int64_t{1}, int64_t{3}, int64_t{4}, int64_t{6}}) {
    const int64_t n = static_cast<int64_t>(x.size());
    const int64_t pixels = n / channels, plen = (pixels + 15) / 16 * 16, planes = (channels + 3) / 4;
    const int64_t plane_bytes = 4 * plen + 8;
    std::vector<uint8_t> q(x.size()), want(static_cast<size_t>(planes * plane_bytes), 0xA5);
    quantize_u8(Isa::kScalar, x.data(), n, scale, zp, q.data());
    for (int64_t k = 0; k < planes; ++k)
      for (int64_t i = 0; i < plen; ++i)
        for (int64_t j = 0; j < 4; ++j) {
          const int64_t c = 4 * k + j;
          want[k * plane_bytes + 4 * i + j] = c < channels && i < pixels ? q[c * pixels + i] : zp;
        }
    for (Isa isa : runnable_isas()) {
      std::vector<uint8_t> got(want.size(), 0xA5);
      quantize_quads(isa, x.data(), channels, pixels, plen, scale, zp, bounded, got.data(), plane_bytes);
      for (size_t i = 0; i < got.size(); ++i)
        ASSERT_EQ(got[i], want[i]) << isa_name(isa) << " quads, " << channels << " channels, byte " << i << " scale "
                                   << scale << " zp " << zp << (bounded ? " bounded" : "");
    }
  }
}

// Every ISA's quantize_u8 and quantize_quads against the scalar division, for scales across the
// float range (and past the reciprocal's), values in and far past the 255 steps, and values on
// and next to the half steps.
TEST(Int8Engine, QuantizeByReciprocalMatchesScalar) {
  std::mt19937 rng(kSeed + 11);
  std::uniform_real_distribution<float> expo(-20.0f, 10.0f), unit(-1.0f, 1.0f);
  std::vector<float> scales = {1e-40f, 0x1p-126f, 0x1p126f, 3e38f};
  for (int i = 0; i < 60; ++i) scales.push_back(std::exp2(expo(rng)));
  std::vector<float> x(300);
  for (float scale : scales) {
    for (int trial = 0; trial < 5; ++trial) {
      // Trials 2 and 4 put x on and next to the half steps, near 0 and up to 256 steps.
      const float span = trial == 0 ? 255.0f : trial == 1 ? 600.0f : trial == 2 ? 2.0f : trial == 3 ? 40000.0f : 256.0f;
      const bool half_steps = trial == 2 || trial == 4;
      for (auto& v : x) {
        v = unit(rng) * span * scale;
        if (half_steps) v = (std::round(v / scale * 2.0f) * 0.5f) * scale;
        if (half_steps && (rng() & 1)) v = std::nextafter(v, (rng() & 2) ? 1e30f : -1e30f);
      }
      // The bounded contract at its widest: x finite and |x / scale| <= 256, any zero point.
      const bool may_bound = scale < 1e30f && span <= 256.0f;
      for (int zp : {0, 77, 255}) {
        for (int64_t n : {int64_t{300}, int64_t{64}, int64_t{63}, int64_t{33}, int64_t{1}}) {
          const int64_t off = static_cast<int64_t>(rng() % 3);
          const float* in = x.data() + off;
          const int64_t len = std::min<int64_t>(n, 300 - off);
          std::vector<uint8_t> want(len), got(len);
          quantize_u8(Isa::kScalar, in, len, scale, zp, want.data());
          for (Isa isa : runnable_isas())
            for (bool bounded : {false, true}) {
              if (bounded && !may_bound) continue;
              quantize_u8(isa, in, len, scale, zp, got.data(), bounded);
              for (int64_t i = 0; i < len; ++i)
                ASSERT_EQ(got[i], want[i]) << isa_name(isa) << " x " << in[i] << " scale " << scale << " zp " << zp
                                           << (bounded ? " bounded" : "");
            }
        }
        expect_quads_match(x, scale, zp, false);
        if (may_bound) expect_quads_match(x, scale, zp, true);
      }
    }
  }
}

// The bounded form (engine.h: quantize_u8) as the dynamic ops use it: x within a range [lo, hi]
// around 0, quantised with DynamicQuantizeLinear's scale and zero point for that range. Ranges of
// every sign and magnitude; every other trial moves x onto and next to the half steps (inside the
// range, whose ends stay), where the fast path must divide.
TEST(Int8Engine, QuantizeBoundedMatchesScalar) {
  std::mt19937 rng(kSeed + 12);
  std::uniform_real_distribution<float> expo(-30.0f, 30.0f), unit(0.0f, 1.0f);
  std::vector<float> x(300);
  for (int trial = 0; trial < 600; ++trial) {
    const float magnitude = std::exp2(expo(rng));
    // Trials cycle through ranges of x >= 0 (ReLU outputs), x <= 0 and both signs.
    const float below = trial % 3 == 0 ? 0.0f : trial % 3 == 1 ? 1.0f : unit(rng);
    for (auto& v : x) v = (unit(rng) - below) * magnitude;
    const auto [lo_it, hi_it] = std::minmax_element(x.begin(), x.end());
    const float lo = std::min(0.0f, *lo_it), hi = std::max(0.0f, *hi_it);
    float scale;
    int32_t zp;
    dynamic_params(lo, hi, &scale, &zp);
    if ((trial / 3) % 2)
      for (auto it = x.begin(); it != x.end(); ++it) {
        if (it == lo_it || it == hi_it) continue;
        float v = (std::round(*it / scale * 2.0f) * 0.5f) * scale;
        if (rng() & 1) v = std::nextafter(v, (rng() & 2) ? 1e30f : -1e30f);
        *it = std::clamp(v, lo, hi);
      }
    for (int64_t n : {int64_t{300}, int64_t{64}, int64_t{63}, int64_t{1}}) {
      const int64_t off = static_cast<int64_t>(rng() % 3);
      const float* in = x.data() + off;
      const int64_t len = std::min<int64_t>(n, 300 - off);
      std::vector<uint8_t> want(len), got(len);
      quantize_u8(Isa::kScalar, in, len, scale, zp, want.data());
      for (Isa isa : runnable_isas()) {
        quantize_u8(isa, in, len, scale, zp, got.data(), /*bounded=*/true);
        for (int64_t i = 0; i < len; ++i)
          ASSERT_EQ(got[i], want[i]) << isa_name(isa) << " x " << in[i] << " in [" << lo << ", " << hi << "] scale "
                                     << scale << " zp " << zp;
      }
    }
    expect_quads_match(x, scale, zp, true);
  }
}

}  // namespace
}  // namespace tinyq::kernels::int8

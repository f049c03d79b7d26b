// The features and picture edits of frame_features.h; formulas are documented there.
#include "frame_features.h"

#include <algorithm>
#include <cmath>

namespace tinyq::frame_mlp {

std::array<double, kFeatures> frame_features(const float* x, int h, int w) {
  std::array<double, kFeatures> f{};
  if (h < 3 || w < 3) return f;
  auto at = [&](int r, int c) { return static_cast<double>(x[static_cast<size_t>(r) * w + c]); };
  const double n = static_cast<double>(h) * w;
  double sum = 0;
  for (int r = 0; r < h; ++r)
    for (int c = 0; c < w; ++c) sum += at(r, c);
  const double mu = sum / n;
  double sq = 0;
  for (int r = 0; r < h; ++r)
    for (int c = 0; c < w; ++c) sq += (at(r, c) - mu) * (at(r, c) - mu);
  const double var = sq / n;
  double gh = 0, gv = 0;
  for (int r = 0; r < h; ++r)
    for (int c = 0; c + 1 < w; ++c) gh += std::fabs(at(r, c + 1) - at(r, c));
  for (int r = 0; r + 1 < h; ++r)
    for (int c = 0; c < w; ++c) gv += std::fabs(at(r + 1, c) - at(r, c));
  double lap = 0, hf = 0;
  for (int r = 1; r + 1 < h; ++r)
    for (int c = 1; c + 1 < w; ++c) {
      const double l = 4 * at(r, c) - at(r - 1, c) - at(r + 1, c) - at(r, c - 1) - at(r, c + 1);
      lap += l * l;
      double block = 0;
      for (int dr = -1; dr <= 1; ++dr)
        for (int dc = -1; dc <= 1; ++dc) block += at(r + dr, c + dc);
      const double d = at(r, c) - block / 9;
      hf += d * d;
    }
  const double interior = static_cast<double>(h - 2) * (w - 2);
  f[0] = mu;
  f[1] = std::sqrt(var);
  f[2] = gh / (static_cast<double>(h) * (w - 1));
  f[3] = gv / (static_cast<double>(h - 1) * w);
  f[4] = lap / interior;
  f[5] = (hf / interior) / (var + 1e-4);
  return f;
}

namespace {

float clamp01(double v) { return static_cast<float>(std::clamp(v, 0.0, 1.0)); }

Frame same_size(const Frame& f) {
  Frame o;
  o.size = f.size;
  o.px.resize(f.px.size());
  return o;
}

}  // namespace

Frame hflip(const Frame& f) {
  Frame o = same_size(f);
  for (int r = 0; r < f.size; ++r)
    for (int c = 0; c < f.size; ++c) o.px[static_cast<size_t>(r) * f.size + c] = f.at(r, f.size - 1 - c);
  return o;
}

Frame box3(const Frame& f) {
  Frame o = same_size(f);
  const int n = f.size;
  for (int r = 0; r < n; ++r)
    for (int c = 0; c < n; ++c) {
      double s = 0;
      for (int dr = -1; dr <= 1; ++dr)
        for (int dc = -1; dc <= 1; ++dc) s += f.at(std::clamp(r + dr, 0, n - 1), std::clamp(c + dc, 0, n - 1));
      o.px[static_cast<size_t>(r) * n + c] = static_cast<float>(s / 9);
    }
  return o;
}

Frame sharpen(const Frame& f, double amount) {
  const Frame b = box3(f);
  Frame o = same_size(f);
  for (size_t i = 0; i < f.px.size(); ++i) o.px[i] = clamp01(f.px[i] + amount * (static_cast<double>(f.px[i]) - b.px[i]));
  return o;
}

Frame contrast(const Frame& f, double gain) {
  Frame o = same_size(f);
  for (size_t i = 0; i < f.px.size(); ++i) o.px[i] = clamp01(0.5 + gain * (static_cast<double>(f.px[i]) - 0.5));
  return o;
}

Frame posterise(const Frame& f, int levels) {
  Frame o = same_size(f);
  const double k = levels - 1;
  for (size_t i = 0; i < f.px.size(); ++i) o.px[i] = clamp01(std::floor(f.px[i] * k + 0.5) / k);
  return o;
}

Frame add_noise(const Frame& f, double amplitude, uint64_t seed) {
  Frame o = same_size(f);
  uint64_t state = seed;
  for (size_t i = 0; i < f.px.size(); ++i) o.px[i] = clamp01(f.px[i] + amplitude * (2 * uniform01(state) - 1));
  return o;
}

Frame zoom(const Frame& f, double fraction) {
  Frame o = same_size(f);
  const int n = f.size;
  const int crop = std::clamp(static_cast<int>(std::lround(n * fraction)), 1, n);
  const int off = (n - crop) / 2;
  auto coord = [&](int dst, int& i0, int& i1, double& t) {
    double s = (dst + 0.5) * crop / n - 0.5;
    s = std::clamp(s, 0.0, static_cast<double>(crop - 1));
    i0 = static_cast<int>(std::floor(s));
    i1 = std::min(i0 + 1, crop - 1);
    t = s - i0;
  };
  for (int r = 0; r < n; ++r) {
    int r0, r1;
    double tr;
    coord(r, r0, r1, tr);
    for (int c = 0; c < n; ++c) {
      int c0, c1;
      double tc;
      coord(c, c0, c1, tc);
      const double top = (1 - tc) * f.at(off + r0, off + c0) + tc * f.at(off + r0, off + c1);
      const double bottom = (1 - tc) * f.at(off + r1, off + c0) + tc * f.at(off + r1, off + c1);
      o.px[static_cast<size_t>(r) * n + c] = clamp01((1 - tr) * top + tr * bottom);
    }
  }
  return o;
}

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

double uniform01(uint64_t& state) { return static_cast<double>(splitmix64(state) >> 11) * 0x1.0p-53; }

}  // namespace tinyq::frame_mlp

// The six no-reference features of frame_mlp_v1 (models/registry.json), and the fixed picture
// edits the generator (make_frame_mlp.cpp) uses to make more training rows from a frame.
//
// A frame is a luma map x[r][c] in [0, 1], H rows by W columns (H, W >= 3), row-major. All sums
// are taken in double precision, in row-major order. With N = H*W and the interior I = the pixels
// with 1 <= r <= H-2 and 1 <= c <= W-2 (|I| = (H-2)(W-2)):
//
//   f0 mean luma        mu = sum_{r,c} x[r][c] / N
//   f1 contrast         sigma = sqrt( sum_{r,c} (x[r][c] - mu)^2 / N )          (population std)
//   f2 horizontal grad  sum_{r, c<W-1} |x[r][c+1] - x[r][c]| / (H (W-1))
//   f3 vertical grad    sum_{r<H-1, c} |x[r+1][c] - x[r][c]| / ((H-1) W)
//   f4 Laplacian energy sum_{(r,c) in I} L[r][c]^2 / |I|,
//                       L[r][c] = 4 x[r][c] - x[r-1][c] - x[r+1][c] - x[r][c-1] - x[r][c+1]
//   f5 high-freq ratio  ( sum_{(r,c) in I} (x[r][c] - m[r][c])^2 / |I| ) / (sigma^2 + 1e-4),
//                       m[r][c] = the mean of the 3x3 block centred on (r,c), centre included
//
// The features are stored as float32 (the double values rounded to nearest).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace tinyq::frame_mlp {

inline constexpr int kFeatures = 6;
inline constexpr const char* kFeatureNames[kFeatures] = {"mean_luma", "contrast_std", "grad_h", "grad_v",
                                                        "laplacian_energy", "hf_ratio"};

// The features above of a frame of h rows by w columns; h and w must be at least 3 (the caller
// checks; smaller sizes return all zeros).
std::array<double, kFeatures> frame_features(const float* x, int h, int w);

// A square frame, row-major, and the edits the generator applies to it (see make_frame_mlp.cpp for
// which it uses). Every edit keeps the size; values are clamped to [0, 1] where an edit can leave it.
struct Frame {
  int size = 0;  // rows = columns
  std::vector<float> px;
  float at(int r, int c) const { return px[static_cast<size_t>(r) * size + c]; }
};

Frame hflip(const Frame& f);
// 3x3 box mean, edges replicated.
Frame box3(const Frame& f);
// x + amount * (x - box3(x)), clamped.
Frame sharpen(const Frame& f, double amount);
// 0.5 + gain * (x - 0.5).
Frame contrast(const Frame& f, double gain);
// round(x * (levels - 1)) / (levels - 1).
Frame posterise(const Frame& f, int levels);
// x + amplitude * (2u - 1), u uniform in [0, 1) from splitmix64(seed), one draw per pixel in
// row-major order, clamped.
Frame add_noise(const Frame& f, double amplitude, uint64_t seed);
// The centred crop of side round(size * fraction), resized back to size x size bilinearly
// (half-pixel centres: src = (dst + 0.5) * crop / size - 0.5, clamped to the crop).
Frame zoom(const Frame& f, double fraction);

// splitmix64: the generator's only source of randomness.
uint64_t splitmix64(uint64_t& state);
// A double in [0, 1) from the top 53 bits of splitmix64.
double uniform01(uint64_t& state);

}  // namespace tinyq::frame_mlp

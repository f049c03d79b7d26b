// Writes the QDQ stand-in of an fp32 model (see qdq_stand_in.h): static (calibrated on the rows of
// an .npz, one array per model input, rows on axis 0) or dynamic:
//   tinyq_make_static_qdq MODEL.onnx CALIBRATION.npz OUT.onnx [--rows N] [--s8] [--per-tensor]
//   tinyq_make_static_qdq MODEL.onnx --dynamic OUT.onnx [--per-tensor]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "io/npy.h"
#include "onnx/onnx_io.h"
#include "qdq_stand_in.h"

int main(int argc, char** argv) {
  using namespace tinyq;
  if (argc < 4) {
    std::fprintf(stderr,
                 "usage: %s MODEL.onnx (CALIBRATION.npz | --dynamic) OUT.onnx [--rows N] [--s8] [--per-tensor]\n",
                 argv[0]);
    return 2;
  }
  bench::StandInOptions opt;
  opt.dynamic = std::strcmp(argv[2], "--dynamic") == 0;
  int64_t rows = -1;
  for (int i = 4; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--s8") opt.s8 = true;
    else if (a == "--per-tensor") opt.per_channel = false;
    else if (a == "--rows" && i + 1 < argc) rows = std::atoll(argv[++i]);
    else return std::fprintf(stderr, "unknown option %s\n", a.c_str()), 2;
  }
  auto model = onnx_io::load_model(argv[1]);
  if (!model.is_ok()) return std::fprintf(stderr, "%s\n", model.status().message().c_str()), 1;
  std::vector<std::vector<Tensor>> calibration;
  if (!opt.dynamic) {
    auto data = io::read_npz(argv[2]);
    if (!data.is_ok()) return std::fprintf(stderr, "%s\n", data.status().message().c_str()), 1;
    for (int64_t r = 0;; ++r) {
      std::vector<Tensor> row;
      for (const auto& in : model->graph.inputs)
        for (const auto& [name, t] : *data) {
          if (name != in.name || t.rank() < 1 || r >= t.shape()[0]) continue;
          Shape s = t.shape();
          const int64_t per = t.numel() / s[0];
          s[0] = 1;
          Tensor one(t.dtype(), s);
          std::memcpy(one.raw(), static_cast<const std::byte*>(t.raw()) + r * per * dtype_size(t.dtype()), one.nbytes());
          row.push_back(one);
        }
      if (row.size() != model->graph.inputs.size() || (rows >= 0 && r >= rows)) break;
      calibration.push_back(std::move(row));
    }
    if (calibration.empty()) return std::fprintf(stderr, "no calibration rows for the model's inputs\n"), 1;
  }
  auto qdq = bench::make_static_qdq(*model, calibration, opt);
  if (!qdq.is_ok()) return std::fprintf(stderr, "%s\n", qdq.status().message().c_str()), 1;
  qdq->producer_name = std::string("tinyq ") + (opt.dynamic ? "dynamic" : "static") + " QDQ stand-in";
  Status st = onnx_io::save_model(*qdq, argv[3]);
  if (!st.is_ok()) return std::fprintf(stderr, "%s\n", st.message().c_str()), 1;
  std::printf("wrote %s (%zu calibration rows)\n", argv[3], calibration.size());
  return 0;
}

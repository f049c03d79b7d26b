// Writes what every zoo int8 model (<model>.int8.onnx) outputs on its calibration and fixture
// rows, run one row at a time (batch 1, as the zoo's references), with the fast and with the
// reference kernels: OUT_DIR/<model>.<set>.<fast|reference>.npz, outputs concatenated on axis 0.
// tests/cross_isa/compare_int8.sh runs the x86-64 and the aarch64 build of this program and
// compares the files byte for byte (the npz writer is deterministic).
// With --calibration-sets it instead writes OUT_DIR/<model>.calibration.npz for every zoo fp32
// model (<model>.onnx) with a calibration set: that set's first rows (every array cut on axis 0),
// which compare_int8.sh has `tinyq quantize static` calibrate on, on both ISAs.
// Usage: tinyq_int8_outputs ZOO_DIR OUT_DIR [fast|reference|both]   (default both)
//        tinyq_int8_outputs --calibration-sets ZOO_DIR OUT_DIR
//        (TINYQ_ZOO_MAX_ROWS=N: only the first N rows of each set)
// Exit status: 0 written, 2 error (named on stderr).
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "io/npy.h"
#include "tinyq/session.h"
#include "../zoo_rows.h"

namespace fs = std::filesystem;
using namespace tinyq;

namespace {

Tensor row(const Tensor& t, int64_t r) {
  Shape shape = t.shape();
  shape[0] = 1;
  Tensor out(t.dtype(), shape);
  std::memcpy(out.raw(), static_cast<const std::byte*>(t.raw()) + r * out.nbytes(), out.nbytes());
  return out;
}

// Joins per-row outputs on axis 0.
Tensor concat_rows(const std::vector<Tensor>& rows) {
  Shape shape = rows.front().shape();
  shape[0] = 0;
  for (const Tensor& t : rows) shape[0] += t.shape()[0];
  Tensor out(rows.front().dtype(), shape);
  auto* dst = static_cast<std::byte*>(out.raw());
  for (const Tensor& t : rows) {
    std::memcpy(dst, t.raw(), t.nbytes());
    dst += t.nbytes();
  }
  return out;
}

Status write_outputs(const fs::path& model_file, const fs::path& inputs_file, bool reference_kernels,
                     const fs::path& out_file) {
  SessionOptions opts;
  opts.reference_kernels = reference_kernels;
  TINYQ_ASSIGN_OR_RETURN(auto session, Session::open(model_file.string(), opts));
  TINYQ_ASSIGN_OR_RETURN(io::NamedArrays data, io::read_npz(inputs_file.string()));
  std::vector<Tensor> inputs;
  for (const auto& spec : session->inputs()) {
    const Tensor* found = nullptr;
    for (const auto& a : data)
      if (a.first == spec.name) found = &a.second;
    if (!found) return Status::invalid_argument(inputs_file.string() + ": no array for input " + spec.name);
    inputs.push_back(*found);
  }
  const int64_t rows = tinyq::testing::zoo_rows(inputs.front().shape()[0]);
  std::vector<std::vector<Tensor>> per_output(session->outputs().size());
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<Tensor> feed;
    for (const Tensor& t : inputs) feed.push_back(row(t, r));
    TINYQ_ASSIGN_OR_RETURN(std::vector<Tensor> outs, session->run(feed));
    for (size_t o = 0; o < outs.size(); ++o) per_output[o].push_back(std::move(outs[o]));
  }
  io::NamedArrays named;
  for (size_t o = 0; o < per_output.size(); ++o)
    named.emplace_back(session->outputs()[o].name, concat_rows(per_output[o]));
  return io::write_npz(out_file.string(), named);
}

// --calibration-sets: the first zoo_rows() rows of each fp32 model's calibration set.
int write_calibration_sets(const fs::path& zoo, const fs::path& out) {
  std::error_code ec;
  fs::create_directories(out, ec);
  std::vector<fs::path> sets;
  for (const auto& e : fs::directory_iterator(zoo / "models", ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() <= 5 || name.compare(name.size() - 5, 5, ".onnx") != 0) continue;
    if (name.size() > 10 && name.compare(name.size() - 10, 10, ".int8.onnx") == 0) continue;
    const fs::path set = zoo / "fixtures" / (name.substr(0, name.size() - 5) + ".calibration.npz");
    if (fs::exists(set)) sets.push_back(set);
  }
  if (ec || sets.empty()) {
    std::fprintf(stderr, "%s: no fp32 model with a calibration set in ../fixtures\n", (zoo / "models").c_str());
    return 2;
  }
  std::sort(sets.begin(), sets.end());
  for (const fs::path& set : sets) {
    const fs::path out_file = out / set.filename();
    auto data = io::read_npz(set.string());
    Status st = data.status();
    if (st.is_ok()) {
      for (auto& a : *data) a.second = tinyq::testing::zoo_first_rows(a.second);
      st = io::write_npz(out_file.string(), *data);
    }
    if (!st.is_ok()) {
      std::fprintf(stderr, "%s: %s\n", out_file.c_str(), st.to_string().c_str());
      return 2;
    }
    std::printf("wrote %s\n", out_file.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "--calibration-sets") == 0) {
    if (argc != 4) {
      std::fprintf(stderr, "usage: %s --calibration-sets ZOO_DIR OUT_DIR\n", argv[0]);
      return 2;
    }
    return write_calibration_sets(argv[2], argv[3]);
  }
  const std::string kernels = argc == 4 ? argv[3] : "both";
  if (argc < 3 || argc > 4 || (kernels != "fast" && kernels != "reference" && kernels != "both")) {
    std::fprintf(stderr, "usage: %s ZOO_DIR OUT_DIR [fast|reference|both]\n", argv[0]);
    return 2;
  }
  const fs::path zoo = argv[1], out = argv[2];
  std::error_code ec;
  fs::create_directories(out, ec);
  std::vector<fs::path> models;
  for (const auto& e : fs::directory_iterator(zoo / "models", ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() > 10 && name.compare(name.size() - 10, 10, ".int8.onnx") == 0) models.push_back(e.path());
  }
  if (models.empty()) {
    std::fprintf(stderr, "%s: no *.int8.onnx models\n", (zoo / "models").c_str());
    return 2;
  }
  std::sort(models.begin(), models.end());
  for (const fs::path& model_file : models) {
    const std::string model = model_file.filename().string().substr(0, model_file.filename().string().size() - 10);
    for (const char* set : {"calibration", "fixtures"}) {
      const fs::path inputs_file = zoo / "fixtures" / (model + "." + set + ".npz");
      if (!fs::exists(inputs_file)) continue;
      for (bool reference : {false, true}) {
        if (kernels != "both" && (kernels == "reference") != reference) continue;
        const fs::path out_file = out / (model + "." + set + (reference ? ".reference" : ".fast") + ".npz");
        Status st = write_outputs(model_file, inputs_file, reference, out_file);
        if (!st.is_ok()) {
          std::fprintf(stderr, "%s: %s\n", out_file.c_str(), st.to_string().c_str());
          return 2;
        }
        std::printf("wrote %s\n", out_file.c_str());
      }
    }
  }
  return 0;
}

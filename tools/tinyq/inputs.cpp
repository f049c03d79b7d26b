#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>

#include "cli.h"
#include "io/npy.h"
#include "onnx/onnx_io.h"

namespace tinyq::cli {

namespace fs = std::filesystem;

int fail(const Status& status) {
  std::fprintf(stderr, "tinyq: %s\n", status.message().c_str());
  return kExitBadInput;
}

void add_input_options(CLI::App* cmd, InputOptions* opts) {
  cmd->add_option("--inputs", opts->inputs_file, "an .npz with one array per model input (extra arrays are ignored)");
  cmd->add_option("--input", opts->named_inputs, "NAME=FILE: one input from an .npy or ONNX TensorProto .pb file");
}

namespace {

Result<Tensor> read_single(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  if (ext == ".npy") return io::read_npy(path);
  if (ext == ".pb") {
    TINYQ_ASSIGN_OR_RETURN(auto named, onnx_io::load_tensor_pb(path));
    return named.second;
  }
  return Status::invalid_argument("'" + path + "': expected an .npy or .pb file");
}

}  // namespace

Result<std::vector<Tensor>> load_inputs(const Session& session, const InputOptions& opts) {
  std::map<std::string, Tensor> arrays;
  std::string source;
  if (!opts.inputs_file.empty()) {
    TINYQ_ASSIGN_OR_RETURN(io::NamedArrays named, io::read_npz(opts.inputs_file));
    for (auto& [name, t] : named) arrays[name] = std::move(t);
    source = "'" + opts.inputs_file + "'";
  }
  for (const std::string& spec : opts.named_inputs) {
    auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0)
      return Status::invalid_argument("--input '" + spec + "': expected NAME=FILE");
    TINYQ_ASSIGN_OR_RETURN(Tensor t, read_single(spec.substr(eq + 1)));
    arrays[spec.substr(0, eq)] = std::move(t);
  }
  if (opts.inputs_file.empty() && opts.named_inputs.empty())
    return Status::invalid_argument("no inputs: give --inputs IN.npz or --input NAME=FILE");
  std::vector<Tensor> out;
  for (const TensorSpec& spec : session.inputs()) {
    auto it = arrays.find(spec.name);
    if (it == arrays.end()) {
      std::string have;
      for (const auto& [name, t] : arrays) have += (have.empty() ? "" : ", ") + name;
      return Status::invalid_argument((source.empty() ? std::string("the inputs") : source) + " lack model input '" +
                                      spec.name + "' (" + dtype_name(spec.dtype) + spec.shape_string() +
                                      "); arrays given: " + (have.empty() ? "none" : have));
    }
    out.push_back(it->second);
  }
  return out;
}

namespace {

bool shaped_like_inputs(const Session& session, const std::vector<Tensor>& inputs) {
  for (size_t i = 0; i < inputs.size(); ++i) {
    const TensorSpec& s = session.inputs()[i];
    if (!s.has_shape || s.dims.size() != inputs[i].shape().size()) return false;
    for (size_t d = 0; d < s.dims.size(); ++d)
      if (s.dims[d] >= 0 && s.dims[d] != inputs[i].shape()[d]) return false;
  }
  return true;
}

Tensor slice_rows(const Tensor& t, int64_t begin, int64_t end) {
  Shape shape = t.shape();
  int64_t row = shape[0] ? t.numel() / shape[0] : 0;
  shape[0] = end - begin;
  Tensor out(t.dtype(), shape);
  size_t row_bytes = static_cast<size_t>(row) * dtype_size(t.dtype());
  std::memcpy(out.raw(), static_cast<const std::byte*>(t.raw()) + begin * row_bytes, (end - begin) * row_bytes);
  return out;
}

}  // namespace

Result<std::vector<Tensor>> run_batched(Session& session, const std::vector<Tensor>& inputs, int64_t batch) {
  const auto& specs = session.inputs();
  bool symbolic_batch = !specs.empty() && specs[0].has_shape && !specs[0].dims.empty() && specs[0].dims[0] < 0;
  if (batch <= 0 && (symbolic_batch || shaped_like_inputs(session, inputs))) return session.run(inputs);

  // Row-wise feeding: every input needs the same leading dimension N.
  int64_t rows = -1;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].rank() == 0)
      return Status::invalid_argument("input '" + specs[i].name + "': a scalar cannot be split into rows");
    if (rows >= 0 && inputs[i].shape()[0] != rows)
      return Status::invalid_argument("input '" + specs[i].name + "' has " + std::to_string(inputs[i].shape()[0]) +
                                      " rows, '" + specs[0].name + "' has " + std::to_string(rows));
    rows = inputs[i].shape()[0];
  }
  if (batch <= 0) batch = (specs[0].has_shape && !specs[0].dims.empty() && specs[0].dims[0] > 0) ? specs[0].dims[0] : rows;
  if (rows % batch != 0 && !symbolic_batch)
    return Status::invalid_argument(std::to_string(rows) + " rows do not split into batches of " + std::to_string(batch) +
                                    " (the model's batch dimension is fixed)");
  std::vector<std::vector<Tensor>> parts;
  for (int64_t begin = 0; begin < rows; begin += batch) {
    int64_t end = std::min(rows, begin + batch);
    std::vector<Tensor> chunk;
    for (const auto& t : inputs) chunk.push_back(slice_rows(t, begin, end));
    auto out = session.run(chunk);
    if (!out.is_ok()) return out.status().with_context("rows " + std::to_string(begin) + ".." + std::to_string(end - 1));
    parts.push_back(std::move(out).value());
  }
  std::vector<Tensor> result;
  if (parts.empty()) return session.run(inputs);
  for (size_t o = 0; o < parts[0].size(); ++o) {
    Shape shape = parts[0][o].shape();
    if (shape.empty()) shape = {1};
    int64_t total = 0;
    for (const auto& p : parts) total += p[o].rank() == 0 ? 1 : p[o].shape()[0];
    shape[0] = total;
    Tensor cat(parts[0][o].dtype(), shape);
    size_t offset = 0;
    for (const auto& p : parts) {
      std::memcpy(static_cast<std::byte*>(cat.raw()) + offset, p[o].raw(), p[o].nbytes());
      offset += p[o].nbytes();
    }
    result.push_back(std::move(cat));
  }
  return result;
}

}  // namespace tinyq::cli

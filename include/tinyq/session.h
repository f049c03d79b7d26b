// Session: loads an ONNX model once and runs it many times. Plans (kernels with precomputed
// parameters, and a preallocated arena) are built per set of input shapes and cached, so a run
// with shapes seen before allocates nothing on the heap when run_into() is used.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tinyq/status.h"
#include "tinyq/tensor.h"

namespace tinyq {

namespace ir {
struct Model;
}

// Caps that keep a hostile or corrupt model from exhausting memory: a model or plan over one is
// refused with kLimit, naming the model and the limit, before anything that large is allocated.
// The defaults leave ample room for the tiny models tinyq is for.
struct ResourceLimits {
  uint64_t max_model_bytes = uint64_t{1} << 31;     // the .onnx file, and each external data file
  int64_t max_tensor_elements = int64_t{1} << 30;   // any initializer, input or planned tensor
  int64_t max_nodes = 100000;                       // nodes in the graph
  uint64_t max_session_bytes = uint64_t{4} << 30;   // constants + every cached plan's arena and folded tensors
};

struct SessionOptions {
  int threads = 1;                 // intra-op threads; 1 runs on the calling thread
  bool reference_kernels = false;  // use the scalar reference kernels (for testing)
  bool graph_passes = true;        // fuse subgraphs (e.g. int8 chains); false runs the graph as written
  size_t max_cached_plans = 8;     // plans kept for distinct input shapes
  ResourceLimits limits;
};

// A declared graph input or output. dims[i] < 0 marks a symbolic dimension named symbols[i].
struct TensorSpec {
  std::string name;
  DType dtype = DType::kUndefined;
  bool has_shape = false;
  std::vector<int64_t> dims;
  std::vector<std::string> symbols;
  std::string shape_string() const;  // "[N,6]"
};

// A borrowed input buffer: contiguous, row-major.
struct TensorView {
  DType dtype = DType::kUndefined;
  std::span<const int64_t> shape;
  const void* data = nullptr;
  static TensorView of(const Tensor& t) { return {t.dtype(), t.shape(), t.raw()}; }
};

class Session {
 public:
  // Loads a .onnx file (with external data beside it).
  static Result<std::unique_ptr<Session>> open(const std::string& path, const SessionOptions& options = {});
  // Parses model bytes already in memory; external data resolves inside base_dir.
  static Result<std::unique_ptr<Session>> from_bytes(const void* bytes, size_t size, const std::string& base_dir,
                                                     const std::string& display_name,
                                                     const SessionOptions& options = {});
  // Takes a model already in tinyq's IR (used by the quantisers and tests).
  static Result<std::unique_ptr<Session>> from_ir(ir::Model model, const std::string& display_name,
                                                  const SessionOptions& options = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const std::string& name() const;
  const std::vector<TensorSpec>& inputs() const;
  const std::vector<TensorSpec>& outputs() const;
  int64_t opset() const;

  // Runs with inputs in declared order; returns outputs in declared order.
  Result<std::vector<Tensor>> run(std::span<const Tensor> inputs);
  // Runs into caller-owned outputs, which must already have the right dtype and shape (take them
  // from a previous run() or from output_shapes()). Allocation-free once the plan is cached.
  Status run_into(std::span<const TensorView> inputs, std::span<Tensor> outputs);
  // Output dtypes and shapes for these inputs (builds and caches the plan).
  Result<std::vector<Tensor>> allocate_outputs(std::span<const TensorView> inputs);

  // Bytes of weights and other constants the session keeps: the model's initializers (after the
  // graph passes, e.g. int8 weights packed once) plus, for every cached plan instance, tensors
  // folded at plan time and the copies its kernels report keeping (Kernel::resident_bytes).
  size_t resident_weight_bytes() const;

  struct Impl;

 private:
  explicit Session(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tinyq

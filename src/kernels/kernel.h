// The kernel contract. Each op has a factory that validates the node at plan time, infers its
// outputs' dtypes and shapes, and returns a Kernel with every shape-dependent parameter
// precomputed, so that Kernel::run does arithmetic only: no allocation, no lookups.
//
// How to add an op: write src/kernels/<op>.cpp with a factory
//   Result<std::unique_ptr<Kernel>> make_<op>(PrepareContext& ctx);
// and add one TINYQ_OP line to src/kernels/ops.def. A scalar reference kernel is required; a fast
// kernel is optional and is returned only when ctx.impl() == KernelImpl::kFast.
#pragma once

#include <pthreadpool.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ir/graph.h"
#include "tinyq/status.h"
#include "tinyq/tensor.h"

namespace tinyq::kernels {

// Plan-time facts about one tensor.
struct TensorInfo {
  DType dtype = DType::kUndefined;
  Shape shape;
  const Tensor* value = nullptr;  // set when the value is known at plan time
};

enum class KernelImpl {
  kFast,       // the fastest exact kernel available
  kReference,  // the plain scalar kernel that fast kernels are tested against
};

// Pointers for one run. Buffers are contiguous, row-major and shaped as at plan time;
// inputs[i] is nullptr for an omitted optional input. Outputs never alias inputs.
struct KernelArgs {
  const void* const* inputs;
  void* const* outputs;
  void* scratch;            // scratch_bytes() bytes, 64-byte aligned, not preserved between runs
  pthreadpool_t threadpool;  // nullptr: run on the calling thread
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual void run(const KernelArgs& args) = 0;
  virtual size_t scratch_bytes() const { return 0; }
  // Bytes the kernel keeps for its whole life besides its inputs (packed weight copies, per-channel
  // tables), for Session::resident_weight_bytes(); kernels that report 0 keep none or don't say.
  virtual size_t resident_bytes() const { return 0; }
};

// A Kernel around a callable `void(const KernelArgs&)`, for kernels whose state fits in a capture;
// `resident` is what the capture keeps (Kernel::resident_bytes).
template <typename Fn>
class LambdaKernel final : public Kernel {
 public:
  LambdaKernel(Fn fn, size_t scratch, size_t resident) : fn_(std::move(fn)), scratch_(scratch), resident_(resident) {}
  void run(const KernelArgs& args) override { fn_(args); }
  size_t scratch_bytes() const override { return scratch_; }
  size_t resident_bytes() const override { return resident_; }

 private:
  Fn fn_;
  size_t scratch_, resident_;
};

template <typename Fn>
std::unique_ptr<Kernel> make_kernel(Fn fn, size_t scratch_bytes = 0, size_t resident_bytes = 0) {
  return std::make_unique<LambdaKernel<Fn>>(std::move(fn), scratch_bytes, resident_bytes);
}

// What a factory sees of its node at plan time.
class PrepareContext {
 public:
  // max_tensor_elements is the session's ResourceLimits::max_tensor_elements.
  PrepareContext(const ir::Node& node, int64_t opset, KernelImpl impl, std::vector<TensorInfo> inputs,
                 int64_t max_tensor_elements = INT64_MAX);

  const ir::Node& node() const { return node_; }
  int64_t opset() const { return opset_; }
  KernelImpl impl() const { return impl_; }

  int num_inputs() const { return static_cast<int>(inputs_.size()); }
  // True when input i is given (not omitted with "" and not past the end).
  bool has_input(int i) const;
  const TensorInfo& input(int i) const;
  // The plan-time value of input i. Fails, naming the node, when the value is only known at run
  // time; the planner then re-plans with the graph inputs it depends on treated as constants.
  Result<const Tensor*> const_input(int i);
  // Value-dependent inputs the factory asked for but could not get (read by the planner).
  const std::vector<int>& missing_const_inputs() const { return missing_const_; }

  int num_outputs() const { return static_cast<int>(node_.outputs.size()); }
  bool has_output(int i) const { return i < num_outputs() && !node_.outputs[i].empty(); }
  void set_output(int i, DType dtype, Shape shape);
  const std::vector<TensorInfo>& outputs() const { return outputs_; }
  // Declares that the outputs depend only on input shapes, never on input values (Shape, Size):
  // the planner then folds the node at plan time and runs the kernel with null input pointers.
  void set_outputs_independent_of_input_values() { value_independent_ = true; }
  bool outputs_independent_of_input_values() const { return value_independent_; }
  // Kernels that apply node().clamp_min/clamp_max to their output call this; the planner refuses
  // a node carrying a fused clamp whose kernel did not accept it.
  void accept_fused_clamp() { clamp_accepted_ = true; }
  bool fused_clamp_accepted() const { return clamp_accepted_; }

  bool has_attr(const char* name) const { return node_.attr(name) != nullptr; }
  int64_t attr_int(const char* name, int64_t def) const;
  float attr_float(const char* name, float def) const;
  std::string attr_string(const char* name, const std::string& def) const;
  std::vector<int64_t> attr_ints(const char* name) const;  // empty when absent
  std::vector<float> attr_floats(const char* name) const;  // empty when absent
  const Tensor* attr_tensor(const char* name) const;        // nullptr when absent

  // kLimit naming the node when `shape` is over the session's max_tensor_elements (or overflows).
  // The planner checks every output after the factory returns; a factory whose plan-time tables
  // grow with an output's size (Resize's taps) checks first.
  Status check_elements(const Shape& shape, const char* what) const;

  // Fails, naming the node and the attribute, when the node carries an attribute not in `known`.
  Status check_attrs(std::initializer_list<const char*> known) const;
  // Errors that name the node: bad model data, and valid ONNX that tinyq does not implement.
  Status error(const std::string& msg) const;
  Status unsupported(const std::string& msg) const;

 private:
  const ir::Node& node_;
  int64_t opset_;
  KernelImpl impl_;
  int64_t max_tensor_elements_;
  std::vector<TensorInfo> inputs_;
  std::vector<TensorInfo> outputs_;
  std::vector<int> missing_const_;
  bool value_independent_ = false;
  bool clamp_accepted_ = false;
};

using KernelFactory = Result<std::unique_ptr<Kernel>> (*)(PrepareContext& ctx);

// Domain of tinyq's internal ops (fused nodes made by graph passes; TINYQ_INTERNAL_OP in ops.def).
inline constexpr const char* kInternalDomain = "tinyq";

// The factory for a default-domain op ("" or "ai.onnx") or an internal op (kInternalDomain), or
// nullptr when tinyq lacks it.
KernelFactory find_kernel(const std::string& domain, const std::string& op_type);
// Every registered op type, in ops.def order.
std::vector<std::string> registered_ops();

}  // namespace tinyq::kernels

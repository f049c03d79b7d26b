// A Plan is a graph specialised to one set of input shapes: kernels prepared in order, constants
// folded, and every intermediate tensor given a fixed offset in one preallocated arena.
#pragma once

#include <pthreadpool.h>

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "kernels/kernel.h"
#include "tinyq/session.h"

namespace tinyq::runtime {

// What the planner is told about each graph input.
struct InputBinding {
  DType dtype = DType::kUndefined;
  Shape shape;
  const Tensor* value = nullptr;  // set for value-keyed inputs (their value fixes the plan)
};

// What one plan may take (from the session's ResourceLimits): the element count of every tensor,
// and the bytes of its arena plus the constants it makes (folded tensors, kernels' packed copies).
struct PlanLimits {
  int64_t max_tensor_elements = INT64_MAX;
  uint64_t max_bytes = UINT64_MAX;
};

class Plan {
 public:
  // Builds a plan. When a kernel needs the value of tensors that depend on graph inputs not yet
  // value-keyed, returns an error and sets `*needs_value` for those inputs. Over a limit, returns
  // kLimit before allocating the tensor, fold or arena that would exceed it.
  static Result<std::unique_ptr<Plan>> build(const ir::Model& model, std::span<const InputBinding> inputs,
                                             kernels::KernelImpl impl, const PlanLimits& limits,
                                             std::vector<bool>* needs_value);

  // Runs with borrowed inputs; writes the graph outputs into `outputs` (shapes already checked).
  void run(std::span<const void* const> inputs, std::span<void* const> outputs, pthreadpool_t pool);

  const std::vector<kernels::TensorInfo>& output_infos() const { return output_infos_; }
  size_t arena_bytes() const { return arena_bytes_; }
  // Bytes of constants made at plan time (folded tensors) plus what kernels keep (packed weights).
  size_t resident_bytes() const;
  size_t num_steps() const { return steps_.size(); }
  // Everything the plan holds: arena plus resident_bytes(); what PlanLimits::max_bytes bounds.
  size_t held_bytes() const { return arena_bytes_ + resident_bytes(); }

 private:
  enum class SlotKind { kInput, kConstant, kArena };
  struct Slot {
    SlotKind kind = SlotKind::kArena;
    DType dtype = DType::kUndefined;
    Shape shape;
    size_t bytes = 0;
    size_t offset = 0;     // kArena
    int input_index = -1;  // kInput
    const Tensor* constant = nullptr;
  };
  struct Step {
    std::unique_ptr<kernels::Kernel> kernel;
    uint32_t first_arg = 0;  // into arg_slots_ / arg_ptrs_: inputs then outputs
    uint32_t num_inputs = 0;
    uint32_t num_outputs = 0;
    size_t scratch_offset = 0;
  };

  std::vector<Slot> slots_;
  std::vector<Step> steps_;
  std::vector<int> arg_slots_;                 // slot per kernel argument; -1 = omitted
  std::vector<void*> arg_ptrs_;                // fixed at plan time, but for graph inputs
  std::vector<std::pair<uint32_t, int>> input_args_;  // (argument, graph input) patched per run
  std::vector<std::unique_ptr<Tensor>> folded_;  // constants computed at plan time
  std::vector<int> output_slots_;
  std::vector<kernels::TensorInfo> output_infos_;
  size_t arena_bytes_ = 0;
  std::unique_ptr<std::byte, void (*)(void*)> arena_{nullptr, nullptr};
};

}  // namespace tinyq::runtime

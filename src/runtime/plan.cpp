#include "runtime/plan.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <unordered_map>

#include "util/checked_numel.h"

namespace tinyq::runtime {

namespace {

constexpr size_t kArenaAlignment = 64;  // cache line; also what SIMD kernels may assume

size_t align_up(size_t n) { return (n + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment; }

struct Interval {
  size_t bytes;
  size_t first;  // step that writes it
  size_t last;   // last step that reads it
  size_t* offset;
};

// Greedy by size: each block takes the lowest offset that no block alive at the same time holds.
size_t assign_offsets(std::vector<Interval>& blocks) {
  std::sort(blocks.begin(), blocks.end(), [](const Interval& a, const Interval& b) { return a.bytes > b.bytes; });
  std::vector<const Interval*> placed;
  size_t total = 0;
  for (Interval& b : blocks) {
    std::vector<std::pair<size_t, size_t>> busy;
    for (const Interval* p : placed)
      if (p->first <= b.last && b.first <= p->last) busy.emplace_back(*p->offset, *p->offset + p->bytes);
    std::sort(busy.begin(), busy.end());
    size_t offset = 0;
    for (const auto& [lo, hi] : busy) {
      if (offset + b.bytes <= lo) break;
      offset = std::max(offset, align_up(hi));
    }
    *b.offset = offset;
    total = std::max(total, offset + b.bytes);
    placed.push_back(&b);
  }
  return align_up(total);
}

}  // namespace

Result<std::unique_ptr<Plan>> Plan::build(const ir::Model& model, std::span<const InputBinding> inputs,
                                          kernels::KernelImpl impl, const PlanLimits& limits,
                                          std::vector<bool>* needs_value) {
  const ir::Graph& g = model.graph;
  const int64_t opset = model.opset();
  auto plan = std::unique_ptr<Plan>(new Plan());
  std::unordered_map<std::string, int> slot_of;
  std::vector<int> producer;  // node index per slot, -1 for inputs and initializers

  // Every tensor's shape is checked before anything multiplies its dimensions.
  auto add_slot = [&](const std::string& name, Slot s, const std::string& what) -> Result<int> {
    TINYQ_RETURN_IF_ERROR(util::check_tensor_elements(s.shape, limits.max_tensor_elements, what));
    s.bytes = static_cast<size_t>(shape_numel(s.shape)) * dtype_size(s.dtype);
    plan->slots_.push_back(std::move(s));
    producer.push_back(-1);
    slot_of[name] = static_cast<int>(plan->slots_.size()) - 1;
    return static_cast<int>(plan->slots_.size()) - 1;
  };
  // Bytes of constants this plan makes, checked before each is allocated.
  uint64_t made_bytes = 0;
  auto check_bytes = [&](uint64_t bytes, const std::string& what) -> Status {
    if (bytes > limits.max_bytes || made_bytes > limits.max_bytes - bytes)
      return Status::limit(what + " needs " + std::to_string(bytes) + " bytes, which brings the plan to " +
                           std::to_string(made_bytes + bytes) + " bytes, more than the " + std::to_string(limits.max_bytes) +
                           " bytes max_session_bytes leaves it");
    return Status::ok();
  };
  auto take_bytes = [&](uint64_t bytes, const std::string& what) -> Status {
    TINYQ_RETURN_IF_ERROR(check_bytes(bytes, what));
    made_bytes += bytes;
    return Status::ok();
  };

  for (const auto& [name, t] : g.initializers) {
    Slot s;
    s.kind = SlotKind::kConstant;
    s.dtype = t.dtype();
    s.shape = t.shape();
    s.constant = &t;
    TINYQ_RETURN_IF_ERROR(add_slot(name, std::move(s), "initializer '" + name + "'").status());
  }
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    Slot s;
    s.dtype = inputs[i].dtype;
    s.shape = inputs[i].shape;
    if (inputs[i].value) {
      TINYQ_RETURN_IF_ERROR(take_bytes(inputs[i].value->nbytes(), "the value of input '" + g.inputs[i].name + "'"));
      plan->folded_.push_back(std::make_unique<Tensor>(inputs[i].value->clone()));
      s.kind = SlotKind::kConstant;
      s.constant = plan->folded_.back().get();
    } else {
      s.kind = SlotKind::kInput;
      s.input_index = static_cast<int>(i);
    }
    TINYQ_RETURN_IF_ERROR(add_slot(g.inputs[i].name, std::move(s), "input '" + g.inputs[i].name + "'").status());
  }

  // The graph inputs a slot's value depends on.
  auto mark_sources = [&](int slot) {
    bool newly = false;
    std::vector<int> stack{slot};
    std::vector<bool> seen(plan->slots_.size(), false);
    while (!stack.empty()) {
      int s = stack.back();
      stack.pop_back();
      if (seen[s]) continue;
      seen[s] = true;
      if (plan->slots_[s].kind == SlotKind::kInput) {
        int idx = plan->slots_[s].input_index;
        if (!(*needs_value)[idx]) newly = true;
        (*needs_value)[idx] = true;
      }
      if (producer[s] >= 0)
        for (const auto& in : g.nodes[producer[s]].inputs)
          if (!in.empty()) stack.push_back(slot_of.at(in));
    }
    return newly;
  };

  std::vector<size_t> first_use_step, last_use_step;
  for (const ir::Node& node : g.nodes) {
    kernels::KernelFactory factory = kernels::find_kernel(node.domain, node.op_type);
    if (!factory)
      return Status::unsupported(node.describe() + ": op " + (node.domain.empty() ? "" : node.domain + ".") +
                                 node.op_type + " is not supported by tinyq");
    // Every op tinyq runs has a required first output, which its kernel writes unconditionally.
    if (node.outputs.empty() || node.outputs[0].empty())
      return Status::corrupt(node.describe() + ": has no output 0, which " + node.op_type + " requires");
    std::vector<kernels::TensorInfo> infos;
    std::vector<int> in_slots;
    bool all_constant = true;
    for (const auto& in : node.inputs) {
      kernels::TensorInfo info;
      if (in.empty()) {
        in_slots.push_back(-1);
      } else {
        auto it = slot_of.find(in);
        if (it == slot_of.end()) return Status::internal(node.describe() + ": input '" + in + "' has no slot");
        const Slot& s = plan->slots_[it->second];
        info.dtype = s.dtype;
        info.shape = s.shape;
        info.value = s.kind == SlotKind::kConstant ? s.constant : nullptr;
        if (s.kind != SlotKind::kConstant) all_constant = false;
        in_slots.push_back(it->second);
      }
      infos.push_back(std::move(info));
    }
    kernels::PrepareContext ctx(node, opset, impl, std::move(infos), limits.max_tensor_elements);
    auto made = factory(ctx);
    if (!made.is_ok()) {
      bool newly = false;
      for (int i : ctx.missing_const_inputs())
        if (in_slots[i] >= 0) newly |= mark_sources(in_slots[i]);
      return made.status();  // the caller re-plans when `newly` marked inputs
    }
    std::unique_ptr<kernels::Kernel> kernel = std::move(made).value();
    if (node.has_clamp() && !ctx.fused_clamp_accepted())
      return Status::internal(node.describe() + ": carries a fused activation its kernel does not apply");
    std::vector<int> out_slots;
    for (int i = 0; i < ctx.num_outputs(); ++i) {
      if (!ctx.has_output(i)) {
        out_slots.push_back(-1);
        continue;
      }
      const kernels::TensorInfo& o = ctx.outputs()[i];
      if (o.dtype == DType::kUndefined)
        return Status::internal(node.describe() + ": kernel did not set output " + std::to_string(i));
      if (slot_of.count(node.outputs[i])) return Status::corrupt(node.describe() + ": output '" + node.outputs[i] + "' is produced twice");
      Slot s;
      s.dtype = o.dtype;
      s.shape = o.shape;
      TINYQ_ASSIGN_OR_RETURN(int id, add_slot(node.outputs[i], std::move(s),
                                              node.describe() + ": output '" + node.outputs[i] + "'"));
      producer[id] = node.index;
      out_slots.push_back(id);
    }

    if (ctx.outputs_independent_of_input_values()) all_constant = true;
    if (all_constant) {
      // Fold now: run the kernel once at plan time and keep its outputs as constants.
      uint64_t fold_bytes = 0;
      for (int s : out_slots)
        if (s >= 0) fold_bytes += plan->slots_[s].bytes;
      TINYQ_RETURN_IF_ERROR(take_bytes(fold_bytes, node.describe() + ": folding"));
      TINYQ_RETURN_IF_ERROR(check_bytes(kernel->scratch_bytes(), node.describe() + ": folding scratch"));
      std::vector<const void*> in_ptrs;
      for (int s : in_slots)
        in_ptrs.push_back(s < 0 || !plan->slots_[s].constant ? nullptr : plan->slots_[s].constant->raw());
      std::vector<void*> out_ptrs;
      for (int s : out_slots) {
        if (s < 0) {
          plan->folded_.push_back(std::make_unique<Tensor>(DType::kUInt8, Shape{0}));
          out_ptrs.push_back(nullptr);
          continue;
        }
        Slot& slot = plan->slots_[s];
        plan->folded_.push_back(std::make_unique<Tensor>(slot.dtype, slot.shape));
        slot.kind = SlotKind::kConstant;
        slot.constant = plan->folded_.back().get();
        out_ptrs.push_back(plan->folded_.back()->raw());
      }
      size_t scratch = kernel->scratch_bytes();
      void* scratch_ptr = scratch ? std::aligned_alloc(kArenaAlignment, align_up(scratch)) : nullptr;
      kernels::KernelArgs args{in_ptrs.data(), out_ptrs.data(), scratch_ptr, nullptr};
      kernel->run(args);
      std::free(scratch_ptr);
      continue;
    }

    Step step;
    step.kernel = std::move(kernel);
    step.first_arg = static_cast<uint32_t>(plan->arg_slots_.size());
    step.num_inputs = static_cast<uint32_t>(in_slots.size());
    step.num_outputs = static_cast<uint32_t>(out_slots.size());
    for (int s : in_slots) plan->arg_slots_.push_back(s);
    for (int s : out_slots) plan->arg_slots_.push_back(s);
    plan->steps_.push_back(std::move(step));
  }

  for (const auto& out : g.outputs) {
    auto it = slot_of.find(out.name);
    if (it == slot_of.end()) return Status::corrupt("graph output '" + out.name + "' is never produced");
    plan->output_slots_.push_back(it->second);
    const Slot& s = plan->slots_[it->second];
    plan->output_infos_.push_back({s.dtype, s.shape, nullptr});
  }

  // Lifetimes of arena tensors, in step indices; graph outputs live to the end.
  const size_t n = plan->slots_.size();
  std::vector<size_t> first(n, SIZE_MAX), last(n, 0);
  for (size_t si = 0; si < plan->steps_.size(); ++si) {
    const Step& st = plan->steps_[si];
    for (uint32_t a = 0; a < st.num_inputs + st.num_outputs; ++a) {
      int s = plan->arg_slots_[st.first_arg + a];
      if (s < 0) continue;
      first[s] = std::min(first[s], si);
      last[s] = std::max(last[s], si);
    }
  }
  for (int s : plan->output_slots_) last[s] = plan->steps_.size();
  std::vector<Interval> blocks;
  for (size_t s = 0; s < n; ++s) {
    Slot& slot = plan->slots_[s];
    if (slot.kind != SlotKind::kArena || first[s] == SIZE_MAX) continue;
    blocks.push_back({std::max<size_t>(slot.bytes, 1), first[s], last[s], &slot.offset});
  }
  for (size_t si = 0; si < plan->steps_.size(); ++si) {
    size_t scratch = plan->steps_[si].kernel->scratch_bytes();
    if (scratch) blocks.push_back({scratch, si, si, &plan->steps_[si].scratch_offset});
  }
  plan->arena_bytes_ = assign_offsets(blocks);
  uint64_t kept = 0;
  for (const Step& st : plan->steps_) kept += st.kernel->resident_bytes();
  TINYQ_RETURN_IF_ERROR(take_bytes(kept, "the kernels' packed constants"));
  TINYQ_RETURN_IF_ERROR(take_bytes(plan->arena_bytes_, "the arena"));
  void* arena = std::aligned_alloc(kArenaAlignment, std::max<size_t>(plan->arena_bytes_, kArenaAlignment));
  if (!arena) return Status::limit("cannot allocate a " + std::to_string(plan->arena_bytes_) + "-byte arena");
  plan->arena_ = {static_cast<std::byte*>(arena), &std::free};

  plan->arg_ptrs_.resize(plan->arg_slots_.size(), nullptr);
  for (size_t a = 0; a < plan->arg_slots_.size(); ++a) {
    int s = plan->arg_slots_[a];
    if (s < 0) continue;
    const Slot& slot = plan->slots_[s];
    if (slot.kind == SlotKind::kConstant) plan->arg_ptrs_[a] = const_cast<void*>(slot.constant->raw());
    else if (slot.kind == SlotKind::kArena) plan->arg_ptrs_[a] = plan->arena_.get() + slot.offset;
    else plan->input_args_.emplace_back(static_cast<uint32_t>(a), slot.input_index);
  }
  return plan;
}

size_t Plan::resident_bytes() const {
  size_t total = 0;
  for (const auto& t : folded_) total += t->nbytes();
  for (const Step& st : steps_) total += st.kernel->resident_bytes();
  return total;
}

void Plan::run(std::span<const void* const> inputs, std::span<void* const> outputs, pthreadpool_t pool) {
  std::byte* arena = arena_.get();
  for (const auto& [arg, input] : input_args_) arg_ptrs_[arg] = const_cast<void*>(inputs[input]);
  for (Step& st : steps_) {
    kernels::KernelArgs args{const_cast<const void* const*>(arg_ptrs_.data() + st.first_arg),
                             arg_ptrs_.data() + st.first_arg + st.num_inputs, arena + st.scratch_offset, pool};
    st.kernel->run(args);
  }
  for (size_t i = 0; i < output_slots_.size(); ++i) {
    const Slot& s = slots_[output_slots_[i]];
    const void* src = s.kind == SlotKind::kArena      ? arena + s.offset
                      : s.kind == SlotKind::kConstant ? s.constant->raw()
                                                      : inputs[s.input_index];
    if (s.bytes) std::memcpy(outputs[i], src, s.bytes);
  }
}

}  // namespace tinyq::runtime

#include "tinyq/session.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <mutex>

#include "ir/graph.h"
#include "onnx/onnx_io.h"
#include "passes/optimize.h"
#include "runtime/plan.h"
#include "util/checked_numel.h"

namespace tinyq {

std::string TensorSpec::shape_string() const {
  if (!has_shape) return "[?]";
  std::string out = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) out += ",";
    out += dims[i] >= 0 ? std::to_string(dims[i]) : (symbols[i].empty() ? "?" : symbols[i]);
  }
  return out + "]";
}

namespace {

TensorSpec spec_of(const ir::ValueInfo& v) {
  TensorSpec s;
  s.name = v.name;
  s.dtype = v.dtype;
  s.has_shape = v.has_shape;
  for (const auto& d : v.dims) {
    s.dims.push_back(d.is_fixed() ? d.value : -1);
    s.symbols.push_back(d.symbol);
  }
  return s;
}

// Re-plans after a kernel asks for an input's value; bounded by the number of graph inputs.
constexpr int kMaxPlanAttempts = 64;

}  // namespace

struct Session::Impl {
  ir::Model model;
  std::string name;
  SessionOptions options;
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
  std::vector<bool> value_keyed;
  pthreadpool_t pool = nullptr;
  // Guards `plans` and `value_keyed`. A Plan instance runs one call at a time, so concurrent
  // calls each check out an idle instance of the matching plan (building another when all are
  // busy) and return it afterwards; the lock is held only for that bookkeeping.
  std::mutex mu;

  struct Cached {
    std::vector<DType> dtypes;
    std::vector<Shape> shapes;
    std::vector<Tensor> key_values;  // values of value-keyed inputs (empty Tensor otherwise)
    std::vector<kernels::TensorInfo> output_infos;
    std::vector<std::unique_ptr<runtime::Plan>> idle;  // instances ready to run
    size_t instances = 0;       // built, idle or checked out
    size_t instance_bytes = 0;  // Plan::held_bytes() of each
  };
  std::vector<std::shared_ptr<Cached>> plans;  // most recently used first
  uint64_t constant_bytes = 0;                 // the model's initializers, after the graph passes

  // An instance checked out for one call.
  struct Lease {
    std::shared_ptr<Cached> entry;
    std::unique_ptr<runtime::Plan> plan;
  };

  ~Impl() {
    if (pool) pthreadpool_destroy(pool);
  }

  Status check_inputs(std::span<const TensorView> in) const {
    if (in.size() != inputs.size())
      return Status::invalid_argument("model '" + name + "' takes " + std::to_string(inputs.size()) + " inputs, got " +
                                      std::to_string(in.size()));
    for (size_t i = 0; i < in.size(); ++i) {
      const TensorSpec& s = inputs[i];
      const TensorView& v = in[i];
      if (v.dtype != s.dtype)
        return Status::invalid_argument("input '" + s.name + "': expected " + dtype_name(s.dtype) + ", got " +
                                        dtype_name(v.dtype));
      // No allocation on the success path: the shape is formatted only for an error.
      auto shape_of = [&v] { return shape_str(Shape(v.shape.begin(), v.shape.end())); };
      for (int64_t d : v.shape)
        if (d < 0) return Status::invalid_argument("input '" + s.name + "': negative dimension in " + shape_of());
      if (!s.has_shape) continue;
      bool ok = v.shape.size() == s.dims.size();
      for (size_t d = 0; ok && d < v.shape.size(); ++d)
        if (s.dims[d] >= 0 && s.dims[d] != v.shape[d]) ok = false;
      if (!ok)
        return Status::invalid_argument("input '" + s.name + "': expected shape " + s.shape_string() + ", got " +
                                        shape_of());
      int64_t numel = 1;
      for (int64_t d : v.shape) numel *= d;
      if (!v.data && numel > 0) return Status::invalid_argument("input '" + s.name + "': no data");
    }
    return Status::ok();
  }

  bool matches(const Cached& c, std::span<const TensorView> in) const {
    for (size_t i = 0; i < in.size(); ++i) {
      if (c.dtypes[i] != in[i].dtype) return false;
      if (!std::equal(c.shapes[i].begin(), c.shapes[i].end(), in[i].shape.begin(), in[i].shape.end())) return false;
      if (value_keyed[i] && std::memcmp(c.key_values[i].raw(), in[i].data, c.key_values[i].nbytes()) != 0) return false;
    }
    return true;
  }

  kernels::KernelImpl impl() const {
    return options.reference_kernels ? kernels::KernelImpl::kReference : kernels::KernelImpl::kFast;
  }

  // What max_session_bytes counts: constants plus every instance of every cached plan. Instances
  // of an evicted plan still running are freed when their run returns. Called under `mu`.
  uint64_t held_bytes() const {
    uint64_t total = constant_bytes;
    for (const auto& c : plans) total += uint64_t{c->instance_bytes} * c->instances;
    return total;
  }

  // Builds a plan within what max_session_bytes leaves. When it does not fit and other cached
  // plans hold bytes, drops them (never `keep`) and tries once more. Called under `mu`.
  Result<std::unique_ptr<runtime::Plan>> build_plan(std::span<const runtime::InputBinding> bindings,
                                                    std::vector<bool>* keyed, const Cached* keep) {
    auto limits = [this] {
      const uint64_t held = held_bytes(), cap = options.limits.max_session_bytes;
      return runtime::PlanLimits{options.limits.max_tensor_elements, held >= cap ? 0 : cap - held};
    };
    auto built = runtime::Plan::build(model, bindings, impl(), limits(), keyed);
    if (built.is_ok() || built.status().code() != StatusCode::kLimit) return built;
    const size_t before = plans.size();
    std::erase_if(plans, [keep](const std::shared_ptr<Cached>& c) { return c.get() != keep; });
    if (plans.size() == before) return built;
    return runtime::Plan::build(model, bindings, impl(), limits(), keyed);
  }

  // Builds one more instance of a cached plan (its key is already fixed). Called under `mu`.
  Result<std::unique_ptr<runtime::Plan>> instantiate(Cached& c) {
    std::vector<runtime::InputBinding> bindings(c.shapes.size());
    for (size_t i = 0; i < c.shapes.size(); ++i) {
      bindings[i].dtype = c.dtypes[i];
      bindings[i].shape = c.shapes[i];
      if (value_keyed[i]) bindings[i].value = &c.key_values[i];
    }
    std::vector<bool> keyed = value_keyed;
    auto built = build_plan(bindings, &keyed, &c);
    if (!built.is_ok()) return built.status().with_context("model '" + name + "'");
    return std::move(built).value();
  }

  // Finds or builds the plan for these inputs and checks out an instance. Called under `mu`.
  Result<Lease> checkout(std::span<const TensorView> in) {
    for (size_t p = 0; p < plans.size(); ++p)
      if (matches(*plans[p], in)) {
        if (p) std::rotate(plans.begin(), plans.begin() + p, plans.begin() + p + 1);
        std::shared_ptr<Cached>& entry = plans.front();
        if (!entry->idle.empty()) {
          Lease lease{entry, std::move(entry->idle.back())};
          entry->idle.pop_back();
          return lease;
        }
        std::shared_ptr<Cached> held = entry;  // build_plan may evict other entries
        TINYQ_ASSIGN_OR_RETURN(std::unique_ptr<runtime::Plan> plan, instantiate(*held));
        held->instances += 1;
        held->idle.reserve(held->instances);  // so that returning it never allocates
        return Lease{held, std::move(plan)};
      }
    for (int attempt = 0; attempt < kMaxPlanAttempts; ++attempt) {
      auto c = std::make_shared<Cached>();
      std::vector<runtime::InputBinding> bindings(in.size());
      c->key_values.resize(in.size());
      for (size_t i = 0; i < in.size(); ++i) {
        c->dtypes.push_back(in[i].dtype);
        c->shapes.emplace_back(in[i].shape.begin(), in[i].shape.end());
        bindings[i].dtype = in[i].dtype;
        bindings[i].shape = c->shapes.back();
        if (value_keyed[i]) {
          Tensor t(in[i].dtype, c->shapes.back());
          if (t.nbytes()) std::memcpy(t.raw(), in[i].data, t.nbytes());
          c->key_values[i] = t;
          bindings[i].value = &c->key_values[i];
        }
      }
      std::vector<bool> before = value_keyed;
      auto built = build_plan(bindings, &value_keyed, nullptr);
      if (!built.is_ok()) {
        if (value_keyed != before) continue;  // a kernel needs an input's value: plan on it
        return built.status().with_context("model '" + name + "'");
      }
      c->output_infos = (*built)->output_infos();
      c->instances = 1;
      c->instance_bytes = (*built)->held_bytes();
      c->idle.reserve(1);
      plans.insert(plans.begin(), c);
      if (plans.size() > std::max<size_t>(options.max_cached_plans, 1)) plans.pop_back();
      return Lease{c, std::move(built).value()};
    }
    return Status::internal("model '" + name + "': planning did not converge");
  }

  void give_back(Lease& lease) {
    std::lock_guard<std::mutex> lock(mu);
    lease.entry->idle.push_back(std::move(lease.plan));
  }

  Status run_into(std::span<const TensorView> in, std::span<Tensor> out) {
    TINYQ_RETURN_IF_ERROR(check_inputs(in));
    if (out.size() != outputs.size())
      return Status::invalid_argument("model '" + name + "' has " + std::to_string(outputs.size()) + " outputs, got " +
                                      std::to_string(out.size()) + " buffers");
    Lease lease;
    {
      std::lock_guard<std::mutex> lock(mu);
      TINYQ_ASSIGN_OR_RETURN(lease, checkout(in));
    }
    const auto& infos = lease.entry->output_infos;
    void* out_ptrs[16];
    std::vector<void*> many;
    void** optr = out_ptrs;
    if (out.size() > 16) {
      many.resize(out.size());
      optr = many.data();
    }
    for (size_t i = 0; i < out.size(); ++i) {
      if (out[i].dtype() != infos[i].dtype || out[i].shape() != infos[i].shape) {
        give_back(lease);
        return Status::invalid_argument("output '" + outputs[i].name + "': buffer is " + dtype_name(out[i].dtype()) +
                                        shape_str(out[i].shape()) + ", the run produces " + dtype_name(infos[i].dtype) +
                                        shape_str(infos[i].shape));
      }
      optr[i] = out[i].raw();
    }
    const void* in_ptrs[16];
    std::vector<const void*> many_in;
    const void** iptr = in_ptrs;
    if (in.size() > 16) {
      many_in.resize(in.size());
      iptr = many_in.data();
    }
    for (size_t i = 0; i < in.size(); ++i) iptr[i] = in[i].data;
    lease.plan->run({iptr, in.size()}, {optr, out.size()}, pool);
    give_back(lease);
    return Status::ok();
  }

  Result<std::vector<Tensor>> allocate(std::span<const TensorView> in) {
    TINYQ_RETURN_IF_ERROR(check_inputs(in));
    Lease lease;
    {
      std::lock_guard<std::mutex> lock(mu);
      TINYQ_ASSIGN_OR_RETURN(lease, checkout(in));
    }
    std::vector<Tensor> out;
    for (const auto& info : lease.entry->output_infos) out.emplace_back(info.dtype, info.shape);
    give_back(lease);
    return out;
  }
};

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Session::~Session() = default;

Result<std::unique_ptr<Session>> Session::from_ir(ir::Model model, const std::string& display_name,
                                                  const SessionOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->name = display_name;
  impl->options = options;
  for (const auto& v : model.graph.inputs) impl->inputs.push_back(spec_of(v));
  for (const auto& v : model.graph.outputs) impl->outputs.push_back(spec_of(v));
  impl->value_keyed.assign(impl->inputs.size(), false);
  impl->model = std::move(model);
  const ResourceLimits& limits = options.limits;
  const size_t nodes = impl->model.graph.nodes.size();
  if (nodes > static_cast<uint64_t>(std::max<int64_t>(limits.max_nodes, 0)))
    return Status::limit("model '" + display_name + "': " + std::to_string(nodes) + " nodes, more than max_nodes (" +
                         std::to_string(limits.max_nodes) + ")");
  // Graph passes (fusions) run on the session's own copy; the reference path keeps the graph as is.
  passes::optimize(impl->model, options);
  for (const auto& [init_name, t] : impl->model.graph.initializers) impl->constant_bytes += t.nbytes();
  if (impl->constant_bytes > limits.max_session_bytes)
    return Status::limit("model '" + display_name + "': " + std::to_string(impl->constant_bytes) +
                         " bytes of initializers, more than max_session_bytes (" + std::to_string(limits.max_session_bytes) + ")");
  // Every op must have a kernel: an unknown op is a load-time error, never a run-time surprise.
  for (const auto& node : impl->model.graph.nodes)
    if (!kernels::find_kernel(node.domain, node.op_type))
      return Status::unsupported("model '" + display_name + "': " + node.describe() + ": op " +
                                 (node.domain.empty() ? "" : node.domain + ".") + node.op_type +
                                 " is not supported by tinyq");
  if (options.threads > 1) impl->pool = pthreadpool_create(static_cast<size_t>(options.threads));
  // Trial plan with every symbolic dimension at 1: surfaces unsupported attributes and dtypes at
  // load time. Shape errors may be specific to batch 1, so only 'unsupported' and over-limit fail
  // the load.
  // The trial inputs are allocated here too, so their declared shapes are checked first.
  bool all_known = true;
  std::vector<Shape> trial_shapes;
  uint64_t trial_bytes = impl->constant_bytes;
  for (const auto& s : impl->inputs) {
    if (!s.has_shape) { all_known = false; break; }
    Shape shape;
    for (int64_t d : s.dims) shape.push_back(d >= 0 ? d : 1);
    const std::string what = "model '" + display_name + "': input '" + s.name + "'";
    TINYQ_RETURN_IF_ERROR(util::check_tensor_elements(shape, limits.max_tensor_elements, what));
    trial_bytes += static_cast<uint64_t>(shape_numel(shape)) * dtype_size(s.dtype);
    if (trial_bytes > limits.max_session_bytes)
      return Status::limit(what + " " + shape_str(shape) + ": with the constants, " + std::to_string(trial_bytes) +
                           " bytes, more than max_session_bytes (" + std::to_string(limits.max_session_bytes) + ")");
    trial_shapes.push_back(std::move(shape));
  }
  std::vector<Tensor> trial;
  std::vector<TensorView> views;
  if (all_known) {
    for (const auto& shape : trial_shapes) trial.emplace_back(impl->inputs[trial.size()].dtype, shape);
    for (const auto& t : trial) views.push_back(TensorView::of(t));
    auto planned = impl->allocate(views);
    // A model whose smallest plan is over a resource limit cannot run at any batch size either.
    if (!planned.is_ok() && (planned.status().code() == StatusCode::kUnsupported ||
                             planned.status().code() == StatusCode::kLimit))
      return planned.status();
    // The batch-1 plan stays cached; a failed trial leaves nothing behind.
  }
  return std::unique_ptr<Session>(new Session(std::move(impl)));
}

Result<std::unique_ptr<Session>> Session::from_bytes(const void* bytes, size_t size, const std::string& base_dir,
                                                     const std::string& display_name, const SessionOptions& options) {
  TINYQ_ASSIGN_OR_RETURN(ir::Model model, onnx_io::parse_model(bytes, size, base_dir, display_name,
                                                               onnx_io::load_options(options.limits)));
  return from_ir(std::move(model), display_name, options);
}

Result<std::unique_ptr<Session>> Session::open(const std::string& path, const SessionOptions& options) {
  TINYQ_ASSIGN_OR_RETURN(ir::Model model, onnx_io::load_model(path, onnx_io::load_options(options.limits)));
  return from_ir(std::move(model), path, options);
}

const std::string& Session::name() const { return impl_->name; }
const std::vector<TensorSpec>& Session::inputs() const { return impl_->inputs; }
const std::vector<TensorSpec>& Session::outputs() const { return impl_->outputs; }
int64_t Session::opset() const { return impl_->model.opset(); }

Result<std::vector<Tensor>> Session::run(std::span<const Tensor> inputs) {
  std::vector<TensorView> views;
  for (const auto& t : inputs) views.push_back(TensorView::of(t));
  TINYQ_ASSIGN_OR_RETURN(std::vector<Tensor> out, impl_->allocate(views));
  TINYQ_RETURN_IF_ERROR(impl_->run_into(views, out));
  return out;
}

Status Session::run_into(std::span<const TensorView> inputs, std::span<Tensor> outputs) {
  return impl_->run_into(inputs, outputs);
}

Result<std::vector<Tensor>> Session::allocate_outputs(std::span<const TensorView> inputs) {
  return impl_->allocate(inputs);
}

size_t Session::resident_weight_bytes() const {
  size_t total = 0;
  for (const auto& [name, t] : impl_->model.graph.initializers) total += t.nbytes();
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (const auto& entry : impl_->plans)
    for (const auto& plan : entry->idle) total += plan->resident_bytes();
  return total;
}

}  // namespace tinyq

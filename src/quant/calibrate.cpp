#include "quant/calibrate.h"

#include <algorithm>
#include <cmath>

#include "io/npz_stream.h"
#include "quant/histogram.h"
#include "quant/tap.h"
#include "tinyq/session.h"

namespace tinyq::quant {

namespace {

struct MethodName {
  CalibrationMethod method;
  const char* name;
};
constexpr MethodName kMethods[] = {{CalibrationMethod::kMinMax, "minmax"},
                                   {CalibrationMethod::kPercentile, "percentile"},
                                   {CalibrationMethod::kEntropy, "entropy"},
                                   {CalibrationMethod::kMse, "mse"}};

std::string in_quotes(const std::string& s) {
  std::string out(1, '\'');
  out += s;
  out += '\'';
  return out;
}

std::string row_span(int64_t begin, int64_t end) {
  return "rows [" + std::to_string(begin) + ", " + std::to_string(end) + ")";
}

// Checks every model input against its array and returns the number of calibration rows and the
// rows to feed per run. Arrays feed axis 0 as the batch: an array is [N, d1, ...] for an input
// [batch, d1, ...], with the input's dtype.
struct FeedPlan {
  int64_t rows = 0;
  int64_t rows_per_run = 1;
};
Result<FeedPlan> plan_feeds(const ir::Graph& g, const io::NpzReader& npz, int64_t rows_per_run) {
  const std::string& path = npz.path();
  if (g.inputs.empty()) return Status::invalid_argument(path + ": the model has no inputs to feed");
  FeedPlan plan{-1, rows_per_run};
  std::string first_array;
  for (const ir::ValueInfo& in : g.inputs) {
    const io::NpzArrayInfo* a = npz.find(in.name);
    if (!a) return Status::not_found(path + ": no array for model input " + in_quotes(in.name));
    const std::string where = path + ": array " + in_quotes(in.name);
    if (in.dtype != DType::kUndefined && a->dtype != in.dtype)
      return Status::invalid_argument(where + " is " + dtype_name(a->dtype) + "; model input " + in_quotes(in.name) +
                                      " is " + dtype_name(in.dtype));
    if (a->shape.empty()) return Status::invalid_argument(where + " is a scalar; calibration feeds rows along axis 0");
    if (in.has_shape) {
      std::string declared = "[";
      for (size_t d = 0; d < in.dims.size(); ++d)
        declared += (d ? "," : "") + (in.dims[d].is_fixed() ? std::to_string(in.dims[d].value) : std::string("?"));
      declared += "]";
      const std::string misfit = where + " is " + shape_str(a->shape) + "; its rows do not fit model input " +
                                 in_quotes(in.name) + " " + declared;
      if (in.dims.size() != a->shape.size()) return Status::invalid_argument(misfit + " (rank)");
      for (size_t d = 1; d < in.dims.size(); ++d)
        if (in.dims[d].is_fixed() && in.dims[d].value != a->shape[d]) return Status::invalid_argument(misfit);
      if (in.dims[0].is_fixed() && in.dims[0].value != rows_per_run)
        return Status::invalid_argument("model input " + in_quotes(in.name) + " has a fixed batch of " +
                                        std::to_string(in.dims[0].value) + " rows; rows_per_run is " +
                                        std::to_string(rows_per_run));
      if (in.dims[0].is_fixed() && a->shape[0] % rows_per_run != 0)
        return Status::invalid_argument(where + " has " + std::to_string(a->shape[0]) +
                                        " rows, not a multiple of the model's fixed batch of " +
                                        std::to_string(rows_per_run));
    }
    if (plan.rows < 0) {
      plan.rows = a->shape[0];
      first_array = in.name;
    } else if (a->shape[0] != plan.rows) {
      return Status::invalid_argument(where + " has " + std::to_string(a->shape[0]) + " rows but array " +
                                      in_quotes(first_array) + " has " + std::to_string(plan.rows));
    }
  }
  if (plan.rows == 0) return Status::invalid_argument(path + ": the calibration set has no rows");
  return plan;
}

// Index of the first NaN or Inf in a float32 tensor, or -1.
int64_t first_non_finite(const Tensor& t) {
  const float* v = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i)
    if (!std::isfinite(v[i])) return i;
  return -1;
}

}  // namespace

Result<CalibrationMethod> parse_calibration_method(std::string_view name) {
  for (const MethodName& m : kMethods)
    if (name == m.name) return m.method;
  return Status::invalid_argument("unknown calibration method '" + std::string(name) +
                                  "'; expected minmax, percentile, entropy or mse");
}

const char* calibration_method_name(CalibrationMethod method) {
  for (const MethodName& m : kMethods)
    if (m.method == method) return m.name;
  return "unknown";
}

struct Observations::Impl {
  std::vector<std::string> tensors;
  std::vector<TensorStats> stats;  // parallel to tensors
  int64_t rows = 0;
};

Observations::Observations() : impl_(std::make_unique<Impl>()) {}
Observations::~Observations() = default;
Observations::Observations(Observations&&) noexcept = default;
Observations& Observations::operator=(Observations&&) noexcept = default;

const std::vector<std::string>& Observations::tensors() const { return impl_->tensors; }
int64_t Observations::rows() const { return impl_->rows; }

const TensorStats* Observations::stats(const std::string& tensor) const {
  auto it = std::find(impl_->tensors.begin(), impl_->tensors.end(), tensor);
  return it == impl_->tensors.end() ? nullptr : &impl_->stats[static_cast<size_t>(it - impl_->tensors.begin())];
}

Result<Range> Observations::range(const std::string& tensor, const RangeOptions& options) const {
  const TensorStats* s = stats(tensor);
  if (!s) return Status::not_found("tensor " + in_quotes(tensor) + " was not observed by calibration");
  auto r = compute_range(*s, options);
  if (!r.is_ok()) return r.status().with_context("tensor " + in_quotes(tensor));
  return r;
}

Result<std::map<std::string, Range>> Observations::ranges(const RangeOptions& options) const {
  std::map<std::string, Range> out;
  for (const std::string& t : impl_->tensors) {
    TINYQ_ASSIGN_OR_RETURN(out[t], range(t, options));
  }
  return out;
}

Result<Observations> observe(const ir::Model& model, std::span<const std::string> tensors,
                             const std::string& npz_path, const ObserveOptions& options) {
  if (options.bins < 1) return Status::invalid_argument("calibration bins must be at least 1, got " + std::to_string(options.bins));
  if (options.rows_per_run < 1)
    return Status::invalid_argument("calibration rows_per_run must be at least 1, got " + std::to_string(options.rows_per_run));
  Observations obs;
  Observations::Impl& im = *obs.impl_;
  for (const std::string& t : tensors)
    if (std::find(im.tensors.begin(), im.tensors.end(), t) == im.tensors.end()) im.tensors.push_back(t);
  im.stats.resize(im.tensors.size());

  TINYQ_ASSIGN_OR_RETURN(io::NpzReader npz, io::NpzReader::open(npz_path));
  TINYQ_ASSIGN_OR_RETURN(const FeedPlan feeds, plan_feeds(model.graph, npz, options.rows_per_run));
  TINYQ_ASSIGN_OR_RETURN(ir::Model tapped, expose_tensors(model, im.tensors));
  std::vector<size_t> out_index;  // session output of each observed tensor
  for (const std::string& t : im.tensors)
    for (size_t o = 0; o < tapped.graph.outputs.size(); ++o)
      if (tapped.graph.outputs[o].name == t) out_index.push_back(o);
  std::vector<std::string> input_names;
  for (const auto& in : model.graph.inputs) input_names.push_back(in.name);
  const std::string display = model.graph.name.empty() ? "calibration model" : model.graph.name;
  SessionOptions as_written;  // no fusions: every observed tensor exists as the model writes it
  as_written.graph_passes = false;
  // The scalar reference kernels, not the fast ones: XNNPACK's and Highway's fp32 results differ
  // in the last bits between ISAs (vector widths, FMA), which moved a calibrated scale by one ulp
  // between x86-64 and aarch64. The reference kernels round the same everywhere, so the file a
  // static quantisation writes is byte-identical on every ISA (tests/cross_isa/compare_int8.sh).
  as_written.reference_kernels = true;
  TINYQ_ASSIGN_OR_RETURN(auto session, Session::from_ir(std::move(tapped), display, as_written));

  constexpr int kPasses = 2;  // 0: exact min/max (and the NaN/Inf check); 1: histograms over them
  std::vector<Tensor> inputs(input_names.size());
  for (int pass = 0; pass < kPasses; ++pass) {
    if (pass == 1)
      for (TensorStats& s : im.stats) s.start_histograms(options.bins);
    for (int64_t begin = 0; begin < feeds.rows; begin += feeds.rows_per_run) {
      const int64_t count = std::min(feeds.rows_per_run, feeds.rows - begin);
      for (size_t i = 0; i < input_names.size(); ++i) {
        TINYQ_ASSIGN_OR_RETURN(inputs[i], npz.read_rows(input_names[i], begin, count));
      }
      auto outputs = session->run(inputs);
      if (!outputs.is_ok()) return outputs.status().with_context(npz_path + ": " + row_span(begin, begin + count));
      for (size_t t = 0; t < im.tensors.size(); ++t) {
        const Tensor& v = (*outputs)[out_index[t]];
        if (v.dtype() != DType::kFloat32)
          return Status::invalid_argument("tensor " + in_quotes(im.tensors[t]) + " is " + dtype_name(v.dtype()) +
                                          "; only float32 tensors can be calibrated");
        const std::span<const float> values(v.data<float>(), static_cast<size_t>(v.numel()));
        if (pass == 1) {
          im.stats[t].add_to_histograms(values);
          continue;
        }
        const int64_t bad = first_non_finite(v);
        if (bad >= 0) {
          const float x = values[static_cast<size_t>(bad)];
          const std::string what = std::isnan(x) ? "NaN" : x > 0 ? "+Inf" : "-Inf";
          // Rows lie along axis 0 when the tensor keeps the batch there (as activations do).
          const bool batched = v.rank() > 0 && v.shape()[0] == count && v.numel() > 0;
          const std::string where = batched ? "row " + std::to_string(begin + bad / (v.numel() / count))
                                            : row_span(begin, begin + count);
          return Status::invalid_argument(npz_path + ": tensor " + in_quotes(im.tensors[t]) + " has " + what +
                                          " at calibration " + where);
        }
        im.stats[t].add_extremes(values);
      }
      if (options.progress) options.progress({pass, kPasses, begin + count, feeds.rows});
    }
  }
  im.rows = feeds.rows;
  return obs;
}

}  // namespace tinyq::quant

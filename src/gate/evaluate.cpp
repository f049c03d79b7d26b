// evaluate_pair: one fp32 / int8 pair over a fixture set. Rows run one at a time because that is
// how the models are used and how dynamic quantisation's per-run scales are meant to be seen;
// the two sessions alternate row by row so machine drift hits both timings alike.
#include <algorithm>
#include <cmath>
#include <limits>

#include "gate/metrics.h"
#include "gate/rows.h"
#include "tinyq/gate.h"

namespace tinyq {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Everything one session produced over the rows: each compared output's values, row after row.
struct Collected {
  std::string which;                 // "fp32 model" / "int8 model", for messages
  std::vector<size_t> output_index;  // compared output k is session output output_index[k]
  std::vector<Shape> row_shapes;     // per compared output
  std::vector<std::vector<float>> values;
  std::vector<double> times_us;
};

Status collect_row(const Session& s, int64_t r, const std::vector<Tensor>& out, Collected& c) {
  for (size_t k = 0; k < c.output_index.size(); ++k) {
    const Tensor& t = out[c.output_index[k]];
    const std::string& name = s.outputs()[c.output_index[k]].name;
    if (t.dtype() != DType::kFloat32)
      return Status::unsupported("output '" + name + "' of the " + c.which + " is " + dtype_name(t.dtype()) +
                                 "; the gate compares float32 outputs");
    if (r == 0) c.row_shapes[k] = t.shape();
    else if (t.shape() != c.row_shapes[k])
      return Status::invalid_argument("output '" + name + "' of the " + c.which + " is " + shape_str(t.shape()) + " for row " +
                                      std::to_string(r) + " but " + shape_str(c.row_shapes[k]) + " for row 0");
    const float* v = t.data<float>();
    c.values[k].insert(c.values[k].end(), v, v + t.numel());
  }
  return Status::ok();
}

double median(std::vector<double> v) {
  if (v.empty()) return kNaN;
  std::sort(v.begin(), v.end());
  size_t h = v.size() / 2;
  return v.size() % 2 ? v[h] : (v[h - 1] + v[h]) / 2.0;
}

// All rows' outputs concatenated on axis 0 (a scalar per row becomes [rows]).
Shape concatenated(Shape row, int64_t rows) {
  if (row.empty()) return {rows};
  row[0] *= rows;
  return row;
}

// The label of an output as floats, checked against the output's concatenated shape.
Result<std::vector<float>> label_values(const Tensor& label, const std::string& output, const Shape& shape, const std::string& file) {
  const std::string where = "label array '" + output + "' in '" + file + "'";
  if (label.shape() != shape)
    return Status::invalid_argument(where + " has shape " + shape_str(label.shape()) + "; the output of all rows is " + shape_str(shape));
  std::vector<double> d = label.to_double();
  if (d.size() != static_cast<size_t>(label.numel()))
    return Status::invalid_argument(where + " is " + dtype_name(label.dtype()) + ", not a numeric array");
  std::vector<float> out(d.begin(), d.end());
  for (size_t i = 0; i < out.size(); ++i)
    if (!std::isfinite(out[i])) return Status::invalid_argument(where + " holds a non-finite value at flat index " + std::to_string(i));
  return out;
}

double pearson_of(std::span<const gate::PairMoments> rows, std::span<const uint32_t> counts) {
  gate::PairMoments sum;
  for (size_t r = 0; r < rows.size(); ++r)
    if (counts[r]) sum.add_weighted(rows[r], counts[r]);
  return sum.pearson();
}

Status compare_output(const Collected& f32, const Collected& q8, size_t k, const std::string& name, const FixtureSet& fixtures,
                      const EvaluateOptions& options, int64_t rows, OutputMetrics& m) {
  if (f32.row_shapes[k] != q8.row_shapes[k])
    return Status::invalid_argument("output '" + name + "' is " + shape_str(f32.row_shapes[k]) + " per row in the fp32 model but " +
                                    shape_str(q8.row_shapes[k]) + " in the int8 model");
  std::span<const float> f = f32.values[k], q = q8.values[k];
  auto [lo, hi] = std::minmax_element(f.begin(), f.end());
  if (f.empty() || *lo == *hi)
    return Status::invalid_argument("output '" + name + "' of the fp32 model is constant over fixture set '" + fixtures.file +
                                    "'; PLCC is undefined, so the set cannot judge the int8 model");
  m.name = name;
  m.values = static_cast<int64_t>(f.size());
  m.plcc = gate::plcc(q, f);
  m.srocc = gate::srocc(q, f);
  m.rmse = gate::rmse(q, f);
  m.max_abs_error = gate::max_abs_error(q, f);
  m.drop_fp32 = 1.0 - m.plcc;

  std::vector<float> labels;
  if (const Tensor* label = fixtures.label(name)) {
    TINYQ_ASSIGN_OR_RETURN(labels, label_values(*label, name, concatenated(f32.row_shapes[k], rows), fixtures.file));
    m.has_labels = true;
    m.plcc_fp32_labels = gate::plcc(f, labels);
    m.plcc_int8_labels = gate::plcc(q, labels);
    m.drop_labels = m.plcc_fp32_labels - m.plcc_int8_labels;
  } else {
    m.plcc_fp32_labels = m.plcc_int8_labels = m.drop_labels = kNaN;
  }
  m.reference = options.reference.value_or(m.has_labels ? GateReference::kLabels : GateReference::kFp32);
  if (m.reference == GateReference::kLabels && !m.has_labels)
    return Status::invalid_argument("the gate is to measure output '" + name + "' against labels, but fixture set '" + fixtures.file +
                                    "' has no array named '" + name + "'");

  // The interval resamples rows; per-row moment sums make each draw cost O(rows).
  std::function<double(std::span<const uint32_t>)> statistic;
  std::vector<gate::PairMoments> a, b;
  if (m.reference == GateReference::kFp32) {
    m.drop = m.drop_fp32;
    a = gate::row_moments(q, f, rows);
    statistic = [&](std::span<const uint32_t> c) { return 1.0 - pearson_of(a, c); };
  } else {
    m.drop = m.drop_labels;
    a = gate::row_moments(f, labels, rows);
    b = gate::row_moments(q, labels, rows);
    statistic = [&](std::span<const uint32_t> c) { return pearson_of(a, c) - pearson_of(b, c); };
  }
  gate::Interval ci = gate::bootstrap_interval(rows, options.bootstrap_resamples, options.seed, kGateConfidenceLevel, statistic);
  m.drop_ci = {ci.lo, ci.hi};
  return Status::ok();
}

}  // namespace

Result<PairMetrics> evaluate_pair(Session& fp32, Session& int8, const FixtureSet& fixtures, const EvaluateOptions& options) {
  if (fixtures.rows <= 0 || fixtures.inputs.empty())
    return Status::invalid_argument("fixture set '" + fixtures.file + "' has no rows");
  if (options.bootstrap_resamples < 0)
    return Status::invalid_argument("bootstrap resamples must be 0 or more, not " + std::to_string(options.bootstrap_resamples));
  std::vector<std::string> names;
  for (const TensorSpec& spec : fp32.outputs()) names.push_back(spec.name);
  Collected f32, q8;
  f32.which = "fp32 model";
  q8.which = "int8 model";
  TINYQ_ASSIGN_OR_RETURN(gate::RowFeeder feed_f32, gate::RowFeeder::bind(fp32, fixtures, f32.which));
  TINYQ_ASSIGN_OR_RETURN(gate::RowFeeder feed_q8, gate::RowFeeder::bind(int8, fixtures, q8.which));
  TINYQ_ASSIGN_OR_RETURN(f32.output_index, gate::find_outputs(fp32, names, f32.which));
  TINYQ_ASSIGN_OR_RETURN(q8.output_index, gate::find_outputs(int8, names, q8.which));
  for (Collected* c : {&f32, &q8}) {
    c->row_shapes.resize(names.size());
    c->values.resize(names.size());
  }

  // Warm-up: the first run of a shape builds its plan, which is not what the timings measure.
  TINYQ_RETURN_IF_ERROR(feed_f32.run(fp32, 0).status());
  TINYQ_RETURN_IF_ERROR(feed_q8.run(int8, 0).status());
  for (int64_t r = 0; r < fixtures.rows; ++r) {
    double us = 0;
    TINYQ_ASSIGN_OR_RETURN(std::vector<Tensor> out_f32, feed_f32.run(fp32, r, &us));
    f32.times_us.push_back(us);
    TINYQ_RETURN_IF_ERROR(collect_row(fp32, r, out_f32, f32));
    TINYQ_ASSIGN_OR_RETURN(std::vector<Tensor> out_q8, feed_q8.run(int8, r, &us));
    q8.times_us.push_back(us);
    TINYQ_RETURN_IF_ERROR(collect_row(int8, r, out_q8, q8));
    if (options.progress) options.progress(r + 1, fixtures.rows);
  }

  PairMetrics out;
  out.rows = fixtures.rows;
  out.outputs.resize(names.size());
  for (size_t k = 0; k < names.size(); ++k)
    TINYQ_RETURN_IF_ERROR(compare_output(f32, q8, k, names[k], fixtures, options, fixtures.rows, out.outputs[k]));
  out.fp32_median_us = median(f32.times_us);
  out.int8_median_us = median(q8.times_us);
  out.latency_ratio = out.int8_median_us / out.fp32_median_us;
  if (options.keep_outputs) {
    for (size_t k = 0; k < names.size(); ++k) {
      Shape shape = concatenated(f32.row_shapes[k], fixtures.rows);
      out.fp32_outputs.push_back(Tensor::from_vector<float>(shape, f32.values[k]));
      out.int8_outputs.push_back(Tensor::from_vector<float>(shape, q8.values[k]));
    }
  }
  return out;
}

}  // namespace tinyq

#include "gate/layer_sqnr.h"

#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "gate/rows.h"
#include "quant/tap.h"

namespace tinyq::gate {

namespace {

struct Accumulator {
  bool used = true;  // false once the tensor turns out not to be float32 in both models
  Shape shape;
  double signal = 0;  // sum x^2
  double noise = 0;   // sum (x - x_int8)^2
  int64_t values = 0;
};

double sqnr_db(double signal, double noise) {
  if (noise == 0) return std::numeric_limits<double>::infinity();  // identical values
  return 10.0 * std::log10(signal / noise);
}

}  // namespace

std::vector<std::string> shared_tensors(const ir::Graph& fp32, const ir::Graph& int8) {
  std::set<std::string> in_int8;
  for (const auto& node : int8.nodes)
    for (const auto& o : node.outputs)
      if (!o.empty()) in_int8.insert(o);
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& node : fp32.nodes)
    for (const auto& o : node.outputs)
      if (!o.empty() && in_int8.count(o) && seen.insert(o).second) out.push_back(o);
  return out;
}

Result<std::vector<LayerSqnr>> layer_sqnr(const ir::Model& fp32, const ir::Model& int8, const FixtureSet& fixtures,
                                          const SessionOptions& session) {
  const std::vector<std::string> names = shared_tensors(fp32.graph, int8.graph);
  SessionOptions so = session;
  so.graph_passes = false;
  TINYQ_ASSIGN_OR_RETURN(ir::Model tapped_f32, quant::expose_tensors(fp32, names));
  TINYQ_ASSIGN_OR_RETURN(ir::Model tapped_q8, quant::expose_tensors(int8, names));
  TINYQ_ASSIGN_OR_RETURN(auto s_f32, Session::from_ir(std::move(tapped_f32), "fp32 model (tapped)", so));
  TINYQ_ASSIGN_OR_RETURN(auto s_q8, Session::from_ir(std::move(tapped_q8), "int8 model (tapped)", so));
  TINYQ_ASSIGN_OR_RETURN(RowFeeder feed_f32, RowFeeder::bind(*s_f32, fixtures, "fp32 model"));
  TINYQ_ASSIGN_OR_RETURN(RowFeeder feed_q8, RowFeeder::bind(*s_q8, fixtures, "int8 model"));
  TINYQ_ASSIGN_OR_RETURN(std::vector<size_t> at_f32, find_outputs(*s_f32, names, "fp32 model"));
  TINYQ_ASSIGN_OR_RETURN(std::vector<size_t> at_q8, find_outputs(*s_q8, names, "int8 model"));

  std::vector<Accumulator> acc(names.size());
  for (int64_t r = 0; r < fixtures.rows; ++r) {
    TINYQ_ASSIGN_OR_RETURN(std::vector<Tensor> out_f32, feed_f32.run(*s_f32, r));
    TINYQ_ASSIGN_OR_RETURN(std::vector<Tensor> out_q8, feed_q8.run(*s_q8, r));
    for (size_t k = 0; k < names.size(); ++k) {
      Accumulator& a = acc[k];
      const Tensor& x = out_f32[at_f32[k]];
      const Tensor& q = out_q8[at_q8[k]];
      if (x.dtype() != DType::kFloat32 || q.dtype() != DType::kFloat32) a.used = false;
      if (!a.used) continue;
      if (x.shape() != q.shape())
        return Status::invalid_argument("tensor '" + names[k] + "' is " + shape_str(x.shape()) + " in the fp32 model but " +
                                        shape_str(q.shape()) + " in the int8 model (fixture row " + std::to_string(r) + ")");
      const float* xv = x.data<float>();
      const float* qv = q.data<float>();
      for (int64_t i = 0; i < x.numel(); ++i) {
        double d = static_cast<double>(xv[i]) - qv[i];
        a.signal += static_cast<double>(xv[i]) * xv[i];
        a.noise += d * d;
      }
      a.values += x.numel();
    }
  }

  std::map<std::string, std::string> producer;
  for (const auto& node : fp32.graph.nodes)
    for (const auto& o : node.outputs) producer[o] = node.op_type;
  std::vector<LayerSqnr> out;
  for (size_t k = 0; k < names.size(); ++k) {
    if (!acc[k].used) continue;
    out.push_back({names[k], producer[names[k]], acc[k].values, sqnr_db(acc[k].signal, acc[k].noise)});
  }
  return out;
}

}  // namespace tinyq::gate

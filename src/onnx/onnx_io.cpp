#include "onnx/onnx_io.h"

#include <onnx/onnx_pb.h>

#include <cstring>
#include <filesystem>
#include <limits>
#include <set>

#include "util/checked_numel.h"
#include "util/file.h"

namespace tinyq::onnx_io {

namespace {

namespace fs = std::filesystem;

// The limits and running totals every tensor of one model is checked against before it is allocated.
struct Budget {
  uint64_t max_file_bytes;
  int64_t max_tensor_elements;
  uint64_t max_constant_bytes;
  uint64_t constant_bytes = 0;  // taken so far by initializers and tensor attributes
};

struct TensorContext {
  std::string base_dir;  // for external data; empty: external data not allowed
  std::string where;     // "model 'x.onnx', initializer 'w'"
  Budget* budget;
};

Result<Shape> dims_of(const onnx::TensorProto& tp, const TensorContext& ctx) {
  Shape shape(tp.dims().begin(), tp.dims().end());
  for (int64_t d : shape)
    if (d < 0) return Status::corrupt(ctx.where + ": negative dimension " + std::to_string(d));
  TINYQ_RETURN_IF_ERROR(util::check_tensor_elements(shape, ctx.budget->max_tensor_elements, ctx.where + ": shape"));
  return shape;
}

// Takes `nbytes` from the model's constant budget, or fails before anything is allocated.
Status take_constant_bytes(const TensorContext& ctx, uint64_t nbytes) {
  Budget& b = *ctx.budget;
  if (nbytes > b.max_constant_bytes - b.constant_bytes)
    return Status::limit(ctx.where + ": " + std::to_string(nbytes) + " bytes would bring the model's constants to " +
                         std::to_string(b.constant_bytes + nbytes) + " bytes, more than max_session_bytes (" +
                         std::to_string(b.max_constant_bytes) + ")");
  b.constant_bytes += nbytes;
  return Status::ok();
}

// A tensor from a typed data field (float_data, int32_data, ...): one value per element, checked
// before the tensor is allocated, converted to the tensor's element type.
template <typename Dst, typename Src>
Result<Tensor> from_field(const google::protobuf::RepeatedField<Src>& field, DType dtype, const Shape& shape,
                          const TensorContext& ctx) {
  if (field.size() != shape_numel(shape))
    return Status::corrupt(ctx.where + ": holds " + std::to_string(field.size()) + " values for shape " + shape_str(shape));
  TINYQ_RETURN_IF_ERROR(take_constant_bytes(ctx, static_cast<uint64_t>(field.size()) * sizeof(Dst)));
  Tensor t(dtype, shape);
  Dst* out = t.data<Dst>();
  for (int i = 0; i < field.size(); ++i) out[i] = static_cast<Dst>(field.Get(i));
  return t;
}

Result<std::string> read_external(const onnx::TensorProto& tp, const TensorContext& ctx, size_t nbytes) {
  std::string location;
  int64_t offset = 0;
  int64_t length = -1;
  for (const auto& kv : tp.external_data()) {
    try {
      if (kv.key() == "location") location = kv.value();
      else if (kv.key() == "offset") offset = std::stoll(kv.value());
      else if (kv.key() == "length") length = std::stoll(kv.value());
    } catch (const std::exception&) {
      return Status::corrupt(ctx.where + ": external data field '" + kv.key() + "' is not a number: '" + kv.value() + "'");
    }
  }
  if (location.empty()) return Status::corrupt(ctx.where + ": external data without a location");
  if (ctx.base_dir.empty())
    return Status::invalid_argument(ctx.where + ": uses external data '" + location + "' but the model was not loaded from a folder");
  auto resolved = util::resolve_inside(ctx.base_dir, location);
  if (!resolved.is_ok()) return resolved.status().with_context(ctx.where + ": external data");
  std::error_code ec;
  if (!fs::exists(*resolved, ec))
    return Status::not_found(ctx.where + ": external data file '" + location + "' is missing (looked for " + *resolved + ")");
  auto bytes = util::read_file(*resolved, ctx.budget->max_file_bytes);
  if (!bytes.is_ok())
    return bytes.status().with_context(ctx.where + ": external data" +
                                       (bytes.status().code() == StatusCode::kLimit ? " (max_model_bytes)" : ""));
  if (offset < 0 || static_cast<uint64_t>(offset) > bytes->size())
    return Status::corrupt(ctx.where + ": external data offset " + std::to_string(offset) + " is past the end of '" + location + "'");
  uint64_t avail = bytes->size() - static_cast<uint64_t>(offset);
  uint64_t want = length < 0 ? nbytes : static_cast<uint64_t>(length);
  if (want != nbytes)
    return Status::corrupt(ctx.where + ": external data length " + std::to_string(want) + " does not match the tensor's " + std::to_string(nbytes) + " bytes");
  if (want > avail)
    return Status::corrupt(ctx.where + ": external data file '" + location + "' is truncated (" + std::to_string(avail) + " bytes left, " + std::to_string(want) + " needed)");
  return bytes->substr(static_cast<size_t>(offset), static_cast<size_t>(want));
}

Result<Tensor> tensor_from_proto(const onnx::TensorProto& tp, const TensorContext& ctx) {
  DType dtype = static_cast<DType>(tp.data_type());
  if (!dtype_supported(dtype))
    return Status::unsupported(ctx.where + ": element type " + dtype_name(dtype) + " (" + std::to_string(tp.data_type()) + ") is not supported");
  if (tp.has_segment()) return Status::unsupported(ctx.where + ": segmented tensors are not supported");
  TINYQ_ASSIGN_OR_RETURN(Shape shape, dims_of(tp, ctx));
  // Every size is checked against the data actually present before the tensor is allocated, so a
  // tensor claiming more data than the file holds costs nothing.
  const size_t nbytes = static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype);
  if (tp.data_location() == onnx::TensorProto::EXTERNAL) {
    TINYQ_RETURN_IF_ERROR(take_constant_bytes(ctx, nbytes));
    TINYQ_ASSIGN_OR_RETURN(std::string raw, read_external(tp, ctx, nbytes));
    Tensor t(dtype, shape);
    if (nbytes) std::memcpy(t.raw(), raw.data(), nbytes);
    return t;
  }
  if (tp.has_raw_data()) {
    if (tp.raw_data().size() != nbytes)
      return Status::corrupt(ctx.where + ": raw_data has " + std::to_string(tp.raw_data().size()) + " bytes, shape " +
                             shape_str(shape) + " of " + dtype_name(dtype) + " needs " + std::to_string(nbytes));
    TINYQ_RETURN_IF_ERROR(take_constant_bytes(ctx, nbytes));
    Tensor t(dtype, shape);
    if (nbytes) std::memcpy(t.raw(), tp.raw_data().data(), nbytes);
    return t;
  }
  switch (dtype) {
    case DType::kFloat32: return from_field<float>(tp.float_data(), dtype, shape, ctx);
    case DType::kFloat64: return from_field<double>(tp.double_data(), dtype, shape, ctx);
    case DType::kInt64: return from_field<int64_t>(tp.int64_data(), dtype, shape, ctx);
    case DType::kInt32: return from_field<int32_t>(tp.int32_data(), dtype, shape, ctx);
    case DType::kInt16: return from_field<int16_t>(tp.int32_data(), dtype, shape, ctx);
    case DType::kUInt16: return from_field<uint16_t>(tp.int32_data(), dtype, shape, ctx);
    case DType::kInt8: return from_field<int8_t>(tp.int32_data(), dtype, shape, ctx);
    case DType::kUInt8: return from_field<uint8_t>(tp.int32_data(), dtype, shape, ctx);
    case DType::kBool: return from_field<bool>(tp.int32_data(), dtype, shape, ctx);
    case DType::kUInt32: return from_field<uint32_t>(tp.uint64_data(), dtype, shape, ctx);
    case DType::kUInt64: return from_field<uint64_t>(tp.uint64_data(), dtype, shape, ctx);
    default: return Status::unsupported(ctx.where + ": element type " + std::string(dtype_name(dtype)));
  }
}

void tensor_to_proto(const Tensor& t, const std::string& name, onnx::TensorProto* tp) {
  tp->set_name(name);
  tp->set_data_type(static_cast<int32_t>(t.dtype()));
  for (int64_t d : t.shape()) tp->add_dims(d);
  tp->set_raw_data(t.raw(), t.nbytes());
}

ir::ValueInfo value_info_from_proto(const onnx::ValueInfoProto& vp) {
  ir::ValueInfo v;
  v.name = vp.name();
  if (vp.type().has_tensor_type()) {
    const auto& tt = vp.type().tensor_type();
    v.dtype = static_cast<DType>(tt.elem_type());
    if (tt.has_shape()) {
      v.has_shape = true;
      for (const auto& d : tt.shape().dim()) {
        ir::Dim dim;
        if (d.has_dim_value()) dim.value = d.dim_value();
        else if (d.has_dim_param()) dim.symbol = d.dim_param();
        v.dims.push_back(dim);
      }
    }
  }
  return v;
}

void value_info_to_proto(const ir::ValueInfo& v, onnx::ValueInfoProto* vp) {
  vp->set_name(v.name);
  auto* tt = vp->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(static_cast<int32_t>(v.dtype));
  if (v.has_shape) {
    auto* shape = tt->mutable_shape();
    for (const auto& d : v.dims) {
      auto* dim = shape->add_dim();
      if (d.is_fixed()) dim->set_dim_value(d.value);
      else if (!d.symbol.empty()) dim->set_dim_param(d.symbol);
    }
  }
}

Result<ir::Attribute> attribute_from_proto(const onnx::AttributeProto& ap, const TensorContext& ctx) {
  ir::Attribute a;
  using K = ir::Attribute::Kind;
  switch (ap.type()) {
    case onnx::AttributeProto::FLOAT: a.kind = K::kFloat; a.f = ap.f(); break;
    case onnx::AttributeProto::INT: a.kind = K::kInt; a.i = ap.i(); break;
    case onnx::AttributeProto::STRING: a.kind = K::kString; a.s = ap.s(); break;
    case onnx::AttributeProto::TENSOR: {
      a.kind = K::kTensor;
      TensorContext tc = ctx;
      tc.where += ", attribute '" + ap.name() + "'";
      TINYQ_ASSIGN_OR_RETURN(a.t, tensor_from_proto(ap.t(), tc));
      break;
    }
    case onnx::AttributeProto::FLOATS: a.kind = K::kFloats; a.floats.assign(ap.floats().begin(), ap.floats().end()); break;
    case onnx::AttributeProto::INTS: a.kind = K::kInts; a.ints.assign(ap.ints().begin(), ap.ints().end()); break;
    case onnx::AttributeProto::STRINGS: a.kind = K::kStrings; a.strings.assign(ap.strings().begin(), ap.strings().end()); break;
    case onnx::AttributeProto::GRAPH: a.kind = K::kGraph; break;
    default: a.kind = K::kOther; break;
  }
  return a;
}

void attribute_to_proto(const std::string& name, const ir::Attribute& a, onnx::AttributeProto* ap) {
  using K = ir::Attribute::Kind;
  ap->set_name(name);
  switch (a.kind) {
    case K::kFloat: ap->set_type(onnx::AttributeProto::FLOAT); ap->set_f(a.f); break;
    case K::kInt: ap->set_type(onnx::AttributeProto::INT); ap->set_i(a.i); break;
    case K::kString: ap->set_type(onnx::AttributeProto::STRING); ap->set_s(a.s); break;
    case K::kTensor: ap->set_type(onnx::AttributeProto::TENSOR); tensor_to_proto(a.t, "", ap->mutable_t()); break;
    case K::kFloats: ap->set_type(onnx::AttributeProto::FLOATS); for (float f : a.floats) ap->add_floats(f); break;
    case K::kInts: ap->set_type(onnx::AttributeProto::INTS); for (int64_t i : a.ints) ap->add_ints(i); break;
    case K::kStrings: ap->set_type(onnx::AttributeProto::STRINGS); for (const auto& s : a.strings) ap->add_strings(s); break;
    default: break;
  }
}

}  // namespace

Result<ir::Model> parse_model(const void* bytes, size_t size, const std::string& base_dir,
                              const std::string& display_name, const LoadOptions& options) {
  const std::string who = "model '" + display_name + "'";
  if (size > options.max_file_bytes)
    return Status::limit(who + ": " + std::to_string(size) + " bytes, more than max_model_bytes (" +
                         std::to_string(options.max_file_bytes) + ")");
  if (size > static_cast<size_t>(std::numeric_limits<int>::max()))
    return Status::limit(who + ": " + std::to_string(size) + " bytes is more than protobuf can parse");
  onnx::ModelProto mp;
  if (size == 0 || !mp.ParseFromArray(bytes, static_cast<int>(size)))
    return Status::corrupt(who + ": not a valid ONNX file (protobuf parse failed; truncated or not ONNX?)");
  if (!mp.has_graph()) return Status::corrupt(who + ": has no graph");

  ir::Model model;
  model.ir_version = mp.ir_version();
  model.producer_name = mp.producer_name();
  model.producer_version = mp.producer_version();
  model.domain = mp.domain();
  model.model_version = mp.model_version();
  model.doc_string = mp.doc_string();
  for (const auto& kv : mp.metadata_props()) model.metadata.emplace_back(kv.key(), kv.value());
  for (const auto& op : mp.opset_import()) model.opset_imports[op.domain()] = op.version();
  if (mp.opset_import_size() == 0) model.opset_imports[""] = 1;  // ONNX's default when absent
  int64_t opset = model.opset();
  if (opset < kMinOpset || opset > kMaxOpset)
    return Status::unsupported(who + ": default-domain opset " + std::to_string(opset) + " is outside the supported range " +
                               std::to_string(kMinOpset) + "–" + std::to_string(kMaxOpset));

  const onnx::GraphProto& gp = mp.graph();
  ir::Graph& g = model.graph;
  g.name = gp.name();
  g.doc_string = gp.doc_string();
  if (gp.node_size() > options.max_nodes)
    return Status::limit(who + ": " + std::to_string(gp.node_size()) + " nodes, more than max_nodes (" +
                         std::to_string(options.max_nodes) + ")");
  Budget budget{options.max_file_bytes, options.max_tensor_elements, options.max_constant_bytes};
  TensorContext ctx{base_dir, who, &budget};
  for (const auto& init : gp.initializer()) {
    if (init.name().empty()) return Status::corrupt(who + ": an initializer has no name");
    TensorContext tc = ctx;
    tc.where = who + ", initializer '" + init.name() + "'";
    TINYQ_ASSIGN_OR_RETURN(Tensor t, tensor_from_proto(init, tc));
    g.initializers[init.name()] = std::move(t);
  }
  if (gp.sparse_initializer_size() > 0) return Status::unsupported(who + ": sparse initializers are not supported");
  for (const auto& in : gp.input()) {
    // Older IR versions list initializers as inputs too; those are constants here.
    if (g.initializers.count(in.name())) continue;
    ir::ValueInfo v = value_info_from_proto(in);
    if (!in.type().has_tensor_type())
      return Status::unsupported(who + ": input '" + in.name() + "' is not a tensor (sequences, maps and optionals are not supported)");
    if (!dtype_supported(v.dtype))
      return Status::unsupported(who + ": input '" + in.name() + "' has element type " + dtype_name(v.dtype) + ", which is not supported");
    g.inputs.push_back(std::move(v));
  }
  for (const auto& out : gp.output()) g.outputs.push_back(value_info_from_proto(out));
  // value_info entries named like initializers (seen in real exports) describe the initializer: drop them.
  for (const auto& vi : gp.value_info())
    if (!g.initializers.count(vi.name())) g.value_info.push_back(value_info_from_proto(vi));

  for (int i = 0; i < gp.node_size(); ++i) {
    const auto& np = gp.node(i);
    ir::Node n;
    n.name = np.name();
    n.op_type = np.op_type();
    n.domain = np.domain();
    n.index = i;
    n.inputs.assign(np.input().begin(), np.input().end());
    n.outputs.assign(np.output().begin(), np.output().end());
    for (const auto& ap : np.attribute()) {
      TensorContext tc = ctx;
      tc.where = who + ", node " + n.describe();
      TINYQ_ASSIGN_OR_RETURN(ir::Attribute a, attribute_from_proto(ap, tc));
      n.attributes[ap.name()] = std::move(a);
    }
    g.nodes.push_back(std::move(n));
  }
  std::set<std::string> produced;
  for (const auto& n : g.nodes)
    for (const auto& o : n.outputs) produced.insert(o);
  for (const auto& out : g.outputs)
    if (!produced.count(out.name) && !g.initializers.count(out.name) && !g.find_input(out.name))
      return Status::corrupt(who + ": graph output '" + out.name + "' is not produced by any node");
  Status st = ir::topo_sort(g);
  if (!st.is_ok()) return st.with_context(who);
  return model;
}

LoadOptions load_options(const ResourceLimits& limits) {
  LoadOptions o;
  o.max_file_bytes = limits.max_model_bytes;
  o.max_tensor_elements = limits.max_tensor_elements;
  o.max_nodes = limits.max_nodes;
  o.max_constant_bytes = limits.max_session_bytes;
  return o;
}

Result<ir::Model> load_model(const std::string& path, const LoadOptions& options) {
  auto read = util::read_file(path, options.max_file_bytes);
  if (!read.is_ok())
    return read.status().code() == StatusCode::kLimit ? read.status().with_context("model '" + path + "' (max_model_bytes)")
                                                      : read.status();
  const std::string& bytes = *read;
  std::string base = fs::path(path).parent_path().string();
  return parse_model(bytes.data(), bytes.size(), base.empty() ? "." : base, path, options);
}

Result<std::string> serialize_model(const ir::Model& model) {
  onnx::ModelProto mp;
  mp.set_ir_version(model.ir_version);
  mp.set_producer_name(model.producer_name);
  mp.set_producer_version(model.producer_version);
  mp.set_domain(model.domain);
  mp.set_model_version(model.model_version);
  mp.set_doc_string(model.doc_string);
  for (const auto& [k, v] : model.metadata) {
    auto* p = mp.add_metadata_props();
    p->set_key(k);
    p->set_value(v);
  }
  for (const auto& [domain, version] : model.opset_imports) {
    auto* op = mp.add_opset_import();
    op->set_domain(domain);
    op->set_version(version);
  }
  const ir::Graph& g = model.graph;
  auto* gp = mp.mutable_graph();
  gp->set_name(g.name);
  gp->set_doc_string(g.doc_string);
  for (const auto& v : g.inputs) value_info_to_proto(v, gp->add_input());
  for (const auto& v : g.outputs) value_info_to_proto(v, gp->add_output());
  for (const auto& v : g.value_info) value_info_to_proto(v, gp->add_value_info());
  for (const auto& [name, t] : g.initializers) tensor_to_proto(t, name, gp->add_initializer());
  for (const auto& n : g.nodes) {
    auto* np = gp->add_node();
    np->set_name(n.name);
    np->set_op_type(n.op_type);
    if (!n.domain.empty()) np->set_domain(n.domain);
    for (const auto& i : n.inputs) np->add_input(i);
    for (const auto& o : n.outputs) np->add_output(o);
    for (const auto& [key, a] : n.attributes) {
      if (a.kind == ir::Attribute::Kind::kGraph || a.kind == ir::Attribute::Kind::kOther)
        return Status::unsupported("node " + n.describe() + ": attribute '" + key + "' cannot be saved (graph attributes are not supported)");
      attribute_to_proto(key, a, np->add_attribute());
    }
  }
  std::string out;
  if (!mp.SerializeToString(&out)) return Status::internal("protobuf serialisation failed (model over 2 GiB?)");
  return out;
}

Status save_model(const ir::Model& model, const std::string& path) {
  TINYQ_ASSIGN_OR_RETURN(std::string bytes, serialize_model(model));
  return util::write_file_atomic(path, bytes);
}

Result<std::pair<std::string, Tensor>> parse_tensor_pb(const void* bytes, size_t size, const std::string& display_name) {
  onnx::TensorProto tp;
  if (size > static_cast<size_t>(std::numeric_limits<int>::max()) || !tp.ParseFromArray(bytes, static_cast<int>(size)))
    return Status::corrupt("'" + display_name + "': not a valid ONNX TensorProto file");
  Budget budget{0, ResourceLimits{}.max_tensor_elements, ResourceLimits{}.max_session_bytes};
  TensorContext ctx{"", "tensor file '" + display_name + "'", &budget};
  TINYQ_ASSIGN_OR_RETURN(Tensor t, tensor_from_proto(tp, ctx));
  return std::make_pair(tp.name(), std::move(t));
}

Result<std::pair<std::string, Tensor>> load_tensor_pb(const std::string& path) {
  TINYQ_ASSIGN_OR_RETURN(std::string bytes, util::read_file(path));
  return parse_tensor_pb(bytes.data(), bytes.size(), path);
}

}  // namespace tinyq::onnx_io

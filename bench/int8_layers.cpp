// Per-layer timings of the fused int8 kernels on nr_metric_v1's convolutions (1 thread), to see
// where an int8 run spends its time: the static chain (float image quantised by the first op,
// uint8 between ops, float out of the last) and the dynamic chain (float between ops, each op
// quantising its input per run, with the producer's range handed off).
//   tinyq_int8_layers [--static | --dynamic] [--iters N] [--layer N]
// TINYQ_INT8_ISA=avx2|scalar caps the instruction set as for the library.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <time.h>

#include "ir/builder.h"
#include "kernels/int8/fused_common.h"
#include "kernels/int8/fused_ops.h"
#include "kernels/int8/packing.h"
#include "kernels/kernel.h"

namespace {

using namespace tinyq;

// This thread's CPU time: unlike wall time it does not count the time other processes on a busy
// machine take, so the minimum over iterations is a steadier figure than the median.
double thread_us() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_nsec) / 1e3;
}
using namespace tinyq::kernels;

struct Layer {
  int64_t c_in, c_out, groups, hw, k, stride;
};

// nr_metric_v1: stem, then depthwise / pointwise pairs (ReLU6 after each).
const std::vector<Layer> kLayers = {
    {1, 16, 1, 224, 3, 2},  {16, 16, 16, 112, 3, 2}, {16, 32, 1, 56, 1, 1},  {32, 32, 32, 56, 3, 1},
    {32, 32, 1, 56, 1, 1},  {32, 32, 32, 56, 3, 2},  {32, 64, 1, 28, 1, 1},  {64, 64, 64, 28, 3, 1},
    {64, 64, 1, 28, 1, 1},  {64, 64, 64, 28, 3, 2},  {64, 128, 1, 14, 1, 1},
};

template <typename T>
Tensor scalar(T v) {
  return Tensor::from_vector<T>({}, {v});
}

// One prepared kernel with its inputs, outputs and scratch.
struct Prepared {
  ir::Node node;
  std::vector<Tensor> inputs, outputs;
  std::unique_ptr<Kernel> kernel;
  void* scratch = nullptr;
  std::vector<const void*> in_ptrs;
  std::vector<void*> out_ptrs;
};

std::unique_ptr<Prepared> prepare(const std::string& op, std::map<std::string, ir::Attribute> attrs,
                                  std::vector<Tensor> inputs, int num_outputs) {
  auto p = std::make_unique<Prepared>();
  p->node.op_type = op;
  p->node.domain = kInternalDomain;
  p->node.name = op;
  p->node.attributes = std::move(attrs);
  p->node.clamp_min = 0.0f;
  p->node.clamp_max = 6.0f;
  p->inputs = std::move(inputs);
  std::vector<TensorInfo> infos;
  for (size_t i = 0; i < p->inputs.size(); ++i) {
    const Tensor& t = p->inputs[i];
    p->node.inputs.push_back(t.empty() ? "" : "in" + std::to_string(i));
    TensorInfo info;
    info.dtype = t.dtype();
    info.shape = t.shape();
    info.value = (i >= 3 && !t.empty()) ? &p->inputs[i] : nullptr;  // constants: weights onwards
    if (i == 1 || i == 2) info.value = t.empty() ? nullptr : &p->inputs[i];
    infos.push_back(info);
  }
  for (int i = 0; i < num_outputs; ++i) p->node.outputs.push_back("out" + std::to_string(i));
  PrepareContext ctx(p->node, 18, KernelImpl::kFast, std::move(infos));
  const bool is_static = op.rfind("QLinear", 0) == 0;
  auto made = int8::make_fused_conv(ctx, is_static, std::nullopt);
  if (!made.is_ok()) {
    std::fprintf(stderr, "%s\n", made.status().message().c_str());
    std::exit(1);
  }
  p->kernel = std::move(made).value();
  for (int i = 0; i < num_outputs; ++i) p->outputs.emplace_back(ctx.outputs()[i].dtype, ctx.outputs()[i].shape);
  const size_t s = (p->kernel->scratch_bytes() + 63) / 64 * 64;
  p->scratch = s ? std::aligned_alloc(64, s) : nullptr;
  for (auto& t : p->inputs) p->in_ptrs.push_back(t.empty() ? nullptr : t.raw());
  for (auto& t : p->outputs) p->out_ptrs.push_back(t.raw());
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  bool dynamic = false;
  int iters = 300;
  int only = -1;  // --layer N: time layer N alone (for a profiler)
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--layer") && i + 1 < argc) only = std::atoi(argv[++i]);
    if (!std::strcmp(argv[i], "--dynamic")) dynamic = true;
    else if (!std::strcmp(argv[i], "--static")) dynamic = false;
    else if (!std::strcmp(argv[i], "--iters") && i + 1 < argc) iters = std::atoi(argv[++i]);
  }
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> wdist(-127, 127);
  std::uniform_real_distribution<float> xdist(0.0f, 1.0f);
  std::vector<std::unique_ptr<Prepared>> ops;
  Tensor image(DType::kFloat32, {1, 1, 224, 224});
  for (int64_t i = 0; i < image.numel(); ++i) image.data<float>()[i] = xdist(rng);
  const Tensor* prev = &image;
  for (size_t l = 0; l < kLayers.size(); ++l) {
    const Layer& L = kLayers[l];
    const int64_t cin_g = L.c_in / L.groups;
    std::vector<int8_t> w(static_cast<size_t>(L.c_out * cin_g * L.k * L.k));
    for (auto& v : w) v = static_cast<int8_t>(wdist(rng));
    Tensor packed(DType::kInt8, {L.c_out, int8::conv_packed_row(cin_g, L.k, L.k)});
    int8::pack_conv_weights(w.data(), L.c_out, cin_g, L.k, L.k, packed.data<int8_t>());
    std::vector<float> ws(L.c_out, 0.004f), bias(L.c_out, 0.01f);
    const int64_t pad = L.k / 2;
    std::map<std::string, ir::Attribute> attrs = {{"kernel_shape", ir::ints_attr({L.k, L.k})},
                                                  {"strides", ir::ints_attr({L.stride, L.stride})},
                                                  {"pads", ir::ints_attr({pad, pad, pad, pad})},
                                                  {"group", ir::int_attr(L.groups)}};
    const bool last = l + 1 == kLayers.size();
    Tensor x(prev->dtype(), prev->shape());
    std::memcpy(x.raw(), prev->raw(), x.nbytes());
    std::vector<Tensor> in;
    std::string op;
    if (dynamic) {
      op = "ConvIntegerFused";
      in = {x, {}, {}, packed, Tensor::from_vector<float>({L.c_out}, ws), {}, Tensor::from_vector<float>({L.c_out}, bias)};
      if (l > 0) {
        in.resize(9);
        in[8] = Tensor::from_vector<float>({3}, {0.0f, 6.0f, 0.0f});
      }
    } else {
      const bool float_in = l == 0;
      op = last ? "ConvIntegerFused" : "QLinearConvFused";
      in = {x, scalar<float>(float_in ? 1.0f / 255 : 6.0f / 255), scalar<uint8_t>(0), packed,
            Tensor::from_vector<float>({L.c_out}, ws), {}, Tensor::from_vector<float>({L.c_out}, bias)};
      if (!last) {
        in.push_back(scalar<float>(6.0f / 255));
        in.push_back(scalar<uint8_t>(0));
      }
    }
    ops.push_back(prepare(op, attrs, std::move(in), dynamic && !last ? 2 : 1));
    prev = &ops.back()->outputs[0];
  }
  std::vector<std::vector<double>> times(ops.size()), cpu(ops.size());
  for (int it = 0; it < iters; ++it)
    for (size_t l = 0; l < ops.size(); ++l) {
      if (only >= 0 && static_cast<int>(l) != only) continue;
      Prepared& p = *ops[l];
      KernelArgs args{p.in_ptrs.data(), p.out_ptrs.data(), p.scratch, nullptr};
      const double c0 = thread_us();
      const auto t0 = std::chrono::steady_clock::now();
      p.kernel->run(args);
      times[l].push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
      cpu[l].push_back(thread_us() - c0);
    }
  double total = 0.0, total_cpu = 0.0;
  std::printf("%s chain, %d iterations: median wall us and minimum thread CPU us per layer\n",
              dynamic ? "dynamic" : "static", iters);
  for (size_t l = 0; l < ops.size(); ++l) {
    if (times[l].empty()) continue;
    std::sort(times[l].begin(), times[l].end());
    const double med = times[l][times[l].size() / 2];
    const double min_cpu = *std::min_element(cpu[l].begin(), cpu[l].end());
    total += med;
    total_cpu += min_cpu;
    const Layer& L = kLayers[l];
    const int64_t out_hw = (L.hw + 2 * (L.k / 2) - L.k) / L.stride + 1;
    const double macs = static_cast<double>(out_hw * out_hw * L.c_out * (L.c_in / L.groups) * L.k * L.k);
    std::printf("  %2zu %3lld->%-3lld g%-3lld %3lldx%-3lld k%lld s%lld  %8.1f us  cpu %8.1f us  %6.2f GMAC/s\n", l,
                static_cast<long long>(L.c_in), static_cast<long long>(L.c_out), static_cast<long long>(L.groups),
                static_cast<long long>(L.hw), static_cast<long long>(L.hw), static_cast<long long>(L.k),
                static_cast<long long>(L.stride), med, min_cpu, macs / min_cpu / 1e3);
  }
  std::printf("  total %.1f us, cpu %.1f us\n", total, total_cpu);
  for (auto& p : ops) std::free(p->scratch);
  return 0;
}

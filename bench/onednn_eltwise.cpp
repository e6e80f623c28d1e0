#include "onednn_eltwise.hpp"

#include <array>
#include <optional>
#include <unordered_map>

#include <oneapi/dnnl/dnnl.hpp>

namespace relulab::bench {
namespace {

using dnnl::algorithm;

// Which oneDNN 2.6 algorithm computes each activation (definitions in dnnl_types.h,
// dnnl_eltwise_desc_t). Not mapped: SELU (oneDNN 2.6 has no selu; elu has no output scale) and
// HardSigmoid (eltwise_hardsigmoid arrived in oneDNN 3.0).
struct EltwiseMapping {
  Activation activation;
  algorithm forward;      // also the backward from x
  algorithm from_output;  // the *_use_dst_for_bwd backward from y; undef where there is none
  bool alpha_is_param0;   // alpha = spec.params[0] (negative slope, ELU alpha), else `alpha`
  float alpha;
  float beta;
};

constexpr std::array kMappings{
    // relu with alpha = slope: x > 0 ? x : alpha * x.
    EltwiseMapping{Activation::kReLU, algorithm::eltwise_relu,
                   algorithm::eltwise_relu_use_dst_for_bwd, false, 0.0f, 0.0f},
    EltwiseMapping{Activation::kLeakyReLU, algorithm::eltwise_relu,
                   algorithm::eltwise_relu_use_dst_for_bwd, true, 0.0f, 0.0f},
    // One slope shared by all elements is leaky relu with that slope.
    EltwiseMapping{Activation::kPReLU, algorithm::eltwise_relu, algorithm::undef, true, 0.0f, 0.0f},
    // clip_v2(alpha, beta) = min(beta, max(alpha, x)).
    EltwiseMapping{Activation::kReLU6, algorithm::eltwise_clip_v2,
                   algorithm::eltwise_clip_v2_use_dst_for_bwd, false, 0.0f, 6.0f},
    EltwiseMapping{Activation::kELU, algorithm::eltwise_elu, algorithm::eltwise_elu_use_dst_for_bwd,
                   true, 0.0f, 0.0f},
    // CELU(alpha) = max(0, x) + min(0, alpha * (exp(x / alpha) - 1)) is ELU(alpha) at alpha = 1
    // only; register_onednn_benchmark checks the parameter.
    EltwiseMapping{Activation::kCELU, algorithm::eltwise_elu,
                   algorithm::eltwise_elu_use_dst_for_bwd, true, 0.0f, 0.0f},
    EltwiseMapping{Activation::kGELU, algorithm::eltwise_gelu_erf, algorithm::undef, false, 0.0f,
                   0.0f},
    EltwiseMapping{Activation::kGELUTanh, algorithm::eltwise_gelu_tanh, algorithm::undef, false,
                   0.0f, 0.0f},
    // swish(alpha) = x * sigmoid(alpha * x); SiLU is alpha = 1.
    EltwiseMapping{Activation::kSiLU, algorithm::eltwise_swish, algorithm::undef, false, 1.0f,
                   0.0f},
    EltwiseMapping{Activation::kMish, algorithm::eltwise_mish, algorithm::undef, false, 0.0f, 0.0f},
    // soft_relu = log(1 + exp(x)): softplus with beta = 1 (PyTorch's threshold = 20 switch to x
    // changes nothing in float).
    EltwiseMapping{Activation::kSoftplus, algorithm::eltwise_soft_relu, algorithm::undef, false,
                   0.0f, 0.0f},
    // hardswish = x * min(max(x + 3, 0), 6) / 6.
    EltwiseMapping{Activation::kHardSwish, algorithm::eltwise_hardswish, algorithm::undef, false,
                   0.0f, 0.0f},
    EltwiseMapping{Activation::kSigmoid, algorithm::eltwise_logistic,
                   algorithm::eltwise_logistic_use_dst_for_bwd, false, 0.0f, 0.0f},
    EltwiseMapping{Activation::kTanh, algorithm::eltwise_tanh,
                   algorithm::eltwise_tanh_use_dst_for_bwd, false, 0.0f, 0.0f},
};

const EltwiseMapping* find_mapping(Activation a) {
  for (const EltwiseMapping& m : kMappings) {
    if (m.activation == a) return &m;
  }
  return nullptr;
}

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// oneDNN takes non-const handles; it does not write to its sources.
dnnl::memory wrap(const dnnl::memory::desc& md, std::span<const float> data) {
  return dnnl::memory(md, cpu_engine(), const_cast<float*>(data.data()));
}

class Eltwise final : public OnednnEltwise {
 public:
  Eltwise(const ActivationSpec& spec, const EltwiseMapping& m, Pass pass, std::span<const float> in,
          std::span<const float> dy, std::span<float> out)
      : stream_(cpu_engine()) {
    const dnnl::memory::desc md({static_cast<dnnl::memory::dim>(in.size())},
                                dnnl::memory::data_type::f32, dnnl::memory::format_tag::a);
    const float alpha = m.alpha_is_param0 ? spec.params[0] : m.alpha;
    const algorithm alg = pass == Pass::kBackwardFromOutput ? m.from_output : m.forward;
    const dnnl::eltwise_forward::primitive_desc forward_pd(
        {dnnl::prop_kind::forward_training, alg, md, alpha, m.beta}, cpu_engine());
    if (pass == Pass::kForward) {
      primitive_ = dnnl::eltwise_forward(forward_pd);
      args_ = {{DNNL_ARG_SRC, wrap(md, in)}, {DNNL_ARG_DST, wrap(md, out)}};
      return;
    }
    primitive_ = dnnl::eltwise_backward(dnnl::eltwise_backward::primitive_desc(
        {alg, md, md, alpha, m.beta}, cpu_engine(), forward_pd));
    args_ = {{pass == Pass::kBackwardFromOutput ? DNNL_ARG_DST : DNNL_ARG_SRC, wrap(md, in)},
             {DNNL_ARG_DIFF_DST, wrap(md, dy)},
             {DNNL_ARG_DIFF_SRC, wrap(md, out)}};
  }
  void execute() override {
    primitive_.execute(stream_, args_);
    stream_.wait();
  }

 private:
  dnnl::stream stream_;
  dnnl::primitive primitive_;
  std::unordered_map<int, dnnl::memory> args_;
};

const EltwiseMapping* find_supported(const ActivationSpec& spec, Pass pass) {
  const EltwiseMapping* m = find_mapping(spec.kind);
  if (m == nullptr) return nullptr;
  if (spec.kind == Activation::kCELU && spec.params[0] != 1.0f) return nullptr;
  if (pass == Pass::kBackwardFromOutput && m->from_output == algorithm::undef) return nullptr;
  return m;
}

void run_eltwise(benchmark::State& state, const ActivationSpec& spec, Pass pass,
                 const Shape& shape) {
  const Buffers b = buffers(shape.n());
  const std::span<float> x = b.x.first(shape.n()), y = b.y.first(shape.n());
  const std::span<float> dy = b.dy.first(shape.n()), dx = b.dx.first(shape.n());
  if (pass == Pass::kBackwardFromOutput) {  // y = f(x) from oneDNN's own forward
    OnednnEltwise::create(spec, Pass::kForward, x, {}, y)->execute();
  }
  const std::unique_ptr<OnednnEltwise> eltwise =
      pass == Pass::kForward
          ? OnednnEltwise::create(spec, pass, x, {}, y)
          : OnednnEltwise::create(spec, pass, pass == Pass::kBackward ? x : y, dy, dx);
  const LoopTiming timing = time_loop(state, shape, [&] { eltwise->execute(); });
  const double gbps = report_throughput(state, shape, pass == Pass::kForward ? 8.0 : 12.0, timing);
  record_baseline_run(peer_key(pass, activation_info(spec.kind).name, shape), state.iterations(),
                      gbps);
}

}  // namespace

bool OnednnEltwise::supports(const ActivationSpec& spec, Pass pass) {
  return find_supported(spec, pass) != nullptr;
}

std::unique_ptr<OnednnEltwise> OnednnEltwise::create(const ActivationSpec& spec, Pass pass,
                                                     std::span<const float> in,
                                                     std::span<const float> dy,
                                                     std::span<float> out) {
  const EltwiseMapping* m = find_supported(spec, pass);
  if (m == nullptr) return nullptr;
  return std::make_unique<Eltwise>(spec, *m, pass, in, dy, out);
}

bool register_onednn_benchmark(const ActivationSpec& spec, Pass pass, const Shape& shape,
                               const RunSettings& settings) {
  if (find_supported(spec, pass) == nullptr) return false;
  const std::string name = benchmark_name("onednn", pass, activation_info(spec.kind).name, shape);
  configure(benchmark::RegisterBenchmark(name.c_str(),
                                         [spec, pass, shape](benchmark::State& state) {
                                           run_eltwise(state, spec, pass, shape);
                                         }),
            settings);
  return true;
}

std::string onednn_version() {
  const dnnl_version_t* v = dnnl_version();
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
         std::to_string(v->patch) +
         (v->cpu_runtime == DNNL_RUNTIME_OMP ? " (OpenMP)" : " (not OpenMP: threads may differ)");
}

std::string onednn_unmapped_activations() {
  std::string names;
  for (const ActivationInfo& info : activation_table()) {
    if (find_mapping(info.id) != nullptr) continue;
    names += (names.empty() ? "" : ", ") + std::string(info.name);
  }
  return names;
}

}  // namespace relulab::bench

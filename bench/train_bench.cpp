// relulab side of the training benchmark (bench/torch_train.py is PyTorch's): the same models,
// data shape, batch, threads and optimiser, timed the same way.
//
//   train_bench --model mlp|cnn --threads 2 --batch 128 --out result.json
//
// - images_per_second: median over repetitions of `steps` timed steps after `warmup` steps.
// - saved_bytes: bytes the layers keep for backward after one training forward at batch 512
//   (Sequential::saved(), each block once), the counterpart of autograd's saved tensors.
// - rss_growth_bytes: growth of peak RSS (getrusage ru_maxrss) from after the model and data exist
//   to after `memory_steps` training steps at batch 512.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "relulab/gemm.hpp"
#include "relulab/nn/init.hpp"
#include "relulab/nn/loss.hpp"
#include "relulab/nn/model.hpp"
#include "relulab/nn/optimizer.hpp"
#include "relulab/random.hpp"
#include "relulab/threads.hpp"

namespace {

using namespace relulab;

long max_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss * 1024L;
}

void train_step(nn::Model& model, nn::Optimizer& opt, const Tensor& x,
                const std::vector<std::int32_t>& y, std::uint64_t step) {
  opt.zero_grad();
  const Tensor logits = model.net.forward(x, nn::Pass{nn::Mode::kTrain, step});
  const nn::LossResult loss = nn::softmax_cross_entropy(logits, y);
  model.net.backward(loss.grad);
  model.net.release();
  opt.step(0.01f);
}

}  // namespace

int main(int argc, char** argv) {
  reexec_for_avx512_gemm(argv);  // as the relulab tool does (gemm.hpp)
  CLI::App app{"relulab training throughput and memory (see bench/torch_train.py for PyTorch)"};
  std::string model_name = "mlp", out;
  int threads = 2, batch = 128, steps = 50, warmup = 5, repetitions = 5, memory_batch = 512,
      memory_steps = 5;
  app.add_option("--model", model_name)->check(CLI::IsMember({"mlp", "cnn"}));
  app.add_option("--threads", threads)->check(CLI::Range(1, 1024));
  app.add_option("--batch", batch)->check(CLI::Range(1, 65536));
  app.add_option("--steps", steps)->check(CLI::Range(1, 100000));
  app.add_option("--warmup", warmup)->check(CLI::Range(0, 100000));
  app.add_option("--repetitions", repetitions)->check(CLI::Range(1, 1000));
  app.add_option("--memory-batch", memory_batch)->check(CLI::Range(1, 65536));
  app.add_option("--memory-steps", memory_steps)->check(CLI::Range(1, 1000));
  app.add_option("--out", out)->required();
  CLI11_PARSE(app, argc, argv);
  set_thread_count(threads);
  retain_freed_tensor_memory();  // as Trainer::create does

  const std::string spec = model_name == "mlp" ? "mlp:512-512" : "cnn";
  auto built = nn::build_model(spec, default_spec(Activation::kReLU), {1, 28, 28}, 10);
  if (!built) {
    fmt::print(stderr, "{}\n", built.status().message());
    return 1;
  }
  nn::Model& model = *built.value();
  model.net.set_input_gradient(false);  // as the trainer: the data needs no gradient
  Rng rng(1);
  auto params = model.net.parameters();
  nn::initialize(params, nn::InitSpec{nn::InitScheme::kTorchDefault}, 0.0f, rng);
  nn::SgdOptions sgd;
  sgd.momentum = 0.9f;
  auto opt = nn::make_sgd(params, sgd);

  const int n = std::max(batch, memory_batch);
  Tensor x = Tensor::uninitialized({n, 1, 28, 28});
  std::vector<std::int32_t> labels(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = rng.uniform();
  for (auto& l : labels) l = static_cast<std::int32_t>(rng.below(10));
  const Tensor xb = x.rows(0, batch);
  const std::vector<std::int32_t> yb(labels.begin(), labels.begin() + batch);
  const Tensor xm = x.rows(0, memory_batch);
  const std::vector<std::int32_t> ym(labels.begin(), labels.begin() + memory_batch);

  std::uint64_t step = 0;
  const long rss_before = max_rss_bytes();
  for (int i = 0; i < memory_steps; ++i) train_step(model, *opt, xm, ym, ++step);
  const long rss_growth = max_rss_bytes() - rss_before;
  (void)model.net.forward(xm, nn::Pass{nn::Mode::kTrain, ++step});
  std::size_t saved = 0;
  for (const nn::SavedBlock& b : model.net.saved()) saved += b.bytes;
  model.net.release();

  for (int i = 0; i < warmup; ++i) train_step(model, *opt, xb, yb, ++step);
  std::vector<double> rates;
  for (int r = 0; r < repetitions; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < steps; ++i) train_step(model, *opt, xb, yb, ++step);
    const std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
    rates.push_back(static_cast<double>(steps) * batch / dt.count());
  }
  std::vector<double> sorted = rates;
  std::nth_element(sorted.begin(), sorted.begin() + repetitions / 2, sorted.end());

  nlohmann::json result{{"peer", "relulab"},
                        {"model", model_name},
                        {"threads", threads},
                        {"batch", batch},
                        {"steps", steps},
                        {"repetitions", repetitions},
                        {"images_per_second", sorted[static_cast<std::size_t>(repetitions / 2)]},
                        {"images_per_second_all", rates},
                        {"memory_batch", memory_batch},
                        {"saved_bytes", saved},
                        {"rss_growth_bytes", rss_growth},
                        {"simd_target", simd_target_name()}};
  std::FILE* f = std::fopen(out.c_str(), "w");
  if (f == nullptr) {
    fmt::print(stderr, "cannot write {}\n", out);
    return 1;
  }
  fmt::print(f, "{}\n", result.dump(1));
  std::fclose(f);
  fmt::print("{}\n", result.dump());
  return 0;
}

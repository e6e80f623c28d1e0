// Throughput of every relulab kernel against a copy of the same bytes and against oneDNN's
// eltwise primitive, all in one process run (see throughput.hpp for the counters).
//
// For each thread count (1, 2) and size (2^14, 2^18, 2^22, 2^26 floats) the run measures a
// copy benchmark first (the copy table), then, for each activation of the table with its default
// parameters: oneDNN's
// forward and relulab's forward, oneDNN's backward and relulab's backward, and the backward from
// the output where the activation has one; then ReLU with a 1-bit mask and the fused bias + ReLU.
// Peers run side by side so that a noisy neighbour hits both; every benchmark also times a copy
// of its n floats right after itself in each repetition, its copy_ratio's denominator.
// A last group times ReLU and GELU forward at 2^12..2^20 on one thread and split over two,
// which is where relulab::kParallelThreshold comes from.
//
// Usage: activation_bench [--quick] [Google Benchmark flags, e.g. --benchmark_filter=gelu
//        --benchmark_out=run.json --benchmark_out_format=json]
// --quick: 2^14 and 2^18 only, 3 repetitions of >= 10 ms, no threshold sweep (about a minute).
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "onednn_eltwise.hpp"
#include "relulab/activation.hpp"
#include "relulab/threads.hpp"
#include "throughput.hpp"

namespace relulab::bench {
namespace {

struct Plan {
  std::vector<int> log2_sizes;
  std::vector<int> threads;
  RunSettings settings;
  bool threshold_sweep;
};

Plan make_plan(bool quick) {
  if (quick) return {{14, 18}, {1, 2}, {3, 0.01}, false};
  return {{14, 18, 22, 26}, {1, 2}, {9, 0.02}, true};
}

template <class Body>
void add(const std::string& name, const RunSettings& settings, Body body) {
  configure(benchmark::RegisterBenchmark(name.c_str(), body), settings);
}

void register_copy(const Shape& shape, const RunSettings& settings) {
  add(copy_key(shape), settings, [shape](benchmark::State& state) {
    const Buffers b = buffers(shape.n());
    const LoopTiming timing =
        time_loop(state, shape, [&] { threaded_copy(b.x.first(shape.n()), b.y.first(shape.n())); });
    report_throughput(state, shape, 8.0, timing);
  });
}

void register_kernel(const ActivationSpec& spec, Pass pass, const Shape& shape,
                     const RunSettings& settings) {
  const std::string_view kernel = activation_info(spec.kind).name;
  add(benchmark_name("relulab", pass, kernel, shape), settings,
      [spec, pass, shape, key = peer_key(pass, kernel, shape)](benchmark::State& state) {
        const Buffers b = buffers(shape.n());
        const std::span<float> x = b.x.first(shape.n()), y = b.y.first(shape.n());
        const std::span<float> dy = b.dy.first(shape.n()), dx = b.dx.first(shape.n());
        LoopTiming timing{};
        if (pass == Pass::kForward) {
          timing = time_loop(state, shape, [&] { activation_forward(spec, x, y); });
        } else if (pass == Pass::kBackward) {
          timing = time_loop(state, shape, [&] { activation_backward(spec, x, dy, dx); });
        } else {
          activation_forward(spec, x, y);
          timing =
              time_loop(state, shape, [&] { activation_backward_from_output(spec, y, dy, dx); });
        }
        report_throughput(state, shape, pass == Pass::kForward ? 8.0 : 12.0, timing, key);
      });
}

// ReLU saving a 1-bit mask (forward: x -> y, mask; backward: mask, dy -> dx) moves 8 + 1/8 bytes
// per element; the fused bias + ReLU on [n / 1024, 1024] rows moves 8.
void register_fused(const Shape& shape, const RunSettings& settings) {
  add(benchmark_name("relulab", Pass::kForward, "relu_mask", shape), settings,
      [shape](benchmark::State& state) {
        const Buffers b = buffers(shape.n());
        const auto mask = b.mask.first(relu_mask_bytes(shape.n()));
        const LoopTiming timing = time_loop(state, shape, [&] {
          relu_forward_mask(b.x.first(shape.n()), b.y.first(shape.n()), mask);
        });
        report_throughput(state, shape, 8.125, timing);
      });
  add(benchmark_name("relulab", Pass::kBackward, "relu_mask", shape), settings,
      [shape](benchmark::State& state) {
        const Buffers b = buffers(shape.n());
        const auto mask = b.mask.first(relu_mask_bytes(shape.n()));
        relu_forward_mask(b.x.first(shape.n()), b.y.first(shape.n()), mask);
        const LoopTiming timing = time_loop(state, shape, [&] {
          relu_backward_mask(mask, b.dy.first(shape.n()), b.dx.first(shape.n()));
        });
        report_throughput(state, shape, 8.125, timing);
      });
  add(benchmark_name("relulab", Pass::kForward, "bias_relu_rows", shape), settings,
      [shape](benchmark::State& state) {
        const Buffers b = buffers(shape.n());
        constexpr std::size_t kCols = 1024;
        const LoopTiming timing = time_loop(state, shape, [&] {
          bias_activation_forward_rows({}, shape.n() / kCols, kCols, b.x.first(shape.n()),
                                       b.bias.first(kCols), b.y.first(shape.n()));
        });
        report_throughput(state, shape, 8.0, timing);
      });
}

// Forward at 2^12..2^20: "threads:1" is one call on one thread; "threads:2" splits the span in
// two halves, one per OpenMP thread, as the kernels do above kParallelThreshold, so the pair shows
// the size from which the fork/join pays for itself.
void register_threshold_sweep(const RunSettings& settings) {
  for (const Activation a : {Activation::kReLU, Activation::kGELU}) {
    for (int log2n = 12; log2n <= 20; ++log2n) {
      for (const int threads : {1, 2}) {
        const Shape shape{log2n, threads};
        const ActivationSpec spec = default_spec(a);
        add(benchmark_name("split", Pass::kForward, activation_info(a).name, shape), settings,
            [spec, shape](benchmark::State& state) {
              const Buffers b = buffers(shape.n());
              const std::span<float> x = b.x.first(shape.n()), y = b.y.first(shape.n());
              const LoopTiming timing = time_loop(state, shape, [&] {
                if (shape.threads == 1) {
                  activation_forward(spec, x, y);
                  return;
                }
#pragma omp parallel num_threads(shape.threads)
                {
                  set_thread_count(1);  // each half on its own thread, no nested team
                  const std::size_t half = shape.n() / 2;
                  const std::size_t begin = half * static_cast<std::size_t>(omp_get_thread_num());
                  activation_forward(spec, x.subspan(begin, half), y.subspan(begin, half));
                }
              });
              report_throughput(state, shape, 8.0, timing);
            });
      }
    }
  }
}

void register_all(const Plan& plan) {
  for (const int threads : plan.threads) {
    for (const int log2n : plan.log2_sizes) {
      const Shape shape{log2n, threads};
      register_copy(shape, plan.settings);
      for (const ActivationInfo& info : activation_table()) {
        const ActivationSpec spec = default_spec(info.id);
        for (const Pass pass : {Pass::kForward, Pass::kBackward, Pass::kBackwardFromOutput}) {
          if (pass == Pass::kBackwardFromOutput && !info.backward_from_output) continue;
          register_onednn_benchmark(spec, pass, shape, plan.settings);
          register_kernel(spec, pass, shape, plan.settings);
        }
      }
      register_fused(shape, plan.settings);
    }
  }
  if (plan.threshold_sweep) register_threshold_sweep(plan.settings);
}

// Removes `flag` from argv; returns whether it was there.
bool take_flag(int& argc, char** argv, const char* flag) {
  char** end = std::remove_if(argv + 1, argv + argc,
                              [flag](const char* arg) { return std::strcmp(arg, flag) == 0; });
  const bool found = end != argv + argc;
  argc = static_cast<int>(end - argv);
  return found;
}

}  // namespace
}  // namespace relulab::bench

int main(int argc, char** argv) {
  using namespace relulab::bench;
  const bool quick = take_flag(argc, argv, "--quick");
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  const Plan plan = make_plan(quick);
  benchmark::AddCustomContext("relulab_simd_target", relulab::simd_target_name());
  benchmark::AddCustomContext("relulab_parallel_threshold",
                              std::to_string(relulab::kParallelThreshold));
  benchmark::AddCustomContext("onednn", onednn_version());
  benchmark::AddCustomContext("onednn_unmapped", onednn_unmapped_activations());
  benchmark::AddCustomContext("plan", quick ? "quick" : "full");
  benchmark::AddCustomContext("bytes_per_element",
                              "forward 8 (read x, write y), backward 12 (read x or y and dy, write "
                              "dx), copy 8, relu_mask 8.125");
  register_all(plan);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

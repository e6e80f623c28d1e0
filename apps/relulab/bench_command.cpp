// `relulab bench`: forward and backward kernel throughput of each activation on this machine, and
// how close each comes to a plain copy of the same bytes (memcpy of x to y, split across threads
// like the kernels are).
//
// A timing is the median over repetitions of one pass over enough elements to run for a while;
// the full Google Benchmark suite lives in bench/.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <random>
#include <span>
#include <vector>

#include <fmt/format.h>
#include <omp.h>

#include "commands.hpp"
#include "relulab/threads.hpp"

namespace relulab::cli {
namespace {

struct Plan {
  std::vector<std::size_t> sizes;  // elements per kernel call
  std::size_t elements_per_rep;    // a repetition calls the kernel until it has covered this many
  int reps;
};

// Quick: L1/L2-resident and past L2, few reps, under 30 s for the whole table. Full: from L1 to
// well past the last-level cache.
Plan make_plan(bool quick) {
  if (quick) return {{std::size_t{1} << 12, std::size_t{1} << 20}, std::size_t{1} << 23, 7};
  return {{std::size_t{1} << 12, std::size_t{1} << 16, std::size_t{1} << 20, std::size_t{1} << 24},
          std::size_t{1} << 25,
          11};
}

// Median seconds per call of `call` over plan.reps repetitions.
template <class Call>
double median_seconds(const Plan& plan, std::size_t n, Call&& call) {
  const std::size_t calls = std::max<std::size_t>(1, plan.elements_per_rep / n);
  call();  // warm caches and the thread pool
  std::vector<double> seconds;
  for (int rep = 0; rep < plan.reps; ++rep) {
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < calls; ++i) call();
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    seconds.push_back(elapsed.count() / static_cast<double>(calls));
  }
  std::nth_element(seconds.begin(), seconds.begin() + plan.reps / 2, seconds.end());
  return seconds[static_cast<std::size_t>(plan.reps / 2)];
}

// y = x, split across thread_count() threads above kParallelThreshold as the kernels are, so that
// the ratio kernel / copy compares like with like.
void threaded_copy(std::span<const float> x, std::span<float> y) {
  const std::size_t n = x.size();
  if (n < kParallelThreshold || thread_count() == 1) {
    std::memcpy(y.data(), x.data(), n * sizeof(float));
    return;
  }
#pragma omp parallel num_threads(thread_count())
  {
    const auto t = static_cast<std::size_t>(omp_get_thread_num());
    const auto count = static_cast<std::size_t>(omp_get_num_threads());
    const std::size_t begin = n * t / count, end = n * (t + 1) / count;
    std::memcpy(y.data() + begin, x.data() + begin, (end - begin) * sizeof(float));
  }
}

struct Buffers {
  std::vector<float> x, y, dy, dx;
};

Buffers make_buffers(std::size_t n) {
  Buffers b{std::vector<float>(n), std::vector<float>(n), std::vector<float>(n),
            std::vector<float>(n)};
  // Inputs spread over both sides of every kink and saturation region.
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> dist(-8.0f, 8.0f);
  for (float& v : b.x) v = dist(rng);
  for (float& v : b.dy) v = dist(rng);
  return b;
}

void print_header() {
  fmt::print("{:<12} {:>9} {:>10} {:>8} {:>8} {:>10} {:>8} {:>8}\n", "activation", "n", "fwd Gel/s",
             "fwd GB/s", "fwd/copy", "bwd Gel/s", "bwd GB/s", "bwd/copy");
}

}  // namespace

CLI::App* add_bench_command(CLI::App& app, BenchOptions& options) {
  CLI::App* command = app.add_subcommand(
      "bench", "Time the forward/backward kernels of each activation against a plain copy");
  add_activation_args(*command, options.activations);
  command->add_flag("--quick", options.quick, "Small sizes and few repetitions (< 30 s)");
  command->add_option("--threads", options.threads, "Kernel threads (default: OpenMP's default)")
      ->check(CLI::Range(1, 1024));
  return command;
}

void run_bench(const BenchOptions& options) {
  const std::vector<ActivationSpec> specs = resolve_specs(options.activations);
  if (options.threads > 0) set_thread_count(options.threads);
  const Plan plan = make_plan(options.quick);
  fmt::print(
      "relulab bench{}: SIMD target {}, {} threads; median of {} reps. GB/s counts bytes moved: "
      "forward reads x and writes y (8 B/element), backward reads x, dy and writes dx "
      "(12 B/element). x/copy = GB/s relative to a threaded memcpy of the same n floats.\n\n",
      options.quick ? " --quick" : "", simd_target_name(), thread_count(), plan.reps);
  print_header();
  for (std::size_t n : plan.sizes) {
    Buffers b = make_buffers(n);
    const double copy_s = median_seconds(plan, n, [&] { threaded_copy(b.x, b.y); });
    const double elements = static_cast<double>(n);
    const double copy_gbs = 8.0 * elements / copy_s * 1e-9;
    fmt::print("{:<12} {:>9} {:>10.2f} {:>8.1f} {:>8} {:>10} {:>8} {:>8}\n", "(copy)", n,
               elements / copy_s * 1e-9, copy_gbs, "1.00", "", "", "");
    for (const ActivationSpec& spec : specs) {
      const double forward_s = median_seconds(plan, n, [&] { activation_forward(spec, b.x, b.y); });
      const double backward_s =
          median_seconds(plan, n, [&] { activation_backward(spec, b.x, b.dy, b.dx); });
      const double forward_gbs = 8.0 * elements / forward_s * 1e-9;
      const double backward_gbs = 12.0 * elements / backward_s * 1e-9;
      fmt::print("{:<12} {:>9} {:>10.2f} {:>8.1f} {:>8.2f} {:>10.2f} {:>8.1f} {:>8.2f}\n",
                 activation_info(spec.kind).name, n, elements / forward_s * 1e-9, forward_gbs,
                 forward_gbs / copy_gbs, elements / backward_s * 1e-9, backward_gbs,
                 backward_gbs / copy_gbs);
    }
    fmt::print("\n");
  }
}

}  // namespace relulab::cli

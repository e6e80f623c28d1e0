// `relulab bench`: forward and backward kernel throughput of each activation on this machine, and
// how close each comes to a plain copy of the same bytes (relulab/kernel_timing.hpp says how it is
// timed; the full Google Benchmark suite with the peers lives in bench/).
#include <cstddef>
#include <vector>

#include <fmt/format.h>

#include "commands.hpp"
#include "relulab/kernel_timing.hpp"
#include "relulab/threads.hpp"

namespace relulab::cli {
namespace {

struct Plan {
  std::vector<std::size_t> sizes;  // elements per kernel call
  TimingPlan timing;
};

// Quick: L1/L2-resident and past L2, few reps, under 30 s for the whole table. Full: from L1 to
// well past the last-level cache.
Plan make_plan(bool quick) {
  if (quick) return {{std::size_t{1} << 12, std::size_t{1} << 20}, {std::size_t{1} << 23, 7}};
  return {{std::size_t{1} << 12, std::size_t{1} << 16, std::size_t{1} << 20, std::size_t{1} << 24},
          {std::size_t{1} << 25, 11}};
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
      options.quick ? " --quick" : "", simd_target_name(), thread_count(), plan.timing.reps);
  print_header();
  for (std::size_t n : plan.sizes) {
    const double copy_s = time_copy(n, plan.timing);
    const double elements = static_cast<double>(n);
    const double copy_gbs = kCopyBytes * elements / copy_s * 1e-9;
    fmt::print("{:<12} {:>9} {:>10.2f} {:>8.1f} {:>8} {:>10} {:>8} {:>8}\n", "(copy)", n,
               elements / copy_s * 1e-9, copy_gbs, "1.00", "", "", "");
    for (const ActivationSpec& spec : specs) {
      const KernelTiming t = time_activation(spec, n, plan.timing, copy_s);
      const double forward_gbs = kForwardBytes * elements / t.forward_seconds * 1e-9;
      const double backward_gbs = kBackwardBytes * elements / t.backward_seconds * 1e-9;
      fmt::print("{:<12} {:>9} {:>10.2f} {:>8.1f} {:>8.2f} {:>10.2f} {:>8.1f} {:>8.2f}\n",
                 activation_info(spec.kind).name, n, elements / t.forward_seconds * 1e-9,
                 forward_gbs, forward_gbs / copy_gbs, elements / t.backward_seconds * 1e-9,
                 backward_gbs, backward_gbs / copy_gbs);
    }
    fmt::print("\n");
  }
}

}  // namespace relulab::cli

// Accuracy of the peer in activation_bench, oneDNN's eltwise primitive, against relulab's
// long-double reference, on the points and with the metric of the kernel accuracy test
// (tests/accuracy_sweep.hpp: ~1.05e7 points over [-100, 100], every binade, the kinks and the
// specials), next to relulab's own kernels. docs/performance.md quotes it beside the speed ratios,
// so that a ratio says what accuracy each side delivered.
//
// Usage: peer_accuracy [--reduce K]   (K > 1 keeps 1/K of the points of every region)
// Prints one Markdown row per activation and pass that oneDNN 2.6 computes (default parameters).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <limits>
#include <memory>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "accuracy_sweep.hpp"
#include "onednn_eltwise.hpp"
#include "relulab/activation.hpp"

namespace relulab::bench {
namespace {

using test::Implementation;
using test::Kernel;

Pass pass_of(Kernel k) {
  if (k == Kernel::kForward) return Pass::kForward;
  return k == Kernel::kBackward ? Pass::kBackward : Pass::kBackwardFromOutput;
}

// oneDNN where it has the pass; NaN elsewhere (such a pass is not printed).
void run_onednn(Kernel k, const ActivationSpec& spec, std::span<const float> in,
                std::span<const float> dy, std::span<float> out) {
  const std::unique_ptr<OnednnEltwise> eltwise =
      OnednnEltwise::create(spec, pass_of(k), in, dy, out);
  if (eltwise == nullptr) {
    std::fill(out.begin(), out.end(), std::numeric_limits<float>::quiet_NaN());
    return;
  }
  eltwise->execute();
}

std::string ulps(const test::Worst& w) {
  std::ostringstream s;
  if (w.error < 1e4) {
    s << std::fixed << std::setprecision(w.error < 10 ? 2 : 0) << w.error;
  } else {
    s << std::setprecision(2) << w.error;  // 1.7e+07, inf (a NaN where a number was due)
  }
  return s.str();
}

std::string at(const test::Worst& w) {
  std::ostringstream s;
  s << std::setprecision(6) << w.x << " (" << std::setprecision(9) << w.fast << " for " << w.ref
    << ")";
  return s.str();
}

// What else failed the metric: subnormal outputs over the bound (in steps of 2^-149), zeros of
// the wrong sign, and NaN or infinity not matched.
std::string other_failures(const test::Stats& s, double bound) {
  std::string text;
  const auto add = [&text](const std::string& part) { text += (text.empty() ? "" : "; ") + part; };
  if (s.subnormal.error > bound) {
    add(ulps(s.subnormal) + " subnormal steps at " + at(s.subnormal));
  }
  if (s.sign_count > 0)
    add(std::to_string(s.sign_count) + " zeros of wrong sign, at " + at(s.sign));
  if (s.special_count > 0) add("NaN/inf at " + at(s.special));
  return text.empty() ? "–" : text;
}

int run(std::size_t reduce) {
  const std::vector<float> points = test::sweep_points(reduce);
  const std::vector<Implementation> impls = {{"relulab", test::run_cpu_kernel},
                                             {"onednn", run_onednn}};
  std::cout << "Points: " << points.size() << " (tests/accuracy_sweep.hpp";
  if (reduce > 1) std::cout << ", 1/" << reduce << " of each region";
  std::cout << "); relulab SIMD target " << simd_target_name() << "; oneDNN " << onednn_version()
            << ".\n\n"
            << "| activation | pass | relulab bound | relulab max ULP | oneDNN max ULP | oneDNN "
               "worst input (its result for the reference) | oneDNN, other failures |\n"
            << "|---|---|---:|---:|---:|---|---|\n";
  for (const ActivationInfo& info : activation_table()) {
    const ActivationSpec spec = default_spec(info.id);
    const test::Bounds* bounds = test::find_bounds(spec);
    if (bounds == nullptr) continue;
    const test::SpecStats stats = test::sweep(spec, *bounds, points, impls, reduce);
    const double bound[] = {bounds->forward, bounds->backward, bounds->from_output};
    for (int k = 0; k < (info.backward_from_output ? 3 : 2); ++k) {
      if (!OnednnEltwise::supports(spec, pass_of(static_cast<Kernel>(k)))) continue;
      const test::Stats& mine = stats[0][k];
      const test::Stats& peer = stats[1][k];
      std::cout << "| " << info.name << " | " << test::kKernelNames[k] << " | " << bound[k] << " | "
                << ulps(mine.ulp) << " | " << ulps(peer.ulp) << " | " << at(peer.ulp) << " | "
                << other_failures(peer, bound[k]) << " |\n";
    }
  }
  return 0;
}

}  // namespace
}  // namespace relulab::bench

int main(int argc, char** argv) {
  std::size_t reduce = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--reduce" && i + 1 < argc) {
      const long k = std::strtol(argv[++i], nullptr, 10);
      if (k < 1) {
        std::cerr << "peer_accuracy: --reduce takes a positive integer, got '" << argv[i] << "'\n";
        return 2;
      }
      reduce = static_cast<std::size_t>(k);
    } else {
      std::cerr << "peer_accuracy: unknown argument '" << arg << "' (usage: peer_accuracy "
                << "[--reduce K])\n";
      return 2;
    }
  }
  return relulab::bench::run(reduce);
}

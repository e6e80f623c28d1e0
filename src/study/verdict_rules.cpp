#include "verdict_rules.hpp"

#include <cmath>
#include <set>
#include <utility>

namespace relulab::study {
namespace {

template <typename Pass>
Check all_pass(std::span<const double> values, Pass pass) {
  if (values.empty()) return Check::kUndecided;
  bool any_pass = false, any_fail = false;
  for (double v : values) {
    if (std::isnan(v)) return Check::kUndecided;
    (pass(v) ? any_pass : any_fail) = true;
  }
  return any_pass && any_fail ? Check::kUndecided : any_pass ? Check::kTrue : Check::kFalse;
}

Verdict count_verdict(int holds, std::size_t tests) {
  return holds == static_cast<int>(tests) ? Verdict::kHolds
         : holds == 0                     ? Verdict::kDoesNotHold
                                          : Verdict::kHoldsPartly;
}

}  // namespace

Check all_above(std::span<const double> values, double threshold) {
  return all_pass(values, [&](double v) { return v > threshold; });
}

Check all_below(std::span<const double> values, double threshold) {
  return all_pass(values, [&](double v) { return v < threshold; });
}

Check both(Check a, Check b) {
  if (a == Check::kFalse || b == Check::kFalse) return Check::kFalse;
  if (a == Check::kTrue && b == Check::kTrue) return Check::kTrue;
  return Check::kUndecided;
}

// The verdict is a function of how many tests hold: with u undecided tests and t true ones, any
// count in [t, t + u] is possible; inconclusive when they map to different verdicts.
Verdict points_verdict(std::span<const Check> tests) {
  int trues = 0, undecided = 0;
  for (Check t : tests) {
    trues += t == Check::kTrue;
    undecided += t == Check::kUndecided;
  }
  std::set<Verdict> possible;
  for (int k = trues; k <= trues + undecided; ++k) possible.insert(count_verdict(k, tests.size()));
  return possible.size() == 1 ? *possible.begin() : Verdict::kInconclusive;
}

Verdict band_verdict(std::span<const double> values, std::span<const double> thresholds,
                     std::span<const Verdict> verdicts) {
  if (values.empty() || verdicts.size() != thresholds.size() + 1) return Verdict::kNotMeasured;
  std::set<Verdict> seen;
  for (double v : values) {
    if (std::isnan(v)) return Verdict::kNotMeasured;
    std::size_t band = 0;
    while (band < thresholds.size() && v >= thresholds[band]) ++band;
    seen.insert(verdicts[band]);
  }
  return seen.size() == 1 ? *seen.begin() : Verdict::kInconclusive;
}

Verdict cost_verdict(std::span<const double> sigmoid_in_cache,
                     std::span<const double> sigmoid_out_of_cache) {
  if (sigmoid_in_cache.empty() || sigmoid_out_of_cache.empty()) return Verdict::kNotMeasured;
  const Check tests[] = {all_above(sigmoid_in_cache, kExpensive),
                         all_above(sigmoid_out_of_cache, kExpensive)};
  return points_verdict(tests);
}

Verdict convergence_verdict(std::span<const double> tanh_over_relu) {
  const double thresholds[] = {kFasterRatio, kPaperRatio};
  const Verdict verdicts[] = {Verdict::kDoesNotHold, Verdict::kHoldsPartly, Verdict::kHolds};
  // At exactly kFasterRatio ReLU is not yet measurably faster: the band starts just above it.
  std::vector<double> shifted(tanh_over_relu.begin(), tanh_over_relu.end());
  for (double& r : shifted) {
    if (r == kFasterRatio) r = std::nextafter(kFasterRatio, 0.0);
  }
  return band_verdict(shifted, thresholds, verdicts);
}

Verdict vanishing_verdict(std::span<const double> sigmoid_ratio, std::span<const double> relu_ratio,
                          std::span<const double> sigmoid_over_relu_accuracy) {
  const Check tests[] = {all_below(sigmoid_ratio, kVanishes), all_above(relu_ratio, kPasses),
                         all_below(sigmoid_over_relu_accuracy, kFailsRelative)};
  return points_verdict(tests);
}

Verdict sparsity_verdict(std::span<const double> init_lowest, std::span<const double> init_highest,
                         std::span<const double> trained_mean) {
  if (init_lowest.empty() || trained_mean.empty()) return Verdict::kNotMeasured;
  const Check tests[] = {both(all_pass(init_lowest, [](double v) { return v >= kHalfLow; }),
                              all_pass(init_highest, [](double v) { return v <= kHalfHigh; })),
                         all_pass(trained_mean, [](double v) { return v >= kSparse; })};
  return points_verdict(tests);
}

Verdict dying_verdict(std::span<const double> relu_most_dead,
                      std::span<const double> relu_least_dead,
                      std::span<const double> remedy_most_dead, double born_dead_low,
                      double born_dead_high) {
  const Check spans = both(all_pass(relu_most_dead, [](double v) { return v >= kMassDeath; }),
                           all_below(relu_least_dead, kNoDeath));
  const Check remedies = all_below(remedy_most_dead, kNoDeath);
  const double interval[] = {born_dead_low, born_dead_high};
  const Check born = all_pass(interval, [](double v) { return v >= kBornDead; });
  const Check tests[] = {spans, remedies, born};
  return points_verdict(tests);
}

Verdict initialisation_verdict(std::span<const double> he_deep_final,
                               std::span<const double> xavier_deep_when_he_converged,
                               std::span<const double> xavier_shallow_final,
                               std::span<const double> he_shallow_epochs,
                               std::span<const double> xavier_shallow_epochs) {
  std::vector<double> he_sooner;  // > 0 where He got to kTrains in fewer epochs
  for (std::size_t i = 0; i < he_shallow_epochs.size() && i < xavier_shallow_epochs.size(); ++i) {
    const double he = he_shallow_epochs[i], xavier = xavier_shallow_epochs[i];
    he_sooner.push_back(std::isnan(he) || std::isnan(xavier) ? std::nan("")
                        : he < xavier                        ? 1.0
                                                             : -1.0);
  }
  const Check tests[] = {
      all_below(he_deep_final, kTrains),
      all_pass(xavier_deep_when_he_converged, [](double v) { return v >= kStalls; }),
      both(all_below(xavier_shallow_final, kTrains), all_above(he_sooner, 0.0))};
  return points_verdict(tests);
}

std::pair<double, double> wilson_interval(int k, int n) {
  if (n <= 0) return {0.0, 1.0};
  constexpr double z = 1.959963984540054;  // the normal's 97.5% quantile
  const double nn = n, p = k / nn, z2 = z * z;
  const double centre = (p + z2 / (2 * nn)) / (1 + z2 / nn);
  const double half = z * std::sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn)) / (1 + z2 / nn);
  // At k = 0 and k = n the bound is exactly 0 or 1 (centre - half cancels there).
  return {k == 0 ? 0.0 : std::max(0.0, centre - half), k == n ? 1.0 : std::min(1.0, centre + half)};
}

}  // namespace relulab::study

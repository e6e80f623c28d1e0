// The verdict rules of the study, as pure functions of per-seed measurements, so that a test can
// put synthetic numbers on both sides of every threshold and inside the spread.
//
// A rule's test ("ReLU's gradient ratio is above 0.1") is decided only when every seed agrees:
// true when every seed's value passes, false when none does, undecided when the seeds straddle
// the threshold. A verdict that an undecided test could change is Verdict::kInconclusive; one that
// it cannot change (the others already settle it) stands. NaN values (a run that produced no
// number) make a test undecided; an empty list too.
#pragma once

#include <span>
#include <vector>

#include "relulab/study/report.hpp"

namespace relulab::study {

enum class Check { kFalse, kTrue, kUndecided };

// Every value > threshold: kTrue; every value <= threshold: kFalse; otherwise kUndecided.
Check all_above(std::span<const double> values, double threshold);
// Every value < threshold: kTrue; every value >= threshold: kFalse; otherwise kUndecided.
Check all_below(std::span<const double> values, double threshold);
// Both tests true: kTrue; either false: kFalse; otherwise kUndecided.
Check both(Check a, Check b);

// Points rule: holds when every test is true, does not hold when none is, partly otherwise;
// kInconclusive when undecided tests could give more than one of these.
Verdict points_verdict(std::span<const Check> tests);

// Band rule over one quantity measured per seed: thresholds t_0 < t_1 < ... split the line into
// bands [-inf, t_0), [t_0, t_1), ..., [t_last, inf]; verdicts[i] is the verdict of band i
// (verdicts.size() == thresholds.size() + 1). Every seed in one band: that band's verdict;
// seeds in bands with different verdicts: kInconclusive; no values or a NaN: kNotMeasured.
Verdict band_verdict(std::span<const double> values, std::span<const double> thresholds,
                     std::span<const Verdict> verdicts);

// Section 2: sigmoid's forward time over ReLU's, one ratio per interleaved timing trial, in cache
// and out of cache. Holds when sigmoid is more than kExpensive x ReLU's time in both, does not
// hold in neither, partly otherwise; inconclusive when trials straddle kExpensive and that matters.
// kExpensive is our reading of "far more expensive": an exp and a division per element cost
// several times a max on SIMD units, which only a memory-bound loop hides.
inline constexpr double kExpensive = 3.0;
Verdict cost_verdict(std::span<const double> sigmoid_in_cache,
                     std::span<const double> sigmoid_out_of_cache);

// Section 3: tanh's epochs to the threshold over ReLU's, per seed (inf when tanh never got
// there). Holds at >= kPaperRatio (Krizhevsky et al.'s 6x), partly above kFasterRatio (ReLU
// measurably faster), otherwise does not hold.
inline constexpr double kPaperRatio = 6.0, kFasterRatio = 1.1;
Verdict convergence_verdict(std::span<const double> tanh_over_relu);

// Section 4, at the greatest depth, per seed: sigmoid's and ReLU's first-layer over last-layer
// gradient norm at initialisation, and sigmoid's final test accuracy over ReLU's.
inline constexpr double kVanishes = 0.01, kPasses = 0.1, kFailsRelative = 0.5;
Verdict vanishing_verdict(std::span<const double> sigmoid_ratio, std::span<const double> relu_ratio,
                          std::span<const double> sigmoid_over_relu_accuracy);

// Section 5, per seed: the fraction of exact zeros of the ReLU layers at initialisation (least
// and most sparse layer) and, after training, the mean over the layers. Two points: about half
// at initialisation (every layer within [kHalfLow, kHalfHigh]), a large fraction after training
// (mean at least kSparse).
inline constexpr double kHalfLow = 0.4, kHalfHigh = 0.6, kSparse = 0.5;
Verdict sparsity_verdict(std::span<const double> init_lowest, std::span<const double> init_highest,
                         std::span<const double> trained_mean);

// Section 6. relu_most_dead: per seed, ReLU's largest dead fraction at the end over the lr and
// bias sweeps (mass death: >= kMassDeath); relu_least_dead: its smallest (no death: < kNoDeath);
// remedy_most_dead: per seed, the largest over Leaky ReLU, ELU and GELU at every sweep point they
// did not diverge (< kNoDeath); born_dead_low/high: the 95% interval of the fraction of the
// narrowest, deepest ReLU nets born dead (>= kBornDead). Three points: ReLU's curve spans no death
// to mass death, the remedies stay alive, narrow deep nets are born dead.
inline constexpr double kMassDeath = 0.5, kNoDeath = 0.01, kBornDead = 0.5;
Verdict dying_verdict(std::span<const double> relu_most_dead,
                      std::span<const double> relu_least_dead,
                      std::span<const double> remedy_most_dead, double born_dead_low,
                      double born_dead_high);

// Section 7, per seed. Three points: at the deep net (30 layers) He trains (final training
// error below kTrains); Xavier stalls while He converges (Xavier's error at the epoch where He's
// first falls below kConverged is at or above kStalls, near the 90% of chance); at the shallower
// net (22 layers) both converge (Xavier's final error below kTrains) and He sooner (fewer epochs
// to kTrains error than Xavier; inf for a run that never got there).
inline constexpr double kTrains = 0.5, kConverged = 0.3, kStalls = 0.8;
Verdict initialisation_verdict(std::span<const double> he_deep_final,
                               std::span<const double> xavier_deep_when_he_converged,
                               std::span<const double> xavier_shallow_final,
                               std::span<const double> he_shallow_epochs,
                               std::span<const double> xavier_shallow_epochs);

// Wilson's 95% score interval for k successes in n trials: {low, high}; {0, 1} when n = 0.
std::pair<double, double> wilson_interval(int k, int n);

}  // namespace relulab::study

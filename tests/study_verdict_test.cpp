// The study's verdict rules on synthetic per-seed numbers: both sides of every threshold, on the
// threshold, and spreads that straddle it (inconclusive); and section 3's planning (the crossing,
// the best learning rate, the second stage, the CIFAR-10 setting) on synthetic runs.
#include <cmath>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "study/sections.hpp"
#include "study/verdict_rules.hpp"

namespace relulab::study {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
using V = std::vector<double>;

TEST(VerdictRules, AllAboveAndBelowNeedEverySeed) {
  EXPECT_EQ(all_above(V{0.2, 0.3}, 0.1), Check::kTrue);
  EXPECT_EQ(all_above(V{0.05, 0.1}, 0.1), Check::kFalse);  // 0.1 is not above 0.1
  EXPECT_EQ(all_above(V{0.05, 0.3}, 0.1), Check::kUndecided);
  EXPECT_EQ(all_below(V{0.005}, 0.01), Check::kTrue);
  EXPECT_EQ(all_below(V{0.01, 0.02}, 0.01), Check::kFalse);
  EXPECT_EQ(all_below(V{0.005, 0.02}, 0.01), Check::kUndecided);
  EXPECT_EQ(all_below(V{}, 0.01), Check::kUndecided);
  EXPECT_EQ(all_below(V{0.001, std::nan("")}, 0.01), Check::kUndecided);
  EXPECT_EQ(both(Check::kTrue, Check::kTrue), Check::kTrue);
  EXPECT_EQ(both(Check::kUndecided, Check::kFalse), Check::kFalse);
  EXPECT_EQ(both(Check::kUndecided, Check::kTrue), Check::kUndecided);
}

TEST(VerdictRules, PointsAreInconclusiveOnlyWhenAnUndecidedPointMatters) {
  using T = Check;
  auto verdict = [](std::vector<Check> t) { return points_verdict(t); };
  EXPECT_EQ(verdict({T::kTrue, T::kTrue, T::kTrue}), Verdict::kHolds);
  EXPECT_EQ(verdict({T::kFalse, T::kFalse, T::kFalse}), Verdict::kDoesNotHold);
  EXPECT_EQ(verdict({T::kTrue, T::kFalse, T::kFalse}), Verdict::kHoldsPartly);
  EXPECT_EQ(verdict({T::kTrue, T::kTrue, T::kUndecided}), Verdict::kInconclusive);
  EXPECT_EQ(verdict({T::kFalse, T::kFalse, T::kUndecided}), Verdict::kInconclusive);
  EXPECT_EQ(verdict({T::kTrue, T::kFalse, T::kUndecided}), Verdict::kHoldsPartly);
  EXPECT_EQ(verdict({T::kUndecided, T::kUndecided, T::kUndecided}), Verdict::kInconclusive);
}

TEST(VerdictRules, CostOfSigmoidAgainstThreeTimesReLU) {
  EXPECT_EQ(cost_verdict(V{3.4, 3.6}, V{3.1, 3.2}), Verdict::kHolds);
  EXPECT_EQ(cost_verdict(V{3.4, 3.6}, V{1.0, 1.1}), Verdict::kHoldsPartly);
  EXPECT_EQ(cost_verdict(V{2.0, 2.9}, V{1.0, 1.1}), Verdict::kDoesNotHold);
  EXPECT_EQ(cost_verdict(V{3.0, 3.0}, V{1.0}), Verdict::kDoesNotHold);  // "more than" 3x
  // The trials straddle 3x in cache: partly or does not hold, so undecided.
  EXPECT_EQ(cost_verdict(V{2.95, 3.05}, V{1.0, 1.1}), Verdict::kInconclusive);
  EXPECT_EQ(cost_verdict(V{3.4, 3.6}, V{2.9, 3.1}), Verdict::kInconclusive);
  EXPECT_EQ(cost_verdict(V{}, V{1.0}), Verdict::kNotMeasured);
  EXPECT_EQ(cost_verdict(V{3.5, std::nan("")}, V{1.0}), Verdict::kInconclusive);
}

TEST(VerdictRules, ConvergenceAgainstThePapersSixTimes) {
  EXPECT_EQ(convergence_verdict(V{7, 8}), Verdict::kHolds);
  EXPECT_EQ(convergence_verdict(V{6, 6}), Verdict::kHolds);        // at the paper's figure
  EXPECT_EQ(convergence_verdict(V{kInf, kInf}), Verdict::kHolds);  // tanh never got there
  EXPECT_EQ(convergence_verdict(V{2, 3}), Verdict::kHoldsPartly);
  EXPECT_EQ(convergence_verdict(V{5.9, 5.95}), Verdict::kHoldsPartly);
  EXPECT_EQ(convergence_verdict(V{0.8, 1.0}), Verdict::kDoesNotHold);
  EXPECT_EQ(convergence_verdict(V{1.1, 1.1}), Verdict::kDoesNotHold);  // not measurably faster
  EXPECT_EQ(convergence_verdict(V{1.11}), Verdict::kHoldsPartly);
  EXPECT_EQ(convergence_verdict(V{5, 7}), Verdict::kInconclusive);      // straddles 6
  EXPECT_EQ(convergence_verdict(V{1.0, 1.5}), Verdict::kInconclusive);  // straddles 1.1
  EXPECT_EQ(convergence_verdict(V{}), Verdict::kNotMeasured);
  EXPECT_EQ(convergence_verdict(V{2, std::nan("")}), Verdict::kNotMeasured);
}

TEST(VerdictRules, Vanishing) {
  EXPECT_EQ(vanishing_verdict(V{1e-30, 1e-20}, V{2, 3}, V{0.2, 0.3}), Verdict::kHolds);
  EXPECT_EQ(vanishing_verdict(V{0.5, 0.6}, V{0.01, 0.05}, V{0.9, 1.0}), Verdict::kDoesNotHold);
  EXPECT_EQ(vanishing_verdict(V{1e-30, 1e-20}, V{0.01, 0.05}, V{0.9, 1.0}), Verdict::kHoldsPartly);
  // ReLU's ratio straddles 0.1 while the other two points hold: holds or partly.
  EXPECT_EQ(vanishing_verdict(V{1e-30, 1e-20}, V{0.05, 0.2}, V{0.2, 0.3}), Verdict::kInconclusive);
}

TEST(VerdictRules, Sparsity) {
  const V half_low{0.47, 0.48}, half_high{0.52, 0.51};
  EXPECT_EQ(sparsity_verdict(half_low, half_high, V{0.6, 0.65}), Verdict::kHolds);
  EXPECT_EQ(sparsity_verdict(half_low, half_high, V{0.5, 0.5}), Verdict::kHolds);  // at 50%
  EXPECT_EQ(sparsity_verdict(V{0.4, 0.4}, V{0.6, 0.6}, V{0.7}), Verdict::kHolds);  // the edges
  EXPECT_EQ(sparsity_verdict(half_low, half_high, V{0.3, 0.4}), Verdict::kHoldsPartly);
  EXPECT_EQ(sparsity_verdict(V{0.2, 0.25}, half_high, V{0.6, 0.7}), Verdict::kHoldsPartly);
  EXPECT_EQ(sparsity_verdict(V{0.2, 0.25}, V{0.7, 0.8}, V{0.3, 0.4}), Verdict::kDoesNotHold);
  EXPECT_EQ(sparsity_verdict(half_low, half_high, V{0.45, 0.55}), Verdict::kInconclusive);
  EXPECT_EQ(sparsity_verdict(V{0.35, 0.45}, half_high, V{0.6, 0.7}), Verdict::kInconclusive);
  EXPECT_EQ(sparsity_verdict(V{}, V{}, V{}), Verdict::kNotMeasured);
}

TEST(VerdictRules, Dying) {
  const V mass{0.6, 0.7}, none{0.0, 0.004}, alive{0.0, 0.0};
  EXPECT_EQ(dying_verdict(mass, none, alive, 0.9, 1.0), Verdict::kHolds);
  EXPECT_EQ(dying_verdict(V{0.3, 0.4}, none, alive, 0.9, 1.0), Verdict::kHoldsPartly);
  EXPECT_EQ(dying_verdict(mass, none, V{0.02, 0.0}, 0.9, 1.0), Verdict::kInconclusive);
  EXPECT_EQ(dying_verdict(mass, none, V{0.02, 0.03}, 0.9, 1.0), Verdict::kHoldsPartly);
  EXPECT_EQ(dying_verdict(mass, none, alive, 0.4, 0.6), Verdict::kInconclusive);  // straddles
  EXPECT_EQ(dying_verdict(mass, none, alive, 0.1, 0.3), Verdict::kHoldsPartly);
  EXPECT_EQ(dying_verdict(V{0.1, 0.2}, V{0.05, 0.06}, V{0.02, 0.03}, 0.1, 0.3),
            Verdict::kDoesNotHold);
  // Mass death but no sweep point without death: ReLU's curve does not span the range.
  EXPECT_EQ(dying_verdict(mass, V{0.02, 0.03}, alive, 0.9, 1.0), Verdict::kHoldsPartly);
}

TEST(VerdictRules, Initialisation) {
  const V he{0.2, 0.25}, stalled{0.9, 0.85}, converged{0.3, 0.4}, he_epochs{1.5, 1.7},
      xavier_epochs{4.2, 4.6};
  EXPECT_EQ(initialisation_verdict(he, stalled, converged, he_epochs, xavier_epochs),
            Verdict::kHolds);
  EXPECT_EQ(initialisation_verdict(he, V{0.8, 0.85}, converged, he_epochs, xavier_epochs),
            Verdict::kHolds);  // at 80%
  EXPECT_EQ(initialisation_verdict(he, V{0.75, 0.85}, converged, he_epochs, xavier_epochs),
            Verdict::kInconclusive);
  EXPECT_EQ(initialisation_verdict(he, V{0.4, 0.5}, converged, he_epochs, xavier_epochs),
            Verdict::kHoldsPartly);
  EXPECT_EQ(initialisation_verdict(he, stalled, V{0.45, 0.55}, he_epochs, xavier_epochs),
            Verdict::kInconclusive);
  // Xavier converges at 22 layers but sooner than He on one seed: the point is undecided.
  EXPECT_EQ(initialisation_verdict(he, stalled, converged, V{1.5, 5.0}, xavier_epochs),
            Verdict::kInconclusive);
  EXPECT_EQ(initialisation_verdict(he, stalled, converged, V{5.0, 5.0}, xavier_epochs),
            Verdict::kHoldsPartly);
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(initialisation_verdict(V{0.9, 0.9}, V{0.4, 0.5}, V{0.9, 0.9}, V{inf, inf}, V{inf, inf}),
            Verdict::kDoesNotHold);
  // He never converged at 30 layers, so there is no epoch to look at Xavier: undecided.
  EXPECT_EQ(initialisation_verdict(he, V{std::nan(""), 0.9}, converged, he_epochs, xavier_epochs),
            Verdict::kInconclusive);
}

TEST(VerdictRules, WilsonIntervalMatchesTheFormula) {
  // 50 of 100: p = 0.5 +- 1.96 sqrt(0.25/100 + 1.96^2/40000) / (1 + 1.96^2/100).
  const auto [low, high] = wilson_interval(50, 100);
  EXPECT_NEAR(low, 0.40383, 1e-5);
  EXPECT_NEAR(high, 0.59617, 1e-5);
  const auto [zero_low, zero_high] = wilson_interval(0, 200);
  EXPECT_EQ(zero_low, 0.0);
  EXPECT_NEAR(zero_high, 0.018844, 1e-5);  // z^2 / (n + z^2)
  const auto [all_low, all_high] = wilson_interval(20, 20);
  EXPECT_NEAR(all_low, 0.83887, 1e-5);
  EXPECT_EQ(all_high, 1.0);
  EXPECT_EQ(wilson_interval(0, 0), std::make_pair(0.0, 1.0));
}

// A finished run whose running training error is `errors[e]` after epoch e + 1, 2 s an epoch.
RunResult run_with_errors(const std::vector<double>& errors) {
  RunResult r;
  r.completed = true;
  for (std::size_t e = 0; e < errors.size(); ++e) {
    EpochRecord rec;
    rec.epoch = static_cast<int>(e + 1);
    rec.train_accuracy = 1.0 - errors[e];
    rec.test_accuracy = 1.0 - errors[e];
    rec.seconds = 2.0 * static_cast<double>(e + 1);
    r.epochs.push_back(rec);
  }
  return r;
}

TEST(Convergence, CrossingInterpolatesBetweenEpochs) {
  // From 0.30 after epoch 2 to 0.10 after epoch 3: 0.2 is crossed at epoch 2.5, second 5.
  const Crossing c = crossing(run_with_errors({0.5, 0.3, 0.1}), 0.2);
  EXPECT_DOUBLE_EQ(c.epochs, 2.5);
  EXPECT_DOUBLE_EQ(c.seconds, 5.0);
  // Epoch 0 is chance (0.9): 0.5 after epoch 1 crosses 0.7 at epoch 0.5.
  EXPECT_DOUBLE_EQ(crossing(run_with_errors({0.5}), 0.7).epochs, 0.5);
  EXPECT_TRUE(std::isinf(crossing(run_with_errors({0.5, 0.4}), 0.2).epochs));
}

Scale two_seed_scale() {
  Scale s;
  s.seeds = 2;
  s.convergence_lrs = {0.01f, 0.1f};
  s.convergence_threshold = 0.2;
  return s;
}

TEST(Convergence, BestLearningRateAndTheSecondStage) {
  const Scale s = two_seed_scale();
  Results results;
  results[seed_id(convergence_base("relu", 0.01f), 1)] = run_with_errors({0.5, 0.3, 0.1});
  results[seed_id(convergence_base("relu", 0.1f), 1)] = run_with_errors({0.3, 0.1});
  results[seed_id(convergence_base("tanh", 0.01f), 1)] = run_with_errors({0.5, 0.4, 0.3});
  results[seed_id(convergence_base("tanh", 0.1f), 1)] = run_with_errors({0.6, 0.5, 0.4});
  EXPECT_EQ(best_lr(s, results, "relu"), 0.1f);
  EXPECT_EQ(best_lr(s, results, "tanh"), 0.01f);  // neither gets there: fewer seconds (a tie)
  EXPECT_EQ(best_lr(s, results, "elu"), std::nullopt);
  const std::vector<RunSpec> second = plan_best_lr_runs(s, best_lrs(s, results));
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(second[0].id, "convergence/relu/lr-0.1/seed-2");
  EXPECT_EQ(second[0].config.lr, 0.1f);
  EXPECT_EQ(second[0].config.seed, 2u);
  EXPECT_EQ(second[0].config.stop_at_train_error, 0.2);
  EXPECT_EQ(second[1].id, "convergence/tanh/lr-0.01/seed-2");
}

TEST(Convergence, TheSectionIsInconclusiveWhenTheSeedsStraddleAThreshold) {
  const Scale s = two_seed_scale();
  Results results;
  // ReLU at 0.1: epochs 1.5 on both seeds (0.9 -> 0.3 -> 0.1 crosses 0.2 at 1.5).
  for (int seed : {1, 2})
    results[seed_id(convergence_base("relu", 0.1f), seed)] = run_with_errors({0.3, 0.1});
  results[seed_id(convergence_base("relu", 0.01f), 1)] = run_with_errors({0.5, 0.3, 0.1});
  // Tanh at 0.1: 1.5 epochs on seed 1 (ratio 1.0), 2.5 on seed 2 (ratio 1.67).
  results[seed_id(convergence_base("tanh", 0.1f), 1)] = run_with_errors({0.3, 0.1});
  results[seed_id(convergence_base("tanh", 0.1f), 2)] = run_with_errors({0.5, 0.3, 0.1});
  results[seed_id(convergence_base("tanh", 0.01f), 1)] = run_with_errors({0.5, 0.4, 0.3});
  Section section = convergence_section(s, results);
  EXPECT_EQ(section.verdict, Verdict::kInconclusive);
  EXPECT_EQ(verdict_text(section), "inconclusive at 2 seeds");
  // Seed 2 as fast as seed 1: a ratio of 1 on both, so the claim does not hold.
  results[seed_id(convergence_base("tanh", 0.1f), 2)] = run_with_errors({0.3, 0.1});
  section = convergence_section(s, results);
  EXPECT_EQ(section.verdict, Verdict::kDoesNotHold);
}

TEST(Plan, Cifar10UsesThePapersSetting) {
  StudyOptions options;
  options.data = "cifar10:/data/cifar-10-batches-bin";
  const Scale s = make_scale(options);
  EXPECT_TRUE(s.cifar);
  EXPECT_EQ(s.convergence_threshold, 0.25);
  EXPECT_EQ(s.convergence_model, "cnn");
  EXPECT_EQ(s.convergence_train_limit, 0);  // the whole training set
  EXPECT_GE(s.convergence_lrs.size(), 4u);
  EXPECT_GE(s.convergence_lrs.back() / s.convergence_lrs.front(), 99.0f);  // two decades
  for (const RunSpec& r : plan_runs(s)) {
    if (r.id.starts_with("convergence/")) {
      EXPECT_EQ(r.config.model, "cnn") << r.id;
      EXPECT_EQ(r.config.stop_at_train_error, 0.25) << r.id;
      EXPECT_EQ(r.config.weight_decay, 0.0f) << r.id;
    }
  }
  const Scale fashion = make_scale(StudyOptions{});
  EXPECT_FALSE(fashion.cifar);
  EXPECT_GE(fashion.convergence_lrs.back() / fashion.convergence_lrs.front(), 99.0f);
}

TEST(Plan, Section7ComparesXavierWithGainOneAgainstHe) {
  for (const RunSpec& r : plan_runs(make_scale(StudyOptions{}))) {
    if (!r.id.starts_with("initialisation/")) continue;
    const bool xavier = r.id.find("xavier_normal") != std::string::npos;
    EXPECT_EQ(r.config.init.scheme,
              xavier ? nn::InitScheme::kXavierNormal : nn::InitScheme::kHeNormal);
    EXPECT_EQ(r.config.init.gain, 1.0f) << r.id;
  }
}

}  // namespace
}  // namespace relulab::study

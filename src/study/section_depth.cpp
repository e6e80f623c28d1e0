// Sections 4 (vanishing gradients with depth) and 7 (He against Xavier initialisation).
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "sections.hpp"
#include "verdict_rules.hpp"

namespace relulab::study {
namespace {

// Per weight layer (in model order, 1-based) the median over seeds of the gradient norm at the
// first sampled step (the initial weights) or the last one.
std::vector<double> grad_norm_by_layer(const std::vector<const RunResult*>& runs,
                                       bool last_sample) {
  std::map<std::size_t, std::vector<double>> by_layer;
  for (const RunResult* r : runs) {
    if (r->gradients.empty()) continue;
    const std::int64_t step = last_sample ? r->gradients.back().step : r->gradients.front().step;
    for (const GradientRecord& g : r->gradients) {
      if (g.step == step) by_layer[g.layer_index].push_back(g.grad_norm);
    }
  }
  std::vector<double> norms;
  for (const auto& [index, v] : by_layer) norms.push_back(median(v));
  return norms;
}

double final_test_accuracy(const std::vector<const RunResult*>& runs) {
  std::vector<double> v;
  for (const RunResult* r : runs)
    v.push_back(r->epochs.empty() ? std::nan("") : r->epochs.back().test_accuracy);
  return median(v);
}

// "0.025 (0.021–0.03)", three significant digits.
std::string median_range_g(const std::vector<double>& v) {
  if (v.size() < 2) return fmt::format("{:.3g}", median(v));
  return fmt::format("{:.3g} ({:.3g}–{:.3g})", median(v), min_of(v), max_of(v));
}

Series layer_series(const std::string& label, const std::vector<double>& values) {
  Series s;
  s.label = label;
  for (std::size_t i = 0; i < values.size(); ++i) {
    s.x.push_back(static_cast<double>(i + 1));
    s.y.push_back(values[i]);
  }
  return s;
}

}  // namespace

Section vanishing_section(const Scale& scale, const Results& results) {
  Section s;
  s.id = "vanishing";
  s.title = "4. Vanishing gradients with depth";
  s.claim =
      "With sigmoid (and to a lesser degree tanh) the gradient shrinks layer by layer toward the "
      "input, so deep plain networks barely train; ReLU passes gradients through.";
  s.source =
      "Glorot & Bengio (2010), Understanding the difficulty of training deep feedforward neural "
      "networks; Hochreiter (1991).";
  s.method = fmt::format(
      "Plain MLPs (deep-mlp:DEPTH:64) of depth {} with sigmoid and tanh (Xavier init) and ReLU (He "
      "init), SGD momentum 0.9 lr 0.01, {} epoch(s) on {} images. The L2 norm of each weight "
      "layer's gradient is sampled at step 1 (the initial weights) and every 20 steps "
      "(runs/vanishing/*/gradients.csv).",
      fmt::join(scale.depths, ", "), scale.depth_epochs, scale.train_limit);
  const std::int64_t deepest = scale.depths.back();
  Figure at_init{"vanishing_init",
                 fmt::format("Gradient norm per layer at initialisation, depth {}", deepest),
                 "layer (1 = input side)",
                 "||dL/dW||",
                 false,
                 true,
                 {}};
  Figure trained{"vanishing_trained",
                 fmt::format("Gradient norm per layer at the last sample, depth {}", deepest),
                 "layer (1 = input side)",
                 "||dL/dW||",
                 false,
                 true,
                 {}};
  Table t{"First-layer / last-layer gradient norm at initialisation, and final test accuracy",
          {"activation", "depth", "first/last", "test accuracy"},
          {}};
  std::map<std::string, double> deepest_ratio, deepest_accuracy;
  std::map<std::string, std::vector<double>> seed_ratio, seed_accuracy;  // at the deepest
  for (const std::string a : {"sigmoid", "tanh", "relu"}) {
    for (const std::int64_t depth : scale.depths) {
      const auto runs =
          seeds_of(results, fmt::format("vanishing/{}/depth-{}", a, depth), scale.seeds);
      const std::vector<double> init = grad_norm_by_layer(runs, false);
      if (init.empty()) continue;
      std::vector<double> ratios, accuracies;
      for (const RunResult* r : runs) {
        const std::vector<double> one = grad_norm_by_layer({r}, false);
        ratios.push_back(one.empty() ? std::nan("") : one.front() / one.back());
        accuracies.push_back(r->epochs.empty() ? std::nan("") : r->epochs.back().test_accuracy);
      }
      const double accuracy = final_test_accuracy(runs);
      t.rows.push_back(
          {a, std::to_string(depth), median_range_g(ratios), median_range(accuracies, 3)});
      if (depth == deepest) {
        deepest_ratio[a] = median(ratios);
        deepest_accuracy[a] = accuracy;
        seed_ratio[a] = ratios;
        seed_accuracy[a] = accuracies;
        at_init.series.push_back(layer_series(a, init));
        trained.series.push_back(layer_series(a, grad_norm_by_layer(runs, true)));
      }
    }
  }
  s.tables.push_back(t);
  s.figures = {at_init, trained};
  s.seeds = scale.seeds;
  if (deepest_ratio.size() < 3) {
    s.verdict = Verdict::kNotMeasured;
    s.finding = "Not all runs produced gradient samples.";
    return s;
  }
  s.finding = fmt::format(
      "At depth {}, the first layer's gradient is {}× the last layer's with sigmoid, {}× with "
      "tanh and {}× with ReLU (median and range over seeds). Final test accuracy at that depth: "
      "sigmoid {}, tanh {}, ReLU {} (10% is chance).",
      deepest, median_range_g(seed_ratio["sigmoid"]), median_range_g(seed_ratio["tanh"]),
      median_range_g(seed_ratio["relu"]), percent(deepest_accuracy["sigmoid"]),
      percent(deepest_accuracy["tanh"]), percent(deepest_accuracy["relu"]));
  std::vector<double> relative;
  for (std::size_t i = 0; i < seed_accuracy["sigmoid"].size() && i < seed_accuracy["relu"].size();
       ++i)
    relative.push_back(seed_accuracy["sigmoid"][i] / seed_accuracy["relu"][i]);
  s.rule = fmt::format(
      "one point each for sigmoid's first-layer gradient below {}× its last layer's, ReLU's "
      "above {}×, and sigmoid's final accuracy below {}× ReLU's, all at depth {} and on every "
      "seed; holds with all three, does not hold with none, partly otherwise; inconclusive when "
      "seeds that disagree on a point could change that.",
      kVanishes, kPasses, kFailsRelative, deepest);
  s.verdict = vanishing_verdict(seed_ratio["sigmoid"], seed_ratio["relu"], relative);
  return s;
}

namespace {

// Per hidden layer (model order), the median over seeds of its output variance at initialisation.
std::vector<double> variance_by_layer(const std::vector<const RunResult*>& runs) {
  std::map<std::size_t, std::vector<double>> by_layer;
  for (const RunResult* r : runs) {
    for (const LayerRecord& l : r->layers) {
      if (l.epoch == 0) by_layer[l.layer_index].push_back(l.stddev * l.stddev);
    }
  }
  std::vector<double> var;
  for (const auto& [index, v] : by_layer) var.push_back(median(v));
  return var;
}

std::vector<double> final_train_errors(const std::vector<const RunResult*>& runs) {
  std::vector<double> v;
  for (const RunResult* r : runs)
    v.push_back(r->epochs.empty() ? std::nan("") : 1.0 - r->epochs.back().train_accuracy);
  return v;
}

}  // namespace

Section initialisation_section(const Scale& scale, const Results& results) {
  Section s;
  s.id = "initialisation";
  s.title = "7. Initialisation: He against Xavier in deep plain ReLU nets";
  s.seeds = scale.seeds;
  s.claim =
      "With Xavier initialisation the variance of a plain ReLU network's activations halves at "
      "every layer, so a 30-layer network stalls while He initialisation converges; at 22 layers "
      "both converge, He sooner.";
  s.source =
      "He, Zhang, Ren & Sun (2015), Delving Deep into Rectifiers, section 2.2 (Var[y_L] = "
      "Var[y_1] prod_l n_l Var[w_l] / 2) and Figures 3 (22 layers) and 4 (30 layers); Glorot & "
      "Bengio (2010) for Xavier.";
  const std::int64_t deep = scale.init_depths.back(), shallow = scale.init_depths.front();
  s.method = fmt::format(
      "Plain MLPs deep-mlp:{}:128 and deep-mlp:{}:128 ({} and {} weight layers, width 128, "
      "ReLU, biases 0), He normal (std sqrt(2/fan_in)) against Xavier normal with gain 1 "
      "(std sqrt(2/(fan_in+fan_out)), PyTorch's xavier_normal_ default and Glorot & Bengio's "
      "scheme), the same SGD for both: momentum 0.9, lr {} (one at which the He nets train "
      "steadily: in a run of this study at lr 0.01 on 2026-12-06, the 30-layer He net ended at "
      "0.49 and 0.70 training error on two seeds), "
      "batch 64, {} epoch(s) on {} images, {} seed(s). Departure from the paper: its nets were "
      "convolutional and trained on ImageNet; these are MLPs on Fashion-MNIST. The variance of "
      "each hidden layer's output on {} probe images at initialisation is set beside the theory "
      "for square layers (n Var[w] / 2 per layer: 1 for He, 1/2 for Xavier), drawn from the "
      "measured first layer (runs/initialisation/depth-*/*/seed-*).",
      shallow, deep, shallow, deep, scale.init_lr, scale.init_epochs, scale.train_limit,
      scale.seeds, scale.probe_examples);
  Figure variance{"initialisation_variance",
                  fmt::format("Output variance by layer at initialisation, {} layers", deep),
                  "hidden layer",
                  "variance of the layer's output",
                  false,
                  true,
                  {}};
  Figure curves{"initialisation_error",
                "Training error by epoch",
                "epoch",
                "training error",
                false,
                false,
                {}};
  Table t{"He against Xavier",
          {"depth", "init", "variance, layer 1", "last hidden layer", "per layer", "theory",
           "final train error", "final test accuracy"},
          {}};
  std::map<std::string, std::vector<double>> errors;  // "30/he_normal" -> per seed
  std::map<std::string, std::vector<const RunResult*>> runs_of;
  for (const std::int64_t depth : scale.init_depths) {
    for (const std::string init : {"he_normal", "xavier_normal"}) {
      const auto runs =
          seeds_of(results, fmt::format("initialisation/depth-{}/{}", depth, init), scale.seeds);
      if (runs.empty()) continue;
      const std::vector<double> var = variance_by_layer(runs);
      const double theory = init == "he_normal" ? 1.0 : 0.5;
      const double measured = var.size() < 2 ? std::nan("")
                                             : std::pow(var.back() / var.front(),
                                                        1.0 / static_cast<double>(var.size() - 1));
      if (depth == deep && !var.empty()) {
        variance.series.push_back(layer_series(init, var));
        std::vector<double> line(var.size());
        for (std::size_t l = 0; l < var.size(); ++l)
          line[l] = var.front() * std::pow(theory, static_cast<double>(l));
        variance.series.push_back(
            layer_series(fmt::format("{} theory ({}× per layer)", init, theory), line));
      }
      Series curve = layer_series(fmt::format("{}, {} layers", init, depth), {});
      for (std::size_t e = 0; e < runs[0]->epochs.size(); ++e) {
        std::vector<double> v;
        for (const RunResult* r : runs)
          if (e < r->epochs.size()) v.push_back(1.0 - r->epochs[e].train_accuracy);
        curve.x.push_back(runs[0]->epochs[e].epoch);
        curve.y.push_back(median(v));
      }
      if (!curve.x.empty()) curves.series.push_back(curve);
      const std::vector<double> err = final_train_errors(runs);
      errors[fmt::format("{}/{}", depth, init)] = err;
      runs_of[fmt::format("{}/{}", depth, init)] = runs;
      std::vector<double> acc;
      for (const RunResult* r : runs)
        acc.push_back(r->epochs.empty() ? std::nan("") : r->epochs.back().test_accuracy);
      t.rows.push_back({std::to_string(depth), init,
                        var.empty() ? "n/a" : fmt::format("{:.3g}", var.front()),
                        var.empty() ? "n/a" : fmt::format("{:.3g}", var.back()),
                        std::isnan(measured) ? "n/a" : fmt::format("{:.3f}", measured),
                        fmt::format("{}", theory), median_range(err, 3), median_range(acc, 3)});
    }
  }
  s.tables.push_back(t);
  s.figures = {variance, curves};
  auto err = [&](std::int64_t depth, const char* init) {
    return errors[fmt::format("{}/{}", depth, init)];
  };
  auto runs_at = [&](std::int64_t depth, const char* init) {
    return runs_of[fmt::format("{}/{}", depth, init)];
  };
  // Per seed: Xavier's training error at the first epoch where He's (same seed) fell below
  // kConverged; and at the shallower net, each one's epochs to kTrains error.
  std::vector<double> xavier_when_he_converged, he_epochs, xavier_epochs, xavier_left_chance,
      he_left_chance, he_first, xavier_first;
  const auto he_deep = runs_at(deep, "he_normal"), xavier_deep = runs_at(deep, "xavier_normal");
  for (std::size_t i = 0; i < he_deep.size() && i < xavier_deep.size(); ++i) {
    double value = std::nan("");
    for (const EpochRecord& e : he_deep[i]->epochs) {
      if (1.0 - e.train_accuracy < kConverged) {
        const auto& x = xavier_deep[i]->epochs;
        if (static_cast<std::size_t>(e.epoch) <= x.size())
          value = 1.0 - x[static_cast<std::size_t>(e.epoch) - 1].train_accuracy;
        break;
      }
    }
    xavier_when_he_converged.push_back(value);
    xavier_left_chance.push_back(crossing(*xavier_deep[i], kStalls).epochs);
    he_left_chance.push_back(crossing(*he_deep[i], kStalls).epochs);
    if (!he_deep[i]->epochs.empty() && !xavier_deep[i]->epochs.empty()) {
      he_first.push_back(1.0 - he_deep[i]->epochs.front().train_accuracy);
      xavier_first.push_back(1.0 - xavier_deep[i]->epochs.front().train_accuracy);
    }
  }
  const auto he_shallow = runs_at(shallow, "he_normal"),
             xavier_shallow = runs_at(shallow, "xavier_normal");
  for (const RunResult* r : he_shallow) he_epochs.push_back(crossing(*r, kTrains).epochs);
  for (const RunResult* r : xavier_shallow) xavier_epochs.push_back(crossing(*r, kTrains).epochs);
  s.finding = fmt::format(
      "The per-layer variance factor at initialisation is the theory's (table). Final training "
      "error (median and range over seeds; 90% is chance): at {} layers He {}, Xavier {}; at {} "
      "layers He {}, Xavier {}. At {} layers, over the first epoch Xavier's running training "
      "error is {} and He's {}; Xavier's first falls below {} after {} epochs, He's after {}. "
      "When He's first fell below {}, Xavier's was {} (n/a: He never did). So Xavier stalls near "
      "chance while He learns, then starts to learn once its tiny gradients have grown the "
      "weights; He et al.'s 30-layer Xavier net never started within their run, so where the "
      "seeds disagree on whether Xavier is still near chance when He reaches {}, the stall is "
      "shorter here than in the paper (a net of MLP layers on 10 classes, not convolutions on "
      "ImageNet's 1000). At {} layers He reached {} training error in {} epochs, Xavier in {}.",
      deep, median_range(err(deep, "he_normal"), 3), median_range(err(deep, "xavier_normal"), 3),
      shallow, median_range(err(shallow, "he_normal"), 3),
      median_range(err(shallow, "xavier_normal"), 3), deep, median_range(xavier_first, 3),
      median_range(he_first, 3), percent(kStalls, 0), median_range(xavier_left_chance, 2),
      median_range(he_left_chance, 2), percent(kConverged, 0),
      median_range(xavier_when_he_converged, 3), percent(kConverged, 0), shallow,
      percent(kTrains, 0), median_range(he_epochs, 2), median_range(xavier_epochs, 2));
  s.rule = fmt::format(
      "one point each, on every seed: at {} layers He ends below {} training error (it trains); "
      "Xavier stalls while He converges (Xavier's error at the epoch where He's first falls "
      "below {} is at least {}, near chance); at {} layers both converge, He sooner (Xavier ends "
      "below {}, and He gets there in fewer epochs). Holds with all three, does not hold with "
      "none, partly otherwise; inconclusive when seeds that disagree on a point could change "
      "that. The thresholds are ours: the paper shows curves, not numbers.",
      deep, percent(kTrains, 0), percent(kConverged, 0), percent(kStalls, 0), shallow,
      percent(kTrains, 0));
  s.verdict = errors.size() < 4
                  ? Verdict::kNotMeasured
                  : initialisation_verdict(err(deep, "he_normal"), xavier_when_he_converged,
                                           err(shallow, "xavier_normal"), he_epochs, xavier_epochs);
  return s;
}

}  // namespace relulab::study

// Section 6: dying ReLU — the regimes that kill units, the remedies, and deep narrow nets that
// are dead at birth.
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "relulab/diag/activation_probe.hpp"
#include "relulab/io/atomic_file.hpp"
#include "relulab/nn/init.hpp"
#include "relulab/random.hpp"
#include "sections.hpp"
#include "verdict_rules.hpp"

namespace relulab::study {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

// Dead fraction over all units of all watched layers, by epoch (unit-weighted is not possible
// from the per-layer records without unit counts, so layers count equally: they are equal width).
std::map<int, double> dead_by_epoch(const RunResult& r) {
  std::map<int, std::vector<double>> v;
  for (const LayerRecord& l : r.layers) v[l.epoch].push_back(l.dead_fraction);
  std::map<int, double> out;
  for (const auto& [epoch, d] : v) {
    double sum = 0;
    for (double x : d) sum += x;
    out[epoch] = sum / static_cast<double>(d.size());
  }
  return out;
}

// The dead fraction by epoch over seeds (median, with the range as a band).
Series dead_series(const std::string& label, const std::vector<const RunResult*>& runs) {
  Series series;
  series.label = label;
  std::map<int, std::vector<double>> by_epoch;
  for (const RunResult* r : runs)
    for (const auto& [epoch, d] : dead_by_epoch(*r)) by_epoch[epoch].push_back(d);
  for (const auto& [epoch, v] : by_epoch) {
    series.x.push_back(epoch);
    series.y.push_back(median(v));
    if (runs.size() > 1) {
      series.low.push_back(min_of(v));
      series.high.push_back(max_of(v));
    }
  }
  return series;
}

// Lu, Shin, Su & Karniadakis (2019): a deep narrow ReLU net is "born dead" when some layer outputs
// zero for every input, so the network is constant. Measured over random He initialisations
// (biases 0) on the probe images, written to data/born_dead.json and read back.
Json born_dead(const Scale& scale, const data::Dataset& probe_data, const fs::path& dir) {
  const std::vector<std::int64_t>& widths = scale.born_dead_widths;
  const std::vector<std::int64_t>& depths = scale.born_dead_depths;
  const Tensor probe =
      diag::probe_set(probe_data.features, std::min<std::int64_t>(500, probe_data.size()), 7);
  const Shape input(probe_data.features.shape().begin() + 1, probe_data.features.shape().end());
  diag::ProbeOptions options;
  options.batch = 500;
  Json data = Json::array();
  for (const std::int64_t width : widths) {
    for (const std::int64_t depth : depths) {
      int dead = 0;
      for (int i = 0; i < scale.born_dead_inits; ++i) {
        auto model =
            nn::build_model(fmt::format("deep-mlp:{}:{}", depth, width),
                            default_spec(Activation::kReLU), input, probe_data.num_classes);
        if (!model) continue;
        Rng rng(static_cast<std::uint64_t>(1000 + i));
        auto params = model.value()->net.parameters();
        nn::initialize(params, nn::InitSpec{nn::InitScheme::kHeNormal}, 0.0f, rng);
        for (const auto& layer : diag::probe_activations(*model.value(), probe, options)) {
          if (layer.dead_fraction == 1.0) {
            ++dead;
            break;
          }
        }
      }
      data.push_back({{"width", width},
                      {"depth", depth},
                      {"inits", scale.born_dead_inits},
                      {"born_dead", dead}});
    }
  }
  (void)io::write_text_atomically(dir / "data" / "born_dead.json", data.dump(1));
  std::ifstream in(dir / "data" / "born_dead.json");
  std::stringstream text;
  text << in.rdbuf();
  return Json::parse(text.str(), nullptr, false);
}

// The probability that a width-W ReLU net with `hidden` hidden layers, zero biases and
// symmetric weights is dead at one input: each layer whose input is not all zero is all zero
// with probability 2^-W, independently (the signs of W units' symmetric pre-activations), so
// 1 - (1 - 2^-W)^hidden. For a set of inputs it is an upper bound, approached as depth aligns
// the inputs' representations.
double born_dead_single_input(std::int64_t width, std::int64_t hidden) {
  return 1.0 -
         std::pow(1.0 - std::ldexp(1.0, -static_cast<int>(width)), static_cast<double>(hidden));
}

// One point of a sweep: dead fraction at the end, per seed, and whether any seed diverged.
struct SweepPoint {
  std::vector<double> dead;  // per seed, NaN for a seed with no record
  bool diverged = false;
  std::vector<double> accuracy;
};

SweepPoint sweep_point(const std::vector<const RunResult*>& runs) {
  SweepPoint p;
  for (const RunResult* r : runs) {
    const auto by_epoch = dead_by_epoch(*r);
    p.dead.push_back(by_epoch.empty() ? std::nan("") : by_epoch.rbegin()->second);
    p.accuracy.push_back(r->epochs.empty() ? std::nan("") : r->epochs.back().test_accuracy);
    p.diverged = p.diverged || !r->completed;
  }
  return p;
}

}  // namespace

Section dying_section(const Scale& scale, const Results& results, const data::Dataset& probe_data,
                      const fs::path& dir) {
  Section s;
  s.id = "dying";
  s.title = "6. Dying ReLU: what kills units, and what prevents it";
  s.seeds = scale.seeds;
  s.claim =
      "ReLU units can die — output zero for every input and stop learning — under a high learning "
      "rate or a negative bias; Leaky ReLU, ELU and GELU do not die that way; deep narrow ReLU "
      "nets can be dead at initialisation.";
  s.source =
      "Maas, Hannun & Ng (2013), Rectifier Nonlinearities Improve Neural Network Acoustic Models; "
      "Clevert et al. (2016), ELU; Lu, Shin, Su & Karniadakis (2019), Dying ReLU and "
      "Initialization: Theory and Numerical Examples.";
  s.method = fmt::format(
      "mlp:256-256-256 (He init) trained {} epoch(s) on {} images (SGD momentum 0.9, batch 64), "
      "{} seed(s), in two sweeps: the learning rate over {} (biases 0), and the initial value of "
      "every bias over {} (lr 0.01); also ReLU with He, Xavier (gain 1) and N(0, 1) weights. A "
      "unit is dead when it outputs exactly 0 on all {} probe images "
      "(runs/dying/*/diagnostics.jsonl); the dead fraction is the mean over the three layers. A "
      "run stopped by a NaN or Inf is shown as diverged, at the dead fraction of its last probe. "
      "Born dead: deep-mlp:DEPTH:WIDTH ReLU nets (biases 0, He normal weights), {} random "
      "initialisations per size, counted dead when some layer is zero on every one of 500 probe "
      "images; beside each, 1 - (1 - 2^-W)^(DEPTH-1), the probability that such a net is dead at "
      "one input (each of its DEPTH-1 hidden layers is all zero with probability 2^-W given a "
      "non-zero input, from the weights' symmetry: our derivation under Lu et al.'s assumptions, "
      "who prove that the born-dead probability tends to 1 with depth). It is an upper bound for "
      "a set of inputs, approached as depth aligns the inputs' representations "
      "(data/born_dead.json).",
      scale.dying_epochs, scale.train_limit, scale.seeds, fmt::join(scale.dying_lrs, ", "),
      fmt::join(scale.dying_biases, ", "), scale.probe_examples, scale.born_dead_inits);
  const std::vector<std::string> activations{"relu", "leaky_relu", "elu", "gelu"};
  Table t{"Dead units at the end (mean over layers; median and range over seeds) and test accuracy",
          {"sweep", "value", "activation", "dead fraction at end", "test accuracy"},
          {}};
  std::vector<double> relu_most(static_cast<std::size_t>(scale.seeds), std::nan("")),
      relu_least(relu_most), remedy_most(static_cast<std::size_t>(scale.seeds), 0.0);
  std::vector<std::string> diverged;
  auto sweep = [&](const std::string& kind, const std::vector<float>& values,
                   const std::string& xlabel, bool log_x) {
    Figure fig{"dying_" + kind,
               "Dead units at the end against " + xlabel,
               xlabel,
               "dead fraction",
               log_x,
               false,
               {}};
    for (const std::string& a : activations) {
      Series line, bad;
      line.label = a;
      bad.label = a + " (diverged)";
      bad.points_only = true;
      for (const float v : values) {
        const std::string id = kind == "lr" ? fmt::format("dying/lr/{}/{}", a, lr_id(v))
                                            : fmt::format("dying/bias/{}/bias-{}", a, v);
        const auto runs = seeds_of(results, id, scale.seeds);
        if (runs.empty()) continue;
        const SweepPoint p = sweep_point(runs);
        const double x = kind == "lr" ? v : -v;
        (p.diverged ? bad : line).x.push_back(x);
        (p.diverged ? bad : line).y.push_back(median(p.dead));
        if (!p.diverged && runs.size() > 1) {
          line.low.push_back(min_of(p.dead));
          line.high.push_back(max_of(p.dead));
        }
        t.rows.push_back({kind, fmt::format("{}", v), a, median_range(p.dead, 3),
                          p.diverged ? "diverged" : median_range(p.accuracy, 3)});
        if (p.diverged) diverged.push_back(fmt::format("{} {} {}", a, kind, v));
        for (std::size_t i = 0; i < p.dead.size() && i < relu_most.size(); ++i) {
          const double d = p.dead[i];
          if (p.diverged) continue;
          if (a == "relu") {
            if (!(relu_most[i] >= d)) relu_most[i] = d;
            if (!(relu_least[i] <= d)) relu_least[i] = d;
          } else if (!(remedy_most[i] >= d)) {
            remedy_most[i] = d;
          }
        }
      }
      // A band needs a value for every point of its line.
      if (line.low.size() != line.y.size()) line.low.clear(), line.high.clear();
      if (!line.x.empty()) fig.series.push_back(line);
      if (!bad.x.empty()) fig.series.push_back(bad);
    }
    if (!fig.series.empty()) s.figures.push_back(fig);
  };
  sweep("lr", scale.dying_lrs, "learning rate", true);
  sweep("bias", scale.dying_biases, "minus the initial bias", false);
  Figure init_fig{"dying_init",
                  "Dead ReLU units by epoch, by initialisation",
                  "epoch",
                  "dead fraction",
                  false,
                  false,
                  {}};
  for (const std::string init : {"he_normal", "xavier_normal", "normal:1"}) {
    const auto runs = seeds_of(results, "dying/init/" + init, scale.seeds);
    if (runs.empty()) continue;
    const SweepPoint p = sweep_point(runs);  // per seed, as in the sweeps' rows
    t.rows.push_back({"init", init, "relu", median_range(p.dead, 3),
                      p.diverged ? "diverged" : median_range(p.accuracy, 3)});
    init_fig.series.push_back(dead_series(init, runs));
  }
  s.figures.push_back(init_fig);
  s.tables.push_back(t);

  const Json born = born_dead(scale, probe_data, dir);
  Table b{"ReLU nets born dead (some layer zero on every probe image), with Wilson's 95% interval",
          {"width", "depth", "born dead", "95% interval", "single-input probability"},
          {}};
  Figure born_fig{"born_dead", "Fraction of ReLU nets dead at initialisation (dashed: theory)",
                  "depth",     "fraction born dead",
                  false,       false,
                  {}};
  std::map<std::int64_t, Series> measured, theory;
  std::pair<double, double> narrow_deep{0.0, 1.0};
  double narrow_fraction = std::nan("");
  const std::int64_t narrowest = scale.born_dead_widths.front();
  for (const Json& row : born) {
    const auto width = row["width"].get<std::int64_t>();
    const auto depth = row["depth"].get<std::int64_t>();
    const int dead = row["born_dead"].get<int>(), inits = row["inits"].get<int>();
    const double fraction = inits > 0 ? static_cast<double>(dead) / inits : std::nan("");
    const auto interval = wilson_interval(dead, inits);
    const double predicted = born_dead_single_input(width, depth - 1);
    b.rows.push_back({std::to_string(width), std::to_string(depth), percent(fraction, 0),
                      fmt::format("{}–{}", percent(interval.first, 0), percent(interval.second, 0)),
                      percent(predicted, 0)});
    measured[width].label = fmt::format("width {}", width);
    measured[width].x.push_back(static_cast<double>(depth));
    measured[width].y.push_back(fraction);
    measured[width].low.push_back(interval.first);
    measured[width].high.push_back(interval.second);
    theory[width].label = fmt::format("width {}, 1 - (1 - 2^-W)^(L-1)", width);
    theory[width].x.push_back(static_cast<double>(depth));
    theory[width].y.push_back(predicted);
    if (width == narrowest) narrow_deep = interval, narrow_fraction = fraction;  // last: deepest
  }
  for (auto& [w, series] : measured) born_fig.series.push_back(series);
  for (auto& [w, series] : theory) born_fig.series.push_back(series);
  s.tables.push_back(b);
  s.figures.push_back(born_fig);

  const std::int64_t deepest = scale.born_dead_depths.back();
  s.finding = fmt::format(
      "Over the sweep points that did not diverge, ReLU's dead fraction at the end ranges from {} "
      "(least) to {} (most), per seed; Leaky ReLU, ELU and GELU end with at most {} dead at any "
      "sweep point that did not diverge (they have no exact zeros for x < 0, so exact death is "
      "out of their reach by construction). Width-{} ReLU nets of depth {} are born dead in {} "
      "of {} initialisations (95% interval {}–{}; single-input probability {}).{}",
      median_range(relu_least, 3), median_range(relu_most, 3), percent(max_of(remedy_most)),
      narrowest, deepest, percent(narrow_fraction, 0), scale.born_dead_inits,
      percent(narrow_deep.first, 0), percent(narrow_deep.second, 0),
      percent(born_dead_single_input(narrowest, deepest - 1), 0),
      diverged.empty() ? std::string()
                       : fmt::format(" Diverged (NaN or Inf, training stopped): {}.",
                                     fmt::join(diverged, "; ")));
  s.rule = fmt::format(
      "one point each: on every seed, ReLU's curve spans no death (below {} at some sweep point) "
      "to mass death (at least {} at another); the remedies stay below {} at every sweep point "
      "where they did not diverge; the width-{} nets of depth {} are born dead at least {} of the "
      "time (the whole 95% interval above it). Holds with all three, does not hold with none, "
      "partly otherwise; inconclusive when seeds that disagree, or an interval that straddles {}, "
      "could change that. The thresholds are ours: the sources show that units die, not how "
      "many.",
      percent(kNoDeath, 0), percent(kMassDeath, 0), percent(kNoDeath, 0), narrowest, deepest,
      percent(kBornDead, 0), percent(kBornDead, 0));
  s.verdict =
      dying_verdict(relu_most, relu_least, remedy_most, narrow_deep.first, narrow_deep.second);
  return s;
}

}  // namespace relulab::study

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

struct Outcome {
  double dead_init = std::nan(""), dead_final = std::nan(""), accuracy = std::nan("");
  bool diverged = false;
  Series series;
};

Outcome outcome(const std::string& label, const std::vector<const RunResult*>& runs) {
  Outcome o;
  o.series.label = label;
  std::map<int, std::vector<double>> by_epoch;
  std::vector<double> acc;
  for (const RunResult* r : runs) {
    for (const auto& [epoch, d] : dead_by_epoch(*r)) by_epoch[epoch].push_back(d);
    acc.push_back(r->epochs.empty() ? std::nan("") : r->epochs.back().test_accuracy);
    o.diverged = o.diverged || !r->completed;
  }
  for (const auto& [epoch, v] : by_epoch) {
    o.series.x.push_back(epoch);
    o.series.y.push_back(median(v));
    if (runs.size() > 1) {
      o.series.low.push_back(min_of(v));
      o.series.high.push_back(max_of(v));
    }
  }
  if (!o.series.y.empty()) {
    o.dead_init = o.series.y.front();
    o.dead_final = o.series.y.back();
  }
  o.accuracy = median(acc);
  return o;
}

// Lu, Shin, Su & Karniadakis (2019): a deep narrow ReLU net is "born dead" when some layer outputs
// zero for every input, so the network is constant. Measured over random He initialisations
// (biases 0) on the probe images, written to data/born_dead.json and read back.
Json born_dead(const Scale& scale, const data::Dataset& probe_data, const fs::path& dir) {
  const std::vector<std::int64_t> widths{2, 3, 4, 8};
  const std::vector<std::int64_t> depths =
      scale.quick ? std::vector<std::int64_t>{5, 20} : std::vector<std::int64_t>{5, 10, 20, 40};
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

}  // namespace

Section dying_section(const Scale& scale, const Results& results, const data::Dataset& probe_data,
                      const fs::path& dir) {
  Section s;
  s.id = "dying";
  s.title = "6. Dying ReLU: what kills units, and what prevents it";
  s.claim =
      "ReLU units can die — output zero for every input and stop learning — under a high learning "
      "rate or a negative bias; Leaky ReLU, ELU and GELU do not die that way; deep narrow ReLU "
      "nets "
      "can be dead at initialisation.";
  s.source =
      "Maas, Hannun & Ng (2013), Rectifier Nonlinearities Improve Neural Network Acoustic Models; "
      "Clevert et al. (2016), ELU; Lu, Shin, Su & Karniadakis (2019), Dying ReLU and "
      "Initialization.";
  s.method = fmt::format(
      "mlp:256-256-256 trained {} epoch(s) on {} images (SGD momentum 0.9, batch 64) in three "
      "regimes: "
      "lr 0.1 (10× the default), all biases initialised to -1 (lr 0.01), and ReLU with He, Xavier "
      "and "
      "N(0, 1) weights (lr 0.01). A unit is dead when it outputs exactly 0 on all {} probe images "
      "(runs/dying/*/diagnostics.jsonl); the table gives the mean over layers. Born dead: deep-mlp "
      "nets of width 2–8 under {} random He initialisations each (data/born_dead.json).",
      scale.dying_epochs, scale.train_limit, scale.probe_examples, scale.born_dead_inits);
  Table t{"Dead units (mean over layers) and final test accuracy",
          {"regime", "activation / init", "dead at init", "dead at end", "test accuracy"},
          {}};
  std::map<std::string, Outcome> regimes;
  for (const std::string regime : {"high-lr", "negative-bias"}) {
    Figure fig{"dying_" + regime,
               "Dead units by epoch, " + regime,
               "epoch",
               "dead fraction",
               false,
               false,
               {}};
    for (const std::string a : {"relu", "leaky_relu", "elu", "gelu"}) {
      const auto runs = seeds_of(results, fmt::format("dying/{}/{}", regime, a), scale.seeds);
      if (runs.empty()) continue;
      Outcome o = outcome(a, runs);
      t.rows.push_back({regime, a, percent(o.dead_init), percent(o.dead_final),
                        o.diverged ? "diverged" : percent(o.accuracy)});
      fig.series.push_back(o.series);
      regimes[regime + "/" + a] = o;
    }
    s.figures.push_back(fig);
  }
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
    Outcome o = outcome(init, runs);
    t.rows.push_back({"init", init, percent(o.dead_init), percent(o.dead_final),
                      o.diverged ? "diverged" : percent(o.accuracy)});
    init_fig.series.push_back(o.series);
  }
  s.figures.push_back(init_fig);
  s.tables.push_back(t);

  const Json born = born_dead(scale, probe_data, dir);
  Table b{"Deep narrow ReLU nets born dead (some layer is zero on every probe image)",
          {"width", "depth", "born dead"},
          {}};
  Figure born_fig{"born_dead", "Fraction of ReLU nets dead at initialisation",
                  "depth",     "fraction born dead",
                  false,       false,
                  {}};
  std::map<std::int64_t, Series> by_width;
  double narrow_deep = std::nan("");
  for (const Json& row : born) {
    const auto width = row["width"].get<std::int64_t>();
    const double fraction = row["born_dead"].get<double>() / row["inits"].get<double>();
    b.rows.push_back({std::to_string(width), std::to_string(row["depth"].get<std::int64_t>()),
                      percent(fraction, 0)});
    by_width[width].label = fmt::format("width {}", width);
    by_width[width].x.push_back(row["depth"].get<double>());
    by_width[width].y.push_back(fraction);
    if (width == 2) narrow_deep = fraction;  // the last depth of width 2 wins: the deepest
  }
  for (auto& [w, series] : by_width) born_fig.series.push_back(series);
  s.tables.push_back(b);
  s.figures.push_back(born_fig);

  auto dead_end = [&](const std::string& key) {
    return regimes.count(key) ? regimes[key].dead_final : std::nan("");
  };
  const double relu_lr = dead_end("high-lr/relu"), relu_bias = dead_end("negative-bias/relu");
  std::vector<double> remedies;
  std::vector<std::string> diverged;
  for (const auto& [key, o] : regimes) {
    if (o.diverged) diverged.push_back(key);
    if (key.ends_with("/relu") || o.diverged) continue;
    remedies.push_back(o.dead_final);
  }
  const double remedy_worst = max_of(remedies);
  s.finding = fmt::format(
      "With lr 0.1, {} of ReLU units end dead; with biases at -1, {}. The Leaky ReLU, ELU and GELU "
      "runs that did not diverge end with at most {} dead. Width-2 ReLU nets of the greatest depth "
      "tried are born dead in {} of initialisations.{}",
      percent(relu_lr), percent(relu_bias), percent(remedy_worst), percent(narrow_deep, 0),
      diverged.empty()
          ? std::string()
          : fmt::format(" Diverged (NaN loss, training stopped): {}.", fmt::join(diverged, ", ")));
  constexpr double kDies = 0.05, kRemedy = 0.01, kBornDead = 0.5;
  const bool relu_dies = max_of({relu_lr, relu_bias}) >= kDies;
  const bool remedies_work = !remedies.empty() && remedy_worst < kRemedy;
  const bool born_dead_deep = narrow_deep >= kBornDead;
  s.rule = fmt::format(
      "one point each for ReLU ending with at least {} of its units dead in a regime, every "
      "remedy that did not diverge ending below {}, and the deepest width-2 ReLU nets born dead "
      "in at least {} of the initialisations; holds with all three, does not hold with none, "
      "partly otherwise.",
      percent(kDies, 0), percent(kRemedy, 0), percent(kBornDead, 0));
  const int holds = int{relu_dies} + int{remedies_work} + int{born_dead_deep};
  s.verdict = holds == 3   ? Verdict::kHolds
              : holds == 0 ? Verdict::kDoesNotHold
                           : Verdict::kHoldsPartly;
  return s;
}

}  // namespace relulab::study

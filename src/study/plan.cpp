// The plan: which networks the study trains, at which size. The default fits in 30 minutes on
// 2 cores, --quick in 3 (with CI's build excluded).
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "sections.hpp"

namespace relulab::study {

Scale make_scale(const StudyOptions& options) {
  Scale s;
  s.seeds = options.seeds;
  if (options.quick) {
    s.quick = true;
    s.seeds = 1;
    s.train_limit = 2000;
    s.test_limit = 1000;
    s.convergence_epochs = 3;
    s.depth_epochs = 1;
    s.dying_epochs = 2;
    s.depths = {5, 20};
    s.born_dead_inits = 10;
    s.probe_examples = 500;
  }
  return s;
}

std::string seed_id(const std::string& base, int seed) {
  return fmt::format("{}/seed-{}", base, seed);
}

namespace {

train::TrainConfig base_config(const std::string& model, const std::string& activation,
                               const std::string& init, int epochs, int seed) {
  train::TrainConfig c;
  c.model = model;
  c.activation = default_spec(parse_activation(activation).value());
  c.init = nn::parse_init(init).value();
  c.optimizer = "sgd";
  c.momentum = 0.9f;
  c.lr = 0.01f;
  c.batch = 64;
  c.epochs = epochs;
  c.seed = static_cast<std::uint64_t>(seed);
  return c;
}

// He init for the ReLU family, Xavier for the S-shaped functions, as each is meant.
std::string init_for(const std::string& activation) {
  return activation == "tanh" || activation == "sigmoid" ? "xavier_normal" : "he_normal";
}

}  // namespace

std::vector<RunSpec> plan_runs(const Scale& s) {
  std::vector<RunSpec> runs;
  auto add = [&](std::string id, train::TrainConfig c, bool diagnostics,
                 std::int64_t gradient_every) {
    RunSpec r;
    r.id = std::move(id);
    r.config = std::move(c);
    r.train_limit = s.train_limit;
    r.test_limit = s.test_limit;
    r.diagnostics = diagnostics;
    r.probe_examples = s.probe_examples;
    r.gradient_every = gradient_every;
    runs.push_back(std::move(r));
  };
  for (int seed = 1; seed <= s.seeds; ++seed) {
    // 3 + 5: the small CNN with every activation.
    for (const std::string& a : convergence_activations()) {
      add(seed_id("convergence/" + a, seed),
          base_config("cnn:16-32-128", a, init_for(a), s.convergence_epochs, seed), true, 1000000);
    }
    // 4: plain MLPs of growing depth.
    for (const std::int64_t depth : s.depths) {
      for (const std::string a : {"sigmoid", "tanh", "relu"}) {
        add(seed_id(fmt::format("vanishing/{}/depth-{}", a, depth), seed),
            base_config(fmt::format("deep-mlp:{}:64", depth), a, init_for(a), s.depth_epochs, seed),
            true, 20);
      }
    }
    // 6: regimes that kill ReLU units, and the remedies.
    for (const std::string a : {"relu", "leaky_relu", "elu", "gelu"}) {
      train::TrainConfig high_lr =
          base_config("mlp:256-256-256", a, "he_normal", s.dying_epochs, seed);
      high_lr.lr = 0.1f;
      add(seed_id("dying/high-lr/" + a, seed), high_lr, true, 1000000);
      train::TrainConfig negative_bias =
          base_config("mlp:256-256-256", a, "he_normal", s.dying_epochs, seed);
      negative_bias.bias_init = -1.0f;
      add(seed_id("dying/negative-bias/" + a, seed), negative_bias, true, 1000000);
    }
    for (const std::string init : {"he_normal", "xavier_normal", "normal:1"}) {
      add(seed_id("dying/init/" + init, seed),
          base_config("mlp:256-256-256", "relu", init, s.dying_epochs, seed), true, 1000000);
    }
    // 7: the 30-layer plain ReLU net of He et al. (2015), He against Xavier.
    for (const std::string init : {"he_normal", "xavier_normal"}) {
      add(seed_id("initialisation/" + init, seed),
          base_config("deep-mlp:30:128", "relu", init, s.depth_epochs, seed), true, 20);
    }
  }
  return runs;
}

double median(std::vector<double> v) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return std::isnan(x); }), v.end());
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

double min_of(const std::vector<double>& v) {
  double m = std::nan("");
  for (double x : v)
    if (!std::isnan(x) && !(m <= x)) m = x;
  return m;
}

double max_of(const std::vector<double>& v) {
  double m = std::nan("");
  for (double x : v)
    if (!std::isnan(x) && !(m >= x)) m = x;
  return m;
}

std::string median_range(const std::vector<double>& v, int digits) {
  const double m = median(v);
  if (std::isnan(m)) return "n/a";
  if (v.size() < 2) return fmt::format("{:.{}f}", m, digits);
  return fmt::format("{:.{}f} ({:.{}f}–{:.{}f})", m, digits, min_of(v), digits, max_of(v), digits);
}

std::string percent(double fraction, int digits) {
  if (std::isnan(fraction)) return "n/a";
  return fmt::format("{:.{}f}%", 100.0 * fraction, digits);
}

}  // namespace relulab::study

// The plan: which networks the study trains, at which size. The default fits in 30 minutes on
// 2 cores, --quick in 3 (with CI's build excluded); --data cifar10:DIR takes hours.
#include <algorithm>
#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "sections.hpp"

namespace relulab::study {

Scale make_scale(const StudyOptions& options) {
  Scale s;
  s.seeds = options.seeds > 0 ? options.seeds : options.quick ? 1 : 3;
  if (options.data.starts_with("cifar10:")) {
    // Krizhevsky et al. (2012), Figure 1: CIFAR-10, 25% training error, a four-layer CNN (the
    // paper gives no sizes: relulab's `cnn`, conv5x5 32, pool, conv5x5 64, pool, fc 512, fc 10),
    // the whole training set; tanh needed about 35 epochs there, so up to 40.
    s.cifar = true;
    s.convergence_model = "cnn";
    s.convergence_train_limit = 0;
    s.convergence_threshold = 0.25;
    s.convergence_epochs = 40;
  }
  if (options.quick) {
    s.quick = true;
    s.train_limit = 2000;
    s.test_limit = 1000;
    s.convergence_train_limit = 2000;
    s.convergence_threshold = 0.30;
    s.convergence_epochs = 3;
    s.convergence_lrs = {0.003f, 0.01f, 0.03f, 0.1f};
    s.depth_epochs = 1;
    s.depths = {5, 20};
    s.dying_epochs = 2;
    s.dying_lrs = {0.01f, 0.1f, 1.0f};
    s.dying_biases = {0.0f, -1.0f, -4.0f};
    s.born_dead_inits = 20;
    s.born_dead_depths = {5, 20};
    s.init_epochs = 2;
    s.probe_examples = 500;
  }
  return s;
}

std::string seed_id(const std::string& base, int seed) {
  return fmt::format("{}/seed-{}", base, seed);
}

std::string lr_id(float lr) {
  return fmt::format("lr-{}", lr);
}

std::string convergence_base(const std::string& activation, float lr) {
  return fmt::format("convergence/{}/{}", activation, lr_id(lr));
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

// He init for the ReLU family, Xavier (gain 1, as Glorot & Bengio meant it for them) for the
// S-shaped functions.
std::string init_for(const std::string& activation) {
  return activation == "tanh" || activation == "sigmoid" ? "xavier_normal" : "he_normal";
}

RunSpec make_run(const Scale& s, std::string id, train::TrainConfig c, bool diagnostics,
                 std::int64_t gradient_every) {
  RunSpec r;
  r.id = std::move(id);
  r.config = std::move(c);
  r.train_limit = s.train_limit;
  r.test_limit = s.test_limit;
  r.diagnostics = diagnostics;
  r.probe_examples = s.probe_examples;
  r.gradient_every = gradient_every;
  return r;
}

RunSpec convergence_run(const Scale& s, const std::string& activation, float lr, int seed) {
  train::TrainConfig c = base_config(s.convergence_model, activation, init_for(activation),
                                     s.convergence_epochs, seed);
  c.lr = lr;
  c.stop_at_train_error = s.convergence_threshold;
  RunSpec r = make_run(s, seed_id(convergence_base(activation, lr), seed), c, true, 1000000);
  r.train_limit = s.convergence_train_limit;
  return r;
}

}  // namespace

std::vector<RunSpec> plan_runs(const Scale& s) {
  std::vector<RunSpec> runs;
  auto add = [&](std::string id, train::TrainConfig c, bool diagnostics,
                 std::int64_t gradient_every) {
    runs.push_back(make_run(s, std::move(id), std::move(c), diagnostics, gradient_every));
  };
  // 3 + 5: the CNN with every activation at every learning rate, seed 1.
  for (const std::string& a : convergence_activations()) {
    for (const float lr : s.convergence_lrs) runs.push_back(convergence_run(s, a, lr, 1));
  }
  for (int seed = 1; seed <= s.seeds; ++seed) {
    // 4: plain MLPs of growing depth.
    for (const std::int64_t depth : s.depths) {
      for (const std::string a : {"sigmoid", "tanh", "relu"}) {
        add(seed_id(fmt::format("vanishing/{}/depth-{}", a, depth), seed),
            base_config(fmt::format("deep-mlp:{}:64", depth), a, init_for(a), s.depth_epochs, seed),
            true, 20);
      }
    }
    // 6: dead units against the learning rate and against the initial bias, with the remedies.
    for (const std::string a : {"relu", "leaky_relu", "elu", "gelu"}) {
      for (const float lr : s.dying_lrs) {
        train::TrainConfig c = base_config("mlp:256-256-256", a, "he_normal", s.dying_epochs, seed);
        c.lr = lr;
        add(seed_id(fmt::format("dying/lr/{}/{}", a, lr_id(lr)), seed), c, true, 1000000);
      }
      for (const float bias : s.dying_biases) {
        train::TrainConfig c = base_config("mlp:256-256-256", a, "he_normal", s.dying_epochs, seed);
        c.bias_init = bias;
        add(seed_id(fmt::format("dying/bias/{}/bias-{}", a, bias), seed), c, true, 1000000);
      }
    }
    for (const std::string init : {"he_normal", "xavier_normal", "normal:1"}) {
      add(seed_id("dying/init/" + init, seed),
          base_config("mlp:256-256-256", "relu", init, s.dying_epochs, seed), true, 1000000);
    }
    // 7: He et al. (2015)'s plain ReLU nets, 22 and 30 layers, He against Xavier.
    for (const std::int64_t depth : s.init_depths) {
      for (const std::string init : {"he_normal", "xavier_normal"}) {
        train::TrainConfig c =
            base_config(fmt::format("deep-mlp:{}:128", depth), "relu", init, s.init_epochs, seed);
        c.lr = s.init_lr;
        add(seed_id(fmt::format("initialisation/depth-{}/{}", depth, init), seed), c, true, 20);
      }
    }
  }
  return runs;
}

std::map<std::string, float> best_lrs(const Scale& s, const Results& first_stage) {
  std::map<std::string, float> lrs;
  for (const std::string& a : convergence_activations()) {
    if (const std::optional<float> lr = best_lr(s, first_stage, a)) lrs[a] = *lr;
  }
  return lrs;
}

std::vector<RunSpec> plan_best_lr_runs(const Scale& s, const std::map<std::string, float>& lrs) {
  std::vector<RunSpec> runs;
  for (const std::string& a : convergence_activations()) {
    const auto it = lrs.find(a);
    if (it == lrs.end()) continue;
    for (int seed = 2; seed <= s.seeds; ++seed)
      runs.push_back(convergence_run(s, a, it->second, seed));
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
  // An infinite value is a threshold never crossed within the run (see crossing()).
  auto one = [&](double x) {
    return std::isinf(x) ? std::string("never") : fmt::format("{:.{}f}", x, digits);
  };
  if (v.size() < 2 || min_of(v) == max_of(v)) return one(m);  // "1.00", not "1.00 (1.00–1.00)"
  return fmt::format("{} ({}–{})", one(m), one(min_of(v)), one(max_of(v)));
}

std::string percent(double fraction, int digits) {
  if (std::isnan(fraction)) return "n/a";
  return fmt::format("{:.{}f}%", 100.0 * fraction, digits);
}

}  // namespace relulab::study

// `relulab diagnose CHECKPOINT --data NAME`: dead and near-dead units, sparsity, activation
// statistics and saturation on a fixed sample of the training set (diag::probe_activations), and
// gradient norms from one forward/backward on the first batch of that sample
// (diag::gradient_norms_once), as a table or (--json) one JSON document.
#include "diagnose_command.hpp"

#include <cmath>
#include <map>
#include <optional>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "checkpoint_data.hpp"
#include "commands.hpp"
#include "relulab/data/dataset.hpp"
#include "relulab/diag/activation_probe.hpp"
#include "relulab/diag/gradient_flow.hpp"
#include "relulab/diag/recorder.hpp"
#include "relulab/threads.hpp"
#include "relulab/train/trainer.hpp"

namespace relulab::cli {
namespace {

// What the table and the JSON show for one layer of the model's Sequential.
struct LayerRow {
  std::size_t index = 0;
  std::string layer;
  std::optional<diag::LayerActivationStats> activations;
  std::vector<diag::LayerGradientSample> gradients;
};

std::vector<LayerRow> rows_of(nn::Model& model,
                              const std::vector<diag::LayerActivationStats>& activations,
                              const std::vector<diag::LayerGradientSample>& gradients) {
  std::map<std::size_t, LayerRow> rows;
  const auto row = [&](std::size_t i) -> LayerRow& {
    LayerRow& r = rows[i];
    r.index = i;
    r.layer = model.net.layer(i).describe();
    return r;
  };
  for (const auto& a : activations) row(a.layer_index).activations = a;
  for (const auto& g : gradients) row(g.layer_index).gradients.push_back(g);
  std::vector<LayerRow> ordered;
  for (auto& [index, r] : rows) ordered.push_back(std::move(r));
  return ordered;
}

// The layer's weight gradients as one norm: sqrt of the sum of the squared norms (a residual
// block has several weights).
double combined_grad_norm(const std::vector<diag::LayerGradientSample>& gradients) {
  double s = 0;
  for (const auto& g : gradients) s += g.grad_norm * g.grad_norm;
  return std::sqrt(s);
}

std::string percent(double fraction) {
  return std::isnan(fraction) ? "-" : fmt::format("{:.2f}", 100 * fraction);
}

void print_table(const std::vector<LayerRow>& rows) {
  std::size_t layer_width = 5;
  for (const auto& r : rows) layer_width = std::max(layer_width, r.layer.size());
  fmt::print("{:>3}  {:<{}}  {:>6}  {:>7}  {:>8}  {:>7}  {:>9}  {:>9}  {:>6}  {:>10}  {:>10}\n",
             "#", "layer", layer_width, "units", "dead %", "near %", "zeros %", "mean", "std",
             "sat %", "|dL/dW|", "|dL/dx|");
  for (const auto& r : rows) {
    std::string stats = fmt::format("{:>6}  {:>7}  {:>8}  {:>7}  {:>9}  {:>9}  {:>6}", "-", "-",
                                    "-", "-", "-", "-", "-");
    if (const auto& a = r.activations) {
      stats = fmt::format("{:>6}  {:>7}  {:>8}  {:>7}  {:>9.4f}  {:>9.4f}  {:>6}", a->units,
                          percent(a->dead_fraction), percent(a->near_dead_fraction),
                          percent(a->zero_fraction), a->mean, a->stddev,
                          percent(a->saturated_fraction));
    }
    const std::string grads =
        r.gradients.empty() ? fmt::format("{:>10}  {:>10}", "-", "-")
                            : fmt::format("{:>10.4g}  {:>10.4g}", combined_grad_norm(r.gradients),
                                          r.gradients.front().input_grad_norm);
    fmt::print("{:>3}  {:<{}}  {}  {}\n", r.index, r.layer, layer_width, stats, grads);
  }
}

nlohmann::ordered_json to_json(const std::vector<LayerRow>& rows) {
  nlohmann::ordered_json layers = nlohmann::ordered_json::array();
  for (const auto& r : rows) {
    nlohmann::ordered_json j{{"index", r.index}, {"layer", r.layer}};
    j["activations"] = r.activations ? nlohmann::ordered_json::parse(diag::to_json(*r.activations))
                                     : nlohmann::ordered_json(nullptr);
    j["gradients"] = nlohmann::ordered_json::array();
    for (const auto& g : r.gradients) {
      j["gradients"].push_back({{"parameter", g.parameter},
                                {"weight_norm", g.weight_norm},
                                {"grad_norm", g.grad_norm},
                                {"input_grad_norm", g.input_grad_norm}});
    }
    layers.push_back(std::move(j));
  }
  return layers;
}

}  // namespace

CLI::App* add_diagnose_command(CLI::App& app, DiagnoseOptions& o) {
  CLI::App* c = app.add_subcommand(
      "diagnose", "Dead units, sparsity, activation statistics and gradient norms of a checkpoint");
  c->add_option("checkpoint", o.checkpoint, "checkpoint.safetensors written by `relulab train`")
      ->required();
  c->add_option("--data", o.data,
                "Data set whose training split is probed (as for `relulab train`)")
      ->capture_default_str();
  c->add_option("--probe", o.probe, "Probe examples, a fixed sample of the training set")
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 40));
  c->add_option("--threads", o.threads, "Threads (default: OpenMP's default)")
      ->check(CLI::Range(1, 1024));
  c->add_flag("--json", o.json, "Print one JSON document instead of a table");
  return c;
}

void run_diagnose(const DiagnoseOptions& o) {
  if (o.threads > 0) set_thread_count(o.threads);
  ModelAndData md = load_model_and_data(o.checkpoint, o.data, Split::kTrain);
  nn::Model& model = *md.loaded.model;
  const data::Dataset& train = md.examples;

  const diag::ProbeOptions probe_options{.examples = o.probe};
  const std::vector<std::int64_t> rows = diag::probe_indices(train.size(), o.probe);
  const Tensor probe = diag::probe_set(train.features, o.probe);
  const auto activations = diag::probe_activations(model, probe, probe_options);

  // Gradients: one forward/backward on the first batch of the probe set.
  const std::int64_t batch = std::min<std::int64_t>(probe_options.batch, probe.dim(0));
  std::vector<std::int32_t> labels;
  for (std::int64_t i = 0; i < batch; ++i) {
    labels.push_back(train.labels[static_cast<std::size_t>(rows[static_cast<std::size_t>(i)])]);
  }
  const auto gradients = diag::gradient_norms_once(model, probe.rows(0, batch), labels);
  const std::vector<LayerRow> table = rows_of(model, activations, gradients);

  if (o.json) {
    const nlohmann::ordered_json j{{"checkpoint", o.checkpoint.string()},
                                   {"data", o.data},
                                   {"model", model.spec},
                                   {"activation", describe(model.activation)},
                                   {"probe_examples", probe.dim(0)},
                                   {"gradient_examples", batch},
                                   {"near_dead_threshold", probe_options.near_dead_threshold},
                                   {"layers", to_json(table)}};
    fmt::print("{}\n", j.dump());
    return;
  }
  fmt::print(
      "{} ({}, {}) on {} examples of '{}' (training split); gradients from one "
      "forward/backward on {} of them\n",
      o.checkpoint.string(), model.spec, describe(model.activation), probe.dim(0), o.data, batch);
  fmt::print(
      "dead: no non-zero output on any probe example; near: on fewer than {:g}% of them; "
      "sat: |f'| < 0.01 (sigmoid, tanh, hardsigmoid)\n\n",
      100 * probe_options.near_dead_threshold);
  print_table(table);
}

}  // namespace relulab::cli

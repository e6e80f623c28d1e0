// `relulab eval CHECKPOINT`: loss and accuracy of a trained model on a data set's test split,
// with the input normalisation stored in the checkpoint.
#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "checkpoint_data.hpp"
#include "commands.hpp"
#include "relulab/data/dataset.hpp"
#include "relulab/io/safetensors.hpp"
#include "relulab/nn/loss.hpp"
#include "relulab/threads.hpp"
#include "relulab/train/trainer.hpp"

namespace relulab::cli {

CLI::App* add_eval_command(CLI::App& app, EvalOptions& o) {
  CLI::App* c = app.add_subcommand("eval", "Evaluate a checkpoint on a data set's test split");
  c->add_option("checkpoint", o.checkpoint, "checkpoint.safetensors written by `relulab train`")
      ->required();
  c->add_option("--data", o.data, "Data set (as for `relulab train`)")->capture_default_str();
  c->add_option("--test-limit", o.test_limit, "Use only the first N test examples")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 40));
  c->add_option("--threads", o.threads, "Threads (default: OpenMP's default)")
      ->check(CLI::Range(1, 1024));
  c->add_flag("--json", o.json, "Print one JSON object instead of text");
  c->add_option("--logits", o.logits,
                "Also write the model's outputs to this safetensors file: 'logits' [examples, "
                "classes] and 'labels' [examples] (e.g. to compare with relulab_torch)");
  return c;
}

void run_eval(const EvalOptions& o) {
  if (o.threads > 0) set_thread_count(o.threads);
  ModelAndData md = load_model_and_data(o.checkpoint, o.data, Split::kTest, o.test_limit);
  nn::Model& model = *md.loaded.model;
  const data::Dataset& test = md.examples;

  double loss_sum = 0;
  std::int64_t correct = 0;
  const auto n = static_cast<std::int64_t>(test.labels.size());
  Tensor all_logits = o.logits.empty() ? Tensor() : Tensor({n, model.num_classes});
  for (std::int64_t begin = 0; begin < n; begin += 1000) {
    const std::int64_t count = std::min<std::int64_t>(1000, n - begin);
    const Tensor logits = model.net.forward(test.features.rows(begin, count), nn::Pass{});
    const auto labels =
        std::span(test.labels)
            .subspan(static_cast<std::size_t>(begin), static_cast<std::size_t>(count));
    const nn::LossResult r = nn::softmax_cross_entropy(logits, labels);
    if (!o.logits.empty()) {
      std::copy(logits.data(), logits.data() + logits.size(),
                all_logits.data() + begin * model.num_classes);
    }
    loss_sum += r.loss * static_cast<double>(count);
    correct += r.correct;
  }
  const double loss = loss_sum / static_cast<double>(n);  // n >= 1: load_model_and_data checks
  const double accuracy = static_cast<double>(correct) / static_cast<double>(n);
  if (!o.logits.empty()) {
    Tensor labels({n});
    for (std::int64_t i = 0; i < n; ++i)
      labels[static_cast<std::size_t>(i)] =
          static_cast<float>(test.labels[static_cast<std::size_t>(i)]);
    const Status s = io::write_safetensors(o.logits, {{"logits", all_logits}, {"labels", labels}});
    if (!s) throw RuntimeError(s.message());
  }
  if (o.json) {
    nlohmann::json j{{"checkpoint", o.checkpoint.string()},
                     {"data", o.data},
                     {"examples", n},
                     {"loss", loss},
                     {"accuracy", accuracy},
                     {"model", model.spec},
                     {"activation", describe(model.activation)}};
    fmt::print("{}\n", j.dump());
  } else {
    fmt::print("{} on {} ({} examples): loss {:.4f}, accuracy {:.2f}%\n", o.checkpoint.string(),
               o.data, n, loss, 100 * accuracy);
  }
}

}  // namespace relulab::cli

#include "relulab/train/trainer.hpp"

#include <chrono>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "relulab/io/atomic_file.hpp"
#include "relulab/nn/loss.hpp"
#include "relulab/threads.hpp"
#include "relulab/train/checkpoint.hpp"

namespace relulab::train {
namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Index of the first NaN or Inf in `t`, or -1.
std::int64_t first_non_finite(const Tensor& t) {
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (!std::isfinite(t[i])) return static_cast<std::int64_t>(i);
  }
  return -1;
}

// The name of the first parameter whose value (or gradient) holds a NaN or Inf, with the element.
std::optional<std::string> non_finite_parameter(nn::Model& model, bool gradient) {
  for (nn::Parameter* p : model.net.parameters()) {
    const Tensor& t = gradient ? p->grad : p->value;
    if (const std::int64_t i = first_non_finite(t); i >= 0) {
      return fmt::format("{} of parameter '{}' (element {}, value {})",
                         gradient ? "gradient" : "value", p->name, i,
                         t[static_cast<std::size_t>(i)]);
    }
  }
  return std::nullopt;
}

Status validate(const TrainConfig& c) {
  if (!(std::isfinite(c.lr) && c.lr >= 0.0f)) {
    return Status::invalid_argument(
        fmt::format("--lr {}: the learning rate must be a finite number >= 0", c.lr));
  }
  if (c.epochs < 1 || c.epochs > 100000) {
    return Status::invalid_argument(fmt::format("--epochs {}: must be in [1, 100000]", c.epochs));
  }
  if (c.batch < 1 || c.batch > 65536) {
    return Status::invalid_argument(fmt::format("--batch {}: must be in [1, 65536]", c.batch));
  }
  if (!(std::isfinite(c.bias_init))) {
    return Status::invalid_argument("--bias-init must be finite");
  }
  if (!(c.stop_at_train_error >= 0 && c.stop_at_train_error < 1)) {
    return Status::invalid_argument(fmt::format(
        "stop_at_train_error {}: must be in [0, 1) (0: train every epoch)", c.stop_at_train_error));
  }
  return validate(c.activation);
}

Result<std::unique_ptr<nn::Optimizer>> make_optimizer(const TrainConfig& c,
                                                      std::vector<nn::Parameter*> params) {
  try {
    if (c.optimizer == "sgd") {
      nn::SgdOptions o;
      o.momentum = c.momentum;
      o.nesterov = c.nesterov;
      o.weight_decay = c.weight_decay;
      return nn::make_sgd(std::move(params), o);
    }
    if (c.optimizer == "adam" || c.optimizer == "adamw") {
      nn::AdamOptions o = c.optimizer == "adamw" ? nn::AdamOptions::adamw() : nn::AdamOptions{};
      o.weight_decay = c.weight_decay;  // 0 unless asked for, for every optimiser
      return c.optimizer == "adam" ? nn::make_adam(std::move(params), o)
                                   : nn::make_adamw(std::move(params), o);
    }
  } catch (const std::invalid_argument& e) {
    return Status::invalid_argument(e.what());
  }
  return Status::invalid_argument(
      fmt::format("--optimizer '{}': unknown (valid: sgd, adam, adamw)", c.optimizer));
}

Shape example_shape(const data::Dataset& d) {
  return Shape(d.features.shape().begin() + 1, d.features.shape().end());
}

}  // namespace

std::string describe_json(const TrainConfig& c) {
  Json j;
  j["model"] = c.model;
  j["activation"] = describe(c.activation);
  j["init"] = nn::describe(c.init);
  j["bias_init"] = c.bias_init;
  j["optimizer"] = c.optimizer;
  j["lr"] = c.lr;
  j["momentum"] = c.momentum;
  j["nesterov"] = c.nesterov;
  j["weight_decay"] = c.weight_decay;
  j["schedule"] = c.schedule;
  j["epochs"] = c.epochs;
  j["batch"] = c.batch;
  j["seed"] = c.seed;
  j["on_nan"] = c.on_nan == OnNan::kStop ? "stop" : "skip-batch";
  if (c.stop_at_train_error > 0) j["stop_at_train_error"] = c.stop_at_train_error;
  j["threads"] = thread_count();
  return j.dump();
}

std::string to_json_line(const EpochMetrics& m) {
  Json j;
  j["epoch"] = m.epoch;
  j["step"] = m.step;
  j["lr"] = m.lr;
  j["train_loss"] = m.train.loss;
  j["train_accuracy"] = m.train.accuracy;
  j["test_loss"] = m.test.loss;
  j["test_accuracy"] = m.test.accuracy;
  j["seconds"] = m.seconds;
  j["images_per_second"] = m.images_per_second;
  j["skipped_batches"] = m.skipped_batches;
  return j.dump();
}

Result<std::unique_ptr<Trainer>> Trainer::create(const TrainConfig& config, data::TrainTest data) {
  RELULAB_TRY(validate(config));
  retain_freed_tensor_memory();
  if (data.train.labels.empty()) return Status::invalid_argument("the training set is empty");
  std::unique_ptr<Trainer> t(new Trainer());
  t->config_ = config;
  t->data_ = std::move(data);
  if (config.normalize) {
    t->normalization_ = data::fit_normalization(t->data_.train);
    data::apply_normalization(t->data_.train, t->normalization_);
    data::apply_normalization(t->data_.test, t->normalization_);
  }
  const int classes = std::max(t->data_.train.num_classes, t->data_.test.num_classes);
  auto model =
      nn::build_model(config.model, config.activation, example_shape(t->data_.train), classes);
  if (!model) return model.status();
  t->model_ = std::move(model).value();
  // The input batch needs no gradient: the first weight layer skips its dx (as autograd does).
  t->model_->net.set_input_gradient(false);
  t->rng_ = Rng(config.seed);
  auto params = t->model_->net.parameters();
  nn::initialize(params, config.init, config.bias_init, t->rng_);
  auto optimizer = make_optimizer(config, params);
  if (!optimizer) return optimizer.status();
  t->optimizer_ = std::move(optimizer).value();
  const auto n = static_cast<std::int64_t>(t->data_.train.labels.size());
  const std::int64_t steps_per_epoch = (n + config.batch - 1) / config.batch;
  auto schedule = nn::parse_lr_schedule(config.schedule, config.lr, steps_per_epoch,
                                        steps_per_epoch * config.epochs);
  if (!schedule) return schedule.status();
  t->schedule_ = std::move(schedule).value();
  return t;
}

Result<EpochMetrics> Trainer::train_epoch(TrainObserver* observer) {
  const data::Dataset& train = data_.train;
  const auto n = static_cast<std::int64_t>(train.labels.size());
  const std::int64_t batches = (n + config_.batch - 1) / config_.batch;
  const int epoch = epoch_ + 1;
  const std::vector<std::int64_t> order = data::epoch_order(n, config_.seed, epoch, true);

  Tensor x;
  std::vector<std::int32_t> y;
  double loss_sum = 0;
  std::int64_t correct = 0, seen = 0;
  const auto t0 = Clock::now();
  double lr = 0;
  for (std::int64_t b = 0; b < batches; ++b) {
    const std::int64_t begin = b * config_.batch;
    const std::int64_t count = std::min<std::int64_t>(config_.batch, n - begin);
    data::gather_batch(
        train,
        std::span(order).subspan(static_cast<std::size_t>(begin), static_cast<std::size_t>(count)),
        x, y);
    ++step_;
    const nn::Pass pass{nn::Mode::kTrain, config_.seed ^ (static_cast<std::uint64_t>(step_) << 20)};
    const Tensor logits = model_->net.forward(x, pass);
    nn::LossResult loss = nn::softmax_cross_entropy(logits, y);
    std::optional<std::string> bad;
    if (!std::isfinite(loss.loss)) {
      bad = fmt::format("the loss is {}", loss.loss);
    } else {
      optimizer_->zero_grad();
      model_->net.backward(loss.grad);
      bad = non_finite_parameter(*model_, /*gradient=*/true);
    }
    model_->net.release();
    if (bad) {
      if (config_.on_nan == OnNan::kStop) {
        return Status::numerical_error(fmt::format(
            "epoch {}, step {} (batch {} of {}): {}; training stopped (the last checkpoint is "
            "untouched; --on-nan=skip-batch skips such batches)",
            epoch, step_, b + 1, batches, *bad));
      }
      ++skipped_;
      continue;
    }
    if (observer) observer->after_backward(step_, *model_);
    lr = schedule_->lr_at(step_ - 1);
    optimizer_->step(static_cast<float>(lr));
    if (auto bad_weight = non_finite_parameter(*model_, /*gradient=*/false)) {
      return Status::numerical_error(fmt::format(
          "epoch {}, step {}: the update made the {} (learning rate {}); training stopped, the "
          "last checkpoint is untouched",
          epoch, step_, *bad_weight, lr));
    }
    if (observer) observer->after_update(step_, *model_);
    loss_sum += loss.loss * static_cast<double>(count);
    correct += loss.correct;
    seen += count;
    if (observer) {
      const double elapsed = seconds_since(t0);
      BatchProgress p;
      p.epoch = epoch;
      p.batch = b + 1;
      p.batches = batches;
      p.loss = loss_sum / static_cast<double>(seen);
      p.accuracy = static_cast<double>(correct) / static_cast<double>(seen);
      p.images_per_second = static_cast<double>(begin + count) / elapsed;
      const double remaining_images = static_cast<double>(n - begin - count) +
                                      static_cast<double>(n) * (config_.epochs - epoch);
      p.eta_seconds = remaining_images / p.images_per_second;
      observer->on_batch(p);
    }
  }
  const double elapsed = seconds_since(t0);
  seconds_ += elapsed;
  epoch_ = epoch;
  EpochMetrics m;
  m.epoch = epoch;
  m.step = step_;
  m.lr = lr;
  m.train.examples = seen;
  m.train.loss = seen ? loss_sum / static_cast<double>(seen) : NAN;
  m.train.accuracy = seen ? static_cast<double>(correct) / static_cast<double>(seen) : 0.0;
  m.test = evaluate(data_.test);
  m.seconds = seconds_;
  m.images_per_second = static_cast<double>(n) / elapsed;
  m.skipped_batches = skipped_;
  history_.push_back(m);
  return m;
}

Evaluation Trainer::evaluate(const data::Dataset& d, std::int64_t batch) {
  Evaluation e;
  const auto n = static_cast<std::int64_t>(d.labels.size());
  if (n == 0) return e;
  double loss_sum = 0;
  std::int64_t correct = 0;
  for (std::int64_t begin = 0; begin < n; begin += batch) {
    const std::int64_t count = std::min(batch, n - begin);
    const Tensor logits = model_->net.forward(d.features.rows(begin, count), nn::Pass{});
    const nn::LossResult loss = nn::softmax_cross_entropy(
        logits, std::span(d.labels).subspan(static_cast<std::size_t>(begin),
                                            static_cast<std::size_t>(count)));
    loss_sum += loss.loss * static_cast<double>(count);
    correct += loss.correct;
  }
  e.examples = n;
  e.loss = loss_sum / static_cast<double>(n);
  e.accuracy = static_cast<double>(correct) / static_cast<double>(n);
  return e;
}

Status Trainer::fit(TrainObserver* observer) {
  while (epoch_ < config_.epochs) {
    auto m = train_epoch(observer);
    if (!m) return m.status();
    RELULAB_TRY(write_outputs());
    if (observer) observer->on_epoch(m.value(), *model_);
    if (config_.stop_at_train_error > 0 &&
        1.0 - m.value().train.accuracy <= config_.stop_at_train_error)
      break;
  }
  return Status::ok();
}

Status Trainer::write_outputs() const {
  if (config_.out_dir.empty()) return Status::ok();
  std::error_code ec;
  std::filesystem::create_directories(config_.out_dir, ec);
  if (ec) {
    return Status::io_error(
        fmt::format("cannot create '{}': {}", config_.out_dir.string(), ec.message()));
  }
  std::string jsonl, csv =
                         "epoch,step,lr,train_loss,train_accuracy,test_loss,test_accuracy,seconds,"
                         "images_per_second,skipped_batches\n";
  for (const EpochMetrics& m : history_) {
    jsonl += to_json_line(m) + "\n";
    csv += fmt::format("{},{},{},{},{},{},{},{},{},{}\n", m.epoch, m.step, m.lr, m.train.loss,
                       m.train.accuracy, m.test.loss, m.test.accuracy, m.seconds,
                       m.images_per_second, m.skipped_batches);
  }
  // Metrics first, checkpoint last: a checkpoint on disk always has its metrics beside it.
  RELULAB_TRY(io::write_text_atomically(config_.out_dir / "metrics.jsonl", jsonl));
  RELULAB_TRY(io::write_text_atomically(config_.out_dir / "metrics.csv", csv));
  return save_checkpoint(config_.out_dir / "checkpoint.safetensors");
}

}  // namespace relulab::train

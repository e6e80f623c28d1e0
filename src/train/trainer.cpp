#include "relulab/train/trainer.hpp"

#include <chrono>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "data_parallel.hpp"
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

Result<std::unique_ptr<Trainer>> Trainer::create(const TrainConfig& config, data::TrainTest data,
                                                 Communicator& comm) {
  RELULAB_TRY(validate(config));
  retain_freed_tensor_memory();
  if (data.train.labels.empty()) return Status::invalid_argument("the training set is empty");
  if (comm.size() > 1 &&
      !(comm.agree(data.train.labels.size()) && comm.agree(data.test.labels.size()) &&
        comm.agree(data.train.features.size()))) {
    return Status::invalid_argument(fmt::format(
        "rank {} loaded {} training and {} test examples, and another rank a different data set: "
        "every rank must read the same data",
        comm.rank(), data.train.labels.size(), data.test.labels.size()));
  }
  std::unique_ptr<Trainer> t(new Trainer());
  t->comm_ = &comm;
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
  // Every rank initialised from the same seed; rank 0's state is made everyone's all the same, so
  // that nothing but the data each rank sees can differ.
  t->synchronize();
  return t;
}

void Trainer::synchronize() {
  if (comm_->size() == 1) return;
  struct Scalars {
    int epoch;
    std::int64_t step, skipped;
    double seconds;
    Rng::State rng;
  } s{epoch_, step_, skipped_, seconds_, rng_.state()};
  broadcast_state(*comm_, *model_, *optimizer_, std::as_writable_bytes(std::span(&s, 1)));
  epoch_ = s.epoch;
  step_ = s.step;
  skipped_ = s.skipped;
  seconds_ = s.seconds;
  rng_.set_state(s.rng);
}

Result<EpochMetrics> Trainer::train_epoch(TrainObserver* observer) {
  const data::Dataset& train = data_.train;
  const auto n = static_cast<std::int64_t>(train.labels.size());
  const std::int64_t batches = (n + config_.batch - 1) / config_.batch;
  const int epoch = epoch_ + 1;
  const std::vector<std::int64_t> order = data::epoch_order(n, config_.seed, epoch, true);
  const int ranks = comm_->size();

  Tensor x;
  std::vector<std::int32_t> y;
  double loss_sum = 0;
  std::int64_t correct = 0, seen = 0;  // seen: by this rank
  const auto t0 = Clock::now();
  double lr = 0;
  for (std::int64_t b = 0; b < batches; ++b) {
    const std::int64_t begin = b * config_.batch;
    const std::int64_t count = std::min<std::int64_t>(config_.batch, n - begin);
    // This rank's share of the batch (all of it in a single process).
    const Share mine = share_of(count, comm_->rank(), ranks);
    ++step_;
    nn::LossResult loss;
    std::optional<std::string> bad;
    optimizer_->zero_grad();
    if (mine.size() > 0) {
      data::gather_batch(train,
                         std::span(order).subspan(static_cast<std::size_t>(begin + mine.begin),
                                                  static_cast<std::size_t>(mine.size())),
                         x, y);
      const nn::Pass pass{nn::Mode::kTrain,
                          config_.seed ^ (static_cast<std::uint64_t>(step_) << 20)};
      const Tensor logits = model_->net.forward(x, pass);
      loss = nn::softmax_cross_entropy(logits, y);
      if (!std::isfinite(loss.loss)) {
        bad = fmt::format("the loss is {}", loss.loss);
      } else {
        if (ranks > 1) {
          // d(global mean)/d(logits) = (share / count) d(share mean)/d(logits).
          const float scale = static_cast<float>(mine.size()) / static_cast<float>(count);
          for (float& g : loss.grad.span()) g *= scale;
        }
        model_->net.backward(loss.grad);
      }
      model_->net.release();
    }
    if (ranks > 1) {
      const std::vector<int> bad_ranks =
          allreduce_gradients(*comm_, *model_, bad.has_value(), gradient_buffer_);
      // The same words on every rank, whichever rank's share held the culprit.
      if (!bad_ranks.empty())
        bad = fmt::format("the loss is not finite on rank {}", fmt::join(bad_ranks, ", "));
    }
    if (!bad) bad = non_finite_parameter(*model_, /*gradient=*/true);
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
    loss_sum += loss.loss * static_cast<double>(mine.size());
    correct += loss.correct;
    seen += mine.size();
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
  double elapsed = seconds_since(t0);
  if (ranks > 1) {
    // The epoch's totals over all ranks; its time is the slowest rank's (all the same, give or
    // take the last allreduce).
    double totals[4] = {loss_sum, static_cast<double>(correct), static_cast<double>(seen), 0};
    comm_->allreduce_sum(totals);
    loss_sum = totals[0];
    correct = static_cast<std::int64_t>(totals[1]);
    seen = static_cast<std::int64_t>(totals[2]);
    comm_->broadcast(std::as_writable_bytes(std::span(&elapsed, 1)), 0);
    average_buffers(*comm_, *model_);
    if (!comm_->agree(parameter_hash(*model_))) {
      return Status::numerical_error(fmt::format(
          "epoch {}: the ranks' parameters differ after the epoch (rank {}'s hash {:016x}); "
          "the MPI library's sum is not the same on every rank",
          epoch, comm_->rank(), parameter_hash(*model_)));
    }
  }
  seconds_ += elapsed;
  epoch_ = epoch;
  EpochMetrics m;
  m.epoch = epoch;
  m.step = step_;
  m.lr = lr;
  m.train.examples = seen;
  m.train.loss = seen ? loss_sum / static_cast<double>(seen) : NAN;
  m.train.accuracy = seen ? static_cast<double>(correct) / static_cast<double>(seen) : 0.0;
  m.test = evaluate_shared(data_.test);
  m.seconds = seconds_;
  m.images_per_second = static_cast<double>(n) / elapsed;
  m.skipped_batches = skipped_;
  history_.push_back(m);
  return m;
}

Evaluation Trainer::evaluate_shared(const data::Dataset& d) {
  if (comm_->size() == 1) return evaluate(d);
  // Each rank evaluates a contiguous share of the set; the sums make the whole set's figures.
  const auto n = static_cast<std::int64_t>(d.labels.size());
  const Share mine = share_of(n, comm_->rank(), comm_->size());
  const Evaluation local = evaluate_range(d, mine.begin, mine.size(), 1000);
  double totals[2] = {local.loss * static_cast<double>(local.examples),
                      local.accuracy * static_cast<double>(local.examples)};
  comm_->allreduce_sum(totals);
  Evaluation e;
  e.examples = n;
  if (n == 0) return e;
  e.loss = totals[0] / static_cast<double>(n);
  e.accuracy = std::round(totals[1]) / static_cast<double>(n);
  return e;
}

Evaluation Trainer::evaluate(const data::Dataset& d, std::int64_t batch) {
  return evaluate_range(d, 0, static_cast<std::int64_t>(d.labels.size()), batch);
}

Evaluation Trainer::evaluate_range(const data::Dataset& d, std::int64_t first, std::int64_t n,
                                   std::int64_t batch) {
  Evaluation e;
  if (n == 0) return e;
  double loss_sum = 0;
  std::int64_t correct = 0;
  for (std::int64_t begin = first; begin < first + n; begin += batch) {
    const std::int64_t count = std::min(batch, first + n - begin);
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
  // Under MPI rank 0 alone writes: the ranks hold the same model.
  if (config_.out_dir.empty() || !comm_->is_root()) return Status::ok();
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

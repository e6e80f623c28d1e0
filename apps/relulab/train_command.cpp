// `relulab train`: trains a model on a data set, with a progress bar on a terminal (plain lines
// otherwise), per-epoch metrics in DIR/metrics.jsonl and DIR/metrics.csv, and a checkpoint at
// every epoch in DIR/checkpoint.safetensors (`--resume` continues from it). Under `mpirun -np N`
// the training is data-parallel (relulab/train/trainer.hpp) and rank 0 alone prints and writes.
#include <unistd.h>

#include <cmath>
#include <cstdio>

#include <fmt/format.h>

#include "commands.hpp"
#include "relulab/data/dataset.hpp"
#include "relulab/diag/recorder.hpp"
#include "relulab/threads.hpp"
#include "relulab/train/trainer.hpp"

namespace relulab::cli {
namespace {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  const auto s = static_cast<long>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{:02}:{:02}", s / 60, s % 60);
}

// A bar redrawn in place on a terminal; one line per epoch otherwise (logs, pipes, CI).
class ProgressDisplay : public train::TrainObserver {
 public:
  explicit ProgressDisplay(int epochs) : epochs_(epochs), terminal_(isatty(fileno(stderr)) != 0) {}

  void on_batch(const train::BatchProgress& p) override {
    if (!terminal_) return;
    constexpr int kWidth = 24;
    const int filled = static_cast<int>(kWidth * p.batch / std::max<std::int64_t>(1, p.batches));
    fmt::print(stderr, "\repoch {}/{} [{}{}] {}/{} loss {:.4f} acc {:.2f}% {:.0f} img/s ETA {}  ",
               p.epoch, epochs_, std::string(static_cast<std::size_t>(filled), '#'),
               std::string(static_cast<std::size_t>(kWidth - filled), '.'), p.batch, p.batches,
               p.loss, 100 * p.accuracy, p.images_per_second, format_duration(p.eta_seconds));
    std::fflush(stderr);
  }

  void on_epoch(const train::EpochMetrics& m, nn::Model&) override {
    if (terminal_) fmt::print(stderr, "\r\033[K");
    fmt::print(
        "epoch {}/{}: train loss {:.4f} acc {:.2f}% | test loss {:.4f} acc {:.2f}% | "
        "{:.0f} img/s, {:.1f} s{}\n",
        m.epoch, epochs_, m.train.loss, 100 * m.train.accuracy, m.test.loss, 100 * m.test.accuracy,
        m.images_per_second, m.seconds,
        m.skipped_batches ? fmt::format(", {} batches skipped (NaN/Inf)", m.skipped_batches) : "");
    std::fflush(stdout);
  }

 private:
  int epochs_;
  bool terminal_;
};

}  // namespace

CLI::App* add_train_command(CLI::App& app, TrainOptions& o) {
  CLI::App* c = app.add_subcommand("train", "Train a model on a data set");
  c->footer(
      "Several processes or machines: `mpirun -np N relulab train ...` trains data-parallel. "
      "Every rank reads the same --data; each takes 1/N of every global batch of --batch "
      "examples (the data order is a single process's for the seed), and the ranks average "
      "their gradients with MPI_Allreduce, so parameters stay identical. Batch norm uses each "
      "rank's own batch statistics (not synchronised); its running statistics are averaged over "
      "the ranks at every epoch's end. Rank 0 alone prints and writes --out; --resume works with "
      "any number of ranks. Threads per rank default to the machine's cores / ranks on it.");
  c->add_option("--model", o.model, "mlp:512-512, deep-mlp:DEPTH:WIDTH, cnn, resnet:2, or JSON")
      ->capture_default_str();
  c->add_option("--activation", o.activation, "Activation (see `relulab list`)")
      ->capture_default_str();
  c->add_option("--param", o.params, "Activation parameter NAME=VALUE (repeatable)");
  c->add_option("--init", o.init,
                "Weight init: he_normal, he_uniform, xavier_normal, xavier_uniform, lecun_normal, "
                "orthogonal, normal:STD, constant:V, torch_default. He takes the gain of the "
                "layer's activation (sqrt 2 for ReLU) and ':fan_out'; Xavier and orthogonal take "
                "gain 1, as PyTorch's xavier_normal_ and Glorot & Bengio (2010), unless given: "
                "'xavier_normal:gain=relu' (sqrt 2), 'xavier_normal:gain=1.414'")
      ->capture_default_str();
  c->add_option("--bias-init", o.bias_init, "Initial value of every bias")->capture_default_str();
  c->add_option("--data", o.data,
                "fashion-mnist, mnist:DIR, cifar10:DIR, cifar100:DIR, a directory of IDX files, or "
                "TRAIN.csv,TEST.csv")
      ->capture_default_str();
  c->add_option("--epochs", o.epochs, "Epochs")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  c->add_option("--batch", o.batch, "Batch size")
      ->check(CLI::Range(1, 65536))
      ->capture_default_str();
  c->add_option("--lr", o.lr, "Learning rate (>= 0)")
      ->check(CLI::Range(0.0f, 1e6f))
      ->capture_default_str();
  c->add_option("--optimizer", o.optimizer, "sgd, adam, adamw")
      ->check(CLI::IsMember({"sgd", "adam", "adamw"}))
      ->capture_default_str();
  c->add_option("--momentum", o.momentum, "SGD momentum in [0, 1)")
      ->check(CLI::Range(0.0f, 0.9999f))
      ->capture_default_str();
  c->add_flag("--nesterov", o.nesterov, "Nesterov momentum (SGD)");
  c->add_option("--weight-decay", o.weight_decay, "Weight decay (weights only, not biases)")
      ->check(CLI::Range(0.0f, 1.0f))
      ->capture_default_str();
  c->add_option("--schedule", o.schedule,
                "constant, step:EPOCHS:GAMMA, cosine, cosine:warmup=STEPS")
      ->capture_default_str();
  c->add_option("--seed", o.seed, "Seed of every random choice")->capture_default_str();
  c->add_option("--threads", o.threads, "Threads (default: OpenMP's default)")
      ->check(CLI::Range(1, 1024));
  c->add_option("--train-limit", o.train_limit, "Use only the first N training examples")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 40));
  c->add_option("--test-limit", o.test_limit, "Use only the first N test examples")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 40));
  c->add_option("--out", o.out_dir, "Directory for checkpoint and metrics")->capture_default_str();
  c->add_flag("--resume", o.resume, "Continue from OUT/checkpoint.safetensors");
  c->add_flag("--diagnostics", o.diagnostics,
              "Record dead units, sparsity, activation statistics (OUT/diagnostics.jsonl) and "
              "gradient norms (OUT/gradients.csv) during training");
  c->add_option("--probe", o.probe, "Probe examples for --diagnostics")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 30))
      ->capture_default_str();
  c->add_option("--gradient-every", o.gradient_every,
                "Sample gradient norms every N steps (--diagnostics)")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 40))
      ->capture_default_str();
  c->add_option("--on-nan", o.on_nan, "stop, or skip-batch (skip and count batches with NaN/Inf)")
      ->check(CLI::IsMember({"stop", "skip-batch"}))
      ->capture_default_str();
  return c;
}

void run_train(const TrainOptions& o, Communicator& comm) {
  if (o.threads > 0) set_thread_count(o.threads);
  train::TrainConfig config;
  config.model = o.model;
  ActivationArgs activation_args{{o.activation}, o.params};
  config.activation = resolve_specs(activation_args).front();
  auto init = nn::parse_init(o.init);
  if (!init) throw UsageError("--init: " + init.status().message());
  config.init = init.value();
  config.bias_init = o.bias_init;
  config.optimizer = o.optimizer;
  config.lr = o.lr;
  config.momentum = o.momentum;
  config.nesterov = o.nesterov;
  config.weight_decay = o.weight_decay;
  config.schedule = o.schedule;
  config.epochs = o.epochs;
  config.batch = o.batch;
  config.seed = o.seed;
  config.on_nan = o.on_nan == "stop" ? train::OnNan::kStop : train::OnNan::kSkipBatch;
  config.out_dir = o.out_dir;

  auto data = data::load_dataset(o.data);
  if (!data) throw RuntimeError(data.status().message());
  data::TrainTest sets = std::move(data).value();
  if (o.train_limit > 0)
    sets.train = data::subset(
        sets.train, 0,
        std::min<std::int64_t>(o.train_limit, static_cast<std::int64_t>(sets.train.labels.size())));
  if (o.test_limit > 0)
    sets.test = data::subset(
        sets.test, 0,
        std::min<std::int64_t>(o.test_limit, static_cast<std::int64_t>(sets.test.labels.size())));

  auto trainer = train::Trainer::create(config, std::move(sets), comm);
  if (!trainer) {
    if (trainer.status().code() == StatusCode::kInvalidArgument)
      throw UsageError(trainer.status().message());
    throw RuntimeError(trainer.status().message());
  }
  train::Trainer& t = *trainer.value();
  if (o.resume) {
    if (Status s = t.resume(o.out_dir / "checkpoint.safetensors"); !s) {
      // The same on every rank (rank 0 read the file and told the others).
      throw SharedRuntimeError(s.message());
    }
    if (comm.is_root())
      fmt::print("resumed from {} at epoch {} (step {})\n",
                 (o.out_dir / "checkpoint.safetensors").string(), t.epoch(), t.step());
  }
  const std::string ranks =
      comm.size() > 1
          ? fmt::format("{} ranks x {} threads (data-parallel, MPI)", comm.size(), thread_count())
          : fmt::format("{} threads", thread_count());
  if (comm.is_root())
    fmt::print(
        "training {} with {} ({}) on {}: {} train / {} test examples, batch {}, {} {} lr {}, "
        "{} -> {}\n",
        t.model().net.describe(), describe(config.activation), o.init, o.data,
        t.data().train.labels.size(), t.data().test.labels.size(), config.batch, config.optimizer,
        config.schedule, config.lr, ranks, o.out_dir.string());
  std::fflush(stdout);
  // Rank 0 alone shows progress and records diagnostics: the ranks hold the same model.
  ProgressDisplay progress(config.epochs);
  train::ObserverList observers;
  if (comm.is_root()) observers.add(&progress);
  std::unique_ptr<diag::DiagnosticsRecorder> recorder;
  if (o.diagnostics && comm.is_root()) {
    diag::ProbeOptions probe_options;
    probe_options.examples = o.probe;
    diag::GradientFlowOptions gradient_options;
    gradient_options.every = o.gradient_every;
    recorder = std::make_unique<diag::DiagnosticsRecorder>(
        diag::probe_set(t.data().train.features, o.probe, config.seed), probe_options,
        gradient_options, o.out_dir);
    const Status started = o.resume ? recorder->resume(t.model(), t.epoch(), t.step())
                                    : recorder->record_initial(t.model());
    if (!started) throw RuntimeError(started.message());
    observers.add(recorder.get());
  }
  if (Status s = t.fit(&observers); !s) {
    // A NaN stop is decided from the summed gradients, so on every rank at once; a failed write
    // happens on rank 0 alone.
    if (s.code() == StatusCode::kNumericalError) throw SharedRuntimeError(s.message());
    throw RuntimeError(s.message());
  }
  if (recorder && !recorder->status()) throw RuntimeError(recorder->status().message());
}

}  // namespace relulab::cli

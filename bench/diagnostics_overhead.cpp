// What the live diagnostics cost: the same training run (mlp:512-512, ReLU, SGD, batch 128) with
// and without a DiagnosticsRecorder at the default sampling (probe 10,000 training examples after
// every epoch, gradients every 50 steps), several repetitions each, alternating so that drifts in
// machine load hit both. Prints the median seconds and the overhead in percent:
//   per epoch  = (median fit with diagnostics - median fit without) / median fit without, where a
//                fit includes the per-epoch test evaluation, as `relulab train` runs it;
//   strict     = the same difference / the training time alone (no evaluation);
//   initial    = the one probe at initialisation (record_initial), per run;
//   CPU time   = the per-epoch figure from user + system CPU seconds instead of wall time;
//   hooks      = the wall time spent inside the recorder's hooks during fit, relative to that
//                run's training time: the direct measurement, least disturbed by other load.
// Fashion-MNIST when /usr/share/datasets/fashion-mnist exists, else random data of its shape.
//
//   diagnostics_overhead [--epochs 2] [--repeats 3] [--train-limit N] [--threads T]
//
// On a machine shared with other jobs use --threads 1: OpenMP threads that wait for a descheduled
// sibling make multi-threaded timings vary tenfold, and the ratio is what this measures.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "relulab/data/dataset.hpp"
#include "relulab/diag/recorder.hpp"
#include "relulab/random.hpp"
#include "relulab/threads.hpp"
#include "relulab/train/trainer.hpp"

namespace {

using namespace relulab;
using Clock = std::chrono::steady_clock;

struct Options {
  int epochs = 2;
  int repeats = 3;
  std::int64_t train_limit = 0;
  int threads = 0;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    const long long value = std::atoll(argv[i + 1]);
    if (flag == "--epochs")
      o.epochs = static_cast<int>(value);
    else if (flag == "--repeats")
      o.repeats = static_cast<int>(value);
    else if (flag == "--train-limit")
      o.train_limit = value;
    else if (flag == "--threads")
      o.threads = static_cast<int>(value);
    else {
      fmt::print(stderr, "unknown flag {}; use --epochs, --repeats, --train-limit, --threads\n",
                 flag);
      std::exit(2);
    }
  }
  return o;
}

data::Dataset random_images(std::int64_t n, std::uint64_t seed) {
  data::Dataset d;
  d.features = Tensor({n, 1, 28, 28});
  Rng rng(seed);
  for (float& v : d.features.span()) v = rng.uniform();
  for (std::int64_t i = 0; i < n; ++i) d.labels.push_back(static_cast<std::int32_t>(rng.below(10)));
  d.num_classes = 10;
  d.source = "random";
  return d;
}

data::TrainTest load(const Options& o) {
  auto loaded = data::load_dataset("fashion-mnist");
  data::TrainTest data;
  if (loaded) {
    data = std::move(loaded).value();
  } else {
    fmt::print("fashion-mnist not found ({}); random data of its shape\n",
               loaded.status().message());
    data = {random_images(60000, 1), random_images(10000, 2)};
  }
  if (o.train_limit > 0 && o.train_limit < data.train.size()) {
    data.train = data::subset(data.train, 0, o.train_limit);
  }
  return data;
}

// CPU seconds (user + system, all threads) of this process so far: on a shared machine less
// sensitive than wall time to other processes' load.
double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_usec);
  };
  return seconds(u.ru_utime) + seconds(u.ru_stime);
}

// Forwards every hook to the recorder and adds up the wall time spent in them: the diagnostics'
// own cost, measured directly rather than as a difference of two noisy runs (it leaves out only
// the input-gradient norms taken inside the backward of every 50th step).
class TimedHooks final : public train::TrainObserver {
 public:
  explicit TimedHooks(diag::DiagnosticsRecorder& recorder) : recorder_(recorder) {}
  void after_backward(std::int64_t step, nn::Model& model) override {
    timed([&] { recorder_.after_backward(step, model); });
  }
  void after_update(std::int64_t step, nn::Model& model) override {
    timed([&] { recorder_.after_update(step, model); });
  }
  void on_epoch(const train::EpochMetrics& m, nn::Model& model) override {
    timed([&] { recorder_.on_epoch(m, model); });
  }
  double seconds() const { return seconds_; }

 private:
  template <class F>
  void timed(F f) {
    const auto t0 = Clock::now();
    f();
    seconds_ += std::chrono::duration<double>(Clock::now() - t0).count();
  }
  diag::DiagnosticsRecorder& recorder_;
  double seconds_ = 0;
};

struct Timing {
  double hooks = 0;     // inside the recorder's hooks during fit
  double fit = 0;       // Trainer::fit, wall
  double fit_cpu = 0;   // Trainer::fit, CPU
  double training = 0;  // the trainer's own training seconds (no evaluation)
  double initial = 0;   // record_initial
};

Timing run(const data::TrainTest& data, const Options& o, bool diagnostics) {
  train::TrainConfig config;  // mlp:512-512, relu, he_normal, sgd
  config.epochs = o.epochs;
  auto trainer = train::Trainer::create(config, data);
  if (!trainer) {
    fmt::print(stderr, "{}\n", trainer.status().message());
    std::exit(1);
  }
  train::Trainer& t = *trainer.value();
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / "relulab_diag_overhead";
  Timing timing;
  Status status;
  if (diagnostics) {
    const diag::ProbeOptions probe_options;
    diag::DiagnosticsRecorder recorder(
        diag::probe_set(t.data().train.features, probe_options.examples), probe_options,
        diag::GradientFlowOptions{}, dir);
    const auto t0 = Clock::now();
    status = recorder.record_initial(t.model());
    const auto t1 = Clock::now();
    const double c1 = cpu_seconds();
    TimedHooks hooks(recorder);
    if (status) status = t.fit(&hooks);
    if (status) status = recorder.status();
    timing.hooks = hooks.seconds();
    timing.fit_cpu = cpu_seconds() - c1;
    timing.initial = std::chrono::duration<double>(t1 - t0).count();
    timing.fit = std::chrono::duration<double>(Clock::now() - t1).count();
  } else {
    const auto t0 = Clock::now();
    const double c0 = cpu_seconds();
    status = t.fit();
    timing.fit_cpu = cpu_seconds() - c0;
    timing.fit = std::chrono::duration<double>(Clock::now() - t0).count();
  }
  if (!status) {
    fmt::print(stderr, "{}\n", status.message());
    std::exit(1);
  }
  timing.training = t.history().back().seconds;
  std::filesystem::remove_all(dir);
  return timing;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  if (o.threads > 0) set_thread_count(o.threads);
  const data::TrainTest data = load(o);
  fmt::print(
      "mlp:512-512 relu, batch 128, {} epochs of {} examples ({} steps), {} threads, "
      "{} repeats each; probe 10000 examples per epoch, gradients every 50 steps\n",
      o.epochs, data.train.size(), o.epochs * ((data.train.size() + 127) / 128), thread_count(),
      o.repeats);
  std::fflush(stdout);
  std::vector<double> plain_fit, plain_training, diag_fit, initial, plain_cpu, diag_cpu, hooks,
      diag_training;
  for (int r = 0; r < o.repeats; ++r) {
    const Timing p = run(data, o, false);
    const Timing d = run(data, o, true);
    plain_fit.push_back(p.fit);
    plain_training.push_back(p.training);
    diag_fit.push_back(d.fit);
    initial.push_back(d.initial);
    hooks.push_back(d.hooks);
    diag_training.push_back(d.training);
    plain_cpu.push_back(p.fit_cpu);
    diag_cpu.push_back(d.fit_cpu);
    fmt::print(
        "repeat {}: without {:.3f} s (training {:.3f} s, CPU {:.3f} s), with {:.3f} s "
        "(CPU {:.3f} s; {:.3f} s in its hooks; + initial probe {:.3f} s)\n",
        r + 1, p.fit, p.training, p.fit_cpu, d.fit, d.fit_cpu, d.hooks, d.initial);
    std::fflush(stdout);  // progress shows in a log while the next repeat runs
  }
  const double extra = median(diag_fit) - median(plain_fit);
  fmt::print("median fit without diagnostics: {:.3f} s (training alone {:.3f} s)\n",
             median(plain_fit), median(plain_training));
  fmt::print("median fit with diagnostics:    {:.3f} s, initial probe {:.3f} s per run\n",
             median(diag_fit), median(initial));
  fmt::print("overhead per epoch: {:.2f}% of the fit, {:.2f}% of training alone (strict)\n",
             100 * extra / median(plain_fit), 100 * extra / median(plain_training));
  fmt::print("overhead per epoch in CPU time: {:.2f}% of the fit\n",
             100 * (median(diag_cpu) - median(plain_cpu)) / median(plain_cpu));
  fmt::print("time in the diagnostics hooks: {:.3f} s per run = {:.2f}% of its training time\n",
             median(hooks), 100 * median(hooks) / median(diag_training));
  fmt::print("overhead over a 10-epoch run with the initial probe: {:.2f}% of training alone\n",
             100 * (extra + median(initial) * o.epochs / 10.0) / median(plain_training));
  return 0;
}

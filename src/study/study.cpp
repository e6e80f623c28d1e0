// run_study: load the data, run (or reuse) every planned run with an overall progress bar, build
// the sections from what the runs wrote, and write the report.
#include "relulab/study/study.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "relulab/activation.hpp"
#include "relulab/io/atomic_file.hpp"
#include "relulab/threads.hpp"
#include "sections.hpp"

namespace relulab::study {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Multiply-adds per example, roughly: enough to weigh runs against each other for the ETA.
double cost_per_example(const std::string& model) {
  if (model.starts_with("cnn")) return 3.0e6;
  if (model.starts_with("deep-mlp:")) {
    const auto colon = model.find(':', 9);
    const double depth = std::stod(model.substr(9, colon - 9));
    const double width = std::stod(model.substr(colon + 1));
    return 784 * width + (depth - 2) * width * width + 10 * width;
  }
  return 784 * 256 + 2 * 256 * 256 + 2560;  // mlp:256-256-256
}

double run_weight(const RunSpec& r) {
  const std::int64_t images = r.train_limit > 0 ? r.train_limit : 50000;  // 0: all
  return cost_per_example(r.config.model) * static_cast<double>(r.config.epochs) *
         static_cast<double>(images);
}

std::string clock_text(double seconds) {
  if (!(seconds >= 0) || seconds > 1e6) return "--:--";
  const auto s = static_cast<long>(seconds + 0.5);
  return fmt::format("{:02}:{:02}", s / 60, s % 60);
}

// One bar across all runs (weighted by their estimated cost) with the run in progress and an ETA.
class StudyProgress {
 public:
  explicit StudyProgress(double total)
      : total_(total), start_(Clock::now()), terminal_(isatty(fileno(stderr)) != 0) {}
  void update(const std::string& id, std::size_t index, std::size_t count, double run_weight,
              double fraction) {
    const double done = done_ + run_weight * fraction;
    const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
    const double eta = done > 0 ? elapsed * (total_ - done) / done : -1;
    if (terminal_) {
      constexpr int kWidth = 30;
      const int filled = static_cast<int>(kWidth * done / total_);
      fmt::print(stderr, "\r[{}{}] {:3.0f}% run {}/{} {} {:3.0f}% ETA {}   ",
                 std::string(static_cast<std::size_t>(filled), '#'),
                 std::string(static_cast<std::size_t>(kWidth - filled), '.'), 100 * done / total_,
                 index + 1, count, id, 100 * fraction, clock_text(eta));
      std::fflush(stderr);
    }
  }
  // Plain lines when stderr is not a terminal (logs, CI): one per finished run.
  void finish_run(const std::string& id, std::size_t index, std::size_t count, double run_weight) {
    done_ += run_weight;
    if (terminal_) return;
    const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
    fmt::print("study: run {}/{} {} done ({:.0f}% of the work, {} elapsed, ETA {})\n", index + 1,
               count, id, 100 * done_ / total_, clock_text(elapsed),
               clock_text(elapsed * (total_ - done_) / done_));
    std::fflush(stdout);
  }
  void clear() const {
    if (terminal_) fmt::print(stderr, "\r\033[K");
  }

 private:
  double total_, done_ = 0;
  Clock::time_point start_;
  bool terminal_;
};

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("model name")) return line.substr(line.find(':') + 2);
  }
  return "unknown";
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

// The second stage's learning rates as text ("relu 0.03\n..."; floats round-trip through %.9g).
std::string lrs_text(const std::map<std::string, float>& lrs) {
  std::string text;
  for (const auto& [activation, lr] : lrs) text += fmt::format("{} {:.9g}\n", activation, lr);
  return text;
}

std::map<std::string, float> lrs_from_text(const std::string& text) {
  std::map<std::string, float> lrs;
  std::istringstream in(text);
  std::string activation;
  for (float lr; in >> activation >> lr;) lrs[activation] = lr;
  return lrs;
}

// A rank other than 0: trains its share of both stages' runs, then waits for rank 0's report.
Status help_rank_0(const Scale& scale, const data::TrainTest& data, const fs::path& dir,
                   Communicator& comm) {
  const auto none = [](const RunSpec&) { return RunProgress{}; };
  RELULAB_TRY(run_distributed(plan_runs(scale), data, dir, comm, run_weight, none));
  std::string lrs;
  comm.broadcast(lrs, 0);
  RELULAB_TRY(run_distributed(plan_best_lr_runs(scale, lrs_from_text(lrs)), data, dir, comm,
                              run_weight, none));
  comm.wait_for_all();
  return Status::ok();
}

}  // namespace

Status run_study(const StudyOptions& options) {
  if (options.seeds < 0 || options.seeds > 20) {
    return Status::invalid_argument(fmt::format("--seeds {}: must be in [1, 20]", options.seeds));
  }
  const Clock::time_point started = Clock::now();
  if (options.threads > 0) set_thread_count(options.threads);
  Communicator& comm = options.comm != nullptr ? *options.comm : single_process();
  const Scale scale = make_scale(options);
  const fs::path dir = options.out_dir;
  if (comm.is_root()) {
    std::error_code ec;
    fs::create_directories(dir / "data", ec);
    if (ec)
      return Status::io_error(fmt::format("cannot create '{}': {}", dir.string(), ec.message()));
  }

  auto loaded = data::load_dataset(options.data);
  if (!loaded) return loaded.status();
  const data::TrainTest data = std::move(loaded).value();
  if (!comm.is_root()) return help_rank_0(scale, data, dir, comm);

  // Section 3's second stage (each activation's best lr on the other seeds) is planned from the
  // first stage's results; for the ETA it counts as one more run per activation and seed.
  const std::vector<RunSpec> runs = plan_runs(scale);
  double total = 0;
  for (const RunSpec& r : runs) total += run_weight(r);
  const auto second_stage_count =
      convergence_activations().size() * static_cast<std::size_t>(scale.seeds - 1);
  for (const RunSpec& r : runs) {
    if (r.id.starts_with("convergence/")) {
      total += run_weight(r) * static_cast<double>(second_stage_count);
      break;
    }
  }
  const std::size_t count = runs.size() + second_stage_count;
  fmt::print(
      "relulab study{}: {} runs on {} ({} train / {} test images each), {} seed(s), {} -> "
      "{}\n",
      scale.quick ? " --quick" : "", count, options.data, scale.train_limit, scale.test_limit,
      scale.seeds,
      comm.size() > 1 ? fmt::format("{} ranks x {} threads (MPI)", comm.size(), thread_count())
                      : fmt::format("{} threads", thread_count()),
      dir.string());
  std::fflush(stdout);
  StudyProgress progress(total);
  Results results;
  std::size_t index = 0;
  auto run_list = [&](const std::vector<RunSpec>& list) -> Status {
    if (comm.size() > 1) {
      // The unfinished runs are trained over the ranks first; the loop below then reads them.
      RELULAB_TRY(run_distributed(list, data, dir, comm, run_weight, [&](const RunSpec& spec) {
        return RunProgress([&, id = spec.id, w = run_weight(spec)](double f) {
          progress.update(id, index, count, w, f);
        });
      }));
    }
    for (const RunSpec& spec : list) {
      const double w = run_weight(spec);
      auto result = run_or_reuse(spec, data, dir,
                                 [&](double f) { progress.update(spec.id, index, count, w, f); });
      if (!result) {
        progress.clear();
        return result.status();
      }
      progress.finish_run(spec.id, index, count, w);
      results[spec.id] = std::move(result).value();
      ++index;
    }
    return Status::ok();
  };
  RELULAB_TRY(run_list(runs));
  std::string lrs = lrs_text(best_lrs(scale, results));
  comm.broadcast(lrs, 0);  // the second stage's plan, to the other ranks
  RELULAB_TRY(run_list(plan_best_lr_runs(scale, best_lrs(scale, results))));
  progress.clear();

  fmt::print("study: timing the kernels and probing initialisations\n");
  std::fflush(stdout);
  const data::Dataset probe_data = [&] {
    data::Dataset d = data::subset(data.train, 0, std::min<std::int64_t>(2000, data.train.size()));
    d.features = d.features.clone();
    data::apply_normalization(d, data::fit_normalization(d));
    return d;
  }();
  Report report;
  report.title = "relulab study: the claims about ReLU, measured on this machine";
  report.sections.push_back(shapes_section(dir));
  report.sections.push_back(cost_section(scale, options, dir));
  report.sections.push_back(convergence_section(scale, results));
  report.sections.push_back(vanishing_section(scale, results));
  report.sections.push_back(sparsity_section(scale, results));
  report.sections.push_back(dying_section(scale, results, probe_data, dir));
  report.sections.push_back(initialisation_section(scale, results));
  int holds = 0;
  for (const Section& s : report.sections) holds += s.verdict == Verdict::kHolds;
  report.summary = fmt::format(
      "{} of {} claims hold as stated on this machine{}. Every number below is read from the files "
      "under "
      "this directory (runs/*/metrics.jsonl, diagnostics.jsonl, gradients.csv, data/*.json); "
      "figures are "
      "in figures/ with their data in data/ and their gnuplot scripts beside them.",
      holds, report.sections.size(),
      scale.quick ? " in a --quick run (tiny subsets: a smoke test, not evidence)" : "");
  report.reproduce = {
      {"command", options.command_line.empty() ? "relulab study" : options.command_line},
      {"seeds", std::to_string(scale.seeds)},
      {"data", fmt::format("{} (first {} training and {} test images per run)", options.data,
                           scale.train_limit, scale.test_limit)},
      {"CPU", cpu_model()},
      {"threads", std::to_string(thread_count())},
      {"SIMD target", simd_target_name()},
      {"date", utc_now()},
      {"wall time",
       fmt::format("{} (this invocation, from start to report; runs found finished in the output "
                   "folder are read back, not retrained)",
                   clock_text(std::chrono::duration<double>(Clock::now() - started).count()))},
  };
  if (!options.version.empty())
    report.reproduce.insert(report.reproduce.begin() + 1, {"version", options.version});
  auto files = write_report(report, dir);
  if (!files) return files.status();
  for (const Status& e : files.value().figure_errors)
    fmt::print(stderr, "study: {}\n", e.message());
  nlohmann::json summary = nlohmann::json::array();
  for (const Section& s : report.sections) {
    summary.push_back({{"id", s.id},
                       {"title", s.title},
                       {"verdict", verdict_text(s)},
                       {"seeds", s.seeds},
                       {"finding", s.finding}});
  }
  RELULAB_TRY(io::write_text_atomically(dir / "verdicts.json", summary.dump(1)));
  fmt::print("study: wrote {} and {}\n", files.value().html.string(),
             files.value().markdown.string());
  for (const Section& s : report.sections) fmt::print("  {:<70} {}\n", s.title, verdict_text(s));
  comm.wait_for_all();  // the other ranks wait here, asleep, for the report
  return Status::ok();
}

}  // namespace relulab::study

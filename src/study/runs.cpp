#include "runs.hpp"

#include <fstream>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "relulab/diag/recorder.hpp"
#include "relulab/io/atomic_file.hpp"

namespace relulab::study {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Reports the fraction of the run done to the study's progress bar.
class RunProgressObserver : public train::TrainObserver {
 public:
  RunProgressObserver(const RunProgress& progress, int epochs)
      : progress_(progress), epochs_(epochs) {}
  void on_batch(const train::BatchProgress& p) override {
    if (progress_ && (p.batch % 8 == 0 || p.batch == p.batches)) {
      progress_((p.epoch - 1 + static_cast<double>(p.batch) / static_cast<double>(p.batches)) /
                epochs_);
    }
  }

 private:
  const RunProgress& progress_;
  int epochs_;
};

Status read_metrics(const fs::path& dir, RunResult& r) {
  std::istringstream lines(read_text(dir / "metrics.jsonl"));
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    const Json j = Json::parse(line, nullptr, false);
    if (j.is_discarded())
      return Status::corrupt_data(
          fmt::format("{}: a line is not JSON", (dir / "metrics.jsonl").string()));
    r.epochs.push_back({j.at("epoch").get<int>(), j.at("train_loss").get<double>(),
                        j.at("train_accuracy").get<double>(), j.at("test_loss").get<double>(),
                        j.at("test_accuracy").get<double>(), j.at("seconds").get<double>()});
  }
  return Status::ok();
}

double number_or_nan(const Json& j) {
  return j.is_number() ? j.get<double>() : std::nan("");
}

Status read_diagnostics(const fs::path& dir, RunResult& r) {
  if (!fs::exists(dir / "diagnostics.jsonl")) return Status::ok();
  std::istringstream lines(read_text(dir / "diagnostics.jsonl"));
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    const Json j = Json::parse(line, nullptr, false);
    if (j.is_discarded())
      return Status::corrupt_data(
          fmt::format("{}: a line is not JSON", (dir / "diagnostics.jsonl").string()));
    LayerRecord l;
    l.epoch = j.at("epoch").get<int>();
    l.layer_index = j.at("layer_index").get<std::size_t>();
    l.layer = j.at("layer").get<std::string>();
    l.activation = j.at("activation").get<std::string>();
    l.dead_fraction = number_or_nan(j.at("dead_fraction"));
    l.near_dead_fraction = number_or_nan(j.at("near_dead_fraction"));
    l.zero_fraction = number_or_nan(j.at("zero_fraction"));
    l.mean = number_or_nan(j.at("mean"));
    l.stddev = number_or_nan(j.at("stddev"));
    l.saturated_fraction = number_or_nan(j.at("saturated_fraction"));
    r.layers.push_back(std::move(l));
  }
  if (!fs::exists(dir / "gradients.csv")) return Status::ok();
  std::istringstream rows(read_text(dir / "gradients.csv"));
  std::getline(rows, line);  // header
  while (std::getline(rows, line)) {
    std::vector<std::string> f;
    std::stringstream cells(line);
    for (std::string cell; std::getline(cells, cell, ',');) f.push_back(cell);
    if (f.size() < 7) continue;
    auto num = [](const std::string& s) {
      return s.empty() ? std::nan("") : std::strtod(s.c_str(), nullptr);
    };
    r.gradients.push_back({std::stoll(f[0]), static_cast<std::size_t>(std::stoull(f[1])), num(f[3]),
                           num(f[4]), num(f[5]), num(f[6])});
  }
  return Status::ok();
}

Result<RunResult> read_result(const fs::path& dir, const std::string& id) {
  RunResult r;
  r.id = id;
  r.dir = dir;
  const Json result = Json::parse(read_text(dir / "result.json"), nullptr, false);
  if (result.is_discarded())
    return Status::corrupt_data(fmt::format("{}: not JSON", (dir / "result.json").string()));
  r.completed = result.value("completed", false);
  r.error = result.value("error", "");
  try {
    RELULAB_TRY(read_metrics(dir, r));
    RELULAB_TRY(read_diagnostics(dir, r));
  } catch (const std::exception& e) {
    return Status::corrupt_data(fmt::format("{}: {}", dir.string(), e.what()));
  }
  return r;
}

data::TrainTest limited(const RunSpec& spec, const data::TrainTest& data) {
  data::TrainTest d{data.train, data.test};
  if (spec.train_limit > 0 && spec.train_limit < d.train.size())
    d.train = data::subset(d.train, 0, spec.train_limit);
  if (spec.test_limit > 0 && spec.test_limit < d.test.size())
    d.test = data::subset(d.test, 0, spec.test_limit);
  // The trainer normalises in place: give it its own copies.
  d.train.features = d.train.features.clone();
  d.test.features = d.test.features.clone();
  return d;
}

}  // namespace

// Bumped when a change gives different results for the same configuration text, so that older
// runs are not reused: 2 = Xavier's and orthogonal's gain became 1 (it was the activation's).
constexpr int kResultsVersion = 2;

std::string run_key(const RunSpec& spec) {
  Json j = Json::parse(train::describe_json(spec.config));
  j["results_version"] = kResultsVersion;
  j.erase("threads");  // results may be reused across thread counts; the report states threads
  j["train_limit"] = spec.train_limit;
  j["test_limit"] = spec.test_limit;
  j["diagnostics"] = spec.diagnostics;
  j["probe_examples"] = spec.probe_examples;
  j["gradient_every"] = spec.gradient_every;
  return j.dump();
}

namespace {

// The finished run's files read back, or nullopt when DIR/result.json is missing, records another
// configuration or does not read back.
std::optional<RunResult> finished_result(const RunSpec& spec, const fs::path& dir) {
  if (!fs::exists(dir / "result.json")) return std::nullopt;
  const Json old = Json::parse(read_text(dir / "result.json"), nullptr, false);
  if (old.is_discarded() || old.value("key", "") != run_key(spec)) return std::nullopt;
  auto r = read_result(dir, spec.id);
  if (!r) return std::nullopt;
  return std::move(r).value();
}

}  // namespace

bool is_finished(const RunSpec& spec, const fs::path& study_dir) {
  return finished_result(spec, study_dir / "runs" / spec.id).has_value();
}

Result<RunResult> run_or_reuse(const RunSpec& spec, const data::TrainTest& data,
                               const fs::path& study_dir, const RunProgress& progress) {
  const fs::path dir = study_dir / "runs" / spec.id;
  const std::string key = run_key(spec);
  if (auto done = finished_result(spec, dir)) {
    if (progress) progress(1.0);
    return std::move(*done);
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir, ec);
  if (ec)
    return Status::io_error(fmt::format("cannot create '{}': {}", dir.string(), ec.message()));

  train::TrainConfig config = spec.config;
  config.out_dir = dir;
  auto trainer = train::Trainer::create(config, limited(spec, data));
  if (!trainer) return trainer.status();
  train::Trainer& t = *trainer.value();
  std::unique_ptr<diag::DiagnosticsRecorder> recorder;
  if (spec.diagnostics) {
    diag::ProbeOptions probe_options;
    probe_options.examples = spec.probe_examples;
    diag::GradientFlowOptions gradient_options;
    gradient_options.every = spec.gradient_every;
    recorder = std::make_unique<diag::DiagnosticsRecorder>(
        diag::probe_set(t.data().train.features, spec.probe_examples, config.seed), probe_options,
        gradient_options, dir);
    RELULAB_TRY(recorder->record_initial(t.model()));
  }
  RunProgressObserver progress_observer(progress, config.epochs);
  train::ObserverList observers;
  observers.add(&progress_observer);
  observers.add(recorder.get());
  const Status trained = t.fit(&observers);
  if (!trained && trained.code() != StatusCode::kNumericalError) return trained;
  Json result{{"id", spec.id},
              {"key", key},
              {"completed", trained.is_ok()},
              {"error", trained.is_ok() ? "" : trained.message()},
              {"epochs", t.epoch()}};
  RELULAB_TRY(io::write_text_atomically(dir / "result.json", result.dump(1)));
  if (progress) progress(1.0);
  return read_result(dir, spec.id);
}

}  // namespace relulab::study

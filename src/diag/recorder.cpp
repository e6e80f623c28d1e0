// DiagnosticsRecorder: activation probes per epoch and gradient samples per N steps, in memory and
// in diagnostics.jsonl / gradients.csv.
#include "relulab/diag/recorder.hpp"

#include <charconv>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "relulab/io/atomic_file.hpp"

namespace relulab::diag {
namespace {

constexpr const char* kActivationsFile = "diagnostics.jsonl";
constexpr const char* kGradientsFile = "gradients.csv";

// The text of `path`; empty when it does not exist.
Result<std::string> read_if_exists(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::string();
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in && !in.eof()) return Status::io_error(fmt::format("cannot read '{}'", path.string()));
  return text.str();
}

// The lines of diagnostics.jsonl whose "epoch" is at most `epoch`.
Result<std::string> activation_lines_up_to(const std::filesystem::path& path, int epoch) {
  auto text = read_if_exists(path);
  if (!text) return text.status();
  std::istringstream in(text.value());
  std::string line, kept;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j.contains("epoch") || !j["epoch"].is_number_integer()) {
      return Status::corrupt_data(fmt::format(
          "'{}' line {}: expected a JSON object with an integer \"epoch\"", path.string(), number));
    }
    if (j["epoch"].get<int>() <= epoch) kept += line + "\n";
  }
  return kept;
}

// The rows of gradients.csv (without its header) whose step is at most `step`.
Result<std::string> gradient_rows_up_to(const std::filesystem::path& path, std::int64_t step) {
  auto text = read_if_exists(path);
  if (!text) return text.status();
  std::istringstream in(text.value());
  std::string line, kept;
  for (int number = 1; std::getline(in, line); ++number) {
    if (number == 1 || line.empty()) continue;  // the header
    std::int64_t row_step = 0;
    const auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), row_step);
    if (ec != std::errc() || end == line.data() + line.size() || *end != ',') {
      return Status::corrupt_data(
          fmt::format("'{}' line {}: expected a step number, then ','", path.string(), number));
    }
    if (row_step <= step) kept += line + "\n";
  }
  return kept;
}

}  // namespace

std::string to_json(const LayerActivationStats& s, int epoch, std::int64_t step) {
  nlohmann::ordered_json j;
  if (epoch >= 0) {
    j["epoch"] = epoch;
    j["step"] = step;
  }
  j["layer_index"] = s.layer_index;
  j["layer"] = s.layer;
  j["activation"] = s.activation;
  j["units"] = s.units;
  j["examples"] = s.examples;
  j["dead_fraction"] = s.dead_fraction;
  j["near_dead_fraction"] = s.near_dead_fraction;
  j["zero_fraction"] = s.zero_fraction;
  j["mean"] = s.mean;
  j["stddev"] = s.stddev;
  j["saturated_fraction"] = s.saturated_fraction;  // NaN is written as null
  j["histogram_lo"] = s.histogram_lo;
  j["histogram_hi"] = s.histogram_hi;
  j["histogram"] = s.histogram;
  return j.dump();
}

std::string gradients_csv_header() {
  return "step,layer_index,parameter,weight_norm,grad_norm,input_grad_norm,update_ratio\n";
}

std::string to_csv_row(const LayerGradientSample& s) {
  return fmt::format("{},{},{},{},{},{},{}\n", s.step, s.layer_index, s.parameter, s.weight_norm,
                     s.grad_norm, s.input_grad_norm, s.update_ratio);
}

DiagnosticsRecorder::DiagnosticsRecorder(Tensor probe, ProbeOptions probe_options,
                                         GradientFlowOptions gradient_options,
                                         std::filesystem::path out_dir)
    : probe_(std::move(probe)),
      probe_options_(probe_options),
      monitor_(gradient_options),
      out_dir_(std::move(out_dir)) {
  if (const Status s = validate(probe_options_); !s.is_ok())
    throw std::invalid_argument(s.message());
  if (probe_.rank() < 1 || probe_.dim(0) < 1) {
    throw std::invalid_argument("diagnostics: the probe set " + to_string(probe_.shape()) +
                                " has no examples");
  }
}

Status DiagnosticsRecorder::record_initial(nn::Model& model) {
  probe(0, 0, model);
  monitor_.attach(model, 1);
  return status_;
}

Status DiagnosticsRecorder::resume(nn::Model& model, int epoch, std::int64_t step) {
  if (!out_dir_.empty()) {
    auto jsonl = activation_lines_up_to(out_dir_ / kActivationsFile, epoch);
    if (!jsonl) return jsonl.status();
    auto csv = gradient_rows_up_to(out_dir_ / kGradientsFile, step);
    if (!csv) return csv.status();
    kept_jsonl_ = std::move(jsonl).value();
    kept_csv_ = std::move(csv).value();
  }
  monitor_.attach(model, step + 1);
  return Status::ok();
}

void DiagnosticsRecorder::after_backward(std::int64_t step, nn::Model& model) {
  monitor_.after_backward(step, model);
}

void DiagnosticsRecorder::after_update(std::int64_t step, nn::Model& model) {
  monitor_.after_update(step, model);
}

void DiagnosticsRecorder::on_epoch(const train::EpochMetrics& metrics, nn::Model& model) {
  probe(metrics.epoch, metrics.step, model);
}

void DiagnosticsRecorder::probe(int epoch, std::int64_t step, nn::Model& model) {
  epochs_.push_back({epoch, step, probe_activations(model, probe_, probe_options_)});
  const Status written = write();
  if (status_.is_ok()) status_ = written;
}

Status DiagnosticsRecorder::write() {
  if (out_dir_.empty()) return Status::ok();
  std::error_code ec;
  std::filesystem::create_directories(out_dir_, ec);
  if (ec) {
    return Status::io_error(fmt::format("cannot create '{}': {}", out_dir_.string(), ec.message()));
  }
  std::string jsonl = kept_jsonl_;
  for (const EpochDiagnostics& e : epochs_) {
    for (const LayerActivationStats& s : e.layers) jsonl += to_json(s, e.epoch, e.step) + "\n";
  }
  std::string csv = gradients_csv_header() + kept_csv_;
  for (const LayerGradientSample& s : monitor_.samples()) csv += to_csv_row(s);
  RELULAB_TRY(io::write_text_atomically(out_dir_ / kActivationsFile, jsonl));
  return io::write_text_atomically(out_dir_ / kGradientsFile, csv);
}

}  // namespace relulab::diag

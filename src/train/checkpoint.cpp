#include "relulab/train/checkpoint.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "relulab/io/safetensors.hpp"
#include "relulab/train/trainer.hpp"

namespace relulab::train {
namespace {

using Json = nlohmann::json;

Json activation_json(const ActivationSpec& a) {
  return {{"name", std::string(activation_info(a.kind).name)},
          {"params", {a.params[0], a.params[1]}}};
}

Result<ActivationSpec> activation_from_json(const Json& j) {
  auto kind = parse_activation(j.at("name").get<std::string>());
  if (!kind) return kind.status();
  ActivationSpec spec{kind.value(),
                      {j.at("params").at(0).get<float>(), j.at("params").at(1).get<float>()}};
  RELULAB_TRY(validate(spec));
  return spec;
}

Json metrics_json(const EpochMetrics& m) {
  return Json::parse(to_json_line(m));
}

EpochMetrics metrics_from_json(const Json& j) {
  EpochMetrics m;
  m.epoch = j.at("epoch").get<int>();
  m.step = j.at("step").get<std::int64_t>();
  m.lr = j.at("lr").get<double>();
  m.train.loss = j.at("train_loss").get<double>();
  m.train.accuracy = j.at("train_accuracy").get<double>();
  m.test.loss = j.at("test_loss").get<double>();
  m.test.accuracy = j.at("test_accuracy").get<double>();
  m.seconds = j.at("seconds").get<double>();
  m.images_per_second = j.at("images_per_second").get<double>();
  m.skipped_batches = j.at("skipped_batches").get<std::int64_t>();
  return m;
}

struct LoadedCheckpoint {
  io::SafetensorsFile file;
  Json meta;
};

Result<LoadedCheckpoint> read_checkpoint(const std::filesystem::path& path) {
  auto file = io::read_safetensors(path);
  if (!file) return file.status();
  const auto& metadata = file.value().metadata;
  const auto it = metadata.find(std::string(kCheckpointMetadataKey));
  if (it == metadata.end()) {
    return Status::corrupt_data(
        fmt::format("'{}' is a safetensors file but not a relulab checkpoint (no '{}' metadata)",
                    path.string(), kCheckpointMetadataKey));
  }
  Json meta = Json::parse(it->second, nullptr, false);
  if (meta.is_discarded() || !meta.is_object() || meta.value("format", 0) != kCheckpointFormat) {
    return Status::corrupt_data(fmt::format("'{}': checkpoint metadata is not format {} JSON",
                                            path.string(), kCheckpointFormat));
  }
  return LoadedCheckpoint{std::move(file).value(), std::move(meta)};
}

// Copies model.<name> tensors into the model's parameters and buffers; every one must be present
// with the right shape.
Status load_weights(const LoadedCheckpoint& c, nn::Model& model,
                    const std::filesystem::path& path) {
  auto load = [&](const std::string& name, const Tensor& into) -> Status {
    const auto it = c.file.tensors.find("model." + name);
    if (it == c.file.tensors.end()) {
      return Status::corrupt_data(
          fmt::format("'{}': tensor 'model.{}' is missing", path.string(), name));
    }
    if (it->second.shape() != into.shape()) {
      return Status::corrupt_data(
          fmt::format("'{}': tensor 'model.{}' has shape {}, the model needs {}", path.string(),
                      name, to_string(it->second.shape()), to_string(into.shape())));
    }
    std::copy(it->second.data(), it->second.data() + into.size(), into.data());
    return Status::ok();
  };
  for (nn::Parameter* p : model.net.parameters()) RELULAB_TRY(load(p->name, p->value));
  for (nn::Buffer* b : model.net.buffers()) RELULAB_TRY(load(b->name, b->value));
  return Status::ok();
}

Result<LoadedModel> model_from(const LoadedCheckpoint& c, const std::filesystem::path& path) {
  try {
    LoadedModel loaded;
    loaded.normalization.mean = c.meta.at("normalization").at("mean").get<std::vector<float>>();
    loaded.normalization.stddev = c.meta.at("normalization").at("stddev").get<std::vector<float>>();
    auto activation = activation_from_json(c.meta.at("activation"));
    if (!activation) return activation.status();
    auto model =
        nn::build_model(c.meta.at("model").get<std::string>(), activation.value(),
                        c.meta.at("input_shape").get<Shape>(), c.meta.at("num_classes").get<int>());
    if (!model) return model.status();
    RELULAB_TRY(load_weights(c, *model.value(), path));
    loaded.model = std::move(model).value();
    return loaded;
  } catch (const Json::exception& e) {
    return Status::corrupt_data(
        fmt::format("'{}': checkpoint metadata: {}", path.string(), e.what()));
  }
}

}  // namespace

Status Trainer::save_checkpoint(const std::filesystem::path& path) const {
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (nn::Parameter* p : model_->net.parameters())
    tensors.emplace_back("model." + p->name, p->value);
  for (nn::Buffer* b : model_->net.buffers()) tensors.emplace_back("model." + b->name, b->value);
  for (nn::Buffer& s : optimizer_->state()) tensors.emplace_back("optimizer." + s.name, s.value);
  Json meta;
  meta["format"] = kCheckpointFormat;
  meta["model"] = model_->spec;
  meta["activation"] = activation_json(model_->activation);
  meta["input_shape"] = model_->input_shape;
  meta["num_classes"] = model_->num_classes;
  meta["normalization"] = {{"mean", normalization_.mean}, {"stddev", normalization_.stddev}};
  meta["epoch"] = epoch_;
  meta["step"] = step_;
  meta["seconds"] = seconds_;
  meta["skipped_batches"] = skipped_;
  Json rng = Json::array();
  for (const std::uint64_t w : rng_.state()) rng.push_back(fmt::format("{:016x}", w));
  meta["rng_state"] = rng;
  meta["config"] = Json::parse(describe_json(config_));
  meta["history"] = Json::array();
  for (const EpochMetrics& m : history_) meta["history"].push_back(metrics_json(m));
  return io::write_safetensors(path, tensors, {{std::string(kCheckpointMetadataKey), meta.dump()}});
}

Status Trainer::resume(const std::filesystem::path& path) {
  // Under MPI rank 0 reads the file (the others need not see it: another machine's disk) and
  // sends its outcome, then its state, to every rank.
  Status read = comm_->is_root() ? resume_from_file(path) : Status::ok();
  if (comm_->size() == 1) return read;
  auto code = static_cast<int>(read.code());
  comm_->broadcast(std::as_writable_bytes(std::span(&code, 1)), 0);
  std::string message = read.message();
  comm_->broadcast(message, 0);
  switch (static_cast<StatusCode>(code)) {
    case StatusCode::kOk:
      break;
    case StatusCode::kInvalidArgument:
      return Status::invalid_argument(message);
    case StatusCode::kIoError:
      return Status::io_error(message);
    case StatusCode::kCorruptData:
      return Status::corrupt_data(message);
    case StatusCode::kNumericalError:
      return Status::numerical_error(message);
  }
  synchronize();
  return Status::ok();
}

Status Trainer::resume_from_file(const std::filesystem::path& path) {
  auto c = read_checkpoint(path);
  if (!c) return c.status();
  const Json& meta = c.value().meta;
  try {
    if (meta.at("model").get<std::string>() != model_->spec) {
      return Status::invalid_argument(
          fmt::format("'{}' holds model '{}', this run builds '{}'", path.string(),
                      meta.at("model").get<std::string>(), model_->spec));
    }
    RELULAB_TRY(load_weights(c.value(), *model_, path));
    std::vector<nn::Buffer> state;
    for (nn::Buffer& s : optimizer_->state()) {
      const auto it = c.value().file.tensors.find("optimizer." + s.name);
      if (it == c.value().file.tensors.end()) {
        return Status::corrupt_data(
            fmt::format("'{}': optimiser state 'optimizer.{}' is missing (was "
                        "it written with another --optimizer?)",
                        path.string(), s.name));
      }
      state.push_back({s.name, it->second});
    }
    RELULAB_TRY(optimizer_->load_state(state));
    epoch_ = meta.at("epoch").get<int>();
    step_ = meta.at("step").get<std::int64_t>();
    seconds_ = meta.at("seconds").get<double>();
    skipped_ = meta.at("skipped_batches").get<std::int64_t>();
    Rng::State s{};
    for (std::size_t i = 0; i < s.size(); ++i) {
      s[i] = std::stoull(meta.at("rng_state").at(i).get<std::string>(), nullptr, 16);
    }
    rng_.set_state(s);
    history_.clear();
    for (const Json& m : meta.at("history")) history_.push_back(metrics_from_json(m));
  } catch (const std::exception& e) {
    return Status::corrupt_data(
        fmt::format("'{}': checkpoint metadata: {}", path.string(), e.what()));
  }
  return Status::ok();
}

Result<LoadedModel> load_model(const std::filesystem::path& path) {
  auto c = read_checkpoint(path);
  if (!c) return c.status();
  return model_from(c.value(), path);
}

}  // namespace relulab::train

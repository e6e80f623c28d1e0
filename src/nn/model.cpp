#include "relulab/nn/model.hpp"

#include <charconv>
#include <fstream>
#include <sstream>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "relulab/nn/activation_layer.hpp"
#include "relulab/nn/batch_norm.hpp"
#include "relulab/nn/conv2d.hpp"
#include "relulab/nn/dropout.hpp"
#include "relulab/nn/flatten.hpp"
#include "relulab/nn/linear.hpp"
#include "relulab/nn/pooling.hpp"
#include "relulab/nn/residual_block.hpp"

namespace relulab::nn {
namespace {

using Json = nlohmann::json;

// Appends layers while tracking the shape of one example, so that every layer is sized from the
// one before it and a misfit is reported at the layer that causes it.
class Builder {
 public:
  Builder(Model& model) : model_(model), shape_(model.input_shape) {}

  const Shape& shape() const { return shape_; }
  bool is_image() const { return shape_.size() == 3; }
  std::int64_t features() const {
    std::int64_t n = 1;
    for (const std::int64_t d : shape_) n *= d;
    return n;
  }

  // A layer followed by f: fused when the layer supports it and f is fixed, else a separate
  // ActivationLayer (learnable PReLU slopes, one per unit or channel).
  Status linear(std::int64_t out, std::optional<ActivationSpec> f, bool bias = true) {
    if (shape_.size() != 1) flatten();
    const bool separate = f && f->kind == Activation::kPReLU;
    RELULAB_TRY(add(std::make_unique<Linear>(shape_[0], out, separate ? std::nullopt : f, bias)));
    if (separate) return add(std::make_unique<ActivationLayer>(*f, out));
    return Status::ok();
  }
  Status conv(std::int64_t out, int kernel, int stride, int padding,
              std::optional<ActivationSpec> f, bool bias = true) {
    if (!is_image())
      return Status::invalid_argument("conv2d needs an image input, got " + to_string(shape_));
    const bool separate = f && f->kind == Activation::kPReLU;
    RELULAB_TRY(add(std::make_unique<Conv2d>(shape_[0], out, kernel, stride, padding,
                                             separate ? std::nullopt : f, bias)));
    if (separate) return add(std::make_unique<ActivationLayer>(*f, out));
    return Status::ok();
  }
  Status activation(const ActivationSpec& f) {
    const std::int64_t channels = f.kind == Activation::kPReLU ? shape_[0] : 0;
    return add(std::make_unique<ActivationLayer>(f, channels));
  }
  void flatten() { (void)add(std::make_unique<Flatten>()); }

  Status add(std::unique_ptr<Layer> layer) {
    Shape batch_shape{1};
    batch_shape.insert(batch_shape.end(), shape_.begin(), shape_.end());
    Result<Shape> out = layer->output_shape(batch_shape);
    if (!out) {
      return Status::invalid_argument(fmt::format("layer {} ({}): {}", model_.net.size(),
                                                  layer->describe(), out.status().message()));
    }
    shape_.assign(out.value().begin() + 1, out.value().end());
    model_.net.add(std::move(layer));
    return Status::ok();
  }

  // The classifier head, unless the last layer already maps to the classes.
  Status finish() {
    if (shape_.size() == 1 && shape_[0] == model_.num_classes && model_.net.size() > 0 &&
        dynamic_cast<const Linear*>(&model_.net.layer(model_.net.size() - 1)) != nullptr) {
      return Status::ok();
    }
    return linear(model_.num_classes, std::nullopt);
  }

 private:
  Model& model_;
  Shape shape_;
};

Result<std::int64_t> parse_positive(std::string_view text, std::string_view what) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value <= 0 || value > (1 << 20)) {
    return Status::invalid_argument(
        fmt::format("{} '{}' must be a whole number in [1, 1048576]", what, text));
  }
  return value;
}

Result<std::vector<std::int64_t>> parse_widths(std::string_view text, std::string_view what) {
  std::vector<std::int64_t> widths;
  while (true) {
    const std::size_t dash = text.find('-');
    auto width = parse_positive(text.substr(0, dash), what);
    if (!width) return width.status();
    widths.push_back(width.value());
    if (dash == std::string_view::npos) break;
    text.remove_prefix(dash + 1);
  }
  return widths;
}

Status build_mlp(Builder& b, std::string_view args, const ActivationSpec& f) {
  auto widths = parse_widths(args, "mlp width");
  if (!widths) return widths.status();
  for (const std::int64_t w : widths.value()) RELULAB_TRY(b.linear(w, f));
  return b.finish();
}

Status build_deep_mlp(Builder& b, std::string_view args, const ActivationSpec& f) {
  const std::size_t colon = args.find(':');
  if (colon == std::string_view::npos) {
    return Status::invalid_argument(
        fmt::format("deep-mlp:'{}': expected deep-mlp:DEPTH:WIDTH", args));
  }
  auto depth = parse_positive(args.substr(0, colon), "deep-mlp depth");
  if (!depth) return depth.status();
  auto width = parse_positive(args.substr(colon + 1), "deep-mlp width");
  if (!width) return width.status();
  if (depth.value() < 2) return Status::invalid_argument("deep-mlp depth must be at least 2");
  for (std::int64_t i = 0; i + 1 < depth.value(); ++i) RELULAB_TRY(b.linear(width.value(), f));
  return b.finish();
}

Status build_cnn(Builder& b, std::string_view args, const ActivationSpec& f) {
  std::vector<std::int64_t> widths{32, 64, 512};
  if (!args.empty()) {
    auto parsed = parse_widths(args, "cnn width");
    if (!parsed) return parsed.status();
    if (parsed.value().size() != 3) {
      return Status::invalid_argument(fmt::format("cnn:'{}': expected cnn:C1-C2-FC", args));
    }
    widths = parsed.value();
  }
  RELULAB_TRY(b.conv(widths[0], 5, 1, 2, f));
  RELULAB_TRY(b.add(std::make_unique<MaxPool2d>(2)));
  RELULAB_TRY(b.conv(widths[1], 5, 1, 2, f));
  RELULAB_TRY(b.add(std::make_unique<MaxPool2d>(2)));
  RELULAB_TRY(b.linear(widths[2], f));
  return b.finish();
}

Status build_resnet(Builder& b, std::string_view args, const ActivationSpec& f) {
  std::int64_t blocks = 2;
  if (!args.empty()) {
    auto parsed = parse_positive(args, "resnet blocks per stage");
    if (!parsed) return parsed.status();
    blocks = parsed.value();
  }
  RELULAB_TRY(b.conv(16, 3, 1, 1, std::nullopt, false));
  RELULAB_TRY(b.add(std::make_unique<BatchNorm>(16)));
  RELULAB_TRY(b.activation(f));
  std::int64_t channels = 16;
  for (const std::int64_t stage_channels : {16, 32, 64}) {
    for (std::int64_t i = 0; i < blocks; ++i) {
      const int stride = (i == 0 && stage_channels != 16) ? 2 : 1;
      RELULAB_TRY(b.add(std::make_unique<ResidualBlock>(channels, stage_channels, stride, f)));
      channels = stage_channels;
    }
  }
  RELULAB_TRY(b.add(std::make_unique<GlobalAvgPool>()));
  return b.finish();
}

// "activation": true -> the model's f; a name -> that entry's default spec; absent/false -> none.
Result<std::optional<ActivationSpec>> layer_activation(const Json& layer, const ActivationSpec& f) {
  if (!layer.contains("activation")) return std::optional<ActivationSpec>{};
  const Json& a = layer["activation"];
  if (a.is_boolean()) return a.get<bool>() ? std::optional<ActivationSpec>(f) : std::nullopt;
  if (a.is_string()) {
    auto parsed = parse_activation(a.get<std::string>());
    if (!parsed) return parsed.status();
    return std::optional<ActivationSpec>(default_spec(parsed.value()));
  }
  return Status::invalid_argument("\"activation\" must be true, false or an activation name");
}

Status build_json_layer(Builder& b, const Json& layer, const ActivationSpec& f) {
  if (!layer.is_object() || !layer.contains("type") || !layer["type"].is_string()) {
    return Status::invalid_argument("each layer must be an object with a string \"type\"");
  }
  const std::string type = layer["type"].get<std::string>();
  auto act = layer_activation(layer, f);
  if (!act) return act.status();
  auto int_field = [&](const char* name, std::int64_t fallback) -> Result<std::int64_t> {
    if (!layer.contains(name)) return fallback;
    const Json& v = layer[name];
    if (!v.is_number_integer() || v.get<std::int64_t>() < 0 || v.get<std::int64_t>() > (1 << 20)) {
      return Status::invalid_argument(
          fmt::format("{}: \"{}\" must be an integer in [0, 1048576]", type, name));
    }
    return v.get<std::int64_t>();
  };
  auto required = [&](const char* name) -> Result<std::int64_t> {
    if (!layer.contains(name))
      return Status::invalid_argument(fmt::format("{}: \"{}\" is required", type, name));
    auto v = int_field(name, 0);
    if (v && v.value() == 0)
      return Status::invalid_argument(fmt::format("{}: \"{}\" must be positive", type, name));
    return v;
  };
  const bool bias = !layer.contains("bias") || layer["bias"].get<bool>();
  if (type == "linear") {
    auto out = required("out");
    if (!out) return out.status();
    return b.linear(out.value(), act.value(), bias);
  }
  if (type == "conv2d") {
    auto out = required("out");
    auto kernel = required("kernel");
    auto stride = int_field("stride", 1);
    auto padding = int_field("padding", 0);
    for (const auto* r : {&out, &kernel, &stride, &padding}) {
      if (!*r) return r->status();
    }
    if (stride.value() == 0) return Status::invalid_argument("conv2d: \"stride\" must be positive");
    return b.conv(out.value(), static_cast<int>(kernel.value()), static_cast<int>(stride.value()),
                  static_cast<int>(padding.value()), act.value(), bias);
  }
  if (type == "maxpool2d" || type == "avgpool2d") {
    auto kernel = required("kernel");
    auto stride = int_field("stride", 0);
    if (!kernel) return kernel.status();
    if (!stride) return stride.status();
    const int k = static_cast<int>(kernel.value());
    const int s = static_cast<int>(stride.value());
    if (type == "maxpool2d") return b.add(std::make_unique<MaxPool2d>(k, s));
    return b.add(std::make_unique<AvgPool2d>(k, s));
  }
  if (type == "global_avg_pool") return b.add(std::make_unique<GlobalAvgPool>());
  if (type == "flatten") return b.add(std::make_unique<Flatten>());
  if (type == "dropout") {
    const double p = layer.value("p", 0.5);
    if (!(p >= 0.0 && p < 1.0)) return Status::invalid_argument("dropout: \"p\" must be in [0, 1)");
    return b.add(std::make_unique<Dropout>(static_cast<float>(p)));
  }
  if (type == "batchnorm") return b.add(std::make_unique<BatchNorm>(b.shape()[0]));
  if (type == "activation") return b.activation(act.value().value_or(f));
  if (type == "residual") {
    auto out = required("out");
    auto stride = int_field("stride", 1);
    if (!out) return out.status();
    if (!stride) return stride.status();
    if (!b.is_image()) return Status::invalid_argument("residual needs an image input");
    return b.add(std::make_unique<ResidualBlock>(
        b.shape()[0], out.value(), static_cast<int>(std::max<std::int64_t>(1, stride.value())),
        act.value().value_or(f)));
  }
  return Status::invalid_argument(fmt::format(
      "unknown layer type '{}' (valid: linear, conv2d, maxpool2d, avgpool2d, global_avg_pool, "
      "flatten, dropout, batchnorm, activation, residual)",
      type));
}

Status build_json(Builder& b, std::string_view text, const ActivationSpec& f) {
  Json spec = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (spec.is_discarded()) return Status::invalid_argument("model spec is not valid JSON");
  if (!spec.is_object() || !spec.contains("layers") || !spec["layers"].is_array()) {
    return Status::invalid_argument("JSON model spec needs {\"layers\": [...]}");
  }
  std::size_t index = 0;
  for (const Json& layer : spec["layers"]) {
    if (Status s = build_json_layer(b, layer, f); !s) {
      return Status::invalid_argument(fmt::format("layers[{}]: {}", index, s.message()));
    }
    ++index;
  }
  return b.finish();
}

}  // namespace

Result<std::unique_ptr<Model>> build_model(std::string_view spec, const ActivationSpec& activation,
                                           const Shape& input_shape, int num_classes) {
  if (num_classes < 1) return Status::invalid_argument("a model needs at least one class");
  if (input_shape.empty()) return Status::invalid_argument("a model needs an input shape");
  auto model = std::make_unique<Model>();
  model->spec = std::string(spec);
  model->activation = activation;
  model->input_shape = input_shape;
  model->num_classes = num_classes;
  Builder b(*model);

  const std::size_t colon = spec.find(':');
  const std::string_view name = spec.substr(0, colon);
  const std::string_view args = colon == std::string_view::npos ? "" : spec.substr(colon + 1);
  Status status;
  try {
    if (!spec.empty() && spec.front() == '{') {
      status = build_json(b, spec, activation);
    } else if (spec.ends_with(".json")) {
      std::ifstream in{std::string(spec)};
      if (!in) return Status::io_error(fmt::format("cannot open model spec file '{}'", spec));
      std::stringstream text;
      text << in.rdbuf();
      status = build_json(b, text.str(), activation);
    } else if (name == "mlp" && !args.empty()) {
      status = build_mlp(b, args, activation);
    } else if (name == "deep-mlp") {
      status = build_deep_mlp(b, args, activation);
    } else if (name == "cnn") {
      status = build_cnn(b, args, activation);
    } else if (name == "resnet") {
      status = build_resnet(b, args, activation);
    } else {
      status = Status::invalid_argument(fmt::format(
          "unknown model '{}' (valid: mlp:512-512, deep-mlp:DEPTH:WIDTH, cnn, cnn:C1-C2-FC, "
          "resnet:BLOCKS, a JSON spec or a .json file)",
          spec));
    }
  } catch (const std::exception& e) {  // a layer constructor rejecting its sizes
    status = Status::invalid_argument(e.what());
  }
  if (!status)
    return Status::invalid_argument(fmt::format("model '{}': {}", spec, status.message()));
  return model;
}

}  // namespace relulab::nn

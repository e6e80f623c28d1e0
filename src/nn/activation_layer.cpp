// ActivationStep (the activation of a layer, with what it keeps for backward) and ActivationLayer.
#include "relulab/nn/activation_layer.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace relulab::nn {
namespace {

ActivationStep::Keeps keeps_for(const ActivationSpec& spec) {
  if (spec.kind == Activation::kReLU) return ActivationStep::Keeps::kMask;
  if (activation_info(spec.kind).backward_from_output) return ActivationStep::Keeps::kOutput;
  return ActivationStep::Keeps::kPreActivation;
}

const ActivationSpec& validated(const ActivationSpec& spec) {
  if (const Status s = validate(spec); !s) {
    throw std::invalid_argument("activation " + describe(spec) + ": " + s.message());
  }
  return spec;
}

// Throws unless dy has the shape of the last training forward's output.
void check_backward(const Layer& layer, bool kept, const Shape& expected, const Shape& dy) {
  if (!kept) {
    throw std::invalid_argument(layer.describe() +
                                ": backward without a training forward (or after release())");
  }
  if (dy != expected) {
    throw std::invalid_argument(layer.describe() + ": backward got dy " + to_string(dy) +
                                ", expected " + to_string(expected) +
                                " from the last training forward");
  }
}

}  // namespace

ActivationStep::ActivationStep(ActivationSpec spec)
    : spec_(validated(spec)), keeps_(keeps_for(spec)) {}

// ----------------------------------------------------------------------------------------------
// Forward: y = f(z), any shape. Training keeps (by keeps()):
//   kMask           bit i = !(z_i <= 0)          n/8 bytes
//   kOutput         the handle y                 (shared with the next layer's kept input)
//   kPreActivation  the handle z                 (shared with the previous layer's output)
// Backward: dz = dy * f'(z), from the mask (dy where the bit is set), from y (f'(f^-1(y))), or z.
// ----------------------------------------------------------------------------------------------
Tensor ActivationStep::forward(const Tensor& z, Mode mode) {
  Tensor y = Tensor::uninitialized(z.shape());
  if (mode == Mode::kTrain && keeps_ == Keeps::kMask) {
    mask_.resize(relu_mask_bytes(z.size()));
    relu_forward_mask(z.span(), y.span(), mask_);
    shape_ = z.shape();
    kept_flag_ = true;
    return y;
  }
  activation_forward(spec_, z.span(), y.span());
  if (mode == Mode::kTrain) {
    kept_ = keeps_ == Keeps::kOutput ? y : z;
    shape_ = z.shape();
    kept_flag_ = true;
  } else {
    release();
  }
  return y;
}

void ActivationStep::keep_fused_output(const Tensor& y) {
  if (keeps_ == Keeps::kPreActivation) {
    throw std::invalid_argument("keep_fused_output: " + describe(spec_) +
                                " needs its pre-activation for backward, not its output");
  }
  if (keeps_ == Keeps::kMask) {
    // y = max(z, 0) (NaN kept), so !(y <= 0) = !(z <= 0): the mask of z, and y is unchanged.
    mask_.resize(relu_mask_bytes(y.size()));
    relu_forward_mask(y.span(), y.span(), mask_);
  } else {
    kept_ = y;
  }
  shape_ = y.shape();
  kept_flag_ = true;
}

Tensor ActivationStep::backward(const Tensor& dy, const Layer& owner) const {
  check_backward(owner, kept_flag_, shape_, dy.shape());
  Tensor dz = Tensor::uninitialized(dy.shape());
  switch (keeps_) {
    case Keeps::kMask:
      relu_backward_mask(mask_, dy.span(), dz.span());
      break;
    case Keeps::kOutput:
      activation_backward_from_output(spec_, kept_.span(), dy.span(), dz.span());
      break;
    case Keeps::kPreActivation:
      activation_backward(spec_, kept_.span(), dy.span(), dz.span());
      break;
  }
  return dz;
}

std::vector<SavedBlock> ActivationStep::saved() const {
  if (!kept_flag_) return {};
  if (keeps_ == Keeps::kMask) return {{mask_.data(), mask_.size()}};
  return {{kept_.data(), kept_.bytes()}};
}

void ActivationStep::release() {
  std::vector<std::uint8_t>().swap(mask_);
  kept_ = Tensor();
  kept_flag_ = false;
}

// ----------------------------------------------------------------------------------------------
// ActivationLayer
// ----------------------------------------------------------------------------------------------
ActivationLayer::ActivationLayer(ActivationSpec spec, std::int64_t prelu_channels)
    : step_(spec), prelu_channels_(prelu_channels) {
  if (prelu_channels < 0) {
    throw std::invalid_argument("activation layer: prelu_channels " +
                                std::to_string(prelu_channels) + " is negative");
  }
  if (prelu_channels > 0 && !learnable_prelu()) {
    throw std::invalid_argument("activation layer: prelu_channels " +
                                std::to_string(prelu_channels) + " given for " +
                                relulab::describe(spec) + ", which has no learnable slope");
  }
  if (learnable_prelu()) {
    const Shape shape{std::max<std::int64_t>(prelu_channels, 1)};
    slope_.name = "weight";
    slope_.value = Tensor::filled(shape, spec.params[0]);  // PyTorch's `init`, 0.25 by default
    slope_.grad = Tensor(shape);
    slope_.role = ParamRole::kSlope;
  }
}

std::string ActivationLayer::describe() const {
  std::string s = "activation(" + relulab::describe(spec());
  if (learnable_prelu()) {
    s += prelu_channels_ > 0 ? ", " + std::to_string(prelu_channels_) + " learnable slopes"
                             : ", 1 learnable slope";
  }
  return s + ")";
}

Result<Shape> ActivationLayer::output_shape(const Shape& input) const {
  if (prelu_channels_ > 0 && (input.size() < 2 || input[1] != prelu_channels_)) {
    return Status::invalid_argument(describe() + ": expected input [N, " +
                                    std::to_string(prelu_channels_) + ", ...], got " +
                                    to_string(input));
  }
  return input;
}

ActivationLayer::PreluLayout ActivationLayer::prelu_layout(const Shape& shape) const {
  const std::size_t n = shape_size(shape);
  if (prelu_channels_ == 0) return {1, 1, n};
  const auto outer = static_cast<std::size_t>(shape[0]);
  const auto channels = static_cast<std::size_t>(prelu_channels_);
  return {outer, channels, outer * channels == 0 ? 0 : n / (outer * channels)};
}

// PReLU forward: y = x > 0 ? x : a_c x, a_c the slope of x's channel (dimension 1), or the one
// shared slope. Backward: dx = dy * (x > 0 ? 1 : a_c); da_c += sum over the channel of
// dy * min(x, 0). Both need x, so the layer keeps its input handle.
Tensor ActivationLayer::forward(const Tensor& x, const Pass& pass) {
  if (const Result<Shape> out = output_shape(x.shape()); !out) {
    throw std::invalid_argument(out.status().message());
  }
  if (!learnable_prelu()) return step_.forward(x, pass.mode);
  const PreluLayout l = prelu_layout(x.shape());
  Tensor y = Tensor::uninitialized(x.shape());
  prelu_forward(l.outer, l.channels, l.inner, x.span(), slope_.value.span(), y.span());
  x_ = pass.mode == Mode::kTrain ? x : Tensor();
  kept_input_ = pass.mode == Mode::kTrain;
  return y;
}

Tensor ActivationLayer::backward(const Tensor& dy) {
  if (!learnable_prelu()) return step_.backward(dy, *this);
  check_backward(*this, kept_input_, x_.shape(), dy.shape());
  const PreluLayout l = prelu_layout(x_.shape());
  Tensor dx = Tensor::uninitialized(dy.shape());
  std::vector<float> dslope(l.channels);
  prelu_backward(l.outer, l.channels, l.inner, x_.span(), slope_.value.span(), dy.span(), dx.span(),
                 dslope);
  for (std::size_t c = 0; c < l.channels; ++c) slope_.grad[c] += dslope[c];
  return dx;
}

std::vector<Parameter*> ActivationLayer::parameters() {
  if (!learnable_prelu()) return {};
  return {&slope_};
}

std::vector<SavedBlock> ActivationLayer::saved() const {
  if (!learnable_prelu()) return step_.saved();
  if (!kept_input_) return {};
  return {{x_.data(), x_.bytes()}};
}

void ActivationLayer::release() {
  step_.release();
  x_ = Tensor();
  kept_input_ = false;
}

}  // namespace relulab::nn

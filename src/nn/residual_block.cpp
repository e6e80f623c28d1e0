#include "relulab/nn/residual_block.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

#include "relulab/threads.hpp"

namespace relulab::nn {
namespace {

std::int64_t prelu_channels(const ActivationSpec& f, std::int64_t channels) {
  return f.kind == Activation::kPReLU ? channels : 0;
}

bool needs_projection(std::int64_t in, std::int64_t out, int stride) {
  return in != out || stride != 1;
}

// dst[i] += src[i]: the sum of the two branches (forward), and of their dx (backward).
void add_into(const Tensor& dst, const Tensor& src) {
  const auto n = static_cast<std::int64_t>(dst.size());
  float* d = dst.data();
  const float* s = src.data();
  const int threads = dst.size() >= kParallelThreshold ? thread_count() : 1;
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (std::int64_t i = 0; i < n; ++i) d[i] += s[i];
}

}  // namespace

ResidualBlock::ResidualBlock(std::int64_t in_channels, std::int64_t out_channels, int stride,
                             ActivationSpec activation)
    : in_(in_channels),
      out_(out_channels),
      stride_(stride),
      conv1_(in_channels, out_channels, 3, stride, 1, std::nullopt, false),
      bn1_(out_channels),
      act1_(activation, prelu_channels(activation, out_channels)),
      conv2_(out_channels, out_channels, 3, 1, 1, std::nullopt, false),
      bn2_(out_channels),
      act2_(activation, prelu_channels(activation, out_channels)) {
  std::vector<std::pair<std::string, Layer*>> named{{"conv1.", &conv1_},
                                                    {"bn1.", &bn1_},
                                                    {"act1.", &act1_},
                                                    {"conv2.", &conv2_},
                                                    {"bn2.", &bn2_}};
  if (needs_projection(in_, out_, stride_)) {
    shortcut_conv_.emplace(in_channels, out_channels, 1, stride, 0, std::nullopt, false);
    shortcut_bn_.emplace(out_channels);
    named.emplace_back("shortcut.conv.", &*shortcut_conv_);
    named.emplace_back("shortcut.bn.", &*shortcut_bn_);
  }
  named.emplace_back("act2.", &act2_);
  for (auto& [prefix, layer] : named) {
    for (Parameter* p : layer->parameters()) p->name = prefix + p->name;
    for (Buffer* b : layer->buffers()) b->name = prefix + b->name;
    layers_.push_back(layer);
  }
  // Every convolution feeds f through its batch norm (and the sum): torchvision initialises them
  // all with f's gain.
  conv1_.weight().feeds = activation;
  conv2_.weight().feeds = activation;
  if (shortcut_conv_) shortcut_conv_->weight().feeds = activation;
}

std::string ResidualBlock::describe() const {
  return fmt::format("residual_block({} -> {}, stride {}, {}{})", in_, out_, stride_,
                     relulab::describe(act2_.spec()), has_projection() ? ", projection" : "");
}

// conv2 (3x3, padding 1, stride 1) keeps conv1's output size, and the shortcut (identity, or 1x1
// with stride s and no padding: (H - 1) / s + 1 = (H + 2 - 3) / s + 1) matches it.
Result<Shape> ResidualBlock::output_shape(const Shape& input) const {
  Result<Shape> out = conv1_.output_shape(input);
  if (!out) return Status::invalid_argument(describe() + ": " + out.status().message());
  return out;
}

Tensor ResidualBlock::forward(const Tensor& x, const Pass& pass) {
  const Result<Shape> out = output_shape(x.shape());
  if (!out) throw std::invalid_argument(out.status().message());
  Tensor h = conv1_.forward(x, pass);
  h = bn1_.forward(h, pass);
  h = act1_.forward(h, pass);
  h = conv2_.forward(h, pass);
  h = bn2_.forward(h, pass);
  // The sum goes into bn2's output in place: BatchNorm keeps its input, not its output.
  add_into(h, shortcut_conv_ ? shortcut_bn_->forward(shortcut_conv_->forward(x, pass), pass) : x);
  output_shape_ = pass.mode == Mode::kTrain ? out.value() : Shape{};
  return act2_.forward(h, pass);
}

Tensor ResidualBlock::backward(const Tensor& dy) {
  if (output_shape_.empty()) {
    throw std::invalid_argument(describe() +
                                ": backward without a training forward (or after release())");
  }
  if (dy.shape() != output_shape_) {
    throw std::invalid_argument(
        fmt::format("{}: backward got dy {}, expected {} from the last training forward",
                    describe(), to_string(dy.shape()), to_string(output_shape_)));
  }
  const Tensor dsum = act2_.backward(dy);
  Tensor dh = bn2_.backward(dsum);
  dh = conv2_.backward(dh);
  dh = act1_.backward(dh);
  dh = bn1_.backward(dh);
  Tensor dx = conv1_.backward(dh);  // a new tensor (or none): the shortcut's dx is added into it
  const Tensor dshortcut =
      shortcut_conv_ ? shortcut_conv_->backward(shortcut_bn_->backward(dsum)) : dsum;
  if (input_gradient()) add_into(dx, dshortcut);
  return dx;
}

void ResidualBlock::set_input_gradient(bool needed) {
  Layer::set_input_gradient(needed);
  conv1_.set_input_gradient(needed);
  if (shortcut_conv_) shortcut_conv_->set_input_gradient(needed);
}

std::vector<Parameter*> ResidualBlock::parameters() {
  std::vector<Parameter*> all;
  for (Layer* layer : layers_) {
    for (Parameter* p : layer->parameters()) all.push_back(p);
  }
  return all;
}

std::vector<Buffer*> ResidualBlock::buffers() {
  std::vector<Buffer*> all;
  for (Layer* layer : layers_) {
    for (Buffer* b : layer->buffers()) all.push_back(b);
  }
  return all;
}

// Each data pointer once, the larger size when two blocks start at the same address (conv1 and
// the shortcut conv both keep x; act2 may keep the sum that bn2 wrote).
std::vector<SavedBlock> ResidualBlock::saved() const {
  std::vector<SavedBlock> all;
  for (const Layer* layer : layers_) {
    for (const SavedBlock& block : layer->saved()) {
      bool seen = false;
      for (SavedBlock& kept : all) {
        if (kept.data == block.data) {
          kept.bytes = std::max(kept.bytes, block.bytes);
          seen = true;
        }
      }
      if (!seen) all.push_back(block);
    }
  }
  return all;
}

void ResidualBlock::release() {
  for (Layer* layer : layers_) layer->release();
  output_shape_.clear();
}

}  // namespace relulab::nn

// Sequential: forward through the layers in order, backward in reverse.
#include "relulab/nn/sequential.hpp"

#include <algorithm>
#include <map>
#include <stdexcept>

namespace relulab::nn {
namespace {

std::invalid_argument at_layer(std::size_t index, const std::invalid_argument& e) {
  return std::invalid_argument("layer " + std::to_string(index) + ": " + e.what());
}

}  // namespace

Layer& Sequential::add(std::unique_ptr<Layer> layer) {
  if (!layer) throw std::invalid_argument("sequential: add() got a null layer");
  const std::string prefix = std::to_string(layers_.size()) + ".";
  for (Parameter* p : layer->parameters()) p->name = prefix + p->name;
  for (Buffer* b : layer->buffers()) b->name = prefix + b->name;
  layers_.push_back(std::move(layer));
  pass_on_input_gradient();
  return *layers_.back();
}

void Sequential::set_input_gradient(bool needed) {
  Layer::set_input_gradient(needed);
  pass_on_input_gradient();
}

void Sequential::pass_on_input_gradient() {
  for (const auto& layer : layers_) {
    layer->set_input_gradient(input_gradient());
    if (!layer->parameters().empty()) break;
  }
}

std::size_t Sequential::first_trainable() const {
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    if (!layers_[i]->parameters().empty()) return i;
  }
  return layers_.size();
}

std::string Sequential::describe() const {
  std::string s = "sequential(";
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(i) + ": " + layers_[i]->describe();
  }
  return s + ")";
}

Result<Shape> Sequential::output_shape(const Shape& input) const {
  Shape shape = input;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    Result<Shape> next = layers_[i]->output_shape(shape);
    if (!next) {
      return Status::invalid_argument("layer " + std::to_string(i) + ": " +
                                      next.status().message());
    }
    shape = std::move(next).value();
  }
  return shape;
}

// Forward:  y = f_{L-1}( ... f_1(f_0(x)) ).
// Backward: g_L = dy; g_i = backward of layer i at g_{i+1}, for i = L-1 down to 0; dx = g_0.
//           Without input_gradient(), down to the first layer with parameters only.
Tensor Sequential::forward(const Tensor& x, const Pass& pass) {
  Tensor y = x;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    try {
      y = layers_[i]->forward(y, pass);
    } catch (const std::invalid_argument& e) {
      throw at_layer(i, e);
    }
    if (observer_ != nullptr) observer_->after_forward(i, *layers_[i], y);
  }
  return y;
}

Tensor Sequential::backward(const Tensor& dy) {
  Tensor g = dy;
  const std::size_t stop = input_gradient() ? 0 : first_trainable();
  for (std::size_t i = layers_.size(); i-- > stop;) {
    Tensor dx;
    try {
      dx = layers_[i]->backward(g);
    } catch (const std::invalid_argument& e) {
      throw at_layer(i, e);
    }
    if (observer_ != nullptr) observer_->after_backward(i, *layers_[i], dx, g);
    g = std::move(dx);
  }
  return input_gradient() ? g : Tensor();
}

std::vector<Parameter*> Sequential::parameters() {
  std::vector<Parameter*> all;
  for (const auto& layer : layers_) {
    for (Parameter* p : layer->parameters()) all.push_back(p);
  }
  return all;
}

std::vector<Buffer*> Sequential::buffers() {
  std::vector<Buffer*> all;
  for (const auto& layer : layers_) {
    for (Buffer* b : layer->buffers()) all.push_back(b);
  }
  return all;
}

std::vector<SavedBlock> Sequential::saved() const {
  std::map<const void*, std::size_t> bytes;  // ordered: the result does not depend on hashing
  for (const auto& layer : layers_) {
    for (const SavedBlock& b : layer->saved()) {
      if (b.data == nullptr || b.bytes == 0) continue;
      std::size_t& size = bytes[b.data];
      size = std::max(size, b.bytes);
    }
  }
  std::vector<SavedBlock> blocks;
  blocks.reserve(bytes.size());
  for (const auto& [data, size] : bytes) blocks.push_back({data, size});
  return blocks;
}

void Sequential::release() {
  for (const auto& layer : layers_) layer->release();
}

}  // namespace relulab::nn

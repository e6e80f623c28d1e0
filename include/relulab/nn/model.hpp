// Models described by a short spec, shared by `relulab train`, `relulab eval` and the study.
//
// Text specs (input size and class count come from the data):
//   mlp:512-512        Flatten, Linear(in, 512)+f, Linear(512, 512)+f, Linear(512, classes)
//   deep-mlp:20:100    a plain MLP with 20 weight layers: 19 hidden of width 100, then the output
//   cnn                conv5x5(C->32, pad 2)+f, maxpool2, conv5x5(32->64, pad 2)+f, maxpool2,
//                      fc(->512)+f, fc(512->classes): the small CNN of the benchmarks
//   cnn:16-32-256      the same with other widths
//   resnet:2           conv3x3(C->16)+BN+f, then 3 stages (16, 32, 64 channels; strides 1, 2, 2)
//                      of 2 basic blocks each, global average pool, fc(64->classes)
// JSON specs (inline text starting with '{', or a path to a .json file):
//   {"layers": [{"type": "conv2d", "out": 32, "kernel": 5, "padding": 2, "activation": true},
//               {"type": "maxpool2d", "kernel": 2}, {"type": "flatten"},
//               {"type": "dropout", "p": 0.5}, {"type": "linear", "out": 10}]}
//   Layer types: linear(out, activation, bias), conv2d(out, kernel, stride, padding, activation,
//   bias), maxpool2d / avgpool2d(kernel, stride), global_avg_pool, flatten, dropout(p),
//   batchnorm, activation, residual(out, stride). "activation": true applies the model's
//   activation, a name (e.g. "tanh") a fixed one; a final linear sized to the classes is added
//   when the layers do not end in one.
// The activation f is PyTorch's default spec of the chosen table entry; PReLU gets a learnable
// slope per unit or channel (an ActivationLayer after the layer instead of the fused path).
//
// Error behaviour: build_model returns invalid_argument naming the part of the spec that is
// wrong (unknown model, bad number, a layer whose input shape does not fit).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "relulab/activation.hpp"
#include "relulab/nn/sequential.hpp"
#include "relulab/status.hpp"
#include "relulab/tensor.hpp"

namespace relulab::nn {

struct Model {
  std::string spec;  // as given, so that a checkpoint can rebuild the model
  ActivationSpec activation;
  Shape input_shape;  // one example, e.g. [1, 28, 28]
  int num_classes = 0;
  Sequential net;
};

Result<std::unique_ptr<Model>> build_model(std::string_view spec, const ActivationSpec& activation,
                                           const Shape& input_shape, int num_classes);

}  // namespace relulab::nn

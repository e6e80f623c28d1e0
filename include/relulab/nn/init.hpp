// Initialisers: the initial values of a model's parameters, chosen by role.
//
// Weights (ParamRole::kWeight) follow an InitSpec, with fans and gain taken from the Parameter
// (fan_in, fan_out as torch.nn.init._calculate_fan_in_and_fan_out, gain = calculate_gain(feeds)):
//   he_normal      N(0, std),    std   = gain / sqrt(fan)             fan = fan_in, or fan_out with
//   he_uniform     U(-b, b),     b     = gain * sqrt(3 / fan)         ":fan_out" (torch kaiming_*)
//   xavier_normal  N(0, std),    std   = g * sqrt(2 / (fan_in + fan_out))       (torch xavier_*)
//   xavier_uniform U(-b, b),     b     = g * sqrt(6 / (fan_in + fan_out))
//   lecun_normal   N(0, std),    std   = 1 / sqrt(fan_in)   (no gain: it is the init SELU's
//                  self-normalisation assumes, and SELU's gain 3/4 would break it)
//   orthogonal     g * Q, Q from the QR decomposition of a standard normal [rows, cols] matrix
//                  (rows = dim 0, cols = the rest), R's diagonal made positive (torch orthogonal_)
//   constant:V     V;            normal:S    N(0, S)                        (no gain)
//   torch_default  U(-1/sqrt(fan_in), 1/sqrt(fan_in)): what torch.nn.Linear and Conv2d do,
//                  kaiming_uniform_(a = sqrt(5)); their biases get the same bound.
// He's gain is calculate_gain(feeds), so that a weight feeding ReLU gets sqrt 2, one feeding tanh
// 5/3 and the output layer (feeds = nullopt) 1: torch's kaiming_* with the layer's nonlinearity.
// Xavier's and orthogonal's g is InitSpec::gain, 1 unless given (":gain=1.414" or
// ":gain=relu", which is calculate_gain of that activation with its defaults), the same for every
// weight: torch's xavier_normal_(w) and orthogonal_(w) default to gain 1, and so does Glorot &
// Bengio (2010), whose scheme halves a ReLU net's variance at every square layer.
// Biases (kBias) are set to bias_value, or for torch_default drawn from U(-1/sqrt(fan_in), ...)
// with the fan_in of the weight listed just before them (their layer's). Batch-norm scale (kScale)
// is set to 1, shift (kShift) to 0, PReLU slopes (kSlope) to 0.25, whatever the spec.
//
// Values are drawn in parameter order, element by element, from one Rng: the same seed gives the
// same weights.
//
// Error behaviour: parse_init returns invalid_argument listing the valid names and suggesting the
// closest one. initialize throws std::invalid_argument when a weight the spec needs fans for has a
// fan of 0, or when a torch_default bias has no weight before it.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "relulab/activation.hpp"
#include "relulab/nn/layer.hpp"
#include "relulab/random.hpp"
#include "relulab/status.hpp"

namespace relulab::nn {

enum class InitScheme {
  kHeNormal,
  kHeUniform,
  kXavierNormal,
  kXavierUniform,
  kLeCunNormal,
  kOrthogonal,
  kConstant,
  kNormal,
  kTorchDefault,
};

// Which fan He initialisation preserves: the forward pass's variance (fan_in) or the backward
// pass's (fan_out).
enum class FanMode { kFanIn, kFanOut };

struct InitSpec {
  InitScheme scheme = InitScheme::kHeNormal;
  FanMode mode = FanMode::kFanIn;  // used by he_normal and he_uniform only
  float value = 0;                 // constant: the value; normal: the standard deviation
  float gain = 1;                  // xavier_* and orthogonal only: g above
};

// torch.nn.init.calculate_gain for the activation a weight feeds:
//   none (linear), sigmoid, hard_sigmoid           1
//   tanh                                           5/3
//   relu, relu6                                    sqrt(2)
//   leaky_relu (slope a), prelu (initial slope a)  sqrt(2 / (1 + a^2))
//   selu                                           3/4
//   elu, celu, gelu, gelu_tanh, silu, mish, softplus, hardswish      sqrt(2)
// PyTorch has no entry for the last row (calculate_gain raises). Each of them is close to the
// identity for large positive inputs and to a bounded value for negative ones, so a layer
// feeding it keeps about half of its input's second moment as ReLU does; relu's gain is the one
// that keeps the variance of deep stacks of them from shrinking. hard_sigmoid is sigmoid-like
// and gets sigmoid's 1. PReLU uses the leaky formula with its initial slope (He et al. 2015
// derived the gain for exactly that case).
float calculate_gain(const std::optional<ActivationSpec>& feeds);

// "he_normal", "kaiming_normal", "he_uniform", "kaiming_uniform", "xavier_normal",
// "glorot_normal", "xavier_uniform", "glorot_uniform", "lecun_normal", "orthogonal",
// "constant:V" (finite V), "normal:S" (S > 0), "torch_default"; he/kaiming names take an optional
// ":fan_in" or ":fan_out"; xavier/glorot and orthogonal an optional ":gain=G", G a finite number
// > 0 or an activation name (":gain=relu" is sqrt 2, ":gain=tanh" 5/3). Case-insensitive.
Result<InitSpec> parse_init(std::string_view text);
// The canonical text of a spec, which parse_init reads back: "he_normal:fan_out", "constant:0.1",
// "xavier_normal:gain=1.4142135" (the gain as the shortest text of its float; none when it is 1).
std::string describe(const InitSpec& spec);

// Initialises every parameter as described at the top of this header.
void initialize(std::span<Parameter* const> params, const InitSpec& weights, float bias_value,
                Rng& rng);

}  // namespace relulab::nn

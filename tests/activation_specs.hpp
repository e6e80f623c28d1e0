// The activations with parameters that the kernel tests sweep: every table entry with PyTorch's
// defaults, plus one non-default setting for each activation that has parameters.
#pragma once

#include <vector>

#include "relulab/activation.hpp"

namespace relulab::test {

inline std::vector<ActivationSpec> specs_under_test() {
  std::vector<ActivationSpec> specs;
  for (const ActivationInfo& info : activation_table()) specs.push_back(default_spec(info.id));
  specs.push_back({Activation::kLeakyReLU, {0.2f, 0.0f}});
  specs.push_back({Activation::kPReLU, {0.1f, 0.0f}});
  specs.push_back({Activation::kELU, {0.5f, 0.0f}});
  specs.push_back({Activation::kCELU, {2.0f, 0.0f}});
  specs.push_back({Activation::kSoftplus, {2.0f, 10.0f}});
  return specs;
}

}  // namespace relulab::test

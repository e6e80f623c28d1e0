// torch.ops.relulab.table(): the activation table as JSON, so that the Python package builds its
// functions and modules from the same list as the C++ library (names, PyTorch names, parameters
// with PyTorch's defaults, and whether backward uses the output).
// First: libtorch 1.13's headers use c10::IValue in std::vector before defining it, which clang 14
// rejects in C++20 (vector's members are constexpr there); g++ 12 accepts either order.
#include <ATen/core/ivalue.h>

#include <nlohmann/json.hpp>

#include "ops.hpp"
#include "relulab/activation.hpp"

namespace relulab::torch_ext {

std::string table_json() {
  nlohmann::json table = nlohmann::json::array();
  for (const ActivationInfo& info : activation_table()) {
    nlohmann::json params = nlohmann::json::array();
    for (int i = 0; i < info.param_count; ++i) {
      params.push_back({{"name", std::string(info.params[i].name)},
                        {"default", info.params[i].default_value},
                        {"constraint", std::string(info.params[i].constraint)}});
    }
    table.push_back({{"id", static_cast<int>(info.id)},
                     {"name", std::string(info.name)},
                     {"pytorch", std::string(info.pytorch)},
                     {"formula", std::string(info.formula)},
                     {"derivative", std::string(info.derivative)},
                     {"params", params},
                     {"backward_from_output", info.backward_from_output}});
  }
  return table.dump();
}

}  // namespace relulab::torch_ext

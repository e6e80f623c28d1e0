// The long-double reference: the formulas of formulas.hpp evaluated in long double. Accuracy
// matters more than speed here; it is the ground truth of the tests and never on a hot path.
#include <stdexcept>
#include <string>

#include "activation/formulas.hpp"
#include "relulab/activation_reference.hpp"

namespace relulab {

long double reference_forward(const ActivationSpec& spec, long double x) {
  return formula::forward<long double>(spec.kind, x, spec.params[0], spec.params[1]);
}

long double reference_derivative(const ActivationSpec& spec, long double x) {
  return formula::derivative<long double>(spec.kind, x, spec.params[0], spec.params[1]);
}

long double reference_derivative_from_output(const ActivationSpec& spec, long double y) {
  if (!activation_info(spec.kind).backward_from_output) {
    throw std::invalid_argument(std::string(activation_info(spec.kind).name) +
                                " has no derivative in terms of its output");
  }
  return formula::derivative_from_output<long double>(spec.kind, y, spec.params[0]);
}

long double reference_derivative_magnitude(const ActivationSpec& spec, long double x) {
  return formula::derivative_magnitude<long double>(spec.kind, x, spec.params[0], spec.params[1]);
}

long double reference_derivative_from_output_magnitude(const ActivationSpec& spec, long double y) {
  return formula::derivative_from_output_magnitude<long double>(spec.kind, y);
}

}  // namespace relulab

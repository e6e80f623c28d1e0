// Calls the installed library through its public headers and checks two values; exits non-zero
// on a mismatch so that the test fails.
#include <array>
#include <cstdio>

#include "relulab/activation.hpp"

int main() {
  const relulab::ActivationSpec relu = relulab::default_spec(relulab::Activation::kReLU);
  const std::array<float, 4> x{-2.0f, -0.5f, 0.0f, 3.0f};
  std::array<float, 4> y{};
  relulab::activation_forward(relu, x, y);
  // relu(x) = max(0, x)
  const std::array<float, 4> expected{0.0f, 0.0f, 0.0f, 3.0f};
  if (y != expected) {
    std::fprintf(stderr, "relu(x) = {%g, %g, %g, %g}, expected {0, 0, 0, 3}\n", y[0], y[1], y[2],
                 y[3]);
    return 1;
  }
  const relulab::Result<relulab::Activation> parsed = relulab::parse_activation("GELU");
  if (!parsed || parsed.value() != relulab::Activation::kGELU) {
    std::fprintf(stderr, "parse_activation(\"GELU\") did not return kGELU\n");
    return 1;
  }
  std::printf("relulab consumer: ok (%zu activations)\n", relulab::activation_table().size());
  return 0;
}

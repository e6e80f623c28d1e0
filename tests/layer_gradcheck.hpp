// Helpers of the layer tests: random inputs and parameters, expect_invalid, and the
// finite-difference check of a layer's backward (and its parameter gradients).
//
// With L(x, w) = sum_i r_i * y_i(x, w) for fixed random weights r, backward(r) must return dL/dx
// and add dL/dw into each Parameter::grad. Each is compared with the central difference
// (L(v + h) - L(v - h)) / 2h, L summed in double, at up to `max_checks` coordinates per tensor.
// Float forward passes limit the agreement to about 1e-3 relative, which is what the bound allows;
// a wrong formula misses it by orders of magnitude.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "relulab/nn/layer.hpp"
#include "relulab/random.hpp"
#include "relulab/tensor.hpp"

namespace relulab::testing {

inline Tensor random_tensor(Shape shape, Rng& rng, float scale = 1.0f) {
  Tensor t(std::move(shape));
  for (std::size_t i = 0; i < t.size(); ++i) t[i] = scale * rng.normal();
  return t;
}

inline void randomize_parameters(nn::Layer& layer, Rng& rng, float scale = 0.5f) {
  for (nn::Parameter* p : layer.parameters()) {
    for (std::size_t i = 0; i < p->value.size(); ++i) p->value[i] = scale * rng.normal();
  }
}

// Expects `call` to throw std::invalid_argument whose message contains every one of `parts`.
template <class Call>
void expect_invalid(const Call& call, const std::vector<std::string>& parts) {
  try {
    call();
    ADD_FAILURE() << "no exception; expected one mentioning " << parts.front();
  } catch (const std::invalid_argument& e) {
    for (const std::string& part : parts) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  }
}

struct GradcheckOptions {
  float step = 1e-2f;            // h, relative to max(1, |v|)
  double tolerance = 2e-2;       // |analytic - numeric| <= tolerance * (|numeric| + scale)
  double absolute_scale = 1e-2;  // the "scale" above: guards coordinates whose gradient is ~0
  std::size_t max_checks = 64;
  std::uint64_t seed = 1;
};

namespace detail {

inline double weighted_sum(nn::Layer& layer, const Tensor& x, const Tensor& r,
                           const nn::Pass& pass) {
  const Tensor y = layer.forward(x, pass);
  double s = 0;
  for (std::size_t i = 0; i < y.size(); ++i) s += static_cast<double>(r[i]) * y[i];
  return s;
}

// Compares analytic[i] with the central difference of L in v[i], for a spread of indices i.
inline void compare(const std::string& what, nn::Layer& layer, const Tensor& x, const Tensor& r,
                    const nn::Pass& pass, const Tensor& v, const Tensor& analytic,
                    const GradcheckOptions& options) {
  const std::size_t n = v.size();
  const std::size_t checks = std::min(n, options.max_checks);
  for (std::size_t c = 0; c < checks; ++c) {
    const std::size_t i = checks == n ? c : (c * 7919 + 13) % n;
    const float saved = v[i];
    const float h = options.step * std::max(1.0f, std::fabs(saved));
    v[i] = saved + h;
    const double plus = weighted_sum(layer, x, r, pass);
    v[i] = saved - h;
    const double minus = weighted_sum(layer, x, r, pass);
    v[i] = saved;
    const double numeric = (plus - minus) / (2.0 * static_cast<double>(h));
    EXPECT_NEAR(analytic[i], numeric,
                options.tolerance * (std::fabs(numeric) + options.absolute_scale))
        << what << " index " << i << " of " << layer.describe();
  }
}

}  // namespace detail

// Checks dx and every parameter gradient of `layer` at input x. Pass::mode is kTrain; layers
// whose training forward is random (dropout) stay fixed because the pass seed is fixed.
inline void expect_gradients_match(nn::Layer& layer, const Tensor& x,
                                   GradcheckOptions options = {}) {
  Rng rng(options.seed);
  const nn::Pass pass{nn::Mode::kTrain, options.seed};
  const Tensor y = layer.forward(x, pass);
  const Tensor r = random_tensor(y.shape(), rng);
  for (nn::Parameter* p : layer.parameters()) p->grad.zero();
  layer.forward(x, pass);
  const Tensor dx = layer.backward(r).clone();
  ASSERT_EQ(dx.shape(), x.shape()) << layer.describe();
  std::vector<Tensor> grads;
  for (nn::Parameter* p : layer.parameters()) grads.push_back(p->grad.clone());

  detail::compare("dx", layer, x, r, pass, x, dx, options);
  const auto params = layer.parameters();
  for (std::size_t k = 0; k < params.size(); ++k) {
    detail::compare("d" + params[k]->name, layer, x, r, pass, params[k]->value, grads[k], options);
  }
}

}  // namespace relulab::testing

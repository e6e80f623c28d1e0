// oneDNN's eltwise primitive (Debian libdnnl-dev 2.6, OpenMP runtime) on the same activations,
// sizes and threads as the relulab kernels, so that every ratio comes from one process run.
#pragma once

#include <memory>
#include <span>
#include <string>

#include "relulab/activation.hpp"
#include "throughput.hpp"

namespace relulab::bench {

// oneDNN's eltwise primitive for one activation and pass, created once on given spans; execute()
// runs it (the benchmark times execute() alone).
class OnednnEltwise {
 public:
  // Whether oneDNN 2.6 has an algorithm with the same definition as spec for this pass (see the
  // mapping table in onednn_eltwise.cpp).
  static bool supports(const ActivationSpec& spec, Pass pass);
  // in: x, or y for kBackwardFromOutput; dy is not read by kForward; out: y or dx; all of one
  // size. nullptr where !supports(spec, pass).
  static std::unique_ptr<OnednnEltwise> create(const ActivationSpec& spec, Pass pass,
                                               std::span<const float> in, std::span<const float> dy,
                                               std::span<float> out);
  virtual ~OnednnEltwise() = default;
  virtual void execute() = 0;
};

// Registers "onednn/<pass>/<activation>/<shape suffix>" when oneDNN 2.6 has an algorithm with the
// same definition as spec (see the mapping table in onednn_eltwise.cpp); returns false otherwise.
bool register_onednn_benchmark(const ActivationSpec& spec, Pass pass, const Shape& shape,
                               const RunSettings& settings);

// "2.6.3 (OpenMP)", for the benchmark context.
std::string onednn_version();
// The activations oneDNN 2.6 has no algorithm for, comma-separated, for the benchmark context.
std::string onednn_unmapped_activations();

}  // namespace relulab::bench

// oneDNN's eltwise primitive (Debian libdnnl-dev 2.6, OpenMP runtime) on the same activations,
// sizes and threads as the relulab kernels, so that every ratio comes from one process run.
#pragma once

#include <string>

#include "relulab/activation.hpp"
#include "throughput.hpp"

namespace relulab::bench {

// Registers "onednn/<pass>/<activation>/<shape suffix>" when oneDNN 2.6 has an algorithm with the
// same definition as spec (see the mapping table in onednn_eltwise.cpp); returns false otherwise.
bool register_onednn_benchmark(const ActivationSpec& spec, Pass pass, const Shape& shape,
                               const RunSettings& settings);

// "2.6.3 (OpenMP)", for the benchmark context.
std::string onednn_version();
// The activations oneDNN 2.6 has no algorithm for, comma-separated, for the benchmark context.
std::string onednn_unmapped_activations();

}  // namespace relulab::bench

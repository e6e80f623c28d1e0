// Throughput of every relulab::cuda kernel against a device-to-device copy of the same bytes,
// measured in the same run on the same GPU.
//
// For each size (2^20, 2^24, 2^26, 2^28 floats; --quick: 2^20 and 2^24) the run times the copy
// (cudaMemcpyAsync, device to device) first, then each activation of the table with its default
// parameters: forward, backward and, where the table has it, backward from the output; then ReLU
// with a 1-bit mask (forward and backward) and the fused bias + ReLU on [n / 1024, 1024] rows.
// Bytes per element as bench/throughput.hpp counts them: forward 8, backward 12, copy 8 (read +
// write), relu_mask 8.125. ×copy = GB/s / the copy's GB/s.
//
// Timing: CUDA events around `calls` back-to-back launches on one stream (calls chosen so that a
// repetition lasts >= 5 ms, after 3 warm-up calls); the figure is the median of 11 repetitions
// (5 with --quick). At 2^20 floats (4 MiB per buffer) the data sit in a datacenter GPU's L2 and a
// call lasts a few microseconds, close to the cost of a launch: that size shows the overhead, the
// target sizes are 2^24 and up.
//
// Usage: cuda_activation_bench [--quick] [--out results.json]
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "relulab/activation.hpp"
#include "relulab/cuda/activation.hpp"
#include "relulab/io/atomic_file.hpp"

namespace relulab::bench {
namespace {

using cuda::DeviceArray;

void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess)
    throw cuda::CudaError(fmt::format("{}: {}", what, cudaGetErrorString(status)));
}

// Seconds per call: median over repetitions of (event time of `calls` launches) / calls.
double seconds_per_call(const std::function<void()>& launch, int repetitions) {
  cudaEvent_t start, stop;
  check(cudaEventCreate(&start), "cudaEventCreate");
  check(cudaEventCreate(&stop), "cudaEventCreate");
  auto time_calls = [&](int calls) {
    check(cudaEventRecord(start), "cudaEventRecord");
    for (int i = 0; i < calls; ++i) launch();
    check(cudaEventRecord(stop), "cudaEventRecord");
    check(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float ms = 0;
    check(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
    return static_cast<double>(ms) * 1e-3 / calls;
  };
  time_calls(3);  // warm-up: first-launch costs, clocks ramping up
  const double estimate = time_calls(3);
  const int calls = std::clamp(static_cast<int>(5e-3 / std::max(estimate, 1e-9)) + 1, 1, 100000);
  std::vector<double> seconds;
  for (int r = 0; r < repetitions; ++r) seconds.push_back(time_calls(calls));
  check(cudaEventDestroy(start), "cudaEventDestroy");
  check(cudaEventDestroy(stop), "cudaEventDestroy");
  std::nth_element(seconds.begin(), seconds.begin() + repetitions / 2, seconds.end());
  return seconds[static_cast<std::size_t>(repetitions / 2)];
}

struct Result {
  std::string pass, kernel;
  int log2n;
  double seconds, gelem, gbps, copy_ratio;
};

struct Buffers {
  DeviceArray<float> x, y, dy, dx, bias;
  DeviceArray<std::uint8_t> mask;
};

Buffers make_buffers(std::size_t n) {
  Buffers b{DeviceArray<float>(n),    DeviceArray<float>(n),
            DeviceArray<float>(n),    DeviceArray<float>(n),
            DeviceArray<float>(1024), DeviceArray<std::uint8_t>(relu_mask_bytes(n))};
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> wide(-8.0f, 8.0f), unit(-1.0f, 1.0f);
  std::vector<float> host(n);
  for (float& v : host) v = wide(rng);
  b.x.upload(host);
  for (float& v : host) v = unit(rng);
  b.dy.upload(host);
  host.resize(1024);
  for (float& v : host) v = wide(rng);
  b.bias.upload(host);
  return b;
}

std::vector<Result> measure_size(int log2n, int repetitions) {
  const std::size_t n = std::size_t{1} << log2n;
  Buffers b = make_buffers(n);
  std::vector<Result> results;
  double copy_gbps = 0;
  auto measure = [&](const std::string& pass, const std::string& kernel, double bytes,
                     const std::function<void()>& launch) {
    const double s = seconds_per_call(launch, repetitions);
    const double gbps = bytes * static_cast<double>(n) / s * 1e-9;
    if (kernel == "copy") copy_gbps = gbps;
    results.push_back(
        {pass, kernel, log2n, s, static_cast<double>(n) / s * 1e-9, gbps, gbps / copy_gbps});
    const Result& r = results.back();
    std::cout
        << fmt::format(
               "{:<22} {:<12} 2^{:<3} {:>9.2f} us {:>8.2f} Gelem/s {:>8.1f} GB/s  x{:.2f} copy\n",
               pass, kernel, log2n, s * 1e6, r.gelem, r.gbps, r.copy_ratio)
        << std::flush;
  };
  measure("forward", "copy", 8.0, [&] {
    check(cudaMemcpyAsync(b.y.data(), b.x.data(), n * sizeof(float), cudaMemcpyDeviceToDevice),
          "cudaMemcpyAsync");
  });
  for (const ActivationInfo& info : activation_table()) {
    const ActivationSpec spec = default_spec(info.id);
    const std::string name(info.name);
    measure("forward", name, 8.0, [&] { cuda::activation_forward(spec, b.x.span(), b.y.span()); });
    measure("backward", name, 12.0,
            [&] { cuda::activation_backward(spec, b.x.span(), b.dy.span(), b.dx.span()); });
    if (info.backward_from_output) {
      cuda::activation_forward(spec, b.x.span(), b.y.span());
      measure("backward_from_output", name, 12.0, [&] {
        cuda::activation_backward_from_output(spec, b.y.span(), b.dy.span(), b.dx.span());
      });
    }
  }
  measure("forward", "relu_mask", 8.125,
          [&] { cuda::relu_forward_mask(b.x.span(), b.y.span(), b.mask.span()); });
  measure("backward", "relu_mask", 8.125,
          [&] { cuda::relu_backward_mask(b.mask.span(), b.dy.span(), b.dx.span()); });
  measure("forward", "bias_relu_rows", 8.0, [&] {
    cuda::bias_activation_forward_rows({}, n / 1024, 1024, b.x.span(), b.bias.span(), b.y.span());
  });
  cuda::synchronize();
  return results;
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

int run(bool quick, const std::string& out) {
  if (const cuda::DeviceQuery query = cuda::query_devices(); query.count == 0) {
    std::cerr << "cuda_activation_bench: no usable CUDA device: " << query.problem << '\n';
    return 1;
  }
  const std::string device = cuda::device_description();
  std::cout << "device: " << device << '\n';
  const std::vector<int> sizes =
      quick ? std::vector<int>{20, 24} : std::vector<int>{20, 24, 26, 28};
  const int repetitions = quick ? 5 : 11;
  nlohmann::json results = nlohmann::json::array();
  for (const int log2n : sizes) {
    for (const Result& r : measure_size(log2n, repetitions)) {
      results.push_back({{"impl", "relulab"},
                         {"pass", r.pass},
                         {"kernel", r.kernel},
                         {"log2n", r.log2n},
                         {"seconds", r.seconds},
                         {"gelem_per_s", r.gelem},
                         {"gbps", r.gbps},
                         {"copy_ratio", r.copy_ratio}});
    }
  }
  if (!out.empty()) {
    const nlohmann::json doc = {{"context",
                                 {{"device", device},
                                  {"date", utc_now()},
                                  {"plan", quick ? "quick" : "full"},
                                  {"repetitions", repetitions}}},
                                {"results", results}};
    if (const Status written = io::write_text_atomically(out, doc.dump(1) + '\n'); !written) {
      std::cerr << "cuda_activation_bench: " << written.message() << '\n';
      return 1;
    }
  }
  return 0;
}

}  // namespace
}  // namespace relulab::bench

int main(int argc, char** argv) {
  bool quick = false;
  std::string out;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--quick") {
      quick = true;
    } else if (arg == "--out" && i + 1 < argc) {
      out = argv[++i];
    } else {
      std::cerr << "usage: cuda_activation_bench [--quick] [--out results.json]\n";
      return 2;
    }
  }
  try {
    return relulab::bench::run(quick, out);
  } catch (const std::exception& e) {
    std::cerr << "cuda_activation_bench: " << e.what() << '\n';
    return 1;
  }
}

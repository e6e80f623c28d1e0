#include "throughput.hpp"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <new>
#include <random>
#include <utility>
#include <vector>

#include "relulab/threads.hpp"

namespace relulab::bench {
namespace {

double median(std::vector<double> values) {
  const auto mid = values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2);
  std::nth_element(values.begin(), mid, values.end());
  return *mid;
}

struct BaselineRuns {
  benchmark::IterationCount iterations = 0;
  std::vector<double> gbps;
};

std::map<std::string, BaselineRuns>& baseline_table() {
  static std::map<std::string, BaselineRuns> table;
  return table;
}

}  // namespace

std::string Shape::suffix() const {
  return "log2n:" + std::to_string(log2n) + "/threads:" + std::to_string(threads);
}

namespace {

const char* pass_name(Pass pass) {
  switch (pass) {
    case Pass::kForward:
      return "forward";
    case Pass::kBackward:
      return "backward";
    case Pass::kBackwardFromOutput:
      return "backward_from_output";
  }
  return "?";
}

}  // namespace

std::string peer_key(Pass pass, std::string_view kernel, const Shape& shape) {
  return std::string(pass_name(pass)) + "/" + std::string(kernel) + "/" + shape.suffix();
}

std::string benchmark_name(std::string_view impl, Pass pass, std::string_view kernel,
                           const Shape& shape) {
  return std::string(impl) + "/" + peer_key(pass, kernel, shape);
}

void configure(benchmark::internal::Benchmark* b, const RunSettings& settings) {
  b->Repetitions(settings.repetitions)
      ->ReportAggregatesOnly(true)
      ->MinTime(settings.min_seconds)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
}

void use_threads(int threads) {
  set_thread_count(threads);
  omp_set_num_threads(std::max(1, threads));
}

namespace {

// 64-byte (cache-line) alignment, as the engine's tensors have: a misaligned AVX-512 access
// straddles two cache lines, which roughly halves in-cache throughput.
template <class T>
struct CacheLineAllocator {
  using value_type = T;
  CacheLineAllocator() = default;
  template <class U>
  explicit CacheLineAllocator(const CacheLineAllocator<U>&) {}
  T* allocate(std::size_t n) {
    return static_cast<T*>(::operator new (n * sizeof(T), std::align_val_t{64}));
  }
  void deallocate(T* p, std::size_t) { ::operator delete (p, std::align_val_t{64}); }
  friend bool operator==(const CacheLineAllocator&, const CacheLineAllocator&) { return true; }
};

template <class T>
using AlignedVector = std::vector<T, CacheLineAllocator<T>>;

}  // namespace

Buffers buffers(std::size_t n) {
  static AlignedVector<float> x, y, dy, dx, bias;
  static std::vector<std::uint8_t> mask;
  if (x.size() < n) {
    // Free first: at 2^26 floats each buffer is 256 MiB.
    x = y = dy = dx = bias = {};
    x.resize(n);
    y.resize(n);
    dy.resize(n);
    dx.resize(n);
    bias.resize(n);
    mask.assign((n + 7) / 8, 0);
    std::mt19937 rng(42);
    std::uniform_real_distribution<float> wide(-8.0f, 8.0f), unit(-1.0f, 1.0f);
    for (float& v : x) v = wide(rng);
    for (float& v : bias) v = wide(rng);
    for (float& v : dy) v = unit(rng);
  }
  return {x, y, dy, dx, bias, mask};
}

void threaded_copy(std::span<const float> x, std::span<float> y) {
  const std::size_t n = x.size();
  const int threads = thread_count();
  if (threads <= 1 || n < kParallelThreshold) {
    std::memcpy(y.data(), x.data(), n * sizeof(float));
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const auto t = static_cast<std::size_t>(omp_get_thread_num());
    const auto count = static_cast<std::size_t>(omp_get_num_threads());
    const std::size_t begin = n * t / count, end = n * (t + 1) / count;
    std::memcpy(y.data() + begin, x.data() + begin, (end - begin) * sizeof(float));
  }
}

void record_baseline_run(const std::string& key, benchmark::IterationCount iterations,
                         double gbps) {
  BaselineRuns& runs = baseline_table()[key];
  if (iterations > runs.iterations) runs = BaselineRuns{iterations, {}};
  if (iterations == runs.iterations) runs.gbps.push_back(gbps);
}

std::optional<double> baseline_gbps(const std::string& key) {
  const auto it = baseline_table().find(key);
  if (it == baseline_table().end() || it->second.gbps.empty()) return std::nullopt;
  return median(it->second.gbps);
}

std::string copy_key(const Shape& shape) {
  return "copy/" + shape.suffix();
}

double time_copies(const Shape& shape, benchmark::IterationCount calls) {
  const Buffers b = buffers(shape.n());
  const std::span<const float> from = b.dy.first(shape.n());
  const std::span<float> to = b.dx.first(shape.n());
  threaded_copy(from, to);
  const auto start = std::chrono::steady_clock::now();
  for (benchmark::IterationCount i = 0; i < calls; ++i) {
    threaded_copy(from, to);
    benchmark::ClobberMemory();
  }
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  return elapsed.count();
}

double report_throughput(benchmark::State& state, const Shape& shape, double bytes_per_element,
                         const LoopTiming& timing, const std::string& peer_key) {
  const double elements = static_cast<double>(shape.n()) * static_cast<double>(state.iterations());
  const double gbps = bytes_per_element * elements / timing.seconds * 1e-9;
  const double copy_gbps = 8.0 * elements / timing.copy_seconds * 1e-9;
  state.counters["Gelem/s"] = elements / timing.seconds * 1e-9;
  state.counters["GB/s"] = gbps;
  state.counters["copy_GB/s"] = copy_gbps;
  state.counters["copy_ratio"] = gbps / copy_gbps;
  if (!peer_key.empty()) {
    if (const std::optional<double> peer = baseline_gbps(peer_key)) {
      state.counters["vs_onednn"] = gbps / *peer;
    }
  }
  return gbps;
}

}  // namespace relulab::bench

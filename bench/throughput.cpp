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

// The copy measured outside Google Benchmark: median of 9 repetitions of >= 10 ms each.
double measure_copy_gbps(const Shape& shape) {
  use_threads(shape.threads);
  const Buffers b = buffers(shape.n());
  const std::span<const float> x = b.x.first(shape.n());
  const std::span<float> y = b.y.first(shape.n());
  threaded_copy(x, y);
  std::vector<double> gbps;
  for (int rep = 0; rep < 9; ++rep) {
    std::size_t calls = 0;
    const auto start = std::chrono::steady_clock::now();
    std::chrono::duration<double> elapsed{};
    do {
      threaded_copy(x, y);
      ++calls;
      elapsed = std::chrono::steady_clock::now() - start;
    } while (elapsed.count() < 0.01);
    gbps.push_back(8.0 * static_cast<double>(shape.n() * calls) / elapsed.count() * 1e-9);
  }
  return median(std::move(gbps));
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

double copy_gbps(const Shape& shape) {
  const std::string key = copy_key(shape);
  if (!baseline_gbps(key)) record_baseline_run(key, 1, measure_copy_gbps(shape));
  return *baseline_gbps(key);
}

double report_throughput(benchmark::State& state, const Shape& shape, double bytes_per_element,
                         double seconds, const std::string& peer_key) {
  const double elements = static_cast<double>(shape.n()) * static_cast<double>(state.iterations());
  const double gbps = bytes_per_element * elements / seconds * 1e-9;
  state.counters["Gelem/s"] = elements / seconds * 1e-9;
  state.counters["GB/s"] = gbps;
  state.counters["copy_ratio"] = gbps / copy_gbps(shape);
  if (!peer_key.empty()) {
    if (const std::optional<double> peer = baseline_gbps(peer_key)) {
      state.counters["vs_onednn"] = gbps / *peer;
    }
  }
  return gbps;
}

}  // namespace relulab::bench

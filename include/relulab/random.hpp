// Rng: the one random number generator of the engine (xoshiro256**, seeded through splitmix64).
//
// Every random choice (initial weights, shuffling, dropout masks) draws from an Rng seeded from the
// run's seed, so the same seed and thread count give the same weights, and the state is four
// integers that a checkpoint stores to resume bit-identically. Not for cryptography.
#pragma once

#include <array>
#include <cstdint>

namespace relulab {

class Rng {
 public:
  using State = std::array<std::uint64_t, 4>;

  explicit Rng(std::uint64_t seed = 0) noexcept;
  // An independent generator for a sub-task (e.g. stream = step number for a dropout mask): the
  // same (seed, stream) always gives the same sequence, whatever was drawn before.
  static Rng derived(std::uint64_t seed, std::uint64_t stream) noexcept;

  std::uint64_t next_u64() noexcept;
  // Uniform in [0, 1), 24 random bits.
  float uniform() noexcept;
  // Uniform in [lo, hi).
  float uniform(float lo, float hi) noexcept { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [0, n), unbiased (Lemire's method); n > 0.
  std::uint64_t below(std::uint64_t n) noexcept;
  // Standard normal (Box-Muller on doubles, one value per call so the state alone defines the
  // sequence).
  float normal() noexcept;
  float normal(float mean, float stddev) noexcept { return mean + stddev * normal(); }

  const State& state() const noexcept { return s_; }
  void set_state(const State& s) noexcept { s_ = s; }

 private:
  State s_{};
};

}  // namespace relulab

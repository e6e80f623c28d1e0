// Tensor storage semantics and the Rng's determinism and distributions.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <stdexcept>

#include "relulab/random.hpp"
#include "relulab/tensor.hpp"

namespace relulab {
namespace {

TEST(Tensor, ZeroFilledAlignedAndSized) {
  const Tensor t({2, 3, 5});
  EXPECT_EQ(t.size(), 30u);
  EXPECT_EQ(t.rank(), 3);
  EXPECT_EQ(t.dim(2), 5);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.data()) % kTensorAlignment, 0u);
  for (float v : t.span()) EXPECT_EQ(v, 0.0f);
}

TEST(Tensor, CopiesShareStorageCloneDoesNot) {
  const Tensor a = Tensor::filled({4}, 1.0f);
  const Tensor b = a;  // NOLINT: the copy is the point
  b[0] = 7.0f;
  EXPECT_EQ(a[0], 7.0f);
  const Tensor c = a.clone();
  c[1] = 9.0f;
  EXPECT_EQ(a[1], 1.0f);
  EXPECT_FALSE(c.shares_storage_with(a));
}

TEST(Tensor, ReshapeAndRowsAreViews) {
  const Tensor a({3, 4});
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(i);
  const Tensor r = a.rows(1, 2);
  EXPECT_EQ(r.shape(), (Shape{2, 4}));
  EXPECT_EQ(r[0], 4.0f);
  r[0] = -1.0f;
  EXPECT_EQ(a[4], -1.0f);
  EXPECT_EQ(a.reshaped({12}).size(), 12u);
  EXPECT_THROW((void)a.reshaped({5}), std::invalid_argument);
  EXPECT_THROW((void)a.rows(2, 2), std::invalid_argument);
  EXPECT_THROW((void)a.rows(-1, 1), std::invalid_argument);
}

TEST(Tensor, RejectsNegativeAndOverflowingShapes) {
  EXPECT_THROW(Tensor({2, -1}), std::invalid_argument);
  const std::int64_t big = std::numeric_limits<std::int64_t>::max() / 2;
  EXPECT_THROW(Tensor({big, big}), std::invalid_argument);
  EXPECT_EQ(Tensor({0, 5}).size(), 0u);
}

TEST(Rng, SameSeedSameSequenceAndStateRoundTrip) {
  Rng a(42), b(42), c(43);
  EXPECT_EQ(a.next_u64(), b.next_u64());
  EXPECT_NE(a.next_u64(), c.next_u64());
  const Rng::State s = a.state();
  const std::uint64_t next = a.next_u64();
  b.set_state(s);
  EXPECT_EQ(b.next_u64(), next);
  EXPECT_EQ(Rng::derived(1, 5).next_u64(), Rng::derived(1, 5).next_u64());
  EXPECT_NE(Rng::derived(1, 5).next_u64(), Rng::derived(1, 6).next_u64());
}

TEST(Rng, UniformAndNormalMoments) {
  Rng rng(7);
  constexpr int kN = 200000;
  double sum = 0, sum2 = 0, usum = 0;
  float umin = 1, umax = 0;
  for (int i = 0; i < kN; ++i) {
    const double z = rng.normal();
    sum += z;
    sum2 += z * z;
    const float u = rng.uniform();
    usum += u;
    umin = std::min(umin, u);
    umax = std::max(umax, u);
  }
  // Standard errors: mean 1/sqrt(N) = 0.0022, variance sqrt(2/N) = 0.0032; 5 sigma bounds.
  EXPECT_NEAR(sum / kN, 0.0, 0.011);
  EXPECT_NEAR(sum2 / kN, 1.0, 0.016);
  EXPECT_NEAR(usum / kN, 0.5, 0.0035);
  EXPECT_GE(umin, 0.0f);
  EXPECT_LT(umax, 1.0f);
}

TEST(Rng, BelowIsUniformAndInRange) {
  Rng rng(3);
  int counts[3] = {0, 0, 0};
  for (int i = 0; i < 30000; ++i) {
    const std::uint64_t v = rng.below(3);
    ASSERT_LT(v, 3u);
    ++counts[v];
  }
  for (int c : counts) EXPECT_NEAR(c, 10000, 400);  // 5 sigma of a binomial(30000, 1/3)
}

}  // namespace
}  // namespace relulab

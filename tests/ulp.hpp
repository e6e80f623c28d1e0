// Error measures for float results against the long-double reference, in float ULPs.
#pragma once

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace relulab::test {

// ulp(v): the spacing of floats at |v|, 2^(e - 23) for |v| in [2^e, 2^(e + 1)), and the
// denormal spacing 2^-149 below FLT_MIN. Taken at the (double) reference value, not at the float
// it rounds to, so that rounding the reference cannot hide an error. Bit arithmetic on the
// double's exponent: the accuracy sweep calls this ~10^8 times.
inline double float_ulp(double v) {
  v = std::fabs(v);
  if (!(v >= FLT_MIN)) return 0x1p-149;
  std::uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  bits = (bits & 0x7ff0000000000000u) - (std::uint64_t{23} << 52);  // 2^(e - 23)
  double ulp;
  std::memcpy(&ulp, &bits, sizeof ulp);
  return ulp;
}

// |fast - ref| / max(ulp(ref), floor). floor = 0 gives the plain ULP error; a floor of
// 2^-24 * scale measures functions that cross zero inside a sum of terms of size ~scale, whose
// float result near the zero can be no better than the rounding of those terms.
inline double ulp_error(float fast, long double ref, double floor = 0.0) {
  const double unit = std::fmax(float_ulp(static_cast<double>(ref)), floor);
  return static_cast<double>(std::fabs(static_cast<long double>(fast) - ref)) / unit;
}

}  // namespace relulab::test

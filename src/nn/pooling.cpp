#include "relulab/nn/pooling.hpp"

#include <algorithm>
#include <bit>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

#include "relulab/threads.hpp"

namespace relulab::nn {
namespace {

// One pooling call: `planes` = N*C planes of h x w in, oh x ow out; window k, stride s.
struct Geometry {
  std::int64_t planes, h, w, oh, ow;
  int k, s;

  std::int64_t in_plane() const { return h * w; }
  std::int64_t out_plane() const { return oh * ow; }
};

// NCHW check and the k x k / stride s output shape, or why the input does not fit.
Result<Shape> windowed_shape(const std::string& layer, const Shape& input, int k, int s) {
  if (input.size() != 4) {
    return Status::invalid_argument(
        fmt::format("{}: input {} is not NCHW (rank 4)", layer, to_string(input)));
  }
  if (input[0] < 0 || input[1] < 0 || input[2] < k || input[3] < k) {
    return Status::invalid_argument(
        fmt::format("{}: the {}x{} window is larger than input {}", layer, k, k, to_string(input)));
  }
  return Shape{input[0], input[1], (input[2] - k) / s + 1, (input[3] - k) / s + 1};
}

Geometry geometry(const Shape& input, const Shape& output, int k, int s) {
  return {input[0] * input[1], input[2], input[3], output[2], output[3], k, s};
}

// Runs body(plane) for every plane, split over OpenMP threads when the work is worth a fork.
template <class Body>
void for_each_plane(std::int64_t planes, std::size_t work, const Body& body) {
  const int threads = work >= kParallelThreshold ? thread_count() : 1;
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (std::int64_t p = 0; p < planes; ++p) body(p);
}

Shape checked_output(const Result<Shape>& shape) {
  if (!shape) throw std::invalid_argument(shape.status().message());
  return shape.value();
}

void check_backward(const Layer& layer, const Shape& kept_output, const Tensor& dy) {
  if (kept_output.empty()) {
    throw std::invalid_argument(layer.describe() +
                                ": backward without a training forward (or after release())");
  }
  if (dy.shape() != kept_output) {
    throw std::invalid_argument(
        fmt::format("{}: backward got dy {}, expected {} from the last training forward",
                    layer.describe(), to_string(dy.shape()), to_string(kept_output)));
  }
}

int checked_kernel(int kernel, int stride, int max_kernel, const char* layer) {
  if (kernel < 1 || kernel > max_kernel || stride < 0) {
    throw std::invalid_argument(
        fmt::format("{}(kernel {}, stride {}): kernel must be in [1, {}] and stride not negative",
                    layer, kernel, stride, max_kernel));
  }
  return kernel;
}

// y = the window maximum, NaN winning as in PyTorch (`val > max || isnan(val)`), first maximum on
// ties; with kArgmax, argmax = its offset u*k + v in the window. Row by row, the window offsets
// outermost, with a branch-free select per element.
// The sizes are copied to locals and the pointers restrict-qualified because the byte stores to
// argmax may otherwise alias everything, which keeps the compiler from hoisting and selecting.
template <bool kArgmax>
void max_pool_plane(const Geometry& g, const float* x, float* y, std::uint8_t* argmax) {
  const std::int64_t s = g.s, w = g.w, oh = g.oh, ow = g.ow;
  const int k = g.k;
  for (std::int64_t i = 0; i < oh; ++i) {
    float* __restrict best = y + i * ow;
    std::uint8_t* __restrict at = kArgmax ? argmax + i * ow : nullptr;
    const float* __restrict first = x + i * s * w;
    for (std::int64_t j = 0; j < ow; ++j) best[j] = first[j * s];
    if (kArgmax) std::fill(at, at + ow, std::uint8_t{0});
    for (int u = 0; u < k; ++u) {
      for (int v = u == 0 ? 1 : 0; v < k; ++v) {
        const float* __restrict row = first + u * w + v;
        const auto offset = static_cast<std::uint8_t>(u * k + v);
        for (std::int64_t j = 0; j < ow; ++j) {
          const float value = row[j * s];
          // All ones where the new value wins (value != value: NaN), as bit masks: compilers turn
          // a float `take ? value : best` into a branch, which random data mispredicts.
          const std::uint32_t take =
              0u - static_cast<std::uint32_t>((value > best[j]) | (value != value));
          best[j] = std::bit_cast<float>((std::bit_cast<std::uint32_t>(value) & take) |
                                         (std::bit_cast<std::uint32_t>(best[j]) & ~take));
          if (kArgmax) {
            at[j] = static_cast<std::uint8_t>((offset & take) | (at[j] & ~take));
          }
        }
      }
    }
  }
}

// dx = 0, then dx[argmax of each window] += dy.
void max_pool_plane_backward(const Geometry& g, const std::uint8_t* argmax, const float* dy,
                             float* dx) {
  std::fill(dx, dx + g.in_plane(), 0.0f);
  for (std::int64_t i = 0; i < g.oh; ++i) {
    for (std::int64_t j = 0; j < g.ow; ++j) {
      const int at = argmax[i * g.ow + j];
      dx[(i * g.s + at / g.k) * g.w + j * g.s + at % g.k] += dy[i * g.ow + j];
    }
  }
}

void avg_pool_plane(const Geometry& g, const float* x, float* y) {
  const float area = static_cast<float>(g.k * g.k);
  for (std::int64_t i = 0; i < g.oh; ++i) {
    for (std::int64_t j = 0; j < g.ow; ++j) {
      const float* window = x + i * g.s * g.w + j * g.s;
      float sum = 0.0f;
      for (int u = 0; u < g.k; ++u) {
        for (int v = 0; v < g.k; ++v) sum += window[u * g.w + v];
      }
      y[i * g.ow + j] = sum / area;
    }
  }
}

void avg_pool_plane_backward(const Geometry& g, const float* dy, float* dx) {
  const float area = static_cast<float>(g.k * g.k);
  std::fill(dx, dx + g.in_plane(), 0.0f);
  for (std::int64_t i = 0; i < g.oh; ++i) {
    for (std::int64_t j = 0; j < g.ow; ++j) {
      const float share = dy[i * g.ow + j] / area;
      float* window = dx + i * g.s * g.w + j * g.s;
      for (int u = 0; u < g.k; ++u) {
        for (int v = 0; v < g.k; ++v) window[u * g.w + v] += share;
      }
    }
  }
}

}  // namespace

// ---- MaxPool2d ----

MaxPool2d::MaxPool2d(int kernel, int stride)
    : kernel_(checked_kernel(kernel, stride, 16, "maxpool2d")),
      stride_(stride == 0 ? kernel : stride) {}

std::string MaxPool2d::describe() const {
  return fmt::format("maxpool2d({}x{}, stride {})", kernel_, kernel_, stride_);
}

Result<Shape> MaxPool2d::output_shape(const Shape& input) const {
  return windowed_shape(describe(), input, kernel_, stride_);
}

Tensor MaxPool2d::forward(const Tensor& x, const Pass& pass) {
  const Shape out_shape = checked_output(output_shape(x.shape()));
  const Geometry g = geometry(x.shape(), out_shape, kernel_, stride_);
  Tensor y = Tensor::uninitialized(out_shape);
  const bool train = pass.mode == Mode::kTrain;
  if (train) {
    argmax_.resize(y.size());
    input_shape_ = x.shape();
    output_shape_ = out_shape;
  } else {
    release();
  }
  std::uint8_t* argmax = train ? argmax_.data() : nullptr;
  for_each_plane(g.planes, x.size(), [&](std::int64_t p) {
    if (argmax) {
      max_pool_plane<true>(g, x.data() + p * g.in_plane(), y.data() + p * g.out_plane(),
                           argmax + p * g.out_plane());
    } else {
      max_pool_plane<false>(g, x.data() + p * g.in_plane(), y.data() + p * g.out_plane(), nullptr);
    }
  });
  return y;
}

Tensor MaxPool2d::backward(const Tensor& dy) {
  check_backward(*this, output_shape_, dy);
  const Geometry g = geometry(input_shape_, output_shape_, kernel_, stride_);
  Tensor dx = Tensor::uninitialized(input_shape_);
  for_each_plane(g.planes, dx.size(), [&](std::int64_t p) {
    max_pool_plane_backward(g, argmax_.data() + p * g.out_plane(), dy.data() + p * g.out_plane(),
                            dx.data() + p * g.in_plane());
  });
  return dx;
}

std::vector<SavedBlock> MaxPool2d::saved() const {
  if (output_shape_.empty()) return {};
  return {{argmax_.data(), argmax_.size()}};
}

void MaxPool2d::release() {
  argmax_.clear();
  argmax_.shrink_to_fit();
  input_shape_.clear();
  output_shape_.clear();
}

// ---- AvgPool2d ----

AvgPool2d::AvgPool2d(int kernel, int stride)
    : kernel_(checked_kernel(kernel, stride, std::numeric_limits<int>::max(), "avgpool2d")),
      stride_(stride == 0 ? kernel : stride) {}

std::string AvgPool2d::describe() const {
  return fmt::format("avgpool2d({}x{}, stride {})", kernel_, kernel_, stride_);
}

Result<Shape> AvgPool2d::output_shape(const Shape& input) const {
  return windowed_shape(describe(), input, kernel_, stride_);
}

Tensor AvgPool2d::forward(const Tensor& x, const Pass& pass) {
  const Shape out_shape = checked_output(output_shape(x.shape()));
  const Geometry g = geometry(x.shape(), out_shape, kernel_, stride_);
  Tensor y = Tensor::uninitialized(out_shape);
  for_each_plane(g.planes, x.size(), [&](std::int64_t p) {
    avg_pool_plane(g, x.data() + p * g.in_plane(), y.data() + p * g.out_plane());
  });
  input_shape_ = pass.mode == Mode::kTrain ? x.shape() : Shape{};
  output_shape_ = pass.mode == Mode::kTrain ? out_shape : Shape{};
  return y;
}

Tensor AvgPool2d::backward(const Tensor& dy) {
  check_backward(*this, output_shape_, dy);
  const Geometry g = geometry(input_shape_, output_shape_, kernel_, stride_);
  Tensor dx = Tensor::uninitialized(input_shape_);
  for_each_plane(g.planes, dx.size(), [&](std::int64_t p) {
    avg_pool_plane_backward(g, dy.data() + p * g.out_plane(), dx.data() + p * g.in_plane());
  });
  return dx;
}

void AvgPool2d::release() {
  input_shape_.clear();
  output_shape_.clear();
}

// ---- GlobalAvgPool ----

Result<Shape> GlobalAvgPool::output_shape(const Shape& input) const {
  if (input.size() != 4 || input[0] < 0 || input[1] < 0 || input[2] < 1 || input[3] < 1) {
    return Status::invalid_argument(fmt::format(
        "{}: input {} is not NCHW (rank 4) with a non-empty image", describe(), to_string(input)));
  }
  return Shape{input[0], input[1]};
}

Tensor GlobalAvgPool::forward(const Tensor& x, const Pass& pass) {
  const Shape out_shape = checked_output(output_shape(x.shape()));
  const std::int64_t area = x.dim(2) * x.dim(3);
  Tensor y = Tensor::uninitialized(out_shape);
  for_each_plane(x.dim(0) * x.dim(1), x.size(), [&](std::int64_t p) {
    const float* plane = x.data() + p * area;
    double sum = 0.0;
    for (std::int64_t i = 0; i < area; ++i) sum += plane[i];
    y[static_cast<std::size_t>(p)] = static_cast<float>(sum / static_cast<double>(area));
  });
  input_shape_ = pass.mode == Mode::kTrain ? x.shape() : Shape{};
  return y;
}

Tensor GlobalAvgPool::backward(const Tensor& dy) {
  check_backward(*this, input_shape_.empty() ? Shape{} : Shape{input_shape_[0], input_shape_[1]},
                 dy);
  const std::int64_t area = input_shape_[2] * input_shape_[3];
  Tensor dx = Tensor::uninitialized(input_shape_);
  for_each_plane(dy.dim(0) * dy.dim(1), dx.size(), [&](std::int64_t p) {
    const float share = dy[static_cast<std::size_t>(p)] / static_cast<float>(area);
    std::fill(dx.data() + p * area, dx.data() + (p + 1) * area, share);
  });
  return dx;
}

void GlobalAvgPool::release() {
  input_shape_.clear();
}

}  // namespace relulab::nn

#include "relulab/nn/conv2d.hpp"

#include <omp.h>

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "relulab/gemm.hpp"
#include "relulab/threads.hpp"

namespace relulab::nn {
namespace {

// The sizes of one convolution: input [n, c, h, w], output [n, o, oh, ow], kernel k, stride s,
// padding p.
struct Geometry {
  std::int64_t n, c, h, w, o, oh, ow;
  std::int64_t k, s, p;

  std::int64_t col_rows() const { return c * k * k; }     // K of the GEMM
  std::int64_t out_plane() const { return oh * ow; }      // N of the GEMM
  std::int64_t in_image() const { return c * h * w; }     // floats of one input image
  std::int64_t out_image() const { return o * oh * ow; }  // floats of one output image
  std::int64_t padded_h() const { return h + 2 * p; }
  std::int64_t padded_w() const { return w + 2 * p; }
  std::int64_t padded_image() const { return p == 0 ? 0 : c * padded_h() * padded_w(); }
  bool pointwise() const { return k == 1 && s == 1 && p == 0; }
};

// xpad [c, h + 2p, w + 2p] = x [c, h, w] with p zeros on every side; x itself when p = 0.
const float* pad_image(const Geometry& g, const float* x, float* xpad) {
  if (g.p == 0) return x;
  std::fill(xpad, xpad + g.padded_image(), 0.0f);
  for (std::int64_t c = 0; c < g.c; ++c) {
    for (std::int64_t y = 0; y < g.h; ++y) {
      const float* src = x + (c * g.h + y) * g.w;
      std::copy(src, src + g.w, xpad + (c * g.padded_h() + y + g.p) * g.padded_w() + g.p);
    }
  }
  return xpad;
}

// x [c, h, w] = the interior of xpad (the adjoint of pad_image drops the border).
void unpad_image(const Geometry& g, const float* xpad, float* x) {
  for (std::int64_t c = 0; c < g.c; ++c) {
    for (std::int64_t y = 0; y < g.h; ++y) {
      const float* src = xpad + (c * g.padded_h() + y + g.p) * g.padded_w() + g.p;
      std::copy(src, src + g.w, x + (c * g.h + y) * g.w);
    }
  }
}

// col[(c*k + u)*k + v, i*ow + j] = xpad[c, i*s + u, j*s + v] for one padded image. Stride 1 gets
// a loop of its own so that it compiles to vector copies.
void im2col(const Geometry& g, const float* xpad, float* col) {
  const std::int64_t wp = g.padded_w();
  for (std::int64_t c = 0; c < g.c; ++c) {
    for (std::int64_t u = 0; u < g.k; ++u) {
      for (std::int64_t v = 0; v < g.k; ++v) {
        float* row = col + ((c * g.k + u) * g.k + v) * g.out_plane();
        for (std::int64_t i = 0; i < g.oh; ++i) {
          const float* src = xpad + (c * g.padded_h() + i * g.s + u) * wp + v;
          float* dst = row + i * g.ow;
          if (g.s == 1) {
            for (std::int64_t j = 0; j < g.ow; ++j) dst[j] = src[j];
          } else {
            for (std::int64_t j = 0; j < g.ow; ++j) dst[j] = src[j * g.s];
          }
        }
      }
    }
  }
}

// The adjoint of im2col: xpad = 0, then every col entry is added onto the padded pixel it was
// read from. Fixed loop order: deterministic.
void col2im(const Geometry& g, const float* col, float* xpad) {
  const std::int64_t wp = g.padded_w();
  std::fill(xpad, xpad + g.c * g.padded_h() * wp, 0.0f);
  for (std::int64_t c = 0; c < g.c; ++c) {
    for (std::int64_t u = 0; u < g.k; ++u) {
      for (std::int64_t v = 0; v < g.k; ++v) {
        const float* row = col + ((c * g.k + u) * g.k + v) * g.out_plane();
        for (std::int64_t i = 0; i < g.oh; ++i) {
          const float* src = row + i * g.ow;
          float* dst = xpad + (c * g.padded_h() + i * g.s + u) * wp + v;
          if (g.s == 1) {
            for (std::int64_t j = 0; j < g.ow; ++j) dst[j] += src[j];
          } else {
            for (std::int64_t j = 0; j < g.ow; ++j) dst[j * g.s] += src[j];
          }
        }
      }
    }
  }
}

// Per-thread scratch of one convolution call: an im2col matrix and, with padding, a padded image.
class Scratch {
 public:
  Scratch(const Geometry& g, int threads)
      : col_size_(g.pointwise() ? 0 : g.col_rows() * g.out_plane()),
        per_thread_(col_size_ + g.padded_image()),
        data_(Tensor::uninitialized({threads, per_thread_})) {}
  float* col(std::int64_t slot) const { return data_.data() + slot * per_thread_; }
  float* padded(std::int64_t slot) const { return col(slot) + col_size_; }

 private:
  std::int64_t col_size_, per_thread_;
  Tensor data_;
};

// Runs body(slot, begin, end) on the contiguous image ranges [n*t/T, n*(t+1)/T) of T OpenMP
// threads (T from threads_for). With one range the body runs outside any parallel region, so its
// GEMMs may use OpenBLAS's own threads. The split depends only on n and T.
template <class Body>
void for_each_image_range(std::int64_t n, int threads, const Body& body) {
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    const std::int64_t t = omp_get_thread_num();
    const std::int64_t count = omp_get_num_threads();
    body(t, n * t / count, n * (t + 1) / count);
  }
}

// Multiply-adds below which a convolution stays on one thread: about 20 us of GEMM on one core,
// more than a fork/join costs when the other cores are busy.
constexpr std::int64_t kParallelMacs = std::int64_t{1} << 20;

// T: thread_count(), at most one per image, and 1 for small work.
int threads_for(const Geometry& g) {
  if (g.n * g.out_image() * g.col_rows() < kParallelMacs) return 1;
  return static_cast<int>(std::clamp<std::int64_t>(thread_count(), 1, g.n));
}

// sum_i v[i] in double, as four interleaved partial sums (a fixed order, and not one long chain of
// dependent additions).
double plane_sum(const float* v, std::int64_t n) {
  double part[4] = {0.0, 0.0, 0.0, 0.0};
  std::int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    for (int k = 0; k < 4; ++k) part[k] += v[i + k];
  }
  for (; i < n; ++i) part[0] += v[i];
  return (part[0] + part[1]) + (part[2] + part[3]);
}

std::size_t to_size(std::int64_t v) {
  return static_cast<std::size_t>(v);
}

// z[n] = W col(x[n]) + b for every image: the bias goes in as GEMM's C operand (beta = 1 over
// rows pre-filled with b[o]) while the image is in cache, so the activation that follows is the
// only other pass over z. Without a bias, beta = 0.
void convolve(const Geometry& g, const float* x, const float* weight, const float* bias, float* z) {
  const int threads = threads_for(g);
  const Scratch scratch(g, threads);
  for_each_image_range(g.n, threads, [&](std::int64_t slot, std::int64_t begin, std::int64_t end) {
    for (std::int64_t n = begin; n < end; ++n) {
      const float* col = x + n * g.in_image();
      if (!g.pointwise()) {
        im2col(g, pad_image(g, col, scratch.padded(slot)), scratch.col(slot));
        col = scratch.col(slot);
      }
      float* z_n = z + n * g.out_image();
      for (std::int64_t o = 0; bias && o < g.o; ++o) {
        std::fill(z_n + o * g.out_plane(), z_n + (o + 1) * g.out_plane(), bias[o]);
      }
      gemm(Transpose::kNo, Transpose::kNo, to_size(g.o), to_size(g.out_plane()),
           to_size(g.col_rows()), 1.0f, weight, to_size(g.col_rows()), col, to_size(g.out_plane()),
           bias ? 1.0f : 0.0f, z_n, to_size(g.out_plane()));
    }
  });
}

// dx[n] = col2im(W^T dz[n]) (skipped when dx is null); dweight += sum_n dz[n] col(x[n])^T;
// dbias += sum of dz over n, i, j. Each thread sums its own images in order into its own dW and
// (double) db, and the partials are added in thread order afterwards.
void convolve_backward(const Geometry& g, const float* x, const float* dz, const float* weight,
                       float* dx, float* dweight, float* dbias) {
  const int threads = threads_for(g);
  const std::int64_t wsize = g.o * g.col_rows();
  const Scratch scratch(g, threads);
  const Tensor dw_partial({threads, wsize});
  std::vector<double> db_partial(to_size(threads * g.o), 0.0);
  for_each_image_range(g.n, threads, [&](std::int64_t slot, std::int64_t begin, std::int64_t end) {
    float* dw = dw_partial.data() + slot * wsize;
    double* db = db_partial.data() + slot * g.o;
    for (std::int64_t n = begin; n < end; ++n) {
      const float* dz_n = dz + n * g.out_image();
      float* dx_n = dx ? dx + n * g.in_image() : nullptr;
      const float* col = x + n * g.in_image();
      if (!g.pointwise()) {
        im2col(g, pad_image(g, col, scratch.padded(slot)), scratch.col(slot));
        col = scratch.col(slot);
      }
      // dW [o, K] += dz_n [o, P] col^T [P, K]
      gemm(Transpose::kNo, Transpose::kYes, to_size(g.o), to_size(g.col_rows()),
           to_size(g.out_plane()), 1.0f, dz_n, to_size(g.out_plane()), col, to_size(g.out_plane()),
           1.0f, dw, to_size(g.col_rows()));
      if (dbias) {
        for (std::int64_t o = 0; o < g.o; ++o) {
          db[o] += plane_sum(dz_n + o * g.out_plane(), g.out_plane());
        }
      }
      if (!dx_n) continue;
      // dcol [K, P] = W^T [K, o] dz_n [o, P], into the col buffer (its im2col is used up), or
      // straight into dx for a pointwise convolution
      float* dcol = g.pointwise() ? dx_n : scratch.col(slot);
      gemm(Transpose::kYes, Transpose::kNo, to_size(g.col_rows()), to_size(g.out_plane()),
           to_size(g.o), 1.0f, weight, to_size(g.col_rows()), dz_n, to_size(g.out_plane()), 0.0f,
           dcol, to_size(g.out_plane()));
      if (g.pointwise()) continue;
      if (g.p == 0) {
        col2im(g, dcol, dx_n);
      } else {
        col2im(g, dcol, scratch.padded(slot));
        unpad_image(g, scratch.padded(slot), dx_n);
      }
    }
  });
  for (std::int64_t i = 0; i < wsize; ++i) {
    float sum = dw_partial[to_size(i)];
    for (std::int64_t t = 1; t < threads; ++t) sum += dw_partial[to_size(t * wsize + i)];
    dweight[i] += sum;
  }
  if (dbias) {
    for (std::int64_t o = 0; o < g.o; ++o) {
      double sum = 0.0;
      for (std::int64_t t = 0; t < threads; ++t) sum += db_partial[to_size(t * g.o + o)];
      dbias[o] += static_cast<float>(sum);
    }
  }
}

}  // namespace

Conv2d::Conv2d(std::int64_t in_channels, std::int64_t out_channels, int kernel, int stride,
               int padding, std::optional<ActivationSpec> activation, bool bias)
    : in_(in_channels),
      out_(out_channels),
      kernel_(kernel),
      stride_(stride),
      padding_(padding),
      has_bias_(bias) {
  if (in_ < 1 || out_ < 1 || kernel_ < 1 || stride_ < 1 || padding_ < 0) {
    throw std::invalid_argument(fmt::format(
        "{}: channels, kernel and stride must be positive and padding not negative", describe()));
  }
  if (activation) step_.emplace(*activation);  // throws on an invalid spec
  const Shape shape{out_, in_, kernel_, kernel_};
  const std::int64_t fan_in = in_ * kernel_ * kernel_;
  const std::int64_t fan_out = out_ * kernel_ * kernel_;
  weight_ = {"weight", Tensor(shape), Tensor(shape), ParamRole::kWeight,
             fan_in,   fan_out,       activation};
  if (has_bias_) {
    bias_ = {"bias", Tensor({out_}), Tensor({out_}), ParamRole::kBias, fan_in, fan_out, activation};
  }
}

std::optional<ActivationSpec> Conv2d::activation() const {
  if (!step_) return std::nullopt;
  return step_->spec();
}

std::string Conv2d::describe() const {
  std::string text = fmt::format("conv2d({} -> {}, {}x{}, stride {}, padding {}", in_, out_,
                                 kernel_, kernel_, stride_, padding_);
  if (step_) text += ", " + relulab::describe(step_->spec());
  if (!has_bias_) text += ", no bias";
  return text + ")";
}

Result<Shape> Conv2d::output_shape(const Shape& input) const {
  if (input.size() != 4) {
    return Status::invalid_argument(
        fmt::format("{}: input {} is not NCHW (rank 4)", describe(), to_string(input)));
  }
  if (input[1] != in_) {
    return Status::invalid_argument(fmt::format("{}: input {} has {} channels, expected {}",
                                                describe(), to_string(input), input[1], in_));
  }
  if (input[0] < 0 || input[2] < 1 || input[3] < 1) {
    return Status::invalid_argument(
        fmt::format("{}: input {} has an empty image", describe(), to_string(input)));
  }
  const std::int64_t padded_h = input[2] + 2 * std::int64_t{padding_};
  const std::int64_t padded_w = input[3] + 2 * std::int64_t{padding_};
  if (padded_h < kernel_ || padded_w < kernel_) {
    return Status::invalid_argument(
        fmt::format("{}: kernel {}x{} is larger than the padded input {}x{} of {}", describe(),
                    kernel_, kernel_, padded_h, padded_w, to_string(input)));
  }
  return Shape{input[0], out_, (padded_h - kernel_) / stride_ + 1,
               (padded_w - kernel_) / stride_ + 1};
}

// ----------------------------------------------------------------------------------------------
// Forward:  z[n] = W col(x[n]) + b   W [O, C*k*k], col [C*k*k, OH*OW]   per image, bias in the gemm
//           y = f(z)                 y [N, O, OH, OW]                    in place over z, but for
//                                                                        an f that needs z
// Backward: dz = dy * f'(.)          from the mask, y or z that ActivationStep kept (dz = dy
//                                    without f)
//           dW += dz[n] col(x[n])^T  [O, OH*OW] x [OH*OW, C*k*k]         col recomputed from x
//           db += sum dz             per thread in double
//           dx[n] = col2im(W^T dz[n])                                    when input_gradient()
// ----------------------------------------------------------------------------------------------
Tensor Conv2d::forward(const Tensor& x, const Pass& pass) {
  Result<Shape> checked = output_shape(x.shape());
  if (!checked) throw std::invalid_argument(checked.status().message());
  const Shape& out_shape = checked.value();
  const Geometry g{x.dim(0),     in_,          x.dim(2), x.dim(3), out_,
                   out_shape[2], out_shape[3], kernel_,  stride_,  padding_};
  Tensor z = Tensor::uninitialized(out_shape);
  convolve(g, x.data(), weight_.value.data(), has_bias_ ? bias_.value.data() : nullptr, z.data());

  const bool train = pass.mode == Mode::kTrain;
  input_ = train ? x : Tensor();
  output_shape_ = train ? out_shape : Shape{};
  if (!step_) return z;
  // f runs in place over z unless z itself is what f' needs. In place costs ReLU a second pass for
  // its mask, which is cheaper than first-touching a new output tensor.
  if (train && step_->keeps() == ActivationStep::Keeps::kPreActivation) {
    return step_->forward(z, pass.mode);
  }
  activation_forward(step_->spec(), z.span(), z.span());
  if (train) {
    step_->keep_fused_output(z);
  } else {
    step_->release();
  }
  return z;
}

Tensor Conv2d::backward(const Tensor& dy) {
  if (output_shape_.empty()) {
    throw std::invalid_argument(describe() +
                                ": backward without a training forward (or after release())");
  }
  if (dy.shape() != output_shape_) {
    throw std::invalid_argument(
        fmt::format("{}: backward got dy {}, expected {} from the last training forward",
                    describe(), to_string(dy.shape()), to_string(output_shape_)));
  }
  const Tensor dz = step_ ? step_->backward(dy, *this) : dy;
  const Geometry g{input_.dim(0),    in_,     input_.dim(2), input_.dim(3), out_, output_shape_[2],
                   output_shape_[3], kernel_, stride_,       padding_};
  // The first layer of a model computes no dx: nobody reads the gradient of the data.
  Tensor dx = input_gradient() ? Tensor::uninitialized(input_.shape()) : Tensor();
  convolve_backward(g, input_.data(), dz.data(), weight_.value.data(),
                    input_gradient() ? dx.data() : nullptr, weight_.grad.data(),
                    has_bias_ ? bias_.grad.data() : nullptr);
  return dx;
}

std::vector<Parameter*> Conv2d::parameters() {
  if (has_bias_) return {&weight_, &bias_};
  return {&weight_};
}

std::vector<SavedBlock> Conv2d::saved() const {
  if (output_shape_.empty()) return {};
  std::vector<SavedBlock> blocks{{input_.data(), input_.bytes()}};
  if (step_) {
    for (const SavedBlock& b : step_->saved()) blocks.push_back(b);
  }
  return blocks;
}

void Conv2d::release() {
  input_ = Tensor();
  output_shape_.clear();
  if (step_) step_->release();
}

}  // namespace relulab::nn

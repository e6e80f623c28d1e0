// ReLU with a packed 1-bit mask on the GPU, in the CPU kernels' layout: bit (i % 8) of byte i / 8
// is !(x[i] <= 0) (x > 0 or NaN: dy passes where the forward output was NaN). Backward reads the
// mask and dy only: 1/32 of the memory of a saved float tensor.
//
// Little-endian 32-bit words hold bits 32w .. 32w + 31 in that same order, so the vector paths
// read and write whole words: forward, one warp per 128 elements (a float4 per lane, four words
// per warp, each OR-ed together from the nibbles of 8 lanes); backward, a float4 per thread and
// its nibble of a word. The floats outside whole chunks (and all of them where a pointer is
// misaligned) take a path of one mask byte per thread.
#include <cstddef>
#include <cstdint>
#include <stdexcept>

#include "cuda/launch.cuh"
#include "relulab/activation.hpp"
#include "relulab/cuda/activation.hpp"

namespace relulab::cuda {
namespace {

constexpr unsigned kFullWarp = 0xffffffffu;

__device__ inline bool passes(float v) {
  return !(v <= 0.0f);
}
__device__ inline float relu(float v) {
  return passes(v) ? v : 0.0f;
}

// chunks of 128 floats; warps loop over them, so every lane of a warp is in the loop or none is
// (the shuffles need the whole warp).
__global__ void forward_chunks(const float4* x, float4* y, std::uint32_t* mask,
                               std::size_t chunks) {
  const unsigned lane = threadIdx.x % 32;
  for (std::size_t chunk = grid_index() / 32; chunk < chunks; chunk += grid_stride() / 32) {
    const std::size_t i = chunk * 32 + lane;
    const float4 v = x[i];
    y[i] = make_float4(relu(v.x), relu(v.y), relu(v.z), relu(v.w));
    const unsigned nibble = unsigned{passes(v.x)} | unsigned{passes(v.y)} << 1 |
                            unsigned{passes(v.z)} << 2 | unsigned{passes(v.w)} << 3;
    // Elements 4 lane .. 4 lane + 3 are bits 4 (lane % 8) .. + 3 of word lane / 8.
    unsigned word = nibble << (4 * (lane % 8));
    word |= __shfl_xor_sync(kFullWarp, word, 1);
    word |= __shfl_xor_sync(kFullWarp, word, 2);
    word |= __shfl_xor_sync(kFullWarp, word, 4);
    if (lane % 8 == 0) mask[chunk * 4 + lane / 8] = word;
  }
}

// One mask byte (8 floats, fewer in the last) per thread.
__global__ void forward_bytes(const float* x, float* y, std::uint8_t* mask, std::size_t n) {
  const std::size_t bytes = (n + 7) / 8;
  for (std::size_t b = grid_index(); b < bytes; b += grid_stride()) {
    unsigned byte = 0;
    const std::size_t end = n - 8 * b < 8 ? n - 8 * b : 8;
    for (std::size_t k = 0; k < end; ++k) {
      const float v = x[8 * b + k];
      y[8 * b + k] = relu(v);
      byte |= unsigned{passes(v)} << k;
    }
    mask[b] = static_cast<std::uint8_t>(byte);
  }
}

// n4 float4s, n4 a multiple of 8 (whole mask words).
__global__ void backward_words(const std::uint32_t* mask, const float4* dy, float4* dx,
                               std::size_t n4) {
  for (std::size_t i = grid_index(); i < n4; i += grid_stride()) {
    const unsigned nibble = mask[i / 8] >> (4 * (i % 8));
    const float4 g = dy[i];
    dx[i] = make_float4(nibble & 1u ? g.x : 0.0f, nibble & 2u ? g.y : 0.0f,
                        nibble & 4u ? g.z : 0.0f, nibble & 8u ? g.w : 0.0f);
  }
}

__global__ void backward_floats(const std::uint8_t* mask, const float* dy, float* dx,
                                std::size_t n) {
  for (std::size_t i = grid_index(); i < n; i += grid_stride()) {
    dx[i] = mask[i / 8] >> (i % 8) & 1u ? dy[i] : 0.0f;
  }
}

}  // namespace

void relu_forward_mask(std::span<const float> x, std::span<float> y, std::span<std::uint8_t> mask,
                       Stream stream) {
  require(x.size() == y.size() && mask.size() == relu_mask_bytes(x.size()),
          "cuda::relu_forward_mask: y must match x and mask must hold relu_mask_bytes(x.size())");
  const std::size_t n = x.size();
  if (n == 0) return;
  const auto s = static_cast<cudaStream_t>(stream);
  std::size_t done = 0;
  if (aligned(x.data(), 16) && aligned(y.data(), 16) && aligned(mask.data(), 4)) {
    const std::size_t chunks = n / 128;
    if (chunks > 0) {
      launch(forward_chunks, chunks * 32, s, reinterpret_cast<const float4*>(x.data()),
             reinterpret_cast<float4*>(y.data()), reinterpret_cast<std::uint32_t*>(mask.data()),
             chunks);
    }
    done = chunks * 128;
  }
  if (done < n) {
    launch(forward_bytes, (n - done + 7) / 8, s, x.data() + done, y.data() + done,
           mask.data() + done / 8, n - done);
  }
  check_launch("relulab::cuda relu_forward_mask launch");
}

void relu_backward_mask(std::span<const std::uint8_t> mask, std::span<const float> dy,
                        std::span<float> dx, Stream stream) {
  require(
      dy.size() == dx.size() && mask.size() == relu_mask_bytes(dy.size()),
      "cuda::relu_backward_mask: dx must match dy and mask must hold relu_mask_bytes(dy.size())");
  const std::size_t n = dy.size();
  if (n == 0) return;
  const auto s = static_cast<cudaStream_t>(stream);
  std::size_t done = 0;
  if (aligned(dy.data(), 16) && aligned(dx.data(), 16) && aligned(mask.data(), 4)) {
    const std::size_t n4 = n / 32 * 8;  // whole words only: the mask may end inside a word
    if (n4 > 0) {
      launch(backward_words, n4, s, reinterpret_cast<const std::uint32_t*>(mask.data()),
             reinterpret_cast<const float4*>(dy.data()), reinterpret_cast<float4*>(dx.data()), n4);
    }
    done = n4 * 4;
  }
  if (done < n) {
    launch(backward_floats, n - done, s, mask.data() + done / 8, dy.data() + done, dx.data() + done,
           n - done);
  }
  check_launch("relulab::cuda relu_backward_mask launch");
}

}  // namespace relulab::cuda

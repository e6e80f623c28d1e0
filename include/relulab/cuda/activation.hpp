// The activation table on an NVIDIA GPU: the kernels of relulab/activation.hpp on device memory.
// Built when nvcc is found (CMake option RELULAB_CUDA=AUTO|ON|OFF); link relulab::cuda. Nothing
// here includes CUDA's headers: spans and pointers are plain floats in device memory, and a
// stream is a cudaStream_t passed as void* (nullptr: the default stream).
//
// Math: every kernel evaluates the reference formulas (src/activation/formulas.hpp) in double and
// rounds once to float, so results are within ~0.5 ULP of the long-double reference: inside the
// ULP bounds the CPU kernels are tested with. Loads and stores are 16 bytes wide where every
// pointer is 16-byte aligned, in grid-stride loops; other alignments take a 4-byte path.
//
// Error behaviour: as the CPU kernels, mismatched span sizes (and backward_from_output for an
// activation whose table entry has no such form) throw std::invalid_argument. A CUDA failure
// (no device, no driver, an invalid pointer, a failed launch) throws CudaError naming the call and
// CUDA's message. Kernels are asynchronous on their stream: a fault inside a kernel that has
// started surfaces at the next synchronize() or copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>

#include "relulab/activation.hpp"

namespace relulab::cuda {

class CudaError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using Stream = void*;  // a cudaStream_t

// Whether this process can use CUDA: the number of devices, or 0 and CUDA's reason, e.g. "no
// CUDA-capable device is detected", or "CUDA driver version is insufficient for CUDA runtime
// version" (no NVIDIA driver at all, or one older than the CUDA runtime relulab was built with).
struct DeviceQuery {
  int count = 0;
  std::string problem;  // empty when count > 0
};
DeviceQuery query_devices();
// query_devices().count (never throws).
int device_count() noexcept;
// The current device, e.g. "NVIDIA H200 (sm_90, 132 SMs, 140.4 GiB, CUDA driver 13.0)"; throws
// CudaError where there is none.
std::string device_description();
// Waits for the stream's work; throws CudaError for an error any of it raised.
void synchronize(Stream stream = nullptr);

// n elements of T in device memory (cudaMalloc), freed on destruction; move-only.
template <class T>
class DeviceArray {
 public:
  DeviceArray() = default;
  explicit DeviceArray(std::size_t n);
  DeviceArray(DeviceArray&& other) noexcept;
  DeviceArray& operator=(DeviceArray&& other) noexcept;
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  ~DeviceArray();

  std::span<T> span() const { return {data_, size_}; }
  T* data() const { return data_; }
  std::size_t size() const { return size_; }

  // Host <-> device copies of the whole array; sizes must match. Synchronous, on the legacy
  // default stream: they wait for work on blocking streams, not for a cudaStreamNonBlocking one
  // (synchronize() that stream first).
  void upload(std::span<const T> host);
  void download(std::span<T> host) const;

 private:
  T* data_ = nullptr;
  std::size_t size_ = 0;
};
extern template class DeviceArray<float>;
extern template class DeviceArray<std::uint8_t>;

// y = f(x); in place (y.data() == x.data()) allowed.
void activation_forward(const ActivationSpec& spec, std::span<const float> x, std::span<float> y,
                        Stream stream = nullptr);
// dx = dy * f'(x); dx may alias dy. As on the CPU, relu, relu6 and hardsigmoid select: dx = 0
// where f'(x) = 0 even for a NaN or infinite dy; the others multiply (NaN dy gives NaN dx).
void activation_backward(const ActivationSpec& spec, std::span<const float> x,
                         std::span<const float> dy, std::span<float> dx, Stream stream = nullptr);
// dx = dy * f'(x) from y = f(x), for activations whose info has backward_from_output.
void activation_backward_from_output(const ActivationSpec& spec, std::span<const float> y,
                                     std::span<const float> dy, std::span<float> dx,
                                     Stream stream = nullptr);
// y[r, c] = f(x[r, c] + bias[c]) on a row-major [rows, cols] matrix; in place allowed.
void bias_activation_forward_rows(const ActivationSpec& spec, std::size_t rows, std::size_t cols,
                                  std::span<const float> x, std::span<const float> bias,
                                  std::span<float> y, Stream stream = nullptr);
// y[n, c, i] = f(x[n, c, i] + bias[c]), i < hw, on an NCHW tensor; in place allowed.
void bias_activation_forward_nchw(const ActivationSpec& spec, std::size_t n, std::size_t c,
                                  std::size_t hw, std::span<const float> x,
                                  std::span<const float> bias, std::span<float> y,
                                  Stream stream = nullptr);
// ReLU with the CPU kernels' 1-bit mask layout: bit (i % 8) of mask[i / 8] is !(x[i] <= 0)
// (relu_mask_bytes(n) bytes; the unused high bits of the last byte are written as 0).
void relu_forward_mask(std::span<const float> x, std::span<float> y, std::span<std::uint8_t> mask,
                       Stream stream = nullptr);
void relu_backward_mask(std::span<const std::uint8_t> mask, std::span<const float> dy,
                        std::span<float> dx, Stream stream = nullptr);

}  // namespace relulab::cuda

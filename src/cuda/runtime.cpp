// Devices, streams and device memory for the CUDA kernels: the thin layer over the CUDA runtime.
#include <cuda_runtime.h>

#include <cstdint>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "cuda/check.hpp"
#include "relulab/cuda/activation.hpp"

namespace relulab::cuda {

void check(cudaError_t status, const char* what) {
  if (status == cudaSuccess) return;
  throw CudaError(
      fmt::format("{}: {} ({})", what, cudaGetErrorString(status), cudaGetErrorName(status)));
}

DeviceQuery query_devices() {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    (void)cudaGetLastError();  // clear it: no driver or no device is not an error for later calls
    return {0, fmt::format("{} ({})", cudaGetErrorString(status), cudaGetErrorName(status))};
  }
  if (count == 0) return {0, "no CUDA-capable device is detected"};
  return {count, {}};
}

int device_count() noexcept {
  try {
    return query_devices().count;
  } catch (...) {  // only std::bad_alloc of the message
    return 0;
  }
}

std::string device_description() {
  int device = 0;
  check(cudaGetDevice(&device), "cudaGetDevice");
  cudaDeviceProp p{};
  check(cudaGetDeviceProperties(&p, device), "cudaGetDeviceProperties");
  int driver = 0;
  check(cudaDriverGetVersion(&driver), "cudaDriverGetVersion");
  return fmt::format("{} (sm_{}{}, {} SMs, {:.1f} GiB, CUDA driver {}.{})", p.name, p.major,
                     p.minor, p.multiProcessorCount,
                     static_cast<double>(p.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0),
                     driver / 1000, driver % 1000 / 10);
}

void synchronize(Stream stream) {
  check(cudaStreamSynchronize(static_cast<cudaStream_t>(stream)), "cudaStreamSynchronize");
}

template <class T>
DeviceArray<T>::DeviceArray(std::size_t n) : size_(n) {
  if (n == 0) return;
  void* p = nullptr;
  check(cudaMalloc(&p, n * sizeof(T)), "cudaMalloc");
  data_ = static_cast<T*>(p);
}

template <class T>
DeviceArray<T>::DeviceArray(DeviceArray&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

template <class T>
DeviceArray<T>& DeviceArray<T>::operator=(DeviceArray&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) (void)cudaFree(data_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

template <class T>
DeviceArray<T>::~DeviceArray() {
  if (data_ != nullptr) (void)cudaFree(data_);  // a destructor cannot report; cudaFree syncs
}

template <class T>
void DeviceArray<T>::upload(std::span<const T> host) {
  if (host.size() != size_) throw std::invalid_argument("DeviceArray::upload: size mismatch");
  if (size_ == 0) return;
  check(cudaMemcpy(data_, host.data(), size_ * sizeof(T), cudaMemcpyHostToDevice),
        "cudaMemcpy (host to device)");
}

template <class T>
void DeviceArray<T>::download(std::span<T> host) const {
  if (host.size() != size_) throw std::invalid_argument("DeviceArray::download: size mismatch");
  if (size_ == 0) return;
  check(cudaMemcpy(host.data(), data_, size_ * sizeof(T), cudaMemcpyDeviceToHost),
        "cudaMemcpy (device to host)");
}

template class DeviceArray<float>;
template class DeviceArray<std::uint8_t>;

}  // namespace relulab::cuda

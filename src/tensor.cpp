#include "relulab/tensor.hpp"

#include <malloc.h>

#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>

namespace relulab {

std::size_t shape_size(const Shape& shape) {
  std::size_t n = 1;
  for (const std::int64_t d : shape) {
    if (d < 0)
      throw std::invalid_argument("tensor shape " + to_string(shape) + " has a negative dimension");
    const auto u = static_cast<std::size_t>(d);
    if (u != 0 && n > std::numeric_limits<std::size_t>::max() / sizeof(float) / u) {
      throw std::invalid_argument("tensor shape " + to_string(shape) + " has too many elements");
    }
    n *= u;
  }
  return n;
}

std::string to_string(const Shape& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

void retain_freed_tensor_memory() noexcept {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

namespace {

// 64-byte aligned, rounded up to whole cache lines so that SIMD tails never touch another block.
std::shared_ptr<float[]> allocate(std::size_t n) {
  const std::size_t bytes =
      (n * sizeof(float) + kTensorAlignment - 1) / kTensorAlignment * kTensorAlignment;
  void* p = std::aligned_alloc(kTensorAlignment, bytes == 0 ? kTensorAlignment : bytes);
  if (p == nullptr) throw std::bad_alloc();
  return std::shared_ptr<float[]>(static_cast<float*>(p), [](float* q) { std::free(q); });
}

}  // namespace

Tensor Tensor::uninitialized(Shape shape) {
  const std::size_t n = shape_size(shape);
  auto storage = allocate(n);
  float* data = storage.get();
  return Tensor(std::move(storage), data, std::move(shape), n);
}

Tensor::Tensor(Shape shape) : Tensor(uninitialized(std::move(shape))) {
  zero();
}

Tensor Tensor::filled(Shape shape, float value) {
  Tensor t = uninitialized(std::move(shape));
  t.fill(value);
  return t;
}

Tensor Tensor::wrap(float* data, Shape shape) {
  const std::size_t n = shape_size(shape);
  return Tensor(nullptr, data, std::move(shape), n);
}

Tensor Tensor::clone() const {
  Tensor t = uninitialized(shape_);
  if (size_ != 0) std::memcpy(t.data_, data_, bytes());
  return t;
}

Tensor Tensor::reshaped(Shape shape) const {
  const std::size_t n = shape_size(shape);
  if (n != size_) {
    throw std::invalid_argument("cannot reshape " + to_string(shape_) + " to " + to_string(shape));
  }
  return Tensor(storage_, data_, std::move(shape), n);
}

Tensor Tensor::rows(std::int64_t begin, std::int64_t count) const {
  if (shape_.empty() || begin < 0 || count < 0 || begin + count > shape_[0]) {
    throw std::invalid_argument("rows [" + std::to_string(begin) + ", " +
                                std::to_string(begin + count) + ") out of range for shape " +
                                to_string(shape_));
  }
  Shape shape = shape_;
  shape[0] = count;
  const std::size_t row = shape_[0] == 0 ? 0 : size_ / static_cast<std::size_t>(shape_[0]);
  return Tensor(storage_, data_ + static_cast<std::size_t>(begin) * row, std::move(shape),
                row * static_cast<std::size_t>(count));
}

void Tensor::fill(float value) const {
  for (std::size_t i = 0; i < size_; ++i) data_[i] = value;
}

void Tensor::zero() const {
  if (size_ != 0) std::memset(data_, 0, bytes());
}

}  // namespace relulab

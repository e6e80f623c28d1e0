// Tensor: float32, N-d, contiguous, row-major, 64-byte aligned.
//
// A Tensor is a handle to storage, as torch.Tensor is: copying a Tensor shares the data, clone()
// copies it. A Tensor made by wrap() views memory the caller owns and keeps alive. There are no
// hidden buffers: a tensor's memory lives exactly as long as some handle to it.
//
// Error behaviour: constructors and reshaped() throw std::invalid_argument on a negative dimension,
// an element count that overflows size_t, or (reshaped) a count that differs; std::bad_alloc when
// memory runs out. Element access is unchecked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace relulab {

using Shape = std::vector<std::int64_t>;

// Product of the dimensions; throws std::invalid_argument on a negative one or on overflow.
std::size_t shape_size(const Shape& shape);
// "[128, 1, 28, 28]".
std::string to_string(const Shape& shape);

inline constexpr std::size_t kTensorAlignment = 64;

// Training allocates and frees the same activation tensors (up to tens of MB) at every step. With
// glibc's defaults, blocks above the dynamic mmap threshold and the heap top beyond the trim
// threshold go back to the kernel after each step and are page-faulted in again on the next (a
// third of an MLP step on a 2-core machine). This keeps freed memory in the process: it raises
// glibc's mmap threshold to its maximum (32 MiB) and the trim threshold to 256 MiB. Process-wide;
// Trainer::create calls it.
void retain_freed_tensor_memory() noexcept;

class Tensor {
 public:
  Tensor() = default;  // no storage, shape [0]
  // Zero-filled.
  explicit Tensor(Shape shape);
  // Contents undefined: for outputs that a kernel overwrites whole.
  static Tensor uninitialized(Shape shape);
  static Tensor filled(Shape shape, float value);
  // A view of memory the caller owns; it must outlive every handle to the view.
  static Tensor wrap(float* data, Shape shape);

  Tensor clone() const;
  // Same storage, another shape with the same element count.
  Tensor reshaped(Shape shape) const;
  // Rows [begin, begin + count) along the first dimension, sharing storage.
  Tensor rows(std::int64_t begin, std::int64_t count) const;

  const Shape& shape() const noexcept { return shape_; }
  int rank() const noexcept { return static_cast<int>(shape_.size()); }
  std::int64_t dim(int i) const noexcept { return shape_[static_cast<std::size_t>(i)]; }
  std::size_t size() const noexcept { return size_; }
  std::size_t bytes() const noexcept { return size_ * sizeof(float); }
  bool empty() const noexcept { return size_ == 0; }

  float* data() const noexcept { return data_; }
  std::span<float> span() const noexcept { return {data_, size_}; }
  float& operator[](std::size_t i) const noexcept { return data_[i]; }

  void fill(float value) const;
  void zero() const;
  // True when both handles point to the same first element.
  bool shares_storage_with(const Tensor& other) const noexcept { return data_ == other.data_; }

 private:
  Tensor(std::shared_ptr<float[]> storage, float* data, Shape shape, std::size_t size)
      : storage_(std::move(storage)), data_(data), shape_(std::move(shape)), size_(size) {}

  std::shared_ptr<float[]> storage_;
  float* data_ = nullptr;
  Shape shape_{0};
  std::size_t size_ = 0;
};

}  // namespace relulab

#include "relulab/data/idx.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <string>
#include <vector>

#include "relulab/data/file_bytes.hpp"

namespace relulab::data {
namespace {

// What an IDX file must hold: its magic number (0x08 = unsigned byte elements; the low byte is the
// rank) and words for messages.
struct IdxKind {
  std::uint32_t magic;
  const char* description;  // of the magic number
  const char* elements;     // what the bytes after the header are
};

constexpr IdxKind kImages = {0x00000803, "unsigned-byte images, rank 3", "pixels"};
constexpr IdxKind kLabels = {0x00000801, "unsigned-byte labels, rank 1", "labels"};

std::uint32_t big_endian_u32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

// An IDX file's dimensions and the offset of its first element.
struct IdxLayout {
  std::vector<std::uint32_t> dims;
  std::size_t data_offset = 0;
};

std::string join_dims(const std::vector<std::uint32_t>& dims) {
  return fmt::format("{}", fmt::join(dims, " x "));
}

// Checks the magic number, reads the dimensions, and checks that their product neither overflows
// nor disagrees with the bytes present after the header.
Result<IdxLayout> parse_idx_header(std::span<const std::uint8_t> bytes, std::string_view name,
                                   const IdxKind& kind) {
  const std::uint32_t magic = kind.magic;
  const char* what = kind.description;
  const std::size_t rank = magic & 0xffu;
  if (bytes.size() < 4) {
    return Status::corrupt_data(fmt::format(
        "{}: byte 0: expected the 4-byte IDX magic number 0x{:08x} ({}), found only {} bytes "
        "(truncated header)",
        name, magic, what, bytes.size()));
  }
  if (const std::uint32_t found = big_endian_u32(bytes.data()); found != magic) {
    return Status::corrupt_data(
        fmt::format("{}: byte 0: expected the IDX magic number 0x{:08x} ({}), found 0x{:08x}", name,
                    magic, what, found));
  }
  IdxLayout layout;
  layout.data_offset = 4 + 4 * rank;
  if (bytes.size() < layout.data_offset) {
    return Status::corrupt_data(fmt::format(
        "{}: byte 4: expected {} 4-byte dimension sizes (a {}-byte header), found only {} bytes "
        "(truncated header)",
        name, rank, layout.data_offset, bytes.size()));
  }
  for (std::size_t i = 0; i < rank; ++i) {
    layout.dims.push_back(big_endian_u32(bytes.data() + 4 + 4 * i));
    if (layout.dims.back() == 0) {
      return Status::corrupt_data(
          fmt::format("{}: byte {}: expected a nonzero size for dimension {} ({}), found 0", name,
                      4 + 4 * i, i, what));
    }
  }
  std::uint64_t product = 1;
  for (const std::uint32_t d : layout.dims) {
    if (__builtin_mul_overflow(product, std::uint64_t{d}, &product)) {
      return Status::corrupt_data(fmt::format(
          "{}: byte 4: dimensions {} overflow 64 bits: expected their product to be the {} bytes "
          "present after the header (corrupt header)",
          name, join_dims(layout.dims), bytes.size() - layout.data_offset));
    }
  }
  const std::size_t present = bytes.size() - layout.data_offset;
  if (product != present) {
    return Status::corrupt_data(
        fmt::format("{}: byte {}: dimensions {} need {} bytes of {}, found {} ({})", name,
                    layout.data_offset, join_dims(layout.dims), product, kind.elements, present,
                    product > present ? "truncated file" : "trailing bytes"));
  }
  return layout;
}

Status check_num_classes(int num_classes) {
  if (num_classes >= 1 && num_classes <= 256) return Status::ok();
  return Status::invalid_argument(
      fmt::format("IDX labels are bytes: expected num_classes in 1..256, found {}", num_classes));
}

}  // namespace

Result<Dataset> read_idx_bytes(std::span<const std::uint8_t> images, std::string_view images_name,
                               std::span<const std::uint8_t> labels, std::string_view labels_name,
                               int num_classes) {
  if (Status s = check_num_classes(num_classes); !s) return s;
  const Result<IdxLayout> image_layout = parse_idx_header(images, images_name, kImages);
  if (!image_layout) return image_layout.status();
  const Result<IdxLayout> label_layout = parse_idx_header(labels, labels_name, kLabels);
  if (!label_layout) return label_layout.status();

  const std::vector<std::uint32_t>& dims = image_layout.value().dims;
  const std::uint32_t n = dims[0];
  if (label_layout.value().dims[0] != n) {
    return Status::corrupt_data(
        fmt::format("{}: byte 4: expected {} labels, one per image in {}, found {}", labels_name, n,
                    images_name, label_layout.value().dims[0]));
  }
  const std::size_t label_offset = label_layout.value().data_offset;
  Dataset data;
  data.labels.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t label = labels[label_offset + i];
    if (label >= num_classes) {
      return Status::corrupt_data(fmt::format("{}: byte {}: expected a label in 0..{}, found {}",
                                              labels_name, label_offset + i, num_classes - 1,
                                              label));
    }
    data.labels[i] = label;
  }
  data.features = Tensor::uninitialized({n, 1, dims[1], dims[2]});
  scale_pixels(images.subspan(image_layout.value().data_offset), data.features.span());
  data.num_classes = num_classes;
  data.source = std::string(images_name);
  return data;
}

Result<Dataset> read_idx(const std::filesystem::path& images, const std::filesystem::path& labels,
                         int num_classes) {
  if (Status s = check_num_classes(num_classes); !s) return s;
  bool images_gz = false;
  bool labels_gz = false;
  const auto image_bytes = read_file_bytes(images, kMaxDataFileBytes, &images_gz);
  if (!image_bytes) return image_bytes.status();
  const auto label_bytes = read_file_bytes(labels, kMaxDataFileBytes, &labels_gz);
  if (!label_bytes) return label_bytes.status();
  Result<Dataset> data =
      read_idx_bytes(image_bytes.value(), describe_contents(images, images_gz), label_bytes.value(),
                     describe_contents(labels, labels_gz), num_classes);
  if (data) data.value().source = images.string();
  return data;
}

}  // namespace relulab::data

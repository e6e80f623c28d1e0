// libFuzzer target: any bytes given to the safetensors parser give a file or an error, never a
// crash, a read out of bounds or an allocation the input does not justify.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "relulab/io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto result = relulab::io::parse_safetensors(std::span(data, size), "fuzz-input");
  if (!result.is_ok()) return 0;
  // The widest conversion is 2-byte F16/BF16 to 4-byte float: the tensors of a valid file hold at
  // most twice its bytes.
  std::size_t tensor_bytes = 0;
  for (const auto& [name, tensor] : result.value().tensors) tensor_bytes += tensor.bytes();
  if (tensor_bytes > 2 * size) std::abort();
  return 0;
}

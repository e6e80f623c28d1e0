#include "data_parallel.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace relulab::train {

Share share_of(std::int64_t count, int rank, int ranks) {
  return {count * rank / ranks, count * (rank + 1) / ranks};
}

std::vector<int> allreduce_gradients(Communicator& comm, nn::Model& model, bool bad_here,
                                     std::vector<float>& buffer) {
  const std::vector<nn::Parameter*> params = model.net.parameters();
  std::size_t total = 0;
  for (const nn::Parameter* p : params) total += p->grad.size();
  const auto ranks = static_cast<std::size_t>(comm.size());
  // resize, not assign: every element is written below, and zero-filling a gradient-sized buffer
  // each step would cost a pass over memory on the hot path.
  buffer.resize(total + ranks);
  std::fill(buffer.begin() + static_cast<std::ptrdiff_t>(total), buffer.end(), 0.0f);
  std::size_t at = 0;
  for (const nn::Parameter* p : params) {
    std::copy_n(p->grad.data(), p->grad.size(), buffer.data() + at);
    at += p->grad.size();
  }
  buffer[total + static_cast<std::size_t>(comm.rank())] = bad_here ? 1.0f : 0.0f;
  comm.allreduce_sum(buffer);
  at = 0;
  for (const nn::Parameter* p : params) {
    std::copy_n(buffer.data() + at, p->grad.size(), p->grad.data());
    at += p->grad.size();
  }
  std::vector<int> bad;
  for (std::size_t r = 0; r < ranks; ++r)
    if (buffer[total + r] != 0.0f) bad.push_back(static_cast<int>(r));
  return bad;
}

void average_buffers(Communicator& comm, nn::Model& model) {
  const float scale = 1.0f / static_cast<float>(comm.size());
  for (nn::Buffer* b : model.net.buffers()) {
    comm.allreduce_sum(b->value.span());
    for (float& v : b->value.span()) v *= scale;
  }
}

void broadcast_state(Communicator& comm, nn::Model& model, nn::Optimizer& optimizer,
                     std::span<std::byte> scalars) {
  for (nn::Parameter* p : model.net.parameters())
    comm.broadcast(std::as_writable_bytes(p->value.span()), 0);
  for (nn::Buffer* b : model.net.buffers())
    comm.broadcast(std::as_writable_bytes(b->value.span()), 0);
  // state() returns copies: broadcast them and load them back.
  std::vector<nn::Buffer> state = optimizer.state();
  for (nn::Buffer& s : state) comm.broadcast(std::as_writable_bytes(s.value.span()), 0);
  // The same optimiser over the same parameters on every rank: the names and shapes match.
  if (!comm.is_root()) {
    if (const Status s = optimizer.load_state(state); !s)
      throw std::logic_error("broadcast optimiser state: " + s.message());
  }
  comm.broadcast(scalars, 0);
}

std::uint64_t parameter_hash(nn::Model& model) {
  // FNV-1a over the 32-bit patterns.
  std::uint64_t h = 14695981039346656037ull;
  for (const nn::Parameter* p : model.net.parameters()) {
    for (const float v : p->value.span()) {
      std::uint32_t bits;
      std::memcpy(&bits, &v, sizeof bits);
      h = (h ^ bits) * 1099511628211ull;
    }
  }
  return h;
}

}  // namespace relulab::train

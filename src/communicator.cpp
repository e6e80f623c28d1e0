#include "relulab/communicator.hpp"

#include <cstdlib>

namespace relulab {
namespace {

class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int local_size() const override { return 1; }
  void allreduce_sum(std::span<float>) override {}
  void allreduce_sum(std::span<double>) override {}
  void allreduce_max(std::span<std::uint64_t>) override {}
  void broadcast(std::span<std::byte>, int) override {}
  std::vector<std::string> gather(const std::string& mine) override { return {mine}; }
  void wait_for_all() override {}
  [[noreturn]] void abort(int code) override { std::exit(code); }
};

}  // namespace

void Communicator::broadcast(std::string& text, int root) {
  std::uint64_t length = text.size();
  broadcast(std::as_writable_bytes(std::span(&length, 1)), root);
  text.resize(length);
  broadcast(std::as_writable_bytes(std::span(text.data(), text.size())), root);
}

std::int64_t Communicator::sum(std::int64_t value) {
  // Exact below 2^53, far above any count of examples or steps.
  double v = static_cast<double>(value);
  allreduce_sum(std::span(&v, 1));
  return static_cast<std::int64_t>(v);
}

double Communicator::sum(double value) {
  allreduce_sum(std::span(&value, 1));
  return value;
}

bool Communicator::agree(std::uint64_t value) {
  // max(~v) = ~min(v): every rank sees the same maximum and minimum, and they agree if equal.
  std::uint64_t both[2] = {value, ~value};
  allreduce_max(both);
  return both[0] == ~both[1];
}

Communicator& single_process() {
  static SingleProcess one;
  return one;
}

int launcher_world_size() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"}) {
    if (const char* v = std::getenv(name); v != nullptr && *v != '\0') {
      const int n = std::atoi(v);
      if (n > 0) return n;
    }
  }
  return 1;
}

}  // namespace relulab

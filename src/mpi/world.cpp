#include "relulab/mpi/world.hpp"

#include <mpi.h>

#include <chrono>
#include <climits>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

namespace relulab::mpi {
namespace {

// MPI counts are int: larger buffers go in pieces of at most 2^30 elements.
constexpr std::size_t kChunk = std::size_t{1} << 30;

template <typename T>
void allreduce(std::span<T> values, MPI_Datatype type, MPI_Op op) {
  for (std::size_t i = 0; i < values.size(); i += kChunk) {
    const std::size_t n = std::min(kChunk, values.size() - i);
    MPI_Allreduce(MPI_IN_PLACE, values.data() + i, static_cast<int>(n), type, op, MPI_COMM_WORLD);
  }
}

}  // namespace

World::World(int& argc, char**& argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  MPI_Comm local;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local);
  MPI_Comm_size(local, &local_size_);
  MPI_Comm_free(&local);
}

World::~World() {
  MPI_Finalize();
}

void World::allreduce_sum(std::span<float> values) {
  allreduce(values, MPI_FLOAT, MPI_SUM);
}
void World::allreduce_sum(std::span<double> values) {
  allreduce(values, MPI_DOUBLE, MPI_SUM);
}
void World::allreduce_max(std::span<std::uint64_t> values) {
  allreduce(values, MPI_UINT64_T, MPI_MAX);
}

void World::broadcast(std::span<std::byte> bytes, int root) {
  for (std::size_t i = 0; i < bytes.size(); i += kChunk) {
    const std::size_t n = std::min(kChunk, bytes.size() - i);
    MPI_Bcast(bytes.data() + i, static_cast<int>(n), MPI_BYTE, root, MPI_COMM_WORLD);
  }
}

std::vector<std::string> World::gather(const std::string& mine) {
  if (mine.size() > static_cast<std::size_t>(INT_MAX))
    throw std::length_error(
        fmt::format("rank {}: {} bytes to gather, more than MPI's int count", rank_, mine.size()));
  const int length = static_cast<int>(mine.size());
  std::vector<int> lengths(rank_ == 0 ? static_cast<std::size_t>(size_) : 0);
  MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
  std::vector<int> offsets(lengths.size());
  std::string all;
  if (rank_ == 0) {
    long long total = 0;
    for (std::size_t r = 0; r < lengths.size(); ++r) {
      offsets[r] = static_cast<int>(total);
      total += lengths[r];
    }
    if (total > INT_MAX)
      throw std::length_error(
          fmt::format("{} bytes to gather on rank 0, more than MPI's int count", total));
    all.resize(static_cast<std::size_t>(total));
  }
  MPI_Gatherv(mine.data(), length, MPI_BYTE, all.data(), lengths.data(), offsets.data(), MPI_BYTE,
              0, MPI_COMM_WORLD);
  std::vector<std::string> out;
  for (std::size_t r = 0; r < lengths.size(); ++r)
    out.push_back(
        all.substr(static_cast<std::size_t>(offsets[r]), static_cast<std::size_t>(lengths[r])));
  return out;
}

void World::wait_for_all() {
  // A blocking MPI_Barrier polls at full speed in Open MPI; a test every few milliseconds costs
  // nothing and leaves the core to the ranks still at work.
  MPI_Request request;
  MPI_Ibarrier(MPI_COMM_WORLD, &request);
  for (int done = 0;;) {
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    if (done) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

void World::abort(int code) {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::abort();  // MPI_Abort does not return; this tells the compiler so
}

std::string World::library_version() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  MPI_Get_library_version(text, &length);
  std::string s(text, static_cast<std::size_t>(length));
  return s.substr(0, s.find_first_of(",\n"));
}

}  // namespace relulab::mpi

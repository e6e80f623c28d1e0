// relulab on MPI (Open MPI from Debian's libopenmpi-dev; any MPI-3 library builds it): the
// Communicator of a job started by `mpirun`. Built when CMake finds MPI (RELULAB_MPI=AUTO|ON|OFF);
// RELULAB_HAVE_MPI is then defined for the code that uses it.
//
// World initialises MPI for the life of the object (MPI_THREAD_FUNNELED: only the main thread calls
// MPI; OpenMP threads compute between the calls) and finalises it. Errors keep MPI's default
// handler, MPI_ERRORS_ARE_FATAL: a rank that dies or fails ends the job, and mpirun says which rank
// and why, so no surviving rank waits forever in a collective.
#pragma once

#include "relulab/communicator.hpp"

namespace relulab::mpi {

class World final : public Communicator {
 public:
  World(int& argc, char**& argv);
  ~World() override;
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_size() const override { return local_size_; }
  void allreduce_sum(std::span<float> values) override;
  void allreduce_sum(std::span<double> values) override;
  void allreduce_max(std::span<std::uint64_t> values) override;
  void broadcast(std::span<std::byte> bytes, int root) override;
  std::vector<std::string> gather(const std::string& mine) override;
  void wait_for_all() override;
  [[noreturn]] void abort(int code) override;

  // "Open MPI v4.1.4, ..." (MPI_Get_library_version's first line).
  static std::string library_version();

 private:
  int rank_ = 0, size_ = 1, local_size_ = 1;
};

}  // namespace relulab::mpi

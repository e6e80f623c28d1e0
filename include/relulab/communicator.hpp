// The processes of one job and what they say to each other: the seam between the engine and MPI.
//
// The trainer and the study talk to a Communicator, never to MPI itself: one process is
// single_process() (size 1, every collective a no-op), a job under `mpirun` is
// relulab::mpi::World (relulab/mpi/world.hpp, built when MPI is found). Every call is collective:
// all ranks make the same calls in the same order, as with MPI. A failure of another rank is not
// reported here: MPI's default handler ends the whole job, which `mpirun` reports naming the rank.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace relulab {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Ranks on this machine (the threads a rank uses by default: cores / local_size()).
  virtual int local_size() const = 0;
  // In place: every rank ends with the element-wise sum over ranks (the same bits on every rank).
  virtual void allreduce_sum(std::span<float> values) = 0;
  virtual void allreduce_sum(std::span<double> values) = 0;
  virtual void allreduce_max(std::span<std::uint64_t> values) = 0;
  // Rank `root`'s bytes replace every other rank's; the size must already agree.
  virtual void broadcast(std::span<std::byte> bytes, int root) = 0;
  // Rank 0 gets every rank's string, in rank order; the others get an empty vector.
  virtual std::vector<std::string> gather(const std::string& mine) = 0;
  // Blocks until every rank has called it, sleeping rather than spinning, so that a rank that is
  // done does not take CPU time from one that still works.
  virtual void wait_for_all() = 0;
  // Ends the whole job now with `code` (after a rank has printed why).
  [[noreturn]] virtual void abort(int code) = 0;

  bool is_root() const { return rank() == 0; }

  // Helpers over the primitives above.
  void broadcast(std::string& text, int root);  // any size: the length goes first
  std::int64_t sum(std::int64_t value);
  double sum(double value);
  // The same value on every rank?
  bool agree(std::uint64_t value);
};

// The communicator of a process that runs alone.
Communicator& single_process();

// World size announced by an MPI launcher in the environment (Open MPI's OMPI_COMM_WORLD_SIZE,
// MPICH's PMI_SIZE), or 1: lets a binary built without MPI refuse to run as N copies.
int launcher_world_size();

}  // namespace relulab

// Seconds per MPI_Allreduce (sum, in place) of N floats among the job's ranks, the exchange of one
// data-parallel training step: median and min-max over --repetitions, after 5 warm-up calls.
//   mpirun -np 2 mpi_allreduce_bench 669706 1663370
// prints one JSON object per size on rank 0: {"floats", "ranks", "median_s", "min_s", "max_s"}.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <vector>

#include <fmt/format.h>
#include <mpi.h>

#include "relulab/mpi/world.hpp"

int main(int argc, char** argv) {
  relulab::mpi::World world(argc, argv);
  constexpr int kRepetitions = 41;
  for (int a = 1; a < argc; ++a) {
    const auto n = static_cast<std::size_t>(std::strtoull(argv[a], nullptr, 10));
    std::vector<float> buffer(n, 1.0f);
    std::vector<double> seconds;
    for (int r = 0; r < 5 + kRepetitions; ++r) {
      // A blocking barrier (not wait_for_all, whose sleeps would be timed as the allreduce's).
      MPI_Barrier(MPI_COMM_WORLD);
      const auto t0 = std::chrono::steady_clock::now();
      world.allreduce_sum(buffer);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      // A step waits for the slowest rank: its time is the one recorded.
      std::vector<std::uint64_t> ns{static_cast<std::uint64_t>(s * 1e9)};
      world.allreduce_max(ns);
      if (r >= 5) seconds.push_back(static_cast<double>(ns[0]) * 1e-9);
    }
    std::sort(seconds.begin(), seconds.end());
    if (world.is_root())
      fmt::print(
          "{{\"floats\": {}, \"ranks\": {}, \"median_s\": {:.9f}, \"min_s\": {:.9f}, "
          "\"max_s\": {:.9f}}}\n",
          n, world.size(), seconds[seconds.size() / 2], seconds.front(), seconds.back());
  }
  return 0;
}

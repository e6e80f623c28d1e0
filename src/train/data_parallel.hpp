// Data-parallel training over a Communicator (one process per rank, under mpirun): what the
// trainer does differently when there is more than one rank.
//
// Each global batch of B examples (in the single-process order for the seed) is cut into
// contiguous shares, rank r taking rows [B r / N, B (r + 1) / N). A rank's loss is the mean over
// its share; scaling its output gradient by share / B before backward makes the sum over ranks the
// gradient of the global mean, which one MPI_Allreduce (all gradients packed into one buffer) then
// gives to every rank. The optimiser step runs on identical gradients and parameters everywhere,
// so the ranks stay identical. Batch norm normalises with each rank's own batch statistics (as
// PyTorch's DistributedDataParallel without SyncBatchNorm); its running statistics are averaged
// over the ranks at the end of every epoch, before evaluation and the checkpoint.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "relulab/communicator.hpp"
#include "relulab/nn/model.hpp"
#include "relulab/nn/optimizer.hpp"

namespace relulab::train {

// Rows [begin, end) of a batch of `count` that rank `rank` of `ranks` takes.
struct Share {
  std::int64_t begin = 0, end = 0;
  std::int64_t size() const { return end - begin; }
};
Share share_of(std::int64_t count, int rank, int ranks);

// Sums every parameter's gradient over the ranks, in place, together with one flag per rank
// (`bad_here`: this rank's loss was not finite). Returns the ranks whose flag was set.
std::vector<int> allreduce_gradients(Communicator& comm, nn::Model& model, bool bad_here,
                                     std::vector<float>& buffer);

// Every buffer (batch-norm running statistics) replaced by its mean over the ranks.
void average_buffers(Communicator& comm, nn::Model& model);

// Rank 0's parameters, buffers, optimiser state and `scalars` replace every other rank's.
void broadcast_state(Communicator& comm, nn::Model& model, nn::Optimizer& optimizer,
                     std::span<std::byte> scalars);

// A hash of the parameters' bits: equal on every rank while the ranks agree.
std::uint64_t parameter_hash(nn::Model& model);

}  // namespace relulab::train

// Checkpoints: a safetensors file (readable by other tools) holding
//   model.<parameter or buffer name>   the weights and batch-norm statistics,
//   optimizer.<state name>             momentum buffers / Adam moments and step count,
// and, under the metadata key "relulab.checkpoint", a JSON object with the model spec, activation,
// input shape, class count, epoch, step, training seconds, skipped batches, the generator state,
// the training configuration and the metrics history. The safetensors writer adds a CRC-32 of the
// data and writes atomically (temporary file, fsync, rename), so a crash mid-write leaves the
// previous checkpoint whole. Trainer::save_checkpoint, Trainer::resume and load_model implement it.
#pragma once

#include <string_view>

namespace relulab::train {

inline constexpr std::string_view kCheckpointMetadataKey = "relulab.checkpoint";
inline constexpr int kCheckpointFormat = 1;

}  // namespace relulab::train

// What `relulab eval` and `relulab diagnose` share: a trained model and the data it is run on,
// checked against each other before any of it is used.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "relulab/data/dataset.hpp"
#include "relulab/train/trainer.hpp"

namespace relulab::cli {

enum class Split { kTrain, kTest };

struct ModelAndData {
  train::LoadedModel loaded;
  data::Dataset examples;  // normalised as the model was trained
};

// The model in `checkpoint` and the first `limit` examples (all when 0) of one split of the data
// set `data` (as for `relulab train --data`). Throws RuntimeError naming the file or data set when
// either cannot be read, the split is empty, its examples do not have the model's input shape, or
// a label is not one of the model's classes.
ModelAndData load_model_and_data(const std::filesystem::path& checkpoint, const std::string& data,
                                 Split split, std::int64_t limit = 0);

}  // namespace relulab::cli

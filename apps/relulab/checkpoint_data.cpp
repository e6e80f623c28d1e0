#include "checkpoint_data.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "commands.hpp"

namespace relulab::cli {

ModelAndData load_model_and_data(const std::filesystem::path& checkpoint, const std::string& data,
                                 Split split, std::int64_t limit) {
  auto loaded = train::load_model(checkpoint);
  if (!loaded) throw RuntimeError(loaded.status().message());
  const nn::Model& model = *loaded.value().model;
  auto sets = data::load_dataset(data);
  if (!sets) throw RuntimeError(sets.status().message());
  const char* split_name = split == Split::kTrain ? "training" : "test";
  data::Dataset examples =
      split == Split::kTrain ? std::move(sets).value().train : std::move(sets).value().test;
  if (limit > 0 && limit < examples.size()) examples = data::subset(examples, 0, limit);
  if (examples.size() == 0)
    throw RuntimeError(fmt::format("data set '{}' has no {} examples", data, split_name));

  const Shape example(examples.features.shape().begin() + 1, examples.features.shape().end());
  if (example != model.input_shape) {
    throw RuntimeError(fmt::format("'{}' expects inputs of shape {}, data set '{}' has {}",
                                   checkpoint.string(), to_string(model.input_shape), data,
                                   to_string(example)));
  }
  const auto bad = std::find_if(examples.labels.begin(), examples.labels.end(),
                                [&](std::int32_t label) { return label >= model.num_classes; });
  if (bad != examples.labels.end()) {
    throw RuntimeError(fmt::format(
        "data set '{}' has label {} (the {} example {}), '{}' has {} classes", data, *bad,
        split_name, bad - examples.labels.begin(), checkpoint.string(), model.num_classes));
  }
  if (!loaded.value().normalization.mean.empty())
    data::apply_normalization(examples, loaded.value().normalization);
  return {std::move(loaded).value(), std::move(examples)};
}

}  // namespace relulab::cli

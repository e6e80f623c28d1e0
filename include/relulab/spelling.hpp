// "Did you mean" for names typed by users: activations, initialisers, command-line flags.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace relulab {

// Levenshtein distance: insertions, deletions and substitutions, each costing 1.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `key` by edit_distance (the first on ties); empty when there is none.
std::string_view closest_name(std::string_view key, std::span<const std::string_view> candidates);

}  // namespace relulab

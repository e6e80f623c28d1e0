#include "relulab/spelling.hpp"

#include <algorithm>
#include <limits>
#include <vector>

namespace relulab {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // One row of the dynamic-programming table at a time.
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string_view closest_name(std::string_view key, std::span<const std::string_view> candidates) {
  std::string_view best_name;
  std::size_t best = std::numeric_limits<std::size_t>::max();
  for (const std::string_view c : candidates) {
    const std::size_t d = edit_distance(key, c);
    if (d < best) best = d, best_name = c;
  }
  return best_name;
}

}  // namespace relulab

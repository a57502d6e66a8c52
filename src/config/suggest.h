// Did-you-mean: the closest candidate to a misspelt word, for "unknown field 'lisen' (did you mean
// 'listen'?)" in config files and for unknown flag or algorithm names.
// Distance: optimal string alignment (Levenshtein plus adjacent transposition, Damerau 1964),
// case-insensitive. A candidate is suggested only when its distance is at most max(1, len/3) of
// the longer word, so unrelated names are not proposed.
// Complexity O(|word| * sum |candidate|). Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace surge::config {

size_t editDistance(std::string_view a, std::string_view b);

// The best candidate within the threshold (ties: the first in order), or "" when none is close.
std::string closestMatch(std::string_view word, const std::vector<std::string_view>& candidates);

// " (did you mean 'x'?)" or "" — ready to append to a message.
std::string didYouMean(std::string_view word, const std::vector<std::string_view>& candidates);

}  // namespace surge::config

#include "config/suggest.h"

#include <gtest/gtest.h>

namespace surge::config {
namespace {

TEST(EditDistance, Basics) {
  EXPECT_EQ(editDistance("", ""), 0u);
  EXPECT_EQ(editDistance("abc", ""), 3u);
  EXPECT_EQ(editDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(editDistance("lisen", "listen"), 1u);
  EXPECT_EQ(editDistance("wieght", "weight"), 1u);  // transposition counts once
  EXPECT_EQ(editDistance("Listen", "listen"), 0u);  // case-insensitive
}

TEST(ClosestMatch, SuggestsOnlyCloseNames) {
  std::vector<std::string_view> keys = {"listen", "backends", "timeout", "health_check"};
  EXPECT_EQ(closestMatch("lisen", keys), "listen");
  EXPECT_EQ(closestMatch("timout", keys), "timeout");
  EXPECT_EQ(closestMatch("helth_chek", keys), "health_check");
  EXPECT_EQ(closestMatch("zone", keys), "");
  EXPECT_EQ(closestMatch("x", keys), "");
  EXPECT_EQ(didYouMean("backend", keys), " (did you mean 'backends'?)");
  EXPECT_EQ(didYouMean("qqq", keys), "");
}

}  // namespace
}  // namespace surge::config

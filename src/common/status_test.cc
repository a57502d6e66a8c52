#include "common/status.h"

#include <gtest/gtest.h>

namespace surge {
namespace {

StatusOr<int> parsePositive(int x) {
  if (x <= 0) return invalidArgument("not positive");
  return x;
}

Status useIt(int x, int* out) {
  ASSIGN_OR_RETURN(*out, parsePositive(x));
  return Status::ok();
}

TEST(StatusTest, OkAndError) {
  EXPECT_TRUE(Status::ok().isOk());
  Status s = invalidArgument("bad");
  EXPECT_FALSE(s.isOk());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.toString(), "INVALID_ARGUMENT: bad");
}

TEST(StatusTest, StatusOrPropagates) {
  int out = 0;
  EXPECT_TRUE(useIt(3, &out).isOk());
  EXPECT_EQ(out, 3);
  Status s = useIt(-1, &out);
  EXPECT_EQ(s.message(), "not positive");
}

TEST(StatusTest, StatusOrFromOkStatusIsInternalError) {
  StatusOr<int> v(Status::ok());
  EXPECT_FALSE(v.isOk());
  EXPECT_EQ(v.status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace surge

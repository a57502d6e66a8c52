#include "autoscale/predict/least_squares.h"

#include <gtest/gtest.h>

#include <cmath>

namespace surge::autoscale {
namespace {

DenseMatrix matrix(size_t rows, size_t cols, std::initializer_list<double> values) {
  DenseMatrix m(rows, cols);
  m.data.assign(values.begin(), values.end());
  return m;
}

TEST(LeastSquaresTest, SolvesSquareSymmetricSystem) {
  const DenseMatrix a = matrix(3, 3, {4, 1, 2, 1, 5, 3, 2, 3, 6});
  // b = a · (1, -2, 3)
  auto x = solveSquare(a, {4 - 2 + 6, 1 - 10 + 9, 2 - 6 + 18});
  ASSERT_TRUE(x.isOk()) << x.status().toString();
  EXPECT_NEAR((*x)[0], 1, 1e-12);
  EXPECT_NEAR((*x)[1], -2, 1e-12);
  EXPECT_NEAR((*x)[2], 3, 1e-12);
}

TEST(LeastSquaresTest, SolvesNonSymmetricSystemNeedingPivotSign) {
  // A zero on the first diagonal entry: Householder does not need pivoting.
  const DenseMatrix a = matrix(2, 2, {0, 1, 1, 0});
  auto x = solveSquare(a, {7, -3});
  ASSERT_TRUE(x.isOk());
  EXPECT_NEAR((*x)[0], -3, 1e-12);
  EXPECT_NEAR((*x)[1], 7, 1e-12);
}

TEST(LeastSquaresTest, FitsLineToOverdeterminedData) {
  DenseMatrix x(10, 2);
  std::vector<double> y(10);
  for (size_t i = 0; i < 10; ++i) {
    x.at(i, 0) = 1;
    x.at(i, 1) = static_cast<double>(i);
    y[i] = 2 + 3 * static_cast<double>(i) + (i % 2 ? 0.5 : -0.5);  // symmetric residuals
  }
  auto b = solveRidgeLeastSquares(x, y, {}, {});
  ASSERT_TRUE(b.isOk());
  // The closed form of simple regression: slope = Sxy / Sxx, intercept = ybar - slope · xbar.
  double sxx = 0, sxy = 0, ybar = 0;
  for (size_t i = 0; i < 10; ++i) ybar += y[i] / 10;
  for (size_t i = 0; i < 10; ++i) {
    sxx += (i - 4.5) * (i - 4.5);
    sxy += (i - 4.5) * (y[i] - ybar);
  }
  EXPECT_NEAR((*b)[1], sxy / sxx, 1e-12);
  EXPECT_NEAR((*b)[0], ybar - 4.5 * sxy / sxx, 1e-12);
}

TEST(LeastSquaresTest, ZeroWeightIgnoresARow) {
  DenseMatrix x = matrix(4, 1, {1, 1, 1, 1});
  auto b = solveRidgeLeastSquares(x, {2, 2, 2, 1000}, {1, 1, 1, 0}, {});
  ASSERT_TRUE(b.isOk());
  EXPECT_NEAR((*b)[0], 2, 1e-12);
}

TEST(LeastSquaresTest, RidgeShrinksByKnownFactor) {
  // One column of ones, y = 2: b = sum(x y) / (sum(x^2) + lambda) = 8 / (4 + 4) = 1.
  DenseMatrix x = matrix(4, 1, {1, 1, 1, 1});
  auto b = solveRidgeLeastSquares(x, {2, 2, 2, 2}, {}, {4});
  ASSERT_TRUE(b.isOk());
  EXPECT_NEAR((*b)[0], 1, 1e-12);
}

TEST(LeastSquaresTest, RankDeficiencyIsReportedAndRidgeResolvesIt) {
  DenseMatrix x = matrix(3, 2, {1, 1, 2, 2, 3, 3});  // identical columns
  auto b = solveRidgeLeastSquares(x, {2, 4, 6}, {}, {});
  ASSERT_FALSE(b.isOk());
  EXPECT_EQ(b.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(b.status().message().find("rank-deficient"), std::string::npos);

  auto ridge = solveRidgeLeastSquares(x, {2, 4, 6}, {}, {1e-6, 1e-6});
  ASSERT_TRUE(ridge.isOk());
  EXPECT_NEAR((*ridge)[0], 1, 1e-5);  // the penalty splits the weight evenly
  EXPECT_NEAR((*ridge)[1], 1, 1e-5);
}

TEST(LeastSquaresTest, RejectsBadInput) {
  DenseMatrix x = matrix(2, 1, {1, 1});
  EXPECT_EQ(solveRidgeLeastSquares(x, {1}, {}, {}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(solveRidgeLeastSquares(x, {1, NAN}, {}, {}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(solveRidgeLeastSquares(x, {1, 1}, {1, -1}, {}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(solveRidgeLeastSquares(x, {1, 1}, {}, {1, 2}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE(solveSquare(x, {1, 1}).isOk());  // not square
  DenseMatrix wide(1, 2);
  wide.data = {1, 2};
  EXPECT_EQ(solveRidgeLeastSquares(wide, {1}, {}, {}).status().code(),
            StatusCode::kFailedPrecondition);
}

TEST(LeastSquaresTest, IllConditionedPolynomialStaysAccurate) {
  // Cubic in t over [1000, 1010]: columns 1, t, t^2, t^3 are nearly collinear (cond ~ 1e13 for
  // X, ~1e26 for X'X, beyond double precision): QR still fits the data closely.
  DenseMatrix x(50, 4);
  std::vector<double> y(50);
  for (size_t i = 0; i < 50; ++i) {
    const double t = 1000 + i * 0.2;
    x.at(i, 0) = 1;
    x.at(i, 1) = t;
    x.at(i, 2) = t * t;
    x.at(i, 3) = t * t * t;
    const double u = t - 1005;
    y[i] = 3 + 2 * u - u * u + 0.5 * u * u * u;
  }
  auto b = solveRidgeLeastSquares(x, y, {}, {});
  ASSERT_TRUE(b.isOk()) << b.status().toString();
  double worst = 0;
  for (size_t i = 0; i < 50; ++i) {
    double f = 0;
    for (size_t j = 0; j < 4; ++j) f += x.at(i, j) * (*b)[j];
    worst = std::max(worst, std::abs(f - y[i]));
  }
  EXPECT_LT(worst, 1e-3);
}

}  // namespace
}  // namespace surge::autoscale

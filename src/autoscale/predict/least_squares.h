// A small dense least-squares solver for the forecaster: weighted ridge regression
//   minimise  sum_i w_i (y_i - x_i·b)^2 + sum_j penalty_j b_j^2
// solved by Householder QR of the augmented matrix [sqrt(W) X; diag(sqrt(penalty))] (Golub & Van
// Loan, "Matrix Computations", 4th ed., §5.2 and §5.3), which never forms X'X, so the condition
// number is not squared. Rank deficiency (a column that is a combination of others and carries no
// penalty) is reported, not papered over.
// Complexity O(rows · cols^2) time, O(rows · cols) memory. Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <vector>

#include "common/status.h"

namespace surge::autoscale {

// Row-major rows × cols matrix.
struct DenseMatrix {
  size_t rows = 0;
  size_t cols = 0;
  std::vector<double> data;

  DenseMatrix() = default;
  DenseMatrix(size_t r, size_t c) : rows(r), cols(c), data(r * c, 0.0) {}
  double& at(size_t r, size_t c) { return data[r * cols + c]; }
  double at(size_t r, size_t c) const { return data[r * cols + c]; }
};

// weights: empty (all 1) or one per row, each >= 0. penalty: empty (none) or one per column,
// each >= 0. Needs rows + (number of positive penalties) >= cols. Errors: InvalidArgument for
// mismatched sizes or non-finite input, FailedPrecondition for a rank-deficient system.
StatusOr<std::vector<double>> solveRidgeLeastSquares(const DenseMatrix& x,
                                                     const std::vector<double>& y,
                                                     const std::vector<double>& weights,
                                                     const std::vector<double>& penalty);

// Solves the square system a·b = y by the same QR (for tests and small uses).
StatusOr<std::vector<double>> solveSquare(const DenseMatrix& a, const std::vector<double>& y);

}  // namespace surge::autoscale

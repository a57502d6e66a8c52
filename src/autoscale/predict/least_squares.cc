#include "autoscale/predict/least_squares.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace surge::autoscale {

StatusOr<std::vector<double>> solveRidgeLeastSquares(const DenseMatrix& x,
                                                     const std::vector<double>& y,
                                                     const std::vector<double>& weights,
                                                     const std::vector<double>& penalty) {
  const size_t n = x.rows, p = x.cols;
  if (p == 0) return invalidArgument("least squares: no columns");
  if (x.data.size() != n * p || y.size() != n) {
    return invalidArgument("least squares: sizes do not match (" + std::to_string(n) + " rows, " +
                           std::to_string(y.size()) + " targets)");
  }
  if (!weights.empty() && weights.size() != n) {
    return invalidArgument("least squares: one weight per row expected");
  }
  if (!penalty.empty() && penalty.size() != p) {
    return invalidArgument("least squares: one penalty per column expected");
  }
  size_t extra = 0;
  for (double v : penalty) {
    if (!(v >= 0) || !std::isfinite(v)) return invalidArgument("least squares: bad penalty");
    if (v > 0) ++extra;
  }
  const size_t m = n + extra;
  if (m < p) return failedPrecondition("least squares: fewer equations than unknowns");

  // Augmented system A (m × p, column-major for cache-friendly Householder sweeps) and rhs c.
  std::vector<double> a(m * p, 0.0);
  std::vector<double> c(m, 0.0);
  auto A = [&](size_t r, size_t col) -> double& { return a[col * m + r]; };
  for (size_t i = 0; i < n; ++i) {
    double w = weights.empty() ? 1.0 : weights[i];
    if (!(w >= 0) || !std::isfinite(w)) return invalidArgument("least squares: bad weight");
    if (!std::isfinite(y[i])) return invalidArgument("least squares: non-finite target");
    double s = std::sqrt(w);
    for (size_t j = 0; j < p; ++j) {
      double v = x.at(i, j);
      if (!std::isfinite(v)) return invalidArgument("least squares: non-finite feature");
      A(i, j) = s * v;
    }
    c[i] = s * y[i];
  }
  size_t r = n;
  for (size_t j = 0; j < penalty.size(); ++j) {
    if (penalty[j] > 0) A(r++, j) = std::sqrt(penalty[j]);
  }

  // Householder QR: for each column k, reflect rows k..m-1 so that A(k+1.., k) = 0.
  double max_diag = 0;
  std::vector<double> diag(p, 0.0);
  for (size_t k = 0; k < p; ++k) {
    // ||A(k.., k)||, scaled by the largest magnitude so squares neither overflow nor underflow
    // (two passes; a running std::hypot per element costs ~40 % of a forecaster fit).
    double scale = 0;
    for (size_t i = k; i < m; ++i) scale = std::max(scale, std::fabs(A(i, k)));
    double norm = 0;
    if (scale > 0) {
      double sum = 0;
      for (size_t i = k; i < m; ++i) {
        const double v = A(i, k) / scale;
        sum += v * v;
      }
      norm = scale * std::sqrt(sum);
    }
    if (norm == 0) {
      diag[k] = 0;
      continue;
    }
    const double alpha = A(k, k) > 0 ? -norm : norm;
    // v = x - alpha e1, stored in place; beta = 2 / v'v.
    A(k, k) -= alpha;
    double vtv = 0;
    for (size_t i = k; i < m; ++i) vtv += A(i, k) * A(i, k);
    if (vtv > 0) {
      for (size_t j = k + 1; j < p; ++j) {
        double dot = 0;
        for (size_t i = k; i < m; ++i) dot += A(i, k) * A(i, j);
        const double f = 2 * dot / vtv;
        for (size_t i = k; i < m; ++i) A(i, j) -= f * A(i, k);
      }
      double dot = 0;
      for (size_t i = k; i < m; ++i) dot += A(i, k) * c[i];
      const double f = 2 * dot / vtv;
      for (size_t i = k; i < m; ++i) c[i] -= f * A(i, k);
    }
    diag[k] = alpha;
    max_diag = std::max(max_diag, std::abs(alpha));
  }
  // Back substitution on R (diagonal in diag[], strict upper triangle in A).
  const double tol = max_diag * 1e-12 * static_cast<double>(std::max(m, p));
  std::vector<double> b(p, 0.0);
  for (size_t kk = p; kk-- > 0;) {
    if (std::abs(diag[kk]) <= tol) {
      return failedPrecondition("least squares: rank-deficient system (column " +
                                std::to_string(kk) + " depends on the others)");
    }
    double s = c[kk];
    for (size_t j = kk + 1; j < p; ++j) s -= A(kk, j) * b[j];
    b[kk] = s / diag[kk];
  }
  return b;
}

StatusOr<std::vector<double>> solveSquare(const DenseMatrix& a, const std::vector<double>& y) {
  if (a.rows != a.cols) return invalidArgument("solveSquare: matrix is not square");
  return solveRidgeLeastSquares(a, y, {}, {});
}

}  // namespace surge::autoscale

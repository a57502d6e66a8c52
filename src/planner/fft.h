// planner/fft: in-place iterative radix-2 complex DFT, used by the exact M/D/N solver (mdc.cc).
//   forward: X_k = Σ_j x_j e^{−2πi jk/n};  inverse: x_j = Σ_k X_k e^{+2πi jk/n} (no 1/n).
// Twiddles are computed directly (cos/sin of 2πk/n), not by recurrence, so the error stays
// O(ε log n). Complexity O(n log n); n must be a power of two. Thread-safety: pure function.
#pragma once

#include <complex>
#include <vector>

namespace surge::planner {

void fft(std::vector<std::complex<double>>& data, bool inverse);

}  // namespace surge::planner

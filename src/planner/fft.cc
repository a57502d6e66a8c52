#include "planner/fft.h"

#include <cmath>
#include <numbers>
#include <utility>

#include "common/status.h"

namespace surge::planner {

void fft(std::vector<std::complex<double>>& a, bool inverse) {
  const size_t n = a.size();
  SURGE_CHECK(n > 0 && (n & (n - 1)) == 0);
  for (size_t i = 1, j = 0; i < n; ++i) {
    size_t bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) std::swap(a[i], a[j]);
  }
  std::vector<std::complex<double>> w(n / 2);
  const double sign = inverse ? 1.0 : -1.0;
  for (size_t k = 0; k < n / 2; ++k) {
    const double angle = 2 * std::numbers::pi * static_cast<double>(k) / static_cast<double>(n);
    w[k] = {std::cos(angle), sign * std::sin(angle)};
  }
  for (size_t len = 2; len <= n; len <<= 1) {
    const size_t half = len / 2, stride = n / len;
    for (size_t i = 0; i < n; i += len) {
      for (size_t k = 0; k < half; ++k) {
        const std::complex<double> u = a[i + k];
        // Plain complex product (std::complex's operator* also handles inf/NaN, ~3x slower).
        const std::complex<double> x = a[i + k + half], t = w[k * stride];
        const std::complex<double> v(x.real() * t.real() - x.imag() * t.imag(),
                                     x.real() * t.imag() + x.imag() * t.real());
        a[i + k] = u + v;
        a[i + k + half] = u - v;
      }
    }
  }
}

}  // namespace surge::planner

// Kubernetes resource.Quantity parsing and formatting (apimachinery pkg/api/resource/quantity.go
// semantics, our own code): <sign><digits>[.<digits>]<suffix> with suffixes m, "", k, M, G, T, P, E
// (decimal SI), Ki, Mi, Gi, Ti, Pi, Ei (binary SI) or an exponent e<int>/E<int>. MilliValue()
// rounds up (away from zero), as Quantity.MilliValue does. parseQuantityMilli/formatQuantityMilli
// are declared in hpa.h; this header adds the exact decimal form for callers that need more than
// milli precision (behavior tolerances use AsApproximateFloat64 in Kubernetes).
// Complexity O(length). Thread-safety: pure functions.
#pragma once

#include <string_view>

#include "autoscale/hpa/hpa.h"
#include "common/status.h"

namespace surge::autoscale {

// The quantity as a double (Quantity.AsApproximateFloat64): "0.05" → 0.05, "1Ki" → 1024.
StatusOr<double> parseQuantityDouble(std::string_view text);

}  // namespace surge::autoscale

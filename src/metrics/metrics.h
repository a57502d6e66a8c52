// metrics: umbrella header — Counter/Gauge/Histogram (metric_types.h), Family (family.h),
// Registry and its Prometheus text rendering (registry.h, exposition.h), RateEwma (rate_ewma.h).
#pragma once

#include "metrics/exposition.h"
#include "metrics/family.h"
#include "metrics/metric_types.h"
#include "metrics/rate_ewma.h"
#include "metrics/registry.h"
#include "metrics/text_parser.h"

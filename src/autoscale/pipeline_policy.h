// The scaling policy the decision reads (scaling_pipeline.h): the HPA spec and the controller's
// options, predictive scaling, panic mode, the sync period. Plain values with no adapter types,
// so the pipeline depends on no metric source, actuator or network code. AutoscalePolicy
// (autoscale_config.h: everything in autoscale.yaml except `target`) extends it with what only
// the drivers need (the KEDA ScaledObject, the admin endpoint).
// Thread-safety: plain values.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "autoscale/hpa/types.h"
#include "autoscale/panic.h"
#include "common/clock.h"

namespace surge::autoscale {

struct PredictiveConfig {
  bool enabled = false;
  Duration horizon = std::chrono::minutes(10);  // covers a replica's cold start
  double rps_per_replica = 100;
  int32_t min_replicas = 1;
  // Replicas are sized for this quantile of the forecast (CombinedForecaster::forecastQuantile):
  // an upper one covers the forecast's own error; 0.5 is the point forecast.
  double quantile = 0.9;
  std::string history_file = "surge-rps-history.csv";
  // The observed request rate recorded each sync: the sum over pods of this Pods metric (the
  // reference HPA's requests_per_second), or the sum of an External/Object metric of that name.
  std::string metric = "requests_per_second";
};

struct PipelinePolicy {
  Duration sync_period = std::chrono::seconds(15);
  // The HPA spec the controller runs (with KEDA triggers already turned into External metrics;
  // autoscale_config.h).
  HpaSpec hpa;
  PredictiveConfig predictive;
  PanicConfig panic;
  ControllerOptions controller;
};

}  // namespace surge::autoscale

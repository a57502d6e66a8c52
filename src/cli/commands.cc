#include "cli/commands.h"

namespace surge::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"gateway", "HTTP load balancer in front of model replicas", runGateway},
      {"upstream", "a small demo/test HTTP upstream (echo, delay, SSE, failures)", runUpstream},
      {"serve", "model server: Open Inference Protocol, Triton config.pbtxt, dynamic batching",
       runServe},
      {"plan", "size a deployment from queueing theory (replicas, p99, availability, cost)",
       runPlan},
      {"model", "model utilities: 'surge model demo DIR' writes a ready model repository",
       runModel},
      {"load", "load generator: Open Inference Protocol requests, closed or open loop, sweeps",
       runLoad},
      {"autoscale", "autoscaler: Kubernetes HPA semantics, KEDA triggers, predictive; 'explain'",
       runAutoscale},
      {"predict", "forecast the request rate from a history and the replicas it needs",
       runPredict},
      {"up", "the whole stack on this machine: gateway, autoscaler, model replicas", runUp},
      {"sim", "simulate a day of traffic through surge's balancers, batching and autoscaler",
       runSim},
  };
  return table;
}

}  // namespace surge::cli

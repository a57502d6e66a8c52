#include "planner/sizing.h"

#include <cmath>
#include <cstdio>
#include <functional>

#include "planner/allen_cunneen.h"
#include "planner/erlang.h"
#include "planner/mdc.h"

namespace surge::planner {
namespace {

constexpr double kMaxCv2 = 10000;

bool deterministicService(const QueueSpec& s) {
  return s.distribution == ServiceDistribution::kDeterministic ||
         (s.distribution == ServiceDistribution::kGeneral && s.cs2 == 0);
}

std::string fmt(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}

// Smallest c in [c0, c_max] with meets(c), or nullopt; meets must be monotone.
StatusOr<std::optional<int64_t>> smallestMeeting(
    int64_t c0, int64_t c_max, const std::function<StatusOr<bool>(int64_t)>& meets) {
  if (c0 > c_max) return std::optional<int64_t>();
  ASSIGN_OR_RETURN(bool ok0, meets(c0));
  if (ok0) return std::optional<int64_t>(c0);
  int64_t lo = c0, hi = c0, step = 1;
  while (true) {
    if (hi >= c_max) return std::optional<int64_t>();
    hi = std::min(c_max, lo + step);
    ASSIGN_OR_RETURN(bool ok, meets(hi));
    if (ok) break;
    lo = hi;
    step *= 2;
  }
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    ASSIGN_OR_RETURN(bool ok, meets(mid));
    if (ok) {
      hi = mid;
    } else {
      lo = mid;
    }
  }
  return std::optional<int64_t>(hi);
}

}  // namespace

std::string_view serviceDistributionName(ServiceDistribution d) {
  switch (d) {
    case ServiceDistribution::kExponential:
      return "exponential";
    case ServiceDistribution::kDeterministic:
      return "deterministic";
    case ServiceDistribution::kGeneral:
      return "general";
  }
  return "exponential";
}

std::optional<ServiceDistribution> parseServiceDistribution(std::string_view name) {
  if (name == "exponential") return ServiceDistribution::kExponential;
  if (name == "deterministic") return ServiceDistribution::kDeterministic;
  if (name == "general") return ServiceDistribution::kGeneral;
  return std::nullopt;
}

std::string_view modelName(ServiceDistribution d) {
  switch (d) {
    case ServiceDistribution::kExponential:
      return "M/M/c";
    case ServiceDistribution::kDeterministic:
      return "M/D/c";
    case ServiceDistribution::kGeneral:
      return "G/G/c (Allen-Cunneen)";
  }
  return "M/M/c";
}

std::string percentileLabel(double p) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "p%.10g", p * 100);
  return buf;
}

std::string formatSeconds(double s) {
  if (std::isinf(s)) return "inf";
  char buf[64];
  if (s == 0) return "0 s";
  if (s < 1e-3) {
    std::snprintf(buf, sizeof(buf), "%.4g µs", s * 1e6);
  } else if (s < 1) {
    std::snprintf(buf, sizeof(buf), "%.4g ms", s * 1e3);
  } else {
    std::snprintf(buf, sizeof(buf), "%.4g s", s);
  }
  return buf;
}

Status validateQueueSpec(const QueueSpec& s) {
  if (!(s.arrival_rate > 0 && std::isfinite(s.arrival_rate))) {
    return invalidArgument("arrival rate: must be a number > 0, found " + fmt(s.arrival_rate));
  }
  if (!(s.service_time > 0 && std::isfinite(s.service_time))) {
    return invalidArgument("service_time: must be > 0, found " + fmt(s.service_time));
  }
  if (s.slots < 1 || s.slots > kMaxServers) {
    return invalidArgument("slots: must be between 1 and " + std::to_string(kMaxServers) +
                           ", found " + std::to_string(s.slots));
  }
  if (!(s.percentile > 0 && s.percentile < 1)) {
    return invalidArgument(
        "percentile: must be a fraction strictly between 0 and 1 (0.99 for "
        "p99), found " +
        fmt(s.percentile));
  }
  if (!(s.ca2 >= 0 && s.ca2 <= kMaxCv2)) {
    return invalidArgument("ca2: must be between 0 and 10000, found " + fmt(s.ca2));
  }
  if (!(s.cs2 >= 0 && s.cs2 <= kMaxCv2)) {
    return invalidArgument("cs2: must be between 0 and 10000, found " + fmt(s.cs2));
  }
  const double a = s.arrival_rate * s.service_time;
  if (!(a / static_cast<double>(s.slots) < static_cast<double>(kMaxServers) / 2)) {
    return invalidArgument("offered load " + fmt(a) + " Erlangs is beyond the planner's limit of " +
                           std::to_string(kMaxServers / 2) + " busy servers");
  }
  return Status::ok();
}

StatusOr<QueueMetrics> evaluateQueue(const QueueSpec& spec, int64_t replicas) {
  RETURN_IF_ERROR(validateQueueSpec(spec));
  if (replicas < 1 || replicas > kMaxServers / spec.slots) {
    return invalidArgument("replicas: must be between 1 and " +
                           std::to_string(kMaxServers / spec.slots) + ", found " +
                           std::to_string(replicas));
  }
  QueueMetrics m;
  m.model = std::string(modelName(spec.distribution));
  m.replicas = replicas;
  m.servers = replicas * spec.slots;
  m.offered_load = spec.arrival_rate * spec.service_time;
  m.utilization = m.offered_load / static_cast<double>(m.servers);
  m.stable = strictlyStable(m.servers, m.offered_load);
  m.percentile_is_heuristic = spec.distribution == ServiceDistribution::kGeneral;
  if (!m.stable) {
    m.p_wait = 1;
    m.mean_wait = m.mean_response = m.wait_percentile = m.response_percentile = INFINITY;
    return m;
  }
  const double p = spec.percentile;
  switch (spec.distribution) {
    case ServiceDistribution::kExponential: {
      ASSIGN_OR_RETURN(MmnQueue q, MmnQueue::make(spec.arrival_rate, spec.service_time, m.servers));
      m.p_wait = q.pWait();
      m.mean_wait = q.meanWait();
      m.mean_response = q.meanResponse();
      m.wait_percentile = q.waitPercentile(p);
      m.response_percentile = q.responsePercentile(p);
      break;
    }
    case ServiceDistribution::kDeterministic: {
      ASSIGN_OR_RETURN(MdnQueue q,
                       MdnQueue::solve(spec.arrival_rate, spec.service_time, m.servers));
      m.p_wait = q.pWait();
      m.mean_wait = q.meanWait();
      m.mean_response = q.meanResponse();
      m.wait_percentile = q.waitPercentile(p);
      m.response_percentile = m.wait_percentile + spec.service_time;
      break;
    }
    case ServiceDistribution::kGeneral: {
      ASSIGN_OR_RETURN(AllenCunneenQueue q,
                       AllenCunneenQueue::make(spec.arrival_rate, spec.service_time, m.servers,
                                               spec.ca2, spec.cs2));
      m.p_wait = q.pWait();
      m.mean_wait = q.meanWait();
      m.mean_response = q.meanResponse();
      m.wait_percentile = q.waitPercentile(p);
      m.response_percentile = q.responsePercentile(p);
      break;
    }
  }
  return m;
}

double serviceOnlyPercentile(const QueueSpec& s) {
  switch (s.distribution) {
    case ServiceDistribution::kExponential:
      return s.service_time * std::log(1 / (1 - s.percentile));
    case ServiceDistribution::kDeterministic:
      return s.service_time;
    case ServiceDistribution::kGeneral:
      return AllenCunneenQueue::servicePercentile(s.service_time, s.cs2, s.percentile);
  }
  return s.service_time;
}

StatusOr<SizingResult> sizeForLatency(const QueueSpec& spec, double target) {
  RETURN_IF_ERROR(validateQueueSpec(spec));
  if (!(target > 0 && std::isfinite(target))) {
    return invalidArgument("latency_target: must be > 0, found " + fmt(target));
  }
  SizingResult r;
  r.offered_load = spec.arrival_rate * spec.service_time;
  const std::string label = percentileLabel(spec.percentile);
  const double floor_p = serviceOnlyPercentile(spec);
  const bool det = deterministicService(spec);
  if (det ? target < floor_p : target <= floor_p) {
    r.feasible = false;
    if (spec.distribution == ServiceDistribution::kExponential) {
      r.reason = "with exponential service the " + label + " of the service time alone is " +
                 formatSeconds(floor_p) + " (S·ln(1/(1−p))), not below the " +
                 formatSeconds(target) + " target: no replica count can meet it";
    } else if (det) {
      r.reason = "the service time alone (" + formatSeconds(spec.service_time) + ") exceeds the " +
                 formatSeconds(target) + " target";
    } else {
      r.reason = "the " + label + " of the service time alone (gamma, cs2 " + fmt(spec.cs2) +
                 ") is " + formatSeconds(floor_p) + ", not below the " + formatSeconds(target) +
                 " target: no replica count can meet it";
    }
    return r;
  }
  const int64_t c0 = minStableReplicas(r.offered_load, spec.slots);
  const int64_t c_max = kMaxServers / spec.slots;
  std::optional<QueueMetrics> best;
  auto meets = [&](int64_t c) -> StatusOr<bool> {
    auto m = evaluateQueue(spec, c);
    if (!m.isOk()) {
      if (m.status().code() == StatusCode::kOutOfRange) return false;  // M/D/c at ρ > 0.9999
      return m.status();
    }
    const bool ok = m->stable && m->response_percentile <= target;
    if (ok && (!best || best->replicas > c)) best = *m;
    return ok;
  };
  ASSIGN_OR_RETURN(std::optional<int64_t> c, smallestMeeting(c0, c_max, meets));
  if (!c) {
    r.feasible = false;
    r.reason = "more than " + std::to_string(c_max) + " replicas (" + std::to_string(kMaxServers) +
               " servers) would be needed to bring the " + label + " response time to " +
               formatSeconds(target);
    return r;
  }
  r.feasible = true;
  r.metrics = best;
  return r;
}

StatusOr<std::optional<int64_t>> sizeRandomRouting(const QueueSpec& spec, double target) {
  RETURN_IF_ERROR(validateQueueSpec(spec));
  const double floor_p = serviceOnlyPercentile(spec);
  if (deterministicService(spec) ? target < floor_p : target <= floor_p) {
    return std::optional<int64_t>();
  }
  const int64_t c0 = minStableReplicas(spec.arrival_rate * spec.service_time, spec.slots);
  auto meets = [&](int64_t c) -> StatusOr<bool> {
    QueueSpec one = spec;
    one.arrival_rate = spec.arrival_rate / static_cast<double>(c);
    auto m = evaluateQueue(one, 1);
    if (!m.isOk()) {
      if (m.status().code() == StatusCode::kOutOfRange) return false;
      return m.status();
    }
    return m->stable && m->response_percentile <= target;
  };
  return smallestMeeting(c0, kMaxServers / spec.slots, meets);
}

}  // namespace surge::planner

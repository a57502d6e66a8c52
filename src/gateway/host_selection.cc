#include "gateway/host_selection.h"

namespace surge::gateway {

bool anyEligible(const lb::HostSet& set, TimePoint now) {
  for (const auto& h : set.hosts) {
    if (h->eligible(now)) return true;
  }
  return false;
}

lb::Host* admitPick(lb::Host* picked, const lb::HostSet& set, TimePoint now) {
  if (picked != nullptr && set.panic && !picked->eligible(now) && !anyEligible(set, now)) {
    return nullptr;  // panic mode with no healthy host at all: fail fast rather than try dead ones
  }
  return picked;
}

NoHostAnswer noHostAnswer(int tries, int last_failure_status) {
  if (tries == 0) return {503, "no healthy upstream"};
  if (last_failure_status == 504) {
    return {504, "upstream per-try timeout, no other upstream to retry on"};
  }
  return {last_failure_status, "upstream unavailable"};
}

}  // namespace surge::gateway

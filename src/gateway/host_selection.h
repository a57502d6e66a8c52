// HostSelection: what the proxy does with the balancer's pick — try it, or answer without an
// upstream — and what that answer is. The proxy (proxy.cc) asks the balancer, then these.
// Rules (docs/design/gateway.md, "Retries" and "Policies"; tested in host_selection_test.cc):
//   - a picked host is tried, except in panic mode (the snapshot holds every non-draining host
//     because too few were eligible) when the pick is not eligible and no host of the set is:
//     trying dead hosts would only turn a fast 503 into a slow 502 (Envoy tries them; surge
//     fails fast);
//   - no host to try on the first try → 503 "no healthy upstream";
//   - no other host after failed tries → the status of the last failure (502, or 504 after a
//     per-try timeout) with a message that says so.
// Complexity: admitPick O(1) when the pick is eligible or the set is not in panic, else O(hosts).
// Thread-safety: pure functions (Host flags are atomics read once each).
#pragma once

#include <string_view>

#include "common/clock.h"
#include "lb/host.h"
#include "lb/host_set.h"

namespace surge::gateway {

// Some host of `set` is eligible at `now`.
bool anyEligible(const lb::HostSet& set, TimePoint now);

// The host to try: `picked` (the balancer's choice from `set`, nullptr when the set is empty), or
// nullptr when it must not be tried.
lb::Host* admitPick(lb::Host* picked, const lb::HostSet& set, TimePoint now);

struct NoHostAnswer {
  int status = 503;
  std::string_view message;
};

// The answer when there is no host to try. `tries`: tries made so far; `last_failure_status`:
// the status decideRetry gave the last failed try (502 or 504).
NoHostAnswer noHostAnswer(int tries, int last_failure_status);

}  // namespace surge::gateway

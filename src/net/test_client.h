// Moved: the loopback socket helpers for tests live in tests/support/socket_client.h (namespace
// surge::testing, target surge_test_headers; docs/design/testing.md). This forwarder keeps the
// old names for the tests that still include it (gateway/gateway_test.cc, autoscale/admin_test.cc)
// until their owners switch to "support/socket_client.h"; then it is deleted. Add no users.
#pragma once

#include <cstdint>

#include "../../tests/support/socket_client.h"

namespace surge::net::testing {

inline int connectLoopback(uint16_t port) { return surge::testing::connectTo(port); }
using surge::testing::bodyOf;
using surge::testing::httpExchange;
using surge::testing::readFor;
using surge::testing::readResponse;
using surge::testing::sendAll;
using surge::testing::statusOf;

}  // namespace surge::net::testing

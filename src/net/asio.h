// The one header through which surge code sees Boost.Asio (1.74, header-only). It includes
// <utility> first (Boost 1.74's awaitable.hpp uses std::exchange without including it), pulls in
// the parts the project uses, and adds endpoint helpers. Include it only from .cc files that do
// I/O: every translation unit that includes Asio costs seconds of compile time.
// Thread-safety: as Asio's (an io_context may be run by one or more threads; sockets are not
// thread-safe).
#pragma once

// clang-format off
#include <utility>
// clang-format on

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <string>
#include <string_view>

#include "common/status.h"

namespace surge::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// "127.0.0.1:8080", "[::1]:80", "localhost:0" → endpoint (names resolved synchronously, first
// address wins). InvalidArgument on a malformed address or port, NotFound when a name does not
// resolve.
StatusOr<tcp::endpoint> resolveEndpoint(std::string_view host_port);
// "127.0.0.1:8080" / "[::1]:8080".
std::string endpointToString(const tcp::endpoint& ep);

// Opens, configures (SO_REUSEADDR; SO_REUSEPORT when reuse_port) binds and listens.
Status openListener(tcp::acceptor& acceptor, const tcp::endpoint& ep, bool reuse_port,
                    int backlog = 1024);

}  // namespace surge::net

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

// Opens a close-on-exec socket, configures it (SO_REUSEADDR, so a restart binds while old
// connections sit in TIME_WAIT; SO_REUSEPORT when reuse_port), binds, listens (non-blocking).
// An address another socket listens on fails at once with AlreadyExists "address already in use:
// HOST:PORT ..." — unless both sockets set reuse_port (same user): then they share the port.
Status openListener(tcp::acceptor& acceptor, const tcp::endpoint& ep, bool reuse_port,
                    int backlog = 1024);

// Makes a group of SO_REUSEPORT listeners of this process exclusive against other processes:
// a bound, not listening, close-on-exec socket without SO_REUSEPORT. reserve() fails with
// AlreadyExists when anything listens on the address (with or without SO_REUSEPORT); while the
// reservation is held, this process's SO_REUSEPORT sockets can still bind the port (SO_REUSEADDR
// lets them past a holder that is not listening). Hold it until every listener of the group is
// listening, then drop it. Port 0 reserves an ephemeral port (see port()).
class PortReservation {
 public:
  PortReservation() = default;
  ~PortReservation();
  PortReservation(PortReservation&& o) noexcept : fd_(o.fd_), port_(o.port_) { o.fd_ = -1; }
  PortReservation& operator=(PortReservation&& o) noexcept;

  static StatusOr<PortReservation> reserve(const tcp::endpoint& ep);
  uint16_t port() const { return port_; }
  void release();

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// "address already in use: HOST:PORT (another process is listening there; ...)". `hint` names
// the flag that shares the port on purpose, if the listener has one.
Status addressInUse(const tcp::endpoint& ep, std::string_view hint = "");

// Opens `socket` for `protocol` with a close-on-exec descriptor (Asio's open() does not set
// O_CLOEXEC in Boost 1.74). For client sockets that are then connected with async_connect.
Status openCloexec(tcp::socket& socket, const tcp& protocol);

}  // namespace surge::net

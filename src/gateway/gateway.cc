#include "gateway/gateway.h"

#include <csignal>
#include <cstdio>

#include "common/json_escape.h"
#include "common/logging.h"
#include "gateway/access_log.h"
#include "gateway/activator.h"
#include "gateway/admin.h"
#include "gateway/proxy.h"
#include "health/health_checker.h"
#include "net/asio.h"
#include "net/http_server.h"
#include "net/tls/tls.h"

namespace surge::gateway {

namespace asio = net::asio;

class Gateway::Control {
 public:
  Control() : io(1), tick(io), signals(io), hup(io) {}

  asio::io_context io;
  asio::steady_timer tick;
  asio::signal_set signals;
  asio::signal_set hup;  // SIGHUP: reopen the access-log file (only when it is a file)
  std::function<void(boost::system::error_code, int)> on_hup;
  std::unique_ptr<net::HttpServer> admin;
  std::unique_ptr<health::HealthChecker> checker;
  std::atomic<int> workers_running{0};
  bool drain_started = false;
};

Gateway::Gateway(GatewayOptions options, Cluster& cluster, metrics::Registry& registry)
    : options_(std::move(options)),
      cluster_(cluster),
      registry_(registry),
      control_(std::make_unique<Control>()) {
  if (options_.activator.enabled) activator_ = std::make_unique<HoldQueue>(options_.activator);
}

Gateway::~Gateway() {
  if (started_) {
    requestShutdown();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  registry_.removeCallback("surge_gateway_in_flight");
  registry_.removeCallback("surge_gateway_held_requests");
  registry_.removeCallback("surge_gateway_activator_requests_total");
  registry_.removeCallback("surge_gateway_access_log_dropped_total");
  registry_.removeCallback("surge_gateway_access_log_written_bytes_total");
  registry_.removeCallback("surge_gateway_health_checks_total");
  registry_.removeCallback("surge_gateway_health_transitions_total");
  cluster_.unregisterMetrics(registry_);
  if (control_->checker) control_->checker->stop();
  cluster_.setMembershipListener(nullptr);
  control_->admin.reset();
  control_->checker.reset();
  workers_.clear();
  if (access_log_) access_log_->stop();  // after the workers: their last entries are written
}

uint64_t Gateway::accessLogDropped() const { return access_log_ ? access_log_->dropped() : 0; }

Status Gateway::reloadTls() {
  if (!tls_) return Status::ok();
  return tls_->reload();
}

void Gateway::reopenAccessLog() {
  if (access_log_) access_log_->reopen();
}

void Gateway::setActivationListener(std::function<void()> fn) {
  if (activator_) activator_->setListener(std::move(fn));
}

Status Gateway::start() {
  if (started_) return failedPrecondition("gateway already started");
  RETURN_IF_ERROR(lb::validateBalancerOptions(options_.balancer));
  if (options_.workers < 1) return invalidArgument("workers must be >= 1");
  std::signal(SIGPIPE, SIG_IGN);
  ASSIGN_OR_RETURN(net::tcp::endpoint ep, net::resolveEndpoint(options_.listen));

  GatewayMetrics m;
  m.requests = &registry_.counter("surge_gateway_requests_total",
                                  "Requests answered by the gateway, by backend and status class",
                                  {"backend", "code"});
  m.duration = &registry_.histogram("surge_gateway_request_duration_seconds",
                                    "Time from the request head to the end of the response",
                                    metrics::defaultLatencyBuckets());
  m.retries =
      &registry_.counter("surge_gateway_retries_total", "Requests retried on another backend")
           .get();
  m.upstream_connections = &registry_.counter("surge_gateway_upstream_connections_total",
                                              "Connections opened to backends", {"backend"});
  m.h2_connections =
      &registry_
           .counter("surge_gateway_h2_connections_total", "Client connections that spoke HTTP/2")
           .get();
  m.h2_streams = &registry_
                      .counter("surge_gateway_h2_streams_total",
                               "HTTP/2 streams (requests, gRPC calls) from clients")
                      .get();
  m.h2_resets = &registry_
                     .counter("surge_gateway_h2_client_resets_total",
                              "HTTP/2 streams reset by the client before their end")
                     .get();
  m.h2_goaways = &registry_
                      .counter("surge_gateway_h2_protocol_errors_total",
                               "HTTP/2 client sessions ended by a protocol error or an "
                               "abuse limit (GOAWAY sent)")
                      .get();
  m.h2_upstream_connections = &registry_
                                   .counter("surge_gateway_h2_upstream_connections_total",
                                            "HTTP/2 connections opened to backends")
                                   .get();
  m.grpc_responses = &registry_.counter("surge_gateway_grpc_responses_total",
                                        "gRPC calls answered, by grpc-status (the backend's or "
                                        "the gateway's own)",
                                        {"grpc_status"});
  SharedState shared{&retries_in_flight_};
  if (options_.tls.enabled()) {
    tls::ServerTlsOptions t;
    t.cert_file = options_.tls.cert;
    t.key_file = options_.tls.key;
    t.client_ca_file = options_.tls.client_ca;
    t.require_client_cert = options_.tls.require_client_cert;
    t.min_version = options_.tls.min_version;
    t.ciphers = options_.tls.ciphers;
    t.ciphersuites = options_.tls.ciphersuites;
    // h2 is offered only when HTTP/2 requests can be served (HTTP/2 upstreams).
    t.alpn = options_.http2.enabled && options_.upstreamIsH2()
                 ? std::vector<std::string>{"h2", "http/1.1"}
                 : std::vector<std::string>{"http/1.1"};
    tls_ = std::make_unique<tls::ServerContextHolder>(t);
    RETURN_IF_ERROR(tls_->load());
    shared.tls = tls_.get();
    m.tls_handshakes =
        &registry_.counter("surge_gateway_tls_handshakes_total",
                           "TLS handshakes on the client listener, by result", {"result"});
    SURGE_LOG(kInfo, "gateway", "TLS certificate: " + tls_->current()->certificateSummary());
  }
  if (options_.access_log.enabled()) {
    access_log_ = std::make_unique<AccessLogWriter>(options_.access_log, options_.workers);
    RETURN_IF_ERROR(access_log_->open());
    shared.access_log = access_log_.get();
    AccessLogWriter* log = access_log_.get();
    registry_.counterCallback("surge_gateway_access_log_dropped_total",
                              "Access-log entries dropped (writer behind: buffer full; write "
                              "errors)",
                              {}, [log](std::vector<metrics::Sample>& out) {
                                out.push_back({{}, static_cast<double>(log->dropped())});
                              });
    registry_.counterCallback("surge_gateway_access_log_written_bytes_total",
                              "Access-log bytes written", {},
                              [log](std::vector<metrics::Sample>& out) {
                                out.push_back({{}, static_cast<double>(log->writtenBytes())});
                              });
  }

  if (activator_) {
    shared.activator = activator_.get();
    HoldQueue* q = activator_.get();
    registry_.gaugeCallback("surge_gateway_held_requests",
                            "Requests held by the activator until a replica is ready", {},
                            [q](std::vector<metrics::Sample>& out) {
                              out.push_back({{}, static_cast<double>(q->held())});
                            });
    registry_.counterCallback(
        "surge_gateway_activator_requests_total",
        "Requests that found no ready replica, by what the activator did: held (then released, "
        "timed_out or abandoned by the client) or overflowed (queue full, 503 at once)",
        {"result"}, [q](std::vector<metrics::Sample>& out) {
          out.push_back({{"held"}, static_cast<double>(q->heldTotal())});
          out.push_back({{"released"}, static_cast<double>(q->released())});
          out.push_back({{"timed_out"}, static_cast<double>(q->timedOut())});
          out.push_back({{"abandoned"}, static_cast<double>(q->abandoned())});
          out.push_back({{"overflowed"}, static_cast<double>(q->overflowed())});
        });
  }

  uint64_t seed = options_.seed != 0 ? options_.seed : Random::osSeed();
  // The workers bind the port with SO_REUSEPORT, which would also let a second surge process
  // join it and take half the connections. A reservation without SO_REUSEPORT, held until every
  // worker listens, fails if anything else listens on the address (net/asio.h).
  net::PortReservation reservation;
  if (!options_.reuse_port) {
    auto r = net::PortReservation::reserve(ep);
    if (!r.isOk()) {
      if (r.status().code() == StatusCode::kAlreadyExists) {
        return net::addressInUse(ep, "--reuse-port shares it on purpose, for a hot restart");
      }
      return r.status();
    }
    reservation = std::move(r).value();
    ep.port(reservation.port());
  }
  for (int i = 0; i < options_.workers; ++i) {
    auto w =
        std::make_unique<Worker>(i, options_, cluster_, m, shared, seed + static_cast<uint64_t>(i));
    net::tcp::endpoint bind_ep = ep;
    if (i > 0) bind_ep.port(port_);
    RETURN_IF_ERROR(w->listen(bind_ep));
    if (i == 0) port_ = w->port();
    workers_.push_back(std::move(w));
  }
  reservation.release();
  registry_.gaugeCallback("surge_gateway_in_flight", "Requests in flight in the gateway", {},
                          [this](std::vector<metrics::Sample>& out) {
                            double total = 0;
                            for (const auto& w : workers_)
                              total += static_cast<double>(w->inFlight());
                            out.push_back({{}, total});
                          });

  Control& c = *control_;
  if (!options_.admin.listen.empty()) {
    AdminOptions admin = options_.admin;
    admin.shutting_down = &shutting_down_;
    admin.protocols = [m, this] {
      auto val = [](metrics::Counter* c) { return c ? static_cast<uint64_t>(c->value()) : 0; };
      std::string j =
          "{\"http2\":{\"connections\":" + std::to_string(val(m.h2_connections)) +
          ",\"streams\":" + std::to_string(val(m.h2_streams)) +
          ",\"client_resets\":" + std::to_string(val(m.h2_resets)) +
          ",\"protocol_errors\":" + std::to_string(val(m.h2_goaways)) +
          ",\"upstream_connections\":" + std::to_string(val(m.h2_upstream_connections)) +
          "},\"grpc\":{";
      // By grpc-status, and the OK / error split.
      uint64_t ok = 0, errors = 0;
      std::string by_status;
      if (m.grpc_responses != nullptr) {
        m.grpc_responses->forEach(
            [&](const std::vector<std::string>& labels, const metrics::Counter& c) {
              auto n = static_cast<uint64_t>(c.value());
              if (!by_status.empty()) by_status += ",";
              by_status += "\"" + labels[0] + "\":" + std::to_string(n);
              (labels[0] == "0" ? ok : errors) += n;
            });
      }
      j += "\"ok\":" + std::to_string(ok) + ",\"errors\":" + std::to_string(errors) +
           ",\"by_status\":{" + by_status + "}},\"tls\":{\"enabled\":";
      if (tls_) {
        uint64_t hs_ok = 0, hs_failed = 0;
        if (m.tls_handshakes != nullptr) {
          m.tls_handshakes->forEach(
              [&](const std::vector<std::string>& labels, const metrics::Counter& c) {
                (labels[0] == "ok" ? hs_ok : hs_failed) += static_cast<uint64_t>(c.value());
              });
        }
        j += "true,\"handshakes\":" + std::to_string(hs_ok) +
             ",\"handshake_failures\":" + std::to_string(hs_failed) + ",\"certificate\":\"" +
             jsonEscape(tls_->current()->certificateSummary()) + "\"}}";
      } else {
        j += "false}}";
      }
      return j;
    };
    c.admin = std::make_unique<net::HttpServer>(c.io, makeAdminHandler(cluster_, registry_, admin));
    RETURN_IF_ERROR(c.admin->listen(admin.listen));
    admin_port_ = c.admin->port();
  }
  if (options_.health_check_enabled) {
    Cluster* cluster = &cluster_;
    c.checker = std::make_unique<health::HealthChecker>(
        c.io, options_.health_check, [cluster](const lb::HostPtr& host, bool healthy) {
          cluster->onHealthChanged(host, healthy);
        });
    health::HealthChecker* checker = c.checker.get();
    cluster_.setMembershipListener(
        [checker](std::vector<lb::HostPtr> hosts) { checker->setHosts(std::move(hosts)); });
    checker->setHosts(cluster_.hosts());
    registry_.counterCallback(
        "surge_gateway_health_checks_total", "Active health-check probes by result", {"result"},
        [checker](std::vector<metrics::Sample>& out) {
          health::HealthCheckerStats st = checker->stats();
          for (size_t i = 0; i < health::kProbeResultCount; ++i) {
            out.push_back(
                metrics::Sample{{health::probeResultName(static_cast<health::ProbeResult>(i))},
                                static_cast<double>(st.probes[i])});
          }
        });
    registry_.counterCallback(
        "surge_gateway_health_transitions_total",
        "Backends that changed health state, by new state", {"to"},
        [checker](std::vector<metrics::Sample>& out) {
          health::HealthCheckerStats st = checker->stats();
          out.push_back(metrics::Sample{{"healthy"}, static_cast<double>(st.became_healthy)});
          out.push_back(metrics::Sample{{"unhealthy"}, static_cast<double>(st.became_unhealthy)});
        });
  }
  cluster_.registerMetrics(registry_);
  if (options_.install_signal_handlers) {
    c.signals.add(SIGINT);
    c.signals.add(SIGTERM);
    std::function<void(boost::system::error_code, int)> on_signal;
    on_signal = [this](boost::system::error_code ec, int sig) {
      if (ec) return;
      SURGE_LOG(kInfo, "gateway",
                std::string("received ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + ": draining");
      requestShutdown();
      control_->signals.async_wait([this](boost::system::error_code e, int) {
        if (e) return;
        SURGE_LOG(kWarn, "gateway", "second signal: closing every connection now");
        for (auto& w : workers_) w->beginShutdown(TimePoint{});
      });
    };
    c.signals.async_wait(on_signal);
    // SIGHUP reopens the access-log file (logrotate: move, then HUP); without a file it is
    // logged and ignored — never the default action (exit), which would cut requests in flight
    // (nginx, HAProxy and Envoy do not die on HUP either).
    c.hup.add(SIGHUP);
    const bool reopen = access_log_ && !options_.access_log.toStdout();
    c.on_hup = [this, reopen](boost::system::error_code ec, int) {
      if (ec) return;
      if (reopen) {
        SURGE_LOG(kInfo, "gateway", "received SIGHUP: reopening the access log");
        reopenAccessLog();
      }
      if (tls_) {
        Status st = reloadTls();
        if (st.isOk()) {
          SURGE_LOG(kInfo, "gateway",
                    "received SIGHUP: TLS certificate reloaded: " +
                        tls_->current()->certificateSummary());
        } else {
          SURGE_LOG(kError, "gateway",
                    "received SIGHUP: TLS reload failed, keeping the current certificate: " +
                        st.message());
        }
      }
      if (!reopen && !tls_) {
        SURGE_LOG(kInfo, "gateway",
                  "received SIGHUP: no access-log file or TLS certificate to reload; ignored");
      }
      control_->hup.async_wait(control_->on_hup);
    };
    c.hup.async_wait(c.on_hup);
  }
  if (access_log_) access_log_->start();

  c.workers_running = static_cast<int>(workers_.size());
  for (auto& w : workers_) {
    Worker* wp = w.get();
    threads_.emplace_back([wp, &c] {
      wp->run();
      c.workers_running.fetch_sub(1);
      asio::post(c.io, [] {});  // wake the control loop
    });
  }
  started_ = true;
  if (options_.print_ready_line) {
    std::string host = options_.listen.substr(0, options_.listen.rfind(':'));
    std::string admin = "disabled";
    if (c.admin) {
      std::string ahost = options_.admin.listen.substr(0, options_.admin.listen.rfind(':'));
      admin = ahost + ":" + std::to_string(admin_port_);
    }
    // With the access log on stdout, stdout carries access-log lines only: the ready line goes
    // to stderr (a log pipeline reading stdout never sees a line of another format).
    FILE* out = access_log_ && options_.access_log.toStdout() ? stderr : stdout;
    std::fprintf(out, "surge gateway listening on %s:%u (admin %s)\n", host.c_str(), port_,
                 admin.c_str());
    std::fflush(out);
  }
  SURGE_LOG(kInfo, "gateway",
            "listening on port " + std::to_string(port_) + " with " +
                std::to_string(workers_.size()) + " workers, algorithm " +
                options_.balancer.algorithm);
  return Status::ok();
}

void Gateway::run() {
  if (!started_) return;
  Control& c = *control_;
  std::function<void()> arm;
  arm = [this, &c, &arm] {
    c.tick.expires_after(std::chrono::milliseconds(100));
    c.tick.async_wait([this, &c, &arm](boost::system::error_code ec) {
      if (ec) return;
      cluster_.tick();
      if (c.drain_started && c.workers_running.load() == 0) {
        c.io.stop();
        return;
      }
      arm();
    });
  };
  arm();
  c.io.run();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  boost::system::error_code ec;
  c.signals.cancel(ec);
  c.hup.cancel(ec);
  if (access_log_) access_log_->stop();  // every worker has finished: flush their last entries
  if (c.checker) c.checker->stop();
  if (c.admin) c.admin->stop();
  SURGE_LOG(kInfo, "gateway", "stopped");
}

void Gateway::requestShutdown() {
  if (shutting_down_.exchange(true)) return;
  TimePoint deadline = std::chrono::time_point_cast<Duration>(std::chrono::steady_clock::now()) +
                       options_.drain_timeout;
  for (auto& w : workers_) w->beginShutdown(deadline);
  asio::post(control_->io, [this] { control_->drain_started = true; });
}

}  // namespace surge::gateway

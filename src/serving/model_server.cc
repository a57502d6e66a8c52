#include "serving/model_server.h"

#include <malloc.h>

#include <csignal>
#include <cstdio>
#include <optional>

#include "common/logging.h"
#include "net/asio.h"
#include "net/http_server.h"
#include "serving/grpc/grpc_server.h"
#include "serving/system_metrics.h"

namespace surge::serving {

namespace asio = net::asio;

namespace {

struct Worker {
  asio::io_context io{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;
  std::unique_ptr<net::HttpServer> server;
  Post post;
  std::thread thread;
};

std::string hostOf(const std::string& listen) { return listen.substr(0, listen.rfind(':')); }

// Requests at least this large trigger a malloc_trim (docs/design/serving.md, "Input limits").
constexpr size_t kTrimAfterBytes = 4u << 20;

}  // namespace

class ModelServer::Impl {
 public:
  enum class Phase { kServing, kDelaying, kDraining, kStopped };

  Impl() : tick(control), signals(control) {}

  asio::io_context control{1};
  asio::steady_timer tick;
  asio::signal_set signals;
  std::vector<std::unique_ptr<Worker>> workers;
  std::unique_ptr<net::HttpServer> metrics_server;
  std::unique_ptr<GrpcServer> grpc;
  std::atomic<bool> shutdown_requested{false};
  // Set by a worker after a large request (steady-clock ns); the control loop then gives freed
  // memory back to the kernel (malloc_trim) once a second for the next 3 s, off the event loops
  // (buffers of a large request are freed when its connection closes, a little later).
  std::atomic<int64_t> last_large_request_ns{0};
  std::chrono::steady_clock::time_point last_trim{};
  std::atomic<bool> force{false};
  Phase phase = Phase::kServing;
  std::chrono::steady_clock::time_point phase_deadline;
  bool announced_ready = false;
  bool started = false;
  int exit_code = 0;

  void stopWorkers() {
    for (auto& w : workers) {
      w->guard.reset();
      w->io.stop();
    }
    for (auto& w : workers) {
      if (w->thread.joinable()) w->thread.join();
    }
  }
};

ModelServer::ModelServer(ModelServerOptions options, std::vector<RepositoryModel> models,
                         const runtime::BackendRegistry& backends, metrics::Registry& registry,
                         Clock& clock)
    : options_(std::move(options)),
      registry_(registry),
      models_(std::move(models), backends, registry, clock),
      service_(models_, clock),
      control_(options_.control, models_, backends),
      api_(HttpApiOptions{"surge", options_.server_version, true, options_.max_request_bytes, {}},
           models_, service_, registry, draining_),
      impl_(std::make_unique<Impl>()) {
  api_.setModelControl(&control_);
  registerSystemMetrics(registry);  // Triton's nv_cpu_* gauges (system_metrics.h)
}

ModelServer::~ModelServer() {
  // Instance threads post their replies to the workers' loops: stop them before the loops go.
  control_.stop();  // no load or drain runs past this point
  api_.stop();      // codec pool jobs post to the loops: none runs past this point
  models_.drainAndStop();
  impl_->stopWorkers();
  impl_->metrics_server.reset();
  // After the batchers: every gRPC call they were answering has been finished.
  impl_->grpc.reset();
  impl_.reset();
}

Status ModelServer::start() {
  Impl& im = *impl_;
  if (im.started) return failedPrecondition("model server already started");
  if (options_.workers < 1) return invalidArgument("workers must be >= 1");
  std::signal(SIGPIPE, SIG_IGN);
  // Blocks of 1 MiB and more (request bodies, tensors) come from mmap and go back to the kernel
  // when freed. glibc otherwise raises its mmap threshold after the first large free (up to
  // 32 MiB), so later large bodies land in the heap, where fragments can pin them after the
  // request: RSS after a burst of large requests then depends on allocation order.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  net::HttpServerOptions http;
  http.limits.max_body_bytes = options_.max_request_bytes;
  http.reuse_port = options_.workers > 1 || options_.reuse_port;
  std::string host = hostOf(options_.listen);
  // The workers share the port through SO_REUSEPORT; a reservation without it keeps the port
  // exclusive against other processes (net/asio.h) unless --reuse-port asked to share.
  net::PortReservation reservation;
  if (http.reuse_port && !options_.reuse_port) {
    ASSIGN_OR_RETURN(net::tcp::endpoint ep, net::resolveEndpoint(options_.listen));
    ASSIGN_OR_RETURN(reservation, net::PortReservation::reserve(ep));
  }
  for (int i = 0; i < options_.workers; ++i) {
    auto w = std::make_unique<Worker>();
    asio::io_context* io = &w->io;
    w->post = [io](std::function<void()> fn) { asio::post(*io, std::move(fn)); };
    Worker* wp = w.get();
    w->server = std::make_unique<net::HttpServer>(
        w->io,
        net::AsyncHandler(
            [this, wp](const net::HttpRequest& req, std::shared_ptr<net::Responder> responder) {
              api_.handle(req, std::move(responder), wp->post);
              if (req.body.size() >= kTrimAfterBytes) {
                impl_->last_large_request_ns.store(
                    std::chrono::steady_clock::now().time_since_epoch().count(),
                    std::memory_order_relaxed);
              }
            }),
        http);
    std::string address = i == 0 ? options_.listen : host + ":" + std::to_string(port_);
    if (i == 0 && reservation.port() != 0) address = host + ":" + std::to_string(reservation.port());
    RETURN_IF_ERROR(w->server->listen(address));
    if (i == 0) port_ = w->server->port();
    w->guard.emplace(w->io.get_executor());
    im.workers.push_back(std::move(w));
  }
  reservation.release();
  if (!options_.metrics_listen.empty()) {
    metrics::Registry* reg = &registry_;
    im.metrics_server = std::make_unique<net::HttpServer>(
        im.control, net::Handler([reg](const net::HttpRequest& req) {
          if (req.path != "/metrics") {
            return net::HttpResponse::jsonError(404, "only /metrics here");
          }
          return metricsResponse(*reg);
        }));
    RETURN_IF_ERROR(im.metrics_server->listen(options_.metrics_listen));
    metrics_port_ = im.metrics_server->port();
  }
  if (!options_.grpc_listen.empty()) {
    GrpcServerOptions g;
    g.listen = options_.grpc_listen;
    g.max_request_bytes = options_.max_request_bytes;
    g.reuse_port = options_.reuse_port;
    g.server_version = options_.server_version;
    g.extensions = serverExtensions();  // as GET /v2
    g.workers = options_.workers;
    im.grpc = std::make_unique<GrpcServer>(std::move(g), models_, service_, draining_);
    im.grpc->setModelControl(&control_);
    RETURN_IF_ERROR(im.grpc->start());
    grpc_port_ = im.grpc->port();
  }
  if (options_.install_signal_handlers) {
    im.signals.add(SIGINT);
    im.signals.add(SIGTERM);
    im.signals.async_wait([this](boost::system::error_code ec, int sig) {
      if (ec) return;
      SURGE_LOG(kInfo, "serve",
                std::string("received ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") +
                    ": not ready; finishing queued and running requests");
      requestShutdown();
      impl_->signals.async_wait([this](boost::system::error_code e, int) {
        if (e) return;
        SURGE_LOG(kWarn, "serve", "second signal: stopping now");
        impl_->force = true;
        requestShutdown();
      });
    });
  }
  models_.start();
  control_.start();
  for (auto& w : im.workers) {
    Worker* wp = w.get();
    w->thread = std::thread([wp] { wp->io.run(); });
  }
  im.started = true;
  if (options_.print_ready_line) {
    std::string line = "surge serve listening on " + host + ":" + std::to_string(port_);
    if (im.metrics_server) {
      line += " (metrics " + hostOf(options_.metrics_listen) + ":" + std::to_string(metrics_port_) +
              ")";
    }
    std::printf("%s\n", line.c_str());
    if (im.grpc) {
      std::printf("surge serve gRPC listening on %s:%u\n", hostOf(options_.grpc_listen).c_str(),
                  static_cast<unsigned>(grpc_port_));
    }
    std::fflush(stdout);
  }
  size_t instances = 0;
  for (const auto& m : models_.all()) instances += m->config().instances().size();
  SURGE_LOG_FIELDS(kInfo, "serve",
                   "listening on port " + std::to_string(port_) + " with " +
                       std::to_string(options_.workers) + " workers" +
                       (im.grpc ? ", gRPC on port " + std::to_string(grpc_port_) : std::string()) +
                       "; loading " + std::to_string(models_.all().size()) +
                       " model versions (" + std::to_string(instances) + " instances)",
                   {{"event", "listening"},
                    {"port", port_},
                    {"grpc_port", im.grpc ? static_cast<int>(grpc_port_) : 0},
                    {"workers", options_.workers},
                    {"model_versions", models_.all().size()}});
  return Status::ok();
}

void ModelServer::requestShutdown() {
  draining_.store(true);
  impl_->shutdown_requested.store(true);  // the control loop acts on its next tick
}

int ModelServer::run() {
  Impl& im = *impl_;
  if (!im.started) return 1;
  std::function<void()> arm;
  auto step = [this, &im, &arm] {
    auto now = std::chrono::steady_clock::now();
    auto large = std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(
        im.last_large_request_ns.load(std::memory_order_relaxed)));
    if (large.time_since_epoch().count() != 0 && now - large < std::chrono::seconds(3) &&
        now - im.last_trim >= std::chrono::seconds(1)) {
      im.last_trim = now;
      malloc_trim(0);
    }
    if (im.phase == Impl::Phase::kServing) {
      Status load = models_.loadStatus();
      if (!load.isOk()) {
        SURGE_LOG(kError, "serve", "a model failed to load; stopping: " + load.message());
        im.exit_code = 1;
        im.force = true;
        requestShutdown();
      } else if (!im.announced_ready && models_.ready()) {
        im.announced_ready = true;
        SURGE_LOG(kInfo, "serve", "ready: every model version loaded and warmed up");
      }
      if (im.shutdown_requested.load()) {
        im.phase = Impl::Phase::kDelaying;
        im.phase_deadline = now + (im.force ? Duration::zero() : options_.shutdown_delay);
      }
    }
    if (im.phase == Impl::Phase::kDelaying && (now >= im.phase_deadline || im.force)) {
      for (auto& w : im.workers) w->server->stop();
      if (im.metrics_server) im.metrics_server->stop();
      if (im.grpc) im.grpc->beginShutdown(im.force ? Duration::zero() : options_.drain_timeout);
      // Not waited for here: the signal loop must keep running (a second signal forces). A load
      // in progress is abandoned, a drain cut short; the thread ends within a batch.
      control_.requestStop();
      models_.flush();
      im.phase = Impl::Phase::kDraining;
      im.phase_deadline = now + options_.drain_timeout;
    }
    if (im.phase == Impl::Phase::kDraining) {
      size_t connections = 0;
      for (auto& w : im.workers) connections += w->server->connectionCount();
      bool idle = service_.inFlight() == 0 && connections == 0 &&
                  (!im.grpc || im.grpc->done()) && control_.stopped();
      if (idle || now >= im.phase_deadline || im.force) {
        if (!idle) {
          SURGE_LOG(kWarn, "serve",
                    "drain ended with " + std::to_string(service_.inFlight()) +
                        " requests in flight and " + std::to_string(connections) +
                        " connections open");
          // Out of time: queued requests fail rather than run (the batches executing finish).
          for (auto& m : models_.all()) {
            m->batcher().rejectQueued(unavailable("server is shutting down"));
          }
        }
        // Versions still inside a backend's load are not waited for (a reaper frees them if the
        // load ends before the process does).
        reapInBackground(models_.takeLoading(), unavailable("server is shutting down"));
        models_.drainAndStop();
        im.stopWorkers();
        im.phase = Impl::Phase::kStopped;
        boost::system::error_code ec;
        im.signals.cancel(ec);
        im.tick.cancel();
        im.control.stop();
        return;
      }
    }
    arm();
  };
  arm = [&im, &step] {
    im.tick.expires_after(std::chrono::milliseconds(im.phase == Impl::Phase::kServing ? 20 : 5));
    im.tick.async_wait([&step](boost::system::error_code ec) {
      if (!ec) step();
    });
  };
  arm();
  im.control.run();
  SURGE_LOG(kInfo, "serve", "stopped");
  return im.exit_code;
}

}  // namespace surge::serving

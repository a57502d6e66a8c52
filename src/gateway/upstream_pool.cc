#include "gateway/upstream_pool.h"

#include <sys/socket.h>

#include <cerrno>

#include "common/logging.h"
#include "metrics/metric_types.h"

namespace surge::gateway {

UpstreamPool::~UpstreamPool() {
  for (auto& [h, p] : pools_) {
    for (UpstreamConn* c : p->idle) {
      boost::system::error_code ec;
      c->sock.close(ec);
      delete c;
    }
    p->idle.clear();
  }
}

void UpstreamPool::onSnapshot(const lb::HostSet& set) {
  for (auto& [h, p] : pools_) p->live = false;
  for (const lb::HostPtr& host : set.hosts) {
    ensure(host)->live = true;
  }
  std::vector<HostPool*> dead;
  for (auto& [h, p] : pools_) {
    if (!p->live) dead.push_back(p.get());
  }
  for (HostPool* p : dead) {
    for (UpstreamConn* c : p->idle) {
      boost::system::error_code ec;
      c->sock.close(ec);
      --p->open;
      --open_total_;
      delete c;
    }
    p->idle.clear();
    maybeRetire(p);
  }
}

HostPool* UpstreamPool::forHost(const lb::Host* host) {
  auto it = pools_.find(host);
  return it == pools_.end() ? nullptr : it->second.get();
}

HostPool* UpstreamPool::ensure(const lb::HostPtr& host) {
  auto it = pools_.find(host.get());
  if (it != pools_.end()) return it->second.get();
  auto p = std::make_unique<HostPool>();
  p->host = host;
  HostPool* raw = p.get();
  pools_.emplace(host.get(), std::move(p));
  auto ep = net::resolveEndpoint(host->address());
  if (ep.isOk()) {
    raw->endpoint = *ep;
    raw->resolved = true;
  } else {
    SURGE_LOG(kWarn, "gateway", "cannot resolve backend " + host->address() + ": " +
                                    ep.status().message());
  }
  if (on_new_entry) on_new_entry(*raw);
  return raw;
}

void UpstreamPool::releaseUser(HostPool* p) {
  --p->users;
  maybeRetire(p);
}

void UpstreamPool::maybeRetire(HostPool* p) {
  if (p->live || p->users > 0 || p->open > 0) return;
  pools_.erase(p->host.get());
}

UpstreamConn* UpstreamPool::takeIdle(HostPool* p) {
  if (p->idle.empty()) return nullptr;
  UpstreamConn* c = p->idle.back();
  p->idle.pop_back();
  return c;
}

UpstreamConn* UpstreamPool::create(HostPool* p) {
  auto* c = new UpstreamConn(io_, p);
  c->cap = options_.buffer_bytes;
  c->buf.reset(new char[c->cap]);
  ++p->open;
  ++open_total_;
  if (p->connections_total) p->connections_total->inc();
  return c;
}

void UpstreamPool::putIdle(UpstreamConn* c, TimePoint now) {
  HostPool* p = c->pool;
  if (!p->live) {
    destroy(c);
    return;
  }
  c->idle_since = now;
  c->start = c->len = 0;
  p->idle.push_back(c);
}

void UpstreamPool::destroy(UpstreamConn* c) {
  if (c->dead) return;
  c->dead = true;
  boost::system::error_code ec;
  c->sock.close(ec);
  HostPool* p = c->pool;
  --p->open;
  --open_total_;
  if (c->pending == 0) {
    delete c;
    maybeRetire(p);
  }
}

void UpstreamPool::freeConn(UpstreamConn* c) {
  HostPool* p = c->pool;
  delete c;
  maybeRetire(p);
}

void UpstreamPool::sweep(TimePoint now) {
  for (auto& [h, p] : pools_) {
    auto& idle = p->idle;
    size_t keep = 0;
    for (size_t i = 0; i < idle.size(); ++i) {
      UpstreamConn* c = idle[i];
      bool close = now - c->idle_since >= options_.idle_timeout;
      if (!close) {
        // The backend closed it (EOF), reset it, or sent something unsolicited: drop it.
        char b;
        ssize_t n = ::recv(c->sock.native_handle(), &b, 1, MSG_PEEK | MSG_DONTWAIT);
        close = n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
      }
      if (close) {
        boost::system::error_code ec;
        c->sock.close(ec);
        --p->open;
        --open_total_;
        delete c;
      } else {
        idle[keep++] = c;
      }
    }
    idle.resize(keep);
  }
  std::vector<HostPool*> retire;
  for (auto& [h, p] : pools_) {
    if (!p->live && p->users == 0 && p->open == 0) retire.push_back(p.get());
  }
  for (HostPool* p : retire) maybeRetire(p);
}

void UpstreamPool::closeIdle() {
  for (auto& [h, p] : pools_) {
    for (UpstreamConn* c : p->idle) {
      boost::system::error_code ec;
      c->sock.close(ec);
      --p->open;
      --open_total_;
      delete c;
    }
    p->idle.clear();
  }
}

size_t UpstreamPool::idleCount() const {
  size_t n = 0;
  for (const auto& [h, p] : pools_) n += p->idle.size();
  return n;
}

}  // namespace surge::gateway

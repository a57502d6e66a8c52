#include "gateway/upstream_pool.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/logging.h"
#include "metrics/metric_types.h"

namespace surge::gateway {

void UpstreamConn::onIo(uint32_t events) {
  if (dead) return;
  if (owner != nullptr) {
    owner->onUpstreamIo(this, events);
  } else {
    pool_owner->onIdleIo(this, events);
  }
}

UpstreamPool::~UpstreamPool() {
  closeIdle();
  reap();
}

void UpstreamPool::onSnapshot(const lb::HostSet& set) {
  for (auto& [h, p] : pools_) p->live = false;
  for (const lb::HostPtr& host : set.hosts) ensure(host)->live = true;
  for (auto& [h, p] : pools_) {
    if (p->live) continue;
    while (!p->idle.empty()) destroy(p->idle.back());
    maybeRetire(p.get());
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
    SURGE_LOG(kWarn, "gateway",
              "cannot resolve backend " + host->address() + ": " + ep.status().message());
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
  if (std::find(retire_.begin(), retire_.end(), p) == retire_.end()) retire_.push_back(p);
}

UpstreamConn* UpstreamPool::takeIdle(HostPool* p, UpstreamOwner* owner) {
  if (p->idle.empty()) return nullptr;
  UpstreamConn* c = p->idle.back();
  p->idle.pop_back();
  c->owner = owner;
  return c;
}

UpstreamConn* UpstreamPool::connect(HostPool* p, UpstreamOwner* owner, int* err) {
  const auto& ep = p->endpoint;
  int fd = ::socket(ep.protocol().family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *err = errno;
    return nullptr;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  auto* c = new UpstreamConn();
  c->fd = fd;
  c->pool_owner = this;
  c->pool = p;
  c->owner = owner;
  c->cap = options_.buffer_bytes;
  c->buf.reset(new char[c->cap]);
  c->handle = epoll_.add(fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, c);
  if (c->handle == EpollSet::kNoHandle) {
    *err = errno;
    ::close(fd);
    delete c;
    return nullptr;
  }
  ++p->open;
  ++open_total_;
  if (p->connections_total) p->connections_total->inc();
  int r;
  do {
    r = ::connect(fd, ep.data(), static_cast<socklen_t>(ep.size()));
  } while (r != 0 && errno == EINTR);
  if (r == 0) return c;  // loopback connects often complete at once
  if (errno == EINPROGRESS) {
    c->connecting = true;
    return c;
  }
  *err = errno;
  destroy(c);
  return nullptr;
}

void UpstreamPool::putIdle(UpstreamConn* c, TimePoint now) {
  HostPool* p = c->pool;
  c->owner = nullptr;
  if (!p->live || c->readable) {  // retired host, or bytes/FIN already pending: not reusable
    destroy(c);
    return;
  }
  c->idle_since = now;
  c->start = c->len = 0;
  p->idle.push_back(c);
}

void UpstreamPool::removeIdle(UpstreamConn* c) {
  auto& idle = c->pool->idle;
  auto it = std::find(idle.begin(), idle.end(), c);
  if (it != idle.end()) idle.erase(it);
}

void UpstreamPool::destroy(UpstreamConn* c) {
  if (c->dead) return;
  if (c->owner == nullptr) removeIdle(c);
  c->dead = true;
  c->owner = nullptr;
  // Leave the epoll set explicitly: close() alone would not if another process or descriptor
  // still refers to the socket, and its events would keep coming (epoll_set.h).
  epoll_.remove(c->fd, c->handle);
  c->handle = EpollSet::kNoHandle;
  ::close(c->fd);
  c->fd = -1;
  HostPool* p = c->pool;
  --p->open;
  --open_total_;
  dead_.push_back(c);
  maybeRetire(p);
}

void UpstreamPool::onIdleIo(UpstreamConn* c, uint32_t events) {
  // EPOLLOUT alone is the socket saying it is writable. EPOLLIN may be stale (an edge for bytes
  // the last response's reads already consumed), so peek: EOF, an error or unsolicited bytes mean
  // the backend closed the connection or broke protocol.
  if (events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP)) {
    destroy(c);
    return;
  }
  if (events & EPOLLIN) {
    char b;
    ssize_t n = ::recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) destroy(c);
  }
}

void UpstreamPool::sweep(TimePoint now) {
  for (auto& [h, p] : pools_) {
    // The stack is LIFO: the oldest idle connections are at the bottom.
    while (!p->idle.empty() && now - p->idle.front()->idle_since >= options_.idle_timeout) {
      destroy(p->idle.front());
    }
  }
}

void UpstreamPool::closeIdle() {
  for (auto& [h, p] : pools_) {
    while (!p->idle.empty()) destroy(p->idle.back());
  }
}

void UpstreamPool::reap() {
  for (UpstreamConn* c : dead_) delete c;
  dead_.clear();
  for (HostPool* p : retire_) {
    if (!p->live && p->users == 0 && p->open == 0) pools_.erase(p->host.get());
  }
  retire_.clear();
}

size_t UpstreamPool::idleCount() const {
  size_t n = 0;
  for (const auto& [h, p] : pools_) n += p->idle.size();
  return n;
}

}  // namespace surge::gateway

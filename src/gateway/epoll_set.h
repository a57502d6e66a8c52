// EpollSet: a worker's epoll descriptor plus generation-checked handles for what is registered in
// it. The epoll data word of a registration is a handle, (generation << 32) | slot, never a
// pointer: an event is dispatched only if its slot still holds the same generation, so an event
// for an object that has been removed (a stale event) is dropped instead of calling into freed
// memory. Stale events are real: an epoll registration belongs to the open file description, not
// to the descriptor, so if another process (a forked child) or another descriptor (dup) still
// refers to a socket the worker closed, the registration outlives close() and its events keep
// arriving. remove() therefore also deletes the registration (EPOLL_CTL_DEL) before the caller
// closes the descriptor. docs/design/gateway.md, "Descriptor and session lifetime".
// Complexity: add/remove/lookup O(1) (a slot vector with a free list; slots are reused, each reuse
// bumps the generation, which wraps after 2^32 reuses of one slot).
// Thread-safety: none — one set per worker, used only on the worker's thread.
#pragma once

#include <sys/epoll.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

namespace surge::gateway {

// Something registered in a worker's epoll set.
class IoTarget {
 public:
  virtual void onIo(uint32_t events) = 0;

 protected:
  ~IoTarget() = default;
};

class EpollSet {
 public:
  static constexpr uint64_t kNoHandle = ~uint64_t{0};

  // Takes ownership of `epfd` (closed by the destructor when `owns`).
  explicit EpollSet(int epfd, bool owns = false) : epfd_(epfd), owns_(owns) {}
  ~EpollSet() {
    if (owns_ && epfd_ >= 0) ::close(epfd_);
  }
  EpollSet(const EpollSet&) = delete;
  EpollSet& operator=(const EpollSet&) = delete;

  int fd() const { return epfd_; }

  // Registers `fd` for `events` on behalf of `target`; returns its handle, or kNoHandle with errno
  // set when epoll_ctl failed.
  uint64_t add(int fd, uint32_t events, IoTarget* target) {
    uint32_t slot;
    if (!free_.empty()) {
      slot = free_.back();
      free_.pop_back();
    } else {
      slot = static_cast<uint32_t>(slots_.size());
      slots_.push_back(Slot{});
    }
    Slot& s = slots_[slot];
    s.target = target;
    uint64_t handle = (uint64_t{s.generation} << 32) | slot;
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = handle;
    if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      release(slot);
      return kNoHandle;
    }
    return handle;
  }

  // Changes the events of a registration (e.g. pausing a listener). False with errno on failure.
  bool modify(int fd, uint64_t handle, uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = handle;
    return ::epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev) == 0;
  }

  // Deletes the registration of `fd` and invalidates `handle`: events already returned by
  // epoll_wait for it, and any the kernel might still report, are dropped by target(). Call
  // before close(fd). Idempotent for kNoHandle.
  void remove(int fd, uint64_t handle) {
    if (handle == kNoHandle) return;
    if (fd >= 0) {
      epoll_event ev{};  // (a non-null event pointer for kernels before 2.6.9)
      ::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, &ev);
    }
    uint32_t slot = static_cast<uint32_t>(handle);
    if (slot < slots_.size() && slots_[slot].generation == static_cast<uint32_t>(handle >> 32) &&
        slots_[slot].target != nullptr) {
      release(slot);
    }
  }

  // The live target of an event's data word, or nullptr for a stale handle.
  IoTarget* target(uint64_t handle) const {
    uint32_t slot = static_cast<uint32_t>(handle);
    if (slot >= slots_.size()) return nullptr;
    const Slot& s = slots_[slot];
    return s.generation == static_cast<uint32_t>(handle >> 32) ? s.target : nullptr;
  }

  // Registrations alive (tests).
  size_t size() const { return slots_.size() - free_.size(); }

 private:
  struct Slot {
    IoTarget* target = nullptr;
    uint32_t generation = 0;
  };

  void release(uint32_t slot) {
    slots_[slot].target = nullptr;
    ++slots_[slot].generation;
    free_.push_back(slot);
  }

  int epfd_;
  bool owns_;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;
};

}  // namespace surge::gateway

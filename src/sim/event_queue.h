// sim/event_queue: the simulator's future-event list — a 4-ary min-heap of plain 24-byte events
// on a virtual clock (ns since the simulation's start). Ties in time pop in insertion order (a
// sequence number breaks them), so a run is a pure function of its inputs and seed.
// A 4-ary heap halves the depth of a binary one and keeps a node's children in one cache line;
// events are PODs in one growing vector (no per-event allocation once it has grown).
// Complexity: push O(log₄ n), pop O(4·log₄ n). Thread-safety: none (one simulation, one thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace surge::sim {

struct Event {
  int64_t time = 0;   // virtual ns
  uint64_t seq = 0;   // insertion order; set by push()
  uint32_t kind = 0;  // what happens (the simulator's enum)
  uint32_t target = 0;  // e.g. replica index
  // Payload of 8 bytes shared with `seq` would break stability; keep it separate but small.
  int64_t data = 0;
};

class EventQueue {
 public:
  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }
  void reserve(size_t n) { heap_.reserve(n); }
  // Time of the earliest event; the queue must not be empty.
  int64_t topTime() const { return heap_.front().time; }
  const Event& top() const { return heap_.front(); }

  void push(int64_t time, uint32_t kind, uint32_t target, int64_t data = 0);
  // Removes and returns the earliest event (smallest time, then smallest seq).
  Event pop();
  void clear() {
    heap_.clear();
    next_seq_ = 0;
  }

 private:
  static bool less(const Event& a, const Event& b) {
    return a.time < b.time || (a.time == b.time && a.seq < b.seq);
  }
  std::vector<Event> heap_;
  uint64_t next_seq_ = 0;
};

}  // namespace surge::sim

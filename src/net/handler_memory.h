// Handler memory: per-connection storage for Asio's operation objects, so a steady stream of
// reads and writes allocates nothing (Asio's own per-thread cache keeps one block, not enough when
// a worker has hundreds of reads pending). Each outstanding operation of a connection gets its own
// HandlerSlot; wrapping the completion handler with inSlot(slot, fn) makes Asio allocate the
// operation there (through the handler's associated allocator), falling back to the heap if the
// slot is busy or too small. The slot must outlive the operation (the owner counts pending ops).
// Thread-safety: a slot belongs to one connection, used on its thread only.
#pragma once

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace surge::net {

struct HandlerSlot {
  static constexpr size_t kSize = 512;
  alignas(std::max_align_t) unsigned char storage[kSize];
  bool in_use = false;
};

template <class T>
class SlotAllocator {
 public:
  using value_type = T;
  explicit SlotAllocator(HandlerSlot& slot) noexcept : slot_(&slot) {}
  template <class U>
  SlotAllocator(const SlotAllocator<U>& other) noexcept : slot_(other.slot_) {}  // NOLINT

  T* allocate(size_t n) {
    if (!slot_->in_use && sizeof(T) * n <= HandlerSlot::kSize) {
      slot_->in_use = true;
      return reinterpret_cast<T*>(slot_->storage);
    }
    return static_cast<T*>(::operator new(sizeof(T) * n));
  }
  void deallocate(T* p, size_t) noexcept {
    if (reinterpret_cast<unsigned char*>(p) == slot_->storage) {
      slot_->in_use = false;
    } else {
      ::operator delete(p);
    }
  }
  template <class U>
  bool operator==(const SlotAllocator<U>& o) const noexcept {
    return slot_ == o.slot_;
  }
  template <class U>
  bool operator!=(const SlotAllocator<U>& o) const noexcept {
    return slot_ != o.slot_;
  }

 private:
  template <class U>
  friend class SlotAllocator;
  HandlerSlot* slot_;
};

template <class F>
class SlotHandler {
 public:
  using allocator_type = SlotAllocator<std::byte>;
  SlotHandler(HandlerSlot& slot, F f) : slot_(&slot), f_(std::move(f)) {}
  allocator_type get_allocator() const noexcept { return allocator_type(*slot_); }
  template <class... Args>
  void operator()(Args&&... args) {
    f_(std::forward<Args>(args)...);
  }

 private:
  HandlerSlot* slot_;
  F f_;
};

template <class F>
SlotHandler<std::decay_t<F>> inSlot(HandlerSlot& slot, F&& f) {
  return SlotHandler<std::decay_t<F>>(slot, std::forward<F>(f));
}

}  // namespace surge::net

// buffer.hpp — Buffer<T>: the per-execution record buffers (trace, choices, preemptions).
//
// A vector of trivially copyable records whose push is a compare and a store, inlined on the
// hot path; growing is out of line and rare (capacity survives clear(), so after the first
// executions a run never allocates). std::vector::emplace_back did not inline into the
// scheduling path and cost a call per step.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <span>
#include <type_traits>

namespace hc::detail {

template <class T>
class Buffer {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>);

 public:
  Buffer() = default;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { std::free(data_); }

  void reserve(std::size_t n) {
    if (n > capacity_) grow(n);
  }
  [[gnu::always_inline]] T& push_back(const T& value) {
    if (size_ == capacity_) [[unlikely]]
      grow(capacity_ == 0 ? 64 : capacity_ * 2);
    data_[size_] = value;
    return data_[size_++];
  }
  void clear() noexcept { size_ = 0; }

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  T& operator[](std::size_t i) noexcept { return data_[i]; }
  const T& operator[](std::size_t i) const noexcept { return data_[i]; }
  T& back() noexcept { return data_[size_ - 1]; }
  const T& back() const noexcept { return data_[size_ - 1]; }
  const T* begin() const noexcept { return data_; }
  const T* end() const noexcept { return data_ + size_; }
  operator std::span<const T>() const noexcept { return {data_, size_}; }  // NOLINT

 private:
  [[gnu::noinline]] void grow(std::size_t n) {
    T* bigger = static_cast<T*>(std::malloc(n * sizeof(T)));
    if (bigger == nullptr) throw std::bad_alloc();
    if (size_ != 0) std::memcpy(bigger, data_, size_ * sizeof(T));
    std::free(data_);
    data_ = bigger;
    capacity_ = n;
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

}  // namespace hc::detail

// refcounted_handle.hpp — a user's RAII handle wrapper, as it would live in their product; the
// code under test of the README's five-minute tutorial ("Testing your own code").
//
// RefCountedHandle owns an OS handle and lets several threads use it at once: a user takes a
// reference with acquire() (false once the handle is closing), uses get(), and release()s it.
// The owner calls close() when it is done. It is written as a template on its atomic type
// (folly's seam): production code instantiates it with std::atomic, the tests with
// hc::atomic, and nothing else changes.
//
// The bug the tutorial is about is ClosePolicy::immediate, the first version of close(), and
// the default until the tutorial's step 6: it closes the OS handle at once, even while another
// thread is between acquire() and release() and about to pass the raw value to the OS — a
// close-while-in-use, the B1 pattern. ClosePolicy::deferred is the fix: close() only drops the
// owner's reference, and the handle is closed by whichever release() takes the count to zero
// (SafeHandle's rule). The excerpt-begin/excerpt-end lines mark what the README shows; a test
// (docs:readme-excerpts) compares the two.
#pragma once

#include <atomic>
#include <utility>

namespace example {

enum class ClosePolicy { immediate, deferred };

/// `Handle` is the raw value; `Closer` closes it (CloseHandle, close()).
// excerpt-begin: seam
template <template <class> class Atom, class Handle, class Closer,
          ClosePolicy policy = ClosePolicy::immediate>  // step 6: ClosePolicy::deferred
class RefCountedHandle {
  Atom<int> count_{1};  // std::atomic in production, hc::atomic under handlecheck
  // excerpt-end: seam
  Handle handle_;
  Closer closer_;
  static constexpr int kClosing = 1 << 30;  // set by close(): no new references

 public:
  RefCountedHandle(Handle handle, Closer closer)
      : handle_(std::move(handle)), closer_(std::move(closer)) {}
  RefCountedHandle(const RefCountedHandle&) = delete;
  RefCountedHandle& operator=(const RefCountedHandle&) = delete;

  /// Takes a reference; false once close() was called.
  bool acquire() {
    int n = count_.load(std::memory_order_acquire);
    do {
      if ((n & kClosing) != 0) return false;
    } while (!count_.compare_exchange_weak(n, n + 1, std::memory_order_acq_rel,
                                           std::memory_order_acquire));
    return true;
  }

  /// Drops a reference; the last one closes the handle.
  void release() {
    if (count_.fetch_sub(1, std::memory_order_acq_rel) == (kClosing | 1)) closer_(handle_);
  }

  // excerpt-begin: close
  /// The owner is done with the handle.
  void close() {
    count_.fetch_or(kClosing, std::memory_order_acq_rel);  // no new references
    if constexpr (policy == ClosePolicy::immediate) {
      closer_(handle_);  // the bug: users inside acquire()/release() still hold the value
    } else {
      release();  // the fix: drop the owner's reference; the last user closes the handle
    }
  }
  // excerpt-end: close

  const Handle& get() const { return handle_; }
};

}  // namespace example

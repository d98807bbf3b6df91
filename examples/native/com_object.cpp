// com_object.cpp — a COM-style reference-counted object that deletes itself, plain C++ tested
// unmodified (handlecheck::native; README, "Unmodified C++ code").
//
// The story: a Widget counts its references in a std::atomic; AddRef increments, Release
// decrements and the release that brings the count to zero runs `delete this`. A worker thread
// is handed a reference (AddRef before it starts) and releases it when done; the creator releases
// its own. The buggy Release decrements and then reads the count again to decide whether it was
// the last: when both releases decrement before either reads, both read 0 and both run
// `delete this` — two destructors on one object, then a double free. The destructor clears its
// document's weak back-pointer to it (plain memory), so handlecheck reports the data race between
// the two destructors' writes, naming both lines. The fix decides on fetch_sub's own result:
// exactly one release sees 1.
//
// A test harness detail, not the code under test: Widget's operator delete keeps a deleted block in
// quarantine until the test ends (a debug heap's habit) instead of handing it to free(): the second
// `delete this` then runs its destructor on the intact object, where the race is seen, rather than
// reading memory glibc's allocator has already reused. An execution that ends on the finding leaves
// its one Widget in quarantine, unfreed.
#include <atomic>
#include <cstddef>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

#include "hc/native.hpp"

namespace {

/// Deleted Widgets, freed when the test ends.
class Quarantine {
 public:
  void keep(void* block) {
    const std::lock_guard<std::mutex> lock(m_);
    blocks_.push_back(block);
  }
  void release_all() {
    const std::lock_guard<std::mutex> lock(m_);
    for (void* block : blocks_)
      ::operator delete(block);
    blocks_.clear();
  }

 private:
  std::mutex m_;
  std::vector<void*> blocks_;
};

// Set by the test body for the length of an execution, and read by every thread's delete. A
// global: native tests run on one worker (ScenarioInfo::max_jobs), so no two executions share it.
Quarantine* g_quarantine = nullptr;

template <class W>
struct Document {
  W* widget = nullptr;  // weak: the widget clears it when it is destroyed
};

enum class Decrement { rereads_count, uses_fetch_sub };

template <Decrement How>
class Widget final {
 public:
  static Widget* create(Document<Widget>& document) {
    auto* widget = new Widget(document);
    document.widget = widget;
    return widget;
  }

  unsigned long AddRef() { return refs_.fetch_add(1) + 1; }

  unsigned long Release() {
    if constexpr (How == Decrement::rereads_count) {
      --refs_;
      if (refs_ == 0) {  // reads the count again: the other release may have brought it to 0 too
        delete this;
        return 0;
      }
      return 1;
    } else {
      const unsigned long left = refs_.fetch_sub(1) - 1;  // this release's own result
      if (left == 0) delete this;
      return left;
    }
  }

  int Invoke() const { return document_->widget == this ? 42 : -1; }

  static void* operator new(std::size_t size) { return ::operator new(size); }
  static void operator delete(void* block) { g_quarantine->keep(block); }

 private:
  explicit Widget(Document<Widget>& document) : document_(&document) {}
  ~Widget() { document_->widget = nullptr; }

  std::atomic<unsigned long> refs_{1};
  Document<Widget>* document_;
};

template <Decrement How>
void call_from_worker() {
  Quarantine quarantine;
  g_quarantine = &quarantine;
  Document<Widget<How>> document;
  auto* widget = Widget<How>::create(document);
  widget->AddRef();  // the worker's reference
  std::thread worker([widget] {
    (void)widget->Invoke();
    widget->Release();
  });
  widget->Release();  // the creator's reference
  worker.join();
  quarantine.release_all();
  g_quarantine = nullptr;
}

}  // namespace

HC_NATIVE_TEST("native/com-release-rereads-count", .expect = hc::FindingKind::data_race,
               .message = "examples/native/com_object.cpp:",
               .summary =
                   "Release decrements, then reads the count again: both releases can read 0 "
                   "and both run delete this, two destructors on one object") {
  call_from_worker<Decrement::rereads_count>();
}

HC_NATIVE_TEST(
    "native/com-release-rereads-count.fixed",
    .summary = "Release decides on fetch_sub's own result: exactly one release deletes") {
  call_from_worker<Decrement::uses_fetch_sub>();
}

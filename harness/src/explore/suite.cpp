// suite.cpp — the per-worker storage of hc::explore_suite's suite objects (hc/suite.hpp).
#include <cstddef>
#include <cstdlib>
#include <new>

#include "hc/runtime.hpp"
#include "hc/suite.hpp"

namespace hc::detail {
namespace {

/// rt::layer_state's slot for it (0 and 1 are handlecheck::native's).
constexpr int kSuiteSlot = 3;

/// One worker's storage: grown, never shrunk, freed with its Execution.
struct SuiteStorage {
  void* bytes = nullptr;
  std::size_t size = 0;
  std::size_t align = 0;
};

void free_storage(SuiteStorage& s) noexcept {
  if (s.bytes != nullptr) ::operator delete (s.bytes, std::align_val_t{s.align});
  s = SuiteStorage{};
}

void destroy_storage(void* state) noexcept {
  auto* s = static_cast<SuiteStorage*>(state);
  free_storage(*s);
  delete s;
}

const bool storage_destructor_set =
    (rt::set_layer_state_destructor(kSuiteSlot, &destroy_storage), true);

}  // namespace

void* suite_storage(std::size_t size, std::size_t align) {
  void** slot = rt::layer_state(kSuiteSlot);
  if (slot == nullptr)
    throw usage_error(
        "hc::run_suite: a suite runs only inside an execution (as a body given to hc::explore, a "
        "scenario body, or through hc::explore_suite)");
  if (*slot == nullptr) *slot = new SuiteStorage;
  auto& s = *static_cast<SuiteStorage*>(*slot);
  if (size > s.size || align > s.align) [[unlikely]] {
    free_storage(s);
    s.align = align < alignof(std::max_align_t) ? alignof(std::max_align_t) : align;
    s.bytes = ::operator new (size, std::align_val_t{s.align});
    s.size = size;
  }
  return s.bytes;
}

}  // namespace hc::detail

// hc/check.hpp — what a scenario asserts and chooses: HC_CHECK, hc::invariant, hc::reached,
// hc::choose and hc::fault.
//
//   HC_CHECK(counter.peek() == 2, "lost update: counter is {}", counter.peek());
//   HC_CHECK(counter.peek() == 2, hc::about(counter), "lost update: counter is {}", ...);
//   auto inv = hc::invariant("refcount never negative", [&] { return rc.peek() >= 0; });
//   if (hc::fault("CloseHandle fails")) return false;   // explored both ways
//   hc::reached("slow path taken");                       // with .must_reach = {"slow path taken"}
//
// A failed HC_CHECK ends the execution with a check-failure finding; the message is formatted
// with fmt only when the check fails; hc::about(objects...) before the format names the objects
// the check is about, so reports show their lifecycles (reports never parse the message).
// Invariants run after every step and must not perform operations (read state with peek()).
#pragma once

#include <cstdint>
#include <source_location>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "hc/runtime.hpp"

namespace hc {

/// A value in [0, n), chosen by the strategy (n >= 1). Not a scheduling point: exhaustive
/// strategies branch on every value, random ones draw uniformly.
inline std::uint32_t choose(std::uint32_t n, const char* label = "choose",
                            const std::source_location& where = std::source_location::current()) {
  return rt::choose(n, label, where);
}

/// A fault-injection point: true when the strategy chooses to inject the fault `label`.
inline bool fault(const char* label,
                  const std::source_location& where = std::source_location::current()) {
  return rt::choose(2, label, where) == 1;
}

/// Marks `label` reached; a scenario that lists it in .must_reach fails with an "unreached"
/// finding when no execution of the exploration reached it (an "exists" assertion).
inline void reached(const char* label) noexcept {
  rt::reached(label);
}

/// An invariant, checked after every step while the returned object lives.
template <class F>
class invariant_scope {
 public:
  invariant_scope(const char* label, F fn) : fn_(std::move(fn)) {
    token_ = rt::add_invariant(
        label, [](void* self) { return static_cast<bool>((*static_cast<F*>(self))()); }, &fn_);
  }
  invariant_scope(const invariant_scope&) = delete;
  invariant_scope& operator=(const invariant_scope&) = delete;
  ~invariant_scope() { rt::remove_invariant(token_); }

 private:
  F fn_;
  std::uint32_t token_ = 0;
};

template <class F>
[[nodiscard]] invariant_scope<F> invariant(const char* label, F fn) {
  return invariant_scope<F>(label, std::move(fn));
}

/// The objects an HC_CHECK is about: any hc:: primitive or model object with an id()
/// (hc::atomic, hc::var, hc::mutex, ...). Built only when the check fails.
template <class... Objects>
FindingRefs about(const Objects&... objects) {
  return FindingRefs{.steps = {}, .objects = {ObjectRef(objects.id())...}};
}

namespace detail {
template <class... Args>
void check_failed(const char* expression, const std::source_location& where,
                  fmt::format_string<Args...> format, Args&&... args) {
  rt::check_failed(fmt::format(format, std::forward<Args>(args)...), expression, where);
}
template <class... Args>
void check_failed(const char* expression, const std::source_location& where, FindingRefs refs,
                  fmt::format_string<Args...> format, Args&&... args) {
  rt::check_failed(fmt::format(format, std::forward<Args>(args)...), expression, where,
                   std::move(refs));
}
}  // namespace detail

}  // namespace hc

/// HC_CHECK(condition, format, args...): ends the execution with a check-failure finding whose
/// message is the formatted text, when `condition` is false. HC_CHECK(condition,
/// hc::about(objects...), format, args...) also records the objects the check is about.
#define HC_CHECK(condition, ...)                                                            \
  do {                                                                                      \
    if (!(condition))                                                                       \
      ::hc::detail::check_failed(#condition, std::source_location::current(), __VA_ARGS__); \
  } while (false)

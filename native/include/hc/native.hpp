// hc/native.hpp — HC_NATIVE_TEST: a handlecheck scenario whose body is plain C++ (std::thread,
// std::mutex, std::condition_variable, std::atomic, plain memory), compiled with
// -fsanitize=thread and linked with handlecheck::native instead of libtsan (experimental; README,
// "Unmodified C++ code").
//
//   #include "hc/native.hpp"
//
//   HC_NATIVE_TEST("native/fd-wrapper", .expect = hc::FindingKind::data_race,
//                  .message = "data race") {
//     Fd fd(open_it());                       // your code, unchanged
//     std::thread t([&] { fd.release(); });
//     fd.release();
//     t.join();
//   }
//
// The fields after the name are hc::ScenarioInfo's designated initializers, as for HC_SCENARIO
// (hc/scenario.hpp); the scenario gets the tag "native" besides its own. It is a normal scenario:
// `handlecheck run`, --strategy, replay files, reports and `list` work unchanged. CMake:
// hc_add_native_test(TARGET sources...) builds the executable and registers its ctest tests.
//
// Each execution re-runs the body: globals keep their values from one execution to the next (and
// are shared between the workers of --jobs), so a body must start from state of its own.
#pragma once

#include <functional>
#include <source_location>

#include "hc/scenario.hpp"

namespace hc::native::detail {

/// Runs `body` as user code of the execution on this OS thread, after forgetting the previous
/// execution's objects (native_state.hpp).
void run_test(void (*body)());

/// test_body()'s callable. Its call operator is not in the user's instrumented code: an execution
/// may start while a thread the previous one abandoned left the re-entry guard set
/// (native_state.hpp), and reading `body` there would be a plain access of the new execution.
struct TestBody {
  void (*body)();
  void operator()() const;
};

/// Registers the scenario, with the tag "native" added to its own.
struct NativeRegistration {
  NativeRegistration(ScenarioInfo info, void (*body)(),
                     std::source_location where = std::source_location::current());
};

}  // namespace hc::native::detail

namespace hc::native {

/// A native test body for hc::explore (a unit test, without registering a scenario):
/// `hc::explore(hc::native::test_body(&body), options)`, `body` compiled with -fsanitize=thread.
inline std::function<void()> test_body(void (*body)()) {
  return detail::TestBody{body};
}

}  // namespace hc::native

#define HC_DETAIL_NATIVE_TEST(ID, NAME, ...)                                                   \
  static void HC_DETAIL_CONCAT(hc_native_body_, ID)();                                         \
  static void HC_DETAIL_CONCAT(hc_native_entry_, ID)() {                                       \
    ::hc::native::detail::run_test(&HC_DETAIL_CONCAT(hc_native_body_, ID));                    \
  }                                                                                            \
  static const ::hc::native::detail::NativeRegistration HC_DETAIL_CONCAT(hc_native_reg_, ID){  \
      ::hc::ScenarioInfo{.name = NAME, __VA_ARGS__}, &HC_DETAIL_CONCAT(hc_native_entry_, ID)}; \
  static void HC_DETAIL_CONCAT(hc_native_body_, ID)()

/// HC_NATIVE_TEST(name, .field = value, ...) { plain C++ body }
#define HC_NATIVE_TEST(NAME, ...) HC_DETAIL_NATIVE_TEST(__COUNTER__, NAME, __VA_ARGS__)

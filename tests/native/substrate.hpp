// substrate.hpp — which substrate the native unit tests run their executions on. ctest runs
// every native test binary twice (tests/CMakeLists.txt): on fibers, and on OS threads of their
// own with HC_TEST_OS_THREADS=1 (test names end in ".os_threads"), so each test checks its
// behaviour under both (execution.hpp, "Substrates").
#pragma once

#include <cstdlib>

namespace hc_test {

inline bool os_threads_under_test() {
  const char* value = std::getenv("HC_TEST_OS_THREADS");
  return value != nullptr && value[0] == '1';
}

}  // namespace hc_test

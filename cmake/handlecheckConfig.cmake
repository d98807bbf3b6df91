# handlecheckConfig.cmake — find_package(handlecheck) gives:
#   handlecheck::harness   the engine: hc::thread, hc::atomic, HC_SCENARIO, hc::explore, ...
#   handlecheck::models    the simulated handle world (handle tables, SafeHandle, GC, COM, ...)
#   handlecheck::reports   replay files and reports, and the header hc/gtest.hpp (GoogleTest
#                          helpers: HC_EXPECT_CLEAN, HC_EXPECT_FINDING, ...)
#   handlecheck::main      main() of the handlecheck tool: link it into an executable with your
#                          scenarios and it lists, runs and replays them
#   handlecheck::handlecheck  the tool itself, over the built-in catalogue
#   hc_add_scenarios(TARGET ...)  one ctest test per scenario of TARGET, verdict asserted
#   hc_add_repros(DIR [TARGET ...])  one ctest test per replay file in DIR
# and, when handlecheck was built with handlecheck::native (libdw; HandlecheckNative.cmake is then
# beside this file):
#   handlecheck::native    unmodified C++ under the engine (hc/native.hpp, HC_NATIVE_TEST)
#   hc_add_native_test(TARGET sources...)  builds them with -fsanitize=thread, links
#                          handlecheck::native and ::main, one ctest test per scenario
# The same file is installed (<prefix>/lib/cmake/handlecheck) and written into the build tree.
#
# It sets no variable in the caller's scope beyond what find_package itself sets
# (handlecheck_FOUND, handlecheck_DIR, handlecheck_VERSION, ...): the dependencies are found
# inside a function, so that what they set (Boost_USE_STATIC_LIBS, Boost_*, fmt_FOUND, ...) stays
# there; their imported targets, which handlecheck's targets name, are what remains (and the
# <dependency>_DIR cache entries find_package records). tests/consumer/ checks it.

function(_handlecheck_find_dependencies)
  set(quiet "")
  if(handlecheck_FIND_QUIETLY)
    set(quiet QUIET)
  endif()
  set(missing "")
  # As handlecheck was built: Boost.Context statically (its fcontext switch is the engine's on
  # architectures other than x86-64). Local to this function.
  set(Boost_USE_STATIC_LIBS ON)
  find_package(Boost 1.74 ${quiet} COMPONENTS context)
  if(NOT Boost_FOUND)
    list(APPEND missing "Boost.Context 1.74 (Debian: libboost-context-dev)")
  endif()
  find_package(fmt ${quiet})
  if(NOT fmt_FOUND)
    list(APPEND missing "fmt (Debian: libfmt-dev)")
  endif()
  find_package(nlohmann_json 3.10 ${quiet})
  if(NOT nlohmann_json_FOUND)
    list(APPEND missing "nlohmann_json 3.10 (Debian: nlohmann-json3-dev)")
  endif()
  find_package(Threads ${quiet})
  if(NOT Threads_FOUND)
    list(APPEND missing "Threads")
  endif()
  # handlecheck::native links libdw by name (-ldw).
  if(EXISTS ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/HandlecheckNative.cmake)
    find_library(handlecheck_LIBDW dw)
    if(NOT handlecheck_LIBDW)
      list(APPEND missing "libdw, for handlecheck::native (Debian: libdw-dev)")
    endif()
  endif()
  if(missing)
    list(JOIN missing ", " missing)
    set(handlecheck_NOT_FOUND_MESSAGE
        "handlecheck needs ${missing}: install them, or add their prefixes to CMAKE_PREFIX_PATH"
        PARENT_SCOPE)
  endif()
endfunction()

unset(handlecheck_NOT_FOUND_MESSAGE)
_handlecheck_find_dependencies()
if(handlecheck_NOT_FOUND_MESSAGE)
  set(handlecheck_FOUND FALSE)
  return()
endif()
if(handlecheck_FIND_COMPONENTS)
  set(handlecheck_NOT_FOUND_MESSAGE
      "handlecheck has no components (asked for: ${handlecheck_FIND_COMPONENTS}); its targets are "
      "handlecheck::harness, ::models, ::reports, ::main, ::handlecheck and, with libdw, ::native")
  set(handlecheck_FOUND FALSE)
  return()
endif()

include(${CMAKE_CURRENT_LIST_DIR}/handlecheckTargets.cmake)
include(${CMAKE_CURRENT_LIST_DIR}/HandlecheckScenarios.cmake)
if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/HandlecheckNative.cmake)
  include(${CMAKE_CURRENT_LIST_DIR}/HandlecheckNative.cmake)
endif()

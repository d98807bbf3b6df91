# consumer:<MODE> — handlecheck used by a project of its own (CMakeLists.txt here), fmt's habit.
#   install       cmake --install the built tree into PREFIX (the fixture the others share) and
#                 check what is there
#   package       find_package(handlecheck) from PREFIX
#   build-tree    find_package(handlecheck) from the build tree (handlecheck_DIR=BUILD_DIR)
#   fetchcontent  FetchContent from the source tree (SOURCE_DIR: no download)
#   add-subdirectory  add_subdirectory of the source tree: configures consumer:fetchcontent's
#                 build tree again with add_subdirectory instead (same binary directory for
#                 handlecheck, same compile commands: Ninja reuses the library objects, and the
#                 configure, its checks and the consumer's tests run in full), or a fresh tree
#                 when that one does not exist
# Each of the last four configures and builds the consumer in WORK_DIR, writes a replay file of
# its scenario consumer/cached-value with its own executable, configures again (as a user adds a
# file to the folder hc_add_repros reads) and runs its tests: its 2 scenarios, that replay file,
# where the tool exists (package, build-tree) a catalogue replay file run by
# handlecheck::handlecheck, and where handlecheck has handlecheck::native (libdw) its 2 native
# scenarios (native.cpp, hc_add_native_test). Arguments: MODE, BUILD_DIR, SOURCE_DIR, PREFIX, WORK_DIR,
# GENERATOR, LAUNCHER (the compiler launcher, e.g. ccache; optional).
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
file(REMOVE_RECURSE ${WORK_DIR})
set(build ${WORK_DIR}/build)

if(MODE STREQUAL "install")
  file(REMOVE_RECURSE ${PREFIX})
  hc_step("cmake --install" COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${PREFIX})
  set(native_files "")
  if(EXISTS ${BUILD_DIR}/HandlecheckNative.cmake)
    set(native_files include/hc/native.hpp lib/cmake/handlecheck/HandlecheckNative.cmake)
  endif()
  foreach(installed bin/handlecheck include/hc/hc.hpp include/hc/gtest.hpp
                    include/hc/models/safe_handle.hpp lib/cmake/handlecheck/handlecheckConfig.cmake
                    lib/cmake/handlecheck/handlecheckConfigVersion.cmake
                    lib/cmake/handlecheck/handlecheckTargets.cmake
                    lib/cmake/handlecheck/HandlecheckScenarios.cmake ${native_files})
    if(NOT EXISTS ${PREFIX}/${installed})
      message(FATAL_ERROR "not installed: ${installed}")
    endif()
  endforeach()
  # Only handlecheck::main uses CLI11, and it is compiled in: no consumer needs it.
  file(GLOB target_files ${PREFIX}/lib/cmake/handlecheck/handlecheckTargets*.cmake)
  foreach(file IN LISTS target_files)
    file(READ ${file} text)
    if(text MATCHES "CLI11")
      message(FATAL_ERROR "${file} names CLI11: consumers would have to find it")
    endif()
  endforeach()
  hc_step("the installed handlecheck lists its catalogue" OUTPUT out
          COMMAND ${PREFIX}/bin/handlecheck list --names-only)
  if(NOT out MATCHES "safehandle/raw-value-after-dispose")
    message(FATAL_ERROR "the installed handlecheck does not list its catalogue: ${out}")
  endif()
  message(STATUS "installed into ${PREFIX}")
  return()
endif()

set(options -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER} -DHC_CONSUMER_REPROS=${WORK_DIR}/repros)
file(MAKE_DIRECTORY ${WORK_DIR}/repros)
set(expected_tests 5)  # the consumer's 4 scenarios and its replay file
if(MODE STREQUAL "package")
  list(APPEND options -DHC_CONSUME=package -DCMAKE_PREFIX_PATH=${PREFIX}
                      -DCMAKE_BUILD_TYPE=RelWithDebInfo)
elseif(MODE STREQUAL "build-tree")
  list(APPEND options -DHC_CONSUME=package -Dhandlecheck_DIR=${BUILD_DIR}
                      -DCMAKE_BUILD_TYPE=RelWithDebInfo)
elseif(MODE STREQUAL "fetchcontent")
  # No build type: the consumer checks that handlecheck, a subproject, does not force one.
  list(APPEND options -DHC_CONSUME=fetchcontent -DHC_SOURCE_DIR=${SOURCE_DIR})
elseif(MODE STREQUAL "add-subdirectory")
  list(APPEND options -DHC_CONSUME=subdirectory -DHC_SOURCE_DIR=${SOURCE_DIR})
  get_filename_component(work_root ${WORK_DIR} DIRECTORY)
  if(EXISTS ${work_root}/fetchcontent/build/CMakeCache.txt)
    set(build ${work_root}/fetchcontent/build)
  endif()
else()
  message(FATAL_ERROR "MODE is '${MODE}'")
endif()
if(MODE STREQUAL "package" OR MODE STREQUAL "build-tree")
  # One replay file of the catalogue, for hc_add_repros(DIR) and its default tool.
  file(GLOB repros ${SOURCE_DIR}/tests/repros/*.json)
  list(SORT repros)
  list(GET repros 0 repro)
  file(COPY ${repro} DESTINATION ${WORK_DIR}/catalogue-repros)
  get_filename_component(repro_name ${repro} NAME_WLE)
  list(APPEND options -DHC_CATALOGUE_REPROS=${WORK_DIR}/catalogue-repros)
  set(expected_tests 6)
endif()

hc_step("configure the consumer (${MODE})" OUTPUT configured
        COMMAND ${CMAKE_COMMAND} -S ${CMAKE_CURRENT_LIST_DIR} -B ${build} -G ${GENERATOR}
                ${options})
string(REGEX REPLACE ".*-DHC_CONSUME=([a-z]+).*" "\\1" consume "${options}")
if(NOT configured MATCHES "handlecheck \\(${consume}\\) leaked no variable")
  message(FATAL_ERROR "the consumer did not check for leaked variables:\n${configured}")
endif()
# handlecheck::native is built where libdw is (its build tree then holds HandlecheckNative.cmake):
# the consumer must then get it, in every mode, and build and pass its 2 native scenarios.
set(native_tests "")
if(EXISTS ${BUILD_DIR}/HandlecheckNative.cmake)
  if(NOT configured MATCHES "handlecheck \\(${consume}\\) has handlecheck::native")
    message(FATAL_ERROR "the consumer (${MODE}) got no handlecheck::native:\n${configured}")
  endif()
  set(native_tests "scenario:consumer/native-hits " "scenario:consumer/native-hits.fixed")
  math(EXPR expected_tests "${expected_tests} + 2")
endif()
hc_step("build the consumer (${MODE})" COMMAND ${CMAKE_COMMAND} --build ${build})
hc_step("the consumer's executable runs its buggy scenario" OUTPUT ran
        COMMAND ${build}/consumer_scenarios run consumer/cached-value --no-minimize
                --out ${WORK_DIR}/repros)
file(GLOB written ${WORK_DIR}/repros/*.json)
list(LENGTH written n)
if(NOT n EQUAL 1)
  message(FATAL_ERROR "expected one replay file in ${WORK_DIR}/repros, got ${n}:\n${ran}")
endif()
hc_step("configure the consumer again (${MODE})"
        COMMAND ${CMAKE_COMMAND} -S ${CMAKE_CURRENT_LIST_DIR} -B ${build})
hc_step("test the consumer (${MODE})" OUTPUT tested
        COMMAND ${CMAKE_CTEST_COMMAND} --test-dir ${build} --output-on-failure)
if(NOT tested MATCHES "100% tests passed, 0 tests failed out of ${expected_tests}\n")
  message(FATAL_ERROR "expected the consumer's ${expected_tests} tests to pass:\n${tested}")
endif()
foreach(test "scenario:consumer/cached-value " "scenario:consumer/cached-value.fixed"
             "scenario:consumer/suite-double-close " "scenario:consumer/suite-double-close.fixed"
             "replay:consumer_cached-value.invalid-handle-use" ${native_tests})
  if(NOT tested MATCHES "${test}[^\n]*Passed")
    message(FATAL_ERROR "the consumer's test ${test} did not pass:\n${tested}")
  endif()
endforeach()
if(repro_name AND NOT tested MATCHES "replay:${repro_name} [^\n]*Passed")
  message(FATAL_ERROR "replay:${repro_name} (hc_add_repros with handlecheck::handlecheck) did "
                      "not pass:\n${tested}")
endif()
message(STATUS "the consumer (${MODE}) built and passed its ${expected_tests} tests")

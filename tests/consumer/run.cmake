# consumer:find-package — install the built handlecheck into a fresh prefix, then build and test
# the consumer project against it (fmt's habit). Arguments: BUILD_DIR, SOURCE_DIR, WORK_DIR,
# GENERATOR.
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install failed (${rc}):\n${out}\n${err}")
endif()
foreach(installed bin/handlecheck include/hc/hc.hpp include/hc/gtest.hpp
                  include/hc/models/safe_handle.hpp lib/cmake/handlecheck/handlecheckConfig.cmake
                  lib/cmake/handlecheck/HandlecheckScenarios.cmake)
  if(NOT EXISTS ${WORK_DIR}/prefix/${installed})
    message(FATAL_ERROR "not installed: ${installed}")
  endif()
endforeach()
execute_process(COMMAND ${WORK_DIR}/prefix/bin/handlecheck list --names-only
                RESULT_VARIABLE rc OUTPUT_VARIABLE out)
if(NOT rc EQUAL 0 OR NOT out MATCHES "safehandle/raw-value-after-dispose")
  message(FATAL_ERROR "the installed handlecheck does not list its catalogue (${rc}): ${out}")
endif()
execute_process(
  COMMAND ${CMAKE_CTEST_COMMAND} --build-and-test ${SOURCE_DIR} ${WORK_DIR}/build
          --build-generator ${GENERATOR}
          --build-options -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_BUILD_TYPE=RelWithDebInfo
          --test-command ${CMAKE_CTEST_COMMAND} --output-on-failure
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the consumer project failed (${rc}):\n${out}\n${err}")
endif()
if(NOT out MATCHES "100% tests passed, 0 tests failed out of 2")
  message(FATAL_ERROR "expected the consumer's 2 scenario tests to pass:\n${out}")
endif()
message(STATUS "consumer project built and tested against ${WORK_DIR}/prefix")

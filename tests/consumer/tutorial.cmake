# examples:tutorial — the README's five-minute tutorial, done as a user does it: the project in
# examples/tutorial/ (the README shows its files verbatim) is copied to a fresh directory and
# built against the installed handlecheck (PREFIX, from consumer:install).
#   1. As written, the wrapper's first close() closes while the worker holds the value: the
#      test fails with invalid-handle-use (the value used after its close, InvalidUse's
#      default), the message naming who closed it, and a replay command (HC_REPLAY=<file> ...).
#   2. That replay command brings the same finding back.
#   3. The fix of step 6 (the default ClosePolicy::immediate -> ClosePolicy::deferred in
#      refcounted_handle.hpp): the same test explores clean.
# Arguments: EXAMPLE (examples/tutorial), PREFIX, WORK_DIR, GENERATOR, LAUNCHER (optional).
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
file(REMOVE_RECURSE ${WORK_DIR})
file(COPY ${EXAMPLE}/ DESTINATION ${WORK_DIR}/wrapper)
set(build ${WORK_DIR}/wrapper/build)

hc_step("configure the tutorial"
        COMMAND ${CMAKE_COMMAND} -S ${WORK_DIR}/wrapper -B ${build} -G ${GENERATOR}
                -DCMAKE_PREFIX_PATH=${PREFIX} -DCMAKE_BUILD_TYPE=RelWithDebInfo
                -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER})
hc_step("build the tutorial" COMMAND ${CMAKE_COMMAND} --build ${build})

# 1. The first version: the test fails with the bug in the handle world's words.
hc_step("ctest on the first version" EXPECT_FAILURE OUTPUT failed
        COMMAND ${CMAKE_CTEST_COMMAND} --test-dir ${build} --output-on-failure)
foreach(words "RefCountedHandle.IsSafe" "invalid-handle-use" "write_while_closing"
              "used \\(via WriteFile\\) handle 0x4 \\(File 'log'" "names nothing now"
              "closed by thread 'owner'" "HC_REPLAY=")
  if(NOT failed MATCHES "${words}")
    message(FATAL_ERROR "the first version's failure does not say '${words}':\n${failed}")
  endif()
endforeach()

# (In ctest's log: what the README's step 4 shows, abridged.)
message(STATUS "the first version's failure, as ctest prints it:\n${failed}")

# 2. Its replay command: the same finding, from the file.
if(NOT failed MATCHES "HC_REPLAY=([^ \n]+)")
  message(FATAL_ERROR "no HC_REPLAY=<file> in the failure:\n${failed}")
endif()
set(replay_file ${CMAKE_MATCH_1})
hc_step("the printed replay command" EXPECT_FAILURE OUTPUT replayed WORKING_DIRECTORY ${build}
        ENVIRONMENT HC_REPLAY=${replay_file}
        COMMAND ${build}/wrapper_test --gtest_filter=RefCountedHandle.IsSafe)
foreach(words "invalid-handle-use" "names nothing now")
  if(NOT replayed MATCHES "${words}")
    message(FATAL_ERROR "HC_REPLAY=${replay_file} does not give the finding back ('${words}'):\n"
                        "${replayed}")
  endif()
endforeach()
# ... from the file, not by exploring again: the failure says so (gtest.hpp: ", replaying
# <file>"). An exploration would find the same bug and name the same file, so this word is the
# only difference the output shows.
if(NOT replayed MATCHES "replaying")
  message(FATAL_ERROR "HC_REPLAY=${replay_file}: the failure does not say it replayed the file:\n"
                      "${replayed}")
endif()

# 3. The fix of step 6, as a user makes it: one word in the header.
set(header ${WORK_DIR}/wrapper/refcounted_handle.hpp)
file(READ ${header} text)
set(first "ClosePolicy policy = ClosePolicy::immediate>")
string(FIND "${text}" "${first}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "refcounted_handle.hpp has no '${first}': the README's step 6 is stale")
endif()
string(REPLACE "${first}" "ClosePolicy policy = ClosePolicy::deferred>" text "${text}")
file(WRITE ${header} "${text}")
hc_step("build the fixed tutorial" COMMAND ${CMAKE_COMMAND} --build ${build})
hc_step("ctest on the fixed version" OUTPUT passed
        COMMAND ${CMAKE_CTEST_COMMAND} --test-dir ${build} --output-on-failure)
if(NOT passed MATCHES "100% tests passed, 0 tests failed out of 1\n")
  message(FATAL_ERROR "the fixed version's test did not pass:\n${passed}")
endif()
message(STATUS "tutorial: the first version fails with invalid-handle-use, its replay command "
               "reproduces it, the fixed version passes")

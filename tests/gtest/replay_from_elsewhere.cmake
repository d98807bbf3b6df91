# A user's failing HC_EXPECT_CLEAN test (tests/gtest/user_wrapper_test.cpp), run as the user runs
# it, then its printed replay command pasted into a shell in another directory.
#   cmake -DTEST_BINARY=... -DSOURCE=user_wrapper_test.cpp -DWORK_DIR=... -P replay_from_elsewhere.cmake
# Checks: the failure is at the macro's line with the report alone (no "Value of:"); the replay
# file has a portable name and an absolute path; the command replays the same finding from
# elsewhere (", replaying <file>" in its headline) without exploring.
function(expect what)
  if(NOT (${ARGN}))
    message(FATAL_ERROR "expected ${what}")
  endif()
endfunction()

unset(ENV{HC_OUT_DIR})  # the default ./handlecheck-out, as a user has it
unset(ENV{HC_REPLAY})
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR}/project ${WORK_DIR}/elsewhere)

# 1. The user runs the test in their build directory: the default ./handlecheck-out.
execute_process(COMMAND ${TEST_BINARY} WORKING_DIRECTORY ${WORK_DIR}/project
                OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
set(story "exit ${rc}, output:\n${out}${err}")
expect("the test to fail: ${story}" NOT rc EQUAL 0)

# At the macro's line of the user's file.
file(STRINGS ${SOURCE} lines)
set(line 0)
foreach(text IN LISTS lines)
  math(EXPR line "${line} + 1")
  if(text MATCHES "HC_EXPECT_CLEAN\\(lost_update\\)")
    break()
  endif()
endforeach()
expect("the failure at user_wrapper_test.cpp:${line}: ${story}"
       out MATCHES "user_wrapper_test\\.cpp:${line}: Failure\nhandlecheck found check-failure exploring lost_update \\(dfs, [0-9]+ executions\\):\n")
expect("no 'Value of:' wrapper: ${story}" NOT out MATCHES "Value of:|Actual: false|Expected: true")

# The replay file: absolute path, portable name.
# (Matched here, not inside expect(): a function's CMAKE_MATCH_n do not reach its caller.)
string(REGEX MATCH "\nreplay file: (${WORK_DIR}/project/handlecheck-out/([^\n]+))\n" found "${out}")
expect("the replay file's absolute path: ${story}" found)
set(replay_file ${CMAKE_MATCH_1})
set(replay_name ${CMAKE_MATCH_2})
expect("a portable name, gtest_UserWrapper.CounterIsSafe_1.check-failure.<hash>.json: ${replay_name}"
       replay_name MATCHES "^gtest_UserWrapper\\.CounterIsSafe_1\\.check-failure\\.[0-9a-f]+\\.json$")
expect("the file ${replay_file} to exist" EXISTS ${replay_file})

# 2. The printed command, pasted into a shell elsewhere.
string(REGEX MATCH "\nreplay: (HC_REPLAY=[^\n]+)\n" found "${out}")
expect("the replay command: ${story}" found)
set(command ${CMAKE_MATCH_1})
expect("the command to name the file and the binary absolutely: ${command}"
       command STREQUAL "HC_REPLAY=${replay_file} ${TEST_BINARY} --gtest_filter=UserWrapper.CounterIsSafe")
execute_process(COMMAND sh -c "${command}" WORKING_DIRECTORY ${WORK_DIR}/elsewhere
                OUTPUT_VARIABLE again ERROR_VARIABLE again_err RESULT_VARIABLE again_rc)
set(story "'${command}' in ${WORK_DIR}/elsewhere: exit ${again_rc}, output:\n${again}${again_err}")
expect("the replay to fail the same way: ${story}" NOT again_rc EQUAL 0)
expect("it replays the file (1 execution): ${story}"
       again MATCHES "handlecheck found check-failure exploring lost_update \\(replay, 1 execution, replaying ${replay_file}\\):\n")
expect("the same check failed: ${story}" again MATCHES "lost update: counter is 1")

# Shared by the consumer and tutorial scripts: run a step, fail with its whole output.
# hc_step(<what> [OUTPUT <var>] [EXPECT_FAILURE] [ENVIRONMENT <NAME=value>...]
#         [WORKING_DIRECTORY <dir>] COMMAND <command>...)
function(hc_step what)
  cmake_parse_arguments(PARSE_ARGV 1 S "EXPECT_FAILURE" "OUTPUT;WORKING_DIRECTORY"
                        "COMMAND;ENVIRONMENT")
  set(command ${S_COMMAND})
  if(S_ENVIRONMENT)
    set(command ${CMAKE_COMMAND} -E env ${S_ENVIRONMENT} ${S_COMMAND})
  endif()
  if(NOT S_WORKING_DIRECTORY)
    set(S_WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  endif()
  execute_process(COMMAND ${command} WORKING_DIRECTORY ${S_WORKING_DIRECTORY}
                  OUTPUT_VARIABLE out ERROR_VARIABLE out RESULT_VARIABLE rc)
  if(S_EXPECT_FAILURE AND rc EQUAL 0)
    message(FATAL_ERROR "${what}: expected a failure, got exit 0:\n${out}")
  elseif(NOT S_EXPECT_FAILURE AND NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}")
  endif()
  if(S_OUTPUT)
    set(${S_OUTPUT} "${out}" PARENT_SCOPE)
  endif()
endfunction()

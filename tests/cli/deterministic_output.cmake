# The same command twice gives byte-identical standard output: exhaustive and random runs.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
foreach(args "run;--all;--out;${WORK_DIR}/out"
             "run;--all;--strategy;random;--seed;7;--keep-going;--max-executions;300;--out;${WORK_DIR}/out"
             "run;engine/lost-update;-v;--out;${WORK_DIR}/out")
  hc_run(first rc1 ${args})
  hc_run(second rc2 ${args})
  if(NOT first STREQUAL second)
    file(WRITE ${WORK_DIR}/first.txt "${first}")
    file(WRITE ${WORK_DIR}/second.txt "${second}")
    message(FATAL_ERROR "output differs between two runs of 'handlecheck ${args}': see ${WORK_DIR}")
  endif()
  if(NOT rc1 EQUAL rc2)
    message(FATAL_ERROR "exit codes differ: ${rc1} vs ${rc2}")
  endif()
  if(first STREQUAL "")
    message(FATAL_ERROR "no output from 'handlecheck ${args}' (exit ${rc1}): ${hc_last_stderr}")
  endif()
endforeach()

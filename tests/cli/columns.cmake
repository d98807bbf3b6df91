# --columns and --color as users type them, from a fresh directory with relative paths: run
# prints the interleaving as a column per thread (100 columns wide off a terminal), the replay
# of its file prints the same view and the same "found by execution N"; a bad --color is exit 2
# naming the option and its values; --color always colours even a pipe, never and the default
# (a pipe is not a terminal) do not.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
string(ASCII 27 esc)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

function(hc_run_here out_var rc_var)
  execute_process(COMMAND ${CMAKE_COMMAND} -E env --unset=NO_COLOR --unset=COLUMNS ${HANDLECHECK}
                          ${ARGN}
                  WORKING_DIRECTORY ${WORK_DIR}
                  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
  set(${out_var} "${out}" PARENT_SCOPE)
  set(${rc_var} "${rc}" PARENT_SCOPE)
  set(hc_last_stderr "${err}" PARENT_SCOPE)
endfunction()

# Every line of `text` from its interleaving on fits `width` columns, and the view is there.
function(hc_expect_columns text width what)
  string(FIND "${text}" "interleaving:" at)
  hc_expect("${what}: an interleaving: ${text}" at GREATER -1)
  string(SUBSTRING "${text}" ${at} -1 view)
  string(FIND "${view}" "\nreplay:" end)  # the replay command after it is not part of the view
  if(end GREATER -1)
    string(SUBSTRING "${view}" 0 ${end} view)
  endif()
  hc_expect("${what}: a column per thread, main first: ${view}" view MATCHES
            "\n  step \\| main +\\| writer +\\| disposer\n")
  hc_expect("${what}: the finding's step marked: ${view}" view MATCHES
            "\n     7\\*\\| +\\| WriteFile File 'log' \\(!\\)")
  string(REPLACE "\n" ";" lines "${view}")
  foreach(line IN LISTS lines)
    string(LENGTH "${line}" n)
    hc_expect("${what}: at most ${width} columns, got ${n}: '${line}'" n LESS_EQUAL ${width})
  endforeach()
endfunction()

hc_run_here(out rc run safehandle/raw-value-after-dispose --columns --out out)
hc_expect("exit 0, got ${rc}: ${out} ${hc_last_stderr}" rc EQUAL 0)
hc_expect_columns("${out}" 100 "run --columns")
string(REGEX MATCH "found by execution ([0-9]+)" found "${out}")
set(execution ${CMAKE_MATCH_1})
hc_expect("found by execution N: ${out}" execution MATCHES "^[0-9]+$")
if(out MATCHES "${esc}")
  message(FATAL_ERROR "expected no colour off a terminal: ${out}")
endif()

file(GLOB files RELATIVE ${WORK_DIR} ${WORK_DIR}/out/*.json)
list(FILTER files EXCLUDE REGEX "\\.min\\.json$")
list(LENGTH files n)
hc_expect("one replay file, got: ${files}" n EQUAL 1)
hc_run_here(out rc replay ${files} --columns)
hc_expect("the replay reproduces (exit ${rc}): ${out} ${hc_last_stderr}" rc EQUAL 0)
hc_expect_columns("${out}" 100 "replay --columns")
hc_expect("the replay names execution ${execution} of the run: ${out}" out MATCHES
          "found by execution ${execution}\n")
hc_run_here(out rc replay ${files})
hc_expect("without --columns, a line per step: ${out}" out MATCHES
          "  step  thread +operation +object")

hc_run_here(out rc replay ${files} --color sometimes)
hc_expect("exit 2 for --color sometimes, got ${rc}" rc EQUAL 2)
hc_expect("the message names the option and its values: ${hc_last_stderr}" hc_last_stderr MATCHES
          "--color 'sometimes': say auto, always or never")
hc_run_here(out rc replay ${files} --color always)
hc_expect("--color always colours a pipe: ${out}" out MATCHES "(${esc}\\[[0-9;]*m)+REPRODUCED")
hc_expect("--color always colours the finding's kind: ${out}" out MATCHES
          "finding: (${esc}\\[[0-9;]*m)+invalid-handle-use")
hc_run_here(out rc replay ${files} --color never)
if(out MATCHES "${esc}")
  message(FATAL_ERROR "expected no escape codes with --color never: ${out}")
endif()

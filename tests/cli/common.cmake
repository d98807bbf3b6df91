# Shared by the CLI tests: run handlecheck, capture everything, fail with the whole story.
function(hc_run out_var rc_var)
  execute_process(COMMAND ${HANDLECHECK} ${ARGN}
                  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
  set(${out_var} "${out}" PARENT_SCOPE)
  set(${rc_var} "${rc}" PARENT_SCOPE)
  set(hc_last_stderr "${err}" PARENT_SCOPE)
endfunction()

function(hc_expect condition_text)
  if(NOT ${ARGN})
    message(FATAL_ERROR "expected ${condition_text}")
  endif()
endfunction()

# Output files and option values, as users write them: bare file names work from the current
# directory, a file that cannot be written is exit 2 naming it (never a truncated file with exit
# 0, never an internal error), and every numeric option is range-checked by name.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

function(hc_run_here out_var rc_var)
  execute_process(COMMAND ${HANDLECHECK} ${ARGN} WORKING_DIRECTORY ${WORK_DIR}
                  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
  set(${out_var} "${out}" PARENT_SCOPE)
  set(${rc_var} "${rc}" PARENT_SCOPE)
  set(hc_last_stderr "${err}" PARENT_SCOPE)
endfunction()

# Bare names, relative to the current directory, for every file the run writes.
hc_run_here(out rc run engine/lost-update --summary s.json --junit j.xml --checkpoint c.json)
hc_expect("exit 0 with bare file names, got ${rc}: ${hc_last_stderr}" rc EQUAL 0)
foreach(f s.json j.xml c.json)
  hc_expect("${f} written" EXISTS ${WORK_DIR}/${f})
endforeach()
hc_run_here(out rc merge s.json -o merged.json)
hc_expect("merge -o with a bare name exits 0, got ${rc}: ${hc_last_stderr}" rc EQUAL 0)
hc_expect("merged.json written" EXISTS ${WORK_DIR}/merged.json)
file(GLOB replay_files ${WORK_DIR}/handlecheck-out/engine_lost-update.check-failure.*.json)
list(GET replay_files 0 replay_file)
file(COPY ${replay_file} DESTINATION ${WORK_DIR})
get_filename_component(replay_name ${replay_file} NAME)
file(RENAME ${WORK_DIR}/${replay_name} ${WORK_DIR}/case.json)
hc_run_here(out rc minimize case.json)
hc_expect("minimize of a bare name exits 0, got ${rc}: ${hc_last_stderr}" rc EQUAL 0)
hc_expect("case.min.json written" EXISTS ${WORK_DIR}/case.min.json)

# A target that cannot be written: exit 2 naming it and the cause.
hc_run_here(out rc run engine/lost-update --summary handlecheck-out)
hc_expect("exit 2 for a summary onto a directory, got ${rc}" rc EQUAL 2)
hc_expect("the file and the cause: ${hc_last_stderr}" hc_last_stderr MATCHES "cannot write 'handlecheck-out': Is a directory")
hc_run_here(out rc merge handlecheck-out)
hc_expect("exit 2 for merging a directory, got ${rc}" rc EQUAL 2)
hc_expect("what to pass instead: ${hc_last_stderr}" hc_last_stderr MATCHES "'handlecheck-out' is a directory: pass the summary files")

# Every numeric option is range-checked, by name, with exit 2.
foreach(bad "--seed;-1" "--seed;" "--max-executions;18446744073709551616" "--time-budget;-1"
            "--pct-depth;0" "--stack-size;4294967296" "--stack-size;-1"
            "--checkpoint-interval;-1" "--max-steps;0" "--watchdog;-2" "--livelock-bound;-1")
  list(GET bad 0 option)
  hc_run_here(out rc run engine/lost-update ${bad})
  hc_expect("exit 2 for '${bad}', got ${rc}: ${hc_last_stderr}" rc EQUAL 2)
  hc_expect("the option named for '${bad}': ${hc_last_stderr}" hc_last_stderr MATCHES "${option}")
endforeach()

# A directory that cannot be written (sysfs refuses new files, even to root): exit 2 naming
# the file and the step that failed, for a summary and for --out.
if(EXISTS /sys/kernel)
  hc_run_here(out rc run engine/lost-update --summary /sys/hc-summary.json)
  hc_expect("exit 2 for an unwritable summary, got ${rc}" rc EQUAL 2)
  hc_expect("the file and the step: ${hc_last_stderr}" hc_last_stderr MATCHES "cannot write '/sys/hc-summary.json': .* \\(creating a temporary file beside it\\)")
  hc_run_here(out rc run engine/lost-update --out /sys/hc-out)
  hc_expect("exit 2 for an unwritable --out, got ${rc}" rc EQUAL 2)
  hc_expect("the directory and the step: ${hc_last_stderr}" hc_last_stderr MATCHES "cannot write '/sys/hc-out/[^']*': .* \\(creating its directory\\)")
endif()

# Findings under --jobs, --shard and --checkpoint are minimised like any other: minimisation
# never inherits them (it used to end in "strategy 'dfs' cannot be split into work units").
foreach(scale "--jobs;2" "--shard;1/2" "--checkpoint;scale.json")
  hc_run_here(out rc run engine/lost-update ${scale} --out scale-out)
  hc_expect("exit 0 with ${scale} and a finding, got ${rc}: ${out}${hc_last_stderr}" rc EQUAL 0)
  hc_expect("verdict with ${scale}: ${out}" out MATCHES "PASS  engine/lost-update  check-failure as expected")
  file(GLOB minimal ${WORK_DIR}/scale-out/engine_lost-update.check-failure.*.json)
  if(minimal STREQUAL "")
    message(FATAL_ERROR "no replay file with ${scale}")
  endif()
endforeach()

# Faults of the code under test through the CLI: a crash, a stack overflow and a hang are
# findings with replay files that reproduce them, scenarios around a crashing one are still
# reported, and SIGINT during a thread stuck in a loop stops the run with partial results.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
set(out_dir ${WORK_DIR}/out)

# Three scenarios, the second crashing with SIGSEGV in one interleaving: all three reported.
hc_run(out rc run engine/lost-update.fixed engine/use-after-free-crash engine/abba-deadlock.fixed
       --out ${out_dir})
hc_expect("exit 0, got ${rc}: ${out}${hc_last_stderr}" rc EQUAL 0)
hc_expect("the first scenario: ${out}" out MATCHES "PASS  engine/lost-update.fixed  clean as expected")
hc_expect("the crash as a finding: ${out}" out MATCHES "PASS  engine/use-after-free-crash  crash as expected \\(dfs")
hc_expect("the third scenario: ${out}" out MATCHES "PASS  engine/abba-deadlock.fixed  clean as expected")
hc_expect("a summary of all three: ${out}" out MATCHES "summary: 3 scenarios, 3 as expected, 0 unexpected")
file(GLOB crash_files ${out_dir}/engine_use-after-free-crash.crash.*.json)
list(GET crash_files 0 crash_file)
hc_run(out rc replay ${crash_file})
hc_expect("the crash's replay file reproduces it, got ${rc}: ${out}${hc_last_stderr}" rc EQUAL 0)
hc_expect("REPRODUCED: ${out}" out MATCHES "REPRODUCED  engine/use-after-free-crash  crash")
hc_expect("the signal and the thread: ${out}" out MATCHES "thread 'reader' crashed with SIGSEGV")

# The hang: a no-progress finding under dfs with two workers, its replay file reproduces it.
hc_run(out rc run engine/spin-on-plain-flag --jobs 2 --out ${out_dir})
hc_expect("exit 0, got ${rc}: ${out}${hc_last_stderr}" rc EQUAL 0)
hc_expect("no-progress: ${out}" out MATCHES "PASS  engine/spin-on-plain-flag  no-progress as expected")
file(GLOB hang_files ${out_dir}/engine_spin-on-plain-flag.no-progress.*.json)
list(GET hang_files 0 hang_file)
hc_run(out rc replay ${hang_file})
hc_expect("the hang's replay file reproduces it, got ${rc}: ${out}${hc_last_stderr}" rc EQUAL 0)
hc_expect("REPRODUCED: ${out}" out MATCHES "REPRODUCED  engine/spin-on-plain-flag  no-progress")

# SIGINT while a thread is stuck and the watchdog is off: the run stops with partial results
# and exit 130 (timeout -k kills it, and the test fails, if it does not stop by itself).
execute_process(COMMAND timeout --preserve-status -k 5 -s INT 1 ${HANDLECHECK} run
                        engine/lost-update.fixed engine/spin-on-plain-flag engine/abba-deadlock
                        --watchdog 0 --out ${out_dir}
                OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
hc_expect("exit 130 after SIGINT, got ${rc}: ${out}${err}" rc EQUAL 130)
hc_expect("the scenario before it: ${out}" out MATCHES "PASS  engine/lost-update.fixed")
hc_expect("the interrupted one, partial: ${err}" err MATCHES "interrupted after 0 executions of engine/spin-on-plain-flag: not exhaustive. its verdict below is partial")
hc_expect("its verdict is partial: ${out}" out MATCHES "PART  engine/spin-on-plain-flag  expects no-progress: not found in the part explored before the interruption")
hc_expect("the one after it not run: ${err}" err MATCHES "stopped by a signal: 1 of 3 scenarios not run")
hc_expect("a summary of what ran: ${out}" out MATCHES "summary: 2 scenarios")

# Every execution of a run is watched: the first one, which a checkpoint's fingerprint runs
# before the search, Knuth's probes under --progress, and a checkpoint's findings re-run on
# resume. A stuck thread there ends in no-progress, as in the search, instead of hanging the
# run (timeout -k kills a hung run, and the test fails).
foreach(extra "--checkpoint;${WORK_DIR}/stuck.ckpt" "--progress"
              "--checkpoint;${WORK_DIR}/stuck.ckpt;--resume;${WORK_DIR}/stuck.ckpt")
  execute_process(COMMAND timeout -k 5 60 ${HANDLECHECK} run engine/spin-on-plain-flag
                          --out ${out_dir} ${extra}
                  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
  hc_expect("${extra}: the stuck first execution ends in no-progress, exit ${rc}: ${out}${err}"
            rc EQUAL 0)
  hc_expect("${extra}: ${out}" out MATCHES "PASS  engine/spin-on-plain-flag  no-progress as expected")
endforeach()

# The floating-point control words from the command line: a run whose executions leave them
# changed says so under its verdict (the simulated threads share them on fibers), and
# --fp-env-per-thread, which gives each thread its own, has nothing to say.
# HANDLECHECK is hc_cli_fp: handlecheck::main over tests/cli/fp_control_scenarios.cpp.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

hc_run(out rc run fp/rounding-mode-left-set --out ${WORK_DIR}/out)
hc_expect("exit 0, got ${rc}: ${out}${hc_last_stderr}" rc EQUAL 0)
hc_expect("clean as expected: ${out}" out MATCHES "PASS  fp/rounding-mode-left-set  clean as expected \\(dfs, 2 executions, exhaustive\\)")
hc_expect("the note, counting both executions: ${out}"
          out MATCHES "note: 2 executions changed the floating-point control words \\(rounding mode, exception masks or flush-to-zero\\). on fibers the simulated threads share them")
hc_expect("the note names the option: ${out}" out MATCHES "--fp-env-per-thread gives each its own")

hc_run(out rc run fp/rounding-mode-left-set --fp-env-per-thread --out ${WORK_DIR}/out)
hc_expect("exit 0 with --fp-env-per-thread, got ${rc}: ${out}${hc_last_stderr}" rc EQUAL 0)
hc_expect("clean as expected: ${out}" out MATCHES "PASS  fp/rounding-mode-left-set  clean as expected")
string(FIND "${out}" "note:" note_at)
hc_expect("no note with --fp-env-per-thread: ${out}" note_at EQUAL -1)

# Exit codes and error messages of the CLI: 0 as expected, 1 a verdict differs, 2 bad input.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
set(out_dir ${WORK_DIR}/out)
file(REMOVE_RECURSE ${WORK_DIR})

hc_run(out rc run engine/lost-update --out ${out_dir})
hc_expect("exit 0 for an expected finding, got ${rc}: ${out}" rc EQUAL 0)
hc_expect("a PASS line: ${out}" out MATCHES "PASS  engine/lost-update  check-failure as expected")
hc_expect("where the replay file went: ${out}" out MATCHES "replay file ${out_dir}/engine_lost-update.check-failure.[0-9a-f]+.json")
file(GLOB reports ${out_dir}/engine_lost-update.check-failure.*.txt)
if(reports STREQUAL "")
  message(FATAL_ERROR "no text report beside the replay file")
endif()
file(GLOB pages ${out_dir}/engine_lost-update.check-failure.*.html)
if(pages STREQUAL "")
  message(FATAL_ERROR "no HTML report beside the replay file")
endif()

# A budget too small to find the bug: the verdict differs from the expected one.
hc_run(out rc run engine/lost-update --max-executions 1 --out ${out_dir})
hc_expect("exit 1 when the verdict differs, got ${rc}" rc EQUAL 1)
hc_expect("a FAIL line: ${out}" out MATCHES "FAIL  engine/lost-update  expected check-failure, but 1 execution found nothing")

hc_run(out rc run engine/lost-updat)
hc_expect("exit 2 for an unknown scenario, got ${rc}" rc EQUAL 2)
hc_expect("the closest name: ${hc_last_stderr}" hc_last_stderr MATCHES "unknown scenario 'engine/lost-updat': did you mean 'engine/lost-update'\\?")

hc_run(out rc run engine/lost-update --seeed 3)
hc_expect("exit 2 for an unknown option, got ${rc}" rc EQUAL 2)
hc_expect("the closest option: ${hc_last_stderr}" hc_last_stderr MATCHES "unknown option '--seeed' for 'handlecheck run': did you mean '--seed'\\?")

hc_run(out rc run engine/lost-update --replay 1.x)
hc_expect("exit 2 for a malformed schedule, got ${rc}" rc EQUAL 2)
hc_expect("what is wrong with it: ${hc_last_stderr}" hc_last_stderr MATCHES "--replay '1.x': choice 2 is 'x'")

hc_run(out rc run engine/lost-update --strategy bfs)
hc_expect("exit 2 for an unknown strategy, got ${rc}" rc EQUAL 2)
hc_expect("the strategies: ${hc_last_stderr}" hc_last_stderr MATCHES "unknown strategy 'bfs': use one of dfs, dpor, dpor-source, ipb, pct, random, replay")

hc_run(out rc run --tag no-such-tag)
hc_expect("exit 2 for an unknown tag, got ${rc}" rc EQUAL 2)

hc_run(out rc runn --all)
hc_expect("exit 2 for an unknown command, got ${rc}" rc EQUAL 2)
hc_expect("the closest command: ${hc_last_stderr}" hc_last_stderr MATCHES "did you mean 'run'\\?")

hc_run(out rc list --tag demo)
hc_expect("exit 0 for list, got ${rc}" rc EQUAL 0)
hc_expect("demo scenarios listed: ${out}" out MATCHES "engine/abba-deadlock +expect deadlock")

# An unbounded random run ends when its time budget is spent, with a clean verdict.
hc_run(out rc run engine/lost-update.fixed --strategy random --max-executions 0 --time-budget 0.3 --out ${out_dir})
hc_expect("exit 0 after the time budget, got ${rc}: ${out}" rc EQUAL 0)
hc_expect("a clean random run: ${out}" out MATCHES "PASS  engine/lost-update.fixed  clean as expected \\(random, [0-9]+ executions\\)")

# A choice string too short for the scenario is bad input (exit 2), not a nondeterminism finding.
hc_run(out rc run engine/lost-update --replay 1 --out ${out_dir})
hc_expect("exit 2 for a too-short --replay, got ${rc}: ${out}" rc EQUAL 2)
hc_expect("what to do: ${hc_last_stderr}" hc_last_stderr MATCHES "--replay '1' does not fit engine/lost-update: replay diverged at decision 2.*Pass the whole choice string")

# A bound smaller than a loop-free scenario: the advice is to raise it, not a spin-wait's.
hc_run(out rc run engine/lost-update.fixed --max-steps 3 --out ${out_dir})
hc_expect("exit 1 (the verdict differs), got ${rc}" rc EQUAL 1)
hc_expect("raise --max-steps: ${out}" out MATCHES "No operation repeats, so this looks like a scenario longer than the bound rather than a loop: raise --max-steps")
if(out MATCHES "A spin-wait needs")
  message(FATAL_ERROR "a loop-free scenario got the spin-wait advice: ${out}")
endif()

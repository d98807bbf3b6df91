# Replay files as input: a hand-edited step diverges naming the step; truncated, malformed,
# future-version and unknown-scenario files are clear errors with exit 2; --continue explores
# on; minimize writes a minimal file that replays; summaries merge.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
set(out_dir ${WORK_DIR}/out)
file(REMOVE_RECURSE ${out_dir})

hc_run(out rc run engine/abba-deadlock --strategy random --seed 11 --no-minimize --out ${out_dir})
hc_expect("exit 0, got ${rc}: ${out}" rc EQUAL 0)
file(GLOB files ${out_dir}/engine_abba-deadlock.deadlock.*.json)
list(LENGTH files n)
hc_expect("one replay file, got: ${files}" n EQUAL 1)
set(good ${files})
file(READ ${good} text)

hc_run(out rc replay ${good})
hc_expect("the file replays (exit ${rc}): ${out}" rc EQUAL 0)
hc_expect("REPRODUCED: ${out}" out MATCHES "REPRODUCED  engine/abba-deadlock  deadlock")

# A wrong thread at decision k: the error names the step of that decision.
string(JSON step GET "${text}" schedule 1 step)
string(JSON edited SET "${text}" schedule 1 thread "\"nobody\"")
file(WRITE ${WORK_DIR}/edited.json "${edited}")
hc_run(out rc replay ${WORK_DIR}/edited.json)
hc_expect("exit 2 for a divergence, got ${rc}" rc EQUAL 2)
hc_expect("the divergence names step ${step}: ${hc_last_stderr}" hc_last_stderr MATCHES
          "replay diverged at step ${step} \\(decision 2\\): the file expects thread 'nobody' to run")
hc_expect("what the program did: ${hc_last_stderr}" hc_last_stderr MATCHES "no thread is named 'nobody'")

# --continue explores on from the divergence with the file's strategy.
hc_run(out rc replay ${WORK_DIR}/edited.json --continue)
hc_expect("--continue reports the divergence: ${out}" out MATCHES "note: replay diverged at step ${step}")
hc_expect("--continue goes on with random: ${out}" out MATCHES "continued with random")

string(LENGTH "${text}" length)
math(EXPR half "${length} / 2")
string(SUBSTRING "${text}" 0 ${half} truncated)
file(WRITE ${WORK_DIR}/truncated.json "${truncated}")
hc_run(out rc replay ${WORK_DIR}/truncated.json)
hc_expect("exit 2 for a truncated file, got ${rc}" rc EQUAL 2)
hc_expect("it says why: ${hc_last_stderr}" hc_last_stderr MATCHES "not valid JSON \\(truncated or hand-edited\\?\\)")

file(WRITE ${WORK_DIR}/array.json "[1, 2]")
hc_run(out rc replay ${WORK_DIR}/array.json)
hc_expect("exit 2 for a malformed file, got ${rc}" rc EQUAL 2)
hc_expect("it says why: ${hc_last_stderr}" hc_last_stderr MATCHES "not a replay file")

string(JSON future SET "${text}" version 99)
file(WRITE ${WORK_DIR}/future.json "${future}")
hc_run(out rc replay ${WORK_DIR}/future.json)
hc_expect("exit 2 for an unknown version, got ${rc}" rc EQUAL 2)
hc_expect("it names the version: ${hc_last_stderr}" hc_last_stderr MATCHES "unknown replay format version 99: this handlecheck reads version 1")

string(JSON missing REMOVE "${text}" finding)
file(WRITE ${WORK_DIR}/missing.json "${missing}")
hc_run(out rc replay ${WORK_DIR}/missing.json)
hc_expect("exit 2 for a missing field, got ${rc}" rc EQUAL 2)
hc_expect("it names the field: ${hc_last_stderr}" hc_last_stderr MATCHES "finding is missing")

string(JSON renamed SET "${text}" scenario "\"engine/abba-deadlok\"")
file(WRITE ${WORK_DIR}/renamed.json "${renamed}")
hc_run(out rc replay ${WORK_DIR}/renamed.json)
hc_expect("exit 2 for an unknown scenario, got ${rc}" rc EQUAL 2)
hc_expect("it names the scenario: ${hc_last_stderr}" hc_last_stderr MATCHES "names scenario 'engine/abba-deadlok', which this handlecheck does not have \\(did you mean 'engine/abba-deadlock'\\?\\)")

hc_run(out rc replay ${WORK_DIR}/no-such-file.json)
hc_expect("exit 2 for a missing file, got ${rc}" rc EQUAL 2)

# minimize writes a minimal file beside the original, never longer, that replays.
hc_run(out rc minimize ${good})
hc_expect("minimize exits 0 (${rc}): ${out}" rc EQUAL 0)
string(REGEX MATCH "([0-9]+) -> ([0-9]+) preemptions, ([0-9]+) -> ([0-9]+) steps" counts "${out}")
if(counts STREQUAL "")
  message(FATAL_ERROR "no before/after counts in: ${out}")
endif()
hc_expect("preemptions never grow: ${counts}" CMAKE_MATCH_2 LESS_EQUAL ${CMAKE_MATCH_1})
hc_expect("steps never grow: ${counts}" CMAKE_MATCH_4 LESS_EQUAL ${CMAKE_MATCH_3})
string(REGEX REPLACE "\\.json$" ".min.json" minimal ${good})
hc_expect("the minimal file ${minimal}" EXISTS ${minimal})
hc_run(out rc replay ${minimal})
hc_expect("the minimal file replays (exit ${rc}): ${out}" rc EQUAL 0)

# Summaries of two runs merge into one; JUnit is written on request.
hc_run(out rc run --tag demo --summary ${WORK_DIR}/a.json --junit ${WORK_DIR}/junit.xml --out ${out_dir})
hc_expect("run with --summary exits 0 (${rc})" rc EQUAL 0)
hc_run(out rc run engine/lost-update --strategy random --summary ${WORK_DIR}/b.json --out ${out_dir})
hc_run(out rc merge ${WORK_DIR}/a.json ${WORK_DIR}/b.json -o ${WORK_DIR}/merged.json)
hc_expect("merge exits 0 (${rc}): ${hc_last_stderr}" rc EQUAL 0)
file(READ ${WORK_DIR}/merged.json merged)
string(JSON scenarios GET "${merged}" totals scenarios)
hc_expect("12 scenarios after the merge (the 12 demos), got ${scenarios}" scenarios EQUAL 12)
file(READ ${WORK_DIR}/junit.xml junit)
hc_expect("a testcase per scenario: ${junit}" junit MATCHES "<testcase classname=\"engine\" name=\"engine/lost-update\"")
hc_run(out rc merge ${WORK_DIR}/truncated.json)
hc_expect("merging a bad summary exits 2 (${rc})" rc EQUAL 2)

# examples:native — each bug of examples/native is found by dfs and by random with its kind and
# the user's file:line in the message, and the replay file it leaves reproduces it exactly.
include(${CMAKE_CURRENT_LIST_DIR}/../../tests/cli/common.cmake)
foreach(case "native/fd-wrapper-refcount|data-race|examples/native/fd_wrapper.cpp:"
             "native/pool-lost-wakeup|deadlock|examples/native/thread_pool.cpp:"
             "native/com-release-rereads-count|data-race|examples/native/com_object.cpp:"
             "native/shared-fd-raw-copy|data-race|examples/native/shared_fd.cpp:")
  string(REPLACE "|" ";" case "${case}")
  list(GET case 0 scenario)
  list(GET case 1 kind)
  list(GET case 2 site)
  foreach(strategy dfs random)
    hc_run(out rc run ${scenario} --strategy ${strategy} -v --out ${WORK_DIR}/${strategy})
    hc_expect("exit 0 from ${scenario} under ${strategy}, got ${rc}: ${out}${hc_last_stderr}"
              rc EQUAL 0)
    hc_expect("a ${kind} finding: ${out}" out MATCHES "finding: ${kind} ")
    # The finding and its message, up to the report's sections (a deadlock's message names
    # each thread's wait on a line of its own).
    string(REGEX MATCH "finding: [^\n]*\n[^\n]*" finding "${out}")
    string(REGEX REPLACE "\n(lifecycle|causal|interleaving|replay)[^\n]*\n.*" "" message "${out}")
    hc_expect("the user's file:line in the message: ${message}" message MATCHES "${site}[0-9]+")
    string(REGEX MATCH "replay: [^\n]*" line "${out}")
    if(line STREQUAL "")
      message(FATAL_ERROR "no replay line in: ${out}")
    endif()
    string(REGEX REPLACE "^replay: [^ ]+ " "" replay_args "${line}")
    separate_arguments(replay_args UNIX_COMMAND "${replay_args}")
    hc_run(again rc ${replay_args})
    hc_expect("the replay reproduces it (exit ${rc}): ${again}" rc EQUAL 0)
    hc_expect("a REPRODUCED line: ${again}" again MATCHES "REPRODUCED  ${scenario}")
    string(REGEX MATCH "finding: [^\n]*\n[^\n]*" finding_again "${again}")
    hc_expect("the same finding:\n${finding}\nvs\n${finding_again}" finding STREQUAL finding_again)
  endforeach()
endforeach()

# --jobs: native tests run on one worker (their globals and descriptor numbers belong to the
# process), and the run says so; every scenario is still as expected.
hc_run(out rc run --tag native --jobs 2 --out ${WORK_DIR}/jobs)
hc_expect("exit 0 from run --tag native --jobs 2, got ${rc}: ${out}${hc_last_stderr}" rc EQUAL 0)
hc_expect("the run names the workers it used: ${out}${hc_last_stderr}" hc_last_stderr MATCHES
          "--jobs 2: 8 scenarios run on 1 worker")
hc_expect("8 scenarios as expected: ${out}" out MATCHES "8 scenarios, 8 as expected, 0 unexpected")

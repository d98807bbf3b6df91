# Scale from the command line: --shard I/N and the batch engines' variables, merged shard
# summaries equal to one unsharded run, --jobs, and a run stopped by a real SIGTERM and resumed
# from its checkpoint ending with the totals of an uninterrupted run.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
set(out_dir ${WORK_DIR}/out)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
# A clean scenario without a coverage goal: a goal is judged per run, and a shard of the
# search need not see both orders of a pair (issue: a partial shard is not a verdict).
set(scenario safehandle/close-while-waiting.fixed)

hc_run(whole rc run ${scenario} --strategy dpor --out ${out_dir} --summary ${WORK_DIR}/whole.json)
hc_expect("the unsharded run passes: ${whole}" rc EQUAL 0)
string(REGEX MATCH "dpor, ([0-9]+) executions, exhaustive" m "${whole}")
set(total ${CMAKE_MATCH_1})
hc_expect("an exhaustive count: ${whole}" total MATCHES "^[0-9]+$")

set(summaries)
foreach(i 1 2 3)
  hc_run(part rc run ${scenario} --strategy dpor --shard ${i}/3 --out ${out_dir}
         --summary ${WORK_DIR}/shard${i}.json)
  hc_expect("shard ${i}/3 passes: ${part} ${hc_last_stderr}" rc EQUAL 0)
  hc_expect("shard ${i}/3 says so on stderr: ${hc_last_stderr}" hc_last_stderr MATCHES "shard ${i} of 3 \\(from --shard\\)")
  list(APPEND summaries ${WORK_DIR}/shard${i}.json)
  set(shard${i} "${part}")
endforeach()
hc_run(merged rc merge ${summaries} -o ${WORK_DIR}/merged.json)
hc_expect("merge succeeds: ${merged} ${hc_last_stderr}" rc EQUAL 0)
file(READ ${WORK_DIR}/merged.json merged_json)
string(JSON merged_total GET "${merged_json}" totals executions)
hc_expect("the merged shards' executions (${merged_total}) equal the unsharded run's (${total})" merged_total EQUAL total)
string(JSON exhausted GET "${merged_json}" scenarios 0 exhausted)
hc_expect("the merged shards exhausted the space" exhausted)

# The whole catalogue, buggy scenarios included, in 3 shards: a shard whose part holds no bug of
# a buggy scenario says PART and exits 0 (nothing unexpected happened in its part), and the
# merge of the three equals one unsharded run scenario by scenario.
hc_run(all_whole rc run --all --strategy dfs --keep-going --out ${out_dir}
       --summary ${WORK_DIR}/all-whole.json)
hc_expect("the unsharded catalogue passes: ${hc_last_stderr}" rc EQUAL 0)
set(all_summaries)
foreach(i 1 2 3)
  hc_run(all_part rc run --all --strategy dfs --keep-going --shard ${i}/3 --out ${out_dir}
         --summary ${WORK_DIR}/all-shard${i}.json)
  hc_expect("catalogue shard ${i}/3 exits 0: ${all_part}" rc EQUAL 0)
  hc_expect("catalogue shard ${i}/3 has partial verdicts: ${all_part}" all_part MATCHES "\nPART  [^\n]*expects [a-z-]+: not found in shard ${i} of 3 \\(the merge decides\\)")
  hc_expect("and says what they are: ${all_part}" all_part MATCHES "of them partial: this is shard ${i} of 3. merge the summaries of every shard")
  list(APPEND all_summaries ${WORK_DIR}/all-shard${i}.json)
endforeach()
file(READ ${WORK_DIR}/all-shard2.json shard_json)
string(JSON shard_run_count GET "${shard_json}" run shard count)
string(JSON shard_run_index GET "${shard_json}" run shard index)
string(JSON shard_options GET "${shard_json}" run options)
hc_expect("the summary records the shard (${shard_run_index}/${shard_run_count})" shard_run_index EQUAL 2 AND shard_run_count EQUAL 3)
hc_expect("and the options that shape the run: ${shard_options}" shard_options MATCHES "\"--all\".*\"--strategy=dfs\".*\"--keep-going\"")
hc_run(all_merged rc merge ${all_summaries} -o ${WORK_DIR}/all-merged.json)
hc_expect("the complete set merges: ${hc_last_stderr}" rc EQUAL 0)
file(READ ${WORK_DIR}/all-whole.json whole_json)
file(READ ${WORK_DIR}/all-merged.json merged_json)
string(JSON n LENGTH "${whole_json}" scenarios)
math(EXPR last "${n} - 1")
foreach(k RANGE ${last})
  string(JSON name GET "${whole_json}" scenarios ${k} name)
  foreach(field verdict as_expected executions exhausted partial)
    string(JSON w GET "${whole_json}" scenarios ${k} ${field})
    string(JSON m GET "${merged_json}" scenarios ${k} ${field})
    hc_expect("${name}: the merged ${field} (${m}) equals the unsharded run's (${w})" m STREQUAL w)
  endforeach()
  string(JSON wf LENGTH "${whole_json}" scenarios ${k} findings)
  string(JSON mf LENGTH "${merged_json}" scenarios ${k} findings)
  hc_expect("${name}: ${mf} merged findings, ${wf} unsharded" mf EQUAL wf)
endforeach()
hc_run(out rc merge ${WORK_DIR}/all-shard1.json ${WORK_DIR}/all-shard3.json)
hc_expect("a missing shard is refused with exit 2, got ${rc}" rc EQUAL 2)
hc_expect("naming it: ${hc_last_stderr}" hc_last_stderr MATCHES "shard 2 of 3 is missing: a merge needs every shard of the run")
hc_run(out rc merge ${all_summaries} ${WORK_DIR}/all-shard2.json)
hc_expect("a duplicated shard is refused with exit 2, got ${rc}" rc EQUAL 2)
hc_expect("naming both copies: ${hc_last_stderr}" hc_last_stderr MATCHES "shard 2 of 3 appears 2 times \\('[^']*all-shard2.json', '[^']*all-shard2.json'\\)")
hc_run(out rc merge ${WORK_DIR}/all-shard1.json ${WORK_DIR}/shard2.json ${WORK_DIR}/all-shard3.json)
hc_expect("shards of another run are refused with exit 2, got ${rc}" rc EQUAL 2)
hc_expect("naming the options: ${hc_last_stderr}" hc_last_stderr MATCHES "shard2.json' ran with options .* the shards of one run share their options")

# A preemption-bounded search is never "exhaustive": it covers the schedules within the bound.
hc_run(bounded rc run safehandle/close-while-waiting.fixed --preemption-bound 0 --out ${out_dir}
       --summary ${WORK_DIR}/bounded.json)
hc_expect("bounded: ${bounded}" bounded MATCHES "exhaustive within preemption bound 0")
file(READ ${WORK_DIR}/bounded.json bounded_json)
string(JSON bounded_exhausted GET "${bounded_json}" scenarios 0 exhausted)
string(JSON bounded_by GET "${bounded_json}" scenarios 0 bounded_by)
hc_expect("\"exhausted\": false, not ${bounded_exhausted}" bounded_exhausted STREQUAL "OFF")
hc_expect("bounded_by says by what: ${bounded_by}" bounded_by STREQUAL "preemption bound 0")

# The same shard from a batch engine's variables: identical standard output.
set(ENV{JOB_COMPLETION_INDEX} 1)
set(ENV{HC_SHARD_COUNT} 3)
hc_run(k8s rc run ${scenario} --strategy dpor --out ${out_dir})
hc_expect("a Kubernetes index gives shard 2/3: ${hc_last_stderr}" hc_last_stderr MATCHES "shard 2 of 3 \\(from Kubernetes Indexed Job")
hc_expect("the same output as --shard 2/3" k8s STREQUAL shard2)
unset(ENV{JOB_COMPLETION_INDEX})
set(ENV{SLURM_ARRAY_TASK_ID} 2)
set(ENV{SLURM_ARRAY_TASK_COUNT} 3)
hc_run(slurm rc run ${scenario} --strategy dpor --out ${out_dir})
hc_expect("a Slurm task id gives shard 3/3: ${hc_last_stderr}" hc_last_stderr MATCHES "shard 3 of 3 \\(from Slurm job array")
hc_expect("the same output as --shard 3/3" slurm STREQUAL shard3)
unset(ENV{SLURM_ARRAY_TASK_ID})
unset(ENV{SLURM_ARRAY_TASK_COUNT})
set(ENV{JOB_COMPLETION_INDEX} 0)
unset(ENV{HC_SHARD_COUNT})
hc_run(out rc run ${scenario} --out ${out_dir})
hc_expect("exit 2 when the count is missing" rc EQUAL 2)
hc_expect("it names the missing variable: ${hc_last_stderr}" hc_last_stderr MATCHES "JOB_COMPLETION_INDEX is set .* but HC_SHARD_COUNT is not")
unset(ENV{JOB_COMPLETION_INDEX})
hc_run(out rc run ${scenario} --shard 4/3 --out ${out_dir})
hc_expect("exit 2 for a shard that does not exist" rc EQUAL 2)
hc_expect("the range: ${hc_last_stderr}" hc_last_stderr MATCHES "the index runs from 1 to the count")

# Parallel workers: the same standard output as one worker.
hc_run(two rc run ${scenario} --strategy dpor --jobs 2 --out ${out_dir})
hc_expect("--jobs 2 gives the output of one worker" two STREQUAL whole)

# A real SIGTERM: the run stops, writes its checkpoint, exits 130; resuming finishes it.
set(args run ${scenario} --strategy random --max-executions 400000 --out ${out_dir})
hc_run(uninterrupted rc ${args})
hc_expect("the uninterrupted run passes" rc EQUAL 0)
execute_process(COMMAND timeout --preserve-status -s TERM 1 ${HANDLECHECK} ${args}
                        --checkpoint ${WORK_DIR}/cp.json --checkpoint-interval 0.2
                OUTPUT_VARIABLE first ERROR_VARIABLE first_err RESULT_VARIABLE rc)
if(rc EQUAL 0)
  message(WARNING "the run finished within a second: nothing was interrupted (a very fast machine)")
else()
  hc_expect("exit 130 when interrupted, got ${rc}: ${first_err}" rc EQUAL 130)
  hc_expect("it says how to resume: ${first_err}" first_err MATCHES "resume with: .* --resume ${WORK_DIR}/cp.json")
  hc_expect("a checkpoint file" EXISTS ${WORK_DIR}/cp.json)
  hc_run(resumed rc ${args} --checkpoint ${WORK_DIR}/cp.json --resume ${WORK_DIR}/cp.json)
  hc_expect("the resumed run passes: ${resumed} ${hc_last_stderr}" rc EQUAL 0)
  hc_expect("the resumed run ends with the uninterrupted totals:\n${resumed}\nvs\n${uninterrupted}" resumed STREQUAL uninterrupted)
endif()
# A real SIGTERM without a checkpoint: the scenario in progress prints its partial verdict, the
# ones after it are not run, the summary and JUnit say interrupted and partial, exit 130.
# 3 s: long enough for the handler to be installed on a loaded machine, far shorter than
# the run (5,000,000 random executions of each clean scenario).
execute_process(COMMAND timeout --preserve-status -s TERM 3 ${HANDLECHECK} run --all
                        --strategy random --max-executions 5000000 --out ${out_dir}
                        --summary ${WORK_DIR}/interrupted.json --junit ${WORK_DIR}/interrupted.xml
                OUTPUT_VARIABLE int_out ERROR_VARIABLE int_err RESULT_VARIABLE rc)
if(rc EQUAL 0)
  message(WARNING "the catalogue finished within a second: nothing was interrupted")
else()
  hc_expect("exit 130 when interrupted, got ${rc}: ${int_err}" rc EQUAL 130)
  hc_expect("a partial verdict: ${int_out}" int_out MATCHES "PART  [^\n]* in the part explored before the interruption")
  hc_expect("counted as partial: ${int_out}" int_out MATCHES "1 of them partial: the run was interrupted \\(not exhaustive\\)")
  hc_expect("stderr says so: ${int_err}" int_err MATCHES "interrupted after [0-9]+ executions of [^:]+: not exhaustive")
  hc_expect("and what was not run: ${int_err}" int_err MATCHES "stopped by a signal: [0-9]+ of [0-9]+ scenarios not run")
  file(READ ${WORK_DIR}/interrupted.json int_json)
  string(JSON int_run GET "${int_json}" run interrupted)
  string(JSON int_n LENGTH "${int_json}" scenarios)
  math(EXPR int_last "${int_n} - 1")
  string(JSON int_partial GET "${int_json}" scenarios ${int_last} partial)
  string(JSON int_exhausted GET "${int_json}" scenarios ${int_last} exhausted)
  hc_expect("the summary says interrupted" int_run STREQUAL "ON")
  hc_expect("the interrupted scenario is partial" int_partial STREQUAL "ON")
  hc_expect("and not exhausted" int_exhausted STREQUAL "OFF")
  file(READ ${WORK_DIR}/interrupted.xml int_xml)
  hc_expect("the JUnit says partial: ${int_xml}" int_xml MATCHES "partial: [^<]* in the part explored before the interruption")
endif()

# Several scenarios share one checkpoint directory (a file per scenario). A real SIGTERM, then
# the resume command exactly as printed, run from the same directory with the relative paths a
# user types: the resumed run prints what one uninterrupted run prints.
set(tagged run --tag safehandle --strategy random --max-executions 100000 --out out)
execute_process(COMMAND ${HANDLECHECK} ${tagged} WORKING_DIRECTORY ${WORK_DIR}
                OUTPUT_VARIABLE tagged_whole ERROR_VARIABLE err RESULT_VARIABLE rc)
hc_expect("the uninterrupted tagged run passes: ${err}" rc EQUAL 0)
execute_process(COMMAND timeout --preserve-status -s TERM 1.5 ${HANDLECHECK} ${tagged}
                        --checkpoint checkpoints --checkpoint-interval 0.2
                WORKING_DIRECTORY ${WORK_DIR}
                OUTPUT_VARIABLE first ERROR_VARIABLE first_err RESULT_VARIABLE rc)
if(rc EQUAL 0)
  message(WARNING "the tagged run finished within 1.5 s: nothing was interrupted")
else()
  hc_expect("exit 130 when interrupted, got ${rc}: ${first_err}" rc EQUAL 130)
  hc_expect("a checkpoint per scenario" EXISTS ${WORK_DIR}/checkpoints/safehandle_bitwise-clone.json)
  hc_expect("it says what the checkpoint keeps: ${first_err}" first_err MATCHES "the checkpoint checkpoints keeps [0-9]+ of them \\([0-9.]+%")
  string(REGEX MATCH "resume with: ([^\n]*)" m "${first_err}")
  set(resume "${CMAKE_MATCH_1}")
  hc_expect("a resume command: ${first_err}" resume MATCHES "--tag safehandle .*--checkpoint checkpoints .*--resume checkpoints$")
  execute_process(COMMAND sh -c "${resume}" WORKING_DIRECTORY ${WORK_DIR}
                  OUTPUT_VARIABLE resumed ERROR_VARIABLE err RESULT_VARIABLE rc)
  hc_expect("the printed resume command runs and passes: ${err}" rc EQUAL 0)
  hc_expect("and prints what the uninterrupted run printed:\n${resumed}\nvs\n${tagged_whole}" resumed STREQUAL tagged_whole)
endif()
# dfs keeps the work done inside its units: a real SIGTERM in the middle of the catalogue (the
# checkpoint keeps at least 90% of the executions of the scenario it stopped), and the printed
# resume command, run as printed, prints what one uninterrupted run prints.
set(exhaustive run --all --strategy dfs --keep-going --out out)
execute_process(COMMAND ${HANDLECHECK} ${exhaustive} WORKING_DIRECTORY ${WORK_DIR}
                OUTPUT_VARIABLE dfs_whole ERROR_VARIABLE err RESULT_VARIABLE rc)
hc_expect("the uninterrupted dfs catalogue passes: ${err}" rc EQUAL 0)
execute_process(COMMAND timeout --preserve-status -s TERM 0.6 ${HANDLECHECK} ${exhaustive}
                        --checkpoint dfs-checkpoints
                WORKING_DIRECTORY ${WORK_DIR}
                OUTPUT_VARIABLE first ERROR_VARIABLE first_err RESULT_VARIABLE rc)
if(rc EQUAL 0)
  message(WARNING "the dfs catalogue finished within 0.6 s: nothing was interrupted")
else()
  hc_expect("exit 130 when interrupted, got ${rc}: ${first_err}" rc EQUAL 130)
  string(REGEX MATCH "interrupted after ([0-9]+) executions" m "${first_err}")
  set(ran "${CMAKE_MATCH_1}")
  string(REGEX MATCH "keeps ([0-9]+) of them \\(([0-9]+)" m "${first_err}")
  set(percent "${CMAKE_MATCH_2}")
  # A signal that lands within a scenario's first executions (engine/spin-on-plain-flag's one
  # execution waits for the watchdog) leaves nothing finished to keep: the share is measured
  # only where there is one (on a loaded machine the 0.6 s can land anywhere).
  if(ran GREATER_EQUAL 100)
    hc_expect("the checkpoint keeps at least 90% of what ran: ${first_err}" percent GREATER_EQUAL 90)
  else()
    message(STATUS "interrupted after ${ran} executions of a scenario: the share kept is not measured")
  endif()
  string(REGEX MATCH "resume with: ([^\n]*)" m "${first_err}")
  execute_process(COMMAND sh -c "${CMAKE_MATCH_1}" WORKING_DIRECTORY ${WORK_DIR}
                  OUTPUT_VARIABLE dfs_resumed ERROR_VARIABLE err RESULT_VARIABLE rc)
  hc_expect("the printed resume command passes: ${err}" rc EQUAL 0)
  string(REGEX REPLACE "time: [^\n]*" "" dfs_resumed "${dfs_resumed}")
  string(REGEX REPLACE "time: [^\n]*" "" dfs_whole_cmp "${dfs_whole}")
  hc_expect("and prints what the uninterrupted run printed:\n${dfs_resumed}\nvs\n${dfs_whole_cmp}" dfs_resumed STREQUAL dfs_whole_cmp)
endif()
file(WRITE ${WORK_DIR}/a-file "")
hc_run(out rc run --tag safehandle --checkpoint ${WORK_DIR}/a-file --out ${out_dir})
hc_expect("exit 2 for a checkpoint file with several scenarios, got ${rc}" rc EQUAL 2)
hc_expect("it says to name a directory: ${hc_last_stderr}" hc_last_stderr MATCHES "with several scenarios it names a directory")

hc_run(out rc run engine/lost-update --resume ${WORK_DIR}/cp.json --out ${out_dir})
hc_expect("exit 2 when resuming another scenario's checkpoint" rc EQUAL 2)
hc_expect("it names the difference: ${hc_last_stderr}" hc_last_stderr MATCHES "was written with run = ${scenario}, but this run has run = engine/lost-update")

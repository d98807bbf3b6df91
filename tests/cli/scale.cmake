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
hc_run(out rc run engine/lost-update --resume ${WORK_DIR}/cp.json --out ${out_dir})
hc_expect("exit 2 when resuming another scenario's checkpoint" rc EQUAL 2)
hc_expect("it names the difference: ${hc_last_stderr}" hc_last_stderr MATCHES "was written with run = ${scenario}, but this run has run = engine/lost-update")

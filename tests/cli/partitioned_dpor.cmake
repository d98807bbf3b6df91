# dpor split into fixed units (shards, checkpoints) against one run and --jobs, on a user's own
# scenario (tests/cli/partitioned_dpor_scenarios.cpp, lastzero(8): 704 traces). The counted
# executions are the same every way; the pruned (sleep-set blocked) ones are not: one run and
# --jobs 2 prune none, shards and checkpoints prune thousands. The scenario line, the summary,
# the merge and a note on stderr say so.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
set(scenario classic/lastzero-8)
set(note_text "sleep-set blocked executions \\(pruned\\) for [0-9]+ counted: a shard or checkpointed run cannot use the races found in units it does not explore")

# One run: 704 executions, none pruned, so the line and the totals name no pruned ones.
hc_run(whole rc run ${scenario} --strategy dpor --out ${WORK_DIR}/out
       --summary ${WORK_DIR}/whole.json)
hc_expect("one run passes: ${whole} ${hc_last_stderr}" rc EQUAL 0)
hc_expect("with the traces' count and no pruned ones: ${whole}" whole MATCHES "\\(dpor, 704 executions, exhaustive\\). no report")
hc_expect("the totals name none either: ${whole}" whole MATCHES "unexpected. 704 executions, 0 distinct findings")
string(FIND "${hc_last_stderr}" "sleep-set blocked" at)
hc_expect("no note on stderr: ${hc_last_stderr}" at EQUAL -1)
file(READ ${WORK_DIR}/whole.json whole_json)
string(JSON whole_pruned GET "${whole_json}" scenarios 0 pruned)
string(JSON whole_total_pruned GET "${whole_json}" totals pruned)
hc_expect("the summary says 0 pruned (${whole_pruned}, totals ${whole_total_pruned})" whole_pruned EQUAL 0 AND whole_total_pruned EQUAL 0)

# --jobs 2 shares one search tree: the same executions, and no pruned ones either.
hc_run(jobs rc run ${scenario} --strategy dpor --jobs 2 --out ${WORK_DIR}/out)
hc_expect("--jobs 2 passes: ${jobs} ${hc_last_stderr}" rc EQUAL 0)
hc_expect("with one run's count and no pruned ones: ${jobs}" jobs MATCHES "\\(dpor, 704 executions, exhaustive\\). no report")
string(FIND "${hc_last_stderr}" "sleep-set blocked" at)
hc_expect("and no note: ${hc_last_stderr}" at EQUAL -1)

# Three shards: each line gives its pruned executions, each shard's stderr the note; the merge
# sums them, and its executions are one run's.
set(summaries)
set(sum_pruned 0)
foreach(i 1 2 3)
  hc_run(part rc run ${scenario} --strategy dpor --shard ${i}/3 --out ${WORK_DIR}/out
         --summary ${WORK_DIR}/shard${i}.json)
  hc_expect("shard ${i}/3 passes: ${part} ${hc_last_stderr}" rc EQUAL 0)
  string(REGEX MATCH "\\(dpor, ([0-9]+) executions?, exhaustive, ([0-9]+) pruned\\)" m "${part}")
  hc_expect("shard ${i}/3's line names its pruned executions: ${part}" m)
  set(line_pruned ${CMAKE_MATCH_2})
  hc_expect("shard ${i}/3's totals too: ${part}" part MATCHES "unexpected. ${CMAKE_MATCH_1} executions? \\(${line_pruned} pruned\\)")
  hc_expect("shard ${i}/3 prunes more than it counts (${line_pruned})" line_pruned GREATER CMAKE_MATCH_1)
  hc_expect("shard ${i}/3 says why and what avoids it: ${hc_last_stderr}" hc_last_stderr MATCHES "  ${scenario}: ${line_pruned} ${note_text}, so dpor branches on every thread above its units. --jobs N on one machine shares one search tree")
  file(READ ${WORK_DIR}/shard${i}.json shard_json)
  string(JSON json_pruned GET "${shard_json}" scenarios 0 pruned)
  hc_expect("shard ${i}/3's summary has the line's pruned count (${json_pruned}, ${line_pruned})" json_pruned EQUAL line_pruned)
  math(EXPR sum_pruned "${sum_pruned} + ${line_pruned}")
  list(APPEND summaries ${WORK_DIR}/shard${i}.json)
endforeach()
hc_run(merged rc merge ${summaries} -o ${WORK_DIR}/merged.json)
hc_expect("the shards merge: ${hc_last_stderr}" rc EQUAL 0)
hc_expect("the merge's stderr sums the pruned ones: ${hc_last_stderr}" hc_last_stderr MATCHES "merged 3 summaries: 1 scenarios, 0 unexpected, 704 executions \\(${sum_pruned} pruned\\)")
file(READ ${WORK_DIR}/merged.json merged_json)
string(JSON merged_executions GET "${merged_json}" scenarios 0 executions)
string(JSON merged_pruned GET "${merged_json}" scenarios 0 pruned)
string(JSON merged_total_pruned GET "${merged_json}" totals pruned)
hc_expect("the merged executions are one run's (${merged_executions})" merged_executions EQUAL 704)
hc_expect("the merged pruned ones are the shards' sum (${merged_pruned}, totals ${merged_total_pruned}, sum ${sum_pruned})" merged_pruned EQUAL sum_pruned AND merged_total_pruned EQUAL sum_pruned)

# A checkpointed run splits into fixed units too: the same note.
hc_run(checkpointed rc run ${scenario} --strategy dpor --checkpoint ${WORK_DIR}/run.checkpoint
       --out ${WORK_DIR}/out)
hc_expect("the checkpointed run passes: ${checkpointed} ${hc_last_stderr}" rc EQUAL 0)
hc_expect("with one run's executions and its pruned ones: ${checkpointed}" checkpointed MATCHES "\\(dpor, 704 executions, exhaustive, [0-9]+ pruned\\)")
hc_expect("and the note: ${hc_last_stderr}" hc_last_stderr MATCHES "  ${scenario}: [0-9]+ ${note_text}")

# A summary written before pruned was recorded still reads (0) and merges.
string(JSON old_json REMOVE "${whole_json}" scenarios 0 pruned)
string(JSON old_json REMOVE "${old_json}" totals pruned)
file(WRITE ${WORK_DIR}/old.json "${old_json}")
hc_run(old rc merge ${WORK_DIR}/old.json ${WORK_DIR}/whole.json -o ${WORK_DIR}/old-merged.json)
hc_expect("a summary without pruned counts merges: ${hc_last_stderr}" rc EQUAL 0)
file(READ ${WORK_DIR}/old-merged.json old_merged)
string(JSON old_merged_pruned GET "${old_merged}" scenarios 0 pruned)
hc_expect("as 0 pruned (${old_merged_pruned})" old_merged_pruned EQUAL 0)

# The nightly examples of examples/nightly/ are tested files: each is run the way its engine runs
# it (tests/cli/batch_engines.py reads the commands, variables and working directories from the
# example itself), every shard and then the merge step, and the merged summary must equal one
# unsharded run of the same options scenario by scenario: the whole catalogue, buggy scenarios
# included, minimisation on, every output path relative.
#   -DHANDLECHECK=... -DWORK_DIR=... -DEXAMPLES=<examples/nightly> -DENGINES=<batch_engines.py>
#   -DPYTHON=<python3 with the yaml module>
#   -DLEAVE_OUT=I (by hand only): leave shard I out of every engine; the test must then fail.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
if(NOT PYTHON)
  message(FATAL_ERROR "python3 with the yaml module (Debian python3-yaml) is needed to read the "
                      "examples; it was not found when the build was configured")
endif()
# The examples call `handlecheck` by name, as on a machine where it is installed.
get_filename_component(bin_dir ${HANDLECHECK} DIRECTORY)
set(ENV{PATH} "${bin_dir}:$ENV{PATH}")
# The reference run below must not take a shard from the environment ctest runs in.
foreach(v HC_SHARD_INDEX HC_SHARD_COUNT JOB_COMPLETION_INDEX SLURM_ARRAY_TASK_ID
          SLURM_ARRAY_TASK_COUNT SLURM_ARRAY_TASK_MIN CI_NODE_INDEX CI_NODE_TOTAL
          CIRCLE_NODE_INDEX CIRCLE_NODE_TOTAL BUILDKITE_PARALLEL_JOB BUILDKITE_PARALLEL_JOB_COUNT)
  unset(ENV{${v}})
endforeach()
set(leave_out)
if(DEFINED LEAVE_OUT)
  set(leave_out --leave-out ${LEAVE_OUT})
endif()

execute_process(COMMAND ${HANDLECHECK} list --names-only OUTPUT_VARIABLE names RESULT_VARIABLE rc)
hc_expect("handlecheck list works" rc EQUAL 0)
string(REGEX MATCHALL "[^\n]+" names "${names}")
list(LENGTH names catalogue_size)

# One unsharded run per set of options the examples use, with exactly those options (the
# summary's run.options, canonical): computed once, compared with every engine using them.
function(reference options out_var)
  string(SHA1 key "${options}")
  set(dir ${WORK_DIR}/reference-${key})
  if(NOT EXISTS ${dir}/whole.json)
    file(MAKE_DIRECTORY ${dir})
    execute_process(COMMAND ${HANDLECHECK} run ${options} --out out --summary whole.json
                    WORKING_DIRECTORY ${dir}
                    OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
    hc_expect("the unsharded run (${options}) passes: ${out}${err}" rc EQUAL 0)
  endif()
  file(READ ${dir}/whole.json json)
  set(${out_var} "${json}" PARENT_SCOPE)
endfunction()

function(check_example engine)
  set(log ${WORK_DIR}/${engine}.log)
  string(TIMESTAMP start "%s")
  execute_process(COMMAND ${PYTHON} ${ENGINES} ${engine} ${WORK_DIR}/${engine} ${ARGN} ${leave_out}
                  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
  string(TIMESTAMP end "%s")
  math(EXPR took "${end} - ${start}")
  file(WRITE ${log} "${out}${err}")
  message(STATUS "${engine}: ${took} s (log: ${log})")
  hc_expect("${engine}: every shard and the merge succeed as the engine runs them:\n${out}${err}"
            rc EQUAL 0)
  string(REGEX MATCH "\nshards: ([0-9]+)\n" m "${out}")
  set(shards ${CMAKE_MATCH_1})
  string(REGEX MATCH "\nmerge directory: ([^\n]+)" m "${out}")
  set(merge_dir ${CMAKE_MATCH_1})
  string(REGEX MATCHALL "\nshard directory: [^\n]+" shard_lines "${out}")
  hc_expect("${engine}: more than one shard (${shards})" shards GREATER 1)

  # The merged summary: the one summary in the merge step's directory that is a merge.
  file(GLOB candidates ${merge_dir}/*.json)
  set(merged_json)
  foreach(f IN LISTS candidates)
    file(READ ${f} text)
    string(JSON count ERROR_VARIABLE no_merge GET "${text}" run merged)
    if(NOT no_merge)
      set(merged_json "${text}")
      set(merged_file ${f})
      hc_expect("${engine}: ${f} merges every shard (${count} of ${shards})" count EQUAL shards)
    endif()
  endforeach()
  hc_expect("${engine}: the merge step wrote a merged summary in ${merge_dir}" merged_json)

  # Every shard wrote its summary and JUnit XML in its working directory, by relative paths.
  foreach(line IN LISTS shard_lines)
    string(REGEX REPLACE "^\nshard directory: " "" dir "${line}")
    file(GLOB junit ${dir}/*.xml)
    hc_expect("${engine}: JUnit XML in the shard's directory ${dir}" junit)
  endforeach()

  # The same options as the reference, which covers the whole catalogue.
  string(JSON n_options LENGTH "${merged_json}" run options)
  set(options)
  math(EXPR last_option "${n_options} - 1")
  foreach(k RANGE ${last_option})
    string(JSON o GET "${merged_json}" run options ${k})
    list(APPEND options "${o}")
  endforeach()
  list(FIND options "--all" all)
  list(FIND options "--keep-going" keep_going)
  hc_expect("${engine}: the whole catalogue (${options})" all GREATER -1)
  hc_expect("${engine}: --keep-going, as the nightly does (${options})" keep_going GREATER -1)
  reference("${options}" whole_json)
  string(JSON n LENGTH "${whole_json}" scenarios)
  string(JSON merged_n LENGTH "${merged_json}" scenarios)
  hc_expect("${engine}: the unsharded run has every scenario (${n} of ${catalogue_size})"
            n EQUAL catalogue_size)
  hc_expect("${engine}: ${merged_n} merged scenarios, ${n} unsharded" merged_n EQUAL n)
  foreach(field scenarios as_expected unexpected executions findings)
    string(JSON w GET "${whole_json}" totals ${field})
    string(JSON m GET "${merged_json}" totals ${field})
    hc_expect("${engine}: the merged totals.${field} (${m}) equal the unsharded run's (${w})"
              m EQUAL w)
  endforeach()
  string(JSON partial ERROR_VARIABLE none GET "${merged_json}" totals partial)
  if(NOT none)
    hc_expect("${engine}: no merged scenario is partial (${partial})" partial EQUAL 0)
  endif()
  math(EXPR last "${n} - 1")
  # The merged summary lists scenarios by name, the unsharded one in run order. Each record is
  # taken out once (string(JSON) parses the whole text it is given).
  foreach(i RANGE ${last})
    string(JSON record GET "${merged_json}" scenarios ${i})
    string(JSON mname GET "${record}" name)
    set("merged_${mname}" "${record}")
  endforeach()
  set(minimized 0)
  set(replay_command)
  foreach(k RANGE ${last})
    string(JSON whole GET "${whole_json}" scenarios ${k})
    string(JSON name GET "${whole}" name)
    hc_expect("${engine}: ${name} is in the merged summary" DEFINED "merged_${name}")
    set(merged "${merged_${name}}")
    foreach(field verdict as_expected executions exhausted partial)
      string(JSON w GET "${whole}" ${field})
      string(JSON m GET "${merged}" ${field})
      hc_expect("${engine}: ${name}: the merged ${field} (${m}) equals the unsharded run's (${w})"
                m STREQUAL w)
    endforeach()
    string(JSON wf LENGTH "${whole}" findings)
    string(JSON mf LENGTH "${merged}" findings)
    hc_expect("${engine}: ${name}: ${mf} merged findings, ${wf} unsharded" mf EQUAL wf)
    if(mf GREATER 0)
      math(EXPR last_finding "${mf} - 1")
      foreach(f RANGE ${last_finding})
        string(JSON file GET "${merged}" findings ${f} replay_file)
        string(JSON command GET "${merged}" findings ${f} replay_command)
        if(file STREQUAL "")
          continue()  # a finding without a schedule (unreached)
        endif()
        hc_expect("${engine}: ${name}: a relative replay file path ('${file}')"
                  file MATCHES "^[^/]")
        hc_expect("${engine}: ${name}: its replay file ${file} is where the merge ran"
                  EXISTS ${merge_dir}/${file})
        if(command MATCHES "\\.min\\.json$")
          math(EXPR minimized "${minimized} + 1")
          if(NOT replay_command)
            set(replay_command "${command}")
          endif()
        endif()
      endforeach()
    endif()
  endforeach()
  hc_expect("${engine}: minimisation is on (some replay command names a .min.json)"
            minimized GREATER 0)
  # A replay command of the merged summary runs as printed where the merge ran.
  hc_expect("${engine}: the command names handlecheck as the example called it: ${replay_command}"
            replay_command MATCHES "^handlecheck replay [^/]")
  execute_process(COMMAND sh -c "${replay_command}" WORKING_DIRECTORY ${merge_dir}
                  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
  hc_expect("${engine}: '${replay_command}' reproduces its finding: ${out}${err}" rc EQUAL 0)
endfunction()

check_example(kubernetes ${EXAMPLES}/kubernetes-job.yaml ${EXAMPLES}/kubernetes-merge.yaml)
# Task 0 runs a second time as Slurm runs a requeued task: it resumes from its checkpoint.
check_example(slurm ${EXAMPLES}/slurm-submit.sh --requeue 0)
check_example(github ${EXAMPLES}/github-actions.yml)
check_example(gitlab ${EXAMPLES}/gitlab-ci.yml)
file(GLOB task0_log ${WORK_DIR}/slurm/submit/slurm-*_0.out)
hc_expect("the log of Slurm task 0" task0_log)
file(READ ${task0_log} task0_log)
hc_expect("the requeued Slurm task resumed from its checkpoint: ${task0_log}"
          task0_log MATCHES "requeued \\(1\\): resuming from ckpt-0")

# The test can fail: without one shard the engine's merge step refuses the set.
execute_process(COMMAND ${PYTHON} ${ENGINES} github ${WORK_DIR}/github-missing
                        ${EXAMPLES}/github-actions.yml --leave-out 2
                OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
hc_expect("a set without shard 2 fails at the merge step: ${out}${err}" rc GREATER 0)
hc_expect("naming the missing shard: ${out}${err}" out MATCHES "shard 2 of 4 is missing")

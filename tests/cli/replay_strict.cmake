# Replay is strict: a replay file reproduces exactly its finding (kind, message, signature) by
# exactly its schedule, and a malformed or out-of-range file is exit 2 naming the field, never a
# crash, a truncated number or a silent other path.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
file(REMOVE_RECURSE ${WORK_DIR})
set(out_dir ${WORK_DIR}/out)
hc_run(out rc run engine/lost-update --no-minimize --out ${out_dir})
hc_expect("exit 0, got ${rc}" rc EQUAL 0)
file(GLOB files ${out_dir}/engine_lost-update.check-failure.*.json)
list(GET files 0 good)
file(READ ${good} text)

function(try_file name json expected_rc pattern)
  file(WRITE ${WORK_DIR}/${name}.json "${json}")
  hc_run(out rc replay ${WORK_DIR}/${name}.json)
  hc_expect("${name}: exit ${expected_rc}, got ${rc}: ${out}${hc_last_stderr}" rc EQUAL ${expected_rc})
  set(all "${out}${hc_last_stderr}")
  hc_expect("${name}: '${pattern}' in: ${all}" all MATCHES "${pattern}")
endfunction()

try_file(unchanged "${text}" 0 "REPRODUCED  engine/lost-update  check-failure")

string(JSON edited SET "${text}" finding message "\"counter is 7 after two increments\"")
try_file(other-message "${edited}" 1 "NOT REPRODUCED.*the file records \"counter is 7")

string(JSON length LENGTH "${text}" schedule)
math(EXPR last "${length} - 1")
string(JSON entry GET "${text}" schedule ${last})
string(JSON longer SET "${text}" schedule ${length} "${entry}")
try_file(unconsumed "${longer}" 2 "replay diverged")

string(JSON wrapped SET "${text}" schedule 0 step 4294967296)
try_file(wrapped-step "${wrapped}" 2 "schedule\\[0\\]\\.step must be a whole number from 0 to 4294967295")

string(JSON fractional SET "${text}" version 1.5)
try_file(fractional-version "${fractional}" 2 "version must be a whole number")

foreach(bad 0 false 1e30)
  string(JSON steps SET "${text}" options max_steps ${bad})
  try_file(max-steps-${bad} "${steps}" 2 "options\\.max_steps")
endforeach()

string(REPEAT "[" 100000 open)
string(REPEAT "]" 100000 close)
try_file(deep "{\"format\": \"handlecheck-replay\", \"version\": 1, \"scenario\": ${open}${close}}" 2
         "nest deeper than 64 levels")

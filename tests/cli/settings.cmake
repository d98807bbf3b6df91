# One list of settings, seen from the command line: every run-shaping flag given off its
# default reaches the replay file (which carries exactly those fields), and the README's
# strategy table is the strategy table (`handlecheck strategies --markdown`).
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
file(REMOVE_RECURSE ${WORK_DIR})

# flag;value;key in the replay file's "options";value recorded (flags without a value: "-")
set(settings
    "--strategy;random;strategy;random"
    "--seed;9;seed;9"
    "--preemption-bound;2;preemption_bound;2"
    "--max-steps;5000;max_steps;5000"
    "--max-executions;50;max_executions;50"
    "--spurious-wakeups;-;spurious_wakeups;ON"
    "--livelock-bound;30;livelock_bound;30"
    "--pct-depth;4;pct_depth;4"
    "--stack-size;512;stack_size;524288"
    "--no-guard-pages;-;guard_pages;OFF"
    "--watchdog;5;watchdog_seconds;5.0"
    "--keep-going;-;stop_at_first;OFF"
    "--time-budget;100;time_budget_seconds;100.0"
    "--split-depth;4;split_depth;4"
    "--unit-size;100;unit_size;100"
    "--audit-footprints;-;audit_footprints;ON"
    "--os-threads;-;os_threads;ON"
    "--fp-env-per-thread;-;fp_env_per_thread;ON")
set(args run engine/lost-update --no-minimize --out ${WORK_DIR}/out)
# (CMake lists do not nest: the rows above flatten into one list, read four at a time.)
set(flat ${settings})
list(LENGTH flat n)
math(EXPR rows "${n} / 4 - 1")
foreach(r RANGE ${rows})
  math(EXPR at "${r} * 4")
  list(GET flat ${at} flag)
  math(EXPR at "${at} + 1")
  list(GET flat ${at} value)
  list(APPEND args ${flag})
  if(NOT value STREQUAL "-")
    list(APPEND args ${value})
  endif()
endforeach()
hc_run(out rc ${args})
hc_expect("exit 0 with every setting flag (${rc}): ${out}${hc_last_stderr}" rc EQUAL 0)
file(GLOB files ${WORK_DIR}/out/*.json)
list(LENGTH files nfiles)
hc_expect("one replay file, got ${nfiles}: ${files}" nfiles EQUAL 1)
file(READ ${files} text)
string(JSON options GET "${text}" options)
string(JSON noptions LENGTH "${options}")
math(EXPR nflags "${rows} + 1")
hc_expect("the replay file carries exactly the ${nflags} settings, got ${noptions}: ${options}"
          noptions EQUAL nflags)
foreach(r RANGE ${rows})
  math(EXPR at "${r} * 4 + 2")
  list(GET flat ${at} key)
  math(EXPR at "${at} + 1")
  list(GET flat ${at} expected)
  string(JSON recorded GET "${options}" ${key})
  hc_expect("options.${key} = ${expected}, got ${recorded}" recorded STREQUAL expected)
endforeach()
# ... and replaying the file reproduces the finding with them.
hc_run(again rc replay ${files})
hc_expect("the replay file reproduces (exit ${rc}): ${again}${hc_last_stderr}" rc EQUAL 0)

# The README lists every strategy of the table, with its help line, verbatim.
hc_run(table rc strategies --markdown)
hc_expect("exit 0 from 'strategies --markdown'" rc EQUAL 0)
file(READ ${README} readme)
string(FIND "${readme}" "${table}" found)
hc_expect("README.md contains the output of 'handlecheck strategies --markdown':\n${table}"
          found GREATER -1)
string(REGEX MATCHALL "\n\\| `[a-z-]+` \\|" rows_in_table "${table}")
list(LENGTH rows_in_table strategies)
hc_expect("at least 7 strategies listed, got ${strategies}" strategies GREATER_EQUAL 7)

# Each flag of a pair ("--a,!--b") opens its --help line with what it does itself.
hc_run(help rc run --help)
hc_expect("exit 0 from 'run --help'" rc EQUAL 0)
hc_expect("--stop-at-first says what it does: ${help}" help MATCHES "\n  --stop-at-first +Stop at the first finding \\(the default\\). --keep-going: keep exploring")
hc_expect("--keep-going says what it does: ${help}" help MATCHES "\n  --keep-going +Keep exploring after findings and de-duplicate them. --stop-at-first: stop at the first finding")
hc_expect("--fibers says what it does: ${help}" help MATCHES "\n  --fibers +Run the simulated threads on fibers of one OS thread \\(the default for scenarios. native tests default to OS threads\\). --os-threads: run each simulated thread on an OS thread of its own")

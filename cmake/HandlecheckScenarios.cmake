# The ctest helpers of handlecheck, for its own tests and for any project using it: included by
# handlecheck's CMakeLists.txt (so a parent project that adds handlecheck with add_subdirectory
# or FetchContent has them) and by the package config (find_package(handlecheck)).
include_guard(GLOBAL)

# hc_add_scenarios(TARGET <exe> [LABELS <label>...] [ARGS <arg>...])
#
# Registers every scenario linked into <exe> (a handlecheck-style CLI) as a ctest test of its
# own, named "scenario:<name>", running `<exe> run <name> <args>`; it passes when the
# scenario's verdict (its kind, and its message for a finding) is the one it declares. ctest
# asks the built binary for its scenarios each time it runs (like gtest_discover_tests), so
# adding an HC_SCENARIO needs no CMake change.
function(hc_add_scenarios target)
  cmake_parse_arguments(PARSE_ARGV 1 HC "" "" "LABELS;ARGS")
  set(ctest_file "${CMAKE_CURRENT_BINARY_DIR}/${target}_scenarios.cmake")
  set(args "")
  foreach(arg IN LISTS HC_ARGS)
    string(APPEND args " [==[${arg}]==]")
  endforeach()
  file(WRITE "${ctest_file}.in" "
set(hc_exe [==[$<TARGET_FILE:${target}>]==])
if(EXISTS \"\${hc_exe}\")
  execute_process(COMMAND \"\${hc_exe}\" list --names-only
                  OUTPUT_VARIABLE hc_out RESULT_VARIABLE hc_rc)
  string(REPLACE \"\\n\" \";\" hc_scenarios \"\${hc_out}\")
endif()
if(NOT EXISTS \"\${hc_exe}\" OR NOT hc_rc EQUAL 0 OR hc_scenarios STREQUAL \"\")
  add_test(${target}_lists_no_scenarios ${target}_lists_no_scenarios)
else()
  foreach(hc_name IN LISTS hc_scenarios)
    if(hc_name STREQUAL \"\")
      continue()
    endif()
    add_test(\"scenario:\${hc_name}\" \"\${hc_exe}\" run \"\${hc_name}\" ${args})
    set_tests_properties(\"scenario:\${hc_name}\" PROPERTIES LABELS \"scenario;${HC_LABELS}\")
  endforeach()
endif()
")
  file(GENERATE OUTPUT "${ctest_file}" INPUT "${ctest_file}.in")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${ctest_file}")
endfunction()

# hc_add_repros(DIR [TARGET <exe>] [LABELS <label>...])
#
# Registers every replay file (*.json) in DIR as a ctest test "replay:<file name>" that runs
# `<exe> replay --quiet <file>` and passes when the file's finding is reproduced exactly: a
# divergence, another finding or none fails it. Add a file to the folder (and re-run CMake) to
# keep a reproducer forever. A replay file names its scenario, and only an executable with that
# scenario linked in can replay it: TARGET is your own executable (linking handlecheck::main)
# for files of your scenarios; the default, handlecheck::handlecheck, is the tool over the
# built-in catalogue.
function(hc_add_repros dir)
  cmake_parse_arguments(PARSE_ARGV 1 HC "" "TARGET" "LABELS")
  if(NOT HC_TARGET)
    set(HC_TARGET handlecheck::handlecheck)
  endif()
  if(NOT TARGET ${HC_TARGET})
    message(FATAL_ERROR
            "hc_add_repros(${dir}): there is no target ${HC_TARGET}. Pass TARGET <your executable> "
            "(one linking handlecheck::main with the scenarios the files name); "
            "handlecheck::handlecheck, the default, exists when handlecheck was built with "
            "HC_BUILD_SCENARIOS=ON (the default when it is the top-level project)")
  endif()
  file(GLOB files CONFIGURE_DEPENDS ${dir}/*.json)
  foreach(file IN LISTS files)
    get_filename_component(name ${file} NAME)
    string(REGEX REPLACE "\\.json$" "" name "${name}")
    add_test(NAME replay:${name} COMMAND $<TARGET_FILE:${HC_TARGET}> replay --quiet ${file})
    set_tests_properties(replay:${name} PROPERTIES LABELS "replay;${HC_LABELS}")
  endforeach()
endfunction()

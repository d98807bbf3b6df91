# hc_add_native_test: unmodified C++ code under handlecheck (handlecheck::native, experimental;
# README, "Unmodified C++ code").
include_guard(GLOBAL)

# hc_add_native_test(TARGET <exe> <source>... [LABELS <label>...] [ARGS <arg>...])
#
# Builds <exe> from the sources, which hold HC_NATIVE_TEST scenarios (hc/native.hpp) and the
# plain C++ they test: the sources are compiled with -fsanitize=thread (no libtsan is linked:
# handlecheck::native answers its calls), and <exe> links handlecheck::native and
# handlecheck::main, so it is a `handlecheck` over those scenarios (run, list, replay, ...).
# Every scenario becomes a ctest test "scenario:<name>" asserting its declared verdict (see
# hc_add_scenarios), labelled `native` and LABELS; ARGS go to each `run`.
function(hc_add_native_test target)
  cmake_parse_arguments(PARSE_ARGV 1 HC "" "" "LABELS;ARGS")
  if(NOT TARGET handlecheck::native)
    message(FATAL_ERROR "hc_add_native_test(${target}): handlecheck::native was not built "
                        "(it needs libdw: Debian package libdw-dev)")
  endif()
  add_executable(${target} ${HC_UNPARSED_ARGUMENTS})
  # -g: call sites are read from the debug information. Compile flags only: linking with
  # -fsanitize=thread would bring libtsan.
  target_compile_options(${target} PRIVATE -fsanitize=thread -g)
  target_link_libraries(${target} PRIVATE handlecheck::native handlecheck::main)
  hc_add_scenarios(${target} LABELS native ${HC_LABELS} ARGS ${HC_ARGS})
endfunction()

# hc_summary_test: golden tests of the machine outputs (JUnit XML, the JSON run summary) and
# of the merge of summaries. The goldens live in tests/reports/golden/; regenerate them with
#   HC_UPDATE_GOLDEN=1 build/tests/hc_summary_test
# and review the diff before committing it.
hc_add_unit_test(hc_summary_test reports/summary_test.cpp LABELS reports)
# JUnit is validated against a copy of Jenkins' junit-10.xsd with xmllint (Debian
# libxml2-utils, installed by quickstart); without it those tests fail saying so.
find_program(HC_XMLLINT NAMES xmllint DOC "xmllint (libxml2-utils), for hc_summary_test's JUnitSchema")
if(NOT HC_XMLLINT)
  message(STATUS "hc_summary_test: xmllint not found (Debian libxml2-utils); JUnitSchema.* will fail")
  set(HC_XMLLINT "")
endif()
target_compile_definitions(hc_summary_test
                           PRIVATE HC_GOLDEN_DIR="${CMAKE_CURRENT_SOURCE_DIR}/reports/golden"
                                   HC_XMLLINT="${HC_XMLLINT}"
                                   HC_JUNIT_XSD="${CMAKE_CURRENT_SOURCE_DIR}/reports/junit-10.xsd")
# The JUnit of real runs, validated the same way (tests/cli/junit.cmake).
hc_add_cli_test(junit junit.cmake -DXMLLINT=${HC_XMLLINT}
                -DXSD=${CMAKE_CURRENT_SOURCE_DIR}/reports/junit-10.xsd)

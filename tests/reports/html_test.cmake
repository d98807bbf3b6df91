# The HTML report's tests, included by tests/CMakeLists.txt.
#   hc_html_report_test    the report as text (labels unit, reports)
#   hc_html_chromium_test  the report in headless Chromium: the DOM after its script ran and a
#                          screenshot, in ${CMAKE_BINARY_DIR}/reports (labels reports, chromium).
#                          Needs /usr/bin/chromium (Debian package `chromium`); fails without it.
hc_add_unit_test(hc_html_report_test ${CMAKE_CURRENT_LIST_DIR}/html_report_test.cpp LABELS reports)

add_executable(hc_html_chromium_test ${CMAKE_CURRENT_LIST_DIR}/html_chromium_test.cpp
                                     $<TARGET_OBJECTS:handlecheck_scenarios>)
target_link_libraries(hc_html_chromium_test PRIVATE handlecheck::harness handlecheck::models
                                                    handlecheck::reports GTest::gtest
                                                    GTest::gtest_main)
target_include_directories(hc_html_chromium_test PRIVATE ${PROJECT_SOURCE_DIR}/tests)
target_compile_definitions(hc_html_chromium_test
                           PRIVATE HC_HTML_OUT_DIR="${CMAKE_BINARY_DIR}/reports")
hc_set_warnings(hc_html_chromium_test)
# Labels are set by a ctest include script that runs after the discovered tests exist:
# gtest_discover_tests(PROPERTIES LABELS "a;b") splits the list into separate arguments.
gtest_discover_tests(hc_html_chromium_test PROPERTIES TIMEOUT 180 DISCOVERY_TIMEOUT 60)
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/hc_html_chromium_test_labels.cmake
     "if(hc_html_chromium_test_TESTS)\n"
     "  set_tests_properties(\${hc_html_chromium_test_TESTS} PROPERTIES LABELS \"reports;chromium\")\n"
     "endif()\n")
set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES
             ${CMAKE_CURRENT_BINARY_DIR}/hc_html_chromium_test_labels.cmake)

# The GoogleTest helpers (hc/gtest.hpp) as a user meets them: hc_gtest_user_test is a user's
# test file that fails on purpose (not a ctest test itself); gtest:replay-from-elsewhere runs it
# and pastes its printed replay command into a shell in another directory
# (tests/gtest/replay_from_elsewhere.cmake). The helpers' own unit tests are
# tests/unit/gtest_helpers_test.cpp.
add_executable(hc_gtest_user_test ${CMAKE_CURRENT_SOURCE_DIR}/gtest/user_wrapper_test.cpp)
target_link_libraries(hc_gtest_user_test PRIVATE handlecheck::harness handlecheck::reports
                                                 GTest::gtest GTest::gtest_main)
hc_set_warnings(hc_gtest_user_test)
add_test(NAME gtest:replay-from-elsewhere
         COMMAND ${CMAKE_COMMAND} -DTEST_BINARY=$<TARGET_FILE:hc_gtest_user_test>
                 -DSOURCE=${CMAKE_CURRENT_SOURCE_DIR}/gtest/user_wrapper_test.cpp
                 -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/gtest/replay-from-elsewhere
                 -P ${CMAKE_CURRENT_SOURCE_DIR}/gtest/replay_from_elsewhere.cmake)
set_tests_properties(gtest:replay-from-elsewhere PROPERTIES LABELS "unit;gtest"
                     ENVIRONMENT ${hc_audit_env})

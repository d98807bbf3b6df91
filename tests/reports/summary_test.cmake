# hc_summary_test: golden tests of the machine outputs (JUnit XML, the JSON run summary) and
# of the merge of summaries. The goldens live in tests/reports/golden/; regenerate them with
#   HC_UPDATE_GOLDEN=1 build/tests/hc_summary_test
# and review the diff before committing it.
hc_add_unit_test(hc_summary_test reports/summary_test.cpp LABELS reports)
target_compile_definitions(hc_summary_test
                           PRIVATE HC_GOLDEN_DIR="${CMAKE_CURRENT_SOURCE_DIR}/reports/golden")

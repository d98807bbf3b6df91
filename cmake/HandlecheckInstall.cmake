# Install rules and the package config: `cmake --install` puts the public headers, the
# libraries, the `handlecheck` tool and handlecheckConfig.cmake under the prefix, so another
# project can do find_package(handlecheck) and get handlecheck::harness, ::models, ::reports,
# ::main and the CMake functions hc_add_scenarios() and hc_add_repros().
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(hc_config_dir ${CMAKE_INSTALL_LIBDIR}/cmake/handlecheck)

install(TARGETS handlecheck_harness handlecheck_models handlecheck_reports handlecheck_main
        EXPORT handlecheckTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(TARGET handlecheck)
  install(TARGETS handlecheck RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
install(DIRECTORY ${PROJECT_SOURCE_DIR}/harness/include/ ${PROJECT_SOURCE_DIR}/models/include/
                  ${PROJECT_SOURCE_DIR}/reports/include/
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT handlecheckTargets NAMESPACE handlecheck:: DESTINATION ${hc_config_dir})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/handlecheckConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/handlecheckConfig.cmake
                              INSTALL_DESTINATION ${hc_config_dir})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/handlecheckConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/handlecheckConfig.cmake
              ${PROJECT_BINARY_DIR}/handlecheckConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/HandlecheckScenarios.cmake
        DESTINATION ${hc_config_dir})

# Install rules, the package config and the build tree's export. `cmake --install` puts the
# public headers, the libraries, the `handlecheck` tool and handlecheckConfig.cmake under the
# prefix; the build tree gets a handlecheckConfig.cmake of its own. Either way another project
# does find_package(handlecheck) (CMAKE_PREFIX_PATH=<prefix>, or handlecheck_DIR=<build tree>)
# and gets handlecheck::harness, ::models, ::reports, ::main, the tool handlecheck::handlecheck
# (when the catalogue is built, HC_BUILD_SCENARIOS) and the functions hc_add_scenarios() and
# hc_add_repros(); when handlecheck::native is built (libdw), also handlecheck::native, its header
# hc/native.hpp and hc_add_native_test().
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(hc_config_dir ${CMAKE_INSTALL_LIBDIR}/cmake/handlecheck)
set(hc_exported handlecheck_harness handlecheck_models handlecheck_reports handlecheck_main)
if(TARGET handlecheck)
  list(APPEND hc_exported handlecheck)  # exported as handlecheck::handlecheck
endif()

set(hc_include_dirs ${PROJECT_SOURCE_DIR}/harness/include/ ${PROJECT_SOURCE_DIR}/models/include/
                    ${PROJECT_SOURCE_DIR}/reports/include/)
set(hc_cmake_files ${PROJECT_SOURCE_DIR}/cmake/HandlecheckScenarios.cmake)
# handlecheck::native is an OBJECT library (native/CMakeLists.txt says why): its objects are
# installed, and a consumer that links handlecheck::native links them into its executable.
if(TARGET handlecheck_native)
  list(APPEND hc_exported handlecheck_native)
  list(APPEND hc_include_dirs ${PROJECT_SOURCE_DIR}/native/include/)
  list(APPEND hc_cmake_files ${PROJECT_SOURCE_DIR}/cmake/HandlecheckNative.cmake)
endif()

install(TARGETS ${hc_exported}
        EXPORT handlecheckTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        OBJECTS DESTINATION ${CMAKE_INSTALL_LIBDIR}/handlecheck
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${hc_include_dirs} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT handlecheckTargets NAMESPACE handlecheck:: DESTINATION ${hc_config_dir})

# The same config file serves both trees: it finds the dependencies, then includes the targets
# file and HandlecheckScenarios.cmake from its own directory.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/handlecheckConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_SOURCE_DIR}/cmake/handlecheckConfig.cmake
              ${PROJECT_BINARY_DIR}/handlecheckConfigVersion.cmake ${hc_cmake_files}
        DESTINATION ${hc_config_dir})

# The build tree as a package (fmt's habit): handlecheck_DIR=<build dir> uses the libraries and
# the tool where they were built, with the headers in the source tree.
export(EXPORT handlecheckTargets NAMESPACE handlecheck::
       FILE ${PROJECT_BINARY_DIR}/handlecheckTargets.cmake)
configure_file(${PROJECT_SOURCE_DIR}/cmake/handlecheckConfig.cmake
               ${PROJECT_BINARY_DIR}/handlecheckConfig.cmake COPYONLY)
foreach(file IN LISTS hc_cmake_files)
  get_filename_component(name ${file} NAME)
  configure_file(${file} ${PROJECT_BINARY_DIR}/${name} COPYONLY)
endforeach()
if(NOT TARGET handlecheck_native)
  file(REMOVE ${PROJECT_BINARY_DIR}/HandlecheckNative.cmake)  # from a configure that had libdw
endif()

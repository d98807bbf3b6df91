# Relacy (https://github.com/dvyukov/relacy), header-only, from the Debian package relacy-dev.
# Defines handlecheck_relacy: an interface target with Relacy's include directory (as a system
# directory: its headers are not ours to warn about) and -fno-sized-deallocation, without which
# Relacy's replacement of the global operator delete and g++ 12's sized deallocation corrupt the
# heap. Relacy code stays out of handlecheck's libraries: only the targets that link this do.
include_guard(GLOBAL)

find_path(RELACY_INCLUDE_DIR relacy/relacy.hpp DOC "Directory containing relacy/relacy.hpp")
if(NOT RELACY_INCLUDE_DIR)
  message(FATAL_ERROR
          "Relacy not found (relacy/relacy.hpp): install the Debian package relacy-dev "
          "(apt-get install relacy-dev; ./quickstart installs it), or set RELACY_INCLUDE_DIR.")
endif()

add_library(handlecheck_relacy INTERFACE)
target_include_directories(handlecheck_relacy SYSTEM INTERFACE ${RELACY_INCLUDE_DIR})
# The platform and protocol headers shared by the Relacy tests and the head-to-head benchmark.
target_include_directories(handlecheck_relacy INTERFACE ${PROJECT_SOURCE_DIR}/tests/relacy)
target_compile_options(handlecheck_relacy INTERFACE -fno-sized-deallocation)
target_link_libraries(handlecheck_relacy INTERFACE handlecheck::harness handlecheck::models)

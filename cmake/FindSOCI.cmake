# Debian's libsoci-dev ships no CMake config: find the core and PostgreSQL backend by hand.
# The backend header includes <libpq-fe.h>, so libpq's include directory is part of the target.
find_path(SOCI_INCLUDE_DIR soci/soci.h)
find_path(PQ_INCLUDE_DIR libpq-fe.h PATH_SUFFIXES postgresql)
find_library(SOCI_CORE_LIBRARY soci_core)
find_library(SOCI_POSTGRESQL_LIBRARY soci_postgresql)
find_library(PQ_LIBRARY pq)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(SOCI REQUIRED_VARS SOCI_INCLUDE_DIR PQ_INCLUDE_DIR SOCI_CORE_LIBRARY
                                  SOCI_POSTGRESQL_LIBRARY PQ_LIBRARY)

if(SOCI_FOUND AND NOT TARGET SOCI::postgresql)
  add_library(SOCI::postgresql INTERFACE IMPORTED)
  set_target_properties(SOCI::postgresql PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${SOCI_INCLUDE_DIR};${PQ_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "${SOCI_POSTGRESQL_LIBRARY};${SOCI_CORE_LIBRARY};${PQ_LIBRARY};${CMAKE_DL_LIBS}")
endif()

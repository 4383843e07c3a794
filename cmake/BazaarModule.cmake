# bazaar_add_module(<name> DEPENDS <modules...> CONSUMES <modules...> SOURCES <files...> TESTS <files...>)
#
# Creates, for module <name> living in modules/<name>/:
#   <name>_api       INTERFACE: modules/<name>/include, the module's whole public face
#   bazaar_<name>    STATIC: links the platform and the _api targets of DEPENDS and CONSUMES, nothing else
#   <name>_tests     OBJECT: the module's doctest files (OBJECT so registrations survive linking)
# and records the allowed dependencies in one table that the architecture test reads.
set_property(GLOBAL PROPERTY BAZAAR_MODULES "")

function(bazaar_add_module name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "DEPENDS;CONSUMES;SOURCES;TESTS")
  set(dir "${CMAKE_CURRENT_SOURCE_DIR}")

  add_library(${name}_api INTERFACE)
  target_include_directories(${name}_api INTERFACE "${dir}/include")
  target_link_libraries(${name}_api INTERFACE bazaar_platform_api)

  add_library(bazaar_${name} STATIC ${arg_SOURCES})
  target_include_directories(bazaar_${name} PRIVATE "${dir}/src")
  target_link_libraries(bazaar_${name} PUBLIC ${name}_api PRIVATE bazaar_platform)
  foreach(other IN LISTS arg_DEPENDS arg_CONSUMES)
    if(NOT TARGET ${other}_api)
      message(FATAL_ERROR "module ${name}: depends on '${other}', which is not a module declared before it")
    endif()
    target_link_libraries(bazaar_${name} PRIVATE ${other}_api)
  endforeach()
  target_precompile_headers(bazaar_${name} REUSE_FROM bazaar_platform)

  if(arg_TESTS)
    add_library(${name}_tests OBJECT ${arg_TESTS})
    # src/ for the composition root (app/composition.hpp), which tests/support/test_env.hpp includes.
    target_include_directories(${name}_tests PRIVATE "${dir}/src" "${PROJECT_SOURCE_DIR}/tests" "${PROJECT_SOURCE_DIR}/src")
    target_link_libraries(${name}_tests PRIVATE bazaar_${name} bazaar_platform bazaar_test_support_api)
    foreach(other IN LISTS arg_DEPENDS arg_CONSUMES)
      target_link_libraries(${name}_tests PRIVATE ${other}_api)
    endforeach()
    target_precompile_headers(${name}_tests REUSE_FROM bazaar_platform)
    set_property(GLOBAL APPEND PROPERTY BAZAAR_TEST_OBJECTS ${name}_tests)
  endif()

  set_property(GLOBAL APPEND PROPERTY BAZAAR_MODULES ${name})
  set_property(GLOBAL PROPERTY BAZAAR_DEPS_${name} "${arg_DEPENDS}")
  set_property(GLOBAL PROPERTY BAZAAR_CONSUMES_${name} "${arg_CONSUMES}")
  set_property(GLOBAL APPEND PROPERTY BAZAAR_MODULE_TARGETS bazaar_${name})
endfunction()

# Configure-time link check: every module target may link only the platform and the _api targets it
# declared. A hand-added target_link_libraries() elsewhere fails the configure step.
function(bazaar_check_module_links)
  get_property(modules GLOBAL PROPERTY BAZAAR_MODULES)
  foreach(name IN LISTS modules)
    get_property(deps GLOBAL PROPERTY BAZAAR_DEPS_${name})
    get_property(consumes GLOBAL PROPERTY BAZAAR_CONSUMES_${name})
    set(allowed ${name}_api bazaar_platform bazaar_platform_api)
    foreach(other IN LISTS deps consumes)
      list(APPEND allowed ${other}_api)
    endforeach()
    get_target_property(links bazaar_${name} LINK_LIBRARIES)
    foreach(link IN LISTS links)
      string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" link "${link}")
      if(NOT link IN_LIST allowed)
        message(FATAL_ERROR "module ${name} links '${link}', which DESIGN.md rule 2 forbids "
                            "(allowed: ${allowed})")
      endif()
    endforeach()
  endforeach()
endfunction()

# One line per module: "<name>: depends=<a,b> consumes=<c>" — read by tests/architecture.
function(bazaar_write_dependency_table file)
  bazaar_check_module_links()
  get_property(modules GLOBAL PROPERTY BAZAAR_MODULES)
  set(text "")
  foreach(name IN LISTS modules)
    get_property(deps GLOBAL PROPERTY BAZAAR_DEPS_${name})
    get_property(consumes GLOBAL PROPERTY BAZAAR_CONSUMES_${name})
    string(REPLACE ";" "," deps "${deps}")
    string(REPLACE ";" "," consumes "${consumes}")
    string(APPEND text "${name}: depends=${deps} consumes=${consumes}\n")
  endforeach()
  file(WRITE "${file}" "${text}")
endfunction()

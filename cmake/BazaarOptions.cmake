# Compiler settings shared by every target: warnings, sanitizers, fast linking, compiler cache.
option(BAZAAR_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)

add_compile_options(-Wall -Wextra -Wpedantic)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  # GCC 12 false positives at -O2: Asio's awaitable frame allocator pairs its own operator new/delete
  # (-Wmismatched-new-delete), and std::string's small-buffer memcpy (-Warray-bounds, GCC bug 105705).
  add_compile_options(-Wno-mismatched-new-delete -Wno-array-bounds)
endif()

if(BAZAAR_SANITIZE)
  # vptr checks need the typeinfo of SOCI's classes, which Debian's shared libraries do not export.
  add_compile_options(-fsanitize=address,undefined -fno-sanitize=vptr -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined -fno-sanitize=vptr)
endif()

# lld links the test binary several times faster than ld.bfd.
find_program(LLD_PROGRAM ld.lld)
if(LLD_PROGRAM)
  add_link_options(-fuse-ld=lld)
endif()

# ccache: the sloppiness settings make precompiled-header compiles cacheable (STYLE.md §9).
find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM)
  set(CMAKE_CXX_COMPILER_LAUNCHER
      ${CMAKE_COMMAND} -E env "CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime"
      ${CCACHE_PROGRAM})
endif()

# Installs the built tree into a scratch prefix, then uses it as a downstream
# project would:
#   1. the installed headers are exactly cmake/RewindPublicHeaders.cmake's lists
#      (no internal header such as autograd/op_support.hpp or dist/mpi_type.hpp:
#      every installed header is on a public list, every listed one installed),
#      and each includes only installed headers;
#   2. find_package(rewind <major.minor> CONFIG) configures, builds and runs a
#      program including <rewind/rewind.hpp>; a newer minor or major version
#      request fails to configure;
#   3. `pkg-config --cflags --libs rewind` compiles and links the same program.
# Arguments: SOURCE_DIR, BINARY_DIR, WORK_DIR, VERSION (the project's), CXX.
function(fail what)
  message(FATAL_ERROR "install_consumer: ${what}")
endfunction()
function(run_consumer program)
  execute_process(COMMAND ${program} RESULT_VARIABLE rc OUTPUT_VARIABLE out)
  message("${program}: ${out}")
  if(rc OR NOT out MATCHES "gradient 6")
    fail("${program} did not print the expected gradient")
  endif()
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BINARY_DIR} --prefix ${prefix}
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(rc)
  fail("cmake --install failed")
endif()

# 1. The public headers, and nothing else.
include(${SOURCE_DIR}/cmake/RewindPublicHeaders.cmake)
file(GLOB_RECURSE installed RELATIVE ${prefix}/include/rewind ${prefix}/include/rewind/*)
set(expected ${REWIND_PUBLIC_HEADERS})
if(EXISTS ${prefix}/include/rewind/dist)  # the optional MPI component, when it was built
  list(APPEND expected ${REWIND_DIST_PUBLIC_HEADERS})
endif()
list(SORT installed)
list(SORT expected)
if(NOT installed STREQUAL expected)
  fail("installed headers differ from cmake/RewindPublicHeaders.cmake:\n  installed: ${installed}\n  listed:    ${expected}")
endif()
foreach(header ${installed})
  get_filename_component(dir ${prefix}/include/rewind/${header} DIRECTORY)
  file(STRINGS ${prefix}/include/rewind/${header} includes REGEX "^#include \"")
  foreach(line ${includes})
    string(REGEX REPLACE "^#include \"([^\"]+)\".*" "\\1" included "${line}")
    if(NOT EXISTS ${dir}/${included})
      fail("public header ${header} includes \"${included}\", which is not installed (not public)")
    endif()
  endforeach()
endforeach()

# 2. find_package with version requests.
string(REGEX MATCH "^([0-9]+)\\.([0-9]+)" _ "${VERSION}")
set(major ${CMAKE_MATCH_1})
set(minor ${CMAKE_MATCH_2})
math(EXPR next_minor "${minor} + 1")
math(EXPR next_major "${major} + 1")
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/install_consumer -B ${WORK_DIR}/build
                        -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release -DREWIND_REQUEST=${major}.${minor}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out)
if(rc OR NOT out MATCHES "found rewind ${VERSION}")
  fail("find_package(rewind ${major}.${minor} CONFIG) failed:\n${out}")
endif()
if(NOT out MATCHES "rewind did not look for MPI")
  fail("find_package(rewind) without COMPONENTS dist looked for MPI:\n${out}")
endif()
# COMPONENTS dist: found (MPI looked for) when rewind::dist was installed, else a configure error.
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/install_consumer -B ${WORK_DIR}/build-dist
                        -DCMAKE_PREFIX_PATH=${prefix} -DREWIND_COMPONENTS=dist
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(EXISTS ${prefix}/include/rewind/dist)
  if(rc OR NOT out MATCHES "rewind::dist found" OR NOT out MATCHES "rewind looked for MPI")
    fail("find_package(rewind CONFIG COMPONENTS dist) failed:\n${out}${err}")
  endif()
elseif(NOT rc)
  fail("find_package(rewind CONFIG COMPONENTS dist) should fail without rewind::dist installed:\n${out}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build RESULT_VARIABLE rc)
if(rc)
  fail("building the find_package consumer failed")
endif()
run_consumer(${WORK_DIR}/build/consumer)
foreach(request ${major}.${next_minor} ${next_major}.0)
  execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/install_consumer -B ${WORK_DIR}/build-${request}
                          -DCMAKE_PREFIX_PATH=${prefix} -DREWIND_REQUEST=${request}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc OR NOT err MATCHES "version: ${VERSION}")
    fail("find_package(rewind ${request} CONFIG) should fail against ${VERSION}:\n${out}${err}")
  endif()
  message("find_package(rewind ${request} CONFIG) refused, as it should: installed ${VERSION}")
endforeach()

# 3. pkg-config.
file(GLOB pc_dirs ${prefix}/lib*/pkgconfig ${prefix}/lib/*/pkgconfig)
string(REPLACE ";" ":" pc_path "${pc_dirs}")
set(ENV{PKG_CONFIG_PATH} "${pc_path}")
execute_process(COMMAND pkg-config --modversion rewind RESULT_VARIABLE rc OUTPUT_VARIABLE pc_version
                OUTPUT_STRIP_TRAILING_WHITESPACE)
if(rc OR NOT pc_version STREQUAL VERSION)
  fail("pkg-config --modversion rewind: '${pc_version}', expected ${VERSION}")
endif()
execute_process(COMMAND pkg-config --cflags --libs rewind RESULT_VARIABLE rc OUTPUT_VARIABLE flags
                OUTPUT_STRIP_TRAILING_WHITESPACE)
if(rc)
  fail("pkg-config --cflags --libs rewind failed")
endif()
message("pkg-config --cflags --libs rewind: ${flags}")
separate_arguments(flags UNIX_COMMAND "${flags}")
execute_process(COMMAND ${CXX} -std=c++20 ${SOURCE_DIR}/tests/install_consumer/main.cpp ${flags}
                        -o ${WORK_DIR}/pkgconfig_consumer
                RESULT_VARIABLE rc)
if(rc)
  fail("compiling with pkg-config's flags failed")
endif()
run_consumer(${WORK_DIR}/pkgconfig_consumer)

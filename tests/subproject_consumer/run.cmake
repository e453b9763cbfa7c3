# Builds tests/subproject_consumer, which includes Rewind's source tree first
# with add_subdirectory, then (same build directory, so the library is not
# compiled twice) with FetchContent from the local path, and runs the program
# each time. Unoptimised (-O0): this checks the build, not the speed.
# Arguments: SOURCE_DIR, WORK_DIR, LAUNCHER (a compiler launcher such as ccache, or empty).
file(REMOVE_RECURSE ${WORK_DIR})
foreach(how add_subdirectory FetchContent)
  execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/subproject_consumer -B ${WORK_DIR}
                          -DREWIND_SOURCE_DIR=${SOURCE_DIR} -DHOW=${how}
                          -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-O0
                          -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(rc OR NOT out MATCHES "as a subproject via ${how}")
    message(FATAL_ERROR "subproject_consumer: configuring with ${how} failed:\n${out}${err}")
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR} --parallel 2 RESULT_VARIABLE rc OUTPUT_QUIET)
  if(rc)
    message(FATAL_ERROR "subproject_consumer: building with ${how} failed")
  endif()
  execute_process(COMMAND ${WORK_DIR}/consumer RESULT_VARIABLE rc OUTPUT_VARIABLE out)
  message("${how}: ${out}")
  if(rc OR NOT out MATCHES "gradient 6")
    message(FATAL_ERROR "subproject_consumer: the program built with ${how} did not print the expected gradient")
  endif()
endforeach()

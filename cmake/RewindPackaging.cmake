# Installing Rewind the ways a C++ user expects:
#   - the public headers (cmake/RewindPublicHeaders.cmake) under include/rewind,
#     the library, and the `rewind` program when it is built;
#   - a CMake package: find_package(rewind 0.2 CONFIG) -> rewind::rewind
#     (0.x: a request for another minor version fails, as semver says);
#   - a pkg-config file: pkg-config --cflags --libs rewind;
#   - a Debian package: cpack -G DEB (after a build).
include(CMakePackageConfigHelpers)
include(RewindPublicHeaders)
set(REWIND_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/rewind)

foreach(header ${REWIND_PUBLIC_HEADERS})
  get_filename_component(dir ${header} DIRECTORY)
  install(FILES ${PROJECT_SOURCE_DIR}/${header} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/rewind/${dir})
endforeach()
install(TARGETS rewind EXPORT rewindTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
if(TARGET rewind_app)
  install(TARGETS rewind_app RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

# CMake package config and version.
install(EXPORT rewindTargets NAMESPACE rewind:: DESTINATION ${REWIND_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/rewindConfig.cmake.in
  ${PROJECT_BINARY_DIR}/rewindConfig.cmake
  INSTALL_DESTINATION ${REWIND_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/rewindConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/rewindConfig.cmake ${PROJECT_BINARY_DIR}/rewindConfigVersion.cmake
        DESTINATION ${REWIND_CMAKE_DIR})

# pkg-config. The prefix is found from the .pc file's own place, so the file
# stays right wherever the tree is installed (--prefix, DESTDIR, the .deb).
# A static librewind.a needs OpenBLAS and libzip on the link line itself; a
# shared one only privately.
file(RELATIVE_PATH REWIND_PC_TO_PREFIX /root/${CMAKE_INSTALL_LIBDIR}/pkgconfig /root)
string(REGEX REPLACE "/$" "" REWIND_PC_TO_PREFIX "${REWIND_PC_TO_PREFIX}")
if(BUILD_SHARED_LIBS)
  set(REWIND_PC_REQUIRES "xtensor xsimd xtl")
  set(REWIND_PC_REQUIRES_PRIVATE "\nRequires.private: openblas libzip")
else()
  set(REWIND_PC_REQUIRES "xtensor xsimd xtl openblas libzip")
  if(REWIND_WITH_LIBXSMM)
    set(REWIND_PC_REQUIRES "xtensor xsimd xtl libxsmm openblas libzip")
  endif()
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/rewind.pc.in ${PROJECT_BINARY_DIR}/rewind.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/rewind.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# Debian package: headers, library, CMake and pkg-config files, the program.
set(CPACK_PACKAGE_NAME rewind)
set(CPACK_PACKAGE_VENDOR "Rewind")
set(CPACK_PACKAGE_CONTACT "Rewind maintainers <rewind@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
# What a program built against the headers and librewind.a needs.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libxtensor-dev, libxsimd-dev, xtl-dev, libopenblas-dev, libzip-dev")
if(REWIND_WITH_LIBXSMM)
  string(APPEND CPACK_DEBIAN_PACKAGE_DEPENDS ", libxsmm-dev")
endif()
find_program(REWIND_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(REWIND_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # adds what the `rewind` program links (libfmt, ...)
endif()
if(PROJECT_IS_TOP_LEVEL)  # a parent project's own CPack settings win
  include(CPack)
endif()

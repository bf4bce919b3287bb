# Finds libzmq, msgpack-c and TurboJPEG as the targets facecast::zmq, facecast::msgpack and
# facecast::turbojpeg: a package's CMake config where it ships one (vcpkg, Homebrew, Debian for
# msgpack and libjpeg-turbo), else pkg-config.
# SPDX-License-Identifier: GPL-2.0-or-later

find_package(PkgConfig QUIET)

function(facecast_pkg target pc_names)
  if(NOT PKG_CONFIG_FOUND)
    message(FATAL_ERROR "facecast: ${target} not found as a CMake package and pkg-config is missing; "
                        "install it (vcpkg: zeromq msgpack-c libjpeg-turbo pkgconf)")
  endif()
  pkg_search_module(FC_${target} REQUIRED IMPORTED_TARGET ${pc_names})
  add_library(facecast::${target} INTERFACE IMPORTED GLOBAL)
  target_link_libraries(facecast::${target} INTERFACE PkgConfig::FC_${target})
endfunction()

# libzmq
find_package(ZeroMQ CONFIG QUIET)
if(TARGET libzmq)
  add_library(facecast::zmq INTERFACE IMPORTED GLOBAL)
  target_link_libraries(facecast::zmq INTERFACE libzmq)
elseif(TARGET libzmq-static)
  add_library(facecast::zmq INTERFACE IMPORTED GLOBAL)
  target_link_libraries(facecast::zmq INTERFACE libzmq-static)
else()
  facecast_pkg(zmq libzmq)
endif()

# msgpack-c: 6.x names its package msgpack-c, 4.x msgpack (target msgpackc)
find_package(msgpack-c CONFIG QUIET)
if(NOT TARGET msgpack-c)
  find_package(msgpack CONFIG QUIET)
endif()
if(TARGET msgpack-c)
  add_library(facecast::msgpack INTERFACE IMPORTED GLOBAL)
  target_link_libraries(facecast::msgpack INTERFACE msgpack-c)
elseif(TARGET msgpackc)
  add_library(facecast::msgpack INTERFACE IMPORTED GLOBAL)
  target_link_libraries(facecast::msgpack INTERFACE msgpackc)
else()
  facecast_pkg(msgpack "msgpack-c;msgpack")
endif()

# TurboJPEG (libjpeg-turbo's simple API)
find_package(libjpeg-turbo CONFIG QUIET)
if(TARGET libjpeg-turbo::turbojpeg)
  add_library(facecast::turbojpeg INTERFACE IMPORTED GLOBAL)
  target_link_libraries(facecast::turbojpeg INTERFACE libjpeg-turbo::turbojpeg)
elseif(TARGET libjpeg-turbo::turbojpeg-static)
  add_library(facecast::turbojpeg INTERFACE IMPORTED GLOBAL)
  target_link_libraries(facecast::turbojpeg INTERFACE libjpeg-turbo::turbojpeg-static)
else()
  facecast_pkg(turbojpeg libturbojpeg)
endif()

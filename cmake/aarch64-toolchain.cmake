# Cross-compiling tinyq for aarch64 (ARMv8) Linux with Debian's g++-aarch64-linux-gnu. The
# compiler brings libc and libstdc++; every other library comes from the sysroot of extracted arm64
# .debs that scripts/setup-aarch64-sysroot.sh makes. Programs run under qemu-aarch64 through
# scripts/run-aarch64 (the emulator for gtest discovery and ctest).
# The sysroot is $TINYQ_AARCH64_SYSROOT, else build-aarch64-sysroot/ in the repository; it is read
# from the environment because CMake re-reads this file for every try_compile.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

if(DEFINED ENV{TINYQ_AARCH64_SYSROOT})
  set(_tinyq_sysroot "$ENV{TINYQ_AARCH64_SYSROOT}")
else()
  set(_tinyq_sysroot "${CMAKE_CURRENT_LIST_DIR}/../build-aarch64-sysroot")
endif()
get_filename_component(_tinyq_sysroot "${_tinyq_sysroot}" ABSOLUTE)
if(NOT EXISTS "${_tinyq_sysroot}/usr/include/onnx")
  message(FATAL_ERROR "no aarch64 sysroot at ${_tinyq_sysroot}: run scripts/setup-aarch64-sysroot.sh")
endif()

# Libraries, headers and package configs only from the sysroot; programs (protoc) from the host.
set(CMAKE_FIND_ROOT_PATH "${_tinyq_sysroot}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(ENV{PKG_CONFIG_LIBDIR} "${_tinyq_sysroot}/usr/lib/aarch64-linux-gnu/pkgconfig:${_tinyq_sysroot}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${_tinyq_sysroot}")

# The sysroot is not a full --sysroot (libc stays the toolchain's), so its include and library
# folders are added the way a native compiler's defaults would be: the multiarch folder
# (openssl/configuration.h lives there), /usr/include, and -rpath-link so the linker resolves the
# libraries' own dependencies (libonnx -> libprotobuf, libXNNPACK -> libcpuinfo).
set(_tinyq_libdirs "${_tinyq_sysroot}/usr/lib/aarch64-linux-gnu" "${_tinyq_sysroot}/lib/aarch64-linux-gnu")
set(CMAKE_C_FLAGS_INIT "-isystem ${_tinyq_sysroot}/usr/include/aarch64-linux-gnu -isystem ${_tinyq_sysroot}/usr/include")
set(CMAKE_CXX_FLAGS_INIT "${CMAKE_C_FLAGS_INIT}")
foreach(_dir IN LISTS _tinyq_libdirs)
  foreach(_kind EXE SHARED MODULE)
    string(APPEND CMAKE_${_kind}_LINKER_FLAGS_INIT " -L${_dir} -Wl,-rpath-link,${_dir}")
  endforeach()
endforeach()

get_filename_component(_tinyq_run "${CMAKE_CURRENT_LIST_DIR}/../scripts/run-aarch64" ABSOLUTE)
set(CMAKE_CROSSCOMPILING_EMULATOR "${_tinyq_run};--exec")

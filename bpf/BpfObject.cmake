# netobs_bpf_object(<name> SOURCE <file.bpf.c> [INCLUDES dir...])
#
# Compiles a BPF C source into <build>/bpf/<name>.bpf.o with clang -target bpf
# and generates its libbpf skeleton <build>/bpf/<name>.skel.h with bpftool.
# Creates the INTERFACE target netobs_bpf_<name>: link it and
# `#include "<name>.skel.h"`. Generated files never live in git.
find_program(NETOBS_CLANG NAMES clang REQUIRED)
find_program(NETOBS_BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)
find_program(NETOBS_LLVM_STRIP NAMES llvm-strip REQUIRED)

# vmlinux.h policy: pinned per architecture in bpf/vmlinux/<arch>/ (see
# bpf/vmlinux/README.md), so a build never depends on the running kernel.
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  set(NETOBS_BPF_ARCH x86_64)
  set(NETOBS_BPF_TARGET_ARCH x86)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  set(NETOBS_BPF_ARCH aarch64)
  set(NETOBS_BPF_TARGET_ARCH arm64)
else()
  message(FATAL_ERROR "no pinned vmlinux.h for ${CMAKE_SYSTEM_PROCESSOR}: add bpf/vmlinux/<arch>/")
endif()
set(NETOBS_VMLINUX_DIR ${CMAKE_SOURCE_DIR}/bpf/vmlinux/${NETOBS_BPF_ARCH})
if(NOT EXISTS ${NETOBS_VMLINUX_DIR}/vmlinux.h)
  message(FATAL_ERROR "missing ${NETOBS_VMLINUX_DIR}/vmlinux.h: run bpf/vmlinux/update.sh on a ${NETOBS_BPF_ARCH} machine")
endif()

function(netobs_bpf_object name)
  cmake_parse_arguments(ARG "" "SOURCE" "INCLUDES;DEPENDS" ${ARGN})
  set(out_dir ${CMAKE_BINARY_DIR}/bpf)
  set(obj ${out_dir}/${name}.bpf.o)
  set(skel ${out_dir}/${name}.skel.h)
  set(include_flags -I${NETOBS_VMLINUX_DIR} -I${CMAKE_SOURCE_DIR} -I${CMAKE_SOURCE_DIR}/bpf)
  foreach(dir IN LISTS ARG_INCLUDES)
    list(APPEND include_flags -I${dir})
  endforeach()
  set(werror_flag)
  if(NETOBS_WERROR)
    set(werror_flag -Werror)
  endif()
  file(GLOB bpf_headers ${CMAKE_SOURCE_DIR}/bpf/*.h ${CMAKE_SOURCE_DIR}/bpf/lib/*.h)
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}
    COMMAND ${NETOBS_CLANG} -target bpf -D__TARGET_ARCH_${NETOBS_BPF_TARGET_ARCH} -g -O2
            -Wall ${werror_flag} ${include_flags} -c ${ARG_SOURCE} -o ${obj}
    # DWARF is for debuggers only; libbpf needs .BTF and .BTF.ext (CO-RE,
    # line info in verifier logs), which stay. The skeleton embeds the
    # object and libbpf reads all of it at load: DWARF was ~3 MiB of the
    # exporter's resident memory.
    COMMAND ${NETOBS_LLVM_STRIP} -g ${obj}
    DEPENDS ${ARG_SOURCE} ${bpf_headers} ${ARG_DEPENDS}
    COMMENT "BPF ${name}.bpf.o"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${NETOBS_BPFTOOL} gen skeleton ${obj} name ${name}_bpf > ${skel}
    DEPENDS ${obj}
    COMMENT "BPF skeleton ${name}.skel.h"
    VERBATIM)
  add_custom_target(netobs_bpf_${name}_gen DEPENDS ${skel})
  add_library(netobs_bpf_${name} INTERFACE)
  add_dependencies(netobs_bpf_${name} netobs_bpf_${name}_gen)
  target_include_directories(netobs_bpf_${name} INTERFACE ${out_dir})
  target_link_libraries(netobs_bpf_${name} INTERFACE PkgConfig::LIBBPF)
endfunction()

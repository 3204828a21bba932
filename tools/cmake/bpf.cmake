# SPDX-License-Identifier: Apache-2.0
# sandlot_bpf_skeleton(<name> <source.bpf.c> [DEPENDS hdr...])
#
# Compiles bpf/<name>.bpf.c with clang -target bpf (-g -O2, CO-RE against vmlinux/vmlinux.h) into
# <name>.bpf.o (-mcpu=v3: atomics) and generates <name>.skel.h with `bpftool gen skeleton`. Creates the INTERFACE
# target <name>_skel: link it to get the skeleton's include directory and the build ordering.
find_program(SANDLOT_CLANG NAMES clang clang-14 REQUIRED)
find_program(SANDLOT_BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)

function(sandlot_bpf_skeleton name src)
	cmake_parse_arguments(ARG "" "" "DEPENDS" ${ARGN})
	set(obj ${CMAKE_CURRENT_BINARY_DIR}/${name}.bpf.o)
	set(skel_dir ${CMAKE_CURRENT_BINARY_DIR}/skel)
	set(skel ${skel_dir}/${name}.skel.h)
	get_filename_component(src_abs ${src} ABSOLUTE)
	add_custom_command(
		OUTPUT ${obj}
		COMMAND ${SANDLOT_CLANG} -target bpf -mcpu=v3 -g -O2 -Wall -Werror
			-D__TARGET_ARCH_x86
			-I${PROJECT_SOURCE_DIR}/vmlinux
			-I${PROJECT_SOURCE_DIR}/include
			-I${PROJECT_SOURCE_DIR}/bpf
			-c ${src_abs} -o ${obj}
		DEPENDS ${src_abs} ${PROJECT_SOURCE_DIR}/vmlinux/vmlinux.h ${ARG_DEPENDS}
		IMPLICIT_DEPENDS C ${src_abs}
		COMMENT "BPF ${name}.bpf.c"
		VERBATIM)
	add_custom_command(
		OUTPUT ${skel}
		COMMAND ${CMAKE_COMMAND} -E make_directory ${skel_dir}
		COMMAND sh -c "\"$0\" gen skeleton \"$1\" name \"$2\" > \"$3\""
			${SANDLOT_BPFTOOL} ${obj} ${name}_bpf ${skel}
		DEPENDS ${obj}
		COMMENT "skeleton ${name}.skel.h"
		VERBATIM)
	add_custom_target(${name}_skel_gen DEPENDS ${skel})
	add_library(${name}_skel INTERFACE)
	add_dependencies(${name}_skel ${name}_skel_gen)
	target_include_directories(${name}_skel INTERFACE ${skel_dir})
endfunction()

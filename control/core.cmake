# SPDX-License-Identifier: Apache-2.0
# The control node's pure modules (no I/O, no loop, no logging); tests/ builds their tests.
# Included by control/CMakeLists.txt.
add_library(sandlot_control_core STATIC
	${CMAKE_CURRENT_LIST_DIR}/sigv4.c
	${CMAKE_CURRENT_LIST_DIR}/counting.c
	${CMAKE_CURRENT_LIST_DIR}/placement.c
	${CMAKE_CURRENT_LIST_DIR}/retry.c)
target_include_directories(sandlot_control_core PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(sandlot_control_core PUBLIC sandlot ${SL_DEP_OPENSSL})

# The control node's pure modules (no I/O, no loop, no logging) and their unit tests.
# Included by control/CMakeLists.txt.
add_library(sandlot_control_core STATIC
	${CMAKE_CURRENT_LIST_DIR}/sigv4.c
	${CMAKE_CURRENT_LIST_DIR}/counting.c)
target_include_directories(sandlot_control_core PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(sandlot_control_core PUBLIC sandlot ${SL_DEP_OPENSSL})

function(sandlot_control_test name)
	add_executable(test_${name} ${PROJECT_SOURCE_DIR}/tests/test_${name}.c ${ARGN})
	target_link_libraries(test_${name} PRIVATE sandlot_control_core PkgConfig::CMOCKA)
	add_test(NAME ${name} COMMAND test_${name})
	set_tests_properties(${name} PROPERTIES LABELS unit TIMEOUT 120
		ENVIRONMENT "SANDLOT_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()

sandlot_control_test(sigv4)
sandlot_control_test(counting)

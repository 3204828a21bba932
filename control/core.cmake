# The control node's pure modules (no I/O, no loop, no logging) and their unit tests.
# Included by control/CMakeLists.txt.
add_library(sandlot_control_core STATIC
	${CMAKE_CURRENT_LIST_DIR}/sigv4.c
	${CMAKE_CURRENT_LIST_DIR}/counting.c
	${CMAKE_CURRENT_LIST_DIR}/placement.c)
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
sandlot_control_test(placement)

# libFuzzer target for sigv4 (Authorization parsing, canonicalisation, sign/verify agreement),
# built by clang directly as tests/CMakeLists.txt builds the protocol's (gcc has no libFuzzer).
if(CLANG_EXECUTABLE)
	set(fuzz_sigv4_srcs ${PROJECT_SOURCE_DIR}/tests/fuzz_sigv4.c ${CMAKE_CURRENT_LIST_DIR}/sigv4.c)
	add_custom_command(OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/fuzz_sigv4
		COMMAND ${CLANG_EXECUTABLE} -g -O1 -std=gnu11 -D_GNU_SOURCE -Wall -Wextra
			-Wno-unused-parameter -fsanitize=fuzzer,address,undefined
			-fno-sanitize-recover=undefined -I${PROJECT_SOURCE_DIR}/include
			-I${CMAKE_CURRENT_LIST_DIR} ${OPENSSL_CFLAGS} ${fuzz_sigv4_srcs}
			${OPENSSL_LDFLAGS} -o ${CMAKE_CURRENT_BINARY_DIR}/fuzz_sigv4
		DEPENDS ${fuzz_sigv4_srcs} ${CMAKE_CURRENT_LIST_DIR}/sigv4.h
		COMMENT "Building the sigv4 fuzzer with clang"
		VERBATIM)
	add_custom_target(fuzz_sigv4 ALL DEPENDS ${CMAKE_CURRENT_BINARY_DIR}/fuzz_sigv4)
	if(NOT SANDLOT_SANITIZE)
		# Seeds: a boto3-shaped Invoke and a suite request, NUL-separated fields.
		set(corpus ${CMAKE_CURRENT_BINARY_DIR}/fuzz_sigv4_corpus)
		add_test(NAME fuzz_sigv4 COMMAND sh -c
			"rm -rf \"$1\" && mkdir -p \"$1\" && printf 'POST\\0/2015-03-31/functions/arn%%3Aaws%%3Alambda%%3Aus-east-1%%3A123456789012%%3Afunction%%3Af/invocations\\0Qualifier=%%24LATEST\\0{\"k\": 1}\\0User-Agent\\0Boto3/1.26\\0x-amz-content-sha256\\0UNSIGNED-PAYLOAD\\0AWS4-HMAC-SHA256 Credential=AKIDFUZZ/20150830/us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31' >\"$1\"/invoke && printf 'GET\\0//a/./b/../c d/\\0Param2=v%%202&Param1=value1&%%E1%%88%%B4\\0\\0My-Header1\\0  a   b  \\0my-header1\\0c\\0x' >\"$1\"/suite && \"$2\" -max_total_time=15 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=\"$1\"-crash- \"$1\""
			sh ${corpus} ${CMAKE_CURRENT_BINARY_DIR}/fuzz_sigv4)
		set_tests_properties(fuzz_sigv4 PROPERTIES LABELS fuzz TIMEOUT 120)
	endif()
endif()

// SPDX-License-Identifier: Apache-2.0
/* Writes the sample frame of every message type into DIR: the fuzzer's seed corpus. */
#include "proto-samples.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: fuzz_seeds DIR\n");
		return 2;
	}
	for (unsigned t = 1; t < _SL_MSG_TYPE_MAX; t++) {
		unsigned char *buf = NULL;
		size_t n = sample_frame(t, &buf);
		char path[4096];
		FILE *f;

		snprintf(path, sizeof(path), "%s/seed-%s", argv[1], sl_proto_type_name(t));
		f = fopen(path, "we");
		if (!f || fwrite(buf, 1, n, f) != n || fclose(f) != 0) {
			perror(path);
			return 1;
		}
		free(buf);
	}
	return 0;
}

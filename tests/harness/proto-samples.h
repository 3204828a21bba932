/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * One valid sample message of every type, for the protocol tests, the fuzzer's seed corpus
 * and the benchmark. Strings and blobs point to static storage.
 */
#include <sandlot/proto.h>

/* Fills *m with a sample of type (1 .. _SL_MSG_TYPE_MAX-1), header fields included. */
void sample_msg(unsigned type, struct sl_msg *m);

/* Encodes the sample of type into a malloc'ed frame (MAC zero). Returns its length; aborts on
 * failure. */
size_t sample_frame(unsigned type, unsigned char **ret);

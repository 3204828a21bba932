// SPDX-License-Identifier: Apache-2.0
/*
 * bench/proto: cost of the wire protocol per message, beside a memcpy of the same bytes.
 *   encode+seal   sl_proto_encode() + sl_auth_seal() (HMAC-SHA256) into a reused buffer
 *   verify+decode sl_auth_verify() + sl_proto_decode() (zero-copy)
 * for a heartbeat (small) and an invoke carrying a 1 MiB payload (large). Prints the median
 * and p99 of per-message times over batches, and the ratio to memcpy.
 */
#include <sandlot/auth.h>
#include <sandlot/proto.h>
#include <sandlot/time.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCHES 301

struct sample {
	struct sl_msg m;
	unsigned char *frame, *scratch;
	size_t len;
	unsigned iters; /* messages per batch */
};

static struct sl_key *key;
static volatile unsigned char sink;

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

enum op { ENCODE, DECODE, MEMCPY };

static void run_once(struct sample *s, enum op op)
{
	struct sl_msg out;

	switch (op) {
	case ENCODE:
		if (sl_proto_encode(&s->m, s->scratch, s->len, NULL) != (long)s->len ||
		    sl_auth_seal(key, s->scratch, s->len) < 0)
			abort();
		break;
	case DECODE:
		if (sl_auth_verify(key, s->frame, s->len) < 0 ||
		    sl_proto_decode(s->frame, s->len, &out, NULL) < 0)
			abort();
		sink = (unsigned char)out.type;
		break;
	case MEMCPY:
		memcpy(s->scratch, s->frame, s->len);
		sink = s->scratch[s->len / 2];
		break;
	}
}

/* Median and p99 of ns per message. */
static void measure(struct sample *s, enum op op, double *med, double *p99)
{
	double t[BATCHES];

	for (unsigned i = 0; i < s->iters; i++) /* warm up */
		run_once(s, op);
	for (unsigned b = 0; b < BATCHES; b++) {
		uint64_t t0 = sl_now_ns();

		for (unsigned i = 0; i < s->iters; i++)
			run_once(s, op);
		t[b] = (double)(sl_now_ns() - t0) / s->iters;
	}
	qsort(t, BATCHES, sizeof(t[0]), cmp_double);
	*med = t[BATCHES / 2];
	*p99 = t[BATCHES * 99 / 100];
}

static void setup(struct sample *s, struct sl_msg *m, unsigned iters)
{
	long n;

	s->m = *m;
	s->iters = iters;
	n = sl_proto_size(m);
	if (n < 0)
		abort();
	s->len = (size_t)n;
	s->frame = malloc(s->len);
	s->scratch = malloc(s->len);
	if (!s->frame || !s->scratch || sl_proto_encode(m, s->frame, s->len, NULL) != n ||
	    sl_auth_seal(key, s->frame, s->len) < 0)
		abort();
}

static void report(const char *name, struct sample *s)
{
	double em, ep, dm, dp, mm, mp;

	measure(s, MEMCPY, &mm, &mp);
	measure(s, ENCODE, &em, &ep);
	measure(s, DECODE, &dm, &dp);
	printf("%-10s %9zu  %12.0f %9.0f  %12.0f %9.0f  %10.0f %9.0f  %6.1fx %6.1fx  %8.0f\n", name,
	       s->len, em, ep, dm, dp, mm, mp, em / mm, dm / mm,
	       (double)s->len / dm * 1e9 / (1 << 20));
}

int main(void)
{
	static const unsigned char k[32] = "bench-key-bench-key-bench-key-12";
	struct sample small, large;
	struct sl_msg m = {.type = SL_MSG_HEARTBEAT,
			   .dst_id = 1,
			   .src_id = 2,
			   .nonce = 3,
			   .seq = 4,
			   .ts_ns = sl_wall_ns()};
	unsigned char *payload = calloc(1, 1 << 20);

	if (!payload || sl_key_new(&key, k, sizeof(k)) < 0)
		return 1;
	m.heartbeat =
		(struct sl_msg_heartbeat){"tcp://10.0.0.5:7401", 1500, 3, 1ull << 30, 1, 3, 4, 5};
	setup(&small, &m, 2000);
	m = (struct sl_msg){.type = SL_MSG_INVOKE,
			    .dst_id = 1,
			    .src_id = 2,
			    .nonce = 3,
			    .seq = 4,
			    .ts_ns = sl_wall_ns()};
	m.invoke = (struct sl_msg_invoke){.request_id = "8f5e0c3a-1b2c-4d5e-8f90-123456789abc",
					  .sandbox_id = "sb-00000001",
					  .function = "hello-world",
					  .version = "$LATEST",
					  .function_arn = "arn:aws:lambda:us-east-1:1:function:x",
					  .trace_id = "",
					  .client_context = "",
					  .deadline_ns = 1,
					  .payload = payload,
					  .payload_len = 1 << 20};
	setup(&large, &m, 5);
	printf("bench/proto: ns per message, median and p99 of %u batches (noisy if the host is "
	       "busy)\n",
	       BATCHES);
	printf("%-10s %9s  %12s %9s  %12s %9s  %10s %9s  %7s %7s  %8s\n", "message", "bytes",
	       "encode+seal", "p99", "verify+dec", "p99", "memcpy", "p99", "enc/cp", "dec/cp",
	       "dec MiB/s");
	report("heartbeat", &small);
	report("invoke-1M", &large);
	sl_key_free(&key);
	free(payload);
	return 0;
}

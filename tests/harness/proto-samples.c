// SPDX-License-Identifier: Apache-2.0
#include "proto-samples.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char payload[] = "{\"key1\":\"value1\",\"key2\":\"value2\"}";
static const char log_tail[] = "START RequestId: 8f5e\nhello from the handler\nEND\n";
static const unsigned char chunk[] = {'P', 'K', 3, 4, 20, 0, 0, 0, 8, 0};

static void sample_sandbox(struct sl_msg_sandbox *s, unsigned i)
{
	static char ids[SL_MSG_STATE_CHUNK][24];

	snprintf(ids[i % SL_MSG_STATE_CHUNK], sizeof(ids[0]), "sb-%08x", i);
	*s = (struct sl_msg_sandbox){.sandbox_id = ids[i % SL_MSG_STATE_CHUNK],
				     .function = "hello-world",
				     .version = "$LATEST",
				     .state = SL_SANDBOX_IDLE,
				     .reason = SL_REASON_COMPLETE,
				     .at_ns = 1700000000123456789ull,
				     .created_ns = 1700000000000000000ull + i,
				     .last_active_ns = 1700000000100000000ull,
				     .memory_bytes = 23 << 20};
}

static void sample_create(struct sl_msg_create *c)
{
	*c = (struct sl_msg_create){.sandbox_id = "sb-00000001",
				    .function = "hello-world",
				    .version = "3",
				    .handler = "function.handler",
				    .code_size = 4242,
				    .memory_mb = 128,
				    .timeout_ms = 3000,
				    .env_count = 2};
	memset(c->code_sha256, 0xab, sizeof(c->code_sha256));
	c->env[0] = (struct sl_msg_env){"GREETING", "hello world"};
	c->env[1] = (struct sl_msg_env){"EMPTY", ""};
}

static void sample_body(unsigned type, struct sl_msg *m)
{
	switch (type) {
	case SL_MSG_REGISTER:
		m->reg = (struct sl_msg_register){
			"host-a", "zone-1", "0.1.0", "tcp://10.0.0.5:7401", 8ull << 30, 256, 8};
		break;
	case SL_MSG_REGISTER_ACK:
		m->reg_ack = (struct sl_msg_register_ack){"0.1.0", 1000};
		break;
	case SL_MSG_HEARTBEAT:
		m->heartbeat = (struct sl_msg_heartbeat){
			"tcp://10.0.0.5:7401", 1500, 3, 1ull << 30, 1, 3, 4, 5};
		break;
	case SL_MSG_SANDBOX_EVENT:
		sample_sandbox(&m->event, 7);
		m->event.state = SL_SANDBOX_BUSY;
		m->event.reason = SL_REASON_INVOKE;
		break;
	case SL_MSG_FULL_STATE:
		m->state.total = 10;
		m->state.offset = 7;
		m->state.count = 3;
		for (unsigned i = 0; i < 3; i++)
			sample_sandbox(&m->state.sandboxes[i], 7 + i);
		break;
	case SL_MSG_CREATE_SANDBOX:
		sample_create(&m->create);
		break;
	case SL_MSG_INVOKE:
		m->invoke = (struct sl_msg_invoke){
			"8f5e0c3a-1b2c-4d5e-8f90-123456789abc",
			"sb-00000001",
			"hello-world",
			"$LATEST",
			"arn:aws:lambda:us-east-1:123456789012:function:hello-world",
			"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled="
			"1",
			"",
			1700000003000000000ull,
			true,
			payload,
			sizeof(payload) - 1};
		break;
	case SL_MSG_INVOKE_RESULT:
		m->result = (struct sl_msg_invoke_result){"8f5e0c3a-1b2c-4d5e-8f90-123456789abc",
							  "sb-00000001",
							  "Unhandled",
							  SL_INVOKE_FUNCTION_ERROR,
							  1200000,
							  350000,
							  30 << 20,
							  payload,
							  sizeof(payload) - 1,
							  log_tail,
							  sizeof(log_tail) - 1};
		break;
	case SL_MSG_DESTROY:
		m->destroy = (struct sl_msg_destroy){"sb-00000001", SL_REASON_KEEP_ALIVE};
		break;
	case SL_MSG_DRAIN:
		m->drain.deadline_ms = 30000;
		break;
	case SL_MSG_CODE_FETCH:
		memset(m->fetch.sha256, 0xab, sizeof(m->fetch.sha256));
		m->fetch.offset = 262144;
		m->fetch.length = 262144;
		break;
	case SL_MSG_CODE_CHUNK:
		memset(m->chunk.sha256, 0xab, sizeof(m->chunk.sha256));
		m->chunk.total_size = 4242;
		m->chunk.offset = 4242 - sizeof(chunk);
		m->chunk.data = chunk;
		m->chunk.data_len = sizeof(chunk);
		break;
	case SL_MSG_ERROR:
		m->error = (struct sl_msg_error){SL_ERR_NOT_FOUND, SL_MSG_DESTROY,
						 "sandbox sb-00000009 not found"};
		break;
	}
}

void sample_msg(unsigned type, struct sl_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = (uint16_t)type;
	m->flags = type == SL_MSG_REGISTER_ACK || type == SL_MSG_INVOKE_RESULT ? SL_MSG_F_REPLY : 0;
	m->corr_id = 0x1122334455667788ull + type;
	m->src_id = 0xa9e7;
	m->dst_id = type == SL_MSG_REGISTER ? 0 : 0xc0;
	m->nonce = 0x0123456789abcdefull;
	m->seq = 41 + type;
	m->ts_ns = 1700000000000000000ull;
	sample_body(type, m);
}

size_t sample_frame(unsigned type, unsigned char **ret)
{
	struct sl_msg m;
	unsigned char *buf;
	const char *why = NULL;
	long n;

	sample_msg(type, &m);
	n = sl_proto_size(&m);
	buf = n > 0 ? malloc((size_t)n) : NULL;
	if (!buf || sl_proto_encode(&m, buf, (size_t)n, &why) != n) {
		fprintf(stderr, "sample %u does not encode: %s\n", type, why ? why : "?");
		abort();
	}
	*ret = buf;
	return (size_t)n;
}

/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * What the Runtime API server's files share (runtime-api.c: requests, state and MHD;
 * runtime-api-body.c: the request bodies it holds and their budget). Not for other modules.
 */
#include "daemon/runtime-api.h"

#include <microhttpd.h>

/* The runtime's state machine, with Lambda's names for the 403 messages. */
enum rt_state {
	RT_STARTED,	  /* bootstrap running, no next yet */
	RT_INIT_ERROR,	  /* init/error received: nothing more is allowed */
	RT_READY,	  /* next called, no event delivered */
	RT_RUNNING,	  /* event delivered, waiting for response or error */
	RT_RESPONSE_SENT, /* response or error received, next not called yet */
};

enum route {
	R_NONE,
	R_NEXT,
	R_RESPONSE,
	R_ERROR,
	R_INIT_ERROR,
};

/* One HTTP request in progress; a slot of srv->reqs, never allocated per request. */
struct req {
	struct sl_rtapi *srv;
	struct MHD_Connection *conn;
	enum route route;
	bool in_use;
	bool parked;	 /* a suspended next */
	bool superseded; /* a newer next replaced this parked one */
	bool too_large;	 /* body past the limit: discarding the rest */
	char id[SL_RTAPI_ID_MAX + 1];
	char *body; /* request body so far (response/error routes) */
	size_t len, cap;
};

/* The current (or last) invocation. */
struct inv {
	bool queued; /* handed in by the owner, not delivered yet */
	char id[SL_RTAPI_ID_MAX + 1];
	char deadline[24];
	char *arn, *trace_id, *client_context, *cognito; /* NULL when absent */
	char *payload;
	size_t len, cap;
};

struct sl_rtapi {
	struct MHD_Daemon *mhd;
	int epfd;
	struct sl_rtapi_ops ops;
	void *userdata;
	size_t max_payload;
	enum rt_state state;
	bool stopping;
	bool in_run;   /* inside MHD_run: callbacks may call in, MHD_run must not recurse */
	bool kick;     /* a connection was resumed: MHD must run again */
	bool relisten; /* left the connection limit: MHD must run again to listen again */
	unsigned n_conns, max_conns; /* connections MHD holds now, and its limit */
	struct inv inv;
	struct req *parked;
	struct req *upload; /* the one response/error body being received, or NULL */
	unsigned timeout_s, upload_timeout_s;
	struct MHD_Response *accepted; /* 202 {"status":"OK"}, built once and shared */
	struct MHD_Response *event;    /* the current event's 200, built at its first next */
	char *spare;		       /* one body buffer kept for reuse (<= SPARE_MAX) */
	size_t spare_cap;
	unsigned n_reqs;
	struct req reqs[];
};

enum { SPARE_MAX = 64 * 1024 };

/* Gives q's body buffer back: kept as the spare when small, freed otherwise. */
void sl_rtapi_body_release(struct req *q);

/* Bytes of request bodies srv holds now, the spare included. */
size_t sl_rtapi_held_bytes(const struct sl_rtapi *srv);

/*
 * Makes room for need bytes of q's body (need <= max_payload) within the sandbox's budget: one
 * body at its limit and the spare. False when it cannot (over budget, out of memory).
 */
bool sl_rtapi_body_reserve(struct req *q, size_t need);

/* Appends a chunk of q's body, or notes that it is past the limit (and drops it all). */
void sl_rtapi_body_append(struct req *q, const char *data, size_t n);

/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The daemon's local HTTP API (localapi.c describes the routes): served on a->cfg.http from
 * a->loop, read-only but for a sandbox kill.
 */
struct agent;
struct localapi;

/* Starts serving (and a->metrics with it). 0 or -errno. */
int localapi_open(struct agent *a, struct localapi **ret);
/* Stops serving; NULL-safe, sets *h to NULL. */
void localapi_free(struct localapi **h);

/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The daemon's configuration: its command-line options, parsed and validated in one place
 * (pure but for sl_agent_config_resolve; unit-tested). Defaults follow DESIGN.md §4.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SL_AGENT_NAME_MAX 63
#define SL_AGENT_ADDR_MAX 127

struct sl_agent_config {
	char control[SL_AGENT_ADDR_MAX + 1];   /* nanomsg endpoint of the control node */
	char listen[SL_AGENT_ADDR_MAX + 1];    /* our nanomsg command endpoint */
	char advertise[SL_AGENT_ADDR_MAX + 1]; /* what the control node connects to (from listen) */
	char region[SL_AGENT_NAME_MAX + 1];    /* AWS_REGION inside sandboxes */
	char http[SL_AGENT_ADDR_MAX + 1];      /* "IP:PORT" of the local HTTP API (a name until
						  sl_agent_config_resolve) */
	char name[SL_AGENT_NAME_MAX + 1];      /* this host's name (default: hostname) */
	char zone[SL_AGENT_NAME_MAX + 1];      /* placement zone (default "default") */
	char state_dir[256];		       /* code cache, runtime state */
	char key_file[256];		       /* cluster key for message MACs */
	char bpf_pin_root[256];		       /* where BPF maps and links are pinned */
	uint64_t memory_capacity;	       /* bytes offered to sandboxes */
	unsigned max_sandboxes;
	uint64_t keep_alive_ns;	    /* idle warm sandboxes are destroyed after this */
	uint64_t idle_threshold_ns; /* no CPU or network for this long = idle */
	uint32_t init_cpu_millis;   /* CPU quota from spawn to the first next (thousandths of a
				       CPU; 0: the function's own quota from the start) */
};

/* Fills in the defaults (name from the hostname, capacity from total memory). */
void sl_agent_config_defaults(struct sl_agent_config *c);

/*
 * Parses the daemon's argv (argv[0] is the program) into c, which holds the defaults. On bad
 * input writes a one-line error naming the option into err (errlen bytes) and returns -EINVAL.
 * Returns 1 when --help was given, 0 otherwise.
 */
int sl_agent_config_parse(struct sl_agent_config *c, int argc, char **argv, char *err,
			  size_t errlen);

void sl_agent_config_usage(FILE *f);

/* Derives advertise from listen when it was not given: 0.0.0.0 or * become 127.0.0.1. */
void sl_agent_config_finish(struct sl_agent_config *c);

/*
 * After a successful parse, before anything is made on the host: the host names in --control,
 * --listen, --advertise and --http must resolve (to an IPv4 address: nanomsg connects to names
 * over IPv4 only); in --listen and --http, which are bound, the name is replaced by its first
 * address (advertise, derived before, keeps the name). Returns 0, or -EINVAL with a one-line
 * error naming the option, the name and the resolver's reason in err. Asks the system's
 * resolver: the one function here that is not pure.
 */
int sl_agent_config_resolve(struct sl_agent_config *c, char *err, size_t errlen);

/* Validators shared with other option parsers: 0 or -EINVAL. */
int sl_validate_nn_endpoint(const char *s);    /* tcp://HOST:PORT or ipc:///path */
int sl_validate_host_port(const char *s);      /* IPv4:PORT or [IPv6]:PORT, port 1..65535 */
int sl_validate_host_name_port(const char *s); /* the same, or a host name:PORT */
int sl_validate_name(const char *s);	       /* [A-Za-z0-9._-], 1..63 chars */

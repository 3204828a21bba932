// SPDX-License-Identifier: Apache-2.0
/* sandlot-control: the control node (Lambda API in, counting, routing, placement, agents out). */
#include <sandlot/log.h>

#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "daemon.h"

int main(int argc, char **argv)
{
	struct sl_ctl_config cfg;
	char err[256];
	int r;

	sl_ctl_config_defaults(&cfg);
	r = sl_ctl_config_parse(&cfg, argc, argv, err, sizeof(err));
	if (r == 1) {
		sl_ctl_config_usage(stdout);
		return 0;
	}
	if (r < 0) {
		fprintf(stderr, "sandlot-control: %s (see --help)\n", err);
		return 2;
	}
	return sl_ctl_run(&cfg) < 0 ? 1 : 0;
}

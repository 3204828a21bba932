// SPDX-License-Identifier: Apache-2.0
/* sandlot-agent probe [--json] [--pretty] [--no-mount] */
#include "run/cmd.h"
#include "bpfload/probe.h"

#include <sandlot/json.h>
#include <sandlot/log.h>

#include <getopt.h>
#include <string.h>

static void probe_usage(FILE *f)
{
	fprintf(f, "Usage: sandlot-agent probe [--json] [--pretty] [--no-mount]\n"
		   "  -j, --json      print one JSON object\n"
		   "  -p, --pretty    indent the JSON (implies --json)\n"
		   "      --no-mount  do not mount bpffs at /sys/fs/bpf when it is missing\n"
		   "      --log-level LEVEL  debug, info, warn, error or off (also before "
		   "'probe')\n"
		   "Exit status: 0 when everything sandlot requires is present, 1 otherwise.\n");
}

int sl_cmd_probe(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},     {"pretty", no_argument, NULL, 'p'},
		{"no-mount", no_argument, NULL, 'n'}, {"log-level", required_argument, NULL, 'L'},
		{"help", no_argument, NULL, 'h'},     {},
	};
	struct sl_probe_opts po = {.mount_bpffs = true};
	struct sl_probe_report *rep;
	bool json = false, pretty = false;
	int c, r, missing;

	while ((c = getopt_long(argc, argv, "jph", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'p':
			json = pretty = true;
			break;
		case 'n':
			po.mount_bpffs = false;
			break;
		case 'L':
			if (sl_cmd_log_level("--log-level", optarg) < 0)
				return SL_EXIT_USAGE;
			break;
		case 'h':
			probe_usage(stdout);
			return SL_EXIT_OK;
		default:
			probe_usage(stderr);
			return SL_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sandlot-agent probe: unexpected argument '%s'\n", argv[optind]);
		probe_usage(stderr);
		return SL_EXIT_USAGE;
	}
	rep = calloc(1, sizeof(*rep));
	if (!rep)
		return SL_EXIT_FAIL;
	r = sl_probe_run(&po, rep);
	if (r < 0) {
		if (json)
			sl_json_print_error(stdout, "probe failed: %s", strerror(-r));
		free(rep);
		return sl_log_err(r, "probe failed"), SL_EXIT_FAIL;
	}
	if (json)
		sl_probe_print_json(rep, stdout, pretty);
	else
		sl_probe_print_plain(rep, stdout);
	missing = sl_probe_missing(rep, stderr);
	free(rep);
	return missing ? SL_EXIT_FAIL : SL_EXIT_OK;
}

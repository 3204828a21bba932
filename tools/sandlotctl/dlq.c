// SPDX-License-Identifier: Apache-2.0
/*
 * sandlotctl dlq {list | replay}: the control node's dead letters (asynchronous invocations
 * that exhausted their retries or their age), every account's, through the operator API
 * (/v1/dead-letters), and putting one back in the queue.
 */
#include "main.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define I(o, k) ((long long)json_integer_value(json_object_get((o), (k))))
#define S(o, k) json_string_value(json_object_get((o), (k)))

/* Nanoseconds since the epoch as UTC "YYYY-MM-DD HH:MM:SS". */
static const char *utc(json_t *o, const char *k, char *buf, size_t len)
{
	time_t t = (time_t)(json_integer_value(json_object_get(o, k)) / 1000000000);
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, len, "-");
	return buf;
}

static void print_list(json_t *j)
{
	char failed[32];
	size_t i;
	json_t *d;

	if (!json_array_size(j)) {
		printf("no dead letters\n");
		return;
	}
	printf("%-8s %-12s  %-24s %8s  %-19s  %s\n", "ID", "ACCOUNT", "FUNCTION", "ATTEMPTS",
	       "FAILED (UTC)", "ERROR");
	json_array_foreach (j, i, d)
		printf("%-8lld %-12s  %-24s %8lld  %-19s  %s\n", I(d, "id"), S(d, "account"),
		       S(d, "function"), I(d, "attempts"),
		       utc(d, "failed_ns", failed, sizeof(failed)), S(d, "error"));
}

static int do_list(int argc, char **argv)
{
	static const char *const keys[] = {"function", "account"};
	const char *function = NULL, *account = NULL, **vals[] = {&function, &account};
	char path[192], base[128];
	json_t *list;
	int r = parse_filters(argc, argv, keys, vals, 2);

	if (r || (function && (r = check_function_name(function))) ||
	    (account && (r = check_account(account))))
		return r;
	snprintf(base, sizeof(base), "/v1/dead-letters%s%s", function ? "?function=" : "",
		 function ? function : "");
	if (account)
		snprintf(path, sizeof(path), "%s%caccount=%s", base, function ? '&' : '?', account);
	else
		snprintf(path, sizeof(path), "%s", base);
	r = control_list(path, "dead_letters", &list);
	return r ? r : emit(list, print_list);
}

static void print_replayed(json_t *d)
{
	printf("dead letter %lld (%s/%s, request %s) queued again\n", I(d, "id"), S(d, "account"),
	       S(d, "function"), S(d, "request_id"));
}

static int do_replay(int argc, char **argv)
{
	static const char *const keys[] = {"id"};
	const char *id = NULL, **vals[] = {&id};
	char path[96];
	json_t *j;
	int r = parse_filters(argc, argv, keys, vals, 1);

	if (r)
		return r;
	if (!id)
		return fail("which dead letter? (id ID)");
	if (!id[0] || id[strspn(id, "0123456789")] || strlen(id) > 18 || id[0] == '0')
		return fail("bad dead letter id '%s' (a positive integer)", id);
	snprintf(path, sizeof(path), "/v1/dead-letters/%s/replay", id);
	r = control_call(path, true, NULL, 0, &j, NULL);
	if (r)
		return r;
	return emit(j, print_replayed);
}

static int do_help(int argc, char **argv)
{
	if (ctl.json)
		return emit(json_pack("{s:s}", "help", "sandlotctl dlq help"), NULL);
	fprintf(stderr, "Usage: sandlotctl dlq list [function NAME] [account ACCOUNT]\n"
			"       sandlotctl dlq replay id ID\n"
			"       sandlotctl dlq help\n");
	return 0;
}

static const struct cmd cmds[] = {
	/* name, handler, alias */
	{"list", do_list, NULL},
	{"replay", do_replay, NULL},
	{"help", do_help, NULL},
	{NULL, NULL, NULL},
};

int do_dlq(int argc, char **argv)
{
	return cmd_select(cmds, argc, argv, "dlq command");
}

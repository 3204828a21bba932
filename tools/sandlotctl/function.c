// SPDX-License-Identifier: Apache-2.0
/*
 * sandlotctl function {list | show | invoke}: the control node's functions, every account's,
 * with their concurrency (units held, limit, reservation) and sandboxes (warm, busy).
 */
#include "main.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FN_PAYLOAD_MAX (6u << 20) /* Lambda's synchronous limit */

int check_function_name(const char *name)
{
	size_t n = strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_");

	if (!name[0] || name[n] || n > 64)
		return fail("bad function name '%s' (letters, digits, - and _, at most 64)", name);
	return 0;
}

int check_account(const char *account)
{
	size_t n = account ? strspn(account, "0123456789") : 12;

	if (n != 12 || (account && account[n]))
		return fail("bad account '%s' (12 digits)", account);
	return 0;
}

static const char *ival(json_t *o, const char *k, char *buf, size_t len)
{
	json_t *v = json_object_get(o, k);

	if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else
		snprintf(buf, len, "-");
	return buf;
}

static void print_fn(json_t *f)
{
	char res[24];

	printf("%s: account %s  runtime %s  memory %lldMB  timeout %llds\n"
	       "\tconcurrency %lld/%lld  reserved %s  sandboxes %lld  warm %lld  busy %lld\n",
	       json_string_value(json_object_get(f, "name")),
	       json_string_value(json_object_get(f, "account")),
	       json_string_value(json_object_get(f, "runtime")),
	       (long long)json_integer_value(json_object_get(f, "memory_mb")),
	       (long long)json_integer_value(json_object_get(f, "timeout_s")),
	       (long long)json_integer_value(json_object_get(f, "concurrency")),
	       (long long)json_integer_value(json_object_get(f, "concurrency_limit")),
	       ival(f, "reserved", res, sizeof(res)),
	       (long long)json_integer_value(json_object_get(f, "sandboxes")),
	       (long long)json_integer_value(json_object_get(f, "warm")),
	       (long long)json_integer_value(json_object_get(f, "busy")));
}

static void print_list(json_t *j)
{
	size_t i;
	json_t *f;

	json_array_foreach (j, i, f)
		print_fn(f);
}

static void print_show(json_t *f)
{
	size_t i;
	json_t *sb;

	print_fn(f);
	printf("\trevision %s\n", json_string_value(json_object_get(f, "revision_id")));
	json_array_foreach (json_object_get(f, "sandbox_list"), i, sb)
		printf("\tsandbox %s  host %016llx  %s%s  %lldMB\n",
		       json_string_value(json_object_get(sb, "id")),
		       (unsigned long long)json_integer_value(json_object_get(sb, "host")),
		       json_string_value(json_object_get(sb, "state")),
		       json_is_true(json_object_get(sb, "inflight")) ? " (in flight)" : "",
		       (long long)json_integer_value(json_object_get(sb, "memory_mb")));
}

static int do_list(int argc, char **argv)
{
	static const char *const keys[] = {"account"};
	const char *account = NULL, **vals[] = {&account};
	char path[128];
	json_t *list;
	int r = parse_filters(argc, argv, keys, vals, 1);

	if (r || (account && (r = check_account(account))))
		return r;
	r = control_list(control_path(path, sizeof(path), "/v1/functions", account), "functions",
			 &list);
	return r ? r : emit(list, print_list);
}

/* name NAME [account A] from argv, checked; extra: one more keyword's value (or NULL). */
static int fn_args(int argc, char **argv, const char **name, const char **account,
		   const char *extra_key, const char **extra)
{
	const char *const keys[] = {"name", "account", extra_key};
	const char **vals[] = {name, account, extra};
	int r = parse_filters(argc, argv, keys, vals, extra_key ? 3 : 2);

	if (r)
		return r;
	if (!*name)
		return fail("which function? (name NAME)");
	return check_function_name(*name) ?: (*account ? check_account(*account) : 0);
}

static int do_show(int argc, char **argv)
{
	const char *name = NULL, *account = NULL;
	char path[160], base[96];
	json_t *j;
	int r = fn_args(argc, argv, &name, &account, NULL, NULL);

	if (r)
		return r;
	snprintf(base, sizeof(base), "/v1/functions/%s", name);
	r = control_call(control_path(path, sizeof(path), base, account), false, NULL, 0, &j, NULL);
	return r ? r : emit(j, print_show);
}

static void print_result(json_t *j)
{
	json_t *fe = json_object_get(j, "function_error");
	char *txt = json_dumps(json_object_get(j, "payload"), JSON_ENCODE_ANY | JSON_COMPACT);

	if (json_is_string(fe))
		printf("function error: %s\n", json_string_value(fe));
	printf("%s\n", txt ? txt : "");
	free(txt);
}

/* Takes "payload JSON" out of argv (its value may be longer than parse_filters allows). */
static int take_payload(int *argc, char **argv, const char **ret)
{
	for (int i = 0; i + 1 < *argc; i += 2)
		if (is_prefix(argv[i], "payload")) {
			*ret = argv[i + 1];
			memmove(&argv[i], &argv[i + 2], (size_t)(*argc - i - 2) * sizeof(*argv));
			*argc -= 2;
			return 0;
		}
	return 0;
}

static int do_invoke(int argc, char **argv)
{
	const char *name = NULL, *account = NULL, *payload = "{}";
	char path[192], base[128];
	struct http_call hc;
	json_t *j, *out;
	int r = take_payload(&argc, argv, &payload)
			?: fn_args(argc, argv, &name, &account, NULL, NULL);

	if (r)
		return r;
	if (strlen(payload) > FN_PAYLOAD_MAX)
		return fail("the payload is over %u bytes", FN_PAYLOAD_MAX);
	snprintf(base, sizeof(base), "/v1/functions/%s/invocations", name);
	r = control_call(control_path(path, sizeof(path), base, account), true, payload,
			 strlen(payload), &j, &hc);
	if (r)
		return r;
	out = json_pack("{s:s, s:i, s:o}", "function", name, "status", 200, "payload", j);
	if (out)
		json_object_set_new(out, "function_error",
				    hc.function_error[0] ? json_string(hc.function_error)
							 : json_null());
	return emit(out, print_result);
}

static int do_help(int argc, char **argv)
{
	if (ctl.json)
		return emit(json_pack("{s:s}", "help", "sandlotctl function help"), NULL);
	fprintf(stderr, "Usage: sandlotctl function list [account ACCOUNT]\n"
			"       sandlotctl function show name NAME [account ACCOUNT]\n"
			"       sandlotctl function invoke name NAME [account ACCOUNT] "
			"[payload JSON]\n"
			"       sandlotctl function help\n");
	return 0;
}

static const struct cmd cmds[] = {
	/* name, handler, alias */
	{"list", do_list, NULL}, {"show", do_show, NULL}, {"invoke", do_invoke, NULL},
	{"help", do_help, NULL}, {NULL, NULL, NULL},
};

int do_function(int argc, char **argv)
{
	return cmd_select(cmds, argc, argv, "function command");
}

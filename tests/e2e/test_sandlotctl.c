// SPDX-License-Identifier: Apache-2.0
/*
 * sandlotctl against a real agent (agentpeer.c) and its pinned BPF state: every command in
 * plain and JSON output (the JSON parsed and checked field by field), prefix matching, bad
 * input, the agent stopped, a pin root of another schema, and `top` in a real terminal (tmux).
 */
#include "testutil.h"

#include "agenttest.h"

#include <sandlot/bpf_abi.h>

#include <bpf/bpf.h>
#include <sys/stat.h>

#define OUT_MAX (1 << 20)

struct run {
	int status; /* exit code, or -1 when it did not exit normally */
	char *out, *err;
	json_t *json; /* stdout parsed (NULL when not JSON) */
};

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
	json_decref(r->json);
}

/* Runs sandlotctl with the peer's pin root, agent and state dir, then args (NULL-ended). */
static struct run ctl_run(struct fx *f, const char *first, ...)
{
	const char *bin = getenv("SANDLOTCTL");
	char *argv[40];
	struct run r = {.out = malloc(OUT_MAX), .err = malloc(OUT_MAX)};
	va_list ap;
	int n = 0, st;

	assert_non_null(bin);
	argv[n++] = (char *)bin;
	argv[n++] = "--pin-root";
	argv[n++] = f->p->pin_root;
	argv[n++] = "--agent";
	argv[n++] = f->p->http;
	argv[n++] = "--state-dir";
	argv[n++] = f->p->state_dir;
	va_start(ap, first);
	for (const char *a = first; a && n < 39; a = va_arg(ap, const char *))
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	st = sl_test_run(argv, r.out, OUT_MAX, r.err, OUT_MAX);
	r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	r.json = json_loads(r.out, JSON_DECODE_ANY, NULL);
	return r;
}

/* A one-line error naming `needle`, non-zero exit, in both modes; never a crash. */
static void expect_error(struct fx *f, const char *needle, const char *a1, const char *a2,
			 const char *a3, const char *a4)
{
	struct run plain = ctl_run(f, a1, a2, a3, a4, NULL);
	struct run json = ctl_run(f, "-j", a1, a2, a3, a4, NULL);
	const char *msg;

	if (plain.status <= 0 || strncmp(plain.err, "Error: ", 7) != 0 ||
	    !strstr(plain.err, needle) ||
	    strchr(plain.err, '\n') != plain.err + strlen(plain.err) - 1 || plain.out[0])
		fail_msg("plain: status %d, stderr '%s', stdout '%s' (wanted an error naming '%s')",
			 plain.status, plain.err, plain.out, needle);
	assert_true(json.status > 0);
	assert_non_null(json.json);
	msg = json_string_value(json_object_get(json.json, "error"));
	if (!msg || !strstr(msg, needle) || json_object_size(json.json) != 1)
		fail_msg("json: '%s' (wanted {\"error\"} naming '%s')", json.out, needle);
	assert_int_equal(strchr(json.out, '\n') - json.out, (long)strlen(json.out) - 1);
	run_free(&plain);
	run_free(&json);
}

static json_t *find_by(json_t *arr, const char *key, const char *value)
{
	size_t i;
	json_t *o;

	json_array_foreach (arr, i, o)
		if (json_string_value(json_object_get(o, key)) &&
		    strcmp(json_string_value(json_object_get(o, key)), value) == 0)
			return o;
	return NULL;
}

static long long inum(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	if (!json_is_integer(v))
		fail_msg("field %s is not an integer", k);
	return json_integer_value(v);
}

static const char *sval(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	if (!s)
		fail_msg("field %s is not a string", k);
	return s;
}

static uint64_t cgid_of(struct fx *f, const char *id)
{
	json_t *arr = sandboxes(f), *o = find_by(arr, "id", id);
	uint64_t v;

	assert_non_null(o);
	v = (uint64_t)json_integer_value(json_object_get(o, "cgroup_id"));
	json_decref(arr);
	return v;
}

static void start_two(struct fx *f)
{
	const struct peer_pkg *pkg = pkg_script(f->p, actions_sh());

	fx_start(f, NULL);
	cold_start(f, "c-one", "actions", pkg, "", 128, 10000);
	cold_start(f, "c-two", "other", pkg, "", 256, 10000);
	struct peer_rx *rx = invoke(f, "r1", "c-one", "actions", "{}", false);

	expect_ok(rx, "done");
	peer_rx_free(rx);
}

/* sandbox list/show/dump in both modes, prefixes, filters. */
static void sandbox_commands(void **state)
{
	struct fx *f = *state;
	struct run r;
	json_t *o;
	char cg[24];

	start_two(f);
	snprintf(cg, sizeof(cg), "%llu", (unsigned long long)cgid_of(f, "c-one"));
	r = ctl_run(f, "-j", "sandbox", "list", NULL);
	assert_int_equal(r.status, 0);
	assert_true(json_is_array(r.json));
	o = find_by(r.json, "id", "c-one");
	assert_non_null(o);
	assert_string_equal(sval(o, "function"), "actions");
	assert_string_equal(sval(o, "version"), "$LATEST");
	/* busy until BPF sees it idle after its invocation, then idle and frozen */
	assert_true(strcmp(sval(o, "state"), "busy") == 0 ||
		    strcmp(sval(o, "state"), "idle") == 0 ||
		    strcmp(sval(o, "state"), "frozen") == 0);
	assert_int_equal(inum(o, "memory_mb"), 128);
	assert_int_equal(inum(o, "invocations"), 1);
	assert_int_equal(inum(o, "cgroup_id"), strtoll(cg, NULL, 10));
	assert_true(inum(o, "slot") >= 0 && inum(o, "slot") < SL_BPF_MAX_SANDBOXES);
	assert_true(inum(o, "cpu_ns") > 0);
	assert_true(inum(o, "rx_packets") > 0 && inum(o, "tx_packets") > 0); /* Runtime API */
	assert_true(inum(o, "rx_bytes") > inum(o, "rx_packets"));
	assert_int_equal(inum(o, "denied_connects"), 0);
	assert_int_equal(inum(o, "dropped_packets"), 0);
	assert_false(json_is_true(json_object_get(o, "pooled")));
	assert_string_equal(sval(find_by(r.json, "id", "c-two"), "function"), "other");
	run_free(&r);

	/* plain: both sandboxes, one block each */
	r = ctl_run(f, "sandbox", "list", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "c-one: actions:$LATEST"));
	assert_non_null(strstr(r.out, "c-two: other:$LATEST"));
	assert_non_null(strstr(r.out, "cpu "));
	assert_string_equal(r.err, "");
	run_free(&r);

	/* prefixes and the alias: "sb s" is "sandbox show"; filters by id (any of its ids) */
	r = ctl_run(f, "-j", "sb", "s", "id", "c-one", NULL);
	assert_int_equal(r.status, 0);
	assert_int_equal(json_array_size(r.json), 1);
	assert_string_equal(sval(json_array_get(r.json, 0), "id"), "c-one");
	run_free(&r);
	r = ctl_run(f, "-j", "sa", "sh", "i", cg, NULL);
	assert_int_equal(r.status, 0);
	assert_int_equal(json_array_size(r.json), 1);
	assert_string_equal(sval(json_array_get(r.json, 0), "id"), "c-one");
	run_free(&r);
	r = ctl_run(f, "-j", "sandbox", "list", "function", "other", NULL);
	assert_int_equal(json_array_size(r.json), 1);
	assert_string_equal(sval(json_array_get(r.json, 0), "id"), "c-two");
	run_free(&r);

	/* dump: one object with every counter; plain: one "key value" line each */
	r = ctl_run(f, "-p", "sandbox", "dump", "id", "c-two", NULL);
	assert_int_equal(r.status, 0);
	assert_true(json_is_object(r.json));
	assert_string_equal(sval(r.json, "id"), "c-two");
	assert_int_equal(inum(r.json, "memory_mb"), 256);
	assert_true(inum(r.json, "idle_threshold_ns") > 0);
	assert_true(json_is_array(json_object_get(r.json, "rules")));
	assert_true(strchr(r.out, '\n') < r.out + strlen(r.out) - 1); /* pretty: many lines */
	run_free(&r);
	r = ctl_run(f, "sandbox", "dump", "id", "c-two", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "function             other\n"));
	assert_non_null(strstr(r.out, "switches "));
	run_free(&r);
}

/* prog show (with --stats: statistics on meanwhile, restored after), map show/dump, policy. */
static void prog_map_policy_commands(void **state)
{
	struct fx *f = *state;
	struct run r;
	json_t *o;
	long before, after;
	char cg[24];

	start_two(f);
	snprintf(cg, sizeof(cg), "%llu", (unsigned long long)cgid_of(f, "c-one"));
	r = ctl_run(f, "-j", "prog", "show", NULL);
	assert_int_equal(r.status, 0);
	o = find_by(r.json, "name", "sl_skb_egress");
	assert_non_null(o);
	assert_string_equal(sval(o, "type"), "cgroup_skb");
	assert_non_null(strstr(sval(o, "attach"), "inet_egress"));
	assert_true(inum(o, "id") > 0);
	assert_true(inum(o, "run_cnt") >= 0 && inum(o, "run_time_ns") >= 0);
	o = find_by(r.json, "name", "sl_sched_switch");
	if (!o)
		o = find_by(r.json, "name", "sl_sched_switch_hash");
	assert_non_null(o);
	assert_string_equal(sval(o, "type"), "tracing");
	assert_non_null(find_by(r.json, "name", "sl_clock"));
	run_free(&r);

	before = peer_read_long("/proc/sys/kernel", "bpf_stats_enabled");
	r = ctl_run(f, "-j", "prog", "show", "--stats", "duration", "0.5", NULL);
	after = peer_read_long("/proc/sys/kernel", "bpf_stats_enabled");
	assert_int_equal(r.status, 0);
	assert_int_equal(before, after);
	o = find_by(r.json, "name", "sl_sched_switch");
	if (!o)
		o = find_by(r.json, "name", "sl_sched_switch_hash");
	assert_true(inum(o, "run_cnt") > 0); /* half a second of context switches */
	assert_true(json_real_value(json_object_get(o, "ns_per_run")) > 0);
	assert_true(json_is_true(json_object_get(o, "stats_window")));
	run_free(&r);
	r = ctl_run(f, "prog", "show", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "name sl_skb_ingress"));
	assert_non_null(strstr(r.out, "ns/run"));
	run_free(&r);

	r = ctl_run(f, "-j", "map", "show", NULL);
	assert_int_equal(r.status, 0);
	o = find_by(r.json, "name", "sl_sandboxes");
	assert_non_null(o);
	assert_string_equal(sval(o, "type"), "array");
	assert_int_equal(inum(o, "max_entries"), SL_BPF_MAX_SANDBOXES);
	assert_int_equal(inum(o, "value_size"), sizeof(struct sl_bpf_sandbox));
	run_free(&r);
	r = ctl_run(f, "-j", "map", "dump", "name", "sl_sandboxes", NULL);
	assert_int_equal(r.status, 0);
	{
		bool found = false;
		size_t i;

		json_array_foreach (r.json, i, o)
			if (inum(o, "cgroup_id") == strtoll(cg, NULL, 10)) {
				found = true;
				assert_true(inum(o, "idle_ns") > 0);
				assert_false(json_is_true(json_object_get(o, "policy")));
			}
		assert_true(found);
	}
	run_free(&r);
	r = ctl_run(f, "-j", "m", "d", "n", "sl_meta", NULL);
	assert_int_equal(r.status, 0);
	assert_int_equal(inum(json_array_get(r.json, 0), "abi_version"), SL_BPF_ABI_VERSION);
	run_free(&r);
	r = ctl_run(f, "map", "dump", "name", "sl_index", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, cg));
	assert_non_null(strstr(r.out, "Found "));
	run_free(&r);

	r = ctl_run(f, "-j", "policy", "show", "id", "c-one", NULL);
	assert_int_equal(r.status, 0);
	assert_string_equal(sval(r.json, "id"), "c-one");
	assert_false(json_is_true(json_object_get(r.json, "allow_list")));
	assert_int_equal(json_array_size(json_object_get(r.json, "rules")), 0);
	assert_int_equal(inum(r.json, "denied_connects"), 0);
	assert_int_equal(inum(r.json, "dropped_packets"), 0);
	assert_true(json_array_size(json_object_get(r.json, "denied_ports")) >= 1);
	run_free(&r);
	r = ctl_run(f, "po", "s", "id", "c-one", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "no allow-list"));
	assert_non_null(strstr(r.out, "denied connects 0"));
	run_free(&r);
}

/* kill through the agent; then bad input, the agent down, another schema. */
static void kill_and_bad_input(void **state)
{
	struct fx *f = *state;
	struct run r;
	char other[64], meta[160], saved[sizeof(f->p->pin_root)];
	struct sl_bpf_meta m = {.abi_version = 99};
	uint32_t key = 0;
	int fd;

	start_two(f);
	r = ctl_run(f, "-j", "sandbox", "kill", "id", "c-two", NULL);
	assert_int_equal(r.status, 0);
	assert_string_equal(sval(r.json, "id"), "c-two");
	assert_string_equal(sval(r.json, "status"), "killed");
	run_free(&r);
	expect_event(f, "c-two", SL_SANDBOX_DESTROYED, SL_REASON_COMMAND);
	r = ctl_run(f, "sandbox", "kill", "id", "c-one", NULL);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "sandbox c-one killed\n");
	run_free(&r);
	expect_event(f, "c-one", SL_SANDBOX_DESTROYED, SL_REASON_COMMAND);

	expect_error(f, "unknown object 'bogus'", "bogus", NULL, NULL, NULL);
	expect_error(f, "ambiguous object 'p': could be prog, policy", "p", "show", NULL, NULL);
	expect_error(f, "unknown sandbox command 'frob'", "sandbox", "frob", NULL, NULL);
	expect_error(f, "no sandbox with id 'nope'", "sandbox", "show", "id", "nope");
	expect_error(f, "no sandbox with id 'nope'", "sandbox", "kill", "id", "nope");
	expect_error(f, "no sandbox with id 'nope'", "policy", "show", "id", "nope");
	expect_error(f, "unknown keyword 'colour'", "sandbox", "show", "colour", "red");
	expect_error(f, "'id' needs a value", "sandbox", "dump", "id", NULL);
	expect_error(f, "no pinned map named 'sl_nope'", "map", "dump", "name", "sl_nope");
	expect_error(f, "control node", "function", "list", NULL, NULL);

	/* the agent down: pinned state still answers (with a warning); kill says why not */
	assert_true(peer_agent_stop(f->p, SIGTERM, WAIT_MS) >= 0);
	r = ctl_run(f, "-j", "prog", "show", NULL);
	assert_int_equal(r.status, 0);
	assert_true(json_array_size(r.json) > 0);
	run_free(&r);
	r = ctl_run(f, "-j", "sandbox", "list", NULL);
	assert_int_equal(r.status, 0);
	assert_true(json_is_array(r.json));
	assert_non_null(strstr(r.err, "not answering"));
	run_free(&r);
	expect_error(f, "not answering", "sandbox", "kill", "id", "c-one");

	/* a pin root of another schema version */
	snprintf(other, sizeof(other), "/sys/fs/bpf/sandlot-test-ctl-%d", getpid());
	snprintf(meta, sizeof(meta), "%s/sl_meta", other);
	assert_int_equal(mkdir(other, 0700), 0);
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "sl_meta", 4, sizeof(m), 1, NULL);
	assert_true(fd >= 0);
	assert_int_equal(bpf_map_update_elem(fd, &key, &m, 0), 0);
	assert_int_equal(bpf_obj_pin(fd, meta), 0);
	close(fd);
	snprintf(saved, sizeof(saved), "%s", f->p->pin_root);
	snprintf(f->p->pin_root, sizeof(f->p->pin_root), "%s", other);
	expect_error(f, "schema version 99", "sandbox", "list", NULL, NULL);
	expect_error(f, "schema version 99", "prog", "show", NULL, NULL);
	snprintf(f->p->pin_root, sizeof(f->p->pin_root), "%s", saved);
	unlink(meta);
	rmdir(other);
}

/* kill_and_bad_input's pin root of another schema goes even when the test failed. */
static int teardown_other_schema(void **state)
{
	struct fx *f = *state;
	char path[96];

	snprintf(path, sizeof(path), "/sys/fs/bpf/sandlot-test-ctl-%d/sl_meta", getpid());
	unlink(path);
	*strrchr(path, '/') = '\0';
	rmdir(path);
	if (f && f->p) /* the test points it elsewhere for a while */
		snprintf(f->p->pin_root, sizeof(f->p->pin_root), PEER_PIN_ROOT, (int)getpid());
	return fx_teardown(state);
}

/* tmux: runs cmd in a detached 160x40 session; returns once it shows `want` (or fails). */
static void tmux_wait_for(const char *sess, const char *want, char *screen, size_t len)
{
	char *argv[] = {"tmux", "capture-pane", "-p", "-t", (char *)sess, NULL};
	uint64_t until = sl_now_ns() + WAIT_MS * SL_NSEC_PER_MSEC;

	do {
		sl_test_run(argv, screen, len, NULL, 0);
		if (strstr(screen, want))
			return;
		usleep(100000);
	} while (sl_now_ns() < until);
	fail_msg("the terminal never showed '%s':\n%s", want, screen);
}

static void top_in_a_terminal(void **state)
{
	struct fx *f = *state;
	char sess[64], cmd[1024], screen[16384], stty_file[128], *stty = NULL;
	const char *bin = getenv("SANDLOTCTL");
	size_t len;

	start_two(f);
	snprintf(sess, sizeof(sess), "sl-top-%d", getpid());
	snprintf(stty_file, sizeof(stty_file), "/tmp/sl-top-stty-%d", getpid());
	/* after top: the terminal's settings, then a marker */
	snprintf(cmd, sizeof(cmd),
		 "%s --pin-root %s --agent %s top delay 0.2; echo exit=$?; stty -a > %s; echo "
		 "TOP-DONE; sleep 30",
		 bin, f->p->pin_root, f->p->http, stty_file);
	char *start[] = {"tmux", "new-session", "-d", "-s", sess, "-x",
			 "160",	 "-y",		"40", cmd,  NULL};
	char *kill_s[] = {"tmux", "kill-session", "-t", sess, NULL};

	assert_int_equal(sl_test_run(start, NULL, 0, NULL, 0), 0);
	tmux_wait_for(sess, "c-one", screen, sizeof(screen));
	assert_non_null(strstr(screen, "c-two"));
	assert_non_null(strstr(screen, "SANDBOX"));
	assert_non_null(strstr(screen, "CPU%"));
	/* sort by id, then quit with q */
	char *key_i[] = {"tmux", "send-keys", "-t", sess, "i", NULL};
	char *key_q[] = {"tmux", "send-keys", "-t", sess, "q", NULL};
	assert_int_equal(sl_test_run(key_i, NULL, 0, NULL, 0), 0);
	tmux_wait_for(sess, "sort: i", screen, sizeof(screen));
	assert_true(strstr(screen, "c-one") < strstr(screen, "c-two"));
	assert_int_equal(sl_test_run(key_q, NULL, 0, NULL, 0), 0);
	tmux_wait_for(sess, "TOP-DONE", screen, sizeof(screen));
	assert_non_null(strstr(screen, "exit=0"));
	assert_null(strstr(screen, "SANDBOX")); /* the alternate screen is gone */
	assert_int_equal(peer_read_file(stty_file, (void **)&stty, &len), 0);
	assert_non_null(strstr(stty, " icanon"));
	assert_non_null(strstr(stty, " echo "));
	assert_null(strstr(stty, "-icanon"));
	free(stty);
	unlink(stty_file);
	sl_test_run(kill_s, NULL, 0, NULL, 0);

	/* Ctrl-C quits as cleanly */
	assert_int_equal(sl_test_run(start, NULL, 0, NULL, 0), 0);
	tmux_wait_for(sess, "c-one", screen, sizeof(screen));
	char *key_c[] = {"tmux", "send-keys", "-t", sess, "C-c", NULL};
	assert_int_equal(sl_test_run(key_c, NULL, 0, NULL, 0), 0);
	tmux_wait_for(sess, "TOP-DONE", screen, sizeof(screen));
	assert_int_equal(peer_read_file(stty_file, (void **)&stty, &len), 0);
	assert_null(strstr(stty, "-icanon"));
	assert_null(strstr(stty, "-echo "));
	free(stty);
	unlink(stty_file);
	sl_test_run(kill_s, NULL, 0, NULL, 0);

	/* without a terminal, or under -j: snapshots */
	struct run r = ctl_run(f, "-j", "top", "count", "2", "delay", "0.1", NULL);
	assert_int_equal(r.status, 0);
	json_decref(r.json);
	r.json = json_loads(strchr(r.out, '\n') + 1, 0, NULL); /* the second snapshot */
	assert_non_null(find_by(r.json, "id", "c-one"));
	assert_true(json_is_real(json_object_get(find_by(r.json, "id", "c-one"), "cpu_percent")));
	run_free(&r);
}

/* help at every level, version: plain text and valid JSON. */
static void help_and_version(void **state)
{
	struct fx *f = *state;
	const char *objs[] = {"sandbox", "prog", "map", "policy", "top"};
	struct run r;

	r = ctl_run(f, "help", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.err, "Usage: sandlotctl"));
	run_free(&r);
	for (size_t i = 0; i < ARRAY_SIZE(objs); i++) {
		r = ctl_run(f, objs[i], "help", NULL);
		assert_int_equal(r.status, 0);
		assert_non_null(strstr(r.err, "Usage: sandlotctl"));
		assert_non_null(strstr(r.err, objs[i]));
		run_free(&r);
		r = ctl_run(f, "-j", objs[i], "help", NULL);
		assert_int_equal(r.status, 0);
		assert_non_null(r.json);
		run_free(&r);
	}
	r = ctl_run(f, "-j", "version", NULL);
	assert_int_equal(r.status, 0);
	assert_string_equal(sval(r.json, "version"), SANDLOT_VERSION);
	assert_int_equal(inum(r.json, "bpf_abi_version"), SL_BPF_ABI_VERSION);
	run_free(&r);
	r = ctl_run(f, "v", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "sandlotctl v" SANDLOT_VERSION));
	run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(sandbox_commands, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(prog_map_policy_commands, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(kill_and_bad_input, fx_setup,
						teardown_other_schema),
		cmocka_unit_test_setup_teardown(top_in_a_terminal, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(help_and_version, fx_setup, fx_teardown),
	};

	if (getenv("SL_TEST_FILTER"))
		cmocka_set_test_filter(getenv("SL_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}

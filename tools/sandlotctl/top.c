// SPDX-License-Identifier: Apache-2.0
/*
 * sandlotctl top [delay SECONDS] [count N]: a live per-sandbox view (CPU %, network rates,
 * state, function), refreshed every delay, sorted by CPU (keys: c CPU, n network, i id,
 * f function, s state; q or Ctrl-C quits). The terminal is put in raw mode on the alternate
 * screen and restored on every way out. Under -j, or when stdout is not a terminal, it prints
 * count snapshots (default 1), one JSON array (or table) each.
 */
#include "main.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define TOP_ROWS_MAX 4096

struct row {
	json_t *o;
	double cpu_pct, rx_rate, tx_rate;
};

static struct termios saved_tio;
static bool tio_saved;
static volatile sig_atomic_t stop_sig;
static char sort_key = 'c';

static void on_signal(int sig)
{
	stop_sig = sig;
}

static void term_restore(void)
{
	if (!tio_saved)
		return;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
	fputs("\033[?25h\033[?1049l", stdout); /* cursor back, main screen back */
	fflush(stdout);
	tio_saved = false;
}

static int term_raw(void)
{
	struct termios t;

	if (tcgetattr(STDIN_FILENO, &saved_tio) < 0)
		return -errno;
	tio_saved = true;
	t = saved_tio;
	t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) < 0)
		return -errno;
	fputs("\033[?1049h\033[?25l", stdout); /* alternate screen, no cursor */
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static long long num(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "-";
}

/* Rates against the previous sample (prev: cgroup id -> object), as fields of each object. */
static void add_rates(json_t *arr, json_t *prev, double dt)
{
	size_t i;
	json_t *o;

	json_array_foreach (arr, i, o) {
		char k[24];
		json_t *p;

		snprintf(k, sizeof(k), "%lld", num(o, "cgroup_id"));
		p = json_object_get(prev, k);
		double cpu =
			p && dt > 0 ? (double)(num(o, "cpu_ns") - num(p, "cpu_ns")) / 1e9 / dt : 0;
		double rx =
			p && dt > 0 ? (double)(num(o, "rx_bytes") - num(p, "rx_bytes")) / dt : 0;
		double tx =
			p && dt > 0 ? (double)(num(o, "tx_bytes") - num(p, "tx_bytes")) / dt : 0;

		json_object_set_new(o, "cpu_percent", json_real(cpu > 0 ? cpu * 100 : 0));
		json_object_set_new(o, "rx_bytes_per_second", json_real(rx > 0 ? rx : 0));
		json_object_set_new(o, "tx_bytes_per_second", json_real(tx > 0 ? tx : 0));
	}
	json_object_clear(prev);
	json_array_foreach (arr, i, o) {
		char k[24];

		snprintf(k, sizeof(k), "%lld", num(o, "cgroup_id"));
		json_object_set(prev, k, o);
	}
}

static double real(json_t *o, const char *k)
{
	return json_real_value(json_object_get(o, k));
}

static int cmp_rows(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	double d = 0;

	switch (sort_key) {
	case 'n':
		d = real(y, "rx_bytes_per_second") + real(y, "tx_bytes_per_second") -
		    real(x, "rx_bytes_per_second") - real(x, "tx_bytes_per_second");
		break;
	case 'i':
		return strcmp(str(x, "id"), str(y, "id"));
	case 'f':
		return strcmp(str(x, "function"), str(y, "function"));
	case 's':
		return strcmp(str(x, "state"), str(y, "state"));
	default:
		d = real(y, "cpu_percent") - real(x, "cpu_percent");
	}
	return d > 0 ? 1 : d < 0 ? -1 : 0;
}

static void draw(json_t *arr, bool agent_up, bool screen)
{
	json_t *rows[TOP_ROWS_MAX];
	size_t n = 0, i;
	json_t *o;

	json_array_foreach (arr, i, o)
		if (n < TOP_ROWS_MAX)
			rows[n++] = o;
	qsort(rows, n, sizeof(rows[0]), cmp_rows);
	if (screen)
		fputs("\033[H\033[2J", stdout);
	printf("sandlotctl top - %zu sandboxes%s - sort: %c (c cpu, n net, i id, f function, s "
	       "state; q quits)\n\n",
	       n, agent_up ? "" : " (agent not answering: no names)", sort_key);
	printf("%-24s %-24s %-8s %7s %12s %12s %8s %6s\n", "SANDBOX", "FUNCTION", "STATE", "CPU%",
	       "RX B/s", "TX B/s", "MEM MB", "INVOC");
	for (i = 0; i < n; i++) {
		o = rows[i];
		printf("%-24.24s %-24.24s %-8s %7.1f %12.0f %12.0f %8lld %6lld\n", str(o, "id"),
		       str(o, "function"), str(o, "state"), real(o, "cpu_percent"),
		       real(o, "rx_bytes_per_second"), real(o, "tx_bytes_per_second"),
		       num(o, "memory_mb"), num(o, "invocations"));
	}
	fflush(stdout);
}

/* Waits up to ms for a key; handles it. Returns false to quit. */
static bool wait_key(int ms, bool interactive)
{
	struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
	char c;

	if (!interactive) {
		poll(NULL, 0, ms);
		return !stop_sig;
	}
	if (poll(&p, 1, ms) > 0 && read(STDIN_FILENO, &c, 1) == 1) {
		if (c == 'q' || c == 'Q' || c == 3)
			return false;
		if (strchr("cnifs", c))
			sort_key = c;
	}
	return !stop_sig;
}

static int parse_args(int argc, char **argv, double *delay, long *count)
{
	static const char *const keys[] = {"delay", "count"};
	const char *d = NULL, *c = NULL, **vals[] = {&d, &c};
	char *end;
	int r = parse_filters(argc, argv, keys, vals, 2);

	if (r)
		return r;
	if (d && (*delay = strtod(d, &end), *end || !(*delay >= 0.1 && *delay <= 3600)))
		return fail("bad delay '%s' (seconds, 0.1 to 3600)", d);
	if (c && (*count = strtol(c, &end, 10), *end || *count < 1 || *count > 1000000))
		return fail("bad count '%s' (1 to 1000000)", c);
	return 0;
}

static int top_loop(double delay, long count, bool interactive)
{
	json_t *prev = json_object(), *arr;
	uint64_t t0 = 0;
	bool up;
	int r = 0;

	for (long i = 0; !count || i < count; i++) {
		uint64_t t = now_ns();

		r = sandbox_collect(&arr, &up);
		if (r)
			break;
		add_rates(arr, prev, t0 ? (double)(t - t0) / 1e9 : 0);
		t0 = t;
		if (ctl.json)
			emit(json_incref(arr), NULL);
		else
			draw(arr, up, interactive);
		json_decref(arr);
		if ((count && i + 1 >= count) || !wait_key((int)(delay * 1000), interactive))
			break;
	}
	json_decref(prev);
	return r;
}

static int do_run(int argc, char **argv)
{
	double delay = 1;
	long count = 0;
	bool interactive = !ctl.json && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	struct sigaction sa = {.sa_handler = on_signal};
	int r = parse_args(argc, argv, &delay, &count);

	if (r)
		return r;
	if (!interactive && !count)
		count = 1;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (interactive && term_raw() < 0) {
		term_restore();
		return fail("cannot set up the terminal: %s", strerror(errno));
	}
	atexit(term_restore);
	r = top_loop(delay, count, interactive);
	term_restore();
	return r;
}

int do_top(int argc, char **argv)
{
	if (argc && (strcmp(argv[0], "help") == 0 || is_prefix(argv[0], "help"))) {
		if (ctl.json)
			return emit(json_pack("{s:s}", "help", "sandlotctl top help"), NULL);
		fprintf(stderr, "Usage: sandlotctl top [delay SECONDS] [count N]\n"
				"       sandlotctl top help\n"
				"\n"
				"Keys: c CPU, n network, i id, f function, s state (sort); q or "
				"Ctrl-C quits.\n");
		return 0;
	}
	return do_run(argc, argv);
}

// SPDX-License-Identifier: Apache-2.0
/*
 * bench/invoke: warm invocations end to end (HTTP client -> sandlot-control -> agent -> sandbox
 * -> back) with the C example, at 1, 4 and 16 concurrent clients, each row beside baselines
 * from the same run:
 *   - an HTTP echo round trip through libmicrohttpd on loopback (lib/http in an sl_loop, as the
 *     control node runs it), with the same clients, requests and SigV4 signing;
 *   - the agent-direct warm invoke, as bench/invoke-agent measures it (run as a child:
 *     SL_BENCH_ONLY=warm1769, its output printed as is).
 * Under each warm row: cold starts among its invocations (0 expected) and the CPU time per
 * invocation of the control node and of the agent (all their threads, /proc/PID/task/T/schedstat).
 * First, cold invocations end to end (cold_invokes()), beside the agent's CREATE -> ready that
 * invoke-agent's cold phase prints at the end (SL_BENCH_ONLY=warm1769,cold).
 * Then asynchronous accepts (InvocationType Event, 202 once committed) at 1, 4 and 16 clients
 * beside one fsync round on the store's disk (accept p99 / fsync p50) and the warm invoke rate
 * of the same clients; then, on an idle system, the delay from an event's 202 to the end of
 * its run as the control node stamps it in its outcome record (an upper bound of the delay to
 * the start of execution) beside a warm synchronous invoke, both one request at a time.
 * SL_BENCH_ASYNC_PARKED=1 sets the function's reserved concurrency to 0 before the accept rows
 * (a diagnosis: accepts alone, the events not running behind them) and skips the delay rows.
 * Clients are threads, each with one libcurl handle on a kept-alive connection, signing every
 * request (control/sigv4.h). The function has 1024 MB: 16 sandboxes of it fit in the agent's
 * default memory capacity here (1769 MB ones did not: 10 fit, and the rest failed placement).
 *
 * Usage: invoke [N [COLD_N]]   (requests per client count and phase, default 2000; cold
 * invokes, default 30, 0: none). Needs root (the agent); run it under /tmp/sandlot-priv.lock
 * beside other tests. SL_BENCH_CONTROL=PATH runs another sandlot-control binary (to compare
 * builds in alternated runs).
 *
 * Findings, warm and cold rows (2-vCPU VM shared with other helpers' builds and tests: p50s move
 * by 2x between runs; the CPU per invocation moves less). Before = main at b165a4d, after = the
 * SigV4, id and MHD pool changes; four runs each, alternated, N = 2000, 1 client, us:
 *               echo p50  e2e p50 / p99   agent-direct p50 / p99  added p50 (2x echo)  ctl CPU
 *   before      64.7     284.2 / 445     105.5 / 162             178.7 (129.4)        -
 *               31.9     237.0 / 3728    124.9 / 1833            112.1 (63.8)         -
 *               59.2     216.7 / 285     129.4 / 251             87.3 (118.4)         111.5
 *               46.9     165.3 / 272     79.9 / 151              85.4 (93.8)          89.0
 *   after       46.3     239.1 / 1588    88.4 / 1710             150.7 (92.6)         -
 *               65.7     222.3 / 312     129.0 / 174             93.3 (131.4)         -
 *               43.7     142.5 / 217     87.6 / 142              54.9 (87.4)          66.8
 *               40.4     166.6 / 3351    82.7 / 144              83.9 (80.8)          68.5
 * The control node's CPU per warm invocation at 1 / 4 / 16 clients went from 111.5 / 74.1 /
 * 67.2 and 89.0 / 64.8 / 55.0 us to 66.8 / 46.1 / 37.6 and 68.5 / 50.0 / 62.0 us. The target
 * (added p50 <= 2x echo p50) is met in 2 of 4 runs after (a third misses by 3 us), and in 2
 * of 4 before: at p50 the host's noise is larger than the gain; added p99 <= 3x echo p99 in 3 of 4
 * runs of each, the fourth a 1.6-3.4 ms spike of the shared host; at 16 clients the rate is 55-97%
 * of agent-direct's after (>= 60% in 3 of 4), 62-100% before. Where the rest of the overhead goes:
 * docs/control.md. Cold (1769 MB, n = 30, six of these runs): end to end p50 1.69-2.37 ms against
 * CREATE -> ready 1.27-1.67 ms, 1.04-1.62x (<= 1.3x in 2 of 6; target 1.3x); its p99 (the slowest
 * of 30) 13-22 ms. The ratio drifts with the host because the two halves run minutes apart. The
 * agent's debug log shows why it stays above 1.3x in most runs: CREATE -> ready leaves out the
 * first invocation, which in a fresh sandbox takes 150-510 us in the agent (a warm one ~20 us), and
 * the end-to-end figure also holds the HTTP round trip and the control node (~60 + ~70 us).
 *
 * Resumes run through MHD once per loop turn, the follow-up runs in a row (lib/http.c), three
 * rounds alternated on the same shared VM, A = main at c7ee285, B = that change, each with its
 * own bench binary (the echo uses lib/http too), `invoke 2000 0`, 1 client, us:
 *        echo p50  e2e p50 / p99   agent-direct p50 / p99  added p50 (2x echo)  ctl CPU 1/4/16
 *   A    65.6      235.8 / 361     139.2 / 249             96.6 (131.2)         103.6/74.5/46.3
 *   B    61.0      212.8 / 282     91.5 / 132              121.3 (122.0)        79.7/61.1/48.9
 *   A    68.5      231.0 / 314     100.4 / 251             130.6 (137.0)        105.1/64.3/64.5
 *   B    32.1      298.6 / 3288    118.2 / 172             180.4 (64.2)         118.8/85.9/44.2
 *   A    76.4      230.0 / 365     109.9 / 163             120.1 (152.8)        98.0/67.8/53.9
 *   B    57.1      189.0 / 246     95.2 / 140              93.8 (114.2)         79.0/59.6/45.3
 * The second B run was a noisy one (the agent's CPU per invocation rose with the control's,
 * 117 against 64-91 us elsewhere). The p50 target is met in all three A runs and two of three
 * B runs; the control node's CPU per invocation at one client fell from 98-105 to 79-80 us in
 * the two quiet B runs. strace -c -f on the control node for 2 s inside the one-client row
 * (`invoke 6000 0`, all threads; strace itself slows the node 2-3x): 23.2 system calls per
 * invocation before (21.3 without futex), 27.4 after (21.8 without futex); the loop's own
 * waits (epoll_pwait2) 2.73 -> 2.32 per invocation, MHD's and nanomsg's epoll_wait 5.67 -> 6.28:
 * the change saves loop turns, not system calls. Per-invocation timers cost none (a heap in
 * lib/loop.c, no timerfd).
 */
#include <sandlot/http.h>
#include <sandlot/loop.h>
#include <sandlot/time.h>
#include <sandlot/util.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>
#include <curl/curl.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <time.h>

#include "sigv4.h"

#define KEY_ID	   "AKIABENCHINVOKE00001"
#define SECRET	   "benchSecretbenchSecretbenchSecret000001"
#define ACCOUNT	   "123456789012"
#define MAX_CLIENT 16
#define PAYLOAD	   "{\"hello\":\"world\"}"

static char base[128], http_addr[64], echo_addr[64];
static bool event_mode; /* InvocationType Event: 202 expected */
static pid_t control_pid = -1, agent_pid = -1;

static int free_port(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static int write_file(const char *name, const void *data, size_t len)
{
	char path[256];
	int fd, ok;

	snprintf(path, sizeof(path), "%s/%s", base, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	ok = write(fd, data, len) == (ssize_t)len;
	close(fd);
	return ok ? 0 : -EIO;
}

static pid_t spawn(const char *const *argv, const char *log)
{
	char path[256];
	pid_t pid = fork();

	if (pid == 0) {
		int fd;

		snprintf(path, sizeof(path), "%s/%s", base, log);
		fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* ---- HTTP client ---- */

struct resp {
	char buf[4096];
	size_t len;
};

static size_t on_body_big(char *p, size_t size, size_t n, void *data);

static size_t on_body(char *p, size_t size, size_t n, void *data)
{
	struct resp *r = data;
	size_t k = MIN(size * n, sizeof(r->buf) - 1 - r->len);

	memcpy(r->buf + r->len, p, k);
	r->len += k;
	r->buf[r->len] = '\0';
	return size * n;
}

/* on_body into a 64 KB buffer (a /metrics scrape). */
static size_t on_body_big(char *p, size_t size, size_t n, void *data)
{
	struct {
		char buf[64 << 10];
		size_t len;
	} *r = data;
	size_t k = MIN(size * n, sizeof(r->buf) - 1 - r->len);

	memcpy(r->buf + r->len, p, k);
	r->len += k;
	r->buf[r->len] = '\0';
	return size * n;
}

/* The value of an unlabelled metric of the control node, -1 when absent. */
static double control_metric(const char *name)
{
	CURL *c = curl_easy_init();
	static struct {
		char buf[64 << 10];
		size_t len;
	} r;
	char url[128], key[128], *p;
	double v = -1;

	r.len = 0;
	r.buf[0] = '\0';
	snprintf(url, sizeof(url), "http://%s/metrics", http_addr);
	snprintf(key, sizeof(key), "\n%s ", name);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body_big);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	if (curl_easy_perform(c) == CURLE_OK && (p = strstr(r.buf, key)))
		v = strtod(p + strlen(key), NULL);
	curl_easy_cleanup(c);
	return v;
}

/* One signed request on c (kept alive). Returns the HTTP status or -1. */
static long request(CURL *c, const char *addr, const char *method, const char *path,
		    const char *body, struct resp *out)
{
	char date[32], host[80], url[256], auth[512], hdr_auth[600], hdr_date[64];
	time_t now = time(NULL);
	struct tm tm;
	struct sl_sigv4_header h[2] = {{"host", host}, {"x-amz-date", date}};
	struct sl_sigv4_request req = {.method = method,
				       .path = path,
				       .query = "",
				       .headers = h,
				       .nheaders = 2,
				       .body = body,
				       .body_len = strlen(body)};
	struct curl_slist *hs = NULL;
	long code = -1;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(host, sizeof(host), "%s", addr);
	if (sl_sigv4_sign(&req, KEY_ID, SECRET, "us-east-1", "lambda", date, auth, sizeof(auth)) <
	    0)
		return -1;
	snprintf(hdr_auth, sizeof(hdr_auth), "Authorization: %s", auth);
	snprintf(hdr_date, sizeof(hdr_date), "X-Amz-Date: %s", date);
	hs = curl_slist_append(hs, hdr_auth);
	hs = curl_slist_append(hs, hdr_date);
	hs = curl_slist_append(hs, "Content-Type: application/json");
	hs = curl_slist_append(hs, "Expect:");
	if (event_mode)
		hs = curl_slist_append(hs, "X-Amz-Invocation-Type: Event");
	snprintf(url, sizeof(url), "http://%s%s", addr, path);
	out->len = 0;
	out->buf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(hs);
	return code;
}

/* ---- load ---- */

struct client {
	pthread_t t;
	const char *addr, *path;
	unsigned n;
	uint64_t *lat;
	unsigned errors;
};

static void *client_main(void *data)
{
	struct client *cl = data;
	CURL *c = curl_easy_init();
	struct resp r;

	for (unsigned i = 0; i < cl->n; i++) {
		uint64_t t0 = sl_now_ns();
		long code = request(c, cl->addr, "POST", cl->path, PAYLOAD, &r);

		cl->lat[i] = sl_now_ns() - t0;
		cl->errors += code != (event_mode ? 202 : 200);
	}
	curl_easy_cleanup(c);
	return NULL;
}

/* The figures of the last load() row. */
struct row {
	double p50_us, p99_us, rate;
};
static struct row last_row;

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Runs k clients of n requests each; prints p50/p99/p999 and the rate. */
static void load(const char *what, const char *addr, const char *path, unsigned k, unsigned n)
{
	struct client cl[MAX_CLIENT];
	uint64_t *all = calloc((size_t)k * n, sizeof(*all)), t0, wall;
	unsigned errors = 0;

	t0 = sl_now_ns();
	for (unsigned i = 0; i < k; i++) {
		cl[i] = (struct client){.addr = addr, .path = path, .n = n, .lat = all + i * n};
		pthread_create(&cl[i].t, NULL, client_main, &cl[i]);
	}
	for (unsigned i = 0; i < k; i++) {
		pthread_join(cl[i].t, NULL);
		errors += cl[i].errors;
	}
	wall = sl_now_ns() - t0;
	qsort(all, (size_t)k * n, sizeof(*all), cmp_u64);
	printf("  %-34s %2u clients  p50 %8.1f us  p99 %8.1f us  p999 %8.1f us  %8.0f/s%s\n", what,
	       k, all[(size_t)k * n / 2] / 1e3, all[(size_t)k * n * 99 / 100] / 1e3,
	       all[(size_t)k * n * 999 / 1000] / 1e3, (double)k * n / (wall / 1e9),
	       errors ? "  (errors!)" : "");
	last_row = (struct row){all[(size_t)k * n / 2] / 1e3, all[(size_t)k * n * 99 / 100] / 1e3,
				(double)k * n / (wall / 1e9)};
	free(all);
}

/* One fsync of a small write in the store's directory, p50 and p99 over n rounds: the cost a
 * synced commit cannot go under. */
static struct row fsync_rounds(unsigned n)
{
	char path[160];
	uint64_t *lat = calloc(n, sizeof(*lat));
	struct row out = {0};
	int fd;

	snprintf(path, sizeof(path), "%s/data/fsync-probe", base);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || !lat) {
		free(lat);
		return out;
	}
	for (unsigned i = 0; i < n; i++) {
		uint64_t t0 = sl_now_ns();

		if (pwrite(fd, "x", 1, i) != 1 || fdatasync(fd) < 0)
			break;
		lat[i] = sl_now_ns() - t0;
	}
	close(fd);
	unlink(path);
	qsort(lat, n, sizeof(*lat), cmp_u64);
	printf("  %-34s            p50 %8.1f us  p99 %8.1f us\n", "fsync round (same disk)",
	       lat[n / 2] / 1e3, lat[n * 99 / 100] / 1e3);
	out = (struct row){lat[n / 2] / 1e3, lat[n * 99 / 100] / 1e3, 0};
	free(lat);
	return out;
}

/* ---- async rows ---- */

#define DELAY_EVENTS 200
#define DELAY_GAP_US 20000 /* between requests: each finds the system idle */

/* Keeps the x-amzn-RequestId of a response. */
static size_t on_header(char *p, size_t size, size_t n, void *data)
{
	static const char h[] = "x-amzn-requestid:";
	char *rid = data;
	size_t len = size * n;

	if (len > sizeof(h) + 36 - 1 && strncasecmp(p, h, sizeof(h) - 1) == 0) {
		const char *v = p + sizeof(h) - 1;

		while (*v == ' ')
			v++;
		if ((size_t)(p + len - v) >= 36) {
			memcpy(rid, v, 36);
			rid[36] = '\0';
		}
	}
	return len;
}

/* The outcome of request id rid as the store records it (its run's end, wall clock), 0 when
 * there is none yet. */
static uint64_t outcome_finished(sqlite3 *db, const char *rid)
{
	sqlite3_stmt *st = NULL;
	uint64_t t = 0;

	if (sqlite3_prepare_v2(db, "SELECT finished FROM outcomes WHERE request_id=?1", -1, &st,
			       NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, rid, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		t = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return t;
}

static void print_lat(const char *what, uint64_t *lat, unsigned n)
{
	qsort(lat, n, sizeof(*lat), cmp_u64);
	printf("  %-34s %2u clients  p50 %8.1f us  p99 %8.1f us\n", what, 1u, lat[n / 2] / 1e3,
	       lat[n * 99 / 100] / 1e3);
}

/* 202 -> the run's end (outcome stamp) of events sent one at a time on an idle system, beside
 * warm sync invokes sent the same way. */
static void async_delay_rows(const char *inv)
{
	static char rids[DELAY_EVENTS][37];
	uint64_t t202[DELAY_EVENTS], delay[DELAY_EVENTS], sync[DELAY_EVENTS];
	char path[192];
	sqlite3 *db = NULL;
	CURL *c = curl_easy_init();
	struct resp r;
	unsigned got = 0;

	for (int i = 0; i < 600 && control_metric("sandlot_control_events_queued") != 0; i++)
		usleep(100000); /* the accept rows' events run first: idle from here */
	event_mode = false;
	for (unsigned i = 0; i < DELAY_EVENTS; i++) {
		uint64_t t0 = sl_now_ns();

		if (request(c, http_addr, "POST", inv, PAYLOAD, &r) != 200)
			fprintf(stderr, "invoke: a warm sync invoke failed\n");
		sync[i] = sl_now_ns() - t0;
		usleep(DELAY_GAP_US);
	}
	event_mode = true;
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	for (unsigned i = 0; i < DELAY_EVENTS; i++) {
		rids[i][0] = '\0';
		curl_easy_setopt(c, CURLOPT_HEADERDATA, (void *)rids[i]);
		if (request(c, http_addr, "POST", inv, PAYLOAD, &r) != 202)
			fprintf(stderr, "invoke: an event was refused\n");
		t202[i] = sl_wall_ns();
		usleep(DELAY_GAP_US);
	}
	event_mode = false;
	curl_easy_cleanup(c);
	for (int i = 0; i < 100 && control_metric("sandlot_control_events_queued") != 0; i++)
		usleep(50000);
	snprintf(path, sizeof(path), "file:%s/data/control.db?mode=ro", base);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) != SQLITE_OK) {
		fprintf(stderr, "invoke: cannot read the store: %s\n", sqlite3_errmsg(db));
		sqlite3_close(db);
		return;
	}
	for (unsigned i = 0; i < DELAY_EVENTS; i++) {
		uint64_t f = rids[i][0] ? outcome_finished(db, rids[i]) : 0;

		if (f)
			delay[got++] = f > t202[i] ? f - t202[i] : 0;
	}
	sqlite3_close(db);
	print_lat("warm sync invoke (idle, 1 by 1)", sync, DELAY_EVENTS);
	if (got < DELAY_EVENTS) {
		printf("  202 -> run end: only %u of %u outcomes found\n", got, DELAY_EVENTS);
		if (!got)
			return;
	}
	print_lat("202 -> run end (idle, 1 by 1)", delay, got);
	printf("  %-34s            p50 %.2fx the warm sync invoke's p50\n", "202 -> run end",
	       (double)delay[got / 2] / (double)sync[DELAY_EVENTS / 2]);
}

/* Accept rows at each client count (k[i]), beside one fsync round and the warm invoke rows
 * warm[i] of the same run; then the 202 -> run delay rows. */
static void async_rows(const char *inv, const unsigned *ks, const struct row *warm, size_t nk,
		       unsigned n)
{
	struct row fs = fsync_rounds(200);
	bool parked = getenv("SL_BENCH_ASYNC_PARKED") != NULL;

	if (parked) { /* a diagnosis: accepts alone, their events held back (reserved 0) */
		CURL *c = curl_easy_init();
		struct resp r;

		if (request(c, http_addr, "PUT", "/2017-10-31/functions/bench-c/concurrency",
			    "{\"ReservedConcurrentExecutions\":0}", &r) != 200)
			fprintf(stderr, "invoke: PutFunctionConcurrency failed: %s\n", r.buf);
		curl_easy_cleanup(c);
		printf("  (SL_BENCH_ASYNC_PARKED: the accepted events do not run)\n");
	}

	event_mode = true;
	for (size_t i = 0; i < nk; i++) {
		load("async accept (Event -> 202)", http_addr, inv, ks[i], n);
		printf("  %-34s %2u clients  p99 %.1fx an fsync's p50, rate %.2fx the warm "
		       "invoke's\n",
		       "  accept vs fsync, vs warm", ks[i],
		       fs.p50_us ? last_row.p99_us / fs.p50_us : 0,
		       warm[i].rate ? last_row.rate / warm[i].rate : 0);
	}
	event_mode = false;
	if (!parked)
		async_delay_rows(inv);
}

/* ---- cold invokes ---- */

static int create_fn(const char *name, unsigned mb);

/*
 * n cold invocations end to end, one client: before each, UpdateFunctionConfiguration gives
 * bench-cold (1769 MB, as invoke-agent's cold row) a new revision, so the control node retires
 * its warm sandbox and the Invoke must place a new one (CREATE_SANDBOX + INVOKE). Only the
 * Invoke is timed; p50/p99 beside invoke-agent's CREATE -> ready at 1769 MB (printed after).
 */
static void cold_invokes(unsigned n)
{
	const char *cfg = "/2015-03-31/functions/bench-cold/configuration",
		   *inv = "/2015-03-31/functions/bench-cold/invocations";
	uint64_t *lat = calloc(n, sizeof(*lat));
	CURL *c = curl_easy_init();
	unsigned got = 0, errors = 0;
	struct resp r;
	char body[128];

	if (!lat || !c || create_fn("bench-cold", 1769) < 0) {
		fprintf(stderr, "invoke: cold phase setup failed\n");
		goto out;
	}
	for (unsigned i = 0; i < n; i++) {
		uint64_t t0;

		snprintf(body, sizeof(body), "{\"Environment\":{\"Variables\":{\"ROUND\":\"%u\"}}}",
			 i);
		if (request(c, http_addr, "PUT", cfg, body, &r) != 200) {
			errors++;
			continue;
		}
		usleep(20000); /* the old sandbox's destruction is not part of the figure */
		t0 = sl_now_ns();
		if (request(c, http_addr, "POST", inv, PAYLOAD, &r) != 200) {
			errors++;
			continue;
		}
		lat[got++] = sl_now_ns() - t0;
	}
	/* its sandbox goes, so that the warm rows' 16 sandboxes fit */
	if (request(c, http_addr, "DELETE", "/2015-03-31/functions/bench-cold", "", &r) != 204)
		fprintf(stderr, "invoke: DeleteFunction bench-cold failed\n");
	if (got) {
		qsort(lat, got, sizeof(*lat), cmp_u64);
		printf("  %-34s  1 client   p50 %8.1f us  p99 %8.1f us  (n=%u)%s\n",
		       "cold invoke end to end (1769 MB)", lat[got / 2] / 1e3,
		       lat[(size_t)got * 99 / 100] / 1e3, got, errors ? "  (errors!)" : "");
	}
out:
	curl_easy_cleanup(c);
	free(lat);
}

/* ---- the echo server ---- */

struct echo_req {
	char buf[4096];
	size_t len;
};

static enum MHD_Result echo(void *cls, struct MHD_Connection *c, const char *url,
			    const char *method, const char *version, const char *data,
			    size_t *data_len, void **con_cls)
{
	struct echo_req *q = *con_cls;
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (!q) {
		*con_cls = calloc(1, sizeof(*q));
		return *con_cls ? MHD_YES : MHD_NO;
	}
	if (*data_len) {
		size_t k = MIN(*data_len, sizeof(q->buf) - q->len);

		memcpy(q->buf + q->len, data, k);
		q->len += k;
		*data_len = 0;
		return MHD_YES;
	}
	r = MHD_create_response_from_buffer(q->len, q->buf, MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(r, "Content-Type", "application/json");
	ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return ret;
}

static void echo_done(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	free(*con_cls);
	*con_cls = NULL;
}

static void *echo_main(void *data)
{
	struct sl_loop *loop = NULL;
	struct sl_http *h = NULL;
	struct sl_http_config hc = {.addr = echo_addr, .handler = echo, .completed = echo_done};

	if (sl_loop_new(&loop) < 0 || sl_http_new(&h, loop, &hc) < 0) {
		fprintf(stderr, "invoke: echo server failed\n");
		return NULL;
	}
	sl_loop_run(loop);
	return NULL;
}

/* ---- setup ---- */

static int make_zip(const char *bootstrap, void **ret, size_t *ret_len)
{
	static char zip[8 << 20];
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	char *data = malloc(8 << 20);
	size_t used = 0;
	ssize_t n;
	int fd = open(bootstrap, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || !data || (n = read(fd, data, 8 << 20)) <= 0)
		return -1;
	close(fd);
	archive_write_set_format_zip(a);
	archive_write_open_memory(a, zip, sizeof(zip), &used);
	archive_entry_set_pathname(e, "bootstrap");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0755);
	archive_entry_set_size(e, n);
	archive_write_header(a, e);
	archive_write_data(a, data, (size_t)n);
	archive_entry_free(e);
	archive_write_close(a);
	archive_write_free(a);
	free(data);
	*ret = zip;
	*ret_len = used;
	return 0;
}

/* CreateFunction name (the C example) with mb of memory. */
static int create_fn(const char *name, unsigned mb)
{
	static char body[12 << 20];
	void *zip;
	size_t len;
	char *b64;
	struct resp r;
	CURL *c = curl_easy_init();
	long code;

	if (make_zip(EXAMPLE_C_BOOTSTRAP, &zip, &len) < 0)
		return -1;
	b64 = malloc(4 * ((len + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)b64, zip, (int)len);
	snprintf(body, sizeof(body),
		 "{\"FunctionName\":\"%s\",\"Runtime\":\"provided.al2023\",\"Role\":\"r\","
		 "\"Handler\":\"h\",\"MemorySize\":%u,\"Timeout\":30,\"Code\":{\"ZipFile\":\"%"
		 "s\"}}",
		 name, mb, b64);
	free(b64);
	code = request(c, http_addr, "POST", "/2015-03-31/functions", body, &r);
	curl_easy_cleanup(c);
	if (code != 201)
		fprintf(stderr, "invoke: CreateFunction: %ld %s\n", code, r.buf);
	return code == 201 ? 0 : -1;
}

static int deploy(void)
{
	return create_fn("bench-c", 1024);
}

/* CPU time of every thread of pid so far, in ns (/proc/PID/task/T/schedstat), 0 if gone. */
static uint64_t cpu_ns(pid_t pid)
{
	char path[320], line[128];
	uint64_t sum = 0;
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	while (dir && (d = readdir(dir))) {
		FILE *f;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat", (int)pid, d->d_name);
		f = fopen(path, "re");
		if (f && fgets(line, sizeof(line), f))
			sum += strtoull(line, NULL, 10);
		if (f)
			fclose(f);
	}
	if (dir)
		closedir(dir);
	return sum;
}

static bool registered(void)
{
	CURL *c = curl_easy_init();
	struct resp r = {.len = 0};
	char url[128];

	snprintf(url, sizeof(url), "http://%s/metrics", http_addr);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_perform(c);
	curl_easy_cleanup(c);
	return strstr(r.buf, "\nsandlot_control_hosts 1\n") != NULL;
}

static int start(void)
{
	char listen[64], agent_listen[64], agent_http[64], pins[96], data[160], key[160],
		akeys[160], agent_state[160], line[256];
	unsigned char k[48];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	const char *control_path =
		getenv("SL_BENCH_CONTROL") ? getenv("SL_BENCH_CONTROL") : SANDLOT_CONTROL_PATH;

	snprintf(base, sizeof(base), "/tmp/sl-bench-invoke-%d", (int)getpid());
	mkdir(base, 0700);
	if (fd < 0 || read(fd, k, sizeof(k)) != sizeof(k))
		return -1;
	close(fd);
	snprintf(line, sizeof(line), "%s %s %s\n", ACCOUNT, KEY_ID, SECRET);
	if (write_file("cluster.key", k, sizeof(k)) < 0 ||
	    write_file("access-keys", line, strlen(line)) < 0)
		return -1;
	snprintf(http_addr, sizeof(http_addr), "127.0.0.1:%d", free_port());
	snprintf(echo_addr, sizeof(echo_addr), "127.0.0.1:%d", free_port());
	snprintf(listen, sizeof(listen), "tcp://127.0.0.1:%d", free_port());
	snprintf(agent_listen, sizeof(agent_listen), "tcp://127.0.0.1:%d", free_port());
	snprintf(agent_http, sizeof(agent_http), "127.0.0.1:%d", free_port());
	snprintf(pins, sizeof(pins), "/sys/fs/bpf/sandlot-bench-invoke-%d", (int)getpid());
	snprintf(data, sizeof(data), "%s/data", base);
	snprintf(key, sizeof(key), "%s/cluster.key", base);
	snprintf(akeys, sizeof(akeys), "%s/access-keys", base);
	snprintf(agent_state, sizeof(agent_state), "%s/agent", base);
	control_pid =
		spawn((const char *const[]){control_path, "--http", http_addr, "--listen", listen,
					    "--data", data, "--key-file", key, "--access-keys",
					    akeys, "--log-level", "warn", NULL},
		      "control.log");
	agent_pid = spawn((const char *const[]){SANDLOT_AGENT_PATH, "--control", listen, "--listen",
						agent_listen, "--http", agent_http, "--state-dir",
						agent_state, "--key-file", key, "--bpf-pin-root",
						pins, "--log-level", "warn", NULL},
			  "agent.log");
	for (int i = 0; i < 300 && !registered(); i++)
		usleep(50000);
	return registered() ? 0 : -1;
}

static void stop(void)
{
	char cmd[512];

	if (agent_pid > 0)
		kill(agent_pid, SIGTERM);
	if (agent_pid > 0)
		waitpid(agent_pid, NULL, 0);
	if (control_pid > 0)
		kill(control_pid, SIGTERM);
	if (control_pid > 0)
		waitpid(control_pid, NULL, 0);
	/* the agent's pin-root lock too, had it not stopped cleanly (hostlock.h) */
	snprintf(cmd, sizeof(cmd),
		 "rm -rf %s /sys/fs/bpf/sandlot-bench-invoke-%d "
		 "/run/sandlot/agent-sys_fs_bpf_sandlot-bench-invoke-%d.lock",
		 base, (int)getpid(), (int)getpid());
	if (system(cmd) != 0)
		fprintf(stderr, "invoke: cleanup failed\n");
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 2000, ks[] = {1, 4, 16};
	unsigned cold_n = argc > 2 ? (unsigned)atoi(argv[2]) : 30;
	double cold0;
	uint64_t cpu_c, cpu_a;
	const char *inv = "/2015-03-31/functions/bench-c/invocations";
	struct row warm[3];
	char cmd[512];
	pthread_t echo_t;

	if (geteuid() != 0) {
		fprintf(stderr, "invoke: needs root (the agent)\n");
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (start() < 0 || deploy() < 0) {
		fprintf(stderr, "invoke: setup failed (logs in %s)\n", base);
		stop();
		return 1;
	}
	pthread_create(&echo_t, NULL, echo_main, NULL);
	usleep(100000);
	printf("invoke: %u requests per row, C example (1024 MB), keep-alive clients signing "
	       "SigV4\n",
	       n);
	if (cold_n)
		cold_invokes(cold_n);
	for (size_t i = 0; i < ARRAY_SIZE(ks); i++) {
		load("warm up (not a figure)", http_addr, inv, ks[i], 200);
		load("HTTP echo (libmicrohttpd, loopback)", echo_addr, inv, ks[i], n);
		cold0 = control_metric("sandlot_control_cold_starts_total");
		cpu_c = cpu_ns(control_pid);
		cpu_a = cpu_ns(agent_pid);
		load("warm invoke end to end", http_addr, inv, ks[i], n);
		warm[i] = last_row;
		cpu_c = cpu_ns(control_pid) - cpu_c;
		cpu_a = cpu_ns(agent_pid) - cpu_a;
		printf("    (cold starts among them: %.0f; CPU per invocation: control %.1f us, "
		       "agent %.1f us)\n",
		       control_metric("sandlot_control_cold_starts_total") - cold0,
		       cpu_c / 1e3 / (ks[i] * n), cpu_a / 1e3 / (ks[i] * n));
	}
	/* async: accepted events per second (each 202 after its group commit); the events run
	 * behind, so these rows come last */
	async_rows(inv, ks, warm, ARRAY_SIZE(ks), n);
	stop();
	printf("agent-direct (bench/invoke-agent, SL_BENCH_ONLY=warm1769%s, same run):\n",
	       cold_n ? ",cold" : "");
	fflush(stdout);
	snprintf(cmd, sizeof(cmd),
		 "SL_BENCH_ONLY=warm1769%s SL_PEER_TCP=1 %s %u %u 0 | grep -E 'warm|cold "
		 "start|spawn'",
		 cold_n ? ",cold" : "", INVOKE_AGENT_PATH, n, cold_n);
	if (system(cmd) != 0)
		fprintf(stderr, "invoke: invoke-agent failed\n");
	return 0;
}

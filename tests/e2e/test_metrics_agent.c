// SPDX-License-Identifier: Apache-2.0
/*
 * The agent's /metrics end to end: a real agent (agentpeer.c) with real sandboxes, checked by
 * promtool, by a duplicate check of our own (promtool does not catch duplicates), and scraped by
 * a real Prometheus started here on loopback.
 */
#include "testutil.h"

#include "agenttest.h"

#include <sandlot/metrics.h>

#include <curl/curl.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>

struct buf {
	char *p;
	size_t len;
};

static size_t on_data(char *d, size_t sz, size_t n, void *ud)
{
	struct buf *b = ud;
	char *p = realloc(b->p, b->len + sz * n + 1);

	if (!p)
		return 0;
	memcpy(p + b->len, d, sz * n);
	b->p = p;
	b->len += sz * n;
	p[b->len] = '\0';
	return sz * n;
}

/* GET url; returns the status, the body (caller frees) and the Content-Type (copied). */
static long http_get(const char *url, char **body, char *ctype, size_t ctype_len)
{
	CURL *c = curl_easy_init();
	struct buf b = {0};
	char *ct = NULL;
	long status = -1;

	assert_non_null(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	if (curl_easy_perform(c) == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
		if (ctype)
			snprintf(ctype, ctype_len, "%s", ct ? ct : "");
	}
	curl_easy_cleanup(c);
	*body = b.p ? b.p : strdup("");
	return status;
}

static char *scrape(struct fx *f)
{
	char url[96], ctype[128], *body;

	snprintf(url, sizeof(url), "http://%s/metrics", f->p->http);
	assert_int_equal(http_get(url, &body, ctype, sizeof(ctype)), 200);
	assert_string_equal(ctype, SL_METRICS_CONTENT_TYPE);
	return body;
}

/* promtool check metrics on body: 0 when clean (its complaints printed otherwise). */
static int promtool(const char *body)
{
	char path[] = "/tmp/sl-metrics-XXXXXX", out[4096], err[4096];
	char *argv[] = {"sh", "-c", "exec promtool check metrics < \"$1\"", "sh", path, NULL};
	int fd = mkstemp(path), st;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, body, strlen(body)), (ssize_t)strlen(body));
	close(fd);
	st = sl_test_run(argv, out, sizeof(out), err, sizeof(err));
	unlink(path);
	if (st != 0)
		fprintf(stderr, "promtool (status %d): %s%s\n", st, out, err);
	return st;
}

/*
 * The format's rules promtool does not check: every line ends in \n, HELP and TYPE once per
 * family, every name + label set once. Returns the number of samples.
 */
static size_t check_exposition(const char *body)
{
	json_t *seen = json_object(), *types = json_object();
	size_t n = 0;

	assert_true(strlen(body) > 0 && body[strlen(body) - 1] == '\n');
	for (const char *p = body; *p;) {
		const char *nl = strchr(p, '\n');
		char line[2048], name[256];

		assert_non_null(nl);
		assert_true((size_t)(nl - p) < sizeof(line));
		snprintf(line, sizeof(line), "%.*s", (int)(nl - p), p);
		p = nl + 1;
		if (sscanf(line, "# TYPE %255s", name) == 1) {
			if (json_object_get(types, name))
				fail_msg("TYPE of %s twice", name);
			json_object_set_new(types, name, json_true());
			continue;
		}
		if (line[0] == '#')
			continue;
		*strrchr(line, ' ') = '\0';
		if (json_object_get(seen, line))
			fail_msg("duplicate series %s", line);
		json_object_set_new(seen, line, json_true());
		n++;
	}
	json_decref(seen);
	json_decref(types);
	return n;
}

/* The value of the sample that starts with prefix (NAN when absent). */
static double sample(const char *body, const char *prefix)
{
	for (const char *p = body; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, prefix, strlen(prefix)) == 0)
			return strtod(strchr(p, ' ') + 1, NULL);
	return NAN;
}

static int lines_with(const char *body, const char *needle)
{
	int n = 0;

	for (const char *p = body; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* Clean under load, no duplicates, per-sandbox series present, then gone with the sandbox. */
static void metrics_clean_under_load_and_follow_sandboxes(void **state)
{
	struct fx *f = *state;
	const struct peer_pkg *pkg = pkg_script(f->p, actions_sh());
	int64_t spin;
	char *body;

	fx_start(f, NULL);
	cold_start(f, "m-a", "actions", pkg, "", 128, 10000);
	cold_start(f, "m-b", "actions", pkg, "", 128, 10000);
	peer_rx_free(invoke(f, "r1", "m-a", "actions", "{}", false));
	spin = peer_invoke(f->p, "r-spin", "m-b", "actions", "\"spin\"", 6, false);
	assert_true(spin > 0);
	expect_event(f, "m-b", SL_SANDBOX_BUSY, SL_REASON_INVOKE);
	/* while m-b spins */
	body = scrape(f);
	assert_int_equal(sample(body, "sandlot_agent_invocations_in_flight "), 1);
	assert_true(sample(body, "sandlot_sandbox_busy_seconds_total{function=\"actions\",version="
				 "\"$LATEST\","
				 "sandbox=\"m-b\"} ") > 0);
	/* m-b, and m-a until BPF sees it idle */
	assert_true(sample(body, "sandlot_agent_sandboxes{state=\"busy\"} ") >= 1);
	assert_int_equal(sample(body, "sandlot_agent_cold_starts_total "), 2);
	assert_int_equal(sample(body, "sandlot_agent_init_duration_seconds_count "), 2);
	assert_int_equal(sample(body, "sandlot_build_info{component=\"agent\""), 1);
	assert_true(sample(body, "process_resident_memory_bytes ") > 0);
	assert_true(sample(body, "process_open_fds ") > 0);
	assert_true(lines_with(body,
			       "sandlot_sandbox_info{function=\"actions\",version=\"$LATEST\","
			       "sandbox=\"m-a\"") == 1);
	assert_true(lines_with(body, "sandbox=\"m-a\"") >= 10);
	assert_true(sample(body, "sandlot_sandbox_memory_working_set_bytes{function=\"actions\","
				 "version=\"$LATEST\",sandbox=\"m-a\"} ") > 0);
	free(body);
	/* scraped while one sandbox spins and the other is invoked again and again */
	for (int i = 0; i < 10; i++) {
		char rid[16];

		snprintf(rid, sizeof(rid), "r-l%d", i);
		peer_rx_free(invoke(f, rid, "", "actions", "{}", false));
		body = scrape(f);
		assert_int_equal(promtool(body), 0);
		assert_true(check_exposition(body) > 40);
		free(body);
	}
	peer_rx_free(peer_wait(
		f->p, &(struct peer_match){.type = SL_MSG_INVOKE_RESULT, .corr = spin}, WAIT_MS));

	/* a destroyed sandbox's series are gone, the other's stay; its destruction is counted */
	assert_true(peer_destroy(f->p, "m-a") > 0);
	expect_event(f, "m-a", SL_SANDBOX_DESTROYED, SL_REASON_COMMAND);
	body = scrape(f);
	assert_int_equal(promtool(body), 0);
	check_exposition(body);
	assert_int_equal(lines_with(body, "sandbox=\"m-a\""), 0);
	assert_true(lines_with(body, "sandbox=\"m-b\"") >= 10);
	assert_int_equal(
		sample(body, "sandlot_agent_sandboxes_destroyed_total{reason=\"command\"} "), 1);
	assert_int_equal(sample(body, "sandlot_agent_invocations_total{result=\"ok\"} "), 12);
	assert_true(sample(body, "sandlot_agent_invocation_duration_seconds_count ") == 12);
	free(body);
}

/* ---- a real Prometheus ---- */

struct prom {
	pid_t pid;
	char dir[64];
	int port;
};

static void prom_start(struct prom *pr, const char *target)
{
	char cfg[128], data[128], listen[64], log[128], yml[512];
	FILE *fp;

	snprintf(pr->dir, sizeof(pr->dir), "/tmp/sl-prom-%d", getpid());
	assert_int_equal(mkdir(pr->dir, 0700), 0);
	snprintf(cfg, sizeof(cfg), "%s/prom.yml", pr->dir);
	snprintf(data, sizeof(data), "--storage.tsdb.path=%s/data", pr->dir);
	snprintf(log, sizeof(log), "%s/log", pr->dir);
	pr->port = peer_free_port();
	assert_true(pr->port > 0);
	snprintf(listen, sizeof(listen), "--web.listen-address=127.0.0.1:%d", pr->port);
	snprintf(yml, sizeof(yml),
		 "global: {scrape_interval: 1s, scrape_timeout: 1s}\n"
		 "scrape_configs:\n"
		 "  - job_name: agent\n"
		 "    static_configs: [{targets: ['%s']}]\n",
		 target);
	fp = fopen(cfg, "w");
	assert_non_null(fp);
	fputs(yml, fp);
	fclose(fp);
	snprintf(cfg, sizeof(cfg), "--config.file=%s/prom.yml", pr->dir);
	pr->pid = fork();
	assert_true(pr->pid >= 0);
	if (pr->pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(fd, 1);
		dup2(fd, 2);
		execlp("prometheus", "prometheus", cfg, data, listen, "--log.level=warn",
		       (char *)NULL);
		_exit(127);
	}
}

static void prom_stop(struct prom *pr)
{
	char *argv[] = {"rm", "-rf", pr->dir, NULL};

	if (pr->pid > 0) {
		kill(pr->pid, SIGTERM);
		waitpid(pr->pid, NULL, 0);
		pr->pid = 0;
	}
	if (pr->dir[0])
		sl_test_run(argv, NULL, 0, NULL, 0);
}

/* The first result's value of an instant query, NAN while there is none. */
static double prom_query(struct prom *pr, const char *query)
{
	CURL *c = curl_easy_init();
	char *q = curl_easy_escape(c, query, 0), url[512], *body;
	json_t *j, *res;
	double v = NAN;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/query?query=%s", pr->port, q);
	curl_free(q);
	curl_easy_cleanup(c);
	if (http_get(url, &body, NULL, 0) == 200) {
		j = json_loads(body, 0, NULL);
		res = json_array_get(json_object_get(json_object_get(j, "data"), "result"), 0);
		if (res)
			v = strtod(
				json_string_value(json_array_get(json_object_get(res, "value"), 1)),
				NULL);
		json_decref(j);
	}
	free(body);
	return v;
}

/* usage_usec of dir's cpu.stat, 0 when unreadable (asserted by the caller, once Prometheus is
 * stopped). */
static uint64_t cgroup_cpu_usec(const char *dir)
{
	char path[600], line[256];
	unsigned long long v = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/cpu.stat", dir);
	fp = fopen(path, "re");
	if (!fp)
		return 0;
	while (fgets(line, sizeof(line), fp) && sscanf(line, "usage_usec %llu", &v) != 1)
		;
	fclose(fp);
	return v;
}

/* PromQL returns the CPU seconds of a sandbox that burned ~3 s, as its cgroup counted them. */
static void prometheus_scrapes_sandbox_cpu_seconds(void **state)
{
	struct fx *f = *state;
	struct prom pr = {0};
	uint64_t until, cg_usec;
	char cgdir[512];
	double v = NAN, cg;

	fx_start(f, NULL);
	cold_start(f, "burn", "actions", pkg_script(f->p, actions_sh()), "", 1769, 10000);
	struct peer_rx *rx = invoke(f, "r-burn", "burn", "actions", "\"spin\"", false);

	expect_ok(rx, "done");
	peer_rx_free(rx);
	assert_int_equal(peer_sandbox_cgroup(f->p, "burn", cgdir, sizeof(cgdir)), 0);
	prom_start(&pr, f->p->http);
	/* new targets are scraped after ~6 s: poll, do not sleep */
	until = sl_now_ns() + 30 * SL_NSEC_PER_SEC;
	while (isnan(v) && sl_now_ns() < until) {
		peer_pump(f->p, 200);
		v = prom_query(&pr, "sandlot_sandbox_cpu_seconds_total{sandbox=\"burn\"}");
	}
	/* the sandbox is idle (frozen, even) by now: its CPU time no longer moves */
	cg_usec = cgroup_cpu_usec(cgdir);
	prom_stop(&pr);
	assert_true(cg_usec > 0);
	if (isnan(v))
		fail_msg("Prometheus returned no sample of the sandbox's CPU seconds in 30 s");
	cg = (double)cg_usec / 1e6;
	fprintf(stderr, "PromQL: %.3f s, cpu.stat: %.3f s\n", v, cg);
	assert_true(cg > 1.0); /* it spun (3 s, one CPU's quota: less when the host is busy) */
	if (fabs(v - cg) > 0.05 * cg)
		fail_msg("PromQL says %.3f s, cpu.stat %.3f s: more than 5%% apart", v, cg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(metrics_clean_under_load_and_follow_sandboxes,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(prometheus_scrapes_sandbox_cpu_seconds, fx_setup,
						fx_teardown),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (getenv("SL_TEST_FILTER"))
		cmocka_set_test_filter(getenv("SL_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}

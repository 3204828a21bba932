// SPDX-License-Identifier: Apache-2.0
/* A test control node speaking the real protocol to a real sandlot-agent (see agentpeer.h). */
#include "agentpeer.h"

#include <sandlot/time.h>
#include <sandlot/util.h>

#include "sandbox/cgroup-host.h"
#include "sandbox/cgroup.h"
#include "daemon/hostlock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/sha.h>

#define SEND_RETRY_NS (3 * SL_NSEC_PER_SEC)

static int peer_seq;

/* ---- files ---- */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (flag == FTW_DP)
		chmod(path, 0700);
	remove(path);
	return 0;
}

static void rm_rf(const char *path)
{
	/* the code cache is read-only: rm_one makes each directory writable first */
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int peer_read_file(const char *path, void **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf;
	size_t done = 0;

	if (fd < 0 || fstat(fd, &st) < 0)
		return sl_negerrno();
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return -ENOMEM;
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);

		if (n <= 0) {
			free(buf);
			return n < 0 ? sl_negerrno() : -EIO;
		}
		done += (size_t)n;
	}
	buf[done] = '\0';
	*ret = buf;
	*ret_len = done;
	return 0;
}

static int write_key(const char *path)
{
	unsigned char key[48];
	_cleanup_close_ int fd = -1;
	_cleanup_close_ int rnd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (rnd < 0 || read(rnd, key, sizeof(key)) != (ssize_t)sizeof(key))
		return -EIO;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return sl_negerrno();
	if (write(fd, key, sizeof(key)) != (ssize_t)sizeof(key))
		return -EIO;
	return 0;
}

/* ---- link ---- */

static int open_link(struct peer *p)
{
	struct sl_link_config lc = {.self_id = PEER_CONTROL_ID,
				    .key = p->key,
				    .reconnect_ms = 20,
				    .reconnect_max_ms = 200};
	int r = sl_link_new(&p->link, &lc);

	if (r < 0)
		return r;
	p->agent = -1;
	p->known = false;
	return sl_link_listen(p->link, p->url);
}

/* Removes what runs of this test that died left behind: /tmp/sl-agent-<pid>-*, pin roots. */
static void sweep_stale(void)
{
	static bool done;
	struct dirent *e;
	DIR *d;

	if (done)
		return;
	done = true;
	const char *dirs[] = {"/tmp", "/sys/fs/bpf"};
	const char *prefixes[] = {"sl-agent-", "sandlot-test-agent-"};
	for (int i = 0; i < 2; i++) {
		size_t plen = strlen(prefixes[i]);

		d = opendir(dirs[i]);
		while (d && (e = readdir(d))) {
			char path[512];
			long pid;

			if (strncmp(e->d_name, prefixes[i], plen) != 0)
				continue;
			pid = strtol(e->d_name + plen, NULL, 10);
			if (pid <= 0 || pid == getpid() || kill((pid_t)pid, 0) == 0 ||
			    errno != ESRCH)
				continue;
			snprintf(path, sizeof(path), "%s/%s", dirs[i], e->d_name);
			rm_rf(path);
		}
		if (d)
			closedir(d);
	}
}

int peer_new(struct peer **ret)
{
	struct peer *p = calloc(1, sizeof(*p));
	int r;

	if (!p)
		return -ENOMEM;
	sweep_stale();
	p->n = peer_seq++;
	p->agent = -1;
	p->pid = -1;
	p->heartbeat_ms = 1000;
	p->qtail = &p->q;
	snprintf(p->base, sizeof(p->base), "/tmp/sl-agent-%d-%d", (int)getpid(), p->n);
	rm_rf(p->base);
	if (mkdir(p->base, 0700) < 0) {
		free(p);
		return sl_negerrno();
	}
	snprintf(p->key_path, sizeof(p->key_path), "%s/key", p->base);
	if (getenv("SL_PEER_TCP")) { /* as deployed: loopback TCP instead of ipc:// */
		snprintf(p->url, sizeof(p->url), "tcp://127.0.0.1:%d", peer_free_port());
		snprintf(p->listen_url, sizeof(p->listen_url), "tcp://127.0.0.1:%d",
			 peer_free_port());
	} else {
		snprintf(p->url, sizeof(p->url), "ipc://%s/ctl", p->base);
		snprintf(p->listen_url, sizeof(p->listen_url), "ipc://%s/agent", p->base);
	}
	snprintf(p->state_dir, sizeof(p->state_dir), "%s/state", p->base);
	snprintf(p->pin_root, sizeof(p->pin_root), PEER_PIN_ROOT, (int)getpid());
	r = write_key(p->key_path);
	if (r == 0)
		r = sl_key_load(&p->key, p->key_path, NULL);
	if (r == 0)
		r = open_link(p);
	if (r < 0) {
		peer_free(&p);
		return r;
	}
	*ret = p;
	return 0;
}

void peer_clear(struct peer *p)
{
	while (p->q) {
		struct peer_rx *r = p->q;

		p->q = r->next;
		peer_rx_free(r);
	}
	p->qtail = &p->q;
}

void peer_free(struct peer **pp)
{
	struct peer *p = *pp;

	if (!p)
		return;
	if (p->pid > 0)
		peer_agent_stop(p, SIGTERM, 10000);
	peer_clear(p);
	sl_link_free(&p->link);
	sl_key_free(&p->key);
	for (unsigned i = 0; i < p->npkgs; i++)
		free(p->pkgs[i].zip);
	rm_rf(p->base);
	rm_rf(p->pin_root);
	char lock[200]; /* the agent's lock for its pin root (hostlock.h): ours alone */
	sl_hostlock_pin_path(lock, sizeof(lock), p->pin_root);
	(void)unlink(lock);
	free(p);
	*pp = NULL;
}

int peer_restart_link(struct peer *p)
{
	sl_link_free(&p->link);
	return open_link(p);
}

static int send_to(struct peer *p, int handle, struct sl_msg *m)
{
	uint64_t until = sl_now_ns() + SEND_RETRY_NS;
	int r;

	for (;;) {
		r = sl_link_send(p->link, handle, m);
		if (r != -EAGAIN || sl_now_ns() > until)
			return r;
		usleep(500);
	}
}

int64_t peer_send(struct peer *p, struct sl_msg *m)
{
	int r;

	if (p->agent < 0)
		return -ENOTCONN;
	if (!m->corr_id)
		m->corr_id = ++p->next_corr;
	m->dst_id = p->agent_id;
	r = send_to(p, p->agent, m);
	return r < 0 ? r : (int64_t)m->corr_id;
}

/* Connects our sending socket to the agent's advertised endpoint (again if it changed). */
static int connect_agent(struct peer *p, uint64_t id, const char *endpoint)
{
	p->agent_id = id;
	if (p->agent >= 0 && strcmp(p->agent_url, endpoint) == 0)
		return 0;
	if (p->agent >= 0)
		sl_link_disconnect(p->link, p->agent);
	snprintf(p->agent_url, sizeof(p->agent_url), "%s", endpoint);
	p->agent = sl_link_connect(p->link, endpoint);
	return p->agent < 0 ? p->agent : 0;
}

static void on_register(struct peer *p, const struct sl_msg *m)
{
	struct sl_msg ack = {.type = SL_MSG_REGISTER_ACK,
			     .flags = SL_MSG_F_REPLY,
			     .corr_id = m->corr_id,
			     .reg_ack = {.version = "test", .heartbeat_ms = p->heartbeat_ms}};

	p->registers++;
	if (connect_agent(p, m->src_id, m->reg.endpoint) < 0)
		return;
	if (peer_send(p, &ack) >= 0)
		p->known = true;
}

static void on_heartbeat(struct peer *p, const struct sl_msg *m)
{
	struct sl_msg e = {.type = SL_MSG_ERROR,
			   .flags = SL_MSG_F_REPLY,
			   .corr_id = m->corr_id ? m->corr_id : 1,
			   .error = {.code = SL_ERR_NOT_REGISTERED,
				     .ref_type = SL_MSG_HEARTBEAT,
				     .message = "who are you?"}};

	p->heartbeats++;
	p->last_hb = m->heartbeat;
	p->last_hb.endpoint = NULL;
	if (p->known)
		return;
	/* a control node that restarted answers an unknown agent at its endpoint */
	if (connect_agent(p, m->src_id, m->heartbeat.endpoint) == 0 && peer_send(p, &e) >= 0)
		p->not_registered_sent++;
}

static void on_fetch(struct peer *p, const struct sl_msg *m)
{
	const struct sl_msg_code_fetch *f = &m->fetch;
	struct sl_msg c = {
		.type = SL_MSG_CODE_CHUNK, .flags = SL_MSG_F_REPLY, .corr_id = m->corr_id};
	const struct peer_pkg *pkg = NULL;

	p->fetches++;
	p->fetch_starts += f->offset == 0;
	for (unsigned i = 0; i < p->npkgs; i++)
		if (memcmp(p->pkgs[i].sha, f->sha256, 32) == 0)
			pkg = &p->pkgs[i];
	if (!pkg || p->refuse_code || f->offset >= pkg->len) {
		struct sl_msg e = {.type = SL_MSG_ERROR,
				   .flags = SL_MSG_F_REPLY,
				   .corr_id = m->corr_id,
				   .error = {.code = SL_ERR_NOT_FOUND,
					     .ref_type = SL_MSG_CODE_FETCH,
					     .message = "no such code package"}};

		peer_send(p, &e);
		return;
	}
	memcpy(c.chunk.sha256, pkg->sha, 32);
	c.chunk.total_size = pkg->len;
	c.chunk.offset = f->offset;
	c.chunk.data = (const char *)pkg->zip + f->offset;
	c.chunk.data_len = (uint32_t)MIN((uint64_t)f->length, pkg->len - f->offset);
	peer_send(p, &c);
}

/* Handles protocol chores; returns true when the message goes to the queue. */
static bool handle(struct peer *p, const struct sl_msg *m)
{
	switch (m->type) {
	case SL_MSG_REGISTER:
		on_register(p, m);
		return true;
	case SL_MSG_HEARTBEAT:
		on_heartbeat(p, m);
		return false;
	case SL_MSG_CODE_FETCH:
		on_fetch(p, m);
		return false;
	case SL_MSG_FULL_STATE:
		p->full_states++;
		return true;
	default:
		return true;
	}
}

static void recv_all(struct peer *p)
{
	for (;;) {
		struct peer_rx *r = calloc(1, sizeof(*r));
		int rc;

		if (!r)
			return;
		rc = sl_link_recv(p->link, &r->rx);
		if (rc < 0) {
			free(r);
			if (rc == -EAGAIN)
				return;
			continue;
		}
		r->at_ns = sl_now_ns();
		if (!handle(p, &r->rx.msg)) {
			peer_rx_free(r);
			continue;
		}
		*p->qtail = r;
		p->qtail = &r->next;
	}
}

void peer_pump(struct peer *p, int timeout_ms)
{
	struct pollfd pfd = {.fd = sl_link_recv_fd(p->link), .events = POLLIN};

	recv_all(p);
	if (timeout_ms > 0 && poll(&pfd, 1, timeout_ms) > 0)
		recv_all(p);
}

void peer_rx_free(struct peer_rx *r)
{
	if (!r)
		return;
	sl_link_rx_done(&r->rx);
	free(r);
}

static bool matches(const struct sl_msg *m, const struct peer_match *w)
{
	const char *sb = NULL;

	if (w->type && m->type != w->type)
		return false;
	/* our corr ids and the agent's own (REGISTER, CODE_FETCH) are separate spaces */
	if (w->corr && (m->corr_id != w->corr || !(m->flags & SL_MSG_F_REPLY)))
		return false;
	if (m->type == SL_MSG_SANDBOX_EVENT) {
		sb = m->event.sandbox_id;
		if ((w->state && m->event.state != w->state) ||
		    (w->reason && m->event.reason != w->reason))
			return false;
	} else if (m->type == SL_MSG_INVOKE_RESULT) {
		sb = m->result.sandbox_id;
	}
	return !w->sandbox_id || (sb && strcmp(sb, w->sandbox_id) == 0);
}

static struct peer_rx *take(struct peer *p, const struct peer_match *w)
{
	for (struct peer_rx **pp = &p->q; *pp; pp = &(*pp)->next) {
		struct peer_rx *r = *pp;

		if (!matches(&r->rx.msg, w))
			continue;
		*pp = r->next;
		if (p->qtail == &r->next)
			p->qtail = pp;
		r->next = NULL;
		return r;
	}
	return NULL;
}

struct peer_rx *peer_wait(struct peer *p, const struct peer_match *m, int timeout_ms)
{
	uint64_t until = sl_now_ns() + (uint64_t)timeout_ms * SL_NSEC_PER_MSEC;
	struct peer_rx *r;

	for (;;) {
		peer_pump(p, 0);
		r = take(p, m);
		if (r)
			return r;
		uint64_t now = sl_now_ns();
		if (now >= until)
			return NULL;
		peer_pump(p, (int)MIN((until - now) / SL_NSEC_PER_MSEC + 1, 50));
		r = take(p, m);
		if (r)
			return r;
	}
}

unsigned peer_count(struct peer *p, const struct peer_match *w)
{
	unsigned n = 0;

	peer_pump(p, 0);
	for (struct peer_rx *r = p->q; r; r = r->next)
		n += matches(&r->rx.msg, w);
	return n;
}

/* ---- zips ---- */

int peer_zip(const struct peer_file *files, size_t n, void **ret, size_t *ret_len)
{
	size_t cap = 1 << 16, used = 0;
	struct archive *a;
	char *buf;
	int r = 0;

	for (size_t i = 0; i < n; i++)
		cap += (files[i].len ? files[i].len : strlen(files[i].data)) + 1024;
	buf = malloc(cap);
	a = archive_write_new();
	if (!buf || !a || archive_write_set_format_zip(a) != ARCHIVE_OK ||
	    archive_write_open_memory(a, buf, cap, &used) != ARCHIVE_OK)
		r = -ENOMEM;
	for (size_t i = 0; r == 0 && i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		size_t len = files[i].len ? files[i].len : strlen(files[i].data);

		archive_entry_set_pathname(e, files[i].name);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, files[i].mode ? files[i].mode : 0644);
		archive_entry_set_size(e, (la_int64_t)len);
		if (archive_write_header(a, e) != ARCHIVE_OK ||
		    archive_write_data(a, files[i].data, len) != (la_ssize_t)len)
			r = -EIO;
		archive_entry_free(e);
	}
	if (a && (archive_write_close(a) != ARCHIVE_OK) && r == 0)
		r = -EIO;
	archive_write_free(a);
	if (r < 0) {
		free(buf);
		return r;
	}
	*ret = buf;
	*ret_len = used;
	return 0;
}

const struct peer_pkg *peer_pkg_add_raw(struct peer *p, const void *zip, size_t len)
{
	struct peer_pkg *k;

	if (p->npkgs >= PEER_PKG_MAX)
		return NULL;
	k = &p->pkgs[p->npkgs];
	k->zip = malloc(len);
	if (!k->zip)
		return NULL;
	memcpy(k->zip, zip, len);
	k->len = len;
	SHA256(zip, len, k->sha);
	for (int i = 0; i < 32; i++)
		snprintf(k->hex + 2 * i, 3, "%02x", k->sha[i]);
	p->npkgs++;
	return k;
}

const struct peer_pkg *peer_pkg_add(struct peer *p, const struct peer_file *files, size_t n)
{
	const struct peer_pkg *k;
	void *zip;
	size_t len;

	if (peer_zip(files, n, &zip, &len) < 0)
		return NULL;
	k = peer_pkg_add_raw(p, zip, len);
	free(zip);
	return k;
}

/* ---- commands ---- */

int64_t peer_create_env(struct peer *p, const char *sandbox_id, const char *function,
			const struct peer_pkg *pkg, const char *handler, uint32_t memory_mb,
			uint32_t timeout_ms, const char *const *env)
{
	struct sl_msg *m = calloc(1, sizeof(*m));
	char kv[SL_MSG_ENV_MAX][SL_MSG_ENV_KEY_MAX + 1];
	int64_t r;

	if (!m)
		return -ENOMEM;
	m->type = SL_MSG_CREATE_SANDBOX;
	m->create = (struct sl_msg_create){.sandbox_id = sandbox_id,
					   .function = function,
					   .version = "$LATEST",
					   .handler = handler ? handler : "",
					   .code_size = pkg->len,
					   .memory_mb = memory_mb,
					   .timeout_ms = timeout_ms};
	memcpy(m->create.code_sha256, pkg->sha, 32);
	for (uint32_t i = 0; env && env[i] && i < SL_MSG_ENV_MAX; i++) {
		const char *eq = strchr(env[i], '=');

		snprintf(kv[i], sizeof(kv[i]), "%.*s", eq ? (int)(eq - env[i]) : 0, env[i]);
		m->create.env[i] = (struct sl_msg_env){.key = kv[i], .value = eq ? eq + 1 : ""};
		m->create.env_count++;
	}
	r = peer_send(p, m);
	free(m);
	return r;
}

int64_t peer_create(struct peer *p, const char *sandbox_id, const char *function,
		    const struct peer_pkg *pkg, const char *handler, uint32_t memory_mb,
		    uint32_t timeout_ms)
{
	return peer_create_env(p, sandbox_id, function, pkg, handler, memory_mb, timeout_ms, NULL);
}

int64_t peer_invoke(struct peer *p, const char *request_id, const char *sandbox_id,
		    const char *function, const void *payload, size_t len, bool log_tail)
{
	struct sl_msg m = {.type = SL_MSG_INVOKE};
	char arn[SL_MSG_TEXT_MAX];

	snprintf(arn, sizeof(arn), "arn:aws:lambda:us-east-1:123456789012:function:%s", function);
	m.invoke = (struct sl_msg_invoke){
		.request_id = request_id,
		.sandbox_id = sandbox_id ? sandbox_id : "",
		.function = function,
		.version = "$LATEST",
		.function_arn = arn,
		.trace_id = "Root=1-5e1b4151-5ac6c58f3375aa3c7c6b73c9;Parent=1;Sampled=0",
		.client_context = "",
		.deadline_ns = sl_wall_ns() + 900 * SL_NSEC_PER_SEC,
		.log_tail = log_tail,
		.payload = payload,
		.payload_len = (uint32_t)len,
	};
	return peer_send(p, &m);
}

int64_t peer_destroy(struct peer *p, const char *sandbox_id)
{
	struct sl_msg m = {.type = SL_MSG_DESTROY,
			   .destroy = {.sandbox_id = sandbox_id, .reason = SL_REASON_COMMAND}};

	return peer_send(p, &m);
}

int64_t peer_drain(struct peer *p, uint32_t deadline_ms)
{
	struct sl_msg m = {.type = SL_MSG_DRAIN, .drain = {.deadline_ms = deadline_ms}};

	return peer_send(p, &m);
}

int peer_cold_start(struct peer *p, const char *sandbox_id, const char *function,
		    const struct peer_pkg *pkg, const char *handler, uint32_t memory_mb,
		    uint32_t timeout_ms, int wait_ms)
{
	int64_t corr = peer_create(p, sandbox_id, function, pkg, handler, memory_mb, timeout_ms);
	uint64_t until = sl_now_ns() + (uint64_t)wait_ms * SL_NSEC_PER_MSEC;

	if (corr < 0)
		return (int)corr;
	while (sl_now_ns() < until) {
		struct peer_match w = {.corr = (uint64_t)corr};
		struct peer_rx *r = peer_wait(p, &w, 20);

		if (!r)
			continue;
		if (PMSG(r)->type == SL_MSG_ERROR) {
			fprintf(stderr, "peer: create %s refused: %s\n", sandbox_id,
				PMSG(r)->error.message);
			peer_rx_free(r);
			return -EPROTO;
		}
		if (PMSG(r)->type == SL_MSG_SANDBOX_EVENT &&
		    PMSG(r)->event.state == SL_SANDBOX_IDLE) {
			peer_rx_free(r);
			return 0;
		}
		bool destroyed = PMSG(r)->type == SL_MSG_SANDBOX_EVENT &&
				 PMSG(r)->event.state == SL_SANDBOX_DESTROYED;
		peer_rx_free(r);
		if (destroyed)
			return -ECHILD;
	}
	return -ETIMEDOUT;
}

struct peer_rx *peer_invoke_wait(struct peer *p, const char *request_id, const char *sandbox_id,
				 const char *function, const char *payload, bool log_tail,
				 int wait_ms)
{
	int64_t corr = peer_invoke(p, request_id, sandbox_id, function, payload, strlen(payload),
				   log_tail);
	struct peer_match w = {.type = SL_MSG_INVOKE_RESULT};

	if (corr < 0)
		return NULL;
	w.corr = (uint64_t)corr;
	return peer_wait(p, &w, wait_ms);
}

/* ---- the agent process ---- */

int peer_free_port(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);
	_cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0)
		return -errno;
	return ntohs(sin.sin_port);
}

static pid_t spawn_agent(struct peer *p)
{
	const char *bin = getenv("SANDLOT_AGENT");
	const char *level = getenv("SL_AGENT_LOG_LEVEL");
	char name[64];
	const char *argv[16 + PEER_ARGS_MAX] = {
		bin ? bin : "sandlot-agent",
		"--log-level",
		level ? level : "info",
		"--name",
		name,
		"--state-dir",
		p->state_dir,
		"--key-file",
		p->key_path,
		"--control",
		p->url,
		"--listen",
		p->listen_url,
		"--http",
		p->http,
		"--bpf-pin-root",
		p->pin_root,
	};
	size_t n = 17;
	pid_t pid;

	snprintf(name, sizeof(name), "test-%d-%d", (int)getpid(), p->n);
	for (size_t i = 0; i < PEER_ARGS_MAX && p->extra[i]; i++)
		argv[n++] = p->extra[i];
	argv[n] = NULL;
	pid = fork();
	if (pid == 0) {
		/* never outlive the test: SIGTERM (a clean drain) when it dies */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() == 1)
			_exit(127);
		if (p->stderr_path) {
			int fd = open(p->stderr_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
				      0600);

			if (fd < 0 || dup2(fd, STDERR_FILENO) < 0)
				_exit(127);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

int peer_agent_start(struct peer *p, int timeout_ms)
{
	uint64_t until = sl_now_ns() + (uint64_t)timeout_ms * SL_NSEC_PER_MSEC;
	int port = peer_free_port(), st;

	if (port < 0)
		return port;
	snprintf(p->http, sizeof(p->http), "127.0.0.1:%d", port);
	p->known = false;
	p->pid = spawn_agent(p);
	if (p->pid < 0)
		return sl_negerrno();
	while (!p->known) {
		if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
			p->pid = -1;
			return -ECHILD;
		}
		if (sl_now_ns() > until)
			return -ETIMEDOUT;
		peer_pump(p, 20);
	}
	return 0;
}

int peer_agent_wait(struct peer *p, int timeout_ms)
{
	uint64_t until = sl_now_ns() + (uint64_t)timeout_ms * SL_NSEC_PER_MSEC;
	int st;

	if (p->pid <= 0)
		return -ECHILD;
	for (;;) {
		pid_t r = waitpid(p->pid, &st, WNOHANG);

		if (r == p->pid) {
			p->pid = -1;
			return st;
		}
		if (r < 0)
			return sl_negerrno();
		if (sl_now_ns() > until)
			return -ETIMEDOUT;
		peer_pump(p, 5); /* keep the agent's final events flowing */
	}
}

int peer_agent_stop(struct peer *p, int sig, int timeout_ms)
{
	int st;

	if (p->pid <= 0)
		return -ECHILD;
	if (sig) {
		kill(p->pid, sig);
		st = peer_agent_wait(p, timeout_ms);
		if (st != -ETIMEDOUT)
			return st;
		fprintf(stderr, "peer: agent %d ignored signal %d for %d ms: SIGKILL\n",
			(int)p->pid, sig, timeout_ms);
	}
	kill(p->pid, SIGKILL);
	return peer_agent_wait(p, 10000);
}

/* ---- local API, cgroups ---- */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *data)
{
	struct {
		char *buf;
		size_t len;
	} *b = data;
	size_t n = size * nmemb;
	char *nb = realloc(b->buf, b->len + n + 1);

	if (!nb)
		return 0;
	memcpy(nb + b->len, ptr, n);
	b->buf = nb;
	b->len += n;
	b->buf[b->len] = '\0';
	return n;
}

int peer_http_get(struct peer *p, const char *path, char **ret_body)
{
	struct {
		char *buf;
		size_t len;
	} b = {0};
	char url[256];
	long code = 0;
	CURL *c = curl_easy_init();
	CURLcode rc;

	if (!c)
		return -ENOMEM;
	snprintf(url, sizeof(url), "http://%s%s", p->http, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK) {
		free(b.buf);
		return -ECONNREFUSED;
	}
	if (ret_body)
		*ret_body = b.buf ? b.buf : strdup("");
	else
		free(b.buf);
	return (int)code;
}

int peer_sandbox_cgroup(struct peer *p, const char *sandbox_id, char *ret, size_t len)
{
	struct sl_cgroup_host *h = calloc(1, sizeof(*h));
	char *body = NULL;
	json_t *arr = NULL, *o;
	size_t i;
	int r;

	if (!h)
		return -ENOMEM;
	r = sl_cgroup_host_detect(h);
	if (r == 0)
		r = peer_http_get(p, "/v1/sandboxes", &body) == 200 ? 0 : -EIO;
	if (r == 0)
		arr = json_loads(body, 0, NULL);
	r = -ENOENT;
	json_array_foreach (arr, i, o) {
		const char *id = json_string_value(json_object_get(o, "id"));
		const char *rt = json_string_value(json_object_get(o, "runtime_id"));

		if (id && rt && strcmp(id, sandbox_id) == 0) {
			snprintf(ret, len, "%s/sandlot/%s", h->v2_self_dir, rt);
			r = 0;
		}
	}
	json_decref(arr);
	free(body);
	free(h);
	return r;
}

long peer_read_long(const char *dir, const char *file)
{
	char path[1200], buf[64] = "";
	_cleanup_close_ int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sl_negerrno();
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return -EIO;
	return strtol(buf, NULL, 10);
}

struct leftovers {
	char needle[32]; /* "-<pid>-" */
	int n;
};

static void count_in(const char *dir, void *data)
{
	struct leftovers *l = data;
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d)))
		l->n += strstr(e->d_name, l->needle) != NULL;
	if (d)
		closedir(d);
}

int peer_leftover_cgroups(pid_t pid)
{
	struct sl_cgroup_host *h = calloc(1, sizeof(*h));
	struct leftovers l = {.n = 0};
	int r;

	if (!h)
		return -ENOMEM;
	r = sl_cgroup_host_detect(h);
	if (r < 0) {
		free(h);
		return r;
	}
	snprintf(l.needle, sizeof(l.needle), "-%d-", (int)pid);
	sl_cgroup_host_each_root(h, count_in, &l);
	free(h);
	return l.n;
}

int peer_children_of(pid_t pid)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	if (!d)
		return sl_negerrno();
	while ((e = readdir(d))) {
		char path[300], buf[512];
		_cleanup_close_ int fd = -1;
		ssize_t len;
		char *rp;
		int ppid = 0;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || (len = read(fd, buf, sizeof(buf) - 1)) <= 0)
			continue;
		buf[len] = '\0';
		rp = strrchr(buf, ')');
		if (rp && sscanf(rp + 2, "%*c %d", &ppid) == 1 && ppid == pid)
			n++;
	}
	closedir(d);
	return n;
}

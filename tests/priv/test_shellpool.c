// SPDX-License-Identifier: Apache-2.0
/*
 * The shell pool with BPF preparation (real cgroups, network namespaces and BPF): shells made
 * ahead get their cgroup programs attached and registered before any sandbox is spawned into
 * them, a sandbox's registration claims that, and shells freed unclaimed take their links,
 * pins and map entries with them. Everything is named sltest-cold-<pid>-N (cgroups below
 * <own v2 cgroup>/sandlot) and /sys/fs/bpf/sandlot-test-cold-<pid>. Also: the empty sandlot
 * parents pruned (sl_cgroup_root_prune).
 */
#include "testutil.h"

#include "bpfload/bpf-loader.h"
#include "bpfscaffold.h"
#include "sandbox/cgroup-host.h"
#include "sandbox/cgroup.h"
#include "sandbox/shellpool.h"

#include <sandlot/util.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <pthread.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#define CG_PREFIX  "sltest-cold-"
#define PIN_PREFIX "sandlot-test-cold-"
#define N_SHELLS   2

struct fixture {
	struct sl_cgroup_host host;
	struct sl_cgroup_root *root;
	struct sl_bpf *bpf;
	char parent[SL_CGROUP_PATH_MAX + 16]; /* <v2 self>/sandlot */
	char pin_root[128];
	char prefix[32];
	atomic_int n_prepared, n_discarded;
	uint64_t ids[16]; /* prepared ids, in order */
};

static void remove_cgroup(const char *name, void *data)
{
	struct fixture *f = data;

	if (strncmp(name, CG_PREFIX, strlen(CG_PREFIX)) == 0 &&
	    !sc_pid_alive(name + strlen(CG_PREFIX)))
		sl_cgroup_root_remove(f->root, name);
}

/* Leftovers of earlier runs whose process is gone. */
static void remove_stale(struct fixture *f)
{
	sl_cgroup_root_list(f->root, remove_cgroup, f);
	sc_remove_stale_pins(PIN_PREFIX);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct sl_bpf_opts o = {.mount_bpffs = true, .reset_on_schema_change = true};

	if (geteuid() != 0) {
		*state = f;
		return 0;
	}
	assert_non_null(f);
	assert_int_equal(sl_cgroup_host_detect(&f->host), 0);
	assert_int_equal(sl_cgroup_root_open(&f->root, &f->host), 0);
	remove_stale(f);
	snprintf(f->parent, sizeof(f->parent), "%s/sandlot", f->host.v2_self_dir);
	snprintf(f->pin_root, sizeof(f->pin_root), "/sys/fs/bpf/" PIN_PREFIX "%d", (int)getpid());
	snprintf(f->prefix, sizeof(f->prefix), CG_PREFIX "%d-", (int)getpid());
	o.pin_root = f->pin_root;
	o.cgroup_parent = f->parent;
	assert_int_equal(sl_bpf_open(&o, &f->bpf, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	sl_bpf_free(&f->bpf);
	if (f->pin_root[0])
		sl_bpf_destroy_pins(f->pin_root);
	sl_cgroup_root_free(&f->root);
	free(f);
	return 0;
}

static void path_of(struct fixture *f, const char *id, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", f->parent, id);
}

static int prepare(const struct sl_shell *s, struct sl_shell_prep *ret, void *data)
{
	struct fixture *f = data;
	char path[SL_CGROUP_PATH_MAX + 64];
	struct sl_bpf_sandbox_spec spec = {.cgroup_path = path};
	int r;

	path_of(f, s->id, path, sizeof(path));
	r = sl_bpf_sandbox_prepare(f->bpf, &spec, &ret->id);
	if (r >= 0) {
		int n = atomic_fetch_add(&f->n_prepared, 1);

		if (n < (int)ARRAY_SIZE(f->ids))
			f->ids[n] = ret->id;
		ret->fd = eventfd(0, EFD_CLOEXEC); /* stands for the agent's listening socket */
	}
	return r;
}

static void discard(const struct sl_shell *s, uint64_t id, void *data)
{
	struct fixture *f = data;

	(void)s;
	if (sl_bpf_sandbox_discard(f->bpf, id) == 0)
		atomic_fetch_add(&f->n_discarded, 1);
}

static struct sl_shellpool *pool_new(struct fixture *f)
{
	struct sl_cgroup_limits lim = {.memory_bytes = 64ULL << 20};
	struct sl_shell_hooks h = {.prepare = prepare, .discard = discard, .data = f};
	struct sl_shellpool *p = NULL;

	assert_int_equal(sl_shellpool_new(&p, f->root, f->prefix, N_SHELLS, &lim, NULL), 0);
	sl_shellpool_set_hooks(p, &h);
	/* the filler prepares N_SHELLS shells: wait for them (10 s at most) */
	for (int i = 0; i < 2000 && atomic_load(&f->n_prepared) < N_SHELLS; i++)
		usleep(5000);
	assert_int_equal(atomic_load(&f->n_prepared), N_SHELLS);
	return p;
}

/* Programs attached to the cgroup at path for one attach type (-errno if it is gone). */
static int attached(const char *path, enum bpf_attach_type type)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	uint32_t ids[4], n = 4;

	if (fd < 0)
		return -errno;
	if (bpf_prog_query(fd, type, 0, NULL, ids, &n) < 0)
		return -errno;
	return (int)n;
}

static bool pins_exist(struct fixture *f, uint64_t cgid)
{
	char p[256];
	struct stat st;

	snprintf(p, sizeof(p), "%s/cg/%llu", f->pin_root, (unsigned long long)cgid);
	return stat(p, &st) == 0;
}

static int burn(void *arg)
{
	(void)arg;
	sc_burn_cpu_ms(30);
	return 0;
}

/* In the sandbox: the errno of a UDP connect() to addr (0 when it worked). */
static int udp_connect(void *arg)
{
	return sc_connect(AF_INET, arg, 53, SOCK_DGRAM);
}

static int run_in(const char *cg, int netns, int (*fn)(void *), const char *arg)
{
	pid_t pid = sc_spawn(cg, netns, fn, (void *)arg);

	assert_true(pid > 0);
	return sc_wait(pid);
}

static void pooled_shell_attached_before_use(void **state)
{
	struct fixture *f = *state;
	char path[SL_CGROUP_PATH_MAX + 64];
	struct sl_shellpool *p;
	struct sl_shell *s = NULL;
	struct sl_bpf_stats k;
	uint64_t cgid = 0;

	sl_test_require_root();
	p = pool_new(f);
	assert_int_equal(sl_shellpool_take(p, &s), 0);
	assert_true(s->prepared);
	/* the prepared fd is handed over once */
	int fd = sl_shell_take_fd(s);
	assert_true(fd >= 0);
	assert_int_equal(sl_shell_take_fd(s), -1);
	close(fd);
	path_of(f, s->id, path, sizeof(path));
	/* before any sandbox: the programs are attached and pinned, the cgroup registered */
	assert_int_equal(attached(path, BPF_CGROUP_INET_EGRESS), 1);
	assert_int_equal(attached(path, BPF_CGROUP_INET4_CONNECT), 1);
	assert_true(pins_exist(f, s->prep.id));
	assert_int_equal(sl_bpf_sandbox_state(f->bpf, s->prep.id), SL_BPF_IDLE);

	/* the sandbox's registration claims it: same id, and it is no longer the pool's */
	struct sl_bpf_sandbox_spec spec = {.cgroup_path = path};
	assert_int_equal(sl_bpf_sandbox_add(f->bpf, &spec, &cgid), 0);
	assert_true(cgid == s->prep.id);
	assert_int_equal(sl_bpf_sandbox_discard(f->bpf, cgid), -ENOENT);
	assert_int_equal(attached(path, BPF_CGROUP_INET_EGRESS), 1);

	/* and it counts and polices what runs there (the metadata address is always denied;
	 * without a policy another address is not, but this netns has no route to it) */
	assert_int_equal(run_in(path, s->netns_fd, burn, NULL), 0);
	assert_int_equal(run_in(path, s->netns_fd, udp_connect, "169.254.169.254"), EPERM);
	assert_int_equal(run_in(path, s->netns_fd, udp_connect, "10.1.2.3"), ENETUNREACH);
	assert_int_equal(sl_bpf_sandbox_counters(f->bpf, cgid, &k), 0);
	assert_true(k.cpu_ns >= 10 * 1000000ULL);

	/* the owner removes a claimed one; freeing the shell then discards nothing */
	assert_int_equal(sl_bpf_sandbox_remove(f->bpf, cgid), 0);
	assert_int_equal(attached(path, BPF_CGROUP_INET_EGRESS), 0);
	assert_false(pins_exist(f, cgid));
	sl_shell_free(&s);
	assert_int_equal(atomic_load(&f->n_discarded), 0);
	sl_shellpool_free(&p);
}

static ino_t ns_ino(int fd)
{
	struct stat st;

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	return st.st_ino;
}

/* Each shell carries its own network, IPC and UTS namespaces: none is the host's (the
 * filler's process's) or another shell's. */
static void pooled_shells_carry_fresh_namespaces(void **state)
{
	static const char *const names[] = {"net", "ipc", "uts"};
	struct fixture *f = *state;
	struct sl_shellpool *p;
	struct sl_shell *a = NULL, *b = NULL;

	sl_test_require_root();
	p = pool_new(f);
	assert_int_equal(sl_shellpool_take(p, &a), 0);
	assert_int_equal(sl_shellpool_take(p, &b), 0);
	int fa[] = {a->netns_fd, a->ipcns_fd, a->utsns_fd};
	int fb[] = {b->netns_fd, b->ipcns_fd, b->utsns_fd};
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		char path[64];
		_cleanup_close_ int host = -1;

		snprintf(path, sizeof(path), "/proc/self/ns/%s", names[i]);
		host = open(path, O_RDONLY | O_CLOEXEC);
		assert_true(ns_ino(fa[i]) != ns_ino(host));
		assert_true(ns_ino(fb[i]) != ns_ino(host));
		assert_true(ns_ino(fa[i]) != ns_ino(fb[i]));
	}
	sl_shell_free(&a);
	sl_shell_free(&b);
	sl_shellpool_free(&p);
}

/* A thread makes a mount namespace of its own with a marker file in a tmpfs: the template. */
static void *make_template(void *arg)
{
	int *ret = arg;

	*ret = -1;
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", "/tmp", "tmpfs", 0, "size=64k") < 0)
		return NULL;
	close(open("/tmp/sl-template-marker", O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	*ret = open("/proc/thread-self/ns/mnt", O_RDONLY | O_CLOEXEC);
	return NULL;
}

/* In a child: 0 when the marker is there in the mount namespace fd. */
static int marker_in(int fd)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		struct stat sb;
		_exit(setns(fd, CLONE_NEWNS) == 0 && stat("/tmp/sl-template-marker", &sb) == 0 ? 0
											       : 1);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Once given a template, the filler gives each shell a copy of its own: the template's mounts,
 * another namespace than the template's, the host's or the other shell's. */
static void pooled_shells_carry_a_copy_of_the_template(void **state)
{
	struct fixture *f = *state;
	struct sl_shellpool *p;
	struct sl_shell *a = NULL, *b = NULL;
	_cleanup_close_ int host = -1;
	int template = -1;
	pthread_t t;
	struct stat st;

	sl_test_require_root();
	assert_int_equal(pthread_create(&t, NULL, make_template, &template), 0);
	pthread_join(t, NULL);
	assert_true(template >= 0);
	assert_int_equal(marker_in(template), 0);
	assert_true(stat("/tmp/sl-template-marker", &st) < 0); /* only there */
	p = pool_new(f);
	assert_int_equal(sl_shellpool_set_template(p, template, 0), 0);
	/* the shells made before had none: take them, wait for two made with the template */
	assert_int_equal(sl_shellpool_take(p, &a), 0);
	assert_int_equal(a->mntns_fd, -1);
	sl_shell_free(&a);
	assert_int_equal(sl_shellpool_take(p, &a), 0);
	sl_shell_free(&a);
	for (int i = 0; i < 2000 && atomic_load(&f->n_prepared) < 2 * N_SHELLS; i++)
		usleep(5000);
	assert_int_equal(sl_shellpool_take(p, &a), 0);
	assert_int_equal(sl_shellpool_take(p, &b), 0);
	host = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	assert_true(ns_ino(a->mntns_fd) != ns_ino(template));
	assert_true(ns_ino(a->mntns_fd) != ns_ino(host));
	assert_true(ns_ino(a->mntns_fd) != ns_ino(b->mntns_fd));
	assert_int_equal(marker_in(a->mntns_fd), 0);
	assert_int_equal(marker_in(b->mntns_fd), 0);
	close(template);
	sl_shell_free(&a);
	sl_shell_free(&b);
	sl_shellpool_free(&p);
}

static void unused_shells_are_discarded(void **state)
{
	struct fixture *f = *state;
	struct sl_shellpool *p;
	struct sl_shell *s = NULL;
	uint64_t ids[N_SHELLS];

	sl_test_require_root();
	p = pool_new(f);
	memcpy(ids, f->ids, sizeof(ids));
	for (int i = 0; i < N_SHELLS; i++)
		assert_true(pins_exist(f, ids[i]));
	/* taken but never claimed (a spawn that failed before its hook) */
	assert_int_equal(sl_shellpool_take(p, &s), 0);
	assert_true(s->prepared);
	uint64_t taken = s->prep.id;
	sl_shell_free(&s);
	assert_false(pins_exist(f, taken));
	assert_int_equal(sl_bpf_sandbox_state(f->bpf, taken), -ENOENT);
	/* and the ready ones (one left, plus what the filler made since) go with the pool */
	sl_shellpool_free(&p);
	for (int i = 0; i < atomic_load(&f->n_prepared) && i < (int)ARRAY_SIZE(f->ids); i++) {
		assert_false(pins_exist(f, f->ids[i]));
		assert_int_equal(sl_bpf_sandbox_state(f->bpf, f->ids[i]), -ENOENT);
	}
	assert_int_equal(atomic_load(&f->n_discarded), atomic_load(&f->n_prepared));
}

static void claim_with_policy_rewrites_the_slot(void **state)
{
	struct fixture *f = *state;
	char path[SL_CGROUP_PATH_MAX + 64];
	struct sl_shellpool *p;
	struct sl_shell *s = NULL;
	struct sl_netpolicy pol = {0};
	struct sl_bpf_addr own;
	uint64_t cgid = 0;
	struct in_addr a = {.s_addr = htonl(0x0a4d0001)};

	sl_test_require_root();
	p = pool_new(f);
	assert_int_equal(sl_shellpool_take(p, &s), 0);
	path_of(f, s->id, path, sizeof(path));
	sl_bpf_addr_from(AF_INET, &a, &own);
	/* an allow-list and an address of its own: written when the sandbox claims the shell */
	struct sl_bpf_sandbox_spec spec = {
		.cgroup_path = path, .policy = &pol, .addrs = &own, .n_addrs = 1};
	assert_int_equal(sl_bpf_sandbox_prepare(f->bpf, &spec, &cgid), -EINVAL);
	assert_int_equal(sl_bpf_sandbox_add(f->bpf, &spec, &cgid), 0);
	assert_true(cgid == s->prep.id);
	assert_int_equal(sl_bpf_sandbox_state(f->bpf, cgid), SL_BPF_IDLE);
	/* the empty allow-list holds: refused before any route lookup */
	assert_int_equal(run_in(path, s->netns_fd, udp_connect, "10.1.2.3"), EPERM);
	assert_int_equal(sl_bpf_sandbox_remove(f->bpf, cgid), 0);
	assert_false(pins_exist(f, cgid));
	sl_shell_free(&s);
	sl_shellpool_free(&p);
}

/* How many directories (cgroups) dir holds; -1 when dir is not there. */
static int subdirs(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_type == DT_DIR && strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/*
 * sl_cgroup_root_prune (what the benchmarks call at their end) leaves the "sandlot" parents
 * while a sandbox's cgroups are in them, removes them once empty, and a root opened later
 * makes them again.
 */
static void root_prune_spares_busy_parents(void **state)
{
	struct sl_cgroup_host *h = calloc(1, sizeof(*h));
	struct sl_cgroup_limits lim = {.memory_bytes = 64ULL << 20, .pids_max = 16};
	struct sl_cgroup_root *root = NULL;
	struct sl_cgroup *cg = NULL;
	const struct sl_cgroup_v1 *mem;
	char name[64], parent[SL_CGROUP_PATH_MAX + 16], mem_parent[SL_CGROUP_PATH_MAX + 16];
	int n;

	sl_test_require_root();
	assert_non_null(h);
	assert_int_equal(sl_cgroup_host_detect(h), 0);
	assert_int_equal(sl_cgroup_root_open(&root, h), 0);
	snprintf(name, sizeof(name), CG_PREFIX "%d-prune", (int)getpid());
	snprintf(parent, sizeof(parent), "%s/sandlot", h->v2_self_dir);
	mem = sl_cgroup_host_v1(h, "memory");
	mem_parent[0] = '\0';
	if (h->layout == SL_CGROUP_HYBRID && mem && mem->self_dir[0])
		snprintf(mem_parent, sizeof(mem_parent), "%s/sandlot", mem->self_dir);
	assert_int_equal(sl_cgroup_new(&cg, root, name, &lim), 0);

	sl_cgroup_root_prune();
	assert_true(subdirs(parent) >= 1); /* ours is there: the parent stays */
	if (mem_parent[0])
		assert_true(subdirs(mem_parent) >= 1);

	assert_int_equal(sl_cgroup_destroy(cg), 0);
	sl_cgroup_free(&cg);
	sl_cgroup_root_free(&root);
	if (subdirs(parent) > 0) { /* another runtime of our cgroup has a sandbox now */
		fprintf(stderr, "SKIP: %s holds other cgroups\n", parent);
		free(h);
		skip();
	}
	n = sl_cgroup_root_prune();
	assert_true(n >= (mem_parent[0] ? 4 : 1)); /* v2, and memory, cpu, pids on hybrid */
	assert_int_equal(subdirs(parent), -1);
	if (mem_parent[0])
		assert_int_equal(subdirs(mem_parent), -1);

	assert_int_equal(sl_cgroup_root_open(&root, h), 0); /* made again */
	assert_int_equal(subdirs(parent), 0);
	sl_cgroup_root_free(&root);
	free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(pooled_shell_attached_before_use, setup, teardown),
		cmocka_unit_test_setup_teardown(unused_shells_are_discarded, setup, teardown),
		cmocka_unit_test_setup_teardown(pooled_shells_carry_fresh_namespaces, setup,
						teardown),
		cmocka_unit_test_setup_teardown(pooled_shells_carry_a_copy_of_the_template, setup,
						teardown),
		cmocka_unit_test_setup_teardown(claim_with_policy_rewrites_the_slot, setup,
						teardown),
		cmocka_unit_test(root_prune_spares_busy_parents),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

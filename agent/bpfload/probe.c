// SPDX-License-Identifier: Apache-2.0
#include "bpfload/probe.h"
#include "bpfload/bpf-loader.h"

#include <sandlot/json.h>
#include <sandlot/log.h>
#include <sandlot/util.h>

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include <bpf/libbpf.h>
#include "probe.skel.h"

#define BTF_PATH "/sys/kernel/btf/vmlinux"

/* BPF program kinds sandlot uses, with the skeleton program that tries each. */
static const struct {
	const char *kind, *prog;
	bool required;
} prog_kinds[] = {
	{"tp_btf", "probe_tp_btf", true},
	{"raw_tp", "probe_raw_tp", false},
	{"cgroup_skb", "probe_cgroup_skb", true},
	{"cgroup_connect4", "probe_connect4", true},
	{"cgroup_connect6", "probe_connect6", false},
	{"cgroup_sendmsg4", "probe_sendmsg4", false},
	{"fentry", "probe_fentry", false},
};

static const struct {
	const char *name;
	int flag;
	bool required;
} ns_kinds[] = {
	{"mnt", CLONE_NEWNS, true},	{"pid", CLONE_NEWPID, true},
	{"net", CLONE_NEWNET, true},	{"uts", CLONE_NEWUTS, true},
	{"ipc", CLONE_NEWIPC, true},	{"cgroup", CLONE_NEWCGROUP, true},
	{"user", CLONE_NEWUSER, false}, {"time", CLONE_NEWTIME, false},
};

/* A failed load is an answer here, not a problem: keep libbpf's complaints at debug level. */
static int _printf_(2, 0) quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (sl_log_get_level() <= SL_LOG_DEBUG)
		sl_logv(SL_LOG_DEBUG, 0, fmt, ap);
	return 0;
}

/* Loads only program `name` of the probe object; returns 0 or the -errno the kernel gave. */
static int try_load(const char *name)
{
	libbpf_print_fn_t old = libbpf_set_print(quiet_print);
	struct probe_bpf *skel = probe_bpf__open();
	struct bpf_program *p;
	int r;

	if (!skel) {
		r = sl_negerrno();
		goto out;
	}
	bpf_object__for_each_program (p, skel->obj)
		bpf_program__set_autoload(p, strcmp(bpf_program__name(p), name) == 0);
	r = probe_bpf__load(skel);
	probe_bpf__destroy(skel);
out:
	libbpf_set_print(old);
	return r;
}

/* Runs fn(arg) in a forked child; returns 0 if it exited 0, else -(its exit code) as errno. */
static int in_child(int (*fn)(const void *), const void *arg)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return sl_negerrno();
	if (pid == 0)
		_exit(fn(arg));
	if (waitpid(pid, &status, 0) < 0)
		return sl_negerrno();
	if (WIFEXITED(status))
		return -WEXITSTATUS(status);
	return -ECHILD;
}

static int child_unshare(const void *arg)
{
	return unshare(*(const int *)arg) < 0 ? errno : 0;
}

static int probe_seccomp(void)
{
	unsigned action = SECCOMP_RET_ERRNO;

	/* Asks whether filter mode and the errno action exist without installing anything. */
	if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) < 0)
		return sl_negerrno();
	return 0;
}

/* clone3() a child straight into a scratch v2 cgroup below ours, as sandboxes are started. */
static int probe_clone_into_cgroup(const struct sl_cgroup_host *cg)
{
	char dir[SL_CGROUP_PATH_MAX + 64];
	struct clone_args args = {.flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD};
	_cleanup_close_ int fd = -1;
	int status, r = 0;
	pid_t pid;

	if (!cg->v2_self_dir[0])
		return -ENOENT;
	snprintf(dir, sizeof(dir), "%s/sandlot-probe-%d", cg->v2_self_dir, (int)getpid());
	if (mkdir(dir, 0755) < 0)
		return sl_negerrno();
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		r = sl_negerrno();
		goto out;
	}
	args.cgroup = (__u64)fd;
	pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
	if (pid < 0) {
		r = sl_negerrno();
		goto out;
	}
	if (pid == 0)
		_exit(0);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		r = -ECHILD;
out:
	if (rmdir(dir) < 0 && r == 0)
		r = sl_negerrno();
	return r;
}

static void set_check(struct sl_probe_check *c, const char *name, bool required, int r)
{
	c->name = name;
	c->required = required;
	c->ok = r >= 0;
	c->err = r < 0 ? -r : 0;
}

int sl_probe_run(const struct sl_probe_opts *opts, struct sl_probe_report *ret)
{
	struct sl_probe_report *rep = ret;
	struct utsname u;
	int r;

	memset(rep, 0, sizeof(*rep));
	if (uname(&u) == 0)
		snprintf(rep->kernel_release, sizeof(rep->kernel_release), "%s", u.release);
	rep->btf = access(BTF_PATH, R_OK) == 0;

	r = sl_bpffs_ensure("/sys/fs/bpf", opts->mount_bpffs);
	rep->bpffs_mounted = r >= 0;
	rep->bpffs_mounted_now = r == 1;
	rep->bpffs_err = r < 0 && opts->mount_bpffs ? -r : 0;

	r = sl_cgroup_host_detect(&rep->cg);
	if (r < 0)
		return r;

	for (size_t i = 0; i < ARRAY_SIZE(prog_kinds); i++)
		set_check(&rep->progs[rep->n_progs++], prog_kinds[i].kind, prog_kinds[i].required,
			  try_load(prog_kinds[i].prog));
	set_check(&rep->seccomp, "seccomp_filter", true, probe_seccomp());
	set_check(&rep->clone_into_cgroup, "clone3_into_cgroup", true,
		  probe_clone_into_cgroup(&rep->cg));
	for (size_t i = 0; i < ARRAY_SIZE(ns_kinds); i++)
		set_check(&rep->ns[rep->n_ns++], ns_kinds[i].name, ns_kinds[i].required,
			  in_child(child_unshare, &ns_kinds[i].flag));
	return 0;
}

static int missing_check(const struct sl_probe_check *c, const char *what, FILE *f)
{
	if (c->ok || !c->required)
		return 0;
	if (f)
		fprintf(f, "missing: %s %s (%s)\n", what, c->name, strerror(c->err));
	return 1;
}

int sl_probe_missing(const struct sl_probe_report *r, FILE *f)
{
	int n = 0;

	if (!r->btf && ++n && f)
		fprintf(f, "missing: kernel BTF at %s (CO-RE programs cannot load)\n", BTF_PATH);
	if (!r->bpffs_mounted && ++n && f)
		fprintf(f, "missing: bpffs at /sys/fs/bpf (%s)\n",
			r->bpffs_err ? strerror(r->bpffs_err)
				     : "not mounted; run without --no-mount");
	if (!r->cg.v2_mount[0] && ++n && f)
		fprintf(f, "missing: cgroup2 mount (BPF identity needs the v2 hierarchy)\n");
	for (size_t i = 0; i < r->n_progs; i++)
		n += missing_check(&r->progs[i], "BPF program type", f);
	n += missing_check(&r->seccomp, "kernel feature", f);
	n += missing_check(&r->clone_into_cgroup, "kernel feature", f);
	for (size_t i = 0; i < r->n_ns; i++)
		n += missing_check(&r->ns[i], "namespace", f);
	return n;
}

static json_t *check_json(const struct sl_probe_check *c)
{
	json_t *o = json_object();

	sl_json_set_bool(o, "available", c->ok);
	sl_json_set_bool(o, "required", c->required);
	if (!c->ok) {
		sl_json_set_int(o, "errno", c->err);
		sl_json_set_str(o, "error", strerror(c->err));
	}
	return o;
}

static json_t *cgroup_json(const struct sl_cgroup_host *cg)
{
	json_t *ctl = json_object(), *self = json_object(), *v1 = json_object();
	json_t *v2ctl = json_array();
	char buf[sizeof(cg->v2_controllers)], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", cg->v2_controllers);
	for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		json_array_append_new(v2ctl, json_string(tok));
	json_object_set_new(ctl, "v2", v2ctl);
	if (cg->v2_mount[0])
		sl_json_set_str(self, "v2", cg->v2_self);
	for (size_t i = 0; i < cg->n_v1; i++) {
		json_object_set_new(v1, cg->v1[i].controllers,
				    json_pack("{s:s}", "mount", cg->v1[i].mount));
		sl_json_set_str(self, cg->v1[i].controllers, cg->v1[i].self);
	}
	json_object_set_new(ctl, "v1", v1);
	return json_pack("{s:s, s:s?, s:o, s:o}", "layout", sl_cgroup_layout_name(cg->layout),
			 "v2_mount", cg->v2_mount[0] ? cg->v2_mount : NULL, "controllers", ctl,
			 "agent_cgroup", self);
}

int sl_probe_print_json(const struct sl_probe_report *r, FILE *f, bool pretty)
{
	json_t *o = json_object(), *progs = json_object(), *ns = json_object(),
	       *miss = json_array();
	json_t *cg = cgroup_json(&r->cg);
	char *buf = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *m;

	sl_json_set_str(o, "kernel_release", r->kernel_release);
	sl_json_set_bool(o, "btf", r->btf);
	json_object_set_new(o, "bpffs",
			    json_pack("{s:s, s:b, s:b}", "path", "/sys/fs/bpf", "mounted",
				      r->bpffs_mounted, "mounted_by_probe", r->bpffs_mounted_now));
	/* layout and mount at the top level as well: the fields people look for first */
	json_object_set(o, "cgroup_layout", json_object_get(cg, "layout"));
	json_object_set(o, "cgroup_v2_mount", json_object_get(cg, "v2_mount"));
	json_object_set_new(o, "cgroups", cg);
	for (size_t i = 0; i < r->n_progs; i++)
		json_object_set_new(progs, r->progs[i].name, check_json(&r->progs[i]));
	json_object_set_new(o, "bpf_programs", progs);
	json_object_set_new(o, "seccomp_filter", check_json(&r->seccomp));
	json_object_set_new(o, "clone3_into_cgroup", check_json(&r->clone_into_cgroup));
	for (size_t i = 0; i < r->n_ns; i++)
		json_object_set_new(ns, r->ns[i].name, check_json(&r->ns[i]));
	json_object_set_new(o, "namespaces", ns);

	m = open_memstream(&buf, &len);
	if (m) {
		sl_probe_missing(r, m);
		fclose(m);
		for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			json_array_append_new(miss, json_string(line + strlen("missing: ")));
		free(buf);
	}
	sl_json_set_bool(o, "ok", json_array_size(miss) == 0);
	json_object_set_new(o, "missing", miss);
	return sl_json_print(f, o, pretty);
}

static void plain_check(FILE *f, const char *label, const struct sl_probe_check *c)
{
	if (c->ok)
		fprintf(f, "  %-22s yes\n", label);
	else
		fprintf(f, "  %-22s no (errno %d: %s)%s\n", label, c->err, strerror(c->err),
			c->required ? "  REQUIRED" : "");
}

void sl_probe_print_plain(const struct sl_probe_report *r, FILE *f)
{
	const struct sl_cgroup_host *cg = &r->cg;

	fprintf(f, "kernel                   %s\n", r->kernel_release);
	fprintf(f, "BTF                      %s\n", r->btf ? "yes (" BTF_PATH ")" : "no");
	fprintf(f, "bpffs                    %s\n",
		r->bpffs_mounted ? (r->bpffs_mounted_now ? "mounted now at /sys/fs/bpf"
							 : "mounted at /sys/fs/bpf")
				 : "not mounted");
	fprintf(f, "cgroup layout            %s\n", sl_cgroup_layout_name(cg->layout));
	if (cg->v2_mount[0])
		fprintf(f, "  v2 at %s, controllers: %s; agent in %s\n", cg->v2_mount,
			cg->v2_controllers[0] ? cg->v2_controllers : "(none)", cg->v2_self);
	for (size_t i = 0; i < cg->n_v1; i++)
		fprintf(f, "  v1 %-14s at %s; agent in %s\n", cg->v1[i].controllers,
			cg->v1[i].mount, cg->v1[i].self);
	fprintf(f, "BPF program types\n");
	for (size_t i = 0; i < r->n_progs; i++)
		plain_check(f, r->progs[i].name, &r->progs[i]);
	fprintf(f, "kernel features\n");
	plain_check(f, "seccomp filter", &r->seccomp);
	plain_check(f, "clone3 into cgroup", &r->clone_into_cgroup);
	fprintf(f, "namespaces\n");
	for (size_t i = 0; i < r->n_ns; i++)
		plain_check(f, r->ns[i].name, &r->ns[i]);
}

// SPDX-License-Identifier: Apache-2.0
/*
 * The host probe on the real kernel: what it reports must agree with what we can see
 * independently, and the BPF pipeline must produce programs the kernel loads.
 */
#include "testutil.h"

#include "bpfload/probe.h"

#include <jansson.h>
#include <linux/magic.h>
#include <sys/statfs.h>

static json_t *run_probe_json(int *ret_status)
{
	char *argv[] = {(char *)sl_test_agent(), "probe", "--json", NULL};
	static char out[65536], err[8192];
	json_error_t je;
	json_t *j;

	*ret_status = sl_test_run(argv, out, sizeof(out), err, sizeof(err));
	j = json_loads(out, 0, &je);
	if (!j)
		fail_msg("probe --json printed invalid JSON (%s): %s / %s", je.text, out, err);
	return j;
}

/* The layout as seen from statfs, without the probe's mountinfo parser. */
static const char *layout_by_statfs(void)
{
	struct statfs st;

	if (statfs("/sys/fs/cgroup", &st) < 0)
		return "none";
	if (st.f_type == CGROUP2_SUPER_MAGIC)
		return "v2";
	if (statfs("/sys/fs/cgroup/unified", &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC)
		return "hybrid";
	return "v1";
}

static void json_report_matches_host(void **state)
{
	int st;
	json_t *j;

	sl_test_require_root();
	j = run_probe_json(&st);
	assert_string_equal(json_string_value(json_object_get(j, "cgroup_layout")),
			    layout_by_statfs());
	assert_int_equal(json_is_true(json_object_get(j, "btf")),
			 access("/sys/kernel/btf/vmlinux", R_OK) == 0);
	assert_true(json_is_true(json_object_get(json_object_get(j, "bpffs"), "mounted")));
	struct statfs sfs;
	assert_int_equal(statfs("/sys/fs/bpf", &sfs), 0);
	assert_true(sfs.f_type == BPF_FS_MAGIC);
	/* the exit status and the report agree */
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st) == 0, json_is_true(json_object_get(j, "ok")));
	assert_int_equal(json_array_size(json_object_get(j, "missing")) == 0,
			 json_is_true(json_object_get(j, "ok")));
	json_decref(j);
}

static void bpf_pipeline_programs_load(void **state)
{
	int st;
	json_t *j, *progs, *v;
	const char *k;

	sl_test_require_root();
	j = run_probe_json(&st);
	progs = json_object_get(j, "bpf_programs");
	assert_non_null(progs);
	/* our hosts have BTF: tp_btf and cgroup_skb programs built by the pipeline must load */
	assert_true(json_is_true(json_object_get(json_object_get(progs, "tp_btf"), "available")));
	assert_true(
		json_is_true(json_object_get(json_object_get(progs, "cgroup_skb"), "available")));
	/* every failure carries the errno the kernel gave */
	json_object_foreach (progs, k, v) {
		if (!json_is_true(json_object_get(v, "available")))
			assert_true(json_integer_value(json_object_get(v, "errno")) > 0);
	}
	json_decref(j);
}

static void clone_into_cgroup_leaves_nothing(void **state)
{
	struct sl_probe_report *rep = calloc(1, sizeof(*rep));
	struct sl_probe_opts o = {.mount_bpffs = true};
	char dir[SL_CGROUP_PATH_MAX + 64];

	sl_test_require_root();
	assert_int_equal(sl_probe_run(&o, rep), 0);
	assert_true(rep->clone_into_cgroup.ok);
	assert_true(rep->seccomp.ok);
	snprintf(dir, sizeof(dir), "%s/sandlot-probe-%d", rep->cg.v2_self_dir, (int)getpid());
	assert_int_equal(access(dir, F_OK), -1); /* the scratch cgroup is gone */
	for (size_t i = 0; i < rep->n_ns; i++)
		if (rep->ns[i].required)
			assert_true(rep->ns[i].ok);
	free(rep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(json_report_matches_host),
		cmocka_unit_test(bpf_pipeline_programs_load),
		cmocka_unit_test(clone_into_cgroup_leaves_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

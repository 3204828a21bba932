// SPDX-License-Identifier: Apache-2.0
/*
 * Cgroups registered ahead of their sandboxes (sl_bpf_sandbox_prepare): a pooled shell's
 * cgroup gets its links, pins and map entries while it waits in the pool, on the pool's
 * filler thread, and the sandbox's registration on the cold path only claims it.
 */
#include "bpfload/bpf-internal.h"

#include <sandlot/util.h>

#include <string.h>
#include <sys/file.h>

/* Under b->prep_lock. */
static struct sl_bpf_prepared *prepared_of(struct sl_bpf *b, uint64_t cgid)
{
	for (size_t i = 0; i < b->n_prepared; i++)
		if (b->prepared[i].cgid == cgid)
			return &b->prepared[i];
	return NULL;
}

static uint64_t idle_of(const struct sl_bpf_sandbox_spec *spec)
{
	return spec->idle_ns ? spec->idle_ns : SL_BPF_DEFAULT_IDLE_NS;
}

/*
 * Takes cgid out of the table when it is there and, when want_idle is not 0, registered with
 * that idle threshold. True when it was taken (its threshold into *ret_idle, if not NULL).
 */
static bool take_prepared(struct sl_bpf *b, uint64_t cgid, uint64_t want_idle, uint64_t *ret_idle)
{
	struct sl_bpf_prepared *p;
	bool found = false;

	pthread_mutex_lock(&b->prep_lock);
	p = prepared_of(b, cgid);
	if (p && (!want_idle || p->idle_ns == want_idle)) {
		if (ret_idle)
			*ret_idle = p->idle_ns;
		*p = b->prepared[--b->n_prepared];
		found = true;
	}
	pthread_mutex_unlock(&b->prep_lock);
	return found;
}

void sl_bpf_forget_prepared(struct sl_bpf *b, uint64_t cgid)
{
	(void)take_prepared(b, cgid, 0, NULL);
}

static int remember(struct sl_bpf *b, uint64_t cgid, uint64_t idle_ns)
{
	struct sl_bpf_prepared *n;
	int r = 0;

	pthread_mutex_lock(&b->prep_lock);
	if (prepared_of(b, cgid)) {
		/* registered already */
	} else if (b->n_prepared >= SL_BPF_MAX_SANDBOXES) {
		r = -ENOSPC;
	} else if (!(n = realloc(b->prepared, (b->n_prepared + 1) * sizeof(*n)))) {
		r = -ENOMEM;
	} else {
		b->prepared = n;
		n[b->n_prepared++] = (struct sl_bpf_prepared){.cgid = cgid, .idle_ns = idle_ns};
	}
	pthread_mutex_unlock(&b->prep_lock);
	return r;
}

bool sl_bpf_claim_unchanged(struct sl_bpf *b, const struct sl_bpf_sandbox_spec *spec, uint64_t cgid)
{
	return sl_bpf_spec_plain(spec) && take_prepared(b, cgid, idle_of(spec), NULL);
}

int sl_bpf_claim_prepared(struct sl_bpf *b, const struct sl_bpf_sandbox_spec *spec, uint64_t cgid)
{
	uint64_t idle_ns;
	int r;

	if (!take_prepared(b, cgid, 0, &idle_ns))
		return 0;
	/* claimed: sl_bpf_sandbox_remove() is the owner's now */
	if (sl_bpf_spec_plain(spec) && idle_of(spec) == idle_ns)
		return 1; /* the prepared registration is this sandbox's as it is */
	r = sl_bpf_reconfigure(b, spec, cgid);
	if (r < 0) {
		sl_bpf_sandbox_remove_locked(b, cgid);
		return r;
	}
	return 1;
}

int sl_bpf_sandbox_prepare(struct sl_bpf *b, const struct sl_bpf_sandbox_spec *spec,
			   uint64_t *ret_cgid)
{
	uint64_t cgid;
	int r;

	if (!spec || !sl_bpf_spec_plain(spec))
		return -EINVAL;
	sl_bpf_lock(b, LOCK_EX);
	r = sl_bpf_sandbox_add_locked(b, spec, &cgid);
	if (r >= 0) {
		r = remember(b, cgid, idle_of(spec));
		if (r < 0)
			sl_bpf_sandbox_remove_locked(b, cgid);
	}
	sl_bpf_lock(b, LOCK_UN);
	if (r < 0)
		return r;
	if (ret_cgid)
		*ret_cgid = cgid;
	return 0;
}

int sl_bpf_sandbox_discard(struct sl_bpf *b, uint64_t cgid)
{
	int r;

	if (!take_prepared(b, cgid, 0, NULL))
		return -ENOENT;
	sl_bpf_lock(b, LOCK_EX);
	r = sl_bpf_sandbox_remove_locked(b, cgid);
	sl_bpf_lock(b, LOCK_UN);
	return r;
}

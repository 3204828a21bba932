// SPDX-License-Identifier: Apache-2.0
/*
 * The registration entry points (add, remove, prepare, discard, prune): they take the
 * registration lock and keep the table of cgroups registered ahead of their sandboxes
 * (sl_bpf_sandbox_prepare), deciding whether an add claims one and when one is forgotten; the
 * work on the maps and links is bpf-sandbox.c's. A pooled shell's cgroup gets its links, pins
 * and map entries while it waits in the pool, on the pool's filler thread, and the sandbox's
 * registration on the cold path only claims it.
 */
#include "bpfload/bpf-internal.h"
#include "sandbox/cgroup.h"

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

/* Forgets that cgid was prepared (its registration is going). */
static void forget_prepared(struct sl_bpf *b, uint64_t cgid)
{
	(void)take_prepared(b, cgid, 0, NULL);
}

/* Forgets the prepared cgroups that are registered no more (pruned: their cgroup went). */
static void forget_unregistered(struct sl_bpf *b)
{
	uint32_t slot;

	pthread_mutex_lock(&b->prep_lock);
	for (size_t i = 0; i < b->n_prepared;) {
		if (sl_bpf_sandbox_slot(b, b->prepared[i].cgid, &slot) == -ENOENT)
			b->prepared[i] = b->prepared[--b->n_prepared];
		else
			i++;
	}
	pthread_mutex_unlock(&b->prep_lock);
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

/* True when spec sets nothing beyond what a prepared registration has (idle threshold). */
static bool spec_plain(const struct sl_bpf_sandbox_spec *spec)
{
	return !spec->policy && !spec->n_addrs && !spec->n_host_addrs && !spec->pool_mask;
}

/*
 * No lock needed: claims cgid when it was prepared with exactly what spec sets (no policy, no
 * addresses, the same idle threshold), which leaves nothing to write. True when claimed.
 */
static bool claim_unchanged(struct sl_bpf *b, const struct sl_bpf_sandbox_spec *spec, uint64_t cgid)
{
	return spec_plain(spec) && take_prepared(b, cgid, idle_of(spec), NULL);
}

/*
 * Lock held. When cgid was prepared and not claimed yet: claims it, applying what spec sets
 * beyond the prepared registration, and returns 1 (or -errno, the registration removed). 0
 * when cgid is not a prepared one.
 */
static int claim_prepared(struct sl_bpf *b, const struct sl_bpf_sandbox_spec *spec, uint64_t cgid)
{
	uint64_t idle_ns;
	int r;

	if (!take_prepared(b, cgid, 0, &idle_ns))
		return 0;
	/* claimed: sl_bpf_sandbox_remove() is the owner's now */
	if (spec_plain(spec) && idle_of(spec) == idle_ns)
		return 1; /* the prepared registration is this sandbox's as it is */
	r = sl_bpf_reconfigure(b, spec, cgid);
	if (r < 0) {
		sl_bpf_sandbox_remove_locked(b, cgid);
		return r;
	}
	return 1;
}

/* Lock held: claims spec's cgroup when it was prepared, else registers it. */
static int add_locked(struct sl_bpf *b, const struct sl_bpf_sandbox_spec *spec, uint64_t *ret_cgid)
{
	int r;

	if (spec->policy && spec->policy->n_rules > SL_BPF_MAX_RULES)
		return -EINVAL;
	/* a cgroup prepared ahead (checked then) needs at most its sandbox's own settings */
	r = spec->cgid ? claim_prepared(b, spec, spec->cgid) : 0;
	if (r == 0)
		return sl_bpf_sandbox_add_locked(b, spec, ret_cgid);
	if (r > 0 && ret_cgid)
		*ret_cgid = spec->cgid;
	return r < 0 ? r : 0;
}

int sl_bpf_sandbox_add(struct sl_bpf *b, const struct sl_bpf_sandbox_spec *spec, uint64_t *ret_cgid)
{
	struct sl_bpf_sandbox_spec s;
	int r;

	if (!spec)
		return -EINVAL;
	/* the cgroup id looked up once, here, when the caller did not have it */
	s = *spec;
	if (!s.cgid && s.cgroup_path && sl_cgroup_path_id(s.cgroup_path, &s.cgid) < 0)
		s.cgid = 0;
	/* a pooled shell's cgroup prepared with this spec: claimed without the registration
	   lock, which a filler preparing the next shell may hold for a while */
	if (s.cgid && claim_unchanged(b, &s, s.cgid)) {
		if (ret_cgid)
			*ret_cgid = s.cgid;
		return 0;
	}
	sl_bpf_lock(b, LOCK_EX);
	r = add_locked(b, &s, ret_cgid);
	sl_bpf_lock(b, LOCK_UN);
	return r;
}

int sl_bpf_sandbox_remove(struct sl_bpf *b, uint64_t cgid)
{
	int r;

	sl_bpf_lock(b, LOCK_EX);
	forget_prepared(b, cgid);
	r = sl_bpf_sandbox_remove_locked(b, cgid);
	sl_bpf_lock(b, LOCK_UN);
	return r;
}

int sl_bpf_prune(struct sl_bpf *b)
{
	int r;

	sl_bpf_lock(b, LOCK_EX);
	r = sl_bpf_prune_locked(b);
	if (r > 0)
		forget_unregistered(b);
	sl_bpf_lock(b, LOCK_UN);
	return r;
}

int sl_bpf_sandbox_prepare(struct sl_bpf *b, const struct sl_bpf_sandbox_spec *spec,
			   uint64_t *ret_cgid)
{
	uint64_t cgid;
	int r;

	if (!spec || !spec_plain(spec))
		return -EINVAL;
	sl_bpf_lock(b, LOCK_EX);
	r = add_locked(b, spec, &cgid);
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

// SPDX-License-Identifier: Apache-2.0
/*
 * The built-in seccomp filters (sl_seccomp_builtin: what every sandbox gets), run here on
 * made-up syscalls by a classic BPF interpreter, as the kernel would run them: base + seal,
 * strictest answer first. No filter is loaded; tests/priv/test_containment_seccomp.c makes the
 * same syscalls for real inside a sandbox.
 */
#include "testutil.h"

#include "sandbox/seccomp.h"

#include <sandlot/util.h>

#include <linux/audit.h>
#include <linux/netlink.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/socket.h>

#define ALLOW	    SECCOMP_RET_ALLOW
#define ERRNO(e)    (SECCOMP_RET_ERRNO | (e))
#define HIGH32(v)   ((v) | 1ULL << 32)
#define STEPS_LIMIT 4096 /* a classic BPF program only jumps forward: fewer than its length */

/* Runs one classic BPF program on d, as the kernel's seccomp does; fails on what it lacks. */
static uint32_t run_prog(const struct sock_fprog *p, const struct seccomp_data *d)
{
	uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = {0};
	unsigned pc = 0;

	for (unsigned steps = 0; steps < STEPS_LIMIT; steps++, pc++) {
		assert_true(pc < p->len);
		const struct sock_filter *f = &p->filter[pc];
		uint32_t src = BPF_SRC(f->code) == BPF_X ? x : f->k;

		switch (BPF_CLASS(f->code)) {
		case BPF_LD:
			if (f->code == (BPF_LD | BPF_W | BPF_ABS)) {
				assert_true(f->k % 4 == 0 && f->k + 4 <= sizeof(*d));
				memcpy(&a, (const char *)d + f->k, 4); /* native order */
			} else if (f->code == (BPF_LD | BPF_IMM)) {
				a = f->k;
			} else if (f->code == (BPF_LD | BPF_MEM)) {
				assert_true(f->k < BPF_MEMWORDS);
				a = mem[f->k];
			} else {
				fail_msg("insn %u: unsupported load 0x%04x", pc, f->code);
			}
			break;
		case BPF_LDX:
			assert_true(BPF_MODE(f->code) == BPF_IMM || BPF_MODE(f->code) == BPF_MEM);
			assert_true(BPF_MODE(f->code) == BPF_IMM || f->k < BPF_MEMWORDS);
			x = BPF_MODE(f->code) == BPF_IMM ? f->k : mem[f->k];
			break;
		case BPF_ST:
		case BPF_STX:
			assert_true(f->k < BPF_MEMWORDS);
			mem[f->k] = BPF_CLASS(f->code) == BPF_ST ? a : x;
			break;
		case BPF_ALU:
			switch (BPF_OP(f->code)) {
			case BPF_AND:
				a &= src;
				break;
			case BPF_OR:
				a |= src;
				break;
			case BPF_ADD:
				a += src;
				break;
			case BPF_SUB:
				a -= src;
				break;
			default:
				fail_msg("insn %u: unsupported alu 0x%04x", pc, f->code);
			}
			break;
		case BPF_JMP:
			if (BPF_OP(f->code) == BPF_JA) {
				pc += f->k;
				break;
			}
			bool t = false;
			switch (BPF_OP(f->code)) {
			case BPF_JEQ:
				t = a == src;
				break;
			case BPF_JGT:
				t = a > src;
				break;
			case BPF_JGE:
				t = a >= src;
				break;
			case BPF_JSET:
				t = (a & src) != 0;
				break;
			default:
				fail_msg("insn %u: unsupported jump 0x%04x", pc, f->code);
			}
			pc += t ? f->jt : f->jf;
			break;
		case BPF_RET:
			return BPF_RVAL(f->code) == BPF_A ? a : f->k;
		case BPF_MISC:
			if (BPF_MISCOP(f->code) == BPF_TAX)
				x = a;
			else
				a = x;
			break;
		}
	}
	fail_msg("the program did not return");
	return 0;
}

/*
 * What the kernel answers with base and seal loaded (seal last): the action of highest
 * precedence (lowest as s32), and on a tie the most recently loaded filter's.
 */
static uint32_t verdict_of(bool sealed, long nr, uint32_t arch, const uint64_t args[6])
{
	const struct sl_seccomp *s = sl_seccomp_builtin();
	struct seccomp_data d = {.nr = (int)nr, .arch = arch};
	uint32_t r, base;

	memcpy(d.args, args, sizeof(d.args));
	base = run_prog(&s->base, &d);
	if (!sealed)
		return base;
	r = run_prog(&s->seal, &d);
	if ((int32_t)(base & SECCOMP_RET_ACTION_FULL) < (int32_t)(r & SECCOMP_RET_ACTION_FULL))
		r = base;
	return r;
}

/* -1 when the name is no syscall of this architecture. */
static long nr_of(const char *name)
{
	int nr = seccomp_syscall_resolve_name(name);

	return nr == __NR_SCMP_ERROR ? -1 : nr;
}

static uint32_t call(const char *name, uint64_t a0, uint64_t a1, uint64_t a2)
{
	const uint64_t args[6] = {a0, a1, a2};
	long nr = nr_of(name);

	if (nr < 0)
		fail_msg("%s: no such syscall here", name);
	return verdict_of(true, nr, seccomp_arch_native(), args);
}

#define assert_verdict(v, want)                                                            \
	do {                                                                               \
		uint32_t v_ = (v);                                                         \
		if (v_ != (uint32_t)(want))                                                \
			fail_msg("%s: 0x%08x, expected 0x%08x", #v, v_, (uint32_t)(want)); \
	} while (0)

/*
 * docs/run.md's table of refusals ("The seccomp list"), then others the list leaves out: each
 * fails with EPERM.
 */
static const char *const refused[] = {
	"mount",
	"umount2",
	"pivot_root",
	"fsopen",
	"fsmount",
	"fsconfig",
	"fspick",
	"open_tree",
	"move_mount",
	"mount_setattr",
	"unshare",
	"setns",
	"ptrace",
	"process_vm_readv",
	"process_vm_writev",
	"bpf",
	"perf_event_open",
	"io_uring_setup",
	"io_uring_enter",
	"io_uring_register",
	"userfaultfd",
	"keyctl",
	"add_key",
	"request_key",
	"kexec_load",
	"kexec_file_load",
	"init_module",
	"finit_module",
	"delete_module",
	"reboot",
	"swapon",
	"swapoff",
	"acct",
	"open_by_handle_at",
	"name_to_handle_at",
	"inotify_init",
	"inotify_init1",
	"inotify_add_watch",
	"inotify_rm_watch",
	"fanotify_init",
	"fanotify_mark",
	"seccomp",
	"sethostname",
	"setdomainname",
	"capset",
	"ioprio_set",
	"chroot",
	"settimeofday",
	"clock_settime",
	"adjtimex",
	"syslog",
	"quotactl",
	"lookup_dcookie",
	"vhangup",
	"iopl",
	"ioperm",
	"pidfd_getfd",
	"kcmp",
};

static void refuses_what_the_docs_list(void **state)
{
	unsigned checked = 0;

	for (size_t i = 0; i < ARRAY_SIZE(refused); i++) {
		if (nr_of(refused[i]) < 0)
			continue; /* not on this architecture (e.g. inotify_init on arm64) */
		if (call(refused[i], 0, 0, 0) != ERRNO(EPERM))
			fail_msg("%s is not refused with EPERM", refused[i]);
		checked++;
	}
	assert_true(checked > ARRAY_SIZE(refused) / 2);
	if (seccomp_arch_native() == AUDIT_ARCH_X86_64)
		assert_int_equal(checked, ARRAY_SIZE(refused));
}

static void allows_what_programs_need(void **state)
{
	static const char *const needed[] = {"read",   "write", "openat",	"close",
					     "mmap",   "brk",	"futex",	"execve",
					     "wait4",  "kill",	"rt_sigaction", "exit_group",
					     "getpid", "ioctl", "prctl",	"setresuid"};

	for (size_t i = 0; i < ARRAY_SIZE(needed); i++)
		if (call(needed[i], 0, 0, 0) != ALLOW)
			fail_msg("%s is refused", needed[i]);
	/* a syscall number this kernel may not know: EPERM, not a kill (runtimes probe) */
	assert_verdict(verdict_of(true, 4000, seccomp_arch_native(), (uint64_t[6]){0}),
		       ERRNO(EPERM));
}

/* Another architecture's numbers (and on x86-64 the x32 ABI's) are not ours to allow. */
static void other_abis_are_killed(void **state)
{
	uint32_t arch =
		seccomp_arch_native() == AUDIT_ARCH_X86_64 ? AUDIT_ARCH_I386 : AUDIT_ARCH_X86_64;
	uint32_t v = verdict_of(true, nr_of("read"), arch, (uint64_t[6]){0});

	assert_true((v & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_KILL_PROCESS ||
		    (v & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_KILL_THREAD);
	if (seccomp_arch_native() == AUDIT_ARCH_X86_64) {
		v = verdict_of(true, nr_of("read") | 0x40000000, AUDIT_ARCH_X86_64,
			       (uint64_t[6]){0});
		assert_true(v != ALLOW);
	}
}

static void clone_without_new_namespaces(void **state)
{
	static const uint64_t ns[] = {CLONE_NEWNS,  CLONE_NEWUSER, CLONE_NEWPID,    CLONE_NEWNET,
				      CLONE_NEWUTS, CLONE_NEWIPC,  CLONE_NEWCGROUP, CLONE_NEWTIME};
	const uint64_t thread = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
				CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID |
				CLONE_CHILD_CLEARTID;

	assert_verdict(call("clone", thread, 0, 0), ALLOW);
	assert_verdict(call("clone", SIGCHLD, 0, 0), ALLOW);
	for (size_t i = 0; i < ARRAY_SIZE(ns); i++) {
		assert_verdict(call("clone", SIGCHLD | ns[i], 0, 0), ERRNO(EPERM));
		assert_verdict(call("clone", HIGH32(thread | ns[i]), 0, 0), ERRNO(EPERM));
	}
	/* clone3's flags are in memory a filter cannot read: ENOSYS, so libc uses clone */
	assert_verdict(call("clone3", 0, 0, 0), ERRNO(ENOSYS));
}

static void sockets_of_the_internet_and_local_families_only(void **state)
{
	static const uint64_t families[] = {AF_UNIX, AF_INET, AF_INET6};
	static const uint64_t types[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET};

	for (size_t f = 0; f < ARRAY_SIZE(families); f++) {
		for (size_t t = 0; t < ARRAY_SIZE(types); t++) {
			assert_verdict(call("socket", families[f], types[t], 0), ALLOW);
			assert_verdict(call("socket", families[f],
					    types[t] | SOCK_NONBLOCK | SOCK_CLOEXEC, 0),
				       ALLOW);
		}
		assert_verdict(call("socket", families[f], SOCK_RAW, 0), ERRNO(EPERM));
		assert_verdict(call("socket", families[f], SOCK_PACKET, 0), ERRNO(EPERM));
	}
	assert_verdict(call("socket", AF_PACKET, SOCK_RAW, 0), ERRNO(EPERM));
	assert_verdict(call("socket", AF_PACKET, SOCK_DGRAM, 0), ERRNO(EPERM));
	assert_verdict(call("socket", AF_VSOCK, SOCK_STREAM, 0), ERRNO(EPERM));
	assert_verdict(call("socket", AF_ALG, SOCK_SEQPACKET, 0), ERRNO(EPERM));
	/* the family compared whole, upper bits included */
	assert_verdict(call("socket", HIGH32(AF_INET), SOCK_STREAM, 0), ERRNO(EPERM));
	/* netlink: NETLINK_ROUTE of any type (getifaddrs, ip), no other protocol */
	assert_verdict(call("socket", AF_NETLINK, SOCK_RAW, NETLINK_ROUTE), ALLOW);
	assert_verdict(call("socket", AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_ROUTE), ALLOW);
	assert_verdict(call("socket", AF_NETLINK, SOCK_RAW, NETLINK_KOBJECT_UEVENT), ERRNO(EPERM));
	assert_verdict(call("socket", AF_NETLINK, SOCK_RAW, NETLINK_AUDIT), ERRNO(EPERM));
	assert_verdict(call("socket", AF_NETLINK, SOCK_RAW, NETLINK_SOCK_DIAG), ERRNO(EPERM));
	assert_verdict(call("socket", AF_NETLINK, SOCK_RAW, HIGH32(NETLINK_ROUTE)), ERRNO(EPERM));
}

/* The kernel reads ioctl's request as an unsigned int: upper bits must not get one past. */
static void terminal_ioctls_refused_whatever_the_upper_bits(void **state)
{
	static const uint64_t tty[] = {TIOCSTI, TIOCLINUX, TIOCSCTTY};

	for (size_t i = 0; i < ARRAY_SIZE(tty); i++) {
		assert_verdict(call("ioctl", 0, tty[i], 0), ERRNO(EPERM));
		assert_verdict(call("ioctl", 7, HIGH32(tty[i]), 0), ERRNO(EPERM));
		assert_verdict(call("ioctl", 0, tty[i] | 0xffffffff00000000ULL, 1), ERRNO(EPERM));
	}
	assert_verdict(call("ioctl", 0, TCGETS, 0), ALLOW);
	assert_verdict(call("ioctl", 0, TIOCGWINSZ, 0), ALLOW);
	assert_verdict(call("ioctl", 3, FIONREAD, 0), ALLOW);
	assert_verdict(call("ioctl", 0, TIOCSTI + 1, 0), ALLOW);
}

static void personality_only_harmless(void **state)
{
	assert_verdict(call("personality", 0xffffffff, 0, 0), ALLOW); /* the query */
	assert_verdict(call("personality", PER_LINUX, 0, 0), ALLOW);
	assert_verdict(call("personality", PER_LINUX32, 0, 0), ALLOW);
	assert_verdict(call("personality", UNAME26, 0, 0), ALLOW);
	assert_verdict(call("personality", ADDR_NO_RANDOMIZE, 0, 0), ERRNO(EPERM));
	assert_verdict(call("personality", READ_IMPLIES_EXEC, 0, 0), ERRNO(EPERM));
	assert_verdict(call("personality", MMAP_PAGE_ZERO, 0, 0), ERRNO(EPERM));
}

/* The spawner and the child's set-up run under base alone: what they need it allows. */
static void setup_syscalls_allowed_until_sealed(void **state)
{
	static const char *const setup[] = {"setns",	   "unshare", "mount",	 "move_mount",
					    "sethostname", "capset",  "seccomp", "ioprio_set"};

	for (size_t i = 0; i < ARRAY_SIZE(setup); i++) {
		long nr = nr_of(setup[i]);

		assert_true(nr >= 0);
		if (verdict_of(false, nr, seccomp_arch_native(), (uint64_t[6]){0}) != ALLOW)
			fail_msg("%s is refused before the seal", setup[i]);
		if (call(setup[i], 0, 0, 0) != ERRNO(EPERM))
			fail_msg("%s is not refused after the seal", setup[i]);
	}
	/* the spawner clones sandboxes with clone3 */
	assert_verdict(verdict_of(false, nr_of("clone3"), seccomp_arch_native(), (uint64_t[6]){0}),
		       ALLOW);
	/* but never what the seal is not there to refuse */
	assert_verdict(verdict_of(false, nr_of("ptrace"), seccomp_arch_native(), (uint64_t[6]){0}),
		       ERRNO(EPERM));
	assert_verdict(verdict_of(false, nr_of("bpf"), seccomp_arch_native(), (uint64_t[6]){0}),
		       ERRNO(EPERM));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(refuses_what_the_docs_list),
		cmocka_unit_test(allows_what_programs_need),
		cmocka_unit_test(other_abis_are_killed),
		cmocka_unit_test(clone_without_new_namespaces),
		cmocka_unit_test(sockets_of_the_internet_and_local_families_only),
		cmocka_unit_test(terminal_ioctls_refused_whatever_the_upper_bits),
		cmocka_unit_test(personality_only_harmless),
		cmocka_unit_test(setup_syscalls_allowed_until_sealed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * clone3() of a child that runs a function on a stack of its own, for children made with
 * CLONE_VM (sharing the caller's memory until they exec, as posix_spawn's do): the raw
 * syscall returns into the caller's frame in both processes, which a child on another stack
 * cannot do, so the child's side is written here in assembly. x86_64 only, like the rest of
 * the agent (vmlinux.h, the BPF objects). Freestanding: the sandbox's init uses it too.
 */
#include <linux/sched.h>
#include <stddef.h>

#ifndef __x86_64__
#error "sandlot's spawn path is written for x86_64"
#endif

#define SL_NR_CLONE  56 /* x86_64 */
#define SL_NR_CLONE3 435
#define SL_NR_EXIT   60

/*
 * The raw clone (nr SL_NR_CLONE: a1 flags, a2 the stack's top) or clone3 (SL_NR_CLONE3: a1
 * the struct clone_args, with stack and stack_size, a2 its size), where the child calls
 * fn(arg) on its own stack and exits with its return value (the thread only: SYS_exit); fn
 * should not return when the child shares memory. The stack's top must be 16-byte aligned.
 * Returns the child's pid in the caller, or -errno.
 */
static inline long sl_clone_run(long nr, long a1, long a2, int (*fn)(void *), void *arg)
{
	register long rax __asm__("rax") = nr;
	register long rdi __asm__("rdi") = a1;
	register long rsi __asm__("rsi") = a2;
	register long rdx __asm__("rdx") = 0; /* clone: no parent_tid, child_tid or tls */
	register long r10 __asm__("r10") = 0;
	register long r8 __asm__("r8") = 0;
	register int (*r12)(void *) __asm__("r12") = fn;
	register void *r13 __asm__("r13") = arg;

	__asm__ volatile("syscall\n\t"
			 "test %%rax, %%rax\n\t"
			 "jnz 1f\n\t"
			 /* the child: on its own stack, no caller frame to return to */
			 "xor %%ebp, %%ebp\n\t"
			 "mov %%r13, %%rdi\n\t"
			 "call *%%r12\n\t"
			 "mov %%eax, %%edi\n\t"
			 "mov %[nr_exit], %%eax\n\t"
			 "syscall\n\t"
			 "ud2\n"
			 "1:"
			 : "+r"(rax)
			 : "r"(rdi), "r"(rsi), "r"(rdx), "r"(r10), "r"(r8), "r"(r12),
			   "r"(r13), [nr_exit] "i"(SL_NR_EXIT)
			 : "rcx", "r11", "memory", "cc");
	return rax;
}

/* clone3(args) through sl_clone_run. */
static inline long sl_clone3_run(struct clone_args *args, int (*fn)(void *), void *arg)
{
	return sl_clone_run(SL_NR_CLONE3, (long)args, (long)sizeof(*args), fn, arg);
}

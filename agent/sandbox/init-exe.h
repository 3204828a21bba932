/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The sandbox's init program (sandbox-init.c), built into the agent: every sandbox's child
 * execs it from an fd (execveat AT_EMPTY_PATH), so it needs no path inside the sandbox's root
 * and cannot be swapped for another program there.
 */

/*
 * A read-only fd (O_CLOEXEC) of a sealed memfd holding the init program: sealed so that
 * nothing can change it, reopened read-only because the kernel refuses to exec a file that is
 * open for writing. Returns the fd or -errno.
 */
int sl_init_exe_open(void);

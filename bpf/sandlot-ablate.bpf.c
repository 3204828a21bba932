// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * bench/bpf-overhead's copy of sandlot.bpf.c with the SL_BPF_ABLATE_* switches compiled in (the
 * same maps and programs; the loader opens it with sl_bpf_opts.obj_path and sets `ablate`).
 */
#define SL_BPF_ABLATION 1
#include "sandlot.bpf.c"

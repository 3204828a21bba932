/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * JSON output for --json modes, built with jansson (never by hand). Commands build a json_t
 * tree and hand it to sl_json_print(), which prints one object per line (or indented with
 * pretty) and frees it.
 */
#include <stdbool.h>
#include <stdio.h>
#include <jansson.h>

/* Prints obj to f followed by a newline, then drops the caller's reference. Returns 0 or -errno. */
int sl_json_print(FILE *f, json_t *obj, bool pretty);

/* Prints {"error": msg} the way bpftool does under -j, so that errors stay valid JSON. */
void sl_json_print_error(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Sets key to a new value, ignoring allocation failure of the value (jansson's *_new steals
 * and tolerates NULL). Shorthands that keep builders readable.
 */
void sl_json_set_str(json_t *obj, const char *key, const char *val);
void sl_json_set_int(json_t *obj, const char *key, long long val);
void sl_json_set_bool(json_t *obj, const char *key, bool val);
void sl_json_set_real(json_t *obj, const char *key, double val);

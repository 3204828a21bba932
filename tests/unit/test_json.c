// SPDX-License-Identifier: Apache-2.0
#include "testutil.h"

#include <sandlot/json.h>

#include <stdlib.h>
#include <string.h>

/* Prints obj (consumed) through sl_json_print into a string the caller frees. */
static char *printed(json_t *obj, bool pretty)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(sl_json_print(f, obj, pretty), 0);
	fclose(f);
	return buf;
}

/* One object a line; seconds keep nine significant digits, not binary noise. */
static void reals_print_short_and_exact_enough(void **state)
{
	json_t *o = json_object();
	char *s;

	sl_json_set_real(o, "wall_seconds", 0.041295384);
	sl_json_set_real(o, "cpu_seconds", 12.5);
	sl_json_set_int(o, "exit_code", 0);
	s = printed(o, false);
	assert_non_null(strstr(s, "\"wall_seconds\":0.041295384,"));
	assert_non_null(strstr(s, "\"cpu_seconds\":12.5,"));
	assert_string_equal(s + strlen(s) - 1, "\n");
	json_t *back = json_loads(s, 0, NULL);
	assert_non_null(back);
	assert_true(json_real_value(json_object_get(back, "wall_seconds")) == 0.041295384);
	json_decref(back);
	free(s);
}

static void null_object_is_an_error(void **state)
{
	FILE *f = fopen("/dev/null", "w");

	assert_int_equal(sl_json_print(f, NULL, false), -ENOMEM);
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reals_print_short_and_exact_enough),
		cmocka_unit_test(null_object_is_an_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

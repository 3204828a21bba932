/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* sandlot-control's wiring: builds every part on one loop, runs it, stops it. */
#include "config.h"

/*
 * Runs the control node until SIGTERM/SIGINT: then it stops taking requests and connections,
 * lets in-flight invocations finish for up to cfg->shutdown_grace_ns (what is left ends with
 * ServiceException, units released) and returns 0. A second signal stops at once. Returns
 * -errno (logged) when it cannot start.
 */
int sl_ctl_run(const struct sl_ctl_config *cfg);

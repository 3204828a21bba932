// SPDX-License-Identifier: Apache-2.0
/* The daemon's log lines about sandboxes and invocations (agent-log.h: which, at what level). */
#include "daemon/agent-log.h"
#include "daemon/worker-internal.h"

#include <sandlot/log.h>
#include <sandlot/time.h>

#include <jansson.h>
#include <string.h>

#define ERROR_BODY_PARSE_MAX (64 * 1024) /* bigger error bodies are not read for their type */

/* busy, idle, frozen: at most AGENT_LOG_BURST lines per interval per sandbox */
static void log_activity(struct asb *s, uint8_t state, uint8_t reason)
{
	uint32_t held;

	if (sl_log_get_level() > SL_LOG_DEBUG)
		return;
	if (!sl_log_limit_pass(&s->log_limit, sl_now_ns(), AGENT_LOG_INTERVAL_NS, AGENT_LOG_BURST,
			       &held))
		return;
	if (held)
		sl_debug_kv("sandbox state lines suppressed",
			    "sandbox=%s function=%s suppressed=%u", s->id, s->function, held);
	sl_debug_kv("sandbox state", "sandbox=%s function=%s state=%s reason=%s", s->id,
		    s->function, sl_proto_state_name(state), sl_proto_reason_name(reason));
}

static void log_destroyed(struct asb *s, uint8_t reason)
{
	uint32_t held = sl_log_limit_flush(&s->log_limit);
	uint64_t now = sl_wall_ns();

	if (held)
		sl_debug_kv("sandbox state lines suppressed",
			    "sandbox=%s function=%s suppressed=%u", s->id, s->function, held);
	sl_info_kv("sandbox destroyed",
		   "sandbox=%s function=%s version=%s reason=%s invocations=%llu age_ms=%llu",
		   s->id, s->function, s->version, sl_proto_reason_name(reason),
		   (unsigned long long)s->invocations,
		   (unsigned long long)(now > s->created_wall ? (now - s->created_wall) / 1000000
							      : 0));
}

void agent_log_transition(struct asb *s, uint8_t state, uint8_t reason)
{
	if (state == SL_SANDBOX_DESTROYED)
		log_destroyed(s, reason);
	else if (state == SL_SANDBOX_CREATED)
		sl_info_kv("sandbox created",
			   "sandbox=%s function=%s version=%s memory_mb=%u spawn_us=%llu", s->id,
			   s->function, s->version, s->memory_mb,
			   (unsigned long long)((s->spawned_mono - s->created_mono) / 1000));
	else
		log_activity(s, state, reason);
}

/* errorType and errorMessage of an error body (Lambda's JSON), if it is one. */
static void error_fields(const void *payload, size_t len, char *type, char *msg, size_t n)
{
	json_t *o = len && len <= ERROR_BODY_PARSE_MAX ? json_loadb(payload, len, 0, NULL) : NULL;
	const char *t = json_string_value(json_object_get(o, "errorType"));
	const char *m = json_string_value(json_object_get(o, "errorMessage"));

	snprintf(type, n, "%s", t ? t : "");
	snprintf(msg, n, "%s", m ? m : "");
	json_decref(o);
}

static const char *const status_names[] = {
	"ok", "function_error", "timeout", "init_error", "runtime_exit", "no_sandbox", "internal",
};

void agent_log_invocation(struct asb *s, uint8_t status, const void *payload, size_t len,
			  uint64_t duration_ns)
{
	const char *name = status < ARRAY_SIZE(status_names) ? status_names[status] : "?";
	enum sl_log_level level = status == SL_INVOKE_INTERNAL ? SL_LOG_WARN : SL_LOG_INFO;
	char type[128], msg[256];

	if (status == SL_INVOKE_OK) {
		sl_debug_kv("invocation",
			    "sandbox=%s function=%s request=%s status=ok duration_us=%llu", s->id,
			    s->function, s->inv.request_id,
			    (unsigned long long)(duration_ns / 1000));
		return;
	}
	if (level < sl_log_get_level())
		return;
	error_fields(payload, len, type, msg, sizeof(type));
	sl_log_kv(level, 0, "invocation failed",
		  "sandbox=%s function=%s request=%s status=%s error_type=%s error=%s "
		  "duration_ms=%.1f",
		  s->id, s->function, s->inv.request_id, name, type, msg, duration_ns / 1e6);
}

void agent_log_init_error(struct asb *s, const char *error_type, const char *detail, int err)
{
	sl_log_kv(err ? SL_LOG_WARN : SL_LOG_INFO, err, "sandbox init failed",
		  "sandbox=%s function=%s version=%s error_type=%s error=%s", s->id, s->function,
		  s->version, error_type, detail ? detail : "");
}

void agent_log_exit(struct asb *s, const struct sl_sandbox_result *res)
{
	char how[96], sig[16];

	if (res->signal)
		sl_signal_name(res->signal, sig, sizeof(sig));
	if (!s->ready) {
		if (res->signal)
			snprintf(how, sizeof(how), "%s", sig);
		else
			snprintf(how, sizeof(how), "exit status %d%s%s%s", res->exit_code,
				 res->setup_step[0] ? " (setup step: " : "", res->setup_step,
				 res->setup_step[0] ? ")" : "");
		agent_log_init_error(s, "Runtime.ExitError", how, 0);
	} else if (res->signal) {
		sl_info_kv("runtime exited", "sandbox=%s function=%s signal=%s", s->id, s->function,
			   sig);
	} else {
		sl_info_kv("runtime exited", "sandbox=%s function=%s exit_status=%d", s->id,
			   s->function, res->exit_code);
	}
}

#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The control node's /metrics (lib/metrics, Prometheus text 0.0.4) under load: every scrape
taken while invocations run, throttle and fail is clean for `promtool check metrics` and has
each series once; afterwards the series agree, value by value, with what the clients saw
(results by type, throttles by account and limit, placements warm/cold, the duration
histograms' counts, concurrency and limits per account and function, hosts by state, build
info and process metrics).

A real control node and agent on loopback (tests/harness/cluster.py: everything is stopped and
removed at the end, also on failure). Needs root (the agent); skips without it unless CI=true.
"""
import concurrent.futures
import re
import subprocess
import sys
import threading

from cluster import ACCOUNT_A, ACCOUNT_B, ClusterCase, create, invoke_status, main

SERIES = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{.*\})?) (\S+)$')


def scrape(k):
    status, headers, body = k.request("GET", "/metrics", timeout=10)
    return status, headers.get("content-type"), body.decode()


def parse(body):
    """{series: value}, failing on a repeated series or a repeated HELP/TYPE."""
    out, seen_meta = {}, set()
    for line in body.splitlines():
        if line.startswith("#"):
            kind, name = line.split(" ")[1:3]
            assert (kind, name) not in seen_meta, "repeated # %s %s" % (kind, name)
            seen_meta.add((kind, name))
            continue
        m = SERIES.match(line)
        assert m, "bad line %r" % line
        assert m.group(1) not in out, "duplicate series %s" % m.group(1)
        out[m.group(1)] = float(m.group(2))
    return out


def promtool(body):
    r = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True,
                       text=True, timeout=60)
    return r.returncode, r.stdout + r.stderr


class ControlMetrics(ClusterCase):

    def test_metrics_under_load(self):
        k, c = self.k, self.c
        create(c, "capped")
        c.put_function_concurrency(FunctionName="capped", ReservedConcurrentExecutions=1)
        create(c, "open")
        bodies, stop = [], threading.Event()

        def scraper():
            while not stop.is_set():
                bodies.append(scrape(k))

        t = threading.Thread(target=scraper)
        t.start()
        try:
            # one attempt per call (boto3 retries throttles and 5xx by default, which the
            # server would count as more invocations than the test made)
            clients = [k.client() for _ in range(4)]
            events = [("capped", {"sleep": 0.2}) for _ in range(12)] + \
                     [("open", {"fail": i % 5 == 0}) for i in range(20)]
            with concurrent.futures.ThreadPoolExecutor(4) as ex:
                res = list(ex.map(lambda i: (events[i][0], invoke_status(
                    clients[i % 4], events[i][0], events[i][1])), range(len(events))))
        finally:
            stop.set()
            t.join()
        k.wait_for(lambda: k.units() == (0, 0), "units back")
        final = scrape(k)
        bodies.append(final)

        # every scrape: 200, the 0.0.4 content type, promtool clean, no duplicates
        self.assertGreater(len(bodies), 1)
        for status, ctype, body in bodies:
            self.assertEqual(status, 200)
            self.assertEqual(ctype, "text/plain; version=0.0.4; charset=utf-8")
            rc, out = promtool(body)
            self.assertEqual(rc, 0, out)
            m = parse(body)
            self.assertLessEqual(m.get('sandlot_control_function_units_in_use{account="%s",'
                                       'function="capped"}' % ACCOUNT_A, 0), 1)

        ok = sum(1 for _, r in res if r == (200, None))
        ferr = sum(1 for _, r in res if r[0] == 200 and r[1])
        throttled = sum(1 for _, r in res if r[0] == 429)
        self.assertEqual(ok + ferr + throttled, len(res), res)
        self.assertEqual(ferr, 4)
        m = parse(final[2])
        rr = 'sandlot_control_invocation_results_total{type="RequestResponse",result="%s"}'
        self.assertEqual(m.get(rr % "success", 0), ok)
        self.assertEqual(m.get(rr % "function_error", 0), ferr)
        self.assertEqual(m.get(rr % "throttled", 0), throttled)
        self.assertEqual(m.get('sandlot_control_throttles_total{account="%s",reason="function"}'
                               % ACCOUNT_A, 0), throttled)
        cold = m.get('sandlot_control_placements_total{result="cold"}', 0)
        warm = m.get('sandlot_control_placements_total{result="warm"}', 0)
        self.assertEqual(cold + warm, ok + ferr)
        self.assertEqual(cold, m["sandlot_control_cold_starts_total"])
        self.assertEqual(warm, m["sandlot_control_warm_starts_total"])
        self.assertGreaterEqual(cold, 2)  # one sandbox per function at least
        self.assertEqual(m["sandlot_control_placement_duration_seconds_count"], cold + warm)
        self.assertEqual(m["sandlot_control_admission_duration_seconds_count"], len(res))
        # every Lambda API request: 2 creates, 1 concurrency, the invocations
        self.assertGreaterEqual(m["sandlot_control_request_duration_seconds_count"],
                                len(res) + 3)
        self.assertEqual(m['sandlot_control_request_duration_seconds_bucket{le="+Inf"}'],
                         m["sandlot_control_request_duration_seconds_count"])
        # concurrency and limits, per account and function
        fn = '{account="%s",function="%s"}'
        self.assertEqual(m["sandlot_control_function_reserved_concurrency" +
                           fn % (ACCOUNT_A, "capped")], 1)
        self.assertNotIn("sandlot_control_function_reserved_concurrency" +
                         fn % (ACCOUNT_A, "open"), m)
        self.assertEqual(m["sandlot_control_function_units_in_use" +
                           fn % (ACCOUNT_A, "open")], 0)
        for acc in (ACCOUNT_A, ACCOUNT_B):
            a = '{account="%s"}' % acc
            self.assertEqual(m["sandlot_control_account_concurrency_limit" + a], 1000)
            self.assertEqual(m["sandlot_control_account_units_in_use" + a], 0)
            self.assertEqual(m["sandlot_control_account_unreserved_units_in_use" + a], 0)
        self.assertEqual(m['sandlot_control_account_unreserved_concurrency_limit{account="%s"}'
                           % ACCOUNT_A], 999)
        self.assertEqual(m['sandlot_control_account_unreserved_concurrency_limit{account="%s"}'
                           % ACCOUNT_B], 1000)
        # hosts
        self.assertEqual(m['sandlot_control_hosts_by_state{state="ready"}'], 1)
        self.assertEqual(m['sandlot_control_hosts_by_state{state="draining"}'], 0)
        self.assertEqual(m["sandlot_control_hosts"], 1)
        self.assertEqual(m["sandlot_control_hosts_draining"], 0)
        self.assertEqual(m['sandlot_control_host_sandboxes{host="test-host-1",zone="default"}'],
                         m["sandlot_control_sandboxes"])
        # build info and process metrics
        info = [s for s in m if s.startswith("sandlot_build_info{")]
        self.assertEqual(len(info), 1, info)
        self.assertIn('component="control"', info[0])
        self.assertEqual(m[info[0]], 1)
        self.assertGreater(m["process_resident_memory_bytes"], 0)
        self.assertGreater(m["process_open_fds"], 0)
        self.assertGreater(m["process_cpu_seconds_total"], 0)
        self.assertGreater(m["process_start_time_seconds"], 0)


if __name__ == "__main__":
    sys.exit(main("control_metrics"))

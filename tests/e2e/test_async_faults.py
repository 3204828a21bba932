#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Asynchronous invocations under faults: 10,000 events (InvocationType Event) against three
agents, each in a network namespace of its own, while, in turn, the control node is SIGKILLed
and restarted, one agent is SIGKILLed and restarted, one agent's link is cut (its veth down) for
longer than the heartbeat timeout and restored, and the control node is SIGKILLed and restarted
again (the two control kills at random points of the stream).

Afterwards: every accepted event (a 202) ran at least once and its outcome is recorded in the
store (the control node's outcomes table, read beside it), none is queued or dead-lettered, no
concurrency unit is held, and no sandbox cgroup is left on any host once the agents stop. A run
is a line of an agent's own log (`msg=invocation ... request=<id> status=ok`, written by the
agent when the runtime answered: each host's log of the request ids it ran). The test prints
how many events ran twice and explains each: its first run ended inside a fault's window
(before a control kill and until the restarted node was back; on the killed host before its
kill; on the cut host while it was cut), i.e. between the run and the commit of its outcome.

The function (Python) sleeps 20 ms and has a reserved concurrency of 12, so that every fault
finds events running and the cold starts stay few. Faults are placed by progress (events done),
as accepting is much faster than running. Takes ~30 s on a 2-vCPU VM.

Environment as tests/harness/cluster.py's (whose Cluster it uses). SL_FAULT_EVENTS overrides
10000, SL_FAULT_SEED fixes the random points.
"""
import datetime
import glob
import http.client
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import unittest

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from cluster import KEY_A, SECRET_A, Cluster, create, invoke_status, main, zip_of

# Runs 20 ms, so that every fault finds events running.
TINY_PY = b'''import time
def handler(event, context):
    time.sleep(0.02)
    return context.aws_request_id
'''

EVENTS = int(os.environ.get("SL_FAULT_EVENTS", "10000"))
SENDERS = 8
UNITS = 12  # the function's reserved concurrency: a dozen warm sandboxes, not a cold-start storm
HEARTBEAT_S = 2.0
MARGIN_S = 2.0  # a run's result reaches its commit well within this on a healthy node
RUN_RE = re.compile(r'^ts=(\S+) level=debug msg=invocation .*function=(\S+) '
                    r'request=([0-9a-f-]{36}) status=ok')


def ts_of(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


class Sender(threading.Thread):
    """Sends events on one kept-alive connection until the shared count reaches the goal;
    a failure (the control node down) reconnects and sends again (a new event)."""

    def __init__(self, k, state):
        super().__init__(daemon=True)
        self.k, self.state = k, state
        self.creds = Credentials(KEY_A, SECRET_A)
        self.conn = None
        self.errors = 0

    def send_one(self, i):
        path = "/2015-03-31/functions/tiny/invocations"
        body = json.dumps({"i": i}).encode()
        req = AWSRequest(method="POST", url="http://%s%s" % (self.k.http, path), data=body,
                         headers={"X-Amz-Invocation-Type": "Event"})
        SigV4Auth(self.creds, "lambda", "us-east-1").add_auth(req)
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.k.port, timeout=30)
        self.conn.request("POST", path, body=body, headers=dict(req.prepare().headers))
        r = self.conn.getresponse()
        r.read()
        return r.status, r.getheader("x-amzn-RequestId")

    def run(self):
        st = self.state
        while True:
            with st["lock"]:
                if st["sent"] >= EVENTS:
                    return
                st["sent"] += 1
                i = st["sent"]
            try:
                status, rid = self.send_one(i)
            except (OSError, http.client.HTTPException):
                status, rid = None, None
            if status == 202:
                with st["lock"]:
                    st["accepted"].append(rid)
                continue
            self.errors += 1
            with st["lock"]:
                st["sent"] -= 1  # not accepted: send another in its place
            if self.conn is not None:
                self.conn.close()
                self.conn = None
            time.sleep(0.05)


class AsyncFaults(unittest.TestCase):
    def test_events_survive_control_and_agent_kills_and_a_cut_link(self):
        k = Cluster("--retry-delay-scale", "0.01", "--heartbeat-timeout",
                    "%gs" % HEARTBEAT_S, netns=True)
        windows = []  # (what, start, end, host index or None)
        t_start = time.monotonic()
        try:
            k.start_control()
            agents = [k.start_agent(zone="az%d" % i, hosts=i) for i in (1, 2, 3)]
            agent_pids = [a.pid for a in agents]
            c = k.client()
            create(c, "tiny", zipped=zip_of({"function.py": TINY_PY}), MemorySize=128,
                   Timeout=10)
            c.put_function_concurrency(FunctionName="tiny", ReservedConcurrentExecutions=UNITS)
            self.assertEqual(invoke_status(c, "tiny", {})[0], 200)  # one warm sandbox
            state = {"lock": threading.Lock(), "sent": 0, "accepted": []}
            senders = [Sender(k, state) for _ in range(SENDERS)]
            for s in senders:
                s.start()

            def accepted():
                with state["lock"]:
                    return len(state["accepted"])

            def at(n):
                """Until n events are done (accepted and no longer queued): accepting is
                much faster than running, so the faults land while events run."""
                def done():
                    q = k.metric("sandlot_control_events_queued")
                    return q is not None and accepted() - q >= n
                k.wait_for(done, "%d events done" % n, timeout=120)

            def hosts(n, what):
                k.wait_for(lambda: k.metric("sandlot_control_hosts") == n, what, timeout=60)

            def running():
                return int(k.metric("sandlot_control_events_in_flight") or 0)

            def kill_control(which):
                print("control node SIGKILL (%s) with %d events running" % (which, running()))
                t = time.time()
                k.restart_control(signal.SIGKILL, pause=0.3)
                hosts(3, "the agents re-registered after the control node's restart")
                windows.append(("%s control SIGKILL" % which, t - MARGIN_S,
                                time.time() + MARGIN_S, None))

            def restart_agent(i):
                agents[i] = k.restart_agent(agents[i])
                agent_pids.append(agents[i].pid)

            rng = random.Random(os.environ.get("SL_FAULT_SEED"))
            # 1: the control node, at a random point of the first third
            at(rng.randrange(EVENTS // 10, EVENTS // 3))
            kill_control("first")
            def busiest(among):
                """The index of the agent of among running the most events now."""
                n = {i: sum(1 for x in k.agent_sandboxes(agents[i]) if x.get("in_flight"))
                     for i in among}
                return max(among, key=lambda i: n[i]), n

            # 2: the busiest agent SIGKILLed, then restarted (same name, state, namespace)
            at(EVENTS * 4 // 10)
            kv, n = busiest([0, 1, 2])
            victim = agents[kv]
            print("agent %d SIGKILL with %d sandboxes running" % (kv + 1, n[kv]))
            k.killed = victim
            t = time.time()
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            windows.append(("agent %d SIGKILL" % (kv + 1), t - MARGIN_S,
                            time.time() + MARGIN_S, kv))
            hosts(2, "the killed agent's host gone")
            restart_agent(kv)
            k.killed = None
            hosts(3, "the restarted agent registered")
            # 3: the busiest other agent's link down past the heartbeat timeout, then up
            at(EVENTS * 55 // 100)
            kc, n = busiest([i for i in (0, 1, 2) if i != kv])
            veth = k.veths[kc]
            print("agent %d cut off with %d sandboxes running there" % (kc + 1, n[kc]))
            t = time.time()
            subprocess.run(["ip", "link", "set", veth, "down"], check=True)
            try:
                hosts(2, "the cut host declared dead")
                time.sleep(max(0.5, HEARTBEAT_S + 1.5 - (time.time() - t)))
            finally:
                subprocess.run(["ip", "link", "set", veth, "up"], check=True)
            cut = time.time() - t
            self.assertGreater(cut, HEARTBEAT_S)
            hosts(3, "the cut host back")
            windows.append(("agent %d link cut" % (kc + 1), t - MARGIN_S,
                            time.time() + MARGIN_S, kc))
            print("agent %d was cut off for %.1f s" % (kc + 1, cut))
            # 4: the control node again, at a random point of the rest
            at(rng.randrange(EVENTS * 65 // 100, EVENTS * 95 // 100))
            kill_control("second")
            for s in senders:
                s.join(120)
                self.assertFalse(s.is_alive())
            rids = set(state["accepted"])
            self.assertEqual(len(rids), EVENTS)
            k.wait_for(lambda: k.metric("sandlot_control_events_queued") == 0 and
                       k.metric("sandlot_control_events_in_flight") == 0,
                       "the queue to drain", timeout=180)
            k.wait_for(lambda: k.units() == (0, 0), "units back")
            self.assertEqual(k.metric("sandlot_control_invocations_in_flight"), 0)
            status, _, body = k.raw("GET", "/v1/dlq")
            self.assertEqual(status, 200)
            self.assertEqual(json.loads(body)["DeadLetters"], [])

            # every accepted event has its outcome recorded, once
            db = sqlite3.connect("file:%s/data/control.db?mode=ro" % k.base, uri=True)
            try:
                out = db.execute("SELECT request_id, count(*) FROM outcomes WHERE name='tiny'"
                                 " GROUP BY request_id").fetchall()
                queued = db.execute("SELECT count(*) FROM events").fetchone()[0]
            finally:
                db.close()
            self.assertEqual(queued, 0)
            outcomes = dict(out)
            missing = rids - set(outcomes)
            self.assertEqual(missing, set(), "%d accepted events without an outcome" %
                             len(missing))
            self.assertEqual(max(outcomes.values()), 1)

            # the cgroups of the warm sandboxes are there to be seen (the check below looks)
            names = re.compile(r"^s\d+-(%s)-\d+$" % "|".join(str(p) for p in agent_pids))

            def cgroups():
                return [p for p in glob.glob("/sys/fs/cgroup/**/", recursive=True)
                        if names.match(os.path.basename(p.rstrip("/")))]
            self.assertNotEqual(cgroups(), [])
            # stop the agents (they remove their sandboxes), then read their logs: every
            # accepted event ran; what ran twice is explained by a fault
            for a in agents:
                a.send_signal(signal.SIGTERM)
                self.assertEqual(a.wait(30), 0)
            runs = {}
            for i in range(3):
                with open(os.path.join(k.base, "agent-%d.log" % (i + 1))) as f:
                    for line in f:
                        m = RUN_RE.match(line)
                        if m and m.group(2) == "tiny":
                            runs.setdefault(m.group(3), []).append((ts_of(m.group(1)), i))
            self.assertEqual(rids - set(runs), set(), "accepted events that never ran")
            twice = {r: sorted(v) for r, v in runs.items() if r in rids and len(v) > 1}
            unexplained = []
            why = {}
            for rid, v in twice.items():
                (t1, h1), (t2, _) = v[0], v[1]
                w = [name for name, a, b, host in windows
                     if a <= t1 <= b and (host is None or host == h1) and t2 > a]
                if w:
                    why[w[0]] = why.get(w[0], 0) + 1
                else:
                    unexplained.append((rid, v))
            print("%d events accepted, %d runs, %d ran more than once: %s" % (
                len(rids), sum(len(v) for v in runs.values()), len(twice),
                ", ".join("%d in the window of the %s" % (n, w) for w, n in why.items())
                or "none"))
            self.assertEqual(unexplained, [], "duplicates no fault explains")

            # no sandbox cgroup of any of the agents (the killed one's included) is left
            self.assertEqual(cgroups(), [], "sandbox cgroups left behind")
            print("fault test took %.0f s" % (time.monotonic() - t_start))
        finally:
            k.stop()  # a link cut when a failure struck goes away with its namespace


if __name__ == "__main__":
    sys.exit(main("async_faults"))

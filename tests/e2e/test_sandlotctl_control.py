#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""sandlotctl's control node objects (function, worker, dlq) against a real control node and
agent: every command in plain and JSON output, the JSON checked field by field against what the
Lambda API and the agent say; the control API's token; the control node down and bad input
(one-line errors, non-zero exit, in both modes).

A control node and one agent on loopback (tests/harness/cluster.py: everything is stopped and
removed at the end, also on failure). Needs root (the agent); skips without it unless CI=true.
Environment (set by ctest): SANDLOT_CTL and tests/harness/cluster.py's.
"""
import json
import os
import re
import subprocess
import sys
import time

from cluster import (ACCOUNT_A, ACCOUNT_B, KEY_B, SECRET_B, Cluster, ClusterCase, create,
                     free_port, invoke_status, main)

CTL = os.environ.get("SANDLOT_CTL", "build/tools/sandlotctl/sandlotctl")


class SandlotctlControl(ClusterCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cb = cls.k.client(key=KEY_B, secret=SECRET_B)
        cls.data = cls.k.data

    def ctl(self, *args, control=None, data=None):
        r = subprocess.run([CTL, "--control", control or self.k.http, "--control-data",
                            data or self.data] + list(args), capture_output=True, text=True,
                           timeout=120)
        return r.returncode, r.stdout, r.stderr

    def ok_json(self, *args):
        rc, out, err = self.ctl("-j", *args)
        self.assertEqual(rc, 0, err + out)
        self.assertEqual(out.count("\n"), 1, out)
        return json.loads(out)

    def ok_plain(self, *args):
        rc, out, err = self.ctl(*args)
        self.assertEqual(rc, 0, err + out)
        return out

    def assertFails(self, needle, *args, **kw):
        """One line naming the problem and a non-zero exit, in both modes."""
        rc, out, err = self.ctl(*args, **kw)
        self.assertNotEqual(rc, 0)
        self.assertEqual(out, "")
        self.assertRegex(err, r"^Error: [^\n]*\n$")
        self.assertIn(needle, err)
        rc, out, err = self.ctl("-j", *args, **kw)
        self.assertNotEqual(rc, 0)
        self.assertEqual(out.count("\n"), 1, out)
        self.assertIn(needle, json.loads(out)["error"])

    def wait_warm(self, name, n):
        self.k.wait_for(lambda: next(f for f in self.ok_json("function", "list")
                                     if f["name"] == name)["warm"] == n, name + " warm")

    def test_1_functions(self):
        create(self.c, "alpha")
        self.c.put_function_concurrency(FunctionName="alpha", ReservedConcurrentExecutions=3)
        create(self.c, "beta", MemorySize=256, Timeout=7)
        create(self.cb, "gamma")
        self.assertEqual(invoke_status(self.c, "alpha", {}), (200, None))
        self.wait_warm("alpha", 1)
        rev = self.c.get_function_configuration(FunctionName="alpha")["RevisionId"]
        fns = {f["name"]: f for f in self.ok_json("function", "list")}
        self.assertEqual(set(fns), {"alpha", "beta", "gamma"})
        self.assertEqual(fns["alpha"], {
            "account": ACCOUNT_A, "name": "alpha", "runtime": "python3.11", "memory_mb": 1024,
            "timeout_s": 30, "revision_id": rev, "concurrency": 0, "concurrency_limit": 3,
            "reserved": 3, "sandboxes": 1, "warm": 1, "busy": 0})
        b = fns["beta"]
        self.assertEqual((b["account"], b["memory_mb"], b["timeout_s"], b["reserved"],
                          b["concurrency_limit"], b["sandboxes"], b["warm"], b["busy"]),
                         (ACCOUNT_A, 256, 7, None, 997, 0, 0, 0))
        self.assertEqual((fns["gamma"]["account"], fns["gamma"]["concurrency_limit"]),
                         (ACCOUNT_B, 1000))
        only_a = self.ok_json("fu", "l", "account", ACCOUNT_A)  # prefixes
        self.assertEqual(sorted(f["name"] for f in only_a), ["alpha", "beta"])
        out = self.ok_plain("function", "list", "account", ACCOUNT_A)
        self.assertIn("alpha: account %s  runtime python3.11  memory 1024MB  timeout 30s\n"
                      "\tconcurrency 0/3  reserved 3  sandboxes 1  warm 1  busy 0\n"
                      % ACCOUNT_A, out)
        self.assertIn("beta: account %s  runtime python3.11  memory 256MB  timeout 7s\n"
                      "\tconcurrency 0/997  reserved -  sandboxes 0  warm 0  busy 0\n"
                      % ACCOUNT_A, out)

        # show: the same fields and its sandboxes, as the agent has them
        s = self.ok_json("function", "show", "name", "alpha")
        listed = s.pop("sandbox_list")
        self.assertEqual(s, fns["alpha"])
        agent = [x for x in self.k.agent_sandboxes(self.k.agent) if x["function"] == "alpha"]
        self.assertEqual([x["id"] for x in listed], [x["id"] for x in agent])
        sb = listed[0]
        self.assertEqual((sb["memory_mb"], sb["inflight"]), (1024, False))
        self.assertIn(sb["state"], ("idle", "frozen"))
        self.assertTrue(sb["key"].startswith("%s/alpha/" % ACCOUNT_A), sb)
        worker = self.ok_json("worker", "list")[0]
        self.assertEqual("%016x" % sb["host"], worker["id"])
        out = self.ok_plain("function", "show", "name", "alpha", "account", ACCOUNT_A)
        self.assertIn("\trevision %s\n" % rev, out)
        self.assertIn("\tsandbox %s  host %s  %s  1024MB\n" % (sb["id"], worker["id"],
                                                               sb["state"]), out)
        # a name in two accounts needs one
        create(self.cb, "beta")
        self.assertFails("function beta is in several accounts: give account",
                         "function", "show", "name", "beta")
        self.assertEqual(self.ok_json("function", "show", "name", "beta", "account",
                                      ACCOUNT_B)["account"], ACCOUNT_B)
        self.assertFails("no function nope", "function", "show", "name", "nope")
        self.assertFails("no function gamma in account %s" % ACCOUNT_A, "function", "show",
                         "name", "gamma", "account", ACCOUNT_A)
        self.assertFails("bad account '12'", "function", "list", "account", "12")
        self.assertFails("bad function name 'a/b'", "function", "show", "name", "a/b")
        self.assertFails("which function? (name NAME)", "function", "show")

    def test_2_invoke(self):
        create(self.c, "echo")
        r = self.ok_json("function", "invoke", "name", "echo", "payload", '{"x": [1, 2]}')
        self.assertEqual((r["function"], r["status"], r["function_error"]), ("echo", 200, None))
        self.assertEqual((r["payload"]["ok"], r["payload"]["echo"]), (True, {"x": [1, 2]}))
        r = self.ok_json("fu", "i", "n", "echo", "a", ACCOUNT_A, "p", '{"fail": true}')
        self.assertEqual(r["function_error"], "Unhandled")
        self.assertEqual(r["payload"]["errorType"], "ValueError")
        out = self.ok_plain("function", "invoke", "name", "echo", "payload", '{"fail": true}')
        self.assertTrue(out.startswith("function error: Unhandled\n{"), out)
        out = self.ok_plain("function", "invoke", "name", "echo")
        self.assertEqual(json.loads(out)["echo"], {})
        self.assertFails("InvalidRequestContentException", "function", "invoke", "name",
                         "echo", "payload", "not json")
        self.assertFails("no function nope", "function", "invoke", "name", "nope")

    def test_2b_dead_letters(self):
        """An event that fails with no retries lands in the DLQ; the operator lists every
        account's, filters them, replays one and sees it run (and fail) again."""
        def event(client, name):
            client.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0,
                                                    MaximumEventAgeInSeconds=3600)
            r = client.invoke(FunctionName=name, InvocationType="Event",
                              Payload=json.dumps({"fail": True, "n": name}).encode())
            self.assertEqual(r["StatusCode"], 202)
            return r["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]

        def dead(name, account):
            return [d for d in self.ok_json("dlq", "list") if (d["function"], d["account"]) ==
                    (name, account)]

        self.assertEqual(self.ok_json("dlq", "list", "function", "sour"), [])
        create(self.c, "sour")
        create(self.cb, "sour")
        rid_a, rid_b = event(self.c, "sour"), event(self.cb, "sour")
        self.k.wait_for(lambda: dead("sour", ACCOUNT_A) and dead("sour", ACCOUNT_B),
                        "both dead letters", timeout=60)
        [a], [b] = dead("sour", ACCOUNT_A), dead("sour", ACCOUNT_B)
        # the same dead letter as the account's own SigV4 route lists
        status, _, body = self.k.raw("GET", "/v1/dlq")
        self.assertEqual(status, 200, body)
        [sig] = [d for d in json.loads(body)["DeadLetters"] if d["FunctionName"] == "sour"]
        self.assertEqual(set(a), {"id", "account", "function", "request_id", "attempts",
                                  "enqueued_ns", "failed_ns", "error", "payload_bytes"})
        self.assertEqual((a["id"], a["request_id"], a["attempts"], a["error"]),
                         (sig["Id"], rid_a, sig["Attempts"], sig["Error"]))
        self.assertEqual(a["attempts"], 1)
        self.assertAlmostEqual(a["failed_ns"] / 1e9, sig["Failed"], places=3)
        self.assertAlmostEqual(a["enqueued_ns"] / 1e9, sig["Enqueued"], places=3)
        self.assertLessEqual(a["enqueued_ns"], a["failed_ns"])
        self.assertEqual(a["payload_bytes"], len(json.dumps({"fail": True, "n": "sour"})))
        self.assertEqual(b["request_id"], rid_b)
        # filters (and prefixes), in both modes
        self.assertEqual(self.ok_json("dl", "l", "f", "sour", "a", ACCOUNT_B), [b])
        self.assertEqual([d["id"] for d in self.ok_json("dlq", "list", "function", "sour")],
                         sorted([a["id"], b["id"]]))
        out = self.ok_plain("dlq", "list", "function", "sour", "account", ACCOUNT_A)
        head, row = out.splitlines()
        self.assertRegex(head, r"^ID +ACCOUNT +FUNCTION +ATTEMPTS +FAILED \(UTC\) +ERROR$")
        self.assertRegex(row, r"^%d +%s +sour +1 +%s +%s$" % (
            a["id"], ACCOUNT_A, time.strftime("%Y-%m-%d %H:%M:%S",
                                              time.gmtime(a["failed_ns"] // 10**9)),
            re.escape(a["error"])))
        self.assertEqual(self.ok_plain("dlq", "list", "function", "nothing"),
                         "no dead letters\n")

        # replay: queued again, runs again (and fails again: a new dead letter, same request)
        before = self.k.runs("sour")
        r = self.ok_json("dlq", "replay", "id", str(a["id"]))
        self.assertEqual(r, a)
        self.k.wait_for(lambda: self.k.runs("sour") > before, "the replay to run", timeout=60)
        self.k.wait_for(lambda: any(d["request_id"] == rid_a and d["id"] != a["id"]
                                    for d in dead("sour", ACCOUNT_A)), "its new dead letter",
                        timeout=60)
        self.assertNotIn(a["id"], [d["id"] for d in self.ok_json("dlq", "list")])
        self.assertEqual(self.ok_plain("dlq", "replay", "id", str(b["id"])),
                         "dead letter %d (%s/sour, request %s) queued again\n" % (
                             b["id"], ACCOUNT_B, rid_b))
        self.assertFails("no dead letter %d" % a["id"], "dlq", "replay", "id", str(a["id"]))
        self.assertFails("no dead letter 999999", "dlq", "replay", "id", "999999")
        self.assertFails("which dead letter? (id ID)", "dlq", "replay")
        self.assertFails("bad dead letter id '0x1'", "dlq", "replay", "id", "0x1")
        self.assertFails("bad function name 'a/b'", "dlq", "list", "function", "a/b")
        self.assertFails("bad account '12'", "dlq", "list", "account", "12")

    def test_3_workers(self):
        # a sandbox stays busy while it keeps burning CPU after its answer (the agent's eBPF)
        self.k.wait_for(lambda: self.ok_json("worker", "list")[0]["busy"] == 0, "idle host")
        ws = self.ok_json("worker", "list")
        self.assertEqual(len(ws), 1)
        w = ws[0]
        agent = self.k.agent_sandboxes(self.k.agent)
        self.assertEqual((w["name"], w["zone"], w["state"], w["health"], w["endpoint"]),
                         ("test-host-1", "default", "ready", "ok", self.k.agent_listen))
        self.assertRegex(w["id"], r"^[0-9a-f]{16}$")
        self.assertTrue(0 < w["lease_left_s"] <= 8 * 3600, w)
        self.assertTrue(0 <= w["last_heartbeat_ms"] < 3000, w)
        self.assertEqual(w["sandboxes"], len(agent))
        self.assertEqual((w["busy"], w["inflight"], w["recent_platform_errors"]), (0, 0, 0))
        self.assertGreater(w["max_sandboxes"], 0)
        self.assertGreater(w["ncpus"], 0)
        self.assertEqual(w["memory_used_mb"], sum(s["memory_mb"] for s in agent))
        self.assertAlmostEqual(w["utilization"], w["memory_used_mb"] / w["memory_mb"])
        out = self.ok_plain("worker", "list")
        self.assertRegex(out, r"^test-host-1: zone default  ready  health ok  lease left \d+s"
                              r"  heartbeat \d+ms ago\n\tsandboxes %d/%d  busy 0  in flight 0"
                              r"  memory %d/%dMB \(\d+\.\d%%\)  cpus %d  endpoint %s\n$" % (
                                  w["sandboxes"], w["max_sandboxes"], w["memory_used_mb"],
                                  w["memory_mb"], w["ncpus"], re.escape(w["endpoint"])))
        s = self.ok_json("wo", "s", "n", "test-host-1")
        self.assertEqual(sorted(x["id"] for x in s.pop("sandbox_list")),
                         sorted(x["id"] for x in agent))
        self.assertEqual((s["name"], s["state"], s["sandboxes"]), ("test-host-1", "ready",
                                                                    len(agent)))
        out = self.ok_plain("worker", "show", "name", "test-host-1")
        for x in agent:
            self.assertIn("\tsandbox %s  " % x["id"], out)
        self.assertFails("no such worker", "worker", "show", "name", "nope")
        self.assertFails("no such worker", "worker", "drain", "name", "nope")
        self.assertFails("which worker? (name NAME)", "worker", "drain")
        # drain last: the host takes no new sandboxes after it
        self.assertEqual(self.ok_plain("worker", "drain", "name", "test-host-1"),
                         "worker test-host-1 draining\n")
        self.assertEqual(self.ok_json("worker", "drain", "name", "test-host-1")["state"],
                         "draining")
        self.assertEqual(self.ok_json("worker", "list")[0]["state"], "draining")
        self.assertEqual(self.k.metric('sandlot_control_hosts_by_state{state="draining"}'), 1)
        self.assertEqual(self.k.metric("sandlot_control_hosts_draining"), 1)

    def test_4_access_and_errors(self):
        def get(headers):
            status, _, body = self.k.request("GET", "/v1/workers", headers=headers, timeout=10)
            return status, json.loads(body)

        st, body = get({})
        self.assertEqual(st, 403)
        self.assertIn("X-Sandlot-Token", body["error"])
        self.assertEqual(get({"X-Sandlot-Token": "0" * 64})[0], 403)
        with open(os.path.join(self.data, "ctlapi.token")) as f:
            self.assertEqual(get({"X-Sandlot-Token": f.read()})[0], 200)
        self.assertEqual(os.stat(os.path.join(self.data, "ctlapi.token")).st_mode & 0o777,
                         0o600)
        empty = os.path.join(self.k.base, "empty")
        os.makedirs(empty, exist_ok=True)
        self.assertFails("cannot read the control node's token %s/ctlapi.token" % empty,
                         "worker", "list", data=empty)
        down = "127.0.0.1:%d" % free_port()
        for args in (("function", "list"), ("function", "show", "name", "alpha"),
                     ("function", "invoke", "name", "alpha"), ("worker", "list"),
                     ("worker", "drain", "name", "test-host-1"), ("dlq", "list"),
                     ("dlq", "replay", "id", "1")):
            self.assertFails("the control node at %s is not answering" % down, *args,
                             control=down)
        self.assertFails("unknown dlq command 'frob'", "dlq", "frob")
        self.assertFails("unknown worker command 'frob'", "worker", "frob")
        self.assertFails("unknown keyword 'colour'", "function", "list", "colour", "red")

    def test_5_loopback_peers_only(self):
        """With the right token, a peer that is not on loopback (a network namespace of the
        test's, over a veth) is refused; the same request from loopback is answered."""
        k = Cluster()
        try:
            k.http = "0.0.0.0:%d" % k.port
            k.start_control()
            k.make_netns(1)
            with open(os.path.join(k.data, "ctlapi.token")) as f:
                token = f.read()
            url = "http://%s:%d/v1/workers" % (k.host_ip(1), k.port)
            r = subprocess.run(["ip", "netns", "exec", k.namespaces[-1], "curl", "-s", "-m",
                                "10", "-w", "\\n%{http_code}", "-H", "X-Sandlot-Token: " + token,
                                url], capture_output=True, text=True, timeout=30)
            body, code = r.stdout.rsplit("\n", 1)
            self.assertEqual(code, "403", r)
            self.assertEqual(json.loads(body)["error"],
                             "the control API answers loopback peers only")
            rc, out, err = self.ctl("-j", "worker", "list", control="127.0.0.1:%d" % k.port,
                                    data=k.data)
            self.assertEqual((rc, json.loads(out)), (0, []), err)
        finally:
            k.stop()


if __name__ == "__main__":
    sys.exit(main("sandlotctl_control"))

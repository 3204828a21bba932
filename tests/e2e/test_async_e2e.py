#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of asynchronous invocations (InvocationType Event) with a real control node,
a real agent and boto3: 202 with a request id once stored, the function runs, function errors
are retried per the event invoke config (--retry-delay-scale makes Lambda's 1 and 2 minutes
short), what always fails lands in the dead-letter queue after exactly MaximumRetryAttempts + 1
runs with the same request id on every run, and a control node SIGKILLed with events queued
runs them after it restarts (and one stopped with SIGTERM exits 0 and loses none), an event
past its maximum age is dead-lettered without running, an OnFailure function receives Lambda's
destination record, and a store whose disk is full answers 5xx ServiceException while
losing nothing it accepted, then recovers when space returns. Clusters from
tests/harness/cluster.py (everything they start is stopped and removed at the end, also when a
test fails).
"""
import json
import os
import signal
import sys
import unittest

from cluster import ACCOUNT_A, KEY_B, SECRET_B, Cluster, ClusterCase, create, main, zip_of

# Keeps per-request-id tries in the sandbox (the retries of one event go to the same warm
# sandbox: one agent, one function); fails while tries < event["fail_times"].
FLAKY_PY = b'''import time
seen = {}
def handler(event, context):
    rid = context.aws_request_id
    seen.setdefault(rid, []).append(rid)
    time.sleep(event.get("sleep", 0))
    if len(seen[rid]) <= event.get("fail_times", 0):
        raise RuntimeError("try %d of %s ids=%s" % (len(seen[rid]), rid, ",".join(seen[rid])))
    return {"ok": True}
'''

# Always fails: its dead letter keeps the event it was given (the destination record).
CATCHER_PY = b'''def handler(event, context):
    raise RuntimeError("caught")
'''

SCALE = "0.01"  # 60 s -> 0.6 s, 120 s -> 1.2 s; backoff 1 s -> 10 ms


class AsyncE2E(ClusterCase):
    cluster_args = ("--retry-delay-scale", SCALE)

    def fn(self, name, retries=None, code=FLAKY_PY):
        create(self.c, name, zipped=zip_of({"function.py": code}))
        if retries is not None:
            self.c.put_function_event_invoke_config(FunctionName=name,
                                                    MaximumRetryAttempts=retries,
                                                    MaximumEventAgeInSeconds=3600)

    def event(self, name, payload):
        r = self.c.invoke(FunctionName=name, InvocationType="Event",
                          Payload=json.dumps(payload).encode())
        self.assertEqual(r["StatusCode"], 202)
        rid = r["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
        self.assertEqual(len(rid), 36)
        return rid

    def dlq(self, key=None, secret=None):
        kw = {} if key is None else {"key": key, "secret": secret}
        status, _, body = self.k.raw("GET", "/v1/dlq", **kw)
        self.assertEqual(status, 200, body)
        return json.loads(body)["DeadLetters"]

    def settled(self):
        m = self.k.metrics() or {}
        return (m.get("sandlot_control_events_queued") == 0 and
                m.get("sandlot_control_events_in_flight") == 0)

    def test_event_runs_and_flaky_succeeds_on_third_try(self):
        self.fn("flaky", retries=2)
        ok = self.event("flaky", {"fail_times": 0})
        self.k.wait_for(lambda: self.k.runs("flaky") == 1, "the event to run")
        rid = self.event("flaky", {"fail_times": 2})
        self.assertNotEqual(ok, rid)
        self.k.wait_for(self.settled, "the queue to drain", timeout=60)
        self.assertEqual(self.k.runs("flaky"), 1 + 3)
        self.assertEqual([d for d in self.dlq() if d["FunctionName"] == "flaky"], [])
        self.assertEqual(self.k.units(), (0, 0))

    def test_always_failing_event_ends_in_dlq_after_max_retries_plus_one(self):
        for name, retries in (("fails0", 0), ("fails1", 1), ("fails2", 2)):
            self.fn(name, retries=retries)
            rid = self.event(name, {"fail_times": 99, "n": retries})
            self.k.wait_for(lambda: any(d["FunctionName"] == name for d in self.dlq()),
                            "a dead letter for " + name, timeout=60)
            self.k.wait_for(self.settled, "the queue to drain", timeout=60)
            [d] = [d for d in self.dlq() if d["FunctionName"] == name]
            self.assertEqual(d["Attempts"], retries + 1)
            self.assertEqual(d["RequestId"], rid)
            self.assertEqual(self.k.runs(name), retries + 1)
            # every run saw the same request id (the runtime's Lambda-Runtime-Aws-Request-Id)
            self.assertIn("ids=" + ",".join([rid] * (retries + 1)), d["Error"])
            self.assertEqual(json.loads(__import__("base64").b64decode(d["Payload"])),
                             {"fail_times": 99, "n": retries})
        # another account sees none of them; replay of a missing one is a 404
        self.assertEqual(self.dlq(KEY_B, SECRET_B), [])
        status, headers, _ = self.k.raw("POST", "/v1/dlq/999999/replay")
        self.assertEqual(status, 404)
        self.assertEqual(headers.get("x-amzn-errortype"), "ResourceNotFoundException")
        # replay: the event runs again (and fails again: one more dead letter, same id)
        [d] = [d for d in self.dlq() if d["FunctionName"] == "fails0"]
        before = self.k.runs("fails0")
        status, _, body = self.k.raw("POST", "/v1/dlq/%d/replay" % d["Id"])
        self.assertEqual(status, 202, body)
        self.k.wait_for(lambda: self.k.runs("fails0") == before + 1, "the replay to run")
        self.k.wait_for(lambda: any(x["FunctionName"] == "fails0" for x in self.dlq()),
                        "the replayed event's dead letter")

    def test_on_failure_function_receives_the_destination_record(self):
        self.fn("catcher", retries=0, code=CATCHER_PY)  # its dead letter shows what it got
        self.fn("failing", retries=0)
        arn = "arn:aws:lambda:us-east-1:%s:function:catcher" % ACCOUNT_A
        self.c.put_function_event_invoke_config(
            FunctionName="failing", MaximumRetryAttempts=0,
            DestinationConfig={"OnFailure": {"Destination": arn}})
        rid = self.event("failing", {"fail_times": 99, "what": "dest"})
        self.k.wait_for(lambda: any(d["FunctionName"] == "catcher" for d in self.dlq()),
                        "the destination's run", timeout=60)
        [d] = [d for d in self.dlq() if d["FunctionName"] == "catcher"]
        rec = json.loads(__import__("base64").b64decode(d["Payload"]))
        self.assertEqual(rec["requestContext"]["requestId"], rid)
        self.assertEqual(rec["requestContext"]["condition"], "RetriesExhausted")
        self.assertEqual(rec["requestContext"]["approximateInvokeCount"], 1)
        self.assertTrue(rec["requestContext"]["functionArn"].endswith(":function:failing"))
        self.assertEqual(rec["requestPayload"], {"fail_times": 99, "what": "dest"})
        self.assertEqual(self.k.runs("catcher"), 1)

    def test_event_invoke_config_api_and_limits(self):
        self.fn("cfg")
        with self.assertRaises(self.c.exceptions.ResourceNotFoundException):
            self.c.get_function_event_invoke_config(FunctionName="cfg")
        arn = "arn:aws:lambda:us-east-1:%s:function:cfg-dlq" % ACCOUNT_A
        r = self.c.put_function_event_invoke_config(
            FunctionName="cfg", MaximumRetryAttempts=1, MaximumEventAgeInSeconds=120,
            DestinationConfig={"OnFailure": {"Destination": arn}})
        self.assertEqual(r["MaximumRetryAttempts"], 1)
        g = self.c.get_function_event_invoke_config(FunctionName="cfg")
        self.assertEqual((g["MaximumRetryAttempts"], g["MaximumEventAgeInSeconds"]), (1, 120))
        self.assertEqual(g["DestinationConfig"]["OnFailure"]["Destination"], arn)
        self.assertTrue(g["FunctionArn"].endswith(":function:cfg"))
        for bad in ({"MaximumRetryAttempts": 3}, {"MaximumEventAgeInSeconds": 59},
                    {"MaximumEventAgeInSeconds": 21601}):
            status, headers, body = self.k.raw(
                "PUT", "/2019-09-25/functions/cfg/event-invoke-config",
                json.dumps(bad).encode())
            self.assertEqual(status, 400, body)
            self.assertEqual(headers.get("x-amzn-errortype"), "InvalidParameterValueException")
        self.c.delete_function_event_invoke_config(FunctionName="cfg")
        with self.assertRaises(self.c.exceptions.ResourceNotFoundException):
            self.c.get_function_event_invoke_config(FunctionName="cfg")
        with self.assertRaises(self.c.exceptions.RequestTooLargeException):
            self.c.invoke(FunctionName="cfg", InvocationType="Event",
                          Payload=json.dumps({"x": "a" * (1 << 20)}).encode())
        with self.assertRaises(self.c.exceptions.ResourceNotFoundException):
            self.c.invoke(FunctionName="nope", InvocationType="Event", Payload=b"{}")


class AsyncRestartE2E(unittest.TestCase):
    def test_control_killed_with_events_queued_runs_them_after_restart(self):
        k = Cluster("--retry-delay-scale", SCALE)
        try:
            k.start()
            c = k.client()
            create(c, "slowq", zipped=zip_of({"function.py": FLAKY_PY}))
            c.put_function_concurrency(FunctionName="slowq", ReservedConcurrentExecutions=1)
            rids = []
            for i in range(6):
                r = c.invoke(FunctionName="slowq", InvocationType="Event",
                             Payload=json.dumps({"sleep": 1, "i": i}).encode())
                self.assertEqual(r["StatusCode"], 202)
                rids.append(r["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"])
            k.wait_for(lambda: k.metric("sandlot_control_events_in_flight") == 1,
                       "one event running")
            k.restart_control(signal.SIGKILL)
            k.wait_for(lambda: k.metric("sandlot_control_hosts") == 1, "re-registration")
            k.wait_for(lambda: k.metric("sandlot_control_events_queued") == 0,
                       "the queue to drain after the restart", timeout=90)
            runs = k.runs("slowq")
            # at least once: each of the 6 ran; the one running at the kill may have run twice
            self.assertGreaterEqual(runs, 6)
            self.assertLessEqual(runs, 7)
            self.assertEqual(k.metric("sandlot_control_events_dead_total"), 0)
            k.wait_for(lambda: k.units() == (0, 0), "units back")
        finally:
            k.stop()


class AsyncAgeE2E(unittest.TestCase):
    def test_event_past_its_age_goes_to_the_dlq_without_running(self):
        """No agent at all: the event is retried as a platform error until its maximum age
        (60 s, the least Lambda allows) runs out, then dead-lettered with no run. Beside it, an
        event of a function that stays throttled (reserved concurrency 0) is never taken to
        run, yet the age sweep dead-letters it too once it is past its age."""
        k = Cluster("--retry-delay-scale", SCALE)
        try:
            k.start_control()
            c = k.client()
            rids = {}
            for name in ("noagent", "throttled"):
                create(c, name, zipped=zip_of({"function.py": FLAKY_PY}))
                c.put_function_event_invoke_config(FunctionName=name,
                                                   MaximumEventAgeInSeconds=60)
            c.put_function_concurrency(FunctionName="throttled", ReservedConcurrentExecutions=0)
            for name in ("noagent", "throttled"):
                r = c.invoke(FunctionName=name, InvocationType="Event", Payload=b"{}")
                self.assertEqual(r["StatusCode"], 202)
                rids[name] = r["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]

            def dead():
                status, _, body = k.raw("GET", "/v1/dlq")
                return json.loads(body)["DeadLetters"] if status == 200 else []
            k.wait_for(lambda: len(dead()) == 2, "the dead letters", timeout=120)
            by = {d["FunctionName"]: d for d in dead()}
            d = by["noagent"]
            self.assertEqual((d["RequestId"], d["Attempts"]), (rids["noagent"], 0))
            self.assertIn("ServiceException", d["Error"])
            d = by["throttled"]
            self.assertEqual((d["RequestId"], d["Attempts"], d["Error"]),
                             (rids["throttled"], 0, "EventAgeExceeded"))
            self.assertGreaterEqual(d["Failed"] - d["Enqueued"], 60)
            self.assertEqual(k.metric("sandlot_control_events_queued"), 0)
            self.assertEqual(k.metric("sandlot_control_invocations_total"), 0)
        finally:
            k.stop()

    def test_sigterm_with_events_queued_exits_0_and_they_run_after(self):
        k = Cluster("--retry-delay-scale", SCALE, "--shutdown-grace", "10s")
        try:
            k.start()
            c = k.client()
            create(c, "termq", zipped=zip_of({"function.py": FLAKY_PY}))
            c.put_function_concurrency(FunctionName="termq", ReservedConcurrentExecutions=1)
            for i in range(4):
                c.invoke(FunctionName="termq", InvocationType="Event",
                         Payload=json.dumps({"sleep": 1, "i": i}).encode())
            k.wait_for(lambda: k.metric("sandlot_control_events_in_flight") == 1,
                       "one event running")
            self.assertEqual(k.restart_control(signal.SIGTERM), 0)
            k.wait_for(lambda: k.metric("sandlot_control_hosts") == 1, "re-registration")
            k.wait_for(lambda: k.metric("sandlot_control_events_queued") == 0,
                       "the queue to drain after the restart", timeout=90)
            runs = k.runs("termq")
            self.assertEqual(runs, 4)  # SIGTERM let the running one finish: no duplicate
            k.wait_for(lambda: k.units() == (0, 0), "units back")
        finally:
            k.stop()


class AsyncDiskFullE2E(unittest.TestCase):
    def test_full_store_answers_5xx_loses_nothing_and_recovers(self):
        """--data on a small tmpfs: once a filler file takes the room left, events are refused
        with a 5xx ServiceException; those accepted before survive a SIGKILL of the control
        node once space returns, and every accepted event runs exactly once."""
        k = Cluster("--retry-delay-scale", SCALE)
        data = k.data
        filler = os.path.join(data, "filler")
        try:
            k.mount_data_tmpfs("16m")
            k.start()
            c = k.client()
            create(c, "full", zipped=zip_of({"function.py": FLAKY_PY}))
            c.put_function_concurrency(FunctionName="full", ReservedConcurrentExecutions=0)
            st = os.statvfs(data)
            with open(filler, "wb") as f:  # leaves 256 KB
                f.write(b"\0" * max(0, st.f_bavail * st.f_frsize - (256 << 10)))
            payload = json.dumps({"pad": "x" * (100 << 10)}).encode()
            accepted, refused = [], None
            for i in range(200):
                try:
                    r = c.invoke(FunctionName="full", InvocationType="Event", Payload=payload)
                except c.exceptions.ServiceException as e:
                    refused = e.response
                    break
                self.assertEqual(r["StatusCode"], 202)
                accepted.append(r["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"])
            self.assertIsNotNone(refused, "the full store never refused an event")
            self.assertGreaterEqual(refused["ResponseMetadata"]["HTTPStatusCode"], 500)
            self.assertIn("could not be stored", refused["Error"]["Message"])
            # still serving: the API answers, nothing of what was accepted is gone
            self.assertEqual(k.metric("sandlot_control_events_queued"), len(accepted))
            os.unlink(filler)  # space returns
            k.restart_control(signal.SIGKILL)
            k.wait_for(lambda: k.metric("sandlot_control_hosts") == 1, "re-registration")
            self.assertEqual(k.metric("sandlot_control_events_queued"), len(accepted))
            c = k.client()
            for i in range(3):
                r = c.invoke(FunctionName="full", InvocationType="Event", Payload=payload)
                self.assertEqual(r["StatusCode"], 202)
                accepted.append(r["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"])
            c.delete_function_concurrency(FunctionName="full")
            k.wait_for(lambda: k.metric("sandlot_control_events_queued") == 0 and
                       k.metric("sandlot_control_events_in_flight") == 0,
                       "the queue to drain", timeout=90)
            runs = k.runs("full")
            self.assertEqual(runs, len(accepted))
            self.assertEqual(k.metric("sandlot_control_events_dead_total"), 0)
            k.wait_for(lambda: k.units() == (0, 0), "units back")
        finally:
            k.stop()  # the processes first, then the tmpfs


if __name__ == "__main__":
    sys.exit(main("async_e2e"))

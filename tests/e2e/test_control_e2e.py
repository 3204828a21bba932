#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of sandlot-control with real agents and real AWS clients (Debian's awscli and
python3-boto3): function CRUD and invocations through the client, Lambda's error shapes for bad
input and bad signatures, throttling at the reserved and the account limit with no unit leaked,
an agent SIGKILLed under load, a control node SIGKILLed and restarted.

Each cluster (tests/harness/cluster.py) is a control node and its agents on loopback, or
(NetnsE2E) each agent in a network namespace of its own with a veth to ours; all it starts and
makes is stopped and removed at the end, also when a test fails. Needs root (the agent); skips
without it unless CI=true. Units in use and in-flight invocations are read from the control
node's /metrics.

Environment (set by ctest): SANDLOT_AGENT, SANDLOT_CONTROL, SANDLOT_BINARY_DIR, SANDLOT_SOURCE_DIR,
PYTHONPATH with tests/harness.
"""
import concurrent.futures
import base64
import datetime
import http.server
import json
import os
import signal
import sys
import threading
import time
import unittest
from unittest import mock

import botocore.auth

from cluster import (ACCOUNT_A, KEY_B, ROLE, SECRET_B, SLOW_PY, BUILD, SOURCE, Cluster,
                     ClusterCase, create, invoke_status, lambda_client, main, zip_of)


def c_zip():
    with open(os.path.join(BUILD, "examples/c/bootstrap"), "rb") as f:
        return zip_of({"bootstrap": f.read()})


class ClientE2E(unittest.TestCase):
    def test_the_tests_client_makes_one_attempt(self):
        """Each call of the tests' client reaches the server once: an invocation that fails with
        a 500 (its agent died) or a 429 is not sent again, where a healthy host would serve it
        and hide the control node's answer. A stub server counts the attempts."""
        for status, etype, exc in ((500, "ServiceException", "ServiceException"),
                                   (429, "TooManyRequestsException",
                                    "TooManyRequestsException")):
            seen = []

            class Stub(http.server.BaseHTTPRequestHandler):
                def do_POST(self):
                    self.rfile.read(int(self.headers.get("Content-Length", 0)))
                    seen.append(self.path)
                    body = json.dumps({"Type": "Service", "Message": "stub"}).encode()
                    self.send_response(status)
                    self.send_header("x-amzn-ErrorType", etype)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

                def log_message(self, *args):
                    pass

            srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Stub)
            t = threading.Thread(target=srv.serve_forever, daemon=True)
            t.start()
            try:
                c = lambda_client("http://127.0.0.1:%d" % srv.server_address[1], timeout=10)
                with self.assertRaises(getattr(c.exceptions, exc)):
                    c.invoke(FunctionName="stub", Payload=b"{}")
                self.assertEqual(len(seen), 1, (status, seen))
            finally:
                srv.shutdown()
                srv.server_close()
                t.join()


class ControlE2E(ClusterCase):
    """One cluster for the API tests."""

    def assertNoUnits(self):
        self.k.wait_for(lambda: self.k.units() == (0, 0), "units back")
        self.assertEqual(self.k.metric("sandlot_control_invocations_in_flight"), 0)

    def assertError(self, resp, status, etype):
        code, headers, body = resp
        self.assertEqual(code, status, body)
        self.assertEqual(headers.get("x-amzn-errortype"), etype, body)
        j = json.loads(body)
        self.assertIn("Message", j)
        self.assertTrue(j["Message"])

    def test_cli_create_get_list_update_invoke_delete(self):
        path = os.path.join(self.k.base, "c.zip")
        with open(path, "wb") as f:
            f.write(c_zip())
        rc, out, err = self.k.cli("create-function", "--function-name", "cli-fn", "--runtime",
                                  "provided.al2023", "--handler", "function.handler",
                                  "--role", ROLE, "--zip-file", "fileb://" + path)
        self.assertEqual(rc, 0, err)
        self.assertEqual(out["FunctionArn"],
                         "arn:aws:lambda:us-east-1:%s:function:cli-fn" % ACCOUNT_A)
        self.assertEqual(out["State"], "Active")
        self.assertEqual(out["Version"], "$LATEST")
        rc, got, err = self.k.cli("get-function", "--function-name", "cli-fn")
        self.assertEqual(rc, 0, err)
        self.assertEqual(got["Configuration"]["CodeSha256"], out["CodeSha256"])
        rc, conf, err = self.k.cli("get-function-configuration", "--function-name",
                                   out["FunctionArn"])
        self.assertEqual(rc, 0, err)
        self.assertEqual(conf["RevisionId"], out["RevisionId"])
        rc, lst, err = self.k.cli("list-functions")
        self.assertIn("cli-fn", [f["FunctionName"] for f in lst["Functions"]])
        rc, upd, err = self.k.cli("update-function-configuration", "--function-name", "cli-fn",
                                  "--memory-size", "256", "--timeout", "5", "--environment",
                                  "Variables={GREETING=hi}")
        self.assertEqual(rc, 0, err)
        self.assertEqual((upd["MemorySize"], upd["Timeout"]), (256, 5))
        self.assertEqual(upd["Environment"]["Variables"], {"GREETING": "hi"})
        self.assertNotEqual(upd["RevisionId"], out["RevisionId"])
        out_file = os.path.join(self.k.base, "out.json")
        rc, inv, err = self.k.cli("invoke", "--function-name", "cli-fn", "--payload",
                                  '{"cli": "yes"}', "--cli-binary-format",
                                  "raw-in-base64-out", "--log-type", "Tail", out_file)
        self.assertEqual(rc, 0, err)
        self.assertEqual(inv["StatusCode"], 200)
        # a small C process's peak in MB, rounded up as Lambda's: never 0
        self.assertRegex(base64.b64decode(inv["LogResult"]).decode(),
                         r"Max Memory Used: [1-9][0-9]* MB")
        self.assertEqual(inv["ExecutedVersion"], "$LATEST")
        with open(out_file) as f:
            self.assertEqual(json.load(f), {"CLI": "YES"})
        with open(path, "wb") as f:  # new code: the shell example under the same name
            files = {}
            for name in ("bootstrap", "function.sh"):
                with open(os.path.join(SOURCE, "examples/shell", name), "rb") as src:
                    files[name] = src.read()
            f.write(zip_of(files))
        rc, upd, err = self.k.cli("update-function-code", "--function-name", "cli-fn",
                                  "--zip-file", "fileb://" + path)
        self.assertEqual(rc, 0, err)
        self.assertNotEqual(upd["CodeSha256"], out["CodeSha256"])
        rc, inv, err = self.k.cli("invoke", "--function-name", "cli-fn", "--payload",
                                  '{"code": "new"}', "--cli-binary-format",
                                  "raw-in-base64-out", out_file)
        self.assertEqual(rc, 0, err)
        with open(out_file) as f:
            self.assertEqual(json.load(f), {"CODE": "NEW"})
        rc, _, err = self.k.cli("delete-function", "--function-name", "cli-fn")
        self.assertEqual(rc, 0, err)
        rc, _, err = self.k.cli("get-function", "--function-name", "cli-fn")
        self.assertNotEqual(rc, 0)
        self.assertIn("ResourceNotFoundException", err)
        self.assertNoUnits()

    def test_invoke_result_error_tail_dryrun(self):
        create(self.c, "shapes")
        r = self.c.invoke(FunctionName="shapes", Payload=b'{"a": 1}', LogType="Tail")
        body = json.loads(r["Payload"].read())
        self.assertEqual(r["StatusCode"], 200)
        self.assertEqual(body["echo"], {"a": 1})
        self.assertNotIn("FunctionError", r)
        self.assertEqual(r["ExecutedVersion"], "$LATEST")
        tail = base64.b64decode(r["LogResult"]).decode()
        self.assertIn("START RequestId: " + body["request"], tail)
        self.assertIn("REPORT RequestId: " + body["request"], tail)
        # the request id: a version 4 UUID, the one the function saw, new for each request
        self.assertEqual(r["ResponseMetadata"]["RequestId"], body["request"])
        self.assertRegex(body["request"],
                         "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
        ids = {json.loads(self.c.invoke(FunctionName="shapes", Payload=b"{}")["Payload"]
                          .read())["request"] for _ in range(5)}
        self.assertEqual(len(ids | {body["request"]}), 6)
        r = self.c.invoke(FunctionName="shapes", Payload=b'{"fail": true}')
        err = json.loads(r["Payload"].read())
        self.assertEqual(r["StatusCode"], 200)
        self.assertEqual(r["FunctionError"], "Unhandled")
        self.assertEqual(err["errorType"], "ValueError")
        r = self.c.invoke(FunctionName="shapes", InvocationType="DryRun")
        self.assertEqual(r["StatusCode"], 204)
        r = self.c.invoke(FunctionName="shapes", Qualifier="$LATEST", Payload=b"{}")
        self.assertEqual(r["StatusCode"], 200)
        self.c.delete_function(FunctionName="shapes")
        self.assertNoUnits()

    def test_list_paging(self):
        names = ["page-%02d" % i for i in range(5)]
        for n in names:
            create(self.c, n)
        seen, marker, pages = [], None, 0
        while True:
            kw = {"MaxItems": 2}
            if marker:
                kw["Marker"] = marker
            r = self.c.list_functions(**kw)
            self.assertLessEqual(len(r["Functions"]), 2)
            seen += [f["FunctionName"] for f in r["Functions"]]
            pages += 1
            marker = r.get("NextMarker")
            if not marker:
                break
        self.assertEqual([s for s in seen if s.startswith("page-")], names)
        self.assertEqual(len(seen), len(set(seen)))
        self.assertGreaterEqual(pages, 3)
        for n in names:
            self.c.delete_function(FunctionName=n)

    def test_bad_input_gets_lambdas_error_shape(self):
        k = self.k
        fns = "/2015-03-31/functions"
        good = {"FunctionName": "bad-input", "Runtime": "python3.11", "Role": ROLE,
                "Handler": "function.handler",
                "Code": {"ZipFile": base64.b64encode(
                    zip_of({"function.py": SLOW_PY})).decode()}}

        def body(**kw):
            b = dict(good)
            b.update(kw)
            return json.dumps(b).encode()
        self.assertError(k.raw("POST", fns, b"{not json"), 400,
                         "InvalidRequestContentException")
        self.assertError(k.raw("POST", fns, b"[1, 2]"), 400, "InvalidRequestContentException")
        self.assertError(k.raw("POST", fns, body(MemorySize="big")), 400,
                         "InvalidRequestContentException")
        self.assertError(k.raw("POST", fns, body(MemorySize=64)), 400, "ValidationException")
        self.assertError(k.raw("POST", fns, body(Timeout=901)), 400, "ValidationException")
        self.assertError(k.raw("POST", fns, body(FunctionName="no spaces!")), 400,
                         "ValidationException")
        self.assertError(k.raw("POST", fns, body(FunctionName="x" * 65)), 400,
                         "ValidationException")
        self.assertError(k.raw("POST", fns, body(Runtime="java8")), 400,
                         "InvalidParameterValueException")
        self.assertError(k.raw("POST", fns, body(Code={"ZipFile": "bm90IGEgemlw"})), 400,
                         "InvalidParameterValueException")  # "not a zip"
        self.assertError(k.raw("POST", fns, body(Code={"ZipFile": "***"})), 400,
                         "InvalidRequestContentException")
        self.assertError(k.raw("POST", fns, body(Environment={"Variables": {"A": 1}})), 400,
                         "InvalidRequestContentException")
        self.assertError(k.raw("POST", fns, body(Environment={"Variables": {
            "AWS_REGION": "x"}})), 400, "InvalidParameterValueException")
        code, _, _ = k.raw("POST", fns, body())
        self.assertEqual(code, 201)
        self.assertError(k.raw("POST", fns, body()), 409, "ResourceConflictException")
        inv = fns + "/bad-input/invocations"
        self.assertError(k.raw("POST", inv, b"{oops"), 400, "InvalidRequestContentException")
        self.assertError(k.raw("POST", inv, b"x" * (6 * 1024 * 1024 + 1)), 413,
                         "RequestTooLargeException")
        self.assertError(k.raw("POST", fns + "/nope/invocations", b"{}"), 404,
                         "ResourceNotFoundException")
        self.assertError(k.raw("GET", fns + "/nope"), 404, "ResourceNotFoundException")
        self.assertError(k.raw("DELETE", fns + "/nope"), 404, "ResourceNotFoundException")
        self.assertError(k.raw("POST", inv, b"{}", headers={"X-Amz-Log-Type": "Loud"}), 400,
                         "InvalidParameterValueException")
        self.assertError(k.raw("GET", "/2015-03-31/nothing-here"), 404,
                         "UnknownOperationException")
        # signatures
        self.assertError(k.raw("GET", fns + "/", sign=False), 403,
                         "MissingAuthenticationTokenException")
        self.assertError(k.raw("GET", fns + "/", secret="wrong" * 8), 403,
                         "InvalidSignatureException")
        self.assertError(k.raw("GET", fns + "/", key="AKIANOSUCHKEY0000000"), 403,
                         "UnrecognizedClientException")
        with mock.patch.object(botocore.auth, "datetime") as dt:
            dt.datetime.utcnow.return_value = (datetime.datetime.utcnow() -
                                               datetime.timedelta(minutes=20))
            resp = k.raw("GET", fns + "/")
        self.assertError(resp, 403, "InvalidSignatureException")
        code, headers, b = k.raw("POST", inv, b'{"a": 1}')
        self.assertEqual(code, 200, b)
        # another account neither sees, invokes nor deletes account A's function
        other = k.client(KEY_B, SECRET_B)
        self.assertNotIn("bad-input",
                         [f["FunctionName"] for f in other.list_functions()["Functions"]])
        for call in (lambda: other.get_function(FunctionName="bad-input"),
                     lambda: other.invoke(FunctionName="bad-input"),
                     lambda: other.delete_function(FunctionName="bad-input"),
                     lambda: other.get_function(FunctionName="arn:aws:lambda:us-east-1:%s:"
                                                "function:bad-input" % ACCOUNT_A)):
            with self.assertRaises(other.exceptions.ResourceNotFoundException):
                call()
        self.c.get_function(FunctionName="bad-input")  # still there
        self.c.delete_function(FunctionName="bad-input")
        self.assertNoUnits()

    def test_reserved_concurrency_throttles_and_no_unit_leaks(self):
        create(self.c, "reserved")
        self.c.invoke(FunctionName="reserved", Payload=b"{}")  # warm
        r = self.c.put_function_concurrency(FunctionName="reserved",
                                            ReservedConcurrentExecutions=2)
        self.assertEqual(r["ReservedConcurrentExecutions"], 2)
        self.assertEqual(self.c.get_function_concurrency(
            FunctionName="reserved")["ReservedConcurrentExecutions"], 2)
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            clients = [self.k.client() for _ in range(8)]
            res = list(ex.map(lambda i: invoke_status(clients[i], "reserved", {"sleep": 3}),
                              range(8)))
        ok = [r for r in res if r[0] == 200]
        throttled = [r for r in res if r[0] == 429]
        self.assertEqual(len(ok) + len(throttled), 8, res)
        self.assertGreaterEqual(len(ok), 2, res)
        self.assertGreaterEqual(len(throttled), 1, res)
        for r in throttled:
            self.assertEqual(r[1], "ReservedFunctionConcurrentInvocationLimitExceeded")
        self.c.put_function_concurrency(FunctionName="reserved",
                                        ReservedConcurrentExecutions=0)
        self.assertEqual(invoke_status(self.c, "reserved", {})[0], 429)
        with self.assertRaises(self.c.exceptions.InvalidParameterValueException):
            self.c.put_function_concurrency(FunctionName="reserved",
                                            ReservedConcurrentExecutions=950)
        self.c.delete_function_concurrency(FunctionName="reserved")
        self.assertNotIn("ReservedConcurrentExecutions",
                         self.c.get_function_concurrency(FunctionName="reserved"))
        # 1,000 invocations, sequential and concurrent, with errors among them: no unit leaks
        before = self.k.metric("sandlot_control_invocations_total")
        for i in range(200):
            self.assertEqual(invoke_status(self.c, "reserved", {"fail": i % 10 == 0})[0], 200)
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            clients = [self.k.client() for _ in range(8)]
            res = list(ex.map(lambda i: invoke_status(clients[i % 8], "reserved",
                                                      {"fail": i % 25 == 0}),
                              range(800)))
        self.assertTrue(all(r[0] == 200 for r in res), [r for r in res if r[0] != 200][:5])
        self.assertEqual(len([r for r in res if r[1] == "Unhandled"]), 32)
        self.assertNoUnits()
        m = self.k.metrics()
        self.assertEqual(m["sandlot_control_invocations_total"] - before, 1000)
        self.c.delete_function(FunctionName="reserved")


class PlacementE2E(unittest.TestCase):
    def test_two_zones_one_functions_cold_starts_spread_and_warm_ones_stay(self):
        """Two agents (zones az1, az2): one function's concurrent cold starts land one in each
        zone, even though that opens an empty host (placement spreads a function over zones
        first), and warm invocations reuse those sandboxes."""
        k = Cluster()
        try:
            k.start_control()
            a = k.start_agent(zone="az1", hosts=1)
            b = k.start_agent(zone="az2", hosts=2)
            c = k.client()
            create(c, "spread")
            with concurrent.futures.ThreadPoolExecutor(2) as ex:
                clients = [k.client() for _ in range(2)]
                res = list(ex.map(lambda i: invoke_status(clients[i], "spread", {"sleep": 1}),
                                  range(2)))
            self.assertEqual([r[0] for r in res], [200, 200], res)
            on = {x: [s for s in k.agent_sandboxes(x) if s["function"] == "spread"]
                  for x in (a, b)}
            self.assertEqual((len(on[a]), len(on[b])), (1, 1))
            for _ in range(3):
                self.assertEqual(invoke_status(c, "spread", {})[0], 200)
            after = k.agent_sandboxes(a) + k.agent_sandboxes(b)
            self.assertEqual(len(after), 2, after)
            self.assertEqual(sum(s["invocations"] for s in after), 5)
            m = k.metrics()
            self.assertEqual((m["sandlot_control_cold_starts_total"],
                              m["sandlot_control_warm_starts_total"]), (2, 3))
            k.wait_for(lambda: k.units() == (0, 0), "units back")
        finally:
            k.stop()

    def test_one_zone_packs_functions_and_spreads_a_burst(self):
        """Two agents of 8 GB in one zone: a second function packs onto the host in use (the
        other stays empty); a burst of one function fills that host only up to a quarter of
        its memory (2 x 1024 MB), then opens the empty host rather than crowding it."""
        k = Cluster()
        try:
            k.start_control()
            agents = [k.start_agent(zone="az1", hosts=n, args=["--memory-capacity", "8G"])
                      for n in (1, 2)]
            c = k.client()
            create(c, "burst")
            create(c, "quiet")
            self.assertEqual(invoke_status(c, "burst", {})[0], 200)
            self.assertEqual(invoke_status(c, "quiet", {})[0], 200)
            fns = lambda x: sorted(s["function"] for s in k.agent_sandboxes(x))
            used, empty = agents if fns(agents[0]) else agents[::-1]
            self.assertEqual((fns(used), fns(empty)), (["burst", "quiet"], []))
            with concurrent.futures.ThreadPoolExecutor(4) as ex:
                clients = [k.client() for _ in range(4)]
                res = list(ex.map(lambda i: invoke_status(clients[i], "burst", {"sleep": 2}),
                                  range(4)))
            self.assertEqual([r[0] for r in res], [200] * 4, res)
            self.assertEqual((fns(used), fns(empty)),
                             (["burst", "burst", "quiet"], ["burst", "burst"]))
            k.wait_for(lambda: k.units() == (0, 0), "units back")
        finally:
            k.stop()

    def test_no_capacity_is_a_retryable_throttle(self):
        """An agent that holds one sandbox at most: while it runs one, another function finds
        no host. Its Invoke answers 429 TooManyRequestsException with a Reason and
        Retry-After, what Lambda's clients back off and retry on, and its unit comes back."""
        k = Cluster()
        try:
            k.start_control()
            k.start_agent(args=["--max-sandboxes", "1"])
            c = k.client()
            create(c, "cap-a")
            create(c, "cap-b")
            with concurrent.futures.ThreadPoolExecutor(1) as ex:
                fut = ex.submit(invoke_status, k.client(), "cap-a", {"sleep": 3})
                k.wait_for(lambda: k.metric("sandlot_control_invocations_in_flight") == 1,
                           "one invocation in flight")
                code, headers, body = k.raw("POST", "/2015-03-31/functions/cap-b/invocations",
                                            b"{}")
                self.assertEqual(code, 429, body)
                self.assertEqual(headers.get("x-amzn-errortype"), "TooManyRequestsException")
                self.assertEqual(headers.get("retry-after"), "1")
                j = json.loads(body)
                self.assertEqual(j["Reason"], "FunctionInvocationRateLimitExceeded")
                self.assertTrue(j["Message"])
                self.assertEqual(invoke_status(c, "cap-b", {}),
                                 (429, "FunctionInvocationRateLimitExceeded"))
                self.assertEqual(k.units(), (1, 1))
                self.assertEqual(fut.result(timeout=60)[0], 200)
            k.wait_for(lambda: k.units() == (0, 0), "units back")
            self.assertEqual(invoke_status(c, "cap-a", {})[0], 200)  # its warm sandbox
        finally:
            k.stop()


class NetnsE2E(unittest.TestCase):
    def test_three_agents_in_network_namespaces(self):
        """Three test hosts, each agent in its own network namespace (own name, zone, pin
        root, state dir, veth to the control node's namespace): they register over the veth,
        serve cold and warm invocations, and when one dies in mid-invocation the others go on."""
        k = Cluster("--heartbeat-timeout", "1s", netns=True)
        try:
            k.start_control()
            agents = [k.start_agent(zone="az%d" % i, hosts=i) for i in (1, 2, 3)]
            c = k.client()
            create(c, "ns-fn")
            for i in range(10):
                self.assertEqual(invoke_status(c, "ns-fn", {"i": i})[0], 200)
            with concurrent.futures.ThreadPoolExecutor(3) as ex:
                clients = [k.client() for _ in range(3)]
                res = list(ex.map(lambda i: invoke_status(clients[i], "ns-fn", {"sleep": 1}),
                                  range(3)))
            self.assertEqual([r[0] for r in res], [200] * 3, res)
            where = [len(k.agent_sandboxes(a)) for a in agents]
            self.assertEqual(sum(where), 3, where)
            with concurrent.futures.ThreadPoolExecutor(1) as ex:
                fut = ex.submit(invoke_status, k.client(), "ns-fn", {"sleep": 20})
                k.wait_for(lambda: k.metric("sandlot_control_invocations_in_flight") == 1,
                           "one invocation in flight")
                busy = lambda: [a for a in agents
                                if any(s["in_flight"] for s in k.agent_sandboxes(a))]
                k.wait_for(lambda: busy(), "the agent running it")
                victim = busy()[0]
                k.killed = victim
                victim.send_signal(signal.SIGKILL)
                victim.wait()
                self.assertEqual(fut.result(timeout=60)[0], 500)
            k.wait_for(lambda: k.metric("sandlot_control_hosts") == 2, "the dead host gone")
            for i in range(5):
                self.assertEqual(invoke_status(c, "ns-fn", {"after": i})[0], 200)
            k.wait_for(lambda: k.units() == (0, 0), "units back")
        finally:
            k.stop()


class AccountLimitE2E(unittest.TestCase):
    def test_account_limit_throttles_with_lambdas_reason(self):
        k = Cluster("--account-concurrency", "2").start()
        try:
            c = k.client()
            create(c, "acct-a")
            create(c, "acct-b")
            with concurrent.futures.ThreadPoolExecutor(6) as ex:
                clients = [k.client() for _ in range(6)]
                res = list(ex.map(lambda i: invoke_status(
                    clients[i], "acct-a" if i % 2 else "acct-b", {"sleep": 3}), range(6)))
            throttled = [r for r in res if r[0] == 429]
            self.assertEqual(len([r for r in res if r[0] == 200]) + len(throttled), 6, res)
            self.assertGreaterEqual(len(throttled), 1, res)
            for r in throttled:
                self.assertEqual(r[1], "ConcurrentInvocationLimitExceeded")
            k.wait_for(lambda: k.units() == (0, 0), "units back")
            self.assertEqual(invoke_status(c, "acct-a", {})[0], 200)
        finally:
            k.stop()


class FaultsE2E(unittest.TestCase):
    def test_agent_killed_under_load(self):
        k = Cluster("--heartbeat-timeout", "1s").start()
        try:
            c = k.client()
            create(c, "victim")
            self.assertEqual(invoke_status(c, "victim", {})[0], 200)
            with concurrent.futures.ThreadPoolExecutor(3) as ex:
                clients = [k.client() for _ in range(3)]
                futs = [ex.submit(invoke_status, clients[i], "victim", {"sleep": 20})
                        for i in range(3)]
                k.wait_for(lambda: k.metric("sandlot_control_invocations_in_flight") == 3,
                           "three invocations in flight")
                t0 = time.monotonic()
                k.killed = k.agent
                k.agent.send_signal(signal.SIGKILL)
                k.agent.wait()
                res = [f.result(timeout=60) for f in futs]
                ended = time.monotonic() - t0
            self.assertEqual([r[0] for r in res], [500, 500, 500], res)
            self.assertLess(ended, 20)  # they ended with the agent, not with the function
            m = k.metrics()
            self.assertEqual(m["sandlot_control_dead_hosts_total"], 1)
            self.assertEqual(k.units(), (0, 0))
            self.assertEqual(m["sandlot_control_invocations_in_flight"], 0)
            self.assertEqual(m["sandlot_control_hosts"], 0)
            self.assertEqual(m["sandlot_control_sandboxes"], 0)
            # a new agent takes the next invocations
            k.start_agent()
            self.assertEqual(invoke_status(c, "victim", {})[0], 200)
            self.assertEqual(k.units(), (0, 0))
        finally:
            k.stop()

    def test_sigterm_lets_invocations_finish(self):
        k = Cluster().start()
        try:
            c = k.client()
            create(c, "patient")
            self.assertEqual(invoke_status(c, "patient", {})[0], 200)
            with concurrent.futures.ThreadPoolExecutor(2) as ex:
                clients = [k.client() for _ in range(2)]
                futs = [ex.submit(invoke_status, clients[i], "patient", {"sleep": 2})
                        for i in range(2)]
                k.wait_for(lambda: k.metric("sandlot_control_invocations_in_flight") == 2,
                           "two invocations in flight")
                k.control.send_signal(signal.SIGTERM)
                res = [f.result(timeout=60) for f in futs]
            self.assertEqual([r[0] for r in res], [200, 200], res)
            self.assertEqual(k.control.wait(30), 0)
            with self.assertRaises(Exception):  # no longer taking requests
                k.client().list_functions()
        finally:
            k.stop()

    def test_lease_expiry_drains_the_host(self):
        k = Cluster("--lease", "2s").start()
        try:
            c = k.client()
            create(c, "leased")
            # placement keeps new sandboxes off a host with less than a minute of lease left:
            # no host can take it, a retryable throttle
            self.assertEqual(invoke_status(c, "leased", {}),
                             (429, "FunctionInvocationRateLimitExceeded"))
            k.wait_for(lambda: k.metric("sandlot_control_hosts_draining") == 1, "the drain")

            k.wait_for(lambda: k.agent_api(k.agent, "/healthz")["status"] == "draining",
                       "the agent draining")
            self.assertEqual(k.units(), (0, 0))
        finally:
            k.stop()

    def test_control_killed_and_restarted_keeps_functions_and_warm_sandboxes(self):
        k = Cluster().start()
        try:
            c = k.client()
            create(c, "survivor")
            self.assertEqual(invoke_status(c, "survivor", {})[0], 200)
            k.restart_control(signal.SIGKILL)
            k.wait_for(lambda: k.metric("sandlot_control_hosts") == 1, "re-registration")
            k.wait_for(lambda: k.metric("sandlot_control_sandboxes") == 1,
                       "the warm sandbox adopted from the agent's full state")
            c = k.client()
            self.assertIn("survivor", [f["FunctionName"] for f in c.list_functions()["Functions"]])
            self.assertEqual(invoke_status(c, "survivor", {})[0], 200)
            m = k.metrics()
            self.assertEqual(m["sandlot_control_cold_starts_total"], 0)
            self.assertEqual(m["sandlot_control_warm_starts_total"], 1)
        finally:
            k.stop()


if __name__ == "__main__":
    sys.exit(main("e2e_control"))

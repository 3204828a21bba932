# SPDX-License-Identifier: Apache-2.0
"""The clusters of the Python end-to-end tests (tests/e2e/test_*.py): a real sandlot-control and
real sandlot-agents, on loopback or each agent in a network namespace of its own, with the test
accounts' keys, and the AWS clients (boto3, awscli) the tests talk to them with.

Everything a Cluster makes is per run and per cluster: the directory /tmp/sl-ctl-<pid>-<n>/ (the
cluster key and access keys, mode 600; the control node's store; each agent's state dir and
log), the BPF pin roots /sys/fs/bpf/sandlot-test-ctl-<pid>-<n>-<agent>, the network namespaces
slctl-<pid>-<agent> with their veths, a tmpfs mounted over the store if asked for. Cluster.stop()
removes all of it, and the tests call it in a `finally` (or tearDownClass), so that it goes also
when a test fails; ClusterCase and the start methods stop what they started when they fail.

Environment (set by tests/CMakeLists.txt): SANDLOT_AGENT, SANDLOT_CONTROL, SANDLOT_BINARY_DIR,
SANDLOT_SOURCE_DIR; PYTHONPATH holds tests/harness. SL_KEEP_LOGS=1 keeps each cluster's directory
(its logs) after the test.
"""
import contextlib
import http.client
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import unittest
import warnings
import zipfile

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

AGENT = os.environ.get("SANDLOT_AGENT", "build/agent/sandlot-agent")
CONTROL = os.environ.get("SANDLOT_CONTROL", "build/control/sandlot-control")
BUILD = os.environ.get("SANDLOT_BINARY_DIR", "build")
SOURCE = os.environ.get("SANDLOT_SOURCE_DIR", ".")
ACCOUNT_A, KEY_A, SECRET_A = "111122223333", "AKIATESTACCOUNTAAAAA", "secretA" * 5
ACCOUNT_B, KEY_B, SECRET_B = "444455556666", "AKIATESTACCOUNTBBBBB", "secretB" * 5
ROLE = "arn:aws:iam::%s:role/test" % ACCOUNT_A

# The default function of create(): sleeps event["sleep"] seconds, fails when event["fail"].
SLOW_PY = b'''import time
def handler(event, context):
    time.sleep(event.get("sleep", 0) if isinstance(event, dict) else 0)
    if isinstance(event, dict) and event.get("fail"):
        raise ValueError("asked to fail")
    return {"ok": True, "echo": event, "request": context.aws_request_id}
'''


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago (nothing holds it afterwards)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def zip_of(files):
    """The bytes of a zip holding {name: bytes}, every file mode 755 (a code package)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o755 << 16
            z.writestr(info, data)
    return buf.getvalue()


def rm_rf(path):
    """Removes path and all below it if it exists, read-only directories included (the
    agent's code cache is); what still cannot go (a mount point) is left, silently."""
    def onerror(func, p, exc):
        try:
            os.chmod(os.path.dirname(p), 0o700)
            os.chmod(p, 0o700)
            func(p)
        except OSError:
            pass
    if os.path.lexists(path):
        shutil.rmtree(path, onerror=onerror)


def lambda_client(endpoint, key=KEY_A, secret=SECRET_A, timeout=60):
    """A boto3 Lambda client that makes one attempt per call, so a test sees the control
    node's own answer. (Config's retries "max_attempts" counts retries, not attempts: 1 there
    is two attempts, and a 500 or 429 is sent again.) Starts nothing; its pooled sockets go
    when it is collected."""
    return boto3.client(
        "lambda", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id=key, aws_secret_access_key=secret,
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"},
                      read_timeout=timeout, connect_timeout=5, max_pool_connections=32))


def create(client, name, zipped=None, runtime="python3.11", **kw):
    """CreateFunction through client: name, SLOW_PY (or the zip zipped) as function.handler,
    1024 MB, 30 s, role ROLE; kw adds or overrides CreateFunction's parameters."""
    args = dict(FunctionName=name, Runtime=runtime, Role=ROLE, Handler="function.handler",
                Code={"ZipFile": zipped or zip_of({"function.py": SLOW_PY})},
                MemorySize=1024, Timeout=30)
    args.update(kw)
    return client.create_function(**args)


def invoke_status(client, name, event):
    """(status or error code, reason) of one invocation."""
    try:
        r = client.invoke(FunctionName=name, Payload=json.dumps(event).encode())
        r["Payload"].read()
        return r["StatusCode"], r.get("FunctionError")
    except client.exceptions.TooManyRequestsException as e:
        return 429, e.response.get("Reason") or e.response["Error"].get("Reason")
    except client.exceptions.ServiceException as e:
        return 500, e.response["Error"]["Message"]


class Cluster:
    """A control node and its agents, started by the test (start(), or start_control() and
    start_agent() one by one) and stopped by stop(), which removes all the cluster made (see
    the module's docstring). Creating one makes its directory and keys only."""
    count = 0

    def __init__(self, *control_args, netns=False):
        """control_args are added to the control node's command line. netns: each agent in a
        network namespace of its own with a veth to ours, and the control node listening on
        0.0.0.0 for them; otherwise all on loopback. Makes the cluster's directory (emptied
        first), the cluster key and the access keys of accounts A and B, and picks the ports."""
        Cluster.count += 1
        self.netns = netns
        self.namespaces = []
        self.veths = []  # our ends: they go with their namespace, or here if it never got one
        self.mounts = []
        tag = "%d-%d" % (os.getpid(), Cluster.count)
        self.base = "/tmp/sl-ctl-" + tag
        self.data = os.path.join(self.base, "data")
        self.pins = "/sys/fs/bpf/sandlot-test-ctl-" + tag
        rm_rf(self.base)
        os.makedirs(self.base, mode=0o700)
        self.key = os.path.join(self.base, "cluster.key")
        self.akeys = os.path.join(self.base, "access-keys")
        with open(os.open(self.key, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as f:
            f.write(os.urandom(48))
        with open(os.open(self.akeys, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write("# test accounts\n%s %s %s\n%s %s %s\n" % (
                ACCOUNT_A, KEY_A, SECRET_A, ACCOUNT_B, KEY_B, SECRET_B))
        self.port = free_port()
        self.http = "127.0.0.1:%d" % self.port
        self.ctl_port = free_port()
        self.listen = "tcp://%s:%d" % ("0.0.0.0" if netns else "127.0.0.1", self.ctl_port)
        self.agent_listen = "tcp://127.0.0.1:%d" % free_port()
        self.control_args = list(control_args)
        self.control = None
        self.agent = None  # the last agent started
        self.agents = []
        self.all_pins = []
        self.killed = None  # a process the test stopped on purpose: wait_for ignores its exit
        self.agent_n = 0

    @staticmethod
    def popen(log, argv):
        """Starts argv with stdout and stderr to the open file log."""
        return subprocess.Popen(argv, stdout=log, stderr=log)

    def mount_data_tmpfs(self, size):
        """Mounts a tmpfs of size (mount's size=, e.g. "16m") over the control node's store
        (self.data), before start(); stop() unmounts it once the processes are gone."""
        os.makedirs(self.data, mode=0o700, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0700" % size, "tmpfs",
                        self.data], check=True)
        self.mounts.append(self.data)

    def start_control(self):
        """Starts a control node (the ports, store and keys of the cluster; its log appended to
        control.log) and waits until its HTTP API answers. Also restarts one: the agents
        re-register on their own."""
        with open(os.path.join(self.base, "control.log"), "ab") as log:
            self.control = self.popen(log, [
                CONTROL, "--http", self.http, "--listen", self.listen, "--data", self.data,
                "--key-file", self.key, "--access-keys", self.akeys, "--log-level",
                "debug"] + self.control_args)
        self.wait_for(lambda: self.metrics() is not None, "the control node's API")

    def restart_control(self, sig=signal.SIGKILL, pause=0.0):
        """Sends the control node sig, waits (30 s at most) for it to exit, after pause seconds
        starts a new one (start_control) and returns the old one's exit status. Does not wait
        for the agents to re-register."""
        old = self.control
        self.killed = old
        old.send_signal(sig)
        status = old.wait(30)
        time.sleep(pause)
        self.start_control()
        self.killed = None
        return status

    def start_agent(self, zone="default", hosts=1, args=()):
        """Starts one more agent (its own name test-host-<n>, zone, pin root, state dir,
        ports and, with netns, namespace; args added to its command line; its log
        agent-<n>.log) and waits until the control node counts hosts registered hosts."""
        self.agent_n += 1
        n = self.agent_n
        http_port = free_port()
        pins = "%s-%d" % (self.pins, n)
        listen = self.agent_listen if n == 1 else "tcp://127.0.0.1:%d" % free_port()
        control, http_ip, prefix = self.listen, "127.0.0.1", []
        if self.netns:
            ip = self.make_netns(n)
            listen = "tcp://%s:%d" % (ip, 7401)
            control = "tcp://%s:%d" % (self.host_ip(n), self.ctl_port)
            http_ip = ip
            prefix = ["nsenter", "--net=/run/netns/" + self.namespaces[-1], "--"]
        self.all_pins.append(pins)
        log_path = os.path.join(self.base, "agent-%d.log" % n)
        with open(log_path, "ab") as log:
            self.agent = self.popen(log, prefix + [
                AGENT, "--control", control, "--listen", listen, "--http",
                "%s:%d" % (http_ip, http_port), "--name", "test-host-%d" % n, "--zone", zone,
                "--state-dir", os.path.join(self.base, "agent-%d" % n), "--key-file", self.key,
                "--bpf-pin-root", pins, "--log-level", "debug"] + list(args))
        self.agent.http_ip = http_ip
        self.agent.http_port = http_port
        self.agent.log_path = log_path
        self.agents.append(self.agent)
        self.wait_for(lambda: self.metric("sandlot_control_hosts") == hosts,
                      "agent registration")
        return self.agent

    def restart_agent(self, old):
        """Starts the exited agent old again with its command line (same name, state dir,
        pins, namespace and ports; the same log), in its place in self.agents, and returns
        the new process. Does not wait for it to register."""
        with open(old.log_path, "ab") as log:
            new = self.popen(log, old.args)
        new.http_ip, new.http_port, new.log_path = old.http_ip, old.http_port, old.log_path
        self.agents[self.agents.index(old)] = new
        if self.agent is old:
            self.agent = new
        return new

    def host_ip(self, n):
        """Our address on the veth to agent n's namespace."""
        return "10.%d.%d.1" % (200 + os.getpid() % 50, n)

    def make_netns(self, n):
        """A network namespace for agent n, a veth pair to ours (10.X.n.1 here, .2 there);
        returns the address there. stop() deletes both."""
        name = "slctl-%d-%d" % (os.getpid(), n)
        here, there = "slc%d-%d" % (os.getpid() % 100000, n), "sla%d-%d" % (
            os.getpid() % 100000, n)
        run = lambda *a: subprocess.run(["ip"] + list(a), check=True, capture_output=True)
        run("netns", "add", name)
        self.namespaces.append(name)
        run("link", "add", here, "type", "veth", "peer", "name", there)
        self.veths.append(here)
        run("link", "set", there, "netns", name)
        run("addr", "add", self.host_ip(n) + "/30", "dev", here)
        run("link", "set", here, "up")
        ip = "10.%d.%d.2" % (200 + os.getpid() % 50, n)
        run("-n", name, "addr", "add", ip + "/30", "dev", there)
        run("-n", name, "link", "set", there, "up")
        run("-n", name, "link", "set", "lo", "up")
        return ip

    def agent_api(self, agent, path):
        """GET path from agent's local HTTP API, its JSON decoded."""
        c = http.client.HTTPConnection(agent.http_ip, agent.http_port, timeout=5)
        c.request("GET", path)
        out = json.loads(c.getresponse().read())
        c.close()
        return out

    def agent_sandboxes(self, agent):
        """The agent's own view (its local API): [{"id", "function", "invocations", ...}]."""
        return self.agent_api(agent, "/v1/sandboxes")

    def runs(self, name, agent=None):
        """Invocations agent (the last started by default) ran for function name, by its own
        count per sandbox (its sandboxes now)."""
        return sum(s.get("invocations", 0) for s in self.agent_sandboxes(agent or self.agent)
                   if s.get("function") == name)

    def start(self):
        """Starts the control node and one agent (zone default); returns the cluster."""
        self.start_control()
        self.start_agent()
        return self

    def stop(self):
        """Stops every process of the cluster still running (SIGTERM, SIGKILL after 20 s),
        then unmounts, removes the pins, the namespaces and veths, and the cluster's directory
        (kept with SL_KEEP_LOGS). Safe to call at any point of the setup, and again."""
        for p in self.agents + [self.control]:
            if p and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        for path in self.mounts:
            subprocess.run(["umount", "-l", path], capture_output=True)
        self.mounts = []
        for pins in self.all_pins:  # and the lock file of a killed agent (hostlock.h)
            rm_rf(pins)
            with contextlib.suppress(FileNotFoundError):
                os.unlink("/run/sandlot/agent-%s.lock" % pins[1:].replace("/", "_"))
        for name in self.namespaces:  # its veth goes with it
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
        for veth in self.veths:
            subprocess.run(["ip", "link", "del", veth], capture_output=True)
        if os.environ.get("SL_KEEP_LOGS"):
            print("logs kept in", self.base)
        else:
            rm_rf(self.base)

    def wait_for(self, cond, what, timeout=30):
        """Polls cond until it is true; fails (AssertionError naming what) after timeout
        seconds or as soon as a process of the cluster exits that the test did not stop."""
        until = time.monotonic() + timeout
        while time.monotonic() < until:
            if cond():
                return
            for p in [self.control] + self.agents:
                if p and p.poll() is not None and p is not self.killed:
                    raise AssertionError("%s exited (%s) waiting for %s" % (
                        p.args[0], p.returncode, what))
            time.sleep(0.05)
        raise AssertionError("timed out waiting for " + what)

    def request(self, method, path, body=b"", headers=None, timeout=60):
        """One HTTP request to the control node's API as given (no signature): (status,
        {lower-case header: value}, body bytes). OSError when nothing answers."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=dict(headers or {}))
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            c.close()

    def metrics(self):
        """The control node's /metrics as {series: value}, or None when it does not answer."""
        try:
            body = self.request("GET", "/metrics", timeout=5)[2].decode()
        except OSError:
            return None
        out = {}
        for line in body.splitlines():
            if line and not line.startswith("#"):
                k, v = line.rsplit(" ", 1)
                out[k] = float(v)
        return out

    def units(self):
        """Units held: in total (as invoke.c counts them) and account A's (counting's)."""
        m = self.metrics() or {}
        return (m.get("sandlot_control_units_in_use"),
                m.get('sandlot_control_account_units_in_use{account="%s"}' % ACCOUNT_A))

    def metric(self, name):
        """One series of /metrics, or None (no such series, or no answer)."""
        m = self.metrics()
        return None if m is None else m.get(name)

    def client(self, key=KEY_A, secret=SECRET_A, timeout=60):
        """A lambda_client of this control node (account A's keys by default)."""
        return lambda_client("http://" + self.http, key, secret, timeout)

    def cli(self, *args, key=KEY_A, secret=SECRET_A):
        """Runs `aws lambda args...` against this control node (HOME the cluster's directory):
        (exit status, its JSON output or None, stderr)."""
        env = dict(os.environ, AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret,
                   AWS_DEFAULT_REGION="us-east-1", AWS_MAX_ATTEMPTS="1", AWS_PAGER="",
                   HOME=self.base)
        r = subprocess.run(["/usr/bin/aws", "lambda"] + list(args) +
                           ["--endpoint-url", "http://" + self.http, "--output", "json"],
                           env=env, capture_output=True, text=True, timeout=120)
        return r.returncode, (json.loads(r.stdout) if r.stdout.strip() else None), r.stderr

    def raw(self, method, path, body=b"", headers=None, key=KEY_A, secret=SECRET_A,
            sign=True):
        """request() signed with SigV4 for key and secret (unless not sign)."""
        req = AWSRequest(method=method, url="http://%s%s" % (self.http, path), data=body,
                         headers=dict(headers or {}))
        if sign:
            SigV4Auth(Credentials(key, secret), "lambda", "us-east-1").add_auth(req)
        return self.request(method, path, body, req.prepare().headers)


class ClusterCase(unittest.TestCase):
    """A test class whose tests share one cluster: setUpClass starts Cluster(*cluster_args)
    with one agent (self.k) and makes account A's client (self.c); tearDownClass stops it.
    When the start fails, what it started is stopped before the error goes on."""
    cluster_args = ()

    @classmethod
    def setUpClass(cls):
        k = Cluster(*cls.cluster_args)
        try:
            k.start()
            cls.c = k.client()
        except BaseException:
            k.stop()
            raise
        cls.k = k

    @classmethod
    def tearDownClass(cls):
        cls.k.stop()


def main(name):
    """Runs the tests of the __main__ module (unittest, verbose) and returns the exit status;
    without root, prints a SKIP line and returns 0, or fails (1) when CI=true."""
    if os.geteuid() != 0:
        msg = "%s: needs root (the agent creates cgroups and loads BPF)" % name
        if os.environ.get("CI") == "true":
            print(msg, file=sys.stderr)
            return 1
        print("SKIP: " + msg)
        return 0
    # boto3 clients keep their pooled sockets until collected: not the code under test
    warnings.simplefilter("ignore", ResourceWarning)
    prog = unittest.main(exit=False, verbosity=2, warnings="ignore")
    return 0 if prog.result.wasSuccessful() else 1

"""Integration tests of yaoki-simhv, the simulated hypervisor.

They drive the real binary ($YAOKI_BUILDDIR/yaoki-simhv, or $YAOKI_SIMHV)
over its control socket (sim/PROTOCOL.md) and talk HTTP to its simulated
guests on loopback addresses 127.A.B.C picked at random per test, with ports
checked free. Every simhv started here is stopped by a fixture finalizer;
every wait is bounded.
"""

import concurrent.futures
import http.client
import json
import os
import random
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time

import pytest

from conftest import free_port, pid_alive, stays, wait_for

PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


def simhv_binary():
    builddir = os.environ.get("YAOKI_BUILDDIR")
    if builddir:
        return os.path.join(builddir, "yaoki-simhv")
    return os.environ.get("YAOKI_SIMHV", "yaoki-simhv")


class AddrPool:
    """Loopback addresses in a random 127.A.0.0/16 with one free port."""

    def __init__(self):
        self.prefix = "127.%d" % random.randint(64, 250)
        self.next = 1
        self.port = free_port("%s.0.1" % self.prefix)

    def take(self):
        n = self.next
        self.next += 1
        ip = "%s.%d.%d" % (self.prefix, n // 250, n % 250 + 1)
        # Checked free: nobody else may hold this ip:port.
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((ip, self.port))
        s.close()
        return ip, self.port


class Sim:
    def __init__(self, tmp_path, conf_text, extra_args=()):
        self.tmp = tmp_path
        self.sock = str(tmp_path / "simhv.sock")
        self.conf = tmp_path / "simhv.conf"
        self.conf.write_text(conf_text)
        self.log = open(tmp_path / "simhv.log", "wb")
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [simhv_binary(), "serve", "-c", str(self.conf), "-s", self.sock, "-f", "-v"]
            + list(extra_args),
            stdout=self.log, stderr=self.log)
        wait_for(self._connectable, 10, what="simhv socket")

    def _connectable(self):
        assert self.proc.poll() is None, "simhv exited: %s" % self.logtext()
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(self.sock)
            return True
        except OSError:
            return False
        finally:
            s.close()

    def logtext(self):
        if not self.log.closed:
            self.log.flush()
        return (self.tmp / "simhv.log").read_text(errors="replace")

    def connect(self):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(15)
        s.connect(self.sock)
        return s

    def cmd(self, cmd, *args, timeout=15):
        """One request on its own connection; returns the reply object."""
        s = self.connect()
        s.settimeout(timeout)
        try:
            s.sendall((json.dumps({"cmd": cmd, "args": list(args)}) + "\n").encode())
            return json.loads(read_line(s))
        finally:
            s.close()

    def ok(self, cmd, *args, **kw):
        r = self.cmd(cmd, *args, **kw)
        assert r["ok"] is True, (cmd, args, r)
        return r

    def ctl(self, *args, timeout=15):
        return subprocess.run([simhv_binary(), "ctl", "-s", self.sock] + list(args),
                              capture_output=True, text=True, timeout=timeout)

    def domains(self):
        return self.ok("list")["domains"]

    def dom(self, name):
        live = [d for d in self.domains() if d["name"] == name]
        return live[-1] if live else None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()
        return self.proc.returncode


def read_line(s):
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            raise AssertionError("connection closed after %r" % buf)
        buf += chunk
    return buf.decode()


class LineReader:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def line(self, timeout=10):
        self.sock.settimeout(timeout)
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AssertionError("connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)


def domain_conf(name, ip, port, boot_time=None, guest=None, extra=()):
    lines = ['domain "%s" {' % name] + ["  " + e for e in extra]
    if ip is not None:
        lines.append('  listen = "%s:%d"' % (ip, port))
    if boot_time is not None:
        lines.append("  boot_time = %s" % boot_time)
    if guest is not None:
        lines.append('  guest = "%s"' % guest)
    lines.append("}")
    return "\n".join(lines) + "\n"


def http_get(ip, port, timeout=3.0, path="/"):
    conn = http.client.HTTPConnection(ip, port, timeout=timeout)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def answers_ok(ip, port):
    try:
        return http_get(ip, port, timeout=1.0) == (200, b"ok")
    except OSError:
        return False


def refused(ip, port):
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect((ip, port))
        return False
    except ConnectionRefusedError:
        return True
    finally:
        s.close()


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def _socket_inodes(table, state_col, listening):
    """Inodes of the sockets in a /proc/net table, split by whether they
    listen (state_col's value equals `listening`)."""
    out = {True: set(), False: set()}
    try:
        with open(table) as f:
            next(f)
            for line in f:
                cols = line.split()
                inode = cols[9] if "tcp" in table else cols[6]
                out[cols[state_col] == listening].add(inode)
    except FileNotFoundError:
        pass
    return out


def conn_fds(pid):
    """How many of pid's descriptors are sockets that do not listen (TCP
    and unix connections): 0 once every client connection is freed."""
    listen = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        listen |= _socket_inodes(table, 3, "0A")[True]     # 0A: TCP_LISTEN
    listen |= _socket_inodes("/proc/net/unix", 3, "00010000")[True]  # __SO_ACCEPTCON
    n = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except FileNotFoundError:
            continue
        if target.startswith("socket:[") and target[8:-1] not in listen:
            n += 1
    return n


@pytest.fixture
def pool():
    return AddrPool()


@pytest.fixture
def start(tmp_path):
    sims = []

    def _start(conf_text, sub=None, extra_args=()):
        d = tmp_path / sub if sub else tmp_path
        d.mkdir(exist_ok=True)
        sim = Sim(d, conf_text, extra_args)
        sims.append(sim)
        return sim

    yield _start
    problems = []
    for sim in sims:
        rc = sim.stop()
        log = sim.logtext()
        if rc != 0:
            problems.append("simhv exited %s" % rc)
        for mark in ("Sanitizer", "runtime error:"):
            if mark in log:
                i = log.index(mark)
                problems.append("sanitizer report in %s:\n%s" %
                                (sim.tmp, log[max(0, i - 200):i + 3000]))
    assert not problems, problems


@pytest.fixture
def one(start, pool):
    """simhv with one booted domain web01 that answers at once."""
    ip, port = pool.take()
    sim = start("boot_time = 0\n" + domain_conf("web01", ip, port))
    wait_for(lambda: answers_ok(ip, port), 10, what="web01 to answer")
    sim.addr = (ip, port)
    return sim


# ---- booting ------------------------------------------------------------------


def test_boot_domains_listed_with_domids_1_to_n(start, pool):
    conf = "boot_time = 0\n"
    for i in range(1, 4):
        ip, port = pool.take()
        conf += domain_conf("web%02d" % i, ip, port)
    sim = start(conf)
    doms = sim.domains()
    assert [d["name"] for d in doms] == ["web01", "web02", "web03"]
    assert [d["domid"] for d in doms] == [1, 2, 3]
    uuid_re = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
    for d in doms:
        assert d["state"] == "running"
        assert d["shutdown_reason"] is None
        assert d["monitor"] is True
        assert d["behaviour"] == "ok"
        assert uuid_re.match(d["uuid"]), d["uuid"]
    assert len({d["uuid"] for d in doms}) == 3


def test_guest_refuses_before_boot_time_then_answers_ok(start, pool):
    ip, port = pool.take()
    sim = start("boot_time = 2s\n" + domain_conf("web01", ip, port, boot_time="1500ms"))
    assert refused(ip, port)
    wait_for(lambda: answers_ok(ip, port), 10, what="web01 to answer")
    assert time.monotonic() - sim.t0 >= 1.5
    status, body = http_get(ip, port, path="/any/path?x=1")
    assert (status, body) == (200, b"ok")


def test_socket_mode_and_sigterm_removes_socket(one):
    assert stat.S_IMODE(os.stat(one.sock).st_mode) == 0o600
    assert one.stop() == 0
    assert not os.path.exists(one.sock)


def test_stale_socket_replaced_and_live_one_kept(start, pool, tmp_path):
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(tmp_path / "simhv.sock"))
    stale.close()          # leaves the file behind, nobody listening
    assert os.path.exists(tmp_path / "simhv.sock")
    ip, port = pool.take()
    sim = start(domain_conf("web01", ip, port))
    assert sim.domains()[0]["name"] == "web01"
    # A second simhv on a live socket refuses to start (exit 2).
    r = subprocess.run([simhv_binary(), "serve", "-c", str(sim.conf), "-s", sim.sock, "-f"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 2
    assert "another" in r.stderr and "Sanitizer" not in r.stderr
    assert sim.domains()[0]["name"] == "web01"


@pytest.mark.parametrize("text,line,words", [
    ('boot_time = 1s\n\ndomain "a" {\n  listen = "127.0.0.1:1"\n  boot_time = soon\n}\n', 5, "duration"),
    ('domain "a" {\n  listen = "127.0.0.1:1"\n}\n\nbogus = 1\n', 5, "bogus"),
    ('domain "a" {\n  listen = "127.0.0.1:1"\n}\ndomain "a" {\n  listen = "127.0.0.2:1"\n}\n', 4, "duplicate"),
    ('domain "a" {\n\n  listen = "not-an-address"\n}\n', 3, "listen"),
    ('destroy_time = 1x\n', 1, "duration"),
])
def test_bad_config_reports_file_and_line(tmp_path, text, line, words):
    conf = tmp_path / "bad.conf"
    conf.write_text(text)
    r = subprocess.run([simhv_binary(), "serve", "-c", str(conf), "-s", str(tmp_path / "s.sock"), "-f"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 1
    assert "Sanitizer" not in r.stderr
    assert "%s:%d:" % (conf, line) in r.stderr, r.stderr
    assert words in r.stderr.lower()
    assert not os.path.exists(tmp_path / "s.sock")


def test_missing_config_file_fails(tmp_path):
    r = subprocess.run([simhv_binary(), "serve", "-c", str(tmp_path / "nope.conf"),
                        "-s", str(tmp_path / "s.sock"), "-f"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 1
    assert "nope.conf" in r.stderr


# ---- ctl and the protocol ---------------------------------------------------------


def test_ctl_exit_statuses(one, tmp_path):
    r = one.ctl("list")
    assert r.returncode == 0
    assert json.loads(r.stdout)["domains"][0]["name"] == "web01"
    r = one.ctl("destroy", "web09")
    assert r.returncode == 1
    assert json.loads(r.stdout) == {"ok": False, "error": "no such domain: web09"}
    r = one.ctl("frobnicate")
    assert r.returncode == 1
    r = subprocess.run([simhv_binary(), "ctl", "-s", str(tmp_path / "absent.sock"), "list"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 2


def test_ids_echoed_malformed_lines_and_out_of_order_replies(one):
    one.ok("delay", "web01", "destroy", "0.8")
    s = one.connect()
    rd = LineReader(s)
    s.sendall(b"this is not json\n")
    r = rd.line()
    assert r["ok"] is False and "error" in r
    s.sendall(b'{"id": 5, "args": []}\n')
    assert rd.line() == {"id": 5, "ok": False, "error": "request has no cmd string"}
    s.sendall(b'{"id": 1, "cmd": "destroy", "args": ["web01"]}\n'
              b'{"id": 2, "cmd": "list"}\n')
    first = rd.line()
    assert first["id"] == 2 and first["ok"] is True
    assert [d["state"] for d in first["domains"]] == ["dying"]
    second = rd.line()
    assert second == {"id": 1, "ok": True}
    s.close()
    assert one.domains() == []


def test_destroy_reply_survives_client_half_close(one):
    one.ok("delay", "web01", "destroy", "0.3")
    s = one.connect()
    s.sendall(b'{"id": 9, "cmd": "destroy", "args": ["1"]}\n')
    s.shutdown(socket.SHUT_WR)
    assert json.loads(read_line(s)) == {"id": 9, "ok": True}
    s.close()


# ---- guest behaviours ---------------------------------------------------------------


def test_behaviour_error_answers_500(one):
    one.ok("guest", "web01", "error")
    assert one.dom("web01")["behaviour"] == "error"
    status, _ = http_get(*one.addr)
    assert status == 500
    one.ok("guest", "web01", "ok")
    assert http_get(*one.addr) == (200, b"ok")


def test_behaviour_refuse_closes_listener(one):
    one.ok("guest", "web01", "refuse")
    assert refused(*one.addr)
    one.ok("guest", "web01", "ok")
    wait_for(lambda: answers_ok(*one.addr), 5, what="listener reopened")


def test_behaviour_slow_answers_after_delay(one):
    one.ok("guest", "web01", "slow", "600")
    t = time.monotonic()
    assert http_get(*one.addr, timeout=5) == (200, b"ok")
    assert time.monotonic() - t >= 0.55
    r = one.cmd("guest", "web01", "slow")
    assert r["ok"] is False and "usage" in r["error"]


def test_behaviour_garbage_is_not_http(one):
    one.ok("guest", "web01", "garbage")
    s = socket.create_connection(one.addr, timeout=5)
    s.sendall(b"GET / HTTP/1.1\r\nHost: guest\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    assert data
    assert not data.startswith(b"HTTP/")
    with pytest.raises((http.client.HTTPException, OSError)):
        http_get(*one.addr)


def test_behaviour_hang_accepts_never_answers_and_does_not_leak(one):
    one.ok("guest", "web01", "hang")
    with pytest.raises(socket.timeout):
        http_get(*one.addr, timeout=0.5)
    pid = one.proc.pid
    # That request's connection and the control ones are freed first.
    wait_for(lambda: conn_fds(pid) == 0, 5, what="earlier connections freed")
    base = fd_count(pid)
    clients = []
    for _ in range(40):
        s = socket.create_connection(one.addr, timeout=5)
        s.sendall(b"GET / HTTP/1.1\r\nHost: guest\r\n\r\n")
        clients.append(s)
    wait_for(lambda: fd_count(pid) >= base + 40, 5, what="hung connections accepted")
    for s in clients:
        s.close()
    wait_for(lambda: fd_count(pid) <= base and conn_fds(pid) == 0, 5,
             what="hung connections to be freed")


def test_hung_requests_are_dropped_when_guest_goes_down(one):
    one.ok("guest", "web01", "hang")
    pid = one.proc.pid
    # The fixture's and the control connections are freed first.
    wait_for(lambda: conn_fds(pid) == 0, 5, what="earlier connections freed")
    base = fd_count(pid)
    clients = []
    for _ in range(10):
        s = socket.create_connection(one.addr, timeout=5)
        s.sendall(b"GET / HTTP/1.1\r\nHost: guest\r\n\r\n")
        clients.append(s)
    wait_for(lambda: fd_count(pid) >= base + 10, 5, what="connections accepted")
    one.ok("crash", "web01")
    for s in clients:
        s.settimeout(5)
        try:
            assert s.recv(100) == b""
        except ConnectionResetError:
            pass
        s.close()
    assert refused(*one.addr)
    wait_for(lambda: fd_count(pid) <= base and conn_fds(pid) == 0, 5,
             what="connections freed")


def test_sticky_and_non_sticky_across_recreation(one):
    ip, port = one.addr
    config = one.ok("capture", "web01")["config"]
    one.ok("guest", "web01", "error")
    one.ok("destroy", "web01")
    one.ok("create", config)
    wait_for(lambda: answers_ok(ip, port), 5, what="re-created guest to answer ok")
    assert one.dom("web01")["behaviour"] == "ok"
    one.ok("guest", "web01", "error", "sticky")
    one.ok("destroy", "web01")
    one.ok("create", config)
    assert one.dom("web01")["behaviour"] == "error"
    wait_for(lambda: refused(ip, port) is False, 5, what="guest listening")
    assert http_get(ip, port)[0] == 500
    one.ok("guest", "web01", "slow", "50", "sticky")
    one.ok("destroy", "web01")
    one.ok("create", config)
    assert one.dom("web01")["behaviour"] == "slow"
    # A later non-sticky setting ends the stickiness.
    one.ok("guest", "web01", "ok")
    one.ok("destroy", "web01")
    one.ok("create", config)
    assert one.dom("web01")["behaviour"] == "ok"


# ---- create, destroy, capture ---------------------------------------------------------


def test_capture_then_create_gives_new_domid_and_keeps_uuid(one):
    before = one.dom("web01")
    config = one.ok("capture", "web01")["config"]
    assert isinstance(config, str)
    c = json.loads(config)
    assert c["name"] == "web01" and c["uuid"] == before["uuid"]
    assert c["listen"] == "%s:%d" % one.addr
    assert c["boot_time_ms"] == 0 and c["guest"] is None
    r = one.cmd("create", config)
    assert r["ok"] is False and "exists" in r["error"]
    one.ok("destroy", str(before["domid"]))
    r = one.ok("create", config)
    assert r["domid"] == before["domid"] + 1
    after = one.dom("web01")
    assert after["domid"] == r["domid"]
    assert after["uuid"] == before["uuid"]
    assert after["monitor"] is False
    assert after["state"] == "running"
    wait_for(lambda: answers_ok(*one.addr), 5, what="re-created guest")
    # Domain ids are never reused.
    one.ok("destroy", "web01")
    assert one.ok("create", config)["domid"] == before["domid"] + 2


def test_create_rejects_invalid_configs(one):
    for bad in ["", "[]", "{}", '{"name": "x"}', '{"name": "123", "listen": "127.0.0.1:1"}',
                '{"name": "x", "listen": "127.0.0.1:1", "uuid": "nope"}',
                '{"name": "x", "listen": "127.0.0.1:1", "boot_time_ms": -1}']:
        r = one.cmd("create", bad)
        assert r["ok"] is False, bad
    assert [d["name"] for d in one.domains()] == ["web01"]


def test_capture_fails_for_dying_and_create_allowed_while_dying(one):
    config = one.ok("capture", "web01")["config"]
    one.ok("delay", "web01", "destroy", "1.0")
    s = one.connect()
    rd = LineReader(s)
    t = time.monotonic()
    s.sendall(b'{"id": 1, "cmd": "destroy", "args": ["web01"]}\n')
    wait_for(lambda: one.dom("web01")["state"] == "dying", 5, what="dying")
    assert refused(*one.addr)
    r = one.cmd("capture", "web01")
    assert r["ok"] is False and "dying" in r["error"]
    new = one.ok("create", config)["domid"]
    states = {d["domid"]: d["state"] for d in one.domains()}
    assert states == {1: "dying", new: "running"}
    assert rd.line() == {"id": 1, "ok": True}
    assert time.monotonic() - t >= 0.95
    assert [d["domid"] for d in one.domains()] == [new]
    s.close()


def test_fail_create_count(one):
    config = one.ok("capture", "web01")["config"]
    one.ok("fail-create", "web01", "2")
    one.ok("destroy", "web01")
    for _ in range(2):
        r = one.cmd("create", config)
        assert r["ok"] is False and "fail" in r["error"]
    assert one.domains() == []
    r = one.ok("create", config)
    assert r["domid"] == 2     # failed creates took no domid
    assert one.cmd("fail-create", "web01", "many")["ok"] is False


def test_delay_create_and_destroy(one):
    config = one.ok("capture", "web01")["config"]
    one.ok("delay", "web01", "destroy", "0.6")
    one.ok("delay", "1", "create", "0.7")     # a domid stands for its name
    t = time.monotonic()
    one.ok("destroy", "web01")
    assert time.monotonic() - t >= 0.55
    assert one.domains() == []
    t = time.monotonic()
    r = one.ok("create", config)
    assert time.monotonic() - t >= 0.65
    assert one.dom("web01")["domid"] == r["domid"]
    assert one.cmd("delay", "web01", "create", "-1")["ok"] is False
    assert one.cmd("delay", "web01", "later", "1")["ok"] is False


def test_second_create_during_create_delay_fails(one):
    config = one.ok("capture", "web01")["config"]
    one.ok("destroy", "web01")
    one.ok("delay", "web01", "create", "0.8")
    s = one.connect()
    rd = LineReader(s)
    # A list behind the create on the same connection: simhv reads a
    # connection's requests in order, so its answer (which does not wait
    # for the create's delay) shows that the create has begun.
    s.sendall((json.dumps({"id": 1, "cmd": "create", "args": [config]}) + "\n" +
               json.dumps({"id": 2, "cmd": "list", "args": []}) + "\n").encode())
    first = rd.line()
    assert first["id"] == 2 and first["ok"] is True, first   # the create is still delayed
    r = one.cmd("create", config)
    assert r["ok"] is False and "in progress" in r["error"]
    second = rd.line()
    assert second["id"] == 1 and second["ok"] is True, second
    s.close()


# ---- shutdowns and the monitor ------------------------------------------------------------


def test_crash_leaves_preserved_monitor_domain_shut_down(one):
    one.ok("on", "web01", "crash", "preserve")
    assert one.dom("web01")["actions"]["on_crash"] == "preserve"
    one.ok("crash", "web01")
    d = one.dom("web01")
    assert (d["domid"], d["state"], d["shutdown_reason"]) == (1, "shutdown", "crash")
    assert refused(*one.addr)
    # Nothing to wait for: its monitor leaves it as it is, at every look.
    stays(lambda: one.dom("web01")["state"] == "shutdown", 1.0,
          what="crashed monitor domain shut down")
    r = one.cmd("crash", "web01")
    assert r["ok"] is False
    one.ok("destroy", "web01")
    assert one.domains() == []


def test_crash_default_action_destroys(one):
    """xl's default on_crash is destroy: the monitor destroys it, nothing more."""
    d = one.dom("web01")
    assert d["actions"] == {"on_poweroff": "destroy", "on_reboot": "restart",
                            "on_watchdog": "destroy", "on_crash": "destroy"}
    one.ok("crash", "web01")
    wait_for(lambda: one.domains() == [], 5, what="web01 destroyed by its monitor")
    stays(lambda: one.domains() == [], 0.8, what="nothing re-created")


def test_monitor_restart_takes_restart_delay(one):
    uuid = one.dom("web01")["uuid"]
    one.ok("on", "web01", "crash", "restart")
    one.ok("delay", "web01", "restart", "1.5")
    t0 = time.monotonic()
    one.ok("crash", "web01")
    wait_for(lambda: one.domains() == [], 5, what="old incarnation destroyed")
    d = wait_for(lambda: one.dom("web01"), 10, what="web01 restarted")
    assert time.monotonic() - t0 >= 1.4
    assert (d["domid"], d["uuid"], d["monitor"], d["state"]) == (2, uuid, True, "running")
    assert d["actions"]["on_crash"] == "restart"


def test_monitor_coredump_waits_for_the_dump(one):
    one.ok("on", "web01", "crash", "coredump-restart")
    one.ok("delay", "web01", "dump", "1.5")
    one.ok("delay", "web01", "restart", "0")
    one.ok("crash", "web01")
    stays(lambda: (one.dom("web01") or {}).get("state") == "shutdown", 1.0,
          what="shut down while the core is dumped")
    d = wait_for(lambda: (lambda x: x if x and x["domid"] == 2 else None)(one.dom("web01")),
                 5, what="web01 restarted after the dump")
    assert d["state"] == "running"


def test_monitor_rename_restart_keeps_the_old_one(one):
    one.ok("on", "web01", "crash", "rename-restart")
    one.ok("crash", "web01")
    d = wait_for(lambda: one.dom("web01"), 5, what="web01 restarted")
    old = one.dom("web01-old-1")
    assert d["domid"] == 2 and d["monitor"] is True
    assert (old["domid"], old["state"], old["monitor"]) == (1, "shutdown", False)


def test_killed_monitor_acts_on_nothing(one):
    one.ok("on", "web01", "crash", "restart")
    one.ok("monitor", "web01", "kill")
    assert one.dom("web01")["monitor"] is False
    assert one.cmd("monitor", "web01", "kill")["ok"] is False
    one.ok("crash", "web01")
    stays(lambda: one.dom("web01")["state"] == "shutdown", 0.8,
          what="no monitor: left shut down")
    assert one.ok("list", "brief")["domains"][0][6:] == [False, "restart", None]
    assert one.cmd("monitor", "web01", "stop")["ok"] is False
    assert one.cmd("on", "web01", "crash", "explode")["ok"] is False


def test_killing_monitor_during_restart_stops_it(one):
    one.ok("on", "web01", "crash", "restart")
    one.ok("delay", "web01", "restart", "1")
    one.ok("crash", "web01")
    wait_for(lambda: one.domains() == [], 5, what="old incarnation destroyed")
    one.ok("monitor", "web01", "kill")
    stays(lambda: one.domains() == [], 1.5, what="nothing re-created")


def test_list_brief_matches_full_list(one):
    one.ok("on", "web01", "crash", "preserve")
    one.ok("crash", "web01")
    full = one.dom("web01")
    reply = one.ok("list", "brief")
    assert reply["boot_id"] == one.ok("list")["boot_id"]
    assert reply["domains"] == [[full["name"], full["domid"], full["uuid"], "shutdown",
                                 "crash", full["start_time"], True, "preserve",
                                 None]]
    one.ok("destroy", "web01")
    assert one.ok("list", "brief")["domains"] == []
    r = one.cmd("list", "everything")
    assert r["ok"] is False and "list [brief]" in r["error"]


def test_monitor_domain_rebooted_by_simhv_gets_new_domid(one):
    uuid = one.dom("web01")["uuid"]
    one.ok("shutdown", "web01", "reboot")
    d = wait_for(lambda: (lambda x: x if x and x["domid"] == 2 else None)(one.dom("web01")),
                   5, what="re-created web01")
    assert d["state"] == "running" and d["monitor"] is True and d["uuid"] == uuid
    assert [x["domid"] for x in one.domains()] == [2]
    wait_for(lambda: answers_ok(*one.addr), 5, what="rebooted guest")
    # The graceful reboot request goes the same way.
    one.ok("reboot", "web01")
    wait_for(lambda: one.dom("web01") and one.dom("web01")["domid"] == 3, 5, what="second reboot")


def test_monitor_domain_poweroff_destroys_it(one):
    one.ok("shutdown", "web01", "poweroff")
    wait_for(lambda: one.domains() == [], 5, what="web01 gone")


def test_monitor_reboot_respects_fail_create(one):
    one.ok("fail-create", "web01", "1")
    one.ok("shutdown", "web01", "reboot")
    wait_for(lambda: one.domains() == [], 5, what="web01 gone for good")
    stays(lambda: one.domains() == [], 1.0, what="web01 gone for good")


def test_created_domain_stays_shut_down_whatever_the_reason(one):
    config = one.ok("capture", "web01")["config"]
    for reason in ["reboot", "poweroff", "crash"]:
        one.ok("destroy", "web01")
        domid = one.ok("create", config)["domid"]
        if reason == "crash":
            one.ok("crash", "web01")
        else:
            one.ok("shutdown", "web01", reason)

        def as_left(reason=reason, domid=domid):
            d = one.dom("web01")
            assert (d["domid"], d["state"], d["shutdown_reason"]) == \
                (domid, "shutdown", reason)
            return True
        stays(as_left, 0.5, what=f"created domain shut down ({reason})")
    one.ok("destroy", "web01")
    domid = one.ok("create", config)["domid"]
    one.ok("reboot", "web01")
    wait_for(lambda: one.dom("web01")["state"] == "shutdown", 5, what="graceful reboot")
    d = one.dom("web01")
    assert (d["domid"], d["shutdown_reason"]) == (domid, "reboot")


def test_pause_and_unpause(one):
    one.ok("pause", "web01")
    assert one.dom("web01")["state"] == "paused"
    with pytest.raises(socket.timeout):
        http_get(*one.addr, timeout=0.5)
    result = {}

    def held():
        try:
            result["r"] = http_get(*one.addr, timeout=5)
        except Exception as e:      # noqa: BLE001 - reported below
            result["r"] = e
    t = threading.Thread(target=held)
    t.start()
    stays(lambda: "r" not in result, 0.5, what="request held while paused")
    one.ok("unpause", "web01")
    t.join(6)
    assert result["r"] == (200, b"ok")
    assert one.dom("web01")["state"] == "running"
    assert http_get(*one.addr) == (200, b"ok")
    r = one.cmd("pause", "nosuch")
    assert r["ok"] is False


def test_reboot_requested_while_paused_happens_after_unpause(one):
    config = one.ok("capture", "web01")["config"]
    one.ok("destroy", "web01")
    one.ok("create", config)
    one.ok("pause", "web01")
    one.ok("reboot", "web01")
    stays(lambda: one.dom("web01")["state"] == "paused", 0.6,
          what="paused domain not rebooted")
    one.ok("unpause", "web01")
    wait_for(lambda: one.dom("web01")["state"] == "shutdown", 5, what="reboot after unpause")
    assert one.dom("web01")["shutdown_reason"] == "reboot"


# ---- events -------------------------------------------------------------------------------


def test_event_stream(one):
    config = one.ok("capture", "web01")["config"]
    s = one.connect()
    rd = LineReader(s)
    s.sendall(b'{"id": 3, "cmd": "events"}\n')
    assert rd.line() == {"id": 3, "ok": True}
    s2 = one.connect()
    rd2 = LineReader(s2)
    s2.sendall(b'{"cmd": "events"}\n')
    assert rd2.line() == {"ok": True}
    one.ok("pause", "web01")
    one.ok("unpause", "web01")
    one.ok("on", "web01", "crash", "preserve")
    one.ok("crash", "web01")
    one.ok("destroy", "web01")
    one.ok("create", config)
    one.ok("shutdown", "web01", "poweroff")
    expect = [
        {"event": "paused", "name": "web01", "domid": 1},
        {"event": "unpaused", "name": "web01", "domid": 1},
        {"event": "shutdown", "name": "web01", "domid": 1, "reason": "crash",
         "monitored": True, "action": "preserve"},
        {"event": "dying", "name": "web01", "domid": 1},
        {"event": "gone", "name": "web01", "domid": 1},
        {"event": "created", "name": "web01", "domid": 2},
        {"event": "shutdown", "name": "web01", "domid": 2, "reason": "poweroff",
         "monitored": False, "action": "destroy"},
    ]
    assert [rd.line() for _ in expect] == expect
    assert [rd2.line() for _ in expect] == expect
    # A monitor reboot: shutdown, dying, gone, created with a new domid.
    s.close()
    s2.close()


def test_event_stream_monitor_reboot(one):
    s = one.connect()
    rd = LineReader(s)
    s.sendall(b'{"cmd": "events"}\n')
    assert rd.line() == {"ok": True}
    one.ok("shutdown", "web01", "reboot")
    got = [rd.line() for _ in range(4)]
    assert got == [
        {"event": "shutdown", "name": "web01", "domid": 1, "reason": "reboot",
         "monitored": True, "action": "restart"},
        {"event": "dying", "name": "web01", "domid": 1},
        {"event": "gone", "name": "web01", "domid": 1},
        {"event": "created", "name": "web01", "domid": 2},
    ]
    s.close()


# ---- guest programs -------------------------------------------------------------------------


def test_guest_program_serves_and_is_killed_on_destroy(start, pool):
    ip, port = pool.take()
    guest = "%s -m http.server --bind %s %d" % (PYTHON, ip, port)
    sim = start(domain_conf("prog01", ip, port, guest=guest))
    wait_for(lambda: (lambda r: r[0] == 200)(http_get(ip, port)) if not refused(ip, port) else False,
               15, what="http.server to answer")
    d = sim.dom("prog01")
    assert d["behaviour"] == "program" and d["state"] == "running"
    pid = d["guest_pid"]
    assert pid_alive(pid)
    r = sim.cmd("guest", "prog01", "hang")
    assert r["ok"] is False and "program" in r["error"]
    sim.ok("destroy", "prog01")
    wait_for(lambda: not pid_alive(pid), 5, what="guest program killed")
    assert refused(ip, port)
    assert sim.domains() == []


def test_guest_program_environment_and_exit_crashes_domain(start, pool, tmp_path):
    script = tmp_path / "guest.py"
    out = tmp_path / "env.txt"
    go = tmp_path / "go"
    script.write_text(
        "import os, sys, time\n"
        "open(sys.argv[1], 'w').write(os.environ['YAOKI_SIM_DOMAIN'] + ' ' + os.environ['YAOKI_SIM_DOMID'])\n"
        "while not os.path.exists(sys.argv[2]):\n"
        "    time.sleep(0.02)  # the guest program's own poll\n")
    ip, port = pool.take()
    sim = start("boot_time = 0\n" + domain_conf("web01", ip, port) +
                domain_conf("prog02", None, 0, guest="%s %s %s %s" % (PYTHON, script, out, go),
                            extra=['on_crash = "preserve"']))
    wait_for(lambda: out.exists() and out.read_text(), 10, what="guest program to start")
    assert out.read_text() == "prog02 2"
    assert sim.dom("prog02")["state"] == "running"
    go.write_text("")
    wait_for(lambda: sim.dom("prog02")["state"] == "shutdown", 10, what="program exit to crash it")
    assert sim.dom("prog02")["shutdown_reason"] == "crash"
    assert sim.dom("web01")["state"] == "running"


def test_guest_program_that_cannot_run_fails_create(one, tmp_path):
    config = json.dumps({"name": "ghost", "uuid": "12345678-1234-4234-8234-123456789abc",
                         "listen": None, "boot_time_ms": 0,
                         "guest": str(tmp_path / "no-such-program") + " arg"})
    r = one.cmd("create", config)
    assert r["ok"] is False and "no-such-program" in r["error"]
    assert [d["name"] for d in one.domains()] == ["web01"]


def test_sigterm_kills_guest_programs(start, pool, tmp_path):
    sim = start(domain_conf("prog01", None, 0, guest="/bin/sleep 60"))
    pid = wait_for(lambda: sim.dom("prog01").get("guest_pid"), 5, what="sleep to start")
    assert pid_alive(pid)
    assert sim.stop() == 0
    assert not pid_alive(pid)


# ---- scale ------------------------------------------------------------------------------------


def test_thousand_guests_boot_and_answer(start, pool):
    n = 1000
    addrs = [pool.take() for _ in range(n)]
    conf = "boot_time = 200ms\n" + "".join(
        domain_conf("g%04d" % i, ip, port) for i, (ip, port) in enumerate(addrs))
    sim = start(conf)
    doms = sim.domains()
    assert len(doms) == n
    assert [d["domid"] for d in doms] == list(range(1, n + 1))

    def probe(addr):
        try:
            return wait_for(lambda: answers_ok(*addr), 30, what="%s:%d to answer" % addr)
        except AssertionError:
            return False

    with concurrent.futures.ThreadPoolExecutor(max_workers=32) as ex:
        results = list(ex.map(probe, addrs))
    assert all(results), "%d guests did not answer" % results.count(False)
    assert sim.proc.poll() is None

"""The status socket and yaokictl against the real yaokid: every command of
the contract, exit statuses, socket permissions decided by the peer's
credentials, bounded and hostile requests, and the socket file's life cycle
(stale file replaced, live daemon's socket never stolen)."""
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import tempfile
import time
import uuid

import pytest

from conftest import YAOKICTL, YAOKID, wait_for


# ---- helpers ----------------------------------------------------------------

def raw(path, data, timeout=10, shut=False):
    """Sends raw bytes on the status socket; returns everything read until
    the daemon closes (a reset after the reply counts as a close)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    try:
        try:
            if data:
                s.sendall(data)
            if shut:
                s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass            # it answered and closed before taking it all
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            out += chunk
        return out
    finally:
        s.close()


def reply(path, data, **kw):
    out = raw(path, data, **kw)
    assert out.endswith(b"\n") and out.count(b"\n") == 1, out
    return json.loads(out)


def start_failing(y, timeout=20):
    """Runs yaokid on y's configuration expecting it not to start; with a
    state_dir of its own, so that it meets y's socket, not y's lock on the
    state dir (test_security.py tests that one)."""
    conf = y.tmp / "second.conf"
    conf.write_text(y.conf.read_text().replace(
        f'state_dir = "{y.state_dir}"', f'state_dir = "{y.tmp}/second-state"'))
    return subprocess.run([YAOKID, "-f", "-c", str(conf)], capture_output=True,
                          text=True, timeout=timeout)


def as_user(argv, group, groups=None):
    """argv run as nobody with primary group `group` (and only `groups`)."""
    pre = ["setpriv", "--reuid=nobody", f"--regid={group}"]
    pre += [f"--groups={groups}"] if groups else ["--clear-groups"]
    return subprocess.run(pre + argv, capture_output=True, text=True, timeout=30)


@pytest.fixture
def opendir():
    """A short directory that nobody may traverse (sockets for other users)."""
    d = tempfile.mkdtemp(prefix="ykc", dir="/tmp")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def testgroup():
    name = "ykt" + uuid.uuid4().hex[:8]
    r = subprocess.run(["groupadd", name], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        pytest.skip(f"cannot create a group: {r.stderr}")
    try:
        yield name
    finally:
        subprocess.run(["groupdel", name], capture_output=True, timeout=30)


def gid_of(group):
    import grp
    return grp.getgrnam(group).gr_gid


# ---- every command of the contract -----------------------------------------

def test_every_command_with_exit_statuses(sim_factory, yaokid_factory):
    sim = sim_factory(["web01", "web02"])
    y = yaokid_factory(sim, {"web01": {}, "web02": {}}).start()
    y.wait_state("web01", "healthy")
    y.wait_state("web02", "healthy")

    # status: table and -j, all domains and one.
    r = y.ctl("status", json_out=False)
    assert r.returncode == 0 and r.stderr == ""
    lines = r.stdout.splitlines()
    assert lines[0].startswith("host ") and lines[0].endswith("hold: no")
    assert lines[1].split()[:3] == ["NAME", "DOMID", "STATE"]
    assert re.match(r"web01\s+%d\s+healthy\s" % sim.domid("web01"), lines[2])
    assert re.match(r"web02\s+%d\s+healthy\s" % sim.domid("web02"), lines[3])
    st = json.loads(y.ctl("status").stdout)
    assert st["ok"] is True and st["hold"] is False
    assert st["host"] == socket.gethostname()
    assert [d["name"] for d in st["domains"]] == ["web01", "web02"]
    one = json.loads(y.ctl("status", "web02").stdout)
    assert [d["name"] for d in one["domains"]] == ["web02"]
    r = y.ctl("status", "web02", json_out=False)
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 3
    r = y.ctl("status", "nosuch")
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == "yaokictl: unknown domain: nosuch\n"

    # metrics and version.
    r = y.ctl("metrics", json_out=False)
    assert r.returncode == 0
    assert 'yaoki_domain_state{domain="web01",state="healthy"} 1' in r.stdout
    r = y.ctl("version", json_out=False)
    assert (r.returncode, r.stdout) == (0, "0.1.0\n")
    assert json.loads(y.ctl("version").stdout) == {"ok": True, "version": "0.1.0"}

    # pause / resume.
    r = y.ctl("pause", "web01", json_out=False)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    assert y.state("web01") == "paused"
    r = y.ctl("pause", "nosuch", json_out=False)
    assert r.returncode == 1 and "unknown domain: nosuch" in r.stderr
    r = y.ctl("resume", "web02", json_out=False)
    assert r.returncode == 1 and "web02 is not paused" in r.stderr
    r = y.ctl("resume", "web01", json_out=False)
    assert (r.returncode, r.stdout) == (0, "")
    assert y.state("web01") in ("starting", "healthy")
    y.wait_state("web01", "healthy")

    # recover: the same path as an automatic recovery, a new incarnation.
    old = sim.domid("web01")
    r = y.ctl("recover", "web01", json_out=False)
    assert (r.returncode, r.stdout) == (0, "")
    wait_for(lambda: sim.domid("web01") not in (None, old), 20, what="re-created web01")
    d = y.wait_state("web01", "healthy")
    assert d["recoveries_in_window"] == 1
    assert d["last_recovery"]["result"] == "ok"

    # reset clears the history.
    r = y.ctl("reset", "web01", json_out=False)
    assert (r.returncode, r.stdout) == (0, "")
    assert y.dom("web01")["recoveries_in_window"] == 0

    # reload of an unchanged file.
    r = y.ctl("reload", json_out=False)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    assert y.proc.alive()


def test_protocol_errors_are_answered(sim_factory, yaokid_factory):
    sim = sim_factory(["web01"])
    y = yaokid_factory(sim, {"web01": {}}).start()
    cases = {
        b"frobnicate\n": "unknown command: frobnicate",
        b"version now\n": "version takes no argument",
        b"metrics x\n": "metrics takes no argument",
        b"reload x\n": "reload takes no argument",
        b"pause\n": "pause needs a domain name",
        b"recover web09\n": "unknown domain: web09",
        b"status web01 web02\n": "malformed request",
        b"status  web01\n": "malformed request",
        b"\n": "malformed request",
        b" \n": "malformed request",
        b"status\x00junk\n": "malformed request",
        b"\xff\xfe\x00\x01\x02binary\x1b[31m\n": "malformed request",
    }
    for req, msg in cases.items():
        rep = reply(y.sock, req)
        assert rep["ok"] is False and msg in rep["error"], (req, rep)
    # CRLF is tolerated.
    assert reply(y.sock, b"version\r\n")["version"] == "0.1.0"
    assert y.proc.alive() and y.status()["ok"] is True


# ---- bounded requests ---------------------------------------------------------

def test_request_length_bound(sim_factory, yaokid_factory):
    sim = sim_factory(["web01"])
    y = yaokid_factory(sim, {"web01": {}}).start()
    # Exactly 1024 bytes before the newline: accepted (and answered).
    line = b"status " + b"x" * (1024 - 7)
    rep = reply(y.sock, line + b"\n")
    assert rep == {"ok": False, "error": "unknown domain: " + "x" * 1017}
    # 1025 bytes: too long.
    rep = reply(y.sock, line + b"y\n")
    assert rep["ok"] is False and "request too long" in rep["error"]
    # 2000 bytes without a newline: answered at once, not after a timeout.
    t0 = time.monotonic()
    rep = reply(y.sock, b"s" * 2000, timeout=4)
    assert rep["ok"] is False and "request too long" in rep["error"]
    assert time.monotonic() - t0 < 4
    # A megabyte of junk.
    out = raw(y.sock, os.urandom(1 << 20).replace(b"\n", b"x"))
    assert b"request too long" in out
    assert y.proc.alive() and y.status()["ok"] is True


def test_idle_and_half_closed_clients(sim_factory, yaokid_factory):
    sim = sim_factory(["web01"])
    y = yaokid_factory(sim, {"web01": {}}).start()
    # Silent client: an error reply after the per-connection timeout.
    t0 = time.monotonic()
    rep = reply(y.sock, b"", timeout=15)
    waited = time.monotonic() - t0
    assert rep["ok"] is False and "no complete request" in rep["error"]
    assert 3 <= waited < 12
    # Trickling bytes does not extend the deadline.
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(15)
    s.connect(y.sock)
    t0 = time.monotonic()
    out = b""
    try:
        while time.monotonic() - t0 < 12:
            s.send(b"s")
            time.sleep(0.5)         # the client's trickle pacing: the scenario
            s.setblocking(False)
            try:
                out += s.recv(4096)
            except BlockingIOError:
                pass
            finally:
                s.settimeout(15)
            if out:
                break
    except (BrokenPipeError, ConnectionResetError):
        pass
    s.close()
    assert b"no complete request" in out
    # Half-closed without a newline: told why.
    rep = reply(y.sock, b"status", shut=True)
    assert rep["ok"] is False and "incomplete request" in rep["error"]
    assert y.status()["ok"] is True


def test_more_idle_clients_than_the_cap(sim_factory, yaokid_factory):
    sim = sim_factory(["web01"])
    y = yaokid_factory(sim, {"web01": {}}).start()
    idle = []
    try:
        for _ in range(200):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            idle.append(s)
            # Blocking connect: waits while the listen queue is full.
            s.connect(y.sock)
        # A normal client is still answered, again and again, while the
        # idle ones hold their connections open.
        for _ in range(5):
            r = y.ctl("status")
            assert r.returncode == 0, r.stderr
            assert json.loads(r.stdout)["domains"][0]["name"] == "web01"
        # Some idle ones were told, not just dropped.
        told = 0
        for s in idle:
            s.setblocking(False)
            try:
                if b"too many clients" in s.recv(4096):
                    told += 1
            except (BlockingIOError, ConnectionResetError):
                pass
        assert told > 0
    finally:
        for s in idle:
            s.close()
    assert y.proc.alive()
    assert y.status()["ok"] is True


# ---- permissions ---------------------------------------------------------------

def test_socket_group_members_read_root_changes(sim_factory, yaokid_factory, opendir,
                                                testgroup):
    sim = sim_factory(["web01"])
    y = yaokid_factory(sim, {"web01": {}}, glob={"socket_group": f'"{testgroup}"'})
    rundir = os.path.join(opendir, "run")          # yaokid creates it
    y.sock = os.path.join(rundir, "yaokid.sock")
    y.write_conf({"web01": {}}, glob={"socket_group": f'"{testgroup}"'})
    y.start()
    gid = gid_of(testgroup)

    st = os.lstat(y.sock)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o660
    assert (st.st_uid, st.st_gid) == (0, gid)
    dst = os.stat(rundir)
    assert stat.S_IMODE(dst.st_mode) == 0o750
    assert (dst.st_uid, dst.st_gid) == (0, gid)

    ctl = os.path.join(opendir, "yaokictl")
    shutil.copy(YAOKICTL, ctl)
    os.chmod(ctl, 0o755)

    # A member (primary group) may read...
    r = as_user([ctl, "-s", y.sock, "-j", "status"], testgroup)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["domains"][0]["name"] == "web01"
    for cmd in (["metrics"], ["version"], ["status", "web01"]):
        r = as_user([ctl, "-s", y.sock, *cmd], testgroup)
        assert r.returncode == 0, (cmd, r.stderr)
    # ...also as a supplementary group (SO_PEERGROUPS)...
    r = as_user([ctl, "-s", y.sock, "version"], "nogroup", groups=testgroup)
    assert r.returncode == 0, r.stderr
    # ...but never change anything.
    for cmd in (["pause", "web01"], ["resume", "web01"], ["recover", "web01"],
                ["reset", "web01"], ["reload"]):
        r = as_user([ctl, "-s", y.sock, *cmd], testgroup)
        assert r.returncode == 1, (cmd, r)
        assert "permission denied" in r.stderr, (cmd, r.stderr)
    assert y.state("web01") != "paused"
    assert "operator:" not in y.log()
    # Others cannot even connect.
    r = as_user([ctl, "-s", y.sock, "status"], "nogroup")
    assert r.returncode == 2
    assert "cannot reach yaokid" in r.stderr and "Permission denied" in r.stderr
    # Root may change things.
    assert y.ctl("pause", "web01").returncode == 0
    assert y.state("web01") == "paused"


def test_without_socket_group_only_root(sim_factory, yaokid_factory, opendir):
    sim = sim_factory(["web01"])
    y = yaokid_factory(sim, {"web01": {}})
    rundir = os.path.join(opendir, "run")
    y.sock = os.path.join(rundir, "yaokid.sock")
    y.write_conf({"web01": {}})
    y.start()
    st = os.lstat(y.sock)
    assert stat.S_IMODE(st.st_mode) == 0o660 and st.st_uid == 0
    assert stat.S_IMODE(os.stat(rundir).st_mode) == 0o700
    # Open the directory and give the socket to a group nobody is in, to see
    # that the daemon itself refuses a peer that is neither root nor a member.
    os.chmod(rundir, 0o755)
    os.chown(y.sock, 0, gid_of("nogroup"))
    ctl = os.path.join(opendir, "yaokictl")
    shutil.copy(YAOKICTL, ctl)
    os.chmod(ctl, 0o755)
    r = as_user([ctl, "-s", y.sock, "status"], "nogroup")
    assert r.returncode == 1, r
    assert "permission denied" in r.stderr
    assert y.ctl("status").returncode == 0


# ---- the socket file's life cycle ---------------------------------------------

def test_stale_socket_is_replaced(sim_factory, yaokid_factory):
    sim = sim_factory(["web01"])
    y = yaokid_factory(sim, {"web01": {}})
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(y.sock)               # a socket file nobody serves: a crashed yaokid
    s.close()
    assert stat.S_ISSOCK(os.lstat(y.sock).st_mode)
    y.start()
    assert y.status()["ok"] is True
    assert stat.S_IMODE(os.lstat(y.sock).st_mode) == 0o660
    y.stop()
    assert not os.path.exists(y.sock)         # a clean stop removes it


def test_live_daemons_socket_is_not_stolen(sim_factory, yaokid_factory):
    sim = sim_factory(["web01"])
    y = yaokid_factory(sim, {"web01": {}}).start()
    y.wait_state("web01", "healthy")
    ino = os.lstat(y.sock).st_ino
    r = start_failing(y)
    assert r.returncode == 2
    assert "another yaokid is serving it" in r.stderr
    assert os.lstat(y.sock).st_ino == ino
    assert y.status()["domains"][0]["state"] == "healthy"


def test_live_socket_with_full_backlog_is_not_stolen(sim_factory, yaokid_factory):
    """A listener that never accepts (a wedged daemon) still owns its socket."""
    sim = sim_factory(["web01"])
    y = yaokid_factory(sim, {"web01": {}})
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(y.sock)
    ls.listen(0)
    fillers = []
    try:
        for _ in range(4):
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.setblocking(False)
            try:
                c.connect(y.sock)
            except BlockingIOError:
                pass
            fillers.append(c)
        r = start_failing(y)
        assert r.returncode == 2
        assert "another yaokid is serving it" in r.stderr
    finally:
        for c in fillers:
            c.close()
        ls.close()


def test_something_else_at_the_socket_path_is_left_alone(sim_factory, yaokid_factory):
    sim = sim_factory(["web01"])
    y = yaokid_factory(sim, {"web01": {}})
    with open(y.sock, "w") as f:
        f.write("precious\n")
    r = start_failing(y)
    assert r.returncode == 2
    assert "not a socket" in r.stderr
    with open(y.sock) as f:
        assert f.read() == "precious\n"


def test_unsafe_socket_directory_is_refused(sim_factory, yaokid_factory, opendir):
    sim = sim_factory(["web01"])
    y = yaokid_factory(sim, {"web01": {}})
    d = os.path.join(opendir, "open")
    os.mkdir(d)
    os.chmod(d, 0o777)
    y.sock = os.path.join(d, "yaokid.sock")
    y.write_conf({"web01": {}})
    r = start_failing(y)
    assert r.returncode == 2
    assert "writable by anybody" in r.stderr
    assert not os.path.exists(y.sock)


def test_missing_socket_group_cannot_start(sim_factory, yaokid_factory):
    sim = sim_factory(["web01"])
    y = yaokid_factory(sim, {"web01": {}},
                       glob={"socket_group": '"no-such-group-yaoki"'})
    r = start_failing(y)
    assert r.returncode == 2
    assert "no-such-group-yaoki" in r.stderr

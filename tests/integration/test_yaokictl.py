"""yaokictl against a fake status socket.

A small server in a thread plays yaokid: it records the request line and
answers with a canned reply, so these tests check only the client (request
line, table, -j, exit statuses, usage errors), not the daemon.
"""
import datetime
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading

import pytest

WAIT = 10  # seconds: bound on every wait in this file


def yaokictl_path():
    builddir = os.environ.get("YAOKI_BUILDDIR")
    if not builddir:
        pytest.fail("YAOKI_BUILDDIR is not set (run through make check)")
    path = os.path.join(builddir, "yaokictl")
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is missing: build yaokictl first")
    return path


def iso_ago(seconds):
    t = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeDaemon:
    """Accepts connections on a UNIX socket; answers each with `reply`."""

    def __init__(self, path, reply, answer=True):
        self.path = path
        self.reply = reply
        self.answer = answer
        self.requests = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(4)
        self.sock.settimeout(WAIT)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(WAIT)
            data = b""
            try:
                while b"\n" not in data and len(data) <= 1024:
                    chunk = conn.recv(1024)
                    if not chunk:
                        break
                    data += chunk
            except OSError:
                pass
            self.requests.append(data)
            if self.answer:
                conn.sendall(self.reply.encode())

    def close(self):
        # shutdown() wakes a thread blocked in accept(); close() alone does not.
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(WAIT)
        assert not self.thread.is_alive()


@pytest.fixture
def sockdir():
    # Short path: sun_path holds at most 107 bytes.
    d = tempfile.mkdtemp(prefix="ykctl", dir="/tmp")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def daemon(sockdir):
    started = []

    def start(reply, answer=True):
        fake = FakeDaemon(os.path.join(sockdir, "yaokid.sock"), reply, answer)
        started.append(fake)
        return fake

    yield start
    for fake in started:
        fake.close()


def run(*args, env_extra=None):
    env = dict(os.environ)
    env.pop("YAOKI_SOCKET", None)
    if env_extra:
        env.update(env_extra)
    return subprocess.run([yaokictl_path(), *args], capture_output=True,
                          text=True, timeout=WAIT, env=env)


def status_reply(hold=False):
    return json.dumps({
        "ok": True, "host": "dom0-a", "version": "0.1.0", "hold": hold,
        "domains": [
            {"name": "web01", "domid": 12, "state": "healthy",
             "consecutive_failures": 0, "recoveries_in_window": 1,
             "last_probe": {"at": iso_ago(125), "ok": True, "http_status": 200,
                            "ms": 3.1, "error": None},
             "last_recovery": {"at": iso_ago(20 * 60 + 10), "result": "ok",
                               "seconds": 11.8}},
            {"name": "database-primary", "domid": None, "state": "unrecoverable",
             "consecutive_failures": 7, "recoveries_in_window": 3,
             "last_probe": {"at": iso_ago(3 * 3600 + 5), "ok": False,
                            "http_status": None, "ms": 0.4,
                            "error": "connection refused"},
             "last_recovery": None},
        ]}) + "\n"


def test_status_table(daemon):
    fake = daemon(status_reply())
    r = run("-s", fake.path, "status")
    assert r.returncode == 0, r.stderr
    assert fake.requests == [b"status\n"]
    lines = r.stdout.splitlines()
    assert lines[0] == "host dom0-a, yaokid 0.1.0, hold: no"
    header = lines[1]
    assert header.split() == ["NAME", "DOMID", "STATE", "FAILS", "RECOV",
                              "LAST-PROBE", "LAST-RECOVERY"]
    assert len(lines) == 4
    web, db = lines[2], lines[3]
    assert re.match(r"web01 +12 +healthy +0 +1 +ok 200 3\.1ms 2m ago +ok 11\.8s 20m ago$", web)
    assert re.match(r"database-primary +- +unrecoverable +7 +3 +fail connection refused 3h ago +-$", db)
    # Columns line up: every column starts at the same offset in every row.
    for col in ("DOMID", "STATE", "LAST-PROBE", "LAST-RECOVERY"):
        assert header.index(col) > len("database-primary")
    assert web.index("12") == header.index("DOMID")
    assert db.index("unrecoverable") == header.index("STATE")
    assert web.index("ok 200") == header.index("LAST-PROBE")
    assert db.index("fail ") == header.index("LAST-PROBE")
    assert web.index("ok 11.8s") == header.index("LAST-RECOVERY")


def test_status_shows_why_a_domain_is_paused(daemon):
    reply = json.dumps({"ok": True, "host": "dom0-a", "version": "0.1.0", "hold": False,
                        "domains": [
                            {"name": "web01", "domid": 7, "state": "paused",
                             "reason": "migrating away", "consecutive_failures": 0,
                             "recoveries_in_window": 0, "last_probe": None,
                             "last_recovery": None},
                            {"name": "web02", "domid": 8, "state": "healthy",
                             "reason": "guest rebooted", "consecutive_failures": 0,
                             "recoveries_in_window": 0, "last_probe": None,
                             "last_recovery": None},
                            {"name": "web03", "domid": None, "state": "absent",
                             "reason": "x" * 60 + "\x1b[31m", "consecutive_failures": 0,
                             "recoveries_in_window": 0, "last_probe": None,
                             "last_recovery": None}]}) + "\n"
    fake = daemon(reply)
    r = run("-s", fake.path, "status")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert re.match(r"web01 +7 +paused \(migrating away\) +0 +0 ", lines[2]), lines[2]
    # A healthy domain's last reason is history, not shown.
    assert re.match(r"web02 +8 +healthy +0 +0 ", lines[3]), lines[3]
    assert "absent (" + "x" * 40 + "...)" in lines[4]
    assert "\x1b" not in r.stdout


def test_status_hold_and_one_domain(daemon):
    fake = daemon(status_reply(hold=True))
    r = run("-s", fake.path, "status", "web01")
    assert r.returncode == 0, r.stderr
    assert fake.requests == [b"status web01\n"]
    assert r.stdout.splitlines()[0] == \
        "host dom0-a, yaokid 0.1.0, hold: YES (recoveries held: mass failure)"


def test_long_probe_error_is_shortened(daemon):
    reply = json.loads(status_reply())
    reply["domains"][1]["last_probe"]["error"] = "x" * 300 + "\x1b[2J"
    fake = daemon(json.dumps(reply))
    r = run("-s", fake.path, "status")
    assert r.returncode == 0, r.stderr
    assert "x" * 41 not in r.stdout
    assert "\x1b" not in r.stdout
    assert "fail " + "x" * 37 + "..." in r.stdout


def test_json_passthrough(daemon):
    reply = status_reply()
    fake = daemon(reply)
    r = run("-j", "-s", fake.path, "status")
    assert r.returncode == 0, r.stderr
    assert r.stdout == reply
    assert json.loads(r.stdout)["domains"][0]["name"] == "web01"


def test_error_reply_exits_1(daemon):
    fake = daemon('{"ok": false, "error": "unknown domain: web09"}\n')
    r = run("-s", fake.path, "pause", "web09")
    assert r.returncode == 1
    assert fake.requests == [b"pause web09\n"]
    assert r.stderr == "yaokictl: unknown domain: web09\n"
    assert r.stdout == ""


def test_error_reply_with_json_flag_exits_1(daemon):
    fake = daemon('{"ok": false, "error": "permission denied"}\n')
    r = run("-j", "-s", fake.path, "reload")
    assert r.returncode == 1
    assert "permission denied" in r.stderr


@pytest.mark.parametrize("cmd", [["pause", "web01"], ["resume", "web01"],
                                 ["recover", "web01"], ["reset", "web01"],
                                 ["reload"]])
def test_mutating_commands_print_nothing(daemon, cmd):
    fake = daemon('{"ok": true}\n')
    r = run("-s", fake.path, *cmd)
    assert r.returncode == 0, r.stderr
    assert fake.requests == [(" ".join(cmd) + "\n").encode()]
    assert r.stdout == "" and r.stderr == ""


def test_version(daemon):
    fake = daemon('{"ok": true, "version": "0.1.0"}\n')
    r = run("-s", fake.path, "version")
    assert r.returncode == 0, r.stderr
    assert fake.requests == [b"version\n"]
    assert r.stdout == "0.1.0\n"


def test_metrics_printed_as_is(daemon):
    text = ('# TYPE yaoki_hold gauge\nyaoki_hold 0\n'
            'yaoki_build_info{version="0.1.0"} 1\n')
    fake = daemon(text)
    r = run("-s", fake.path, "metrics")
    assert r.returncode == 0, r.stderr
    assert fake.requests == [b"metrics\n"]
    assert r.stdout == text


def test_metrics_refused(daemon):
    fake = daemon('{"ok": false, "error": "permission denied"}\n')
    r = run("-s", fake.path, "metrics")
    assert r.returncode == 1
    assert r.stderr == "yaokictl: permission denied\n"


def test_socket_from_environment(daemon):
    fake = daemon('{"ok": true, "version": "0.1.0"}\n')
    r = run("version", env_extra={"YAOKI_SOCKET": fake.path})
    assert r.returncode == 0, r.stderr
    assert r.stdout == "0.1.0\n"


def test_no_daemon_exits_2(sockdir):
    path = os.path.join(sockdir, "nothing.sock")
    r = run("-s", path, "status")
    assert r.returncode == 2
    assert r.stderr.startswith(f"yaokictl: cannot reach yaokid at {path}: ")
    assert "No such file or directory" in r.stderr


def test_daemon_closes_without_answer_exits_2(daemon):
    fake = daemon("", answer=False)
    r = run("-s", fake.path, "status")
    assert r.returncode == 2
    assert fake.requests == [b"status\n"]
    assert r.stderr.startswith(f"yaokictl: cannot reach yaokid at {fake.path}: ")


def test_garbage_reply_exits_2(daemon):
    fake = daemon("HTTP/1.0 200 OK\r\n\r\n")
    r = run("-s", fake.path, "status")
    assert r.returncode == 2
    assert "malformed reply" in r.stderr


@pytest.mark.parametrize("args,message", [
    ([], "no command given"),
    (["frobnicate"], "unknown command: frobnicate"),
    (["pause"], "usage: yaokictl pause DOMAIN"),
    (["status", "a", "b"], "usage: yaokictl status [DOMAIN]"),
    (["reload", "web01"], "reload takes no argument"),
    (["recover", "web 01"], "invalid domain name"),
    (["reset", "x" * 64], "invalid domain name"),
    (["-q", "status"], "usage:"),
])
def test_usage_errors_exit_1_without_connecting(daemon, args, message):
    fake = daemon('{"ok": true}\n')
    r = run("-s", fake.path, *args)
    assert r.returncode == 1
    assert message in r.stderr
    assert fake.requests == []


def test_help_and_version_flags():
    r = run("-h")
    assert r.returncode == 0
    assert "usage: yaokictl" in r.stdout
    r = run("-V")
    assert r.returncode == 0
    assert r.stdout.startswith("yaokictl ")

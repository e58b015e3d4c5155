"""The alert hook against the real yaokid: exactly the contract (argv,
environment, JSON on stdin, no shell, own process group), once per entry
into unrecoverable, hook_timeout then SIGKILL to the group, asynchronous,
and hooks that hang, fail, write a lot, are missing or not executable."""
import json
import os
import re
import socket
import stat
import time

import pytest

from conftest import hook_runs as runs, pid_alive, wait_for

# Quick to unrecoverable: one failure recovers, one recovery is the limit.
FAST = {"failures": "1", "start_period": "1s", "max_recoveries": "1",
        "backoff": "200ms"}


def write_hook(path, body, interp="/usr/bin/python3"):
    path.write_text(f"#!{interp}\n" + body)
    os.chmod(path, 0o755)
    return path


RECORDER = r'''
import json, os, sys
out = sys.argv[0] + ".runs"
# /proc/self/environ: the environment as exec'd, before Python adds LC_CTYPE.
with open("/proc/self/environ", "rb") as f:
    env = dict(kv.decode().split("=", 1) for kv in f.read().split(b"\0") if kv)
rec = {"argv": sys.argv, "env": env, "stdin": sys.stdin.read(),
       "pid": os.getpid(), "pgid": os.getpgid(0), "cwd": os.getcwd()}
with open(out, "a") as f:
    f.write(json.dumps(rec) + "\n")
print("hook says hello")
'''


def make_unrecoverable(sim, y, name):
    sim.ctl("guest", name, "refuse", "sticky")
    return y.wait_state(name, "unrecoverable", timeout=30)


def test_contract_argv_env_stdin_once_per_entry(sim_factory, yaokid_factory, tmp_path):
    sim = sim_factory(["web01", "web02"])
    # A path with a space and shell syntax: only works without a shell.
    hdir = tmp_path / "hooks $(touch pwned); x"
    hdir.mkdir()
    hook = write_hook(hdir / "alert me", RECORDER)
    y = yaokid_factory(sim, {"web01": {}, "web02": {}},
                       glob={"hook": '"%s"' % str(hook).replace('"', '\\"'),
                             "hook_timeout": "10s"},
                       defaults=FAST).start()
    y.wait_state("web01", "healthy")
    y.wait_state("web02", "healthy")
    assert runs(hook) == []                  # never while things are fine
    make_unrecoverable(sim, y, "web01")
    wait_for(lambda: runs(hook), 10, what="hook run")
    wait_for(lambda: "exited 0" in y.log(), 10, what="hook exit logged")
    y.wait_probes("web02", 6)                # >= 1 s of yaokid's time
    assert y.state("web01") == "unrecoverable"   # it stays unrecoverable...
    r = runs(hook)
    assert len(r) == 1                       # ...and the hook ran once
    r = r[0]
    assert r["argv"] == [str(hook), "unrecoverable", "web01"]
    env = r["env"]
    assert set(env) == {"YAOKI_EVENT", "YAOKI_DOMAIN", "YAOKI_HOST",
                        "YAOKI_REASON", "YAOKI_RECOVERIES", "PATH"}, env
    assert env["YAOKI_EVENT"] == "unrecoverable"
    assert env["YAOKI_DOMAIN"] == "web01"
    assert env["YAOKI_HOST"] == socket.gethostname()
    assert env["YAOKI_RECOVERIES"] == "1"
    reason = env["YAOKI_REASON"]
    assert "recovery limit" in reason
    assert 0 < len(reason) <= 200 and re.fullmatch(r"[ -~]+", reason)
    # stdin: the object `status web01` returns.
    st = json.loads(r["stdin"])
    assert st["ok"] is True and st["host"] == socket.gethostname()
    assert [d["name"] for d in st["domains"]] == ["web01"]
    assert st["domains"][0]["state"] == "unrecoverable"
    assert set(st) == set(y.status("web01"))
    # Its own process group, so that the whole group can be killed.
    assert r["pgid"] == r["pid"]
    assert not (tmp_path / "pwned").exists()
    assert not os.path.exists("pwned")
    # Its output reaches the log, under its name.
    assert re.search(r"hook unrecoverable web01 \(pid \d+\): hook says hello", y.log())
    # A new entry into unrecoverable (after reset) runs it again, once.
    assert y.ctl("reset", "web01").returncode == 0
    sim.ctl("guest", "web01", "ok")
    y.wait_state("web01", "healthy", timeout=30)
    make_unrecoverable(sim, y, "web01")
    wait_for(lambda: len(runs(hook)) == 2, 10, what="second hook run")
    wait_for(lambda: y.log().count("exited 0") == 2, 10, what="second hook exit logged")
    y.wait_probes("web02", 6)                # >= 1 s of yaokid's time
    assert len(runs(hook)) == 2
    assert y.state("web01") == "unrecoverable"
    # The neighbour never triggered anything.
    assert all(x["argv"][2] == "web01" for x in runs(hook))


def test_no_hook_configured_is_fine(sim_factory, yaokid_factory):
    sim = sim_factory(["web01"])
    y = yaokid_factory(sim, {"web01": {}}, defaults=FAST).start()
    y.wait_state("web01", "healthy")
    make_unrecoverable(sim, y, "web01")
    assert not re.search(r"\bhook (unrecoverable|mass-failure)", y.log())
    assert y.proc.alive()


def test_hanging_hook_is_killed_with_its_group_and_delays_nothing(
        sim_factory, yaokid_factory, tmp_path):
    sim = sim_factory(["web01", "web02"])
    pidfile = tmp_path / "bg.pid"
    hook = write_hook(tmp_path / "hang", f'''
import os, subprocess, sys, time
bg = subprocess.Popen(["sleep", "300"])          # same process group
open("{pidfile}", "w").write(str(bg.pid))
sys.stdin.close()
time.sleep(300)        # the hook hangs: the scenario, not a wait
''')
    y = yaokid_factory(sim, {"web01": {}, "web02": {"failures": "2"}},
                       glob={"hook": f'"{hook}"', "hook_timeout": "6s"},
                       defaults=FAST).start()
    y.wait_state("web01", "healthy")
    y.wait_state("web02", "healthy")
    make_unrecoverable(sim, y, "web01")
    wait_for(lambda: pidfile.exists() and pidfile.read_text(), 10, what="hook started")
    started = time.monotonic()
    bg = int(pidfile.read_text())
    assert pid_alive(bg)
    # While the hook hangs, probes and recoveries go on.
    old = sim.domid("web02")
    n = y.dom("web02")["last_probe"]["at"]
    sim.ctl("guest", "web02", "refuse")
    wait_for(lambda: sim.domid("web02") not in (None, old), 5, what="web02 recovered")
    y.wait_state("web02", "healthy", timeout=5)
    assert y.dom("web02")["last_probe"]["at"] >= n
    assert "killing its process group" not in y.log()
    assert time.monotonic() - started < 5
    # Then hook_timeout kills the hook and everything in its group.
    wait_for(lambda: "killed by signal 9" in y.log(), 15, what="hook killed")
    assert time.monotonic() - started >= 4      # not before its time
    assert "still running after hook_timeout" in y.log()
    wait_for(lambda: not pid_alive(bg), 5, what="background child killed")
    assert y.proc.alive() and y.status()["ok"] is True


def test_failing_hook_is_logged(sim_factory, yaokid_factory, tmp_path):
    sim = sim_factory(["web01", "clock"])     # clock: a healthy neighbour
    hook = write_hook(tmp_path / "fail", "echo 'something broke' >&2\nexit 3\n",
                      interp="/bin/sh")
    y = yaokid_factory(sim, {"web01": {}, "clock": {}}, glob={"hook": f'"{hook}"'},
                       defaults=FAST).start()
    y.wait_state("web01", "healthy")
    y.wait_state("clock", "healthy")
    make_unrecoverable(sim, y, "web01")
    wait_for(lambda: "exited 3" in y.log(), 10, what="exit status logged")
    assert re.search(r"hook unrecoverable web01 \(pid \d+\): something broke", y.log())
    assert y.log().count("hook unrecoverable web01 (pid") >= 2
    y.wait_probes("clock", 6)                 # >= 1 s of yaokid's time
    assert len(re.findall(r"hook \S+ \S+ \(pid \d+\): started", y.log())) == 1  # no retry loop
    assert y.proc.alive() and y.state("web01") == "unrecoverable"


def test_hook_that_writes_a_lot(sim_factory, yaokid_factory, tmp_path):
    sim = sim_factory(["web01"])
    done = tmp_path / "done"
    hook = write_hook(tmp_path / "noisy", f'''
import os, sys
chunk = b"x" * 65535 + b"\\n"
for i in range(160):                  # 10 MiB on stdout, never reading stdin
    os.write(1, chunk)
os.write(2, b"\\x1b[31mred\\x00 and binary\\xff\\n")
os.write(1, b"y" * (1 << 20))         # 1 MiB without a newline
open("{done}", "w").write("1")
''')
    y = yaokid_factory(sim, {"web01": {}},
                       glob={"hook": f'"{hook}"', "hook_timeout": "60s"},
                       defaults=FAST).start()
    y.wait_state("web01", "healthy")
    size0 = os.path.getsize(y.log_path)
    make_unrecoverable(sim, y, "web01")
    wait_for(lambda: "exited 0" in y.log(), 30, what="noisy hook finished")
    assert done.exists()                  # it was not blocked on a full pipe
    hook_lines = [l for l in y.log().splitlines() if "hook unrecoverable web01" in l]
    assert 2 <= len(hook_lines) < 60
    assert all(len(l) < 400 for l in hook_lines)
    assert os.path.getsize(y.log_path) - size0 < 64 * 1024
    assert "\x1b" not in y.log()
    assert y.proc.alive() and y.status()["ok"] is True


@pytest.mark.parametrize("kind", ["missing", "not-executable", "directory", "bad-interpreter"])
def test_hook_that_cannot_run(sim_factory, yaokid_factory, tmp_path, kind):
    sim = sim_factory(["web01"])
    hook = tmp_path / "hook"
    if kind == "not-executable":
        hook.write_text("#!/bin/sh\nexit 0\n")
        os.chmod(hook, 0o644)
    elif kind == "directory":
        hook.mkdir()
    elif kind == "bad-interpreter":
        hook.write_text("#!/nonexistent/interpreter\n")
        os.chmod(hook, 0o755)
    y = yaokid_factory(sim, {"web01": {}}, glob={"hook": f'"{hook}"'},
                       defaults=FAST).start()
    y.wait_state("web01", "healthy")
    make_unrecoverable(sim, y, "web01")
    wait_for(lambda: f"cannot run {hook}" in y.log(), 10, what="failure logged")
    assert y.proc.alive() and y.status()["ok"] is True
    assert y.state("web01") == "unrecoverable"
    # It is also pointed out at start, before it is needed (an interpreter
    # that is missing shows only when it runs).
    if kind != "bad-interpreter":
        assert re.search(r"warning: hook %s: " % re.escape(str(hook)), y.log())


def test_stop_while_a_hook_runs(sim_factory, yaokid_factory, tmp_path):
    """yaokid stops at once with a hook still running: exit 0, the hook is
    left to finish alone, and nothing of it leaks (checked under ASan)."""
    sim = sim_factory(["web01"])
    hook = write_hook(tmp_path / "slow", "exec sleep 20\n", interp="/bin/sh")
    y = yaokid_factory(sim, {"web01": {}}, glob={"hook": f'"{hook}"'},
                       defaults=FAST).start()
    y.wait_state("web01", "healthy")
    make_unrecoverable(sim, y, "web01")
    m = wait_for(lambda: re.search(r"hook unrecoverable web01 \(pid (\d+)\): started",
                                   y.log()), 10, what="hook started")
    pid = int(m.group(1))
    try:
        assert y.stop() == 0
        assert "left to finish alone" in y.log()
        os.kill(pid, 0)                 # still running: not killed by yaokid
    finally:
        try:
            os.killpg(pid, 9)           # its own process group
        except ProcessLookupError:
            pass


def test_restart_is_not_a_new_entry(sim_factory, yaokid_factory, tmp_path):
    """An unrecoverable domain stays so across a restart of yaokid, and the
    hook does not run again for it."""
    sim = sim_factory(["web01", "clock"])     # clock: a healthy neighbour
    hook = write_hook(tmp_path / "rec", RECORDER)
    y = yaokid_factory(sim, {"web01": {}, "clock": {}}, glob={"hook": f'"{hook}"'},
                       defaults=FAST).start()
    y.wait_state("web01", "healthy")
    make_unrecoverable(sim, y, "web01")
    wait_for(lambda: len(runs(hook)) == 1, 10, what="hook run")
    assert y.stop() == 0
    y.start()
    assert y.state("web01") == "unrecoverable"
    y.wait_state("clock", "healthy")
    y.wait_probes("clock", 8)                 # >= 1.4 s of yaokid's time
    assert len(runs(hook)) == 1
    assert y.state("web01") == "unrecoverable"
    assert y.recoveries("web01") == 0         # none since the restart

"""The mass-failure guard against the real yaokid: when enough probed
domains fail at once, yaokid suspects Dom0 itself, holds every recovery,
runs the hook once with mass-failure and releases the hold by itself."""
import json
import os
import re
import socket

from conftest import hook_runs, wait_for

HOOK = r'''#!/usr/bin/python3
import json, os, sys
with open(sys.argv[0] + ".runs", "a") as f:
    f.write(json.dumps({"argv": sys.argv[1:], "event": os.environ.get("YAOKI_EVENT"),
                        "domain": os.environ.get("YAOKI_DOMAIN"),
                        "reason": os.environ.get("YAOKI_REASON"),
                        "recoveries": os.environ.get("YAOKI_RECOVERIES"),
                        "stdin": sys.stdin.read()}) + "\n")
'''


def guests(sim, names, behaviour):
    """Sets every guest's behaviour at once: all requests on one connection
    to simhv, so that they fail together, as when Dom0's bridge goes down."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sim.sock)
    try:
        s.sendall(b"".join(json.dumps({"id": i, "cmd": "guest", "args": [n, behaviour]})
                           .encode() + b"\n" for i, n in enumerate(names)))
        buf = b""
        while buf.count(b"\n") < len(names):
            chunk = s.recv(65536)
            assert chunk, "simhv closed"
            buf += chunk
    finally:
        s.close()
    replies = [json.loads(l) for l in buf.splitlines()]
    assert all(r["ok"] for r in replies), replies


def recoveries(y):
    """Recoveries of every domain: finished (ok or failed) or running."""
    return y.recoveries() + y.recoveries_running()


def start_host(sim_factory, yaokid_factory, tmp_path, n, glob=None, defaults=None):
    names = [f"g{i:02d}" for i in range(n)]
    sim = sim_factory(names)
    hook = tmp_path / "hook"
    hook.write_text(HOOK)
    os.chmod(hook, 0o755)
    g = {"hook": f'"{hook}"', "mass_failure_fraction": "0.5", "mass_failure_min": "3"}
    g.update(glob or {})
    d = {"interval": "300ms", "timeout": "200ms", "failures": "3", "start_period": "2s"}
    d.update(defaults or {})
    y = yaokid_factory(sim, {nm: {} for nm in names}, glob=g, defaults=d).start()
    wait_for(lambda: all(x["state"] == "healthy" for x in y.status()["domains"]),
             30, what="all healthy")
    return sim, y, names, hook


def test_all_fifty_refuse_hold_then_release(sim_factory, yaokid_factory, tmp_path):
    sim, y, names, hook = start_host(sim_factory, yaokid_factory, tmp_path, 50)
    ids = {n: sim.domid(n) for n in names}
    assert y.status()["hold"] is False
    assert y.metric("yaoki_hold") == 0
    guests(sim, names, "refuse")
    wait_for(lambda: y.status()["hold"], 10, what="hold")
    # Every domain goes past `failures` while held: none is recovered.
    wait_for(lambda: all(d["consecutive_failures"] >= 6
                         for d in y.status()["domains"]), 20, what="6 failures each")
    st = y.status()
    assert st["hold"] is True
    assert all(d["state"] == "failing" for d in st["domains"]), \
        {d["name"]: d["state"] for d in st["domains"]}
    assert recoveries(y) == 0
    assert {n: sim.domid(n) for n in names} == ids
    assert y.metric("yaoki_hold") == 1
    assert "hold: YES" in y.ctl("status", json_out=False).stdout
    assert "mass failure:" in y.log()
    # The hook ran exactly once, with mass-failure and "-".
    wait_for(lambda: hook_runs(hook), 10, what="hook run")
    y.wait_probes(names[0], 4)               # >= 0.9 s of yaokid's time, held
    assert y.metric("yaoki_hold") == 1
    runs = hook_runs(hook)
    assert len(runs) == 1, runs
    r = runs[0]
    assert r["argv"] == ["mass-failure", "-"]
    assert (r["event"], r["domain"], r["recoveries"]) == ("mass-failure", "-", "0")
    assert re.search(r"\d+ of 50", r["reason"]) and len(r["reason"]) <= 200
    stdin = json.loads(r["stdin"])
    assert stdin["ok"] is True and stdin["hold"] is True

    # Restore: the hold is released by itself, and nothing is recovered.
    guests(sim, names, "ok")
    wait_for(lambda: not y.status()["hold"], 15, what="hold released")
    wait_for(lambda: all(d["state"] == "healthy" for d in y.status()["domains"]),
             15, what="all healthy again")
    y.wait_probes(names[0], 4)               # >= 0.9 s of yaokid's time
    assert recoveries(y) == 0
    assert {n: sim.domid(n) for n in names} == ids
    assert y.metric("yaoki_hold") == 0
    assert "mass failure over" in y.log()
    assert len(hook_runs(hook)) == 1        # no hook for the release


def test_second_mass_failure_runs_the_hook_again(sim_factory, yaokid_factory, tmp_path):
    sim, y, names, hook = start_host(sim_factory, yaokid_factory, tmp_path, 6)
    for rnd in (1, 2):
        guests(sim, names, "refuse")
        wait_for(lambda: y.status()["hold"], 10, what="hold")
        wait_for(lambda: len(hook_runs(hook)) == rnd, 10, what=f"hook run {rnd}")
        guests(sim, names, "ok")
        wait_for(lambda: not y.status()["hold"], 15, what="hold released")
        wait_for(lambda: all(d["state"] == "healthy" for d in y.status()["domains"]),
                 15, what="healthy again")
    assert len(hook_runs(hook)) == 2
    assert recoveries(y) == 0


def test_few_failures_are_recovered_normally(sim_factory, yaokid_factory, tmp_path):
    """2 of 10 failing is below both thresholds: no hold, normal recovery."""
    sim, y, names, hook = start_host(sim_factory, yaokid_factory, tmp_path, 10)
    bad = names[:2]
    old = {n: sim.domid(n) for n in bad}
    for n in bad:
        sim.ctl("guest", n, "refuse")
    for n in bad:
        wait_for(lambda n=n: sim.domid(n) not in (None, old[n]), 20, what=f"{n} recovered")
    assert y.status()["hold"] is False
    assert "mass failure" not in y.log()
    assert hook_runs(hook) == []
    # The two re-created, none else: wait for both to be counted as done.
    wait_for(lambda: all(y.recoveries(n, "ok") == 1 for n in bad), 20,
             what="both recoveries counted")
    assert recoveries(y) == 2


def test_min_guards_small_hosts(sim_factory, yaokid_factory, tmp_path):
    """2 of 2 failing is the whole host but below mass_failure_min = 3."""
    sim, y, names, hook = start_host(sim_factory, yaokid_factory, tmp_path, 2)
    old = {n: sim.domid(n) for n in names}
    for n in names:
        sim.ctl("guest", n, "refuse")
    for n in names:
        wait_for(lambda n=n: sim.domid(n) not in (None, old[n]), 20, what=f"{n} recovered")
    assert "mass failure" not in y.log()
    assert hook_runs(hook) == []


def test_paused_domains_do_not_count(sim_factory, yaokid_factory, tmp_path):
    """Only probed domains count: 3 failing of 4 probed (6 configured, 2 in
    maintenance) is a mass failure with fraction 0.7."""
    sim, y, names, hook = start_host(sim_factory, yaokid_factory, tmp_path, 6,
                                glob={"mass_failure_fraction": "0.7"})
    for n in names[4:]:
        assert y.ctl("pause", n).returncode == 0
    ids = {n: sim.domid(n) for n in names}
    guests(sim, names[:3], "refuse")
    wait_for(lambda: y.status()["hold"], 10, what="hold (3 of 4 probed)")
    assert re.search(r"3 of 4 probed domains failing", y.log())
    y.wait_probes(names[0], 6)               # >= 1.5 s of yaokid's time
    assert y.metric("yaoki_hold") == 1
    assert recoveries(y) == 0
    assert {n: sim.domid(n) for n in names} == ids


def test_report_only_domains_do_not_make_a_mass_failure(sim_factory, yaokid_factory):
    """Three on_failure=none domains failing for good plus one real failure:
    counted, they would hold the real one's recovery for ever (4 of 4)."""
    names = ["web01", "web02", "web03", "web04"]
    sim = sim_factory(names)
    none = {"on_failure": '"none"'}
    y = yaokid_factory(sim, {"web01": none, "web02": none, "web03": none, "web04": {}},
                       glob={"mass_failure_min": "3", "mass_failure_fraction": "0.5"},
                       defaults={"failures": "3"}).start()
    for n in names:
        y.wait_state(n, "healthy")
    old = sim.domid("web04")
    guests(sim, names, "refuse")
    wait_for(lambda: sim.domid("web04") not in (None, old), 20, what="web04 recreated")
    assert y.status()["hold"] is False
    assert "mass failure" not in y.log()
    for n in ("web01", "web02", "web03"):
        assert y.state(n) == "failing"
        assert y.recoveries(n) == 0
    assert y.recoveries_running() == 0


def test_a_guest_flapping_at_the_threshold_does_not_loop_the_hook(
        sim_factory, yaokid_factory, tmp_path):
    """3 of 6 failing enters the hold; one of them answering again (2 of 6)
    is not clearly below the threshold, so the hold stays and its flapping
    runs the hook no more (the hold ends below half: 1 of 6)."""
    sim, y, names, hook = start_host(sim_factory, yaokid_factory, tmp_path, 6)
    guests(sim, names[:3], "refuse")
    wait_for(lambda: y.status()["hold"], 10, what="hold")
    wait_for(lambda: len(hook_runs(hook)) == 1, 10, what="hook run")
    flapper = names[2]
    for _ in range(3):
        sim.ctl("guest", flapper, "ok")
        wait_for(lambda: y.dom(flapper)["consecutive_failures"] == 0, 10,
                 what="flapper answers")
        y.wait_probes(names[0], 2)
        assert y.status()["hold"] is True        # 2 of 6: still held
        sim.ctl("guest", flapper, "refuse")
        wait_for(lambda: y.dom(flapper)["consecutive_failures"] > 0, 10,
                 what="flapper fails")
        y.wait_probes(names[0], 2)
    assert len(hook_runs(hook)) == 1
    assert y.log().count("mass failure over") == 0
    assert recoveries(y) == 0
    guests(sim, names[1:3], "ok")                # 1 of 6: clearly below
    wait_for(lambda: not y.status()["hold"], 15, what="hold released")


def test_hook_runs_are_rate_limited(sim_factory, yaokid_factory, tmp_path):
    """Guests that all fail and all recover in turn: the hook runs at most
    mass_failure_hook_max times within the window; the others are logged
    and counted in yaoki_hook_runs_suppressed_total, not run."""
    sim, y, names, hook = start_host(sim_factory, yaokid_factory, tmp_path, 6,
                                     glob={"mass_failure_hook_max": "2",
                                           "mass_failure_hook_window": "1h"})
    series = 'yaoki_hook_runs_suppressed_total{event="mass-failure"}'
    assert y.metric(series) == 0
    for rnd in (1, 2, 3, 4):
        guests(sim, names, "refuse")
        wait_for(lambda: y.status()["hold"], 10, what=f"hold {rnd}")
        guests(sim, names, "ok")
        wait_for(lambda: not y.status()["hold"], 15, what=f"release {rnd}")
    y.wait_probes(names[0], 3)                   # a late hook would show now
    assert len(hook_runs(hook)) == 2
    assert y.metric(series) == 2
    assert y.count("mass failure: hook not run: it ran 2 times within 1h") == 2
    assert recoveries(y) == 0

"""yaokid's state_dir across restarts: what survives (captured
configuration, recovery history, unrecoverable and paused), and what
happens to a file that cannot be trusted (moved aside, one log line, a
fresh start; never a refusal to start)."""
import json
import os
import stat

import pytest

from conftest import wait_for

FAST = {"failures": "2", "start_period": "1s", "backoff": "200ms",
        "backoff_max": "400ms"}


def rec(y, name):
    return json.loads((y.state_dir / f"{name}.state.json").read_text())


def aside(y, name, kind="state"):
    return sorted(p.name for p in y.state_dir.iterdir()
                  if p.name.startswith(f"{name}.{kind}.json.corrupt-"))


def restart(y, kill=False):
    if kill:
        y.proc.kill9()
        y.proc.log.close()
    else:
        assert y.stop() == 0
    return y.start()


CORRUPT = {
    "truncated": lambda good: good[: len(good) // 2],
    "empty": lambda good: "",
    "not json": lambda good: "this is not json {",
    "nul bytes": lambda good: good[:10] + "\0\0\0" + good[10:],
    "trailing junk": lambda good: good + "}{",
    "foreign domain": lambda good: good.replace('"web01"', '"other"'),
    "foreign format": lambda good: good.replace('"format":1', '"format":99'),
    "wrong types": lambda good: good.replace('"history":[', '"history":["x",'),
    "an array": lambda good: "[1, 2, 3]",
}


@pytest.mark.parametrize("kind", sorted(CORRUPT))
def test_untrusted_state_file_is_moved_aside(sim_factory, yaokid_factory, kind):
    sim = sim_factory(["web01", "web02"])
    y = yaokid_factory(sim, {"web01": {}, "web02": {}},
                       defaults={"max_recoveries": "5"}).start()
    y.wait_state("web01", "healthy")
    sim.ctl("crash", "web01")       # gives web01 a history worth keeping
    wait_for(lambda: y.dom("web01")["recoveries_in_window"] == 1
             and y.state("web01") == "healthy", 20, what="one recovery")
    assert y.stop() == 0
    path = y.state_dir / "web01.state.json"
    good = path.read_text()
    assert '"format":1' in good and '"history":[' in good
    path.write_text(CORRUPT[kind](good))
    cut = len(y.log())
    y.start()
    d = y.wait_state("web01", "healthy")
    assert d["recoveries_in_window"] == 0          # started fresh
    assert y.wait_state("web02", "healthy")
    moved = aside(y, "web01")
    assert len(moved) == 1, moved
    assert (y.state_dir / moved[0]).read_text() == CORRUPT[kind](good)
    lines = [l for l in y.log()[cut:].splitlines() if "web01.state.json" in l]
    assert len(lines) == 1, lines
    assert "moved to" in lines[0] and "starting fresh" in lines[0]
    # Its next save is a good file again.
    sim.ctl("crash", "web01")
    wait_for(lambda: y.dom("web01")["recoveries_in_window"] == 1, 20, what="recovery")
    y.wait_record("web01", lambda r: r["domain"] == "web01")


def test_unreadable_state_entry_does_not_stop_the_start(sim_factory, yaokid_factory):
    sim = sim_factory(["web01"])
    y = yaokid_factory(sim, {"web01": {}})
    y.state_dir.mkdir()
    (y.state_dir / "web01.state.json").mkdir()     # a directory, not a file
    y.start()
    y.wait_state("web01", "healthy")
    assert len(aside(y, "web01")) == 1
    assert "moved to" in y.log()


def test_corrupt_captured_configuration_is_moved_aside(sim_factory, yaokid_factory):
    sim = sim_factory(["web01"])
    y = yaokid_factory(sim, {"web01": {}}).start()
    y.wait_state("web01", "healthy")
    cfg = y.state_dir / "web01.domain.json"
    wait_for(cfg.exists, 10, what="captured configuration")
    assert y.stop() == 0
    cfg.write_text('{"name": "web01", "uu')
    y.start()
    y.wait_state("web01", "healthy")
    assert len(aside(y, "web01", "domain")) == 1
    # Captured again from the running domain.
    wait_for(lambda: cfg.exists() and json.loads(cfg.read_text())["name"] == "web01",
             10, what="captured again")


def test_missing_state_is_a_fresh_start_without_noise(sim_factory, yaokid_factory):
    sim = sim_factory(["web01"])
    y = yaokid_factory(sim, {"web01": {}}).start()
    y.wait_state("web01", "healthy")
    assert "moved to" not in y.log()
    assert "starting fresh" not in y.log()


def test_files_are_private_and_written_atomically(sim_factory, yaokid_factory):
    sim = sim_factory(["web01"])
    y = yaokid_factory(sim, {"web01": {}}, defaults=FAST).start()
    y.wait_state("web01", "healthy")
    sim.ctl("crash", "web01")
    wait_for(lambda: y.dom("web01")["recoveries_in_window"] == 1, 20, what="recovery")
    y.wait_state("web01", "healthy")
    names = sorted(p.name for p in y.state_dir.iterdir() if not p.name.endswith(".sock"))
    assert "web01.state.json" in names and "web01.domain.json" in names
    assert not [n for n in names if ".tmp." in n], names
    for n in ("web01.state.json", "web01.domain.json"):
        assert stat.S_IMODE(os.stat(y.state_dir / n).st_mode) == 0o600
    # A temporary file left by a crash in the middle of a write is removed.
    stale = y.state_dir / "web01.state.json.tmp.99999"
    stale.write_text('{"half": ')
    restart(y, kill=True)
    y.wait_state("web01", "healthy")
    assert not stale.exists()
    assert rec(y, "web01")["history"]          # the real file was untouched


@pytest.mark.parametrize("kill", [False, True], ids=["sigterm", "kill9"])
def test_unrecoverable_survives_a_restart(sim_factory, yaokid_factory, tmp_path, kill):
    sim = sim_factory(["web01", "web02"])
    hook_out = tmp_path / "hook.out"
    hook = tmp_path / "hook.sh"
    hook.write_text("#!/bin/sh\necho \"$1 $2\" >> %s\ncat > /dev/null\n" % hook_out)
    os.chmod(hook, 0o755)
    y = yaokid_factory(sim, {"web01": {}, "web02": {}}, glob={"hook": f'"{hook}"'},
                       defaults=dict(FAST, max_recoveries="1")).start()
    y.wait_state("web01", "healthy")
    sim.ctl("guest", "web01", "error", "sticky")
    y.wait_state("web01", "unrecoverable", timeout=30)
    wait_for(lambda: hook_out.exists() and hook_out.read_text(), 10, what="hook")
    domid = sim.domid("web01")
    y.wait_record("web01", lambda r: r["unrecoverable"] is True)
    restart(y, kill=kill)
    d = y.wait_state("web01", "unrecoverable")
    assert d["domid"] == domid
    y.wait_state("web02", "healthy")
    y.wait_probes("web02", 7)                     # probes would have failed by now
    assert y.state("web01") == "unrecoverable"
    assert sim.domid("web01") == domid            # left alone
    assert y.probes("web01") == 0                 # not even probed
    assert y.recoveries("web01") == 0 and y.recoveries_running() == 0
    assert hook_out.read_text().splitlines() == ["unrecoverable web01"]
    # Only reset (or resume) leaves it.
    sim.ctl("guest", "web01", "ok")
    assert y.ctl("reset", "web01").returncode == 0
    y.wait_state("web01", "healthy")
    y.wait_record("web01", lambda r: r["unrecoverable"] is False)


@pytest.mark.parametrize("kill", [False, True], ids=["sigterm", "kill9"])
def test_maintenance_pause_survives_a_restart(sim_factory, yaokid_factory, kill):
    sim = sim_factory(["web01", "clock"])         # clock: a healthy neighbour
    y = yaokid_factory(sim, {"web01": {}, "clock": {}}, defaults=FAST).start()
    y.wait_state("web01", "healthy")
    assert y.ctl("pause", "web01").returncode == 0
    y.wait_state("web01", "paused")
    sim.ctl("guest", "web01", "refuse")
    domid = sim.domid("web01")
    restart(y, kill=kill)
    y.wait_state("web01", "paused")
    sim.crash("web01")                     # not even a crash is acted on
    y.wait_state("clock", "healthy")
    y.wait_probes("clock", 7)                     # >= 1.2 s of yaokid's time
    assert y.state("web01") == "paused"
    assert sim.domains()["web01"]["domid"] == domid
    assert y.recoveries("web01") == 0 and y.recoveries_running() == 0
    last = y.dom("web01")["last_probe"]
    assert last is None                           # never probed since the restart
    assert y.ctl("resume", "web01").returncode == 0
    # The crashed domain is recovered once resumed.
    wait_for(lambda: sim.domid("web01") not in (None, domid), 20, what="recovery")
    y.wait_state("web01", "healthy")


def test_recovery_window_keeps_counting_across_restarts(sim_factory, yaokid_factory):
    sim = sim_factory(["web01"])
    y = yaokid_factory(sim, {"web01": {}},
                       defaults=dict(FAST, max_recoveries="2", recovery_window="1h")).start()
    y.wait_state("web01", "healthy")
    sim.ctl("crash", "web01")
    wait_for(lambda: y.dom("web01")["recoveries_in_window"] == 1
             and y.state("web01") == "healthy", 20, what="first recovery")
    restart(y, kill=True)
    d = y.wait_state("web01", "healthy")
    assert d["recoveries_in_window"] == 1
    sim.ctl("crash", "web01")
    wait_for(lambda: y.dom("web01")["recoveries_in_window"] == 2
             and y.state("web01") == "healthy", 20, what="second recovery")
    restart(y)
    assert y.wait_state("web01", "healthy")["recoveries_in_window"] == 2
    domid = sim.domid("web01")
    sim.ctl("crash", "web01")
    d = y.wait_state("web01", "unrecoverable")
    assert "recovery limit reached: 2 recoveries within 1h" in (d.get("reason") or "") or \
        "recovery limit reached: 2 recoveries within 1h" in y.log()
    assert sim.domains()["web01"]["domid"] == domid


def test_captured_configuration_recreates_a_vanished_domain(sim_factory, yaokid_factory):
    """The configuration captured in an earlier run re-creates a domain that
    vanished while yaokid was down."""
    sim = sim_factory(["web01", "clock"])        # clock: a healthy neighbour
    y = yaokid_factory(sim, {"web01": {}, "clock": {}}, defaults=FAST).start()
    y.wait_state("web01", "healthy")
    cfg = y.state_dir / "web01.domain.json"
    wait_for(cfg.exists, 10, what="captured configuration")
    assert y.stop() == 0
    sim.ctl("destroy", "web01")                  # an operator's xl destroy
    wait_for(lambda: "web01" not in sim.domains(), 10, what="destroyed")
    y.start()
    y.wait_state("web01", "absent")              # the operator's intent holds
    y.wait_state("clock", "healthy")
    y.wait_probes("clock", 6)                    # >= 1 s of yaokid's time
    assert y.state("web01") == "absent"
    assert "web01" not in sim.domains()
    assert y.recoveries("web01") == 0 and y.recoveries_running() == 0
    assert y.ctl("recover", "web01").returncode == 0
    y.wait_state("web01", "healthy")
    assert "web01" in sim.domains()


def _times(log, needle):
    out = []
    for line in log.splitlines():
        if needle in line:
            h, m, s = line.split()[0].split(":")
            out.append(int(h) * 3600 + int(m) * 60 + float(s))
    return out


def test_intent_of_failed_creates_waits_out_the_backoff(sim_factory, yaokid_factory):
    """Between two attempts the intent record stays (the domain is owed),
    but it must not start the next attempt before the backoff ends."""
    sim = sim_factory(["web01"])
    y = yaokid_factory(sim, {"web01": {}},
                       defaults=dict(FAST, backoff="1500ms", backoff_max="3s",
                                     max_recoveries="5")).start()
    y.wait_state("web01", "healthy")
    sim.ctl("fail-create", "web01", "2")
    sim.ctl("crash", "web01")
    y.wait_state("web01", "backoff")
    y.wait_record("web01", lambda r: r["intent"] is not None)   # still owed
    wait_for(lambda: "web01" in sim.domains(), 20, what="third create")
    y.wait_state("web01", "healthy")
    t = _times(y.log(), "web01: creating the domain again")
    assert len(t) == 3, t
    assert t[1] - t[0] >= 1.4 and t[2] - t[1] >= 2.9, t
    y.wait_record("web01", lambda r: r["intent"] is None)
    assert y.dom("web01")["recoveries_in_window"] == 3


def test_intent_of_a_domain_dropped_by_reload_is_cleared(sim_factory, yaokid_factory):
    """A domain dropped by a reload in the middle of its recovery is still
    created again, its intent record is cleared, and adding it back later
    adopts it (no second recovery)."""
    sim = sim_factory(["web01", "web02"])
    y = yaokid_factory(sim, {"web01": {}, "web02": {}}, defaults=FAST).start()
    y.wait_state("web02", "healthy")
    old = sim.domid("web02")
    sim.ctl("delay", "web02", "destroy", "1.5")
    assert y.ctl("recover", "web02").returncode == 0
    wait_for(lambda: "web02: destroying domain" in y.log(), 10, what="destroy begun")
    y.write_conf({"web01": {}}, defaults=FAST)
    assert y.ctl("reload").returncode == 0
    wait_for(lambda: sim.domid("web02") not in (None, old), 15, what="created again")
    new = sim.domid("web02")
    wait_for(lambda: rec(y, "web02")["intent"] is None, 10, what="intent cleared")
    y.write_conf({"web01": {}, "web02": {}}, defaults=FAST)
    assert y.ctl("reload").returncode == 0
    d = y.wait_state("web02", "healthy")
    assert d["domid"] == new
    y.wait_probes("web01", 6)                    # >= 1 s of yaokid's time
    assert sim.domid("web02") == new
    assert y.recoveries("web02") == 0 and y.recoveries_running() == 0

"""End-to-end recovery on the simulated hypervisor: real yaokid, real
yaoki-simhv, real HTTP on loopback."""
import os
import re
import time

import pytest

from conftest import stays, wait_for


def recovered(y, name):
    """name's recoveries: finished (ok or failed) plus any running."""
    return y.recoveries(name) + y.recoveries_running()


def failed_probes_before_destroy(y, name):
    """Number of failed-probe lines for name between its last healthy state
    and its first destroy, from yaokid's -v log."""
    log = y.log()
    cut = log.index(f"{name}: destroying domain")
    before = log[:cut]
    start = max(before.rfind(f"{name}: starting -> healthy"), 0)
    return before[start:].count(f"{name}: probe failed")


@pytest.mark.parametrize("behaviour", ["hang", "refuse", "error", "body"])
def test_broken_guest_is_recreated_after_exactly_failures(sim_factory, yaokid_factory, behaviour):
    sim = sim_factory(["web01", "web02"])
    keys = {}
    if behaviour == "body":
        keys["expect_body"] = '"this text is not served"'
    y = yaokid_factory(sim, {"web01": {}, "web02": {}},
                       defaults={"failures": "3"}).start()
    y.wait_state("web01", "healthy")
    y.wait_state("web02", "healthy")
    old = sim.domid("web01")
    other = sim.domid("web02")
    if behaviour == "body":
        y.write_conf({"web01": keys, "web02": {}}, defaults={"failures": "3"})
        assert y.ctl("reload").returncode == 0
    else:
        sim.ctl("guest", "web01", behaviour)
    wait_for(lambda: sim.domid("web01") not in (None, old), 20, what="new domid")
    y.wait_state("web01", ("starting", "healthy"))
    assert failed_probes_before_destroy(y, "web01") == 3
    assert "3 consecutive failed probes" in y.log()
    if behaviour != "body":
        y.wait_state("web01", "healthy")
    assert sim.domid("web01") > old
    assert sim.domid("web02") == other       # the healthy neighbour was left alone
    assert y.recoveries("web02") == 0
    assert y.recoveries("web01", "ok") == 1


def test_guest_recovering_before_threshold_is_left_alone(sim_factory, yaokid_factory):
    sim = sim_factory(["web01"])
    y = yaokid_factory(sim, {"web01": {}}, defaults={"failures": "6"}).start()
    y.wait_state("web01", "healthy")
    old = sim.domid("web01")
    sim.ctl("guest", "web01", "error")
    wait_for(lambda: y.dom("web01")["consecutive_failures"] >= 2, 10, what="2 failures")
    sim.ctl("guest", "web01", "ok")
    y.wait_state("web01", "healthy")
    y.wait_probes("web01", 6)                 # as many as `failures`
    d = y.dom("web01")
    assert d["state"] == "healthy" and d["consecutive_failures"] == 0, d
    assert sim.domid("web01") == old
    assert recovered(y, "web01") == 0


def test_start_period_is_honoured(sim_factory, yaokid_factory):
    sim = sim_factory(["web01"])
    sim.ctl("guest", "web01", "hang")
    y = yaokid_factory(sim, {"web01": {}},
                       defaults={"failures": "2", "start_period": "2s"})
    old = sim.domid("web01")
    t0 = time.monotonic()
    y.start()

    # Failed probes inside the start period do not count: at every look
    # in the first 1.5 s (the start period is 2 s), it is starting with
    # no failure counted.
    def not_counted():
        d = y.dom("web01")
        assert d["state"] in ("absent", "starting"), d
        assert d["consecutive_failures"] == 0, d
        return True
    stays(not_counted, 1.5 - (time.monotonic() - t0), step=0.1, min_checks=1,
          what="starting without counted failures")
    wait_for(lambda: sim.domid("web01") not in (None, old), 15, what="recreate")
    assert time.monotonic() - t0 >= 2.0
    assert failed_probes_before_destroy(y, "web01") >= 2


def test_crash_is_acted_on_from_the_event(sim_factory, yaokid_factory):
    sim = sim_factory(["web01"])
    # The probe threshold would need 50 x 200 ms = 10 s.
    y = yaokid_factory(sim, {"web01": {}}, defaults={"failures": "50"}).start()
    y.wait_state("web01", "healthy")
    old = sim.domid("web01")
    t0 = time.monotonic()
    sim.ctl("crash", "web01")
    wait_for(lambda: sim.domid("web01") not in (None, old), 10, what="recreate")
    elapsed = time.monotonic() - t0
    assert elapsed < 5.0, elapsed
    assert "web01: domain %d shut down (crash)" % old in y.log()
    y.wait_state("web01", "healthy")
    assert y.dom("web01")["last_recovery"]["result"] == "ok"


def test_watchdog_counts_as_crash_and_on_crash_none_does_not(sim_factory, yaokid_factory):
    sim = sim_factory(["web01", "web02"])
    y = yaokid_factory(sim, {"web01": {}, "web02": {"on_crash": '"none"'}},
                       defaults={"failures": "50"}).start()
    y.wait_state("web02", "healthy")
    old = sim.domid("web02")
    # Without its monitor (whose on_crash=destroy would destroy it),
    # yaoki.conf's on_crash alone decides.
    sim.ctl("monitor", "web02", "kill")
    sim.ctl("crash", "web02")
    y.wait_state("web02", "absent")
    y.wait_probes("web01", 6)                          # >= 1 s of yaokid's time
    assert y.state("web02") == "absent"
    assert sim.domains()["web02"]["domid"] == old     # left as it was
    assert recovered(y, "web02") == 0


def test_guest_reboot_and_poweroff_of_a_domain_yaokid_created(sim_factory, yaokid_factory):
    sim = sim_factory(["web01", "clock"])     # clock: a healthy neighbour
    y = yaokid_factory(sim, {"web01": {}, "clock": {}}, defaults={"failures": "50"}).start()
    y.wait_state("web01", "healthy")
    first = sim.domid("web01")
    sim.ctl("crash", "web01")                 # yaokid re-creates it: now its own
    wait_for(lambda: sim.domid("web01") not in (None, first), 10, what="recreate")
    y.wait_state("web01", "healthy")
    second = sim.domid("web01")
    assert sim.domains()["web01"]["monitor"] is False
    # A guest-initiated reboot: nobody but yaokid acts on it.
    sim.ctl("shutdown", "web01", "reboot")
    wait_for(lambda: sim.domid("web01") not in (None, second), 10, what="reboot recreate")
    y.wait_state("web01", "healthy")
    third = sim.domid("web01")
    # A guest-initiated poweroff: destroyed and left absent.
    sim.ctl("shutdown", "web01", "poweroff")
    y.wait_state("web01", "absent")
    wait_for(lambda: "web01" not in sim.domains(), 10, what="destroyed")
    n = recovered(y, "web01")
    y.wait_probes("clock", 6)                 # >= 1 s of yaokid's time
    assert y.state("web01") == "absent"
    assert "web01" not in sim.domains()
    assert recovered(y, "web01") == n
    assert third > second


def test_guest_reboot_of_a_monitored_domain_is_left_to_its_monitor(sim_factory, yaokid_factory):
    sim = sim_factory(["web01"])
    y = yaokid_factory(sim, {"web01": {}}, defaults={"failures": "50"}).start()
    y.wait_state("web01", "healthy")
    old = sim.domid("web01")
    sim.ctl("shutdown", "web01", "reboot")     # simhv's "xl monitor" restarts it
    wait_for(lambda: sim.domid("web01") not in (None, old), 10, what="monitor restart")
    y.wait_state("web01", "healthy")
    assert recovered(y, "web01") == 0


def test_operator_destroy_makes_it_absent(sim_factory, yaokid_factory):
    sim = sim_factory(["web01", "clock"])     # clock: a healthy neighbour
    y = yaokid_factory(sim, {"web01": {}, "clock": {}}, defaults={"failures": "2"}).start()
    y.wait_state("web01", "healthy")
    y.wait_state("clock", "healthy")
    sim.ctl("destroy", "web01")
    d = y.wait_state("web01", "absent")
    assert d["domid"] is None
    y.wait_probes("clock", 7)                 # >= 1.2 s of yaokid's time
    assert y.state("web01") == "absent"
    assert "web01" not in sim.domains()
    assert recovered(y, "web01") == 0


def test_sticky_broken_guest_walks_through_backoff_to_unrecoverable(sim_factory, yaokid_factory, tmp_path):
    sim = sim_factory(["web01", "clock"])     # clock: a healthy neighbour
    hook_out = tmp_path / "hook.out"
    hook = tmp_path / "hook.sh"
    hook.write_text("#!/bin/sh\necho \"$1 $2 $YAOKI_RECOVERIES $YAOKI_REASON\" >> %s\ncat > /dev/null\n" % hook_out)
    os.chmod(hook, 0o755)
    y = yaokid_factory(sim, {"web01": {}, "clock": {}},
                       glob={"hook": f'"{hook}"'},
                       defaults={"failures": "2", "start_period": "0s",
                                 "max_recoveries": "2", "backoff": "500ms"}).start()
    y.wait_state("web01", "healthy")
    y.wait_state("clock", "healthy")
    sim.ctl("guest", "web01", "error", "sticky")
    d = y.wait_state("web01", "unrecoverable", timeout=30)
    assert d["recoveries_in_window"] == 2
    assert recovered(y, "web01") == 2
    transitions = [l for l in y.log().splitlines() if " -> " in l or "destroying" in l]
    assert any("-> backoff" in l for l in transitions), "\n".join(transitions)
    wait_for(lambda: hook_out.exists() and hook_out.read_text(), 10, what="hook output")
    wait_for(lambda: re.search(r"hook unrecoverable web01 \(pid \d+\): exited 0", y.log()),
             10, what="hook exit logged")
    y.wait_probes("clock", 6)                 # >= 1 s of yaokid's time
    lines = hook_out.read_text().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("unrecoverable web01 2 recovery limit reached")
    # It stays unrecoverable: no more recoveries.
    y.wait_probes("clock", 6)
    assert recovered(y, "web01") == 2
    assert y.state("web01") == "unrecoverable"


def test_status_json_and_table(sim_factory, yaokid_factory):
    sim = sim_factory(["web01", "web02"])
    y = yaokid_factory(sim, {"web01": {}, "web02": {}}).start()
    y.wait_state("web01", "healthy")
    y.wait_state("web02", "healthy")
    st = y.status()
    assert st["ok"] is True and st["hold"] is False
    assert st["version"] == "0.1.0"
    names = [d["name"] for d in st["domains"]]
    assert names == ["web01", "web02"]
    d = st["domains"][0]
    assert d["domid"] == sim.domid("web01")
    assert d["last_probe"]["ok"] is True and d["last_probe"]["http_status"] == 200
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", d["last_probe"]["at"])
    one = y.status("web02")
    assert [x["name"] for x in one["domains"]] == ["web02"]
    r = y.ctl("status", "web09")
    assert r.returncode == 1 and "unknown domain: web09" in r.stderr
    table = y.ctl("status", json_out=False)
    assert table.returncode == 0
    assert re.search(r"web01\s+%d\s+healthy" % sim.domid("web01"), table.stdout)
    assert y.ctl("version", json_out=False).stdout.strip().endswith("0.1.0")


def test_on_failure_reboot_tries_a_graceful_reboot_first(sim_factory, yaokid_factory):
    sim = sim_factory(["web01"])
    y = yaokid_factory(sim, {"web01": {"on_failure": '"reboot"'}},
                       defaults={"failures": "3", "start_period": "3s"}).start()
    y.wait_state("web01", "healthy")
    old = sim.domid("web01")
    sim.ctl("guest", "web01", "error")        # a reboot cures it (not sticky)
    # simhv's "xl monitor" restarts the rebooted domain under a new domid.
    wait_for(lambda: sim.domid("web01") not in (None, old), 20, what="rebooted")
    y.wait_state("web01", "healthy")
    assert f"web01: asking domain {old} for a graceful reboot" in y.log()
    assert recovered(y, "web01") == 0


def test_on_failure_reboot_recreates_when_the_reboot_does_not_help(sim_factory, yaokid_factory):
    sim = sim_factory(["web01"])
    y = yaokid_factory(sim, {"web01": {"on_failure": '"reboot"'}},
                       defaults={"failures": "3", "start_period": "2s",
                                 "backoff": "200ms"}).start()
    y.wait_state("web01", "healthy")
    sim.ctl("guest", "web01", "error", "sticky")
    wait_for(lambda: y.recoveries("web01") >= 1, 30, what="recreate after the reboot")
    log = y.log()
    assert log.index("web01: asking domain") < log.index("web01: destroying domain")
    assert "not healthy within start period after reboot" in log

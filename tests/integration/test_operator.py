"""Operator intent and Xen realities: what an operator does by hand is
respected (a destroy or a poweroff leaves the domain absent, a domain
re-created by hand is adopted), a domain paused in Xen is neither probed
nor recovered, and recoveries wait in line behind max_parallel_recoveries."""
import json
import re

from conftest import wait_for

FAST = {"failures": "2", "start_period": "1s", "backoff": "200ms",
        "backoff_max": "400ms"}


def never_recovered(y, name, before=0):
    """name's recoveries (finished, ok or failed) are still `before`, and
    none is running."""
    assert y.recoveries(name) == before
    assert y.recoveries_running() == 0


def test_operator_destroy_of_a_failing_domain_is_not_recreated(sim_factory, yaokid_factory):
    sim = sim_factory(["web01", "web02"])
    y = yaokid_factory(sim, {"web01": {}, "web02": {}},
                       defaults=dict(FAST, failures="20")).start()
    y.wait_state("web01", "healthy")
    sim.ctl("guest", "web01", "error")
    wait_for(lambda: y.dom("web01")["consecutive_failures"] >= 2, 10, what="failing")
    sim.ctl("destroy", "web01")
    d = y.wait_state("web01", "absent")
    assert d["domid"] is None
    y.wait_probes("web02", 7)                  # >= 1.2 s of yaokid's time
    assert y.state("web01") == "absent"
    assert "web01" not in sim.domains()
    never_recovered(y, "web01")
    # ...and stays absent across a restart of yaokid.
    y.stop()
    y.start()
    y.wait_state("web01", "absent")
    y.wait_probes("web02", 7)
    assert y.state("web01") == "absent"
    assert "web01" not in sim.domains()
    never_recovered(y, "web01")
    assert y.state("web02") == "healthy"


def test_guest_poweroff_is_absent_and_not_recreated(sim_factory, yaokid_factory):
    sim = sim_factory(["web01", "clock"])      # clock: a healthy neighbour
    y = yaokid_factory(sim, {"web01": {}, "clock": {}}, defaults=FAST).start()
    y.wait_state("web01", "healthy")
    y.wait_state("clock", "healthy")
    sim.ctl("shutdown", "web01", "poweroff")   # its "xl monitor" destroys it
    y.wait_state("web01", "absent")
    y.wait_probes("clock", 7)                  # >= 1.2 s of yaokid's time
    assert y.state("web01") == "absent"
    assert "web01" not in sim.domains()
    never_recovered(y, "web01")


def test_operator_destroy_during_a_backoff_ends_the_streak(sim_factory, yaokid_factory):
    """yaokid owes a domain it destroyed itself, not one an operator
    destroyed while it waited before its next recovery attempt."""
    sim = sim_factory(["web01", "clock"])      # clock: a healthy neighbour
    y = yaokid_factory(sim, {"web01": {}, "clock": {}},
                       defaults=dict(FAST, backoff="3s", backoff_max="3s",
                                     max_recoveries="5")).start()
    y.wait_state("web01", "healthy")
    y.wait_state("clock", "healthy")
    sim.ctl("guest", "web01", "error", "sticky")
    y.wait_state("web01", "backoff", timeout=20)
    n = y.recoveries("web01")
    assert n >= 1
    sim.ctl("guest", "web01", "ok")
    sim.ctl("destroy", "web01")
    wait_for(lambda: "web01" not in sim.domains(), 10, what="destroyed")
    y.wait_state("web01", "absent")
    # Past the 3 s backoff: 21 probes at 200 ms are >= 4 s of yaokid's time.
    y.wait_probes("clock", 21)
    assert y.state("web01") == "absent"
    assert "web01" not in sim.domains()
    never_recovered(y, "web01", before=n)


def test_xen_paused_domain_is_paused_and_not_probed(sim_factory, yaokid_factory):
    sim = sim_factory(["web01", "web02"])
    y = yaokid_factory(sim, {"web01": {}, "web02": {}}, defaults=FAST).start()
    y.wait_state("web01", "healthy")
    old = sim.domid("web01")
    sim.ctl("pause", "web01")
    y.wait_state("web01", "paused")
    sim.ctl("guest", "web01", "refuse")
    # A probe in flight when it paused may still end (150 ms timeout).
    y.wait_probes("web02", 3)
    n = y.probes("web01")
    y.wait_probes("web02", 11)                 # >= 10 intervals
    assert y.probes("web01") == n
    assert y.state("web01") == "paused"
    assert sim.domid("web01") == old
    never_recovered(y, "web01")
    sim.ctl("guest", "web01", "ok")
    sim.ctl("unpause", "web01")
    y.wait_state("web01", ("starting", "healthy"))
    y.wait_state("web01", "healthy")
    assert sim.domid("web01") == old
    assert y.state("web02") == "healthy"


def test_xen_pause_survives_a_restart_of_yaokid(sim_factory, yaokid_factory):
    sim = sim_factory(["web01", "clock"])      # clock: a healthy neighbour
    y = yaokid_factory(sim, {"web01": {}, "clock": {}}, defaults=FAST).start()
    y.wait_state("web01", "healthy")
    sim.ctl("pause", "web01")
    y.wait_state("web01", "paused")
    y.proc.kill9()
    y.proc.log.close()
    y.start()
    y.wait_state("web01", "paused")
    y.wait_state("clock", "healthy")
    y.wait_probes("clock", 7)                  # >= 1.2 s of yaokid's time
    assert y.state("web01") == "paused"
    assert y.probes("web01") == 0              # never probed since the restart
    never_recovered(y, "web01")
    sim.ctl("unpause", "web01")
    y.wait_state("web01", "healthy")


def test_domain_recreated_by_hand_is_adopted_and_captured_again(sim_factory, yaokid_factory):
    sim = sim_factory(["web01"])
    y = yaokid_factory(sim, {"web01": {}}, defaults=FAST).start()
    y.wait_state("web01", "healthy")
    cfg_file = y.state_dir / "web01.domain.json"
    wait_for(cfg_file.exists, 10, what="captured configuration")
    config = json.loads(sim.ctl("capture", "web01")["config"])
    sim.ctl("destroy", "web01")
    y.wait_state("web01", "absent")
    # The operator creates it again by hand, from a changed configuration.
    config["boot_time_ms"] = 321
    new = sim.ctl("create", json.dumps(config))["domid"]
    d = y.wait_state("web01", "healthy")
    assert d["domid"] == new
    never_recovered(y, "web01")
    wait_for(lambda: json.loads(cfg_file.read_text()).get("boot_time_ms") == 321,
             10, what="configuration captured again")
    assert f"web01: configuration captured from domain {new}" in y.log()
    # The adopted domain is recovered like any other, from the new capture.
    sim.ctl("crash", "web01")
    wait_for(lambda: sim.domid("web01") not in (None, new), 10, what="recovery")
    newer = sim.domid("web01")
    assert json.loads(sim.ctl("capture", "web01")["config"])["boot_time_ms"] == 321
    y.wait_state("web01", "healthy")
    assert y.dom("web01")["domid"] == newer


def test_domain_recreated_by_hand_while_yaokid_was_down(sim_factory, yaokid_factory):
    sim = sim_factory(["web01"])
    y = yaokid_factory(sim, {"web01": {}}, defaults=FAST).start()
    y.wait_state("web01", "healthy")
    config = sim.ctl("capture", "web01")["config"]
    y.stop()
    sim.ctl("destroy", "web01")
    wait_for(lambda: "web01" not in sim.domains(), 10, what="destroyed")
    new = sim.ctl("create", config)["domid"]
    y.start()
    d = y.wait_state("web01", "healthy")
    assert d["domid"] == new
    never_recovered(y, "web01")


def _inflight_max(log, names):
    """The largest number of recoveries between their destroy and their
    result at any point of the log (lines are in order)."""
    running, peak = set(), 0
    for line in log.splitlines():
        m = re.search(r"(web\d+): destroying domain", line)
        if m and m.group(1) in names:
            running.add(m.group(1))
            peak = max(peak, len(running))
        m = re.search(r"(web\d+): (re-created as domain|recovery failed)", line)
        if m:
            running.discard(m.group(1))
    return peak


def test_ten_simultaneous_failures_wait_in_line(sim_factory, yaokid_factory):
    names = [f"web{i:02d}" for i in range(1, 11)]
    sim = sim_factory(names)
    y = yaokid_factory(sim, {n: {} for n in names},
                       glob={"max_parallel_recoveries": "2", "mass_failure_min": "100"},
                       defaults=dict(FAST, failures="50")).start()
    for n in names:
        y.wait_state(n, "healthy")
    before = {n: sim.domid(n) for n in names}
    for n in names:
        sim.ctl("delay", n, "destroy", "0.3")
    # Monitors first (a crash meant for yaokid alone), then the crashes
    # back to back: they must find the recoveries still in line.
    for n in names:
        sim.ctl("monitor", n, "kill")
    for n in names:
        sim.ctl("crash", n)

    def all_back():
        doms = sim.domains()
        return all(n in doms and doms[n]["domid"] != before[n]
                   and doms[n]["state"] == "running" for n in names)
    wait_for(all_back, 40, what="all ten re-created")
    for n in names:
        y.wait_state(n, "healthy")
    log = y.log()
    assert _inflight_max(log, names) == 2
    assert log.count("recovery waits in line") >= 8    # no metric for the queue
    assert sum(y.recoveries(n, "ok") for n in names) == 10
    assert sum(y.recoveries(n, "failed") for n in names) == 0


def test_migrating_domain_is_paused_and_never_recovered(sim_factory, yaokid_factory):
    """xl renames a domain NAME--migratedaway (source) or NAME--incoming
    (destination) while it migrates: yaokid reports it paused, neither
    probes nor recovers it, and owes nothing once it has left."""
    sim = sim_factory(["web01", "clock"])      # clock: a healthy neighbour
    y = yaokid_factory(sim, {"web01": {}, "clock": {}}, defaults=FAST).start()
    y.wait_state("web01", "healthy")
    y.wait_state("clock", "healthy")
    config = json.loads(sim.ctl("capture", "web01")["config"])
    # The source side: the domain goes on under its migration name.
    sim.ctl("destroy", "web01")
    away = dict(config, name="web01--migratedaway")
    moving = sim.ctl("create", json.dumps(away))["domid"]
    d = y.wait_state("web01", "paused")
    assert d["domid"] == moving
    n = y.probes("web01")
    sim.ctl("crash", "web01--migratedaway")     # not even this is acted on
    y.wait_probes("clock", 7)                  # >= 1.2 s of yaokid's time
    assert y.state("web01") == "paused"
    assert y.probes("web01") == n              # not probed while it migrates
    never_recovered(y, "web01")
    # The migration ends: the domain leaves this host; nothing is owed.
    sim.ctl("destroy", "web01--migratedaway")
    y.wait_state("web01", "absent")
    y.wait_probes("clock", 6)                  # >= 1 s of yaokid's time
    assert y.state("web01") == "absent"
    never_recovered(y, "web01")
    # The destination side: an incoming domain, then the real one.
    incoming = sim.ctl("create", json.dumps(dict(config, name="web01--incoming")))["domid"]
    d = y.wait_state("web01", "paused")
    assert d["domid"] == incoming
    sim.ctl("destroy", "web01--incoming")
    arrived = sim.ctl("create", json.dumps(config))["domid"]
    d = y.wait_state("web01", "healthy")
    assert d["domid"] == arrived
    never_recovered(y, "web01")

"""A domain's own xl monitor and its on_crash/on_watchdog/on_reboot against
the real yaokid and yaoki-simhv: yaokid waits for a monitor that restarts
or destroys the domain (never a second creator), leaves a preserved
domain alone, and acts itself when no monitor is alive."""
import json

from conftest import hook_runs, stays, wait_for
from test_hook import RECORDER, write_hook

SLOW = {"failures": "50"}       # probes alone would take 10 s to act


def live(sim, name):
    """The non-dying domains named name, from one simhv list."""
    return [d for d in sim.ctl("list")["domains"]
            if d["name"] == name and d["state"] != "dying"]


def one_copy_until(sim, name, pred, timeout, what):
    """Looks at simhv's list until pred() holds; at every look at most one
    live domain holds name. Returns how many looks found none."""
    empty = [0]

    def look():
        n = len(live(sim, name))
        assert n <= 1, f"{n} live copies of {name}: {sim.ctl('list')}"
        empty[0] += n == 0
        return pred()
    wait_for(look, timeout, what=what)
    return empty[0]


def new_domid(sim, name, old):
    d = sim.domains().get(name)
    return d["domid"] if d and d["domid"] != old and d["state"] == "running" else None


def test_slow_monitor_restart_is_waited_for_and_adopted(sim_factory, yaokid_factory):
    sim = sim_factory(["web01"])
    y = yaokid_factory(sim, {"web01": {}}, defaults=SLOW).start()
    y.wait_state("web01", "healthy")
    old = sim.domid("web01")
    uuid = sim.domains()["web01"]["uuid"]
    sim.ctl("on", "web01", "crash", "restart")
    sim.ctl("delay", "web01", "restart", "4")     # xl create under emulation
    sim.ctl("crash", "web01")
    d = y.wait_state("web01", "paused", timeout=10)
    assert d["reason"] == "crashed; its xl monitor restarts it (on_crash=restart)"
    empty = one_copy_until(sim, "web01", lambda: new_domid(sim, "web01", old), 20,
                           "the monitor's new web01")
    assert empty > 0                  # the name was free for seconds...
    new = new_domid(sim, "web01", old)
    assert sim.domains()["web01"]["uuid"] == uuid
    d = y.wait_state("web01", "healthy")
    assert d["domid"] == new
    log = y.log()
    assert "creating the domain again" not in log  # ...and yaokid never created
    assert "web01: destroying domain" not in log
    assert y.recoveries("web01") == 0
    assert "web01: domain %d: on_crash=restart; its xl monitor is alive" % old in log


def test_monitor_destroy_then_yaokid_recreates(sim_factory, yaokid_factory):
    sim = sim_factory(["web01"])
    y = yaokid_factory(sim, {"web01": {}}, defaults=SLOW).start()
    y.wait_state("web01", "healthy")
    old = sim.domid("web01")
    assert sim.domains()["web01"]["actions"]["on_crash"] == "destroy"   # xl's default
    sim.ctl("crash", "web01")
    wait_for(lambda: new_domid(sim, "web01", old), 15, what="web01 re-created")
    d = y.wait_state("web01", "healthy")
    log = y.log()
    assert "web01: domain %d is gone (destroyed by its xl monitor)" % old in log
    assert "web01: destroying domain %d" % old not in log
    assert log.count("web01: creating the domain again") == 1
    assert d["domid"] == sim.domid("web01")
    assert y.recoveries("web01", "ok") == 1


def test_preserve_is_left_crashed_and_unrecoverable(sim_factory, yaokid_factory, tmp_path):
    sim = sim_factory(["web01", "web02"])
    hook = write_hook(tmp_path / "hook", RECORDER)
    y = yaokid_factory(sim, {"web01": {}, "web02": {}}, defaults=SLOW,
                       glob={"hook": f'"{hook}"'}).start()
    y.wait_state("web01", "healthy")
    old = sim.domid("web01")
    sim.ctl("on", "web01", "crash", "preserve")
    sim.ctl("crash", "web01")
    d = y.wait_state("web01", "unrecoverable", timeout=10)
    assert d["reason"] == "crashed; on_crash=preserve keeps it for debugging"
    wait_for(lambda: hook_runs(hook), 10, what="hook run")
    y.wait_probes("web02", 10)                    # >= 2 s of yaokid's time
    runs = hook_runs(hook)
    assert len(runs) == 1
    assert runs[0]["argv"][1:] == ["unrecoverable", "web01"]
    assert runs[0]["env"]["YAOKI_REASON"] == d["reason"]
    dom = sim.domains()["web01"]
    assert (dom["domid"], dom["state"], dom["shutdown_reason"]) == (old, "shutdown", "crash")
    assert "web01: destroying domain" not in y.log()
    assert y.state("web01") == "unrecoverable"
    # The operator is done with it: handed back, yaokid recovers it.
    r = y.ctl("reset", "web01")
    assert r.returncode == 0, r.stderr
    wait_for(lambda: new_domid(sim, "web01", old), 30, what="web01 recovered after reset")
    y.wait_state("web01", "healthy")
    assert len(hook_runs(hook)) == 1


def web01_with_on_crash(sim_factory, yaokid_factory, action, dump=None):
    """web01 healthy under yaokid (SLOW), its own on_crash = action, and
    its monitor's core dump taking dump seconds; (sim, y, its domid)."""
    sim = sim_factory(["web01"])
    y = yaokid_factory(sim, {"web01": {}}, defaults=SLOW).start()
    y.wait_state("web01", "healthy")
    sim.ctl("on", "web01", "crash", action)
    if dump is not None:
        sim.ctl("delay", "web01", "dump", dump)
    return sim, y, sim.domid("web01")


def test_coredump_restart_nothing_destroyed_before_the_dump(sim_factory, yaokid_factory):
    sim, y, old = web01_with_on_crash(sim_factory, yaokid_factory,
                                      "coredump-restart", dump="4")
    sim.ctl("crash", "web01")
    d = y.wait_state("web01", "paused", timeout=10)
    assert d["reason"] == ("crashed; its xl monitor restarts it "
                           "(on_crash=coredump-restart)")
    # The dump runs: the crashed domain stays, nobody destroys it.
    stays(lambda: sim.domains().get("web01", {}).get("domid") == old and
          sim.domains()["web01"]["state"] == "shutdown", 2.5,
          what="web01 kept during the dump")
    assert "web01: destroying domain" not in y.log()
    one_copy_until(sim, "web01", lambda: new_domid(sim, "web01", old), 15,
                   "web01 restarted after the dump")
    y.wait_state("web01", "healthy")
    assert "creating the domain again" not in y.log()
    assert y.recoveries("web01") == 0


def test_monitor_killed_before_crash_yaokid_recovers(sim_factory, yaokid_factory):
    sim, y, old = web01_with_on_crash(sim_factory, yaokid_factory, "restart")
    sim.ctl("monitor", "web01", "kill")
    sim.ctl("crash", "web01")
    wait_for(lambda: new_domid(sim, "web01", old), 10, what="yaokid's re-create")
    y.wait_state("web01", "healthy")
    log = y.log()
    assert "web01: domain %d: on_crash=restart; no xl monitor (yaokid acts)" % old in log
    assert "web01: destroying domain %d (crashed)" % old in log
    assert y.recoveries("web01", "ok") == 1


def test_monitor_dies_during_the_dump_yaokid_recovers(sim_factory, yaokid_factory):
    sim, y, old = web01_with_on_crash(sim_factory, yaokid_factory,
                                      "coredump-restart", dump="60")
    sim.ctl("crash", "web01")
    y.wait_state("web01", "paused", timeout=10)
    sim.ctl("monitor", "web01", "kill")
    wait_for(lambda: new_domid(sim, "web01", old), 10, what="yaokid's re-create")
    d = y.wait_state("web01", "healthy")
    assert "web01: the xl monitor of domain %d is gone" % old in y.log()
    assert d["domid"] == sim.domid("web01")
    assert y.recoveries("web01", "ok") == 1


def test_guest_reboot_with_and_without_monitor(sim_factory, yaokid_factory):
    sim = sim_factory(["web01", "web02"])
    y = yaokid_factory(sim, {"web01": {}, "web02": {}}, defaults=SLOW).start()
    y.wait_state("web01", "healthy")
    y.wait_state("web02", "healthy")
    old1, old2 = sim.domid("web01"), sim.domid("web02")
    # web01: its monitor restarts it (on_reboot=restart); yaokid adopts.
    sim.ctl("shutdown", "web01", "reboot")
    one_copy_until(sim, "web01", lambda: new_domid(sim, "web01", old1), 10,
                   "web01 restarted by its monitor")
    # web02: nobody else would: yaokid re-creates it.
    sim.ctl("monitor", "web02", "kill")
    sim.ctl("shutdown", "web02", "reboot")
    wait_for(lambda: new_domid(sim, "web02", old2), 10, what="web02 re-created by yaokid")
    y.wait_state("web01", "healthy")
    y.wait_state("web02", "healthy")
    log = y.log()
    assert log.count("web01: creating the domain again") == 0
    assert log.count("web02: creating the domain again") == 1
    assert "web02: destroying domain %d (guest rebooted)" % old2 in log

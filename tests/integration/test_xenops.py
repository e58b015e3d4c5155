"""Do no harm: yaokid never makes a second copy of a domain and never
destroys one that Xen's own tools are handling.

simhv models what xl does (sim/PROTOCOL.md): `migrate NAME out|in|local`,
`save`/`restore`, `rename`, `create ... paused`, and every start of
`yaoki-simhv serve` is a new host boot (domids from 1, a new boot_id).
Each test here pins one way yaokid could do harm (issue "Do no harm",
items 1-8) and fails on yaokid 0.1.
"""
import json
import os
import threading
import time

import pytest

from conftest import Proc, SIMHV, hook_runs, stays, wait_for

# Fast probes: the failure threshold (3 x 200 ms) is reached well inside
# every Xen operation below, which last seconds.
DEFAULTS = {"interval": "200ms", "timeout": "150ms", "failures": "3",
            "start_period": "2s", "backoff": "300ms", "backoff_max": "1s",
            "max_recoveries": "20"}


def copies(sim, name):
    """simhv's non-dying entries that are name or one of its migrations."""
    return [d for d in sim.ctl("list")["domains"]
            if d["state"] != "dying" and
            d["name"] in (name, name + "--migratedaway", name + "--incoming")]


class CopyWatch:
    """Polls simhv every 100 ms in a thread and remembers the worst moment:
    the most entries named exactly `name`, the most running copies."""

    def __init__(self, sim, name):
        self.sim, self.name = sim, name
        self.max_named = self.max_running = 0
        self.samples = 0
        self.stop_ev = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        deadline = time.monotonic() + 60
        while not self.stop_ev.is_set() and time.monotonic() < deadline:
            try:
                doms = copies(self.sim, self.name)
            except AssertionError:
                break
            named = sum(d["name"] == self.name for d in doms)
            running = sum(d["state"] == "running" for d in doms)
            self.max_named = max(self.max_named, named)
            self.max_running = max(self.max_running, running)
            self.samples += 1
            time.sleep(0.1)         # the 100 ms sampling period, not a wait

    def stop(self):
        self.stop_ev.set()
        self.t.join(10)
        return self


def make(sim_factory, yaokid_factory, names=("web01", "web02"), extra="",
         defaults=None, glob=None):
    sim = sim_factory(list(names), extra=extra)
    d = dict(DEFAULTS)
    d.update(defaults or {})
    y = yaokid_factory(sim, {n: {} for n in names}, defaults=d, glob=glob)
    y.start()
    for n in names:
        y.wait_state(n, "healthy")
    return sim, y


def failing_and_watched(sim, y):
    """web01 hangs until yaokid counts a failure; its domid, recoveries so
    far, and a CopyWatch over it."""
    old = sim.domid("web01")
    sim.ctl("guest", "web01", "hang")
    wait_for(lambda: y.dom("web01")["consecutive_failures"] >= 1, 10,
             what="web01 failing")
    return old, y.recoveries("web01"), CopyWatch(sim, "web01")


def reason(y, name):
    return y.dom(name).get("reason")


def wait_reason(y, name, state, text, timeout=20):
    return wait_for(lambda: y.dom(name)["state"] == state and
                    text in (y.dom(name).get("reason") or ""), timeout,
                    what=f"{name} {state} ({text}); log:\n{y.log()[-3000:]}")


# ---- item 1: migration away ---------------------------------------------------


def test_migration_away_of_a_failing_domain_creates_nothing(
        sim_factory, yaokid_factory):
    # failures = 30: the domain stays failing (6 s) until the migration.
    sim, y = make(sim_factory, yaokid_factory, defaults={"failures": "30"})
    old = sim.domid("web01")
    sim.ctl("guest", "web01", "hang")
    wait_for(lambda: y.dom("web01")["consecutive_failures"] >= 1, 10,
             what="web01 failing")
    rec0 = y.recoveries("web01")
    sim.ctl("migrate", "web01", "out", "3")
    wait_reason(y, "web01", "paused", "migrating away")
    wait_reason(y, "web01", "absent", "migrated away", timeout=20)
    # It runs elsewhere now: nothing of that name was created here.
    assert stays(lambda: not copies(sim, "web01"), 2, what="no web01 here")
    assert y.recoveries("web01") == rec0
    assert "web01: destroying domain" not in y.log()
    assert "web01: creating the domain again" not in y.log()
    rec = y.state_record("web01")
    assert rec["intent"] is None
    # The neighbour was never touched.
    assert y.state("web02") == "healthy"
    assert sim.domid("web01") is None and old is not None


def test_migration_still_preparing_holds_a_failing_domain(
        sim_factory, yaokid_factory):
    """xl migrate spends seconds before its last round (connecting, sending
    the configuration, memory rounds) with the domain still called NAME:
    only its process shows. The domain fails its probes all along, far
    past the threshold, and yaokid must not destroy it (the race seen on
    real Xen, where xl had not yet created NAME--incoming 4.5 s in)."""
    # failures = 10: the threshold (2 s) passes well inside xl's 6 s of
    # preparation, but not before the migration has begun.
    sim, y = make(sim_factory, yaokid_factory, defaults={"failures": "10"})
    old, rec0, watch = failing_and_watched(sim, y)
    sim.ctl("migrate", "web01", "local", "2", "6")
    wait_reason(y, "web01", "paused", "migrating away", timeout=5)
    # Seen while xl was still preparing: the domain had not been renamed.
    doms = copies(sim, "web01")
    assert [(d["name"], d["xl"]) for d in doms] == [("web01", "migrate")], doms
    wait_for(lambda: [d["name"] for d in copies(sim, "web01")] == ["web01"] and
             copies(sim, "web01")[0]["domid"] != old and
             copies(sim, "web01")[0]["state"] == "running", 20,
             what="migration over")
    y.wait_state("web01", ("starting", "healthy", "failing"), timeout=20)
    watch.stop()
    assert watch.max_named <= 1 and watch.max_running <= 1, vars(watch)
    assert y.recoveries("web01") == rec0
    assert "web01: destroying domain" not in y.log()


def test_migration_rolled_back_resumes_probing_without_start_period(
        sim_factory, yaokid_factory):
    """xl rolls a migration back (the receiver failed): the same domain
    stays, renamed back. It never stopped, so it gets no new start period:
    still failing, it is recovered after the probe threshold (2 s here),
    not after start_period (30 s)."""
    # failures = 10 (2 s): the migration begins before any recovery could.
    sim, y = make(sim_factory, yaokid_factory,
                  defaults={"start_period": "30s", "failures": "10"})
    old, rec0, watch = failing_and_watched(sim, y)
    sim.ctl("migrate", "web01", "local", "20", "1")
    wait_reason(y, "web01", "paused", "migrating away", timeout=5)
    wait_for(lambda: "web01--incoming" in [d["name"] for d in copies(sim, "web01")],
             10, what="the receiver's copy")
    sim.ctl("destroy", "web01--incoming")
    wait_for(lambda: [d["name"] for d in copies(sim, "web01")] == ["web01"],
             10, what="the sender renamed back")
    assert sim.domid("web01") == old
    t0 = time.monotonic()
    wait_for(lambda: y.recoveries("web01") > rec0, 15,
             what=f"a recovery of the still failing web01; log:\n{y.log()[-2000:]}")
    assert time.monotonic() - t0 < 15
    # Back to healthy at once, not to starting (a new start period).
    assert "web01: paused -> healthy" in y.log()
    assert "web01: paused -> starting" not in y.log()
    y.wait_state("web01", ("starting", "healthy"), timeout=30)
    watch.stop()
    assert watch.max_named <= 1 and watch.max_running <= 1, vars(watch)


def test_incoming_that_fails_after_yaokid_destroyed_is_created_again(
        sim_factory, yaokid_factory, tmp_path):
    """yaokid destroys a failing domain; meanwhile NAME--incoming appears
    (the receiving side of a migration whose sender yaokid just destroyed)
    and then fails, as it must without its sender. yaokid destroyed the
    domain, so it still owes the create: never lose a domain."""
    hook, out = write_hook(tmp_path)
    sim, y = make(sim_factory, yaokid_factory, glob={"hook": f'"{hook}"'})
    sim.ctl("delay", "web01", "destroy", "2")
    rec0 = y.recoveries("web01")
    sim.ctl("guest", "web01", "hang")
    wait_for(lambda: "web01: destroying domain" in y.log(), 15,
             what="yaokid destroying web01")
    sim.ctl("migrate", "web01", "in", "60")
    wait_reason(y, "web01", "paused", "migrating in", timeout=10)
    # The destroy completes, and the recovery sees the incoming copy.
    wait_for(lambda: "web01: recovery cancelled" in y.log(), 15,
             what="the recovery giving way to the incoming migration")
    assert "web01: creating the domain again" not in y.log()
    assert y.state("web01") == "paused"
    # The receiver gives up without its sender: its copy is destroyed,
    # most often before yaokid's next list has seen it at all.
    sim.ctl("destroy", "web01--incoming")
    y.wait_state("web01", "healthy", timeout=30)
    assert "Xen's operation ended without the domain yaokid had " \
        "destroyed" in y.log()
    assert [d["name"] for d in copies(sim, "web01")] == ["web01"]
    assert y.recoveries("web01") > rec0
    y.wait_record("web01", lambda r: r["intent"] is None)
    assert not out.exists(), out.read_text()


def test_migration_away_during_backoff_never_creates(sim_factory, yaokid_factory):
    """A recovery in backoff (its create failed, so the name is free) when
    an incoming copy appears and then leaves: yaokid neither adopts a
    migrating domain as its own nor creates NAME meanwhile."""
    sim, y = make(sim_factory, yaokid_factory, defaults={"backoff": "4s",
                                                        "backoff_max": "4s"})
    sim.ctl("fail-create", "web01", "1")
    sim.ctl("guest", "web01", "hang")
    y.wait_state("web01", "backoff")
    assert "web01" not in sim.domains()
    rec0 = y.recoveries("web01")
    watch = CopyWatch(sim, "web01")
    # The domain arrives from another host meanwhile (xl migrate-receive).
    sim.ctl("migrate", "web01", "in", "2")
    wait_reason(y, "web01", "paused", "migrating in")
    y.wait_state("web01", ("starting", "healthy"), timeout=20)
    # The backoff deadline passes: no destroy of the migrated domain.
    y.wait_probes("web01", 25)
    watch.stop()
    assert watch.max_named <= 1 and watch.max_running <= 1, vars(watch)
    assert y.recoveries("web01") == rec0
    assert y.state("web01") == "healthy"
    y.wait_record("web01", lambda r: r["intent"] is None)


# ---- item 2: xl save ----------------------------------------------------------


def test_save_with_threshold_reached_is_not_destroyed_and_restore_is_adopted(
        sim_factory, yaokid_factory):
    sim, y = make(sim_factory, yaokid_factory)
    old = sim.domid("web01")
    rec0 = y.recoveries("web01")
    sim.ctl("save", "web01", "3")
    wait_reason(y, "web01", "paused", "being saved")
    # Probes (had they counted) reach the threshold ten times over; the
    # domain stays until the save ends, and yaokid never destroys it.
    assert stays(lambda: sim.domid("web01") == old, 2, what="web01 kept")
    wait_reason(y, "web01", "absent", "saved", timeout=20)
    assert y.recoveries("web01") == rec0
    assert "web01: destroying domain" not in y.log()
    assert stays(lambda: not copies(sim, "web01"), 1, what="nothing created")
    # xl restore: paused, then running: adopted as a new start, captured.
    sim.ctl("restore", "web01", "2")
    wait_reason(y, "web01", "paused", "being restored")
    y.wait_state("web01", "healthy", timeout=20)
    new = sim.domid("web01")
    assert new not in (None, old)
    assert y.dom("web01")["domid"] == new
    assert y.recoveries("web01") == rec0
    wait_for(lambda: f"configuration captured from domain {new}" in y.log(),
             10, what="restored domain captured")


# ---- item 3: incoming migration ------------------------------------------------


def test_incoming_migration_is_captured_and_used_by_a_later_recovery(
        sim_factory, yaokid_factory, tmp_path):
    sim = sim_factory(["web01"])
    # simhv knows web02's configuration but does not boot it: it lives on
    # another host until it migrates in.
    addr = f"127.{sim.net}.0.9"
    sim.proc.stop()
    text = sim.conf.read_text() + (
        f'domain "web02" {{ listen = "{addr}:8080" autostart = false }}\n')
    sim.conf.write_text(text)
    sim.proc = Proc([SIMHV, "serve", "-f", "-c", str(sim.conf), "-s", sim.sock],
                    tmp_path / "simhv2.log")
    wait_for(lambda: os.path.exists(sim.sock), 10, what="simhv socket")
    sim.addr["web02"] = (addr, 8080)
    y = yaokid_factory(sim, {"web01": {}, "web02": {}}, defaults=DEFAULTS)
    y.start()
    y.wait_state("web02", "absent")
    assert not (y.state_dir / "web02.domain.json").exists()
    sim.ctl("migrate", "web02", "in", "2")
    wait_reason(y, "web02", "paused", "migrating in")
    y.wait_state("web02", "healthy", timeout=20)
    domid = sim.domid("web02")
    # Same domid as the incoming copy: only a capture on arrival finds it.
    wait_for(lambda: (y.state_dir / "web02.domain.json").exists(), 10,
             what="web02 captured")
    captured = json.loads((y.state_dir / "web02.domain.json").read_text())
    assert captured["name"] == "web02"
    # A later failure is recovered from that configuration.
    sim.ctl("guest", "web02", "hang")
    wait_for(lambda: (sim.domid("web02") or domid) > domid, 30,
             what="web02 re-created")
    y.wait_state("web02", "healthy", timeout=20)
    assert y.recoveries("web02", "ok") == 1


# ---- item 1 (local): xl migrate NAME localhost ---------------------------------


def test_local_migration_of_a_failing_domain_keeps_one_copy(
        sim_factory, yaokid_factory):
    sim, y = make(sim_factory, yaokid_factory, defaults={"failures": "30"})
    old, rec0, watch = failing_and_watched(sim, y)
    sim.ctl("migrate", "web01", "local", "3")
    wait_reason(y, "web01", "paused", "migrating away")
    wait_for(lambda: [d["name"] for d in copies(sim, "web01")] == ["web01"] and
             copies(sim, "web01")[0]["state"] == "running", 20,
             what="migration over")
    y.wait_state("web01", ("starting", "healthy", "failing"), timeout=20)
    y.wait_probes("web01", 5)
    watch.stop()
    assert watch.samples >= 10, vars(watch)
    assert watch.max_named <= 1, vars(watch)
    assert watch.max_running <= 1, vars(watch)
    new = sim.domid("web01")
    assert new != old
    # The migration, not yaokid, made the new copy.
    assert y.recoveries("web01") == rec0
    assert "web01: creating the domain again" not in y.log()


# ---- item 4: host reboot -------------------------------------------------------


def reboot_host(sim, tmp_path, log_name, autostart=True, names=("web01",)):
    """Stops simhv and starts it again: a new boot (domids from 1)."""
    sim.proc.stop()
    if not autostart:
        text = sim.conf.read_text()
        for n in names:
            a, p = sim.addr[n]
            text = text.replace(f'domain "{n}" {{ listen = "{a}:{p}" }}',
                                f'domain "{n}" {{ listen = "{a}:{p}" '
                                f'autostart = false }}')
        sim.conf.write_text(text)
    sim.proc = Proc([SIMHV, "serve", "-f", "-c", str(sim.conf), "-s", sim.sock],
                    tmp_path / log_name)
    wait_for(lambda: os.path.exists(sim.sock), 10, what="simhv socket")


def write_hook(tmp_path):
    hook = tmp_path / "hook.sh"
    out = tmp_path / "hook.out"
    hook.write_text(f'#!/bin/sh\necho "$1 $2 $YAOKI_REASON" >> {out}\n')
    hook.chmod(0o755)
    return hook, out


def kill_after_destroy(sim, y):
    """A crash of web01; yaokid is killed after the destroy, before the create."""
    y.stop()
    y.start(env={"YAOKI_FAILPOINT": "create"})
    y.wait_state("web01", ("starting", "healthy"))
    sim.crash("web01")
    wait_for(lambda: "failpoint create" in y.log(), 20, what="stopped at create")
    wait_for(lambda: "web01" not in sim.domains(), 10, what="web01 destroyed")
    y.proc.kill9()
    y.proc.log.close()
    assert y.state_record("web01")["intent"] is not None


def test_host_reboot_during_recovery_is_not_recreated(
        sim_factory, yaokid_factory, tmp_path):
    hook, out = write_hook(tmp_path)
    sim, y = make(sim_factory, yaokid_factory,
                  glob={"hook": f'"{hook}"'})
    kill_after_destroy(sim, y)
    # The host restarts; xendomains does not bring web01 back. web02 boots
    # again and may take any domid, web01's old one included.
    reboot_host(sim, tmp_path, "simhv-boot2.log", autostart=False)
    cut = len(y.log())
    y.start()
    wait_reason(y, "web01", "unrecoverable",
                "host restarted during a recovery; not re-created (it may "
                "run elsewhere)")
    y.wait_state("web02", "healthy")
    assert stays(lambda: "web01" not in sim.domains(), 2, what="web01 absent")
    wait_for(lambda: out.exists() and out.read_text().count("unrecoverable web01") == 1,
             10, what="hook once")
    assert y.recoveries() == 0
    y.wait_record("web01", lambda r: r["intent"] is None)
    # Nothing of the new boot was destroyed either.
    assert "destroying domain" not in y.log()[cut:]


def test_host_reboot_during_recovery_adopts_a_restored_domain(
        sim_factory, yaokid_factory, tmp_path):
    sim, y = make(sim_factory, yaokid_factory)
    kill_after_destroy(sim, y)
    reboot_host(sim, tmp_path, "simhv-boot2.log", autostart=True)
    ids = {n: sim.domid(n) for n in ("web01", "web02")}
    y.start()
    y.wait_state("web01", "healthy")
    y.wait_state("web02", "healthy")
    y.wait_probes("web01", 5)
    # Adopted as it is: same domids, no destroy, no create, one copy each.
    assert {n: sim.domid(n) for n in ("web01", "web02")} == ids
    assert y.recoveries() == 0
    assert len(copies(sim, "web01")) == 1
    y.wait_record("web01", lambda r: r["intent"] is None)


def test_record_of_another_boot_never_destroys_by_domid(
        sim_factory, yaokid_factory, tmp_path):
    """After a host reboot domids start at 1 again: a state file's domids
    name other domains now. An intent to destroy domain N must not hit
    whatever domain N is on the new boot."""
    sim, y = make(sim_factory, yaokid_factory, names=("web01", "web02"))
    kill_after_destroy(sim, y)
    intent = y.state_record("web01")["intent"]
    reboot_host(sim, tmp_path, "simhv-boot2.log", autostart=True)
    # On the new boot web01 and web02 get domids 1 and 2 again; the old
    # intent named one of those numbers.
    cut = len(y.log())
    y.start()
    y.wait_state("web02", "healthy")
    y.wait_state("web01", "healthy")
    y.wait_probes("web02", 5)
    assert y.recoveries() == 0
    assert "destroying domain" not in y.log()[cut:]
    assert intent["domid"] in (1, 2)


# ---- item 5: re-created by someone else during backoff ------------------------------


def test_domain_recreated_by_hand_during_backoff_is_adopted(
        sim_factory, yaokid_factory):
    sim, y = make(sim_factory, yaokid_factory, defaults={"backoff": "3s",
                                                        "backoff_max": "3s"})
    config = sim.ctl("capture", "web01")["config"]
    sim.ctl("fail-create", "web01", "1")
    sim.ctl("guest", "web01", "hang")
    y.wait_state("web01", "backoff")
    assert "web01" not in sim.domains()
    # An operator creates it by hand while yaokid waits to try again.
    mine = sim.ctl("create", config)["domid"]
    y.wait_state("web01", ("starting", "healthy"))
    rec0 = y.recoveries("web01")
    # Well past the backoff deadline: never destroyed.
    y.wait_probes("web01", 25)
    assert sim.domid("web01") == mine
    assert y.state("web01") == "healthy"
    assert y.recoveries("web01") == rec0
    assert f"destroying domain {mine}" not in y.log()


# ---- item 6: half-built domains ------------------------------------------------


def test_half_built_domain_is_destroyed_and_created_again(
        sim_factory, yaokid_factory):
    sim, y = make(sim_factory, yaokid_factory)
    y.stop()
    y.start(env={"YAOKI_FAILPOINT": "unpause"})
    y.wait_state("web01", ("starting", "healthy"))
    sim.ctl("crash", "web01")
    wait_for(lambda: "failpoint unpause" in y.log(), 20, what="stopped at unpause")
    half = sim.domains()["web01"]
    assert half["state"] == "paused"
    y.proc.kill9()
    y.proc.log.close()
    assert y.state_record("web01")["intent"]["creating"] is True
    y.start()
    y.wait_state("web01", "healthy", timeout=30)
    doms = copies(sim, "web01")
    assert len(doms) == 1 and doms[0]["state"] == "running"
    assert doms[0]["domid"] > half["domid"]
    assert f"domain {half['domid']} is half-built" in y.log()
    y.wait_record("web01", lambda r: r["intent"] is None)


# ---- item 7: destroy by a stale name ------------------------------------------------


def test_rename_race_destroys_the_right_domain(sim_factory, yaokid_factory):
    sim, y = make(sim_factory, yaokid_factory)
    config = sim.ctl("capture", "web01")["config"]
    old = sim.domid("web01")
    # xl rename web01 web01-old, then a new web01 (another uuid) on the
    # same address (the old one no longer serves there).
    sim.ctl("rename", "web01", "web01-old")
    sim.ctl("guest", "web01-old", "refuse")
    cfg = json.loads(config)
    cfg["uuid"] = "00000000-0000-4000-8000-0000000000aa"
    new = sim.ctl("create", json.dumps(cfg))["domid"]
    y.wait_state("web01", ("starting", "healthy"))
    wait_for(lambda: y.dom("web01")["domid"] == new, 10, what="new web01 known")
    # The new web01 fails: it, and only it, is destroyed and re-created.
    sim.ctl("guest", "web01", "hang")
    wait_for(lambda: (sim.domid("web01") or new) > new, 30,
             what="web01 re-created")
    assert sim.domains()["web01-old"]["domid"] == old
    assert f"destroying domain {new}" in y.log()
    assert f"destroying domain {old}" not in y.log()


# ---- item 8: no destroy without a durable intent ------------------------------------


def test_unwritable_intent_means_no_destroy(sim_factory, yaokid_factory):
    sim, y = make(sim_factory, yaokid_factory)
    old = sim.domid("web01")
    # The state file's place taken by a directory: every save of web01's
    # record fails (as on a full or read-only disk), whoever runs the test.
    path = y.state_dir / "web01.state.json"
    if path.exists():
        path.unlink()
    path.mkdir()
    try:
        sim.ctl("guest", "web01", "hang")
        wait_reason(y, "web01", "backoff", "cannot record the recovery intent")
        y.wait_probes("web02", 10)
        assert sim.domid("web01") == old
        assert "web01: destroying domain" not in y.log()
        assert "cannot write the recovery intent record" in y.log()
    finally:
        path.rmdir()
    # Once the disk is writable again the recovery goes ahead.
    wait_for(lambda: (sim.domid("web01") or old) != old, 30,
             what="web01 recovered once the intent can be written")


# ---- a restart of yaokid does not blind it ---------------------------------------


def test_restart_of_yaokid_counts_the_start_period_from_the_domains_start(
        sim_factory, yaokid_factory):
    sim, y = make(sim_factory, yaokid_factory, defaults={"start_period": "4s"})
    started = sim.ctl("list")["domains"][0]["start_time"]
    # The domains are older than their start period...
    wait_for(lambda: time.time() - started > 4.5, 10, what="domains 4.5 s old")
    y.stop()
    sim.ctl("guest", "web01", "hang")
    cut = len(y.log())
    t0 = time.monotonic()
    y.start()
    # ...so a hung guest found at yaokid's start is failed at once, not
    # given a fresh start period from yaokid's own start.
    wait_for(lambda: "web01: destroying domain" in y.log()[cut:], 20,
             what="web01 recovered")
    assert time.monotonic() - t0 < 4.0, y.log()[cut:]
    assert "web01: starting -> failing" in y.log()[cut:]

"""Integration tests of Xen's own operations as yaoki-simhv models them
(sim/PROTOCOL.md): rename, migrate out/in/local, save/restore, create paused,
autostart = false, boot_id and start_time.

They drive simhv alone (no yaokid) over its control socket and `ctl`, and
talk HTTP to its guests. Every wait is on a condition with a deadline,
polling `list` every 50 ms; timing bounds are generous (the machine is busy)
but each one can fail.
"""

import json
import time

import pytest

from conftest import wait_for
# The fixtures pool and start come from test_simhv, as pytest finds them
# among this module's names.
from test_simhv import (LineReader, answers_ok, domain_conf, pool,  # noqa: F401
                        refused, start)

POLL = 0.05


def block(name, ip, port, extra=""):
    text = domain_conf(name, ip, port)
    return text[:-2] + extra + "}\n" if extra else text


@pytest.fixture
def one(start, pool):
    """simhv with web01 booted (answers at once)."""
    ip, port = pool.take()
    sim = start("boot_time = 0\n" + domain_conf("web01", ip, port))
    wait_for(lambda: answers_ok(ip, port), 10, what="web01 to answer")
    sim.addr = (ip, port)
    return sim


def by_name(sim):
    return {d["name"]: d for d in sim.domains()}


def events(sim):
    s = sim.connect()
    rd = LineReader(s)
    s.sendall(b'{"cmd": "events"}\n')
    assert rd.line() == {"ok": True}
    rd.sock = s
    return rd


def ctl_fails(sim, *args):
    r = sim.ctl(*args)
    assert r.returncode == 1, (args, r.returncode, r.stdout, r.stderr)
    reply = json.loads(r.stdout)
    assert reply["ok"] is False and reply["error"], reply
    return reply["error"]


def watch(sim, until, timeout, what):
    """Polls list every 50 ms until until(domains) holds; returns the
    snapshots as (seconds since the call, domains)."""
    t0 = time.monotonic()
    seen = []
    while True:
        doms = sim.domains()
        seen.append((time.monotonic() - t0, doms))
        if until(doms):
            return seen
        if time.monotonic() - t0 > timeout:
            raise AssertionError("timed out after %.1fs waiting for %s; last %r"
                                 % (timeout, what, doms))
        time.sleep(POLL)


# ---- migrate out ---------------------------------------------------------------------------


def test_migrate_out_renames_suspends_for_the_last_second_then_destroys(one):
    ip, port = one.addr
    rd = events(one)
    uuid = one.dom("web01")["uuid"]
    t0 = time.monotonic()
    one.ok("migrate", "web01", "out", "2.5")
    doms = by_name(one)
    assert "web01" not in doms
    away = doms["web01--migratedaway"]
    assert (away["domid"], away["uuid"], away["state"], away["operation"]) == \
        (1, uuid, "running", "migrating-out")
    assert answers_ok(ip, port)
    suspended_at = None
    while True:
        doms = one.domains()
        t = time.monotonic() - t0
        if not doms:
            gone_at = t
            break
        assert [d["name"] for d in doms] == ["web01--migratedaway"]
        d = doms[0]
        if d["state"] == "shutdown":
            assert d["shutdown_reason"] == "suspend"
            if suspended_at is None:
                suspended_at = t
                assert refused(ip, port)
        else:
            assert d["state"] in ("running", "dying"), d
            if d["state"] == "running":
                assert suspended_at is None
                # Due at 1.5 s; list answers may be slow on a busy host.
                assert t < 2.1, "suspended too late (%.2fs)" % t
        assert t < 6, "not gone after %.1fs" % t
        time.sleep(POLL)
    assert suspended_at is not None and suspended_at >= 1.3, suspended_at
    assert gone_at >= 2.3, gone_at
    got = [rd.line() for _ in range(4)]
    assert got == [
        {"event": "renamed", "name": "web01--migratedaway", "domid": 1, "old_name": "web01"},
        {"event": "shutdown", "name": "web01--migratedaway", "domid": 1, "reason": "suspend",
         "monitored": True, "action": None},
        {"event": "dying", "name": "web01--migratedaway", "domid": 1},
        {"event": "gone", "name": "web01--migratedaway", "domid": 1},
    ]


def test_migrate_prepare_keeps_the_name_and_shows_only_xl(one):
    """xl migrate's first phase: the domain unchanged, its xl process seen."""
    ip, port = one.addr
    rd = events(one)
    t0 = time.monotonic()
    one.ok("migrate", "web01", "local", "1", "1.5")
    d = one.dom("web01")
    assert (d["domid"], d["state"], d["operation"], d["xl"]) == \
        (1, "running", "migrating-out", "migrate")
    brief = one.ok("list", "brief")["domains"]
    assert [b[0] for b in brief] == ["web01"] and brief[0][8] == "migrate"
    assert answers_ok(ip, port)
    # Another operation is refused meanwhile, as for any migration.
    assert one.cmd("save", "web01", "1")["ok"] is False
    wait_for(lambda: "web01--migratedaway" in by_name(one), 5,
             what="the rename after PREPARE")
    assert time.monotonic() - t0 >= 1.4
    assert "web01--incoming" in by_name(one)
    assert by_name(one)["web01--migratedaway"]["xl"] == "migrate"
    assert by_name(one)["web01--incoming"]["xl"] is None
    assert rd.line() == {"event": "renamed", "name": "web01--migratedaway",
                         "domid": 1, "old_name": "web01"}
    wait_for(lambda: [d["name"] for d in one.domains()] == ["web01"] and
             one.dom("web01")["domid"] != 1, 10, what="migration done")
    assert one.dom("web01")["xl"] is None


def test_migrate_prepare_of_a_domain_that_went_down_fails(one):
    one.ok("on", "web01", "crash", "preserve")
    one.ok("migrate", "web01", "out", "1", "0.5")
    one.ok("crash", "web01")
    time.sleep(0.8)         # past PREPARE: the migration had to fail
    d = one.dom("web01")
    assert (d["state"], d["operation"], d["xl"]) == ("shutdown", None, None)
    assert "web01--migratedaway" not in by_name(one)


# ---- migrate in ----------------------------------------------------------------------------


def test_migrate_in_appears_paused_then_renamed_and_answering(one):
    ip, port = one.addr
    uuid = one.dom("web01")["uuid"]
    one.ok("destroy", "web01")
    rd = events(one)
    t0 = time.monotonic()
    one.ok("migrate", "web01", "in", "1.5")
    doms = by_name(one)
    assert list(doms) == ["web01--incoming"]
    inc = doms["web01--incoming"]
    assert (inc["domid"], inc["uuid"], inc["state"], inc["operation"]) == \
        (2, uuid, "paused", "migrating-in")
    assert refused(ip, port)
    seen = watch(one, lambda ds: [d["name"] for d in ds] == ["web01"], 6, "web01 back")
    for t, ds in seen[:-1]:
        assert [(d["name"], d["state"]) for d in ds] == [("web01--incoming", "paused")], (t, ds)
    assert time.monotonic() - t0 >= 1.3
    d = one.dom("web01")
    assert (d["domid"], d["uuid"], d["state"], d["operation"]) == (2, uuid, "running", None)
    wait_for(lambda: answers_ok(ip, port), 5, what="the migrated guest to answer")
    assert [rd.line() for _ in range(4)] == [
        {"event": "created", "name": "web01--incoming", "domid": 2},
        {"event": "paused", "name": "web01--incoming", "domid": 2},
        {"event": "renamed", "name": "web01", "domid": 2, "old_name": "web01--incoming"},
        {"event": "unpaused", "name": "web01", "domid": 2},
    ]


def test_migrate_in_fails_for_unknown_name_or_live_names(one):
    assert "unknown" in ctl_fails(one, "migrate", "nosuch", "in", "1")
    # A live NAME: that is a local migration, not an incoming one.
    assert "live domain" in ctl_fails(one, "migrate", "web01", "in", "1")
    one.ok("destroy", "web01")
    one.ok("migrate", "web01", "in", "30")
    assert "live domain" in ctl_fails(one, "migrate", "web01", "in", "1")
    assert [d["name"] for d in one.domains()] == ["web01--incoming"]


# ---- migrate local -------------------------------------------------------------------------


def test_migrate_local_never_two_running_copies(one):
    ip, port = one.addr
    uuid = one.dom("web01")["uuid"]
    one.ok("migrate", "web01", "local", "2")
    both = False
    t0 = time.monotonic()
    while True:
        doms = one.domains()
        names = [d["name"] for d in doms]
        running = [d for d in doms if d["state"] == "running"]
        assert len(running) <= 1, doms
        assert names.count("web01") <= 1, doms
        assert all(d["uuid"] == uuid for d in doms), doms
        if set(names) == {"web01--migratedaway", "web01--incoming"}:
            both = True
            inc = [d for d in doms if d["name"] == "web01--incoming"][0]
            assert inc["state"] == "paused" and inc["domid"] == 2, inc
        if names == ["web01"] and doms[0]["domid"] == 2:
            break
        assert time.monotonic() - t0 < 8, doms
        # Answering means exactly one running domain holds the address.
        if answers_ok(ip, port):
            assert len([d for d in one.domains() if d["state"] == "running"]) == 1
        time.sleep(POLL)
    assert both
    assert time.monotonic() - t0 >= 1.8
    d = one.dom("web01")
    assert (d["domid"], d["state"], d["operation"]) == (2, "running", None)
    wait_for(lambda: answers_ok(ip, port), 5, what="the moved guest to answer")
    assert [x["name"] for x in one.domains()] == ["web01"]


# ---- save and restore ----------------------------------------------------------------------


def test_save_then_restore(one):
    ip, port = one.addr
    orig = one.dom("web01")
    t0 = time.monotonic()
    one.ok("save", "web01", "1.5")
    d = one.dom("web01")
    assert (d["domid"], d["state"], d["shutdown_reason"], d["operation"]) == \
        (1, "shutdown", "suspend", "saving")
    assert refused(ip, port)
    # The image exists only once the save is complete.
    assert "no saved image" in ctl_fails(one, "restore", "web01", "1")
    watch(one, lambda ds: ds == [] or ds[0]["state"] == "dying", 6, "the saved domain to go")
    assert time.monotonic() - t0 >= 1.3
    wait_for(lambda: one.domains() == [], 5, what="gone")
    one.ok("restore", "web01", "1")
    d = one.dom("web01")
    assert (d["domid"], d["uuid"], d["state"], d["operation"]) == \
        (2, orig["uuid"], "paused", "restoring")
    assert d["start_time"] != orig["start_time"]
    assert d["start_time"] > orig["start_time"]
    assert refused(ip, port)
    t1 = time.monotonic()
    watch(one, lambda ds: ds[0]["state"] == "running", 5, "the restored domain to run")
    assert time.monotonic() - t1 >= 0.8
    assert one.dom("web01")["operation"] is None
    wait_for(lambda: answers_ok(ip, port), 5, what="the restored guest to answer")
    # The image was consumed.
    one.ok("destroy", "web01")
    assert "no saved image" in ctl_fails(one, "restore", "web01", "1")


def test_restore_without_image_fails(one):
    assert "no saved image" in ctl_fails(one, "restore", "web02", "1")
    assert "no saved image" in ctl_fails(one, "restore", "web01", "1")
    assert [d["name"] for d in one.domains()] == ["web01"]


# ---- rename --------------------------------------------------------------------------------


def test_rename(start, pool):
    a, b = pool.take(), pool.take()
    sim = start("boot_time = 0\n" + domain_conf("web01", *a) + domain_conf("web02", *b))
    rd = events(sim)
    sim.ok("rename", "web01", "app01")
    doms = by_name(sim)
    assert sorted(doms) == ["app01", "web02"]
    assert doms["app01"]["domid"] == 1
    assert rd.line() == {"event": "renamed", "name": "app01", "domid": 1, "old_name": "web01"}
    assert "live domain" in ctl_fails(sim, "rename", "app01", "web02")
    assert "no such domain" in ctl_fails(sim, "rename", "web01", "x")
    # The old name is free: another domain may take it.
    sim.ok("rename", "2", "web01")
    doms = by_name(sim)
    assert (doms["app01"]["domid"], doms["web01"]["domid"]) == (1, 2)
    assert rd.line() == {"event": "renamed", "name": "web01", "domid": 2, "old_name": "web02"}
    wait_for(lambda: answers_ok(*a) and answers_ok(*b), 5, what="both guests")


# ---- autostart = false ---------------------------------------------------------------------


def test_autostart_false_is_known_not_booted(start, pool):
    a, b = pool.take(), pool.take()
    uuid = "0c2e4f6a-8b0d-4e2f-9a4c-6e8f0a2c4e6f"
    sim = start("boot_time = 0\n" + domain_conf("web01", *a)
                + block("db01", *b, extra='  autostart = false\n  uuid = "%s"\n' % uuid))
    assert [(d["name"], d["domid"]) for d in sim.domains()] == [("web01", 1)]
    assert refused(*b)
    sim.ok("migrate", "db01", "in", "0.5")
    d = sim.dom("db01--incoming")
    assert (d["domid"], d["uuid"], d["state"]) == (2, uuid, "paused")
    watch(sim, lambda ds: any(x["name"] == "db01" and x["state"] == "running" for x in ds),
          5, "db01 in")
    wait_for(lambda: answers_ok(*b), 5, what="db01 to answer")


# ---- host boots: boot_id, domids, start_time ----------------------------------------------


def test_each_serve_is_a_new_boot(start, pool):
    a = pool.take()
    conf = "boot_time = 0\n" + domain_conf("web01", *a)
    before = time.time()
    s1 = start(conf, sub="run1")
    r1 = s1.ok("list")
    b1 = s1.ok("list", "brief")
    assert r1["boot_id"] == b1["boot_id"]
    assert len(r1["boot_id"]) == 32 and int(r1["boot_id"], 16) >= 0
    d = r1["domains"][0]
    assert d["domid"] == 1
    assert before - 1 <= d["start_time"] <= time.time() + 1
    entry = b1["domains"][0]
    assert len(entry) == 9 and entry[:5] == [d["name"], 1, d["uuid"], "running", None]
    assert entry[6:] == [True, None, None]
    assert entry[5] == d["start_time"]
    assert "boot_id" not in d
    s1.ok("shutdown", "web01", "reboot")
    wait_for(lambda: (s1.dom("web01") or {}).get("domid") == 2, 5, what="monitor re-create")
    assert s1.stop() == 0
    s2 = start(conf, sub="run2")
    r2 = s2.ok("list")
    assert r2["boot_id"] != r1["boot_id"]
    assert [(x["name"], x["domid"]) for x in r2["domains"]] == [("web01", 1)]
    assert r2["domains"][0]["uuid"] != d["uuid"]
    assert r2["domains"][0]["start_time"] > d["start_time"]


# ---- create paused -------------------------------------------------------------------------


def test_create_paused_boots_at_unpause(one):
    ip, port = one.addr
    conf = json.loads(one.ok("capture", "web01")["config"])
    one.ok("destroy", "web01")
    conf["boot_time_ms"] = 600
    rd = events(one)
    one.ok("create", json.dumps(conf), "paused")
    assert [rd.line() for _ in range(2)] == [
        {"event": "created", "name": "web01", "domid": 2},
        {"event": "paused", "name": "web01", "domid": 2},
    ]
    # Watched for a while: it stays paused and does not answer.
    t0 = time.monotonic()
    while time.monotonic() - t0 < 1.0:
        d = one.dom("web01")
        assert d["state"] == "paused" and d["domid"] == 2, d
        assert refused(ip, port)
        time.sleep(POLL)
    t1 = time.monotonic()
    one.ok("unpause", "web01")
    wait_for(lambda: answers_ok(ip, port), 5, what="the guest to boot")
    assert time.monotonic() - t1 >= 0.5, "boot_time must count from the unpause"
    assert one.dom("web01")["state"] == "running"


# ---- bad arguments -------------------------------------------------------------------------


LONG = "x" * 120


@pytest.mark.parametrize("args,words", [
    (["migrate", "web01", "out", "0"], "SECONDS"),
    (["migrate", "web01", "out", "-1"], "SECONDS"),
    (["migrate", "web01", "out", "1e3"], "SECONDS"),
    (["migrate", "web01", "out", "0x10"], "SECONDS"),
    (["migrate", "web01", "out", "inf"], "SECONDS"),
    (["migrate", "web01", "out", "nan"], "SECONDS"),
    (["migrate", "web01", "out", "3601"], "SECONDS"),
    (["migrate", "web01", "out", "1.2.3"], "SECONDS"),
    (["migrate", "web01", "out", ""], "SECONDS"),
    (["migrate", "web01", "out", " 1"], "SECONDS"),
    (["migrate", "web01", "out", "0.0001"], "SECONDS"),
    (["migrate", "web01", "sideways", "1"], "usage"),
    (["migrate", "web01", "out"], "usage"),
    (["migrate", "web01", "out", "1", "x"], "PREPARE"),
    (["migrate", "web01", "out", "1", "1", "1"], "usage"),
    (["migrate", "web01", "in", "1", "1"], "PREPARE"),
    (["migrate", "nosuch", "out", "1"], "no such domain"),
    (["migrate", "nosuch", "local", "1"], "no such domain"),
    (["migrate", "bad name", "in", "1"], "invalid"),
    (["migrate", "123", "in", "1"], "invalid"),
    (["migrate", "", "in", "1"], "invalid"),
    (["save", "web01", "0"], "SECONDS"),
    (["save", "web01", "abc"], "SECONDS"),
    (["save", "nosuch", "1"], "no such domain"),
    (["save", "web01"], "usage"),
    (["restore", "web01", "x"], "SECONDS"),
    (["restore", "123", "1"], "invalid"),
    (["restore", "web01 x", "1"], "invalid"),
    (["restore"], "usage"),
    (["rename", "web01"], "usage"),
    (["rename", "web01", ""], "invalid"),
    (["rename", "web01", "123"], "invalid"),
    (["rename", "web01", "a b"], "invalid"),
    (["rename", "web01", "y" * 128], "invalid"),
    (["rename", "web01", "web01"], "already"),
    (["rename", "nosuch", "x"], "no such domain"),
    (["create", "{}", "later"], "usage"),
])
def test_bad_arguments_fail_clearly_and_change_nothing(one, args, words):
    before = one.domains()
    err = ctl_fails(one, *args)
    assert words in err, err
    assert one.proc.poll() is None
    assert one.domains() == before
    assert answers_ok(*one.addr)


def test_operations_refused_while_one_is_in_progress(one):
    one.ok("migrate", "web01", "out", "30")
    for args in (["migrate", "web01--migratedaway", "out", "1"],
                 ["migrate", "1", "local", "1"],
                 ["save", "1", "1"],
                 ["rename", "1", "other"]):
        assert "migrating-out" in ctl_fails(one, *args), args
    assert one.dom("web01--migratedaway")["operation"] == "migrating-out"


def test_names_too_long_for_the_suffixes(one):
    one.ok("rename", "web01", LONG)
    assert "longer than" in ctl_fails(one, "migrate", LONG, "out", "1")
    assert "longer than" in ctl_fails(one, "migrate", LONG, "local", "1")
    assert [(d["name"], d["state"]) for d in one.domains()] == [(LONG, "running")]


def test_destroying_either_half_of_a_local_migration(one):
    one.ok("migrate", "web01", "local", "30")
    one.ok("destroy", "web01--incoming")
    d = one.dom("web01")
    assert (d["domid"], d["state"], d["operation"]) == (1, "running", None)
    wait_for(lambda: [x["name"] for x in one.domains()] == ["web01"], 5, what="incoming gone")
    one.ok("migrate", "web01", "local", "30")
    one.ok("destroy", "web01--migratedaway")
    wait_for(lambda: one.domains() == [], 5, what="both halves gone")


def test_sigterm_in_the_middle_of_every_operation(start, pool):
    addrs = [pool.take() for _ in range(5)]
    names = ["m-out", "m-local", "saved", "restored", "paused"]
    conf = "boot_time = 0\n" + "".join(domain_conf(n, *a) for n, a in zip(names, addrs))
    conf += block("m-in", *pool.take(), extra="  autostart = false\n")
    sim = start(conf)
    wait_for(lambda: len(sim.domains()) == 5, 5, what="boot")
    sim.ok("save", "restored", "0.1")
    wait_for(lambda: sim.dom("restored") is None, 5, what="saved")
    cfg = json.loads(sim.ok("capture", "paused")["config"])
    sim.ok("destroy", "paused")
    sim.ok("migrate", "m-out", "out", "60")
    sim.ok("migrate", "m-local", "local", "60")
    sim.ok("migrate", "m-in", "in", "60")
    sim.ok("save", "saved", "60")
    sim.ok("restore", "restored", "60")
    sim.ok("create", json.dumps(cfg), "paused")
    ops = sorted(d["operation"] or "-" for d in sim.domains())
    assert ops == ["-", "migrating-in", "migrating-in", "migrating-out", "migrating-out",
                   "restoring", "saving"]
    assert sim.stop() == 0

"""Kill -9 of yaokid at every step of a recovery, and at random moments.

After each kill yaokid is started again and must finish what it had begun:
every configured domain ends up running exactly once in simhv (none
missing, none left dying or shut down, none created twice), yaokid's status
agrees with simhv, and no intent record is left in the state dir.

Named steps use YAOKI_FAILPOINT (yaokid stops itself with SIGSTOP at that
step, then the test sends SIGKILL) or simhv's delays to hold a window open.
Random trials kill at a random moment after random failures.
YAOKI_KILL9_TRIALS sets the number of random trials (default 20);
YAOKI_KILL9_SEED makes a run repeatable (the seed is printed on failure).
"""
import collections
import json
import os
import random
import time

import pytest

from conftest import YAOKID, Proc, wait_for

NAMES = ["web01", "web02", "web03", "web04"]
# Fast timings; a huge max_recoveries and a short window so that hundreds of
# trials never make a domain unrecoverable (that has its own tests).
DEFAULTS = {"interval": "200ms", "timeout": "150ms", "failures": "2",
            "start_period": "1s", "backoff": "100ms", "backoff_max": "400ms",
            "max_recoveries": "100", "recovery_window": "1s"}
GLOBAL = {"max_parallel_recoveries": "2", "mass_failure_min": "100"}


def proc_state(pid):
    """The one-letter state of pid from /proc ('T' when stopped)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def kill9(y):
    y.proc.kill9()
    y.proc.log.close()


def wait_stopped(y, what):
    wait_for(lambda: proc_state(y.proc.pid) == "T" or not y.proc.alive(), 20,
             what=f"yaokid stopped at {what}; log:\n{y.log()[-3000:]}")
    assert y.proc.alive(), y.log()[-3000:]


def state_record(y, name):
    path = y.state_dir / f"{name}.state.json"
    return json.loads(path.read_text()) if path.exists() else None


def live(sim):
    """simhv's non-dying domains by name (lists, to see duplicates)."""
    out = collections.defaultdict(list)
    for d in sim.ctl("list")["domains"]:
        if d["state"] != "dying":
            out[d["name"]].append(d)
    return out


def settled(sim, y, names):
    """True when every name runs exactly once and yaokid agrees."""
    doms = live(sim)
    if any(len(doms.get(n, [])) != 1 or doms[n][0]["state"] != "running"
           for n in names):
        return False
    st = y.status()
    if st is None:
        return False
    for d in st["domains"]:
        if d["state"] != "healthy" or d["domid"] != doms[d["name"]][0]["domid"]:
            return False
    return True


def assert_settles(sim, y, names, timeout=30, context=""):
    try:
        wait_for(lambda: settled(sim, y, names), timeout, step=0.1,
                 what="every domain running exactly once")
    except AssertionError:
        doms = live(sim)
        lost = [n for n in names if not doms.get(n)]
        dup = [n for n in names if len(doms.get(n, [])) > 1]
        raise AssertionError(
            f"{context}: lost {lost}, duplicated {dup}\nsimhv: "
            f"{json.dumps(sim.ctl('list'))}\nstatus: {json.dumps(y.status())}"
            f"\nlog:\n{y.log()[-6000:]}")
    for n in names:
        # Written on yaokid's writer thread, a moment after the status.
        if state_record(y, n) is not None:
            rec = y.wait_record(n, lambda r: r["intent"] is None)
            assert rec["unrecoverable"] is False, (n, rec)
    # Stable: nothing is destroyed or created any more while every domain
    # gets 2 more probes (all healthy, so they pass).
    ids = {n: live(sim)[n][0]["domid"] for n in names}
    running = y.recoveries_running()
    for n in names:
        y.wait_probes(n, 2)
    assert {n: live(sim)[n][0]["domid"] for n in names} == ids, context
    assert running == 0 and y.recoveries_running() == 0, context
    assert all(d["state"] == "healthy" for d in y.status()["domains"]), context
    return ids


def make(sim_factory, yaokid_factory, names=NAMES):
    sim = sim_factory(names)
    y = yaokid_factory(sim, {n: {} for n in names}, glob=GLOBAL,
                       defaults=DEFAULTS)
    return sim, y


def restart(y, env=None):
    y.start(env=env)
    return y


def start_nowait(y, env):
    """Starts yaokid without waiting for its socket (it may stop first)."""
    full = dict(os.environ)
    full.update(env)
    y.proc = Proc([YAOKID, "-f", "-v", "-c", str(y.conf)], y.log_path, env=full)


# ---- named steps ------------------------------------------------------------


def test_kill_after_intent_is_written(sim_factory, yaokid_factory):
    sim, y = make(sim_factory, yaokid_factory)
    y.start(env={"YAOKI_FAILPOINT": "intent"})
    before = assert_settles(sim, y, NAMES)
    sim.crash("web01")
    wait_stopped(y, "intent")
    rec = state_record(y, "web01")
    assert rec["intent"] is not None and rec["intent"]["domid"] == before["web01"]
    kill9(y)
    # yaokid is dead; the crashed domain is still there, shut down.
    assert live(sim)["web01"][0]["state"] == "shutdown"
    restart(y)
    after = assert_settles(sim, y, NAMES, context="intent")
    assert after["web01"] > before["web01"]
    assert {n: after[n] for n in NAMES[1:]} == {n: before[n] for n in NAMES[1:]}
    assert "resuming the recovery interrupted at domain %d" % before["web01"] in y.log()


def test_kill_twice_at_the_intent(sim_factory, yaokid_factory):
    """The resumed recovery is itself killed at its intent."""
    sim, y = make(sim_factory, yaokid_factory)
    y.start(env={"YAOKI_FAILPOINT": "intent"})
    before = assert_settles(sim, y, NAMES)
    sim.ctl("guest", "web02", "error")
    wait_stopped(y, "intent")
    kill9(y)
    cut = len(y.log())
    start_nowait(y, {"YAOKI_FAILPOINT": "intent"})
    wait_stopped(y, "intent (resumed)")
    assert "resuming the recovery interrupted" in y.log()[cut:]
    kill9(y)
    restart(y)
    after = assert_settles(sim, y, NAMES, context="intent twice")
    assert after["web02"] > before["web02"]


@pytest.mark.parametrize("into_dying", [0.0, 1.2])
def test_kill_while_the_domain_is_dying(sim_factory, yaokid_factory, into_dying):
    """Right after the destroy is issued (0 s), and well into the dying."""
    sim, y = make(sim_factory, yaokid_factory)
    y.start()
    before = assert_settles(sim, y, NAMES)
    sim.ctl("delay", "web01", "destroy", "2.5")
    sim.crash("web01")

    def dying():
        return any(d["name"] == "web01" and d["state"] == "dying"
                   for d in sim.ctl("list")["domains"])
    wait_for(dying, 10, what="web01 dying")
    # The moment of the kill is the test's parameter (0 s or 1.2 s into a
    # 2.5 s dying), not a wait for something to happen.
    time.sleep(into_dying)
    kill9(y)
    assert "web01" not in live(sim)
    restart(y)
    after = assert_settles(sim, y, NAMES, context=f"dying+{into_dying}")
    assert after["web01"] > before["web01"]


def test_kill_after_destroy_before_create(sim_factory, yaokid_factory):
    sim, y = make(sim_factory, yaokid_factory)
    y.start(env={"YAOKI_FAILPOINT": "create"})
    before = assert_settles(sim, y, NAMES)
    sim.crash("web03")
    wait_stopped(y, "create")
    kill9(y)
    wait_for(lambda: "web03" not in live(sim), 10, what="web03 destroyed")
    restart(y)
    after = assert_settles(sim, y, NAMES, context="before create")
    assert after["web03"] > before["web03"]


def test_kill_between_create_and_unpause(sim_factory, yaokid_factory):
    """The domain was created paused and yaokid died before unpausing it:
    the half-built domain is destroyed and the domain created again."""
    sim, y = make(sim_factory, yaokid_factory)
    y.start(env={"YAOKI_FAILPOINT": "unpause"})
    before = assert_settles(sim, y, NAMES)
    sim.crash("web04")
    wait_stopped(y, "unpause")
    half = live(sim)["web04"]
    assert len(half) == 1 and half[0]["state"] == "paused", half
    assert state_record(y, "web04")["intent"]["creating"] is True
    kill9(y)
    restart(y)
    after = assert_settles(sim, y, NAMES, context="unpause")
    assert after["web04"] > half[0]["domid"] > before["web04"]


def test_kill_while_create_is_pending(sim_factory, yaokid_factory):
    """The create reached simhv and is still running when yaokid dies."""
    sim, y = make(sim_factory, yaokid_factory)
    y.start()
    before = assert_settles(sim, y, NAMES)
    sim.ctl("delay", "web01", "create", "2")
    sim.crash("web01")
    wait_for(lambda: "web01: creating the domain again" in y.log(), 10,
             what="create issued")
    # The request has reached simhv (its create delay is 2 s): yaokid writes
    # it from its event loop, so once yaokid has answered a control request
    # its loop has turned and the request is written; once simhv has
    # answered two requests after that, its loop has read it.
    assert y.status() is not None
    sim.ctl("list")
    sim.ctl("list")
    kill9(y)
    assert "web01" not in live(sim)
    restart(y)
    after = assert_settles(sim, y, NAMES, context="create pending")
    assert after["web01"] > before["web01"]


def test_kill_after_create_before_intent_is_cleared(sim_factory, yaokid_factory):
    sim, y = make(sim_factory, yaokid_factory)
    y.start(env={"YAOKI_FAILPOINT": "created"})
    before = assert_settles(sim, y, NAMES)
    sim.crash("web02")
    wait_stopped(y, "created")
    new = live(sim)["web02"][0]["domid"]
    assert new > before["web02"]
    assert state_record(y, "web02")["intent"] is not None
    kill9(y)
    cut = len(y.log())
    restart(y)
    after = assert_settles(sim, y, NAMES, context="created")
    # yaokid adopts its own creation: no second destroy or create.
    assert after["web02"] == new
    tail = y.log()[cut:]
    assert "web02: destroying domain" not in tail
    assert "web02: creating the domain again" not in tail
    assert "interrupted recovery had created domain %d" % new in tail
    y.wait_record("web02", lambda r: r["created_by_us"] is True and
                  r["created_domid"] == new)


def test_kill_with_recoveries_waiting_in_line(sim_factory, yaokid_factory):
    sim, y = make(sim_factory, yaokid_factory)
    y.start()
    before = assert_settles(sim, y, NAMES)
    for n in NAMES:
        sim.ctl("delay", n, "destroy", "1")
    for n in NAMES:
        sim.crash(n)
    wait_for(lambda: "recovery waits in line" in y.log(), 10, what="queue")
    kill9(y)
    restart(y)
    after = assert_settles(sim, y, NAMES, context="queued")
    assert all(after[n] > before[n] for n in NAMES)


# ---- random moments ---------------------------------------------------------


def test_kill_at_random_moments(sim_factory, yaokid_factory):
    trials = int(os.environ.get("YAOKI_KILL9_TRIALS", "20"))
    seed = int(os.environ.get("YAOKI_KILL9_SEED", str(random.randrange(1 << 30))))
    rng = random.Random(seed)
    sim, y = make(sim_factory, yaokid_factory)
    y.start()
    ids = assert_settles(sim, y, NAMES, context=f"seed {seed} start")
    lost = 0
    for trial in range(trials):
        ctx = f"seed {seed} trial {trial}"
        for n in NAMES:
            sim.ctl("delay", n, "destroy", rng.choice(["0", "0.1", "0.4", "0.8"]))
            sim.ctl("delay", n, "create", rng.choice(["0", "0.1", "0.4", "0.8"]))
        victims = rng.sample(NAMES, rng.randint(1, len(NAMES)))
        for v in victims:
            how = rng.choice(["crash", "error", "hang", "refuse"])
            if how == "crash":
                sim.crash(v)
            else:
                sim.ctl("guest", v, how)
        time.sleep(rng.uniform(0.0, 1.5))      # a random moment: the scenario
        kill9(y)
        if rng.random() < 0.3:
            time.sleep(rng.uniform(0.0, 1.0))  # the hypervisor moves on meanwhile
        restart(y)
        try:
            new = assert_settles(sim, y, NAMES, context=ctx)
        except AssertionError:
            lost += 1
            raise
        assert all(new[n] >= ids[n] for n in NAMES), ctx
        ids = new
    assert lost == 0
    print(f"kill -9: {trials} random trials, seed {seed}, 0 domains lost")

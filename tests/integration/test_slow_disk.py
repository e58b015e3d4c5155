"""A slow disk never stalls the probe loop: yaokid's state saves and
metrics_file writes run on its writer thread. An LD_PRELOAD shim
(slowfsync.c, built here) makes every fsync of a state or metrics file take
3 s longer and logs each one with its thread; meanwhile the probes keep
their schedule and yaokictl answers at once, and a recovery's destroy
reaches yaoki-simhv only after the fsync of its intent record returned."""
import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import wait_for

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "slowfsync.c")
DELAY_MS = 3000
INTERVAL_S = 0.2


@pytest.fixture(scope="module")
def shim(tmp_path_factory):
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler to build the fsync shim")
    out = tmp_path_factory.mktemp("shim") / "slowfsync.so"
    r = subprocess.run([cc, "-shared", "-fPIC", "-O2", "-Wall", "-o",
                        str(out), SRC, "-ldl"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return str(out)


def slow_env(shim, y, log, *dirs, delay_ms=DELAY_MS):
    """yaokid's environment: every fsync under dirs is delay_ms slower."""
    asan = os.environ.get("ASAN_OPTIONS", "")
    return {"LD_PRELOAD": shim,
            "YAOKI_SLOWFSYNC_MATCH": ":".join(str(d) for d in dirs),
            "YAOKI_SLOWFSYNC_MS": str(delay_ms),
            "YAOKI_SLOWFSYNC_LOG": str(log),
            # The sanitizer build: its runtime need not come first.
            "ASAN_OPTIONS": (asan + ":" if asan else "") +
            "verify_asan_link_order=0"}


def fsyncs(log):
    """The shim's log: (start, end, intent, tid, path) per fsync."""
    if not log.exists():
        return []
    out = []
    for line in log.read_text().splitlines():
        start, end, intent, tid, path = line.split(" ", 4)
        out.append((float(start), float(end), intent == "1", int(tid), path))
    return out


def slowed(log):
    """The fsyncs that were held DELAY_MS (files, not directories)."""
    return [f for f in fsyncs(log) if f[1] - f[0] >= DELAY_MS / 1000 * 0.9]


def ctl_latency(y):
    """Seconds yaokictl takes for `metrics` (the loop answers it)."""
    t = time.monotonic()
    text = y.metrics_text()
    return time.monotonic() - t, text


def test_slow_fsync_never_stalls_the_probes(sim_factory, yaokid_factory,
                                            tmp_path, shim):
    textdir = tmp_path / "textfile"
    textdir.mkdir(mode=0o755)
    mf = textdir / "yaoki.prom"
    log = tmp_path / "fsync.log"
    sim = sim_factory(["web01", "web02"])
    y = yaokid_factory(sim, {"web01": {}, "web02": {}},
                       glob={"metrics_file": f'"{mf}"'},
                       defaults={"interval": "200ms", "failures": "2"})
    y.start(env=slow_env(shim, y, log, y.state_dir, textdir))
    y.wait_state("web01", "healthy")
    y.wait_state("web02", "healthy")
    # A crash too: its recovery writes the intent record and more state.
    sim.crash("web01")
    p0 = y.probes("web02")
    t0 = time.monotonic()
    wall0 = time.time()
    worst = 0.0
    # Nine seconds of a disk that takes 3 s per fsync (metrics_file every
    # 5 s, state saves of the recovery): the loop answers all the time.
    while time.monotonic() - t0 < 9.0:
        lat, _ = ctl_latency(y)
        worst = max(worst, lat)
        time.sleep(0.1)     # the sampling step of this bounded window
    elapsed = time.monotonic() - t0
    grown = y.probes("web02") - p0
    held = [f for f in slowed(log) if f[1] > wall0]
    expected = elapsed / INTERVAL_S
    print(f"\nslow disk: {len(held)} fsyncs held {DELAY_MS} ms during "
          f"{elapsed:.1f} s; web02 probes +{grown:.0f} (schedule: "
          f"{expected:.0f}); worst yaokictl metrics latency {worst * 1000:.0f} ms")
    assert len(held) >= 2, fsyncs(log)
    # The delayed fsyncs all ran off the main thread (tid == pid).
    assert all(f[3] != y.proc.pid for f in fsyncs(log)), fsyncs(log)
    assert grown >= 0.7 * expected, (grown, expected)
    # Blocked, it took DELAY_MS or more; 2 s leaves room for a busy host.
    assert worst < 2.0, worst
    y.wait_state("web01", "healthy", timeout=60)
    assert y.recoveries("web01", "ok") == 1


def seconds_of_day(hms):
    h, m, s = hms.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def test_destroy_waits_for_the_intent_fsync(sim_factory, yaokid_factory,
                                            tmp_path, shim):
    log = tmp_path / "fsync.log"
    sim = sim_factory(["web01"])
    y = yaokid_factory(sim, {"web01": {}}, defaults={"failures": "2"})
    y.start(env=slow_env(shim, y, log, y.state_dir))
    y.wait_state("web01", "healthy", timeout=30)
    old = sim.domid("web01")
    sim.crash("web01")
    wait_for(lambda: sim.domid("web01") not in (None, old), 60,
             what=f"web01 re-created; log:\n{y.log()[-3000:]}")
    intents = [f for f in slowed(log) if f[2]]
    assert intents, fsyncs(log)
    start, end = intents[0][0], intents[0][1]
    m = re.search(r"^(\d\d:\d\d:\d\d\.\d{3}) \S+: info: web01: domid "
                  rf"{old} destroyed", sim.proc.text(), re.M)
    assert m, sim.proc.text()[-3000:]
    destroyed = seconds_of_day(m[1])
    # simhv logs UTC to the ms (truncated); the shim the epoch.
    end_of_day = (end % 86400)
    print(f"\nintent fsync {start % 86400:.3f}-{end_of_day:.3f}, "
          f"simhv destroy {destroyed:.3f} (+{(destroyed - end_of_day) * 1000:.0f} ms)")
    assert destroyed >= int(end_of_day * 1000) / 1000, (destroyed, end_of_day)
    # The recovery's "prepare" step is where the intent's time went.
    steps = re.search(r"web01: recovery steps: prepare ([\d.]+) ms", y.log())
    assert steps and float(steps[1]) >= DELAY_MS * 0.8, y.log()[-3000:]
    assert all(f[3] != y.proc.pid for f in fsyncs(log)), fsyncs(log)


def test_stop_writes_what_is_queued(sim_factory, yaokid_factory, tmp_path,
                                    shim):
    """SIGTERM while a state save waits on the slow disk: yaokid exits 0
    only once it is written."""
    log = tmp_path / "fsync.log"
    sim = sim_factory(["web01"])
    y = yaokid_factory(sim, {"web01": {}})
    y.start(env=slow_env(shim, y, log, y.state_dir))
    y.wait_state("web01", "healthy", timeout=30)
    assert y.ctl("pause", "web01").returncode == 0
    t = time.monotonic()
    assert y.stop() == 0
    took = time.monotonic() - t
    rec = y.state_record("web01")
    assert rec is not None and rec["maintenance"] is True, rec
    assert "signal 15: stopping after the recoveries and file writes in " \
        "progress" in y.log() or took >= DELAY_MS / 1000 * 0.5, y.log()[-2000:]


def test_slow_metrics_dir_never_delays_the_intent(sim_factory, yaokid_factory,
                                                  tmp_path, shim):
    """metrics_file has a writer of its own: with its directory's fsyncs
    taking 4.5 s of every 5 s, a recovery's intent record still goes to
    disk at once (one writer for both would queue it behind them)."""
    textdir = tmp_path / "textfile"
    textdir.mkdir(mode=0o755)
    log = tmp_path / "fsync.log"
    sim = sim_factory(["web01"])
    y = yaokid_factory(sim, {"web01": {}},
                       glob={"metrics_file": f'"{textdir / "yaoki.prom"}"'},
                       defaults={"failures": "2"})
    y.start(env=slow_env(shim, y, log, textdir, delay_ms=4500))
    y.wait_state("web01", "healthy", timeout=30)
    wait_for(lambda: slowed(log), 20, what="a held metrics fsync")
    # Past the 0.5 s gap after it: the next metrics write is held now.
    y.wait_probes("web01", 5)
    old = sim.domid("web01")
    sim.crash("web01")
    wait_for(lambda: sim.domid("web01") not in (None, old), 30,
             what=f"web01 re-created; log:\n{y.log()[-3000:]}")
    steps = wait_for(lambda: re.search(
        r"web01: recovery steps: prepare ([\d.]+) ms", y.log()), 10,
        what="the recovery's steps")
    assert float(steps[1]) < 1000, steps[0]

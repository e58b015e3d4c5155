"""Metrics against the real yaokid: the Prometheus text exposition of
`yaokictl metrics` and of metrics_file (written atomically for
node_exporter's textfile collector), checked with promtool and against
what really happened."""
import os
import re
import shutil
import stat
import subprocess
import time

import pytest

from conftest import wait_for

PROMTOOL = shutil.which("promtool")


def promtool_check(text):
    if PROMTOOL is None:
        pytest.fail("promtool is missing (Debian package prometheus)")
    r = subprocess.run([PROMTOOL, "check", "metrics"], input=text,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    # promtool's lint findings are printed even with status 0 on some versions.
    assert r.stdout.strip() == "" and r.stderr.strip() == "", r.stdout + r.stderr


def parse(text):
    """{(name, frozenset(labels)): value} and {name: type}."""
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split()
            types[name] = typ
            continue
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (\S+)', line)
        assert m, f"not an exposition line: {line!r}"
        labels = frozenset(re.findall(r'(\w+)="([^"]*)"', m.group(3) or ""))
        key = (m.group(1), labels)
        assert key not in samples, f"duplicate series {line!r}"
        samples[key] = float(m.group(4))
    return samples, types


def get(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


def metrics(y):
    r = y.ctl("metrics", json_out=False)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    return r.stdout


def test_exposition_valid_and_true(sim_factory, yaokid_factory):
    sim = sim_factory(["web01", "web02"])
    y = yaokid_factory(sim, {"web01": {}, "web02": {"max_recoveries": "5"}}).start()
    y.wait_state("web01", "healthy")
    y.wait_state("web02", "healthy")
    text = metrics(y)
    promtool_check(text)
    s, types = parse(text)
    assert types["yaoki_domain_state"] == "gauge"
    assert types["yaoki_probes_total"] == "counter"
    assert types["yaoki_probe_duration_seconds"] == "histogram"
    assert types["yaoki_recoveries_total"] == "counter"
    assert types["yaoki_hold"] == "gauge"
    assert types["yaoki_build_info"] == "gauge"
    assert get(s, "yaoki_build_info", version="0.1.0") == 1
    assert get(s, "yaoki_hold") == 0
    assert get(s, "yaoki_domains") == 2
    states = ["absent", "starting", "healthy", "failing", "recovering", "backoff",
              "unrecoverable", "paused"]
    for n in ("web01", "web02"):
        vals = {st: get(s, "yaoki_domain_state", domain=n, state=st) for st in states}
        assert vals == {st: (1 if st == "healthy" else 0) for st in states}
        assert get(s, "yaoki_probes_total", domain=n, result="ok") >= 1
        # (failures before the guest booted, within start_period, count too)
        assert get(s, "yaoki_probes_total", domain=n, result="fail") >= 0
        assert get(s, "yaoki_recoveries_total", domain=n, result="ok") == 0
        assert get(s, "yaoki_recoveries_total", domain=n, result="failed") == 0
        assert get(s, "yaoki_domain_recoveries_in_window", domain=n) == 0
        assert abs(get(s, "yaoki_domain_last_probe_timestamp_seconds", domain=n)
                   - time.time()) < 30
    assert get(s, "yaoki_domain_max_recoveries", domain="web01") == 3
    assert get(s, "yaoki_domain_max_recoveries", domain="web02") == 5
    # The histogram is cumulative, ends in +Inf == count, and counts every probe.
    buckets = sorted(((float(dict(k[1])["le"]), v) for k, v in s.items()
                      if k[0] == "yaoki_probe_duration_seconds_bucket"))
    assert buckets[-1][0] == float("inf")
    assert all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:]))
    count = get(s, "yaoki_probe_duration_seconds_count")
    assert buckets[-1][1] == count
    total = sum(get(s, "yaoki_probes_total", domain=n, result=r)
                for n in ("web01", "web02") for r in ("ok", "fail"))
    assert count == total
    assert 0 <= get(s, "yaoki_probe_duration_seconds_sum") < count * 0.2

    # Counters follow what happens: a failure, a recovery, state changes.
    old = sim.domid("web01")
    sim.ctl("guest", "web01", "error")
    wait_for(lambda: sim.domid("web01") not in (None, old), 20, what="recovery")
    y.wait_state("web01", "healthy")
    s2, _ = parse(metrics(y))
    assert get(s2, "yaoki_probes_total", domain="web01", result="fail") >= \
        get(s, "yaoki_probes_total", domain="web01", result="fail") + 3
    assert get(s2, "yaoki_probes_total", domain="web01", result="ok") > \
        get(s, "yaoki_probes_total", domain="web01", result="ok")
    assert get(s2, "yaoki_recoveries_total", domain="web01", result="ok") == 1
    assert get(s2, "yaoki_domain_recoveries_in_window", domain="web01") == 1
    assert get(s2, "yaoki_domain_last_recovery_timestamp_seconds", domain="web01") > 0
    assert get(s2, "yaoki_domain_last_recovery_timestamp_seconds", domain="web02") is None
    assert get(s2, "yaoki_recoveries_total", domain="web02", result="ok") == 0
    assert y.ctl("pause", "web02").returncode == 0
    s3, _ = parse(metrics(y))
    assert get(s3, "yaoki_domain_state", domain="web02", state="paused") == 1
    assert get(s3, "yaoki_domain_state", domain="web02", state="healthy") == 0
    promtool_check(metrics(y))


def test_failed_recovery_counted(sim_factory, yaokid_factory):
    sim = sim_factory(["web01"])
    y = yaokid_factory(sim, {"web01": {}},
                       defaults={"failures": "1", "start_period": "1s",
                                 "max_recoveries": "2", "backoff": "200ms"}).start()
    y.wait_state("web01", "healthy")
    sim.ctl("fail-create", "web01", "100")
    sim.ctl("guest", "web01", "refuse")
    y.wait_state("web01", "unrecoverable", timeout=30)
    text = metrics(y)
    promtool_check(text)
    s, _ = parse(text)
    assert get(s, "yaoki_recoveries_total", domain="web01", result="failed") >= 1
    assert get(s, "yaoki_recoveries_total", domain="web01", result="ok") == 0
    assert get(s, "yaoki_domain_state", domain="web01", state="unrecoverable") == 1


def test_metrics_file_atomic_and_current(sim_factory, yaokid_factory, tmp_path):
    sim = sim_factory(["web01"])
    tdir = tmp_path / "textfile"
    tdir.mkdir()
    mf = tdir / "yaoki.prom"
    y = yaokid_factory(sim, {"web01": {}}, glob={"metrics_file": f'"{mf}"'}).start()
    y.wait_state("web01", "healthy")
    wait_for(lambda: mf.exists(), 10, what="metrics_file")
    st = os.stat(mf)
    assert stat.S_IMODE(st.st_mode) == 0o644
    text = mf.read_text()
    promtool_check(text)
    s, _ = parse(text)
    assert get(s, "yaoki_build_info", version="0.1.0") == 1
    # It is rewritten by rename (a new inode every time), and every read
    # sees a whole file: a reader never catches it half-written.
    inodes = {st.st_ino}
    deadline = time.monotonic() + 15
    reads = 0
    while len(inodes) < 3 and time.monotonic() < deadline:
        with open(mf, "rb") as f:
            inodes.add(os.fstat(f.fileno()).st_ino)
            data = f.read().decode()
        reads += 1
        assert data.endswith('yaoki_build_info{version="0.1.0"} 1\n'), data[-200:]
        time.sleep(0.01)    # the poll step of this bounded loop that checks every read
    assert len(inodes) >= 3, "metrics_file not rewritten"
    # Only the .prom file is left: node_exporter reads nothing else there.
    leftovers = [p for p in os.listdir(tdir) if p != "yaoki.prom"]
    assert leftovers in ([], ) or all(".tmp." in p for p in leftovers)
    wait_for(lambda: os.listdir(tdir) == ["yaoki.prom"], 5, what="no temporary files")
    # The file follows the daemon's state.
    y.ctl("pause", "web01")
    wait_for(lambda: 'yaoki_domain_state{domain="web01",state="paused"} 1'
             in mf.read_text(), 15, what="paused in metrics_file")


def test_metrics_file_unwritable_is_not_fatal(sim_factory, yaokid_factory, tmp_path):
    sim = sim_factory(["web01"])
    mf = tmp_path / "no-such-dir" / "yaoki.prom"
    y = yaokid_factory(sim, {"web01": {}}, glob={"metrics_file": f'"{mf}"'}).start()
    y.wait_state("web01", "healthy")
    wait_for(lambda: "cannot write metrics_file" in y.log(), 15, what="warning")
    assert y.proc.alive()
    assert metrics(y)


def test_metrics_for_many_domains(sim_factory, yaokid_factory):
    names = [f"vm{i:03d}" for i in range(120)]
    sim = sim_factory(names)
    y = yaokid_factory(sim, {n: {} for n in names},
                       defaults={"interval": "1s", "timeout": "500ms"}).start()
    wait_for(lambda: all(d["state"] == "healthy" for d in y.status()["domains"]),
             30, what="all healthy")
    text = metrics(y)
    promtool_check(text)
    s, _ = parse(text)
    assert sum(1 for k in s if k[0] == "yaoki_domain_state") == 120 * 8
    assert get(s, "yaoki_domains") == 120

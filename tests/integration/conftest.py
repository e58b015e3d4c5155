"""Fixtures shared by the integration tests: the real yaoki-simhv, yaokid
and yaokictl binaries from the build tree, on loopback, in a temporary
directory. Every process a fixture starts is stopped by it (by PID)."""
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import time

import pytest

BUILDDIR = os.environ.get("YAOKI_BUILDDIR") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build")
SIMHV = os.path.join(BUILDDIR, "yaoki-simhv")
YAOKID = os.path.join(BUILDDIR, "yaokid")
YAOKICTL = os.path.join(BUILDDIR, "yaokictl")

# Each test gets its own 127.x.y.0/24 block so parallel leftovers never clash.
# Start from the pid so concurrent pytest runs on one machine rarely collide.
_nets = itertools.count(os.getpid() % 250)


def wait_for(pred, timeout, step=0.05, what="condition"):
    """Polls pred() until it returns a true value or timeout seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(step)        # the poll step of this bounded wait


def stays(pred, seconds, what="condition", step=0.05, min_checks=5):
    """Asserts that pred() holds at every look for `seconds` seconds and at
    least min_checks looks; fails at the first look where it does not.
    For what has no counter that proves time passed (yaoki-simhv alone);
    with yaokid, prefer Yaokid.wait_probes() and then one assertion."""
    deadline = time.monotonic() + seconds
    checks = 0
    while True:
        v = pred()
        checks += 1
        if not v:
            raise AssertionError(f"{what} no longer holds at look {checks} "
                                 f"(of a {seconds}s window): {v!r}")
        if checks >= min_checks and time.monotonic() >= deadline:
            return v
        time.sleep(step)        # the poll step of this bounded window


def metric_value(text, series):
    """The value of one series line (name with its labels, exactly as
    printed) of a Prometheus text exposition, or None when absent."""
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return None


def hook_runs(hook):
    """The JSON records a recording hook appended to HOOK.runs, in order."""
    p = str(hook) + ".runs"
    if not os.path.exists(p):
        return []
    with open(p) as f:
        return [json.loads(l) for l in f if l.strip()]


def pid_alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is as good as gone.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def free_port(addr):
    s = socket.socket()
    s.bind((addr, 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Proc:
    """A started process with its log file; stop() sends SIGTERM, then KILL."""

    def __init__(self, argv, log_path, env=None):
        self.argv = argv
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.p = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                  env=env, start_new_session=True)

    @property
    def pid(self):
        return self.p.pid

    def alive(self):
        return self.p.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.p.poll() is None:
            self.p.send_signal(sig)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)
        self.log.close()
        return self.p.returncode

    def kill9(self):
        self.p.kill()
        self.p.wait(5)
        return self.p.returncode

    def text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")


class Sim:
    """yaoki-simhv with N simulated guests on 127.0.<net>.<i>:8080."""

    def __init__(self, tmp, names, boot_time="200ms", extra=""):
        self.tmp = tmp
        self.net = next(_nets) % 250 + 2
        self.sock = str(tmp / "simhv.sock")
        self.addr = {}
        lines = [f"boot_time = {boot_time}", extra]
        for i, n in enumerate(names, start=1):
            a = f"127.{self.net}.{i // 250}.{i % 250 + 1}"
            self.addr[n] = (a, 8080)
            lines.append(f'domain "{n}" {{ listen = "{a}:8080" }}')
        self.conf = tmp / "simhv.conf"
        self.conf.write_text("\n".join(lines) + "\n")
        self.proc = Proc([SIMHV, "serve", "-f", "-c", str(self.conf), "-s", self.sock],
                         tmp / "simhv.log")
        wait_for(lambda: os.path.exists(self.sock) or not self.proc.alive(), 10,
                 what="simhv socket")
        assert self.proc.alive(), self.proc.text()

    def url(self, name, path="/healthz"):
        a, p = self.addr[name]
        return f"http://{a}:{p}{path}"

    def ctl(self, *args, check=True):
        r = subprocess.run([SIMHV, "ctl", "-s", self.sock, *map(str, args)],
                           capture_output=True, text=True, timeout=30)
        if check and r.returncode != 0:
            raise AssertionError(f"simhv ctl {args}: {r.stdout} {r.stderr}")
        return json.loads(r.stdout) if r.stdout.strip() else None

    def crash(self, name):
        """A crash that only yaokid acts on: the domain's xl monitor (if it
        has one; xl's default on_crash=destroy would destroy it) is killed
        first, as for a domain started with `xl create -e`."""
        self.ctl("monitor", name, "kill", check=False)
        return self.ctl("crash", name)

    def domains(self):
        return {d["name"]: d for d in self.ctl("list")["domains"] if d["state"] != "dying"}

    def domid(self, name):
        d = self.domains().get(name)
        return d["domid"] if d else None


class Yaokid:
    def __init__(self, tmp, sim, domains, glob=None, defaults=None, name="yaokid"):
        self.tmp = tmp
        self.sim = sim
        self.sock = str(tmp / f"{name}.sock")
        self.state_dir = tmp / "state"
        self.conf = tmp / f"{name}.conf"
        self.log_path = tmp / f"{name}.log"
        self.write_conf(domains, glob, defaults)
        self.proc = None

    def write_conf(self, domains, glob=None, defaults=None):
        lines = ['hypervisor = "sim"', f'state_dir = "{self.state_dir}"',
                 f'sim_socket = "{self.sim.sock}"', f'socket = "{self.sock}"']
        for k, v in (glob or {}).items():
            lines.append(f"{k} = {v}")
        d = {"interval": "200ms", "timeout": "150ms", "failures": "3",
             "start_period": "5s", "backoff": "300ms", "backoff_max": "1s"}
        d.update(defaults or {})
        lines.append("defaults {")
        lines += [f"  {k} = {v}" for k, v in d.items()]
        lines.append("}")
        for name, keys in domains.items():
            keys = dict(keys)
            keys.setdefault("url", f'"{self.sim.url(name)}"')
            lines.append(f'domain "{name}" {{')
            lines += [f"  {k} = {v}" for k, v in keys.items()]
            lines.append("}")
        self.conf.write_text("\n".join(lines) + "\n")

    def start(self, extra_args=(), env=None):
        """env: extra environment variables for this run (None: inherited)."""
        if os.path.exists(self.sock):
            pass
        full_env = None
        if env is not None:
            full_env = dict(os.environ)
            full_env.update(env)
        self.proc = Proc([YAOKID, "-f", "-v", "-c", str(self.conf), *extra_args],
                         self.log_path, env=full_env)
        wait_for(lambda: self.ctl_ok() or not self.proc.alive(), 10,
                 what="yaokid socket")
        assert self.proc.alive(), self.proc.text()
        return self

    def ctl_ok(self):
        try:
            return self.status() is not None
        except Exception:
            return False

    def ctl(self, *args, json_out=True):
        argv = [YAOKICTL, "-s", self.sock] + (["-j"] if json_out else []) + list(args)
        return subprocess.run(argv, capture_output=True, text=True, timeout=30)

    def status(self, name=None):
        r = self.ctl("status", *( [name] if name else []))
        if r.returncode != 0:
            return None
        return json.loads(r.stdout)

    def dom(self, name):
        st = self.status(name)
        return st["domains"][0] if st else None

    def state(self, name):
        d = self.dom(name)
        return d["state"] if d else None

    def wait_state(self, name, states, timeout=20):
        if isinstance(states, str):
            states = (states,)
        return wait_for(lambda: (self.dom(name) if self.state(name) in states else None),
                        timeout, what=f"{name} in {states}; log:\n{self.log()[-3000:]}")

    def log(self):
        return self.proc.text() if self.proc else ""

    # ---- metrics (`yaokictl metrics`); counters start at 0 with each run ----

    def metrics_text(self):
        r = self.ctl("metrics", json_out=False)
        assert r.returncode == 0, r.stderr
        return r.stdout

    def metric(self, series):
        """One series, e.g. 'yaoki_hold' or
        'yaoki_recoveries_total{domain="web01",result="ok"}'; None if absent."""
        return metric_value(self.metrics_text(), series)

    def probes(self, name):
        """yaoki_probes_total of name, summed over results (None: unknown domain)."""
        text = self.metrics_text()
        ok = metric_value(text, f'yaoki_probes_total{{domain="{name}",result="ok"}}')
        fail = metric_value(text, f'yaoki_probes_total{{domain="{name}",result="fail"}}')
        return None if ok is None else ok + fail

    def recoveries(self, name=None, result=None):
        """yaoki_recoveries_total (finished recoveries) of domain name, or of
        every domain when name is None, for result ("ok" or "failed") or
        summed over both when result is None. None: no such domain."""
        total, seen = 0, False
        for line in self.metrics_text().splitlines():
            m = re.fullmatch(r'yaoki_recoveries_total\{domain="([^"]*)",'
                             r'result="([^"]*)"\} (\S+)', line)
            if m and name in (None, m[1]) and result in (None, m[2]):
                total += float(m[3])
                seen = True
        return total if seen or name is None else None

    def recoveries_running(self):
        return self.metric("yaoki_recoveries_running")

    def wait_probes(self, name, n, timeout=30):
        """Waits until name's probes (all results) have grown by n from now:
        evidence that time passed for yaokid (its probes run at a fixed rate,
        never faster than the domain's interval), however slow the machine."""
        start = self.probes(name)
        assert start is not None, f"no probe counter for {name}"
        return wait_for(lambda: self.probes(name) >= start + n, timeout,
                        what=f"{n} more probes of {name} (from {start:.0f}); "
                             f"log:\n{self.log()[-2000:]}")

    def state_record(self, name):
        """name's state file (the persisted record) as JSON, or None."""
        path = self.state_dir / f"{name}.state.json"
        return json.loads(path.read_text()) if path.is_file() else None

    def wait_record(self, name, pred, timeout=10):
        """Waits until name's state file exists and pred(record) holds:
        yaokid writes it on its writer thread, a moment after the status
        changed. Returns the record."""
        def ok():
            r = self.state_record(name)
            return r if r is not None and pred(r) else None
        return wait_for(ok, timeout, what=f"{name}'s state file; "
                        f"now {self.state_record(name)}")

    def count(self, needle):
        return self.log().count(needle)

    def stop(self):
        return self.proc.stop() if self.proc else None


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:")


def assert_no_sanitizer_report(proc):
    """Under the ASan/UBSan build, any report in a daemon's log fails the test."""
    text = proc.text()
    for mark in SANITIZER_MARKS:
        if mark in text:
            i = text.index(mark)
            pytest.fail(f"{proc.argv[0]}: sanitizer report:\n{text[max(0, i - 200):i + 3000]}")


@pytest.fixture
def sim_factory(tmp_path):
    made = []

    def make(names, **kw):
        s = Sim(tmp_path, names, **kw)
        made.append(s)
        return s
    yield make
    for s in made:
        s.proc.stop()
    for s in made:
        assert_no_sanitizer_report(s.proc)


@pytest.fixture
def yaokid_factory(tmp_path):
    made = []

    def make(sim, domains, **kw):
        y = Yaokid(tmp_path, sim, domains, **kw)
        made.append(y)
        return y
    yield make
    for y in made:
        if y.proc:
            y.proc.stop()
    for y in made:
        if y.proc:
            assert_no_sanitizer_report(y.proc)

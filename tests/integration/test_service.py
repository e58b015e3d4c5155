"""Running yaokid as a service: the systemd unit (systemd-analyze verify),
sd_notify readiness, watchdog and stop, the LSB init script driving the
real daemon, the pid file, `make install` and the manual pages (mandoc
-Tlint, and every key, command, state, exit status and signal documented)."""
import os
import re
import shutil
import signal
import socket
import stat
import subprocess

import pytest

from conftest import BUILDDIR, YAOKICTL, YAOKID, Proc, wait_for

SRCDIR = os.environ.get("YAOKI_SRCDIR") or os.path.join(os.path.dirname(__file__), "..", "..")
UNIT = os.path.join(SRCDIR, "conf", "yaokid.service")
INIT = os.path.join(SRCDIR, "conf", "yaokid.init")
MAN = {p: os.path.join(SRCDIR, "man", p) for p in ("yaokid.8", "yaokictl.8", "yaoki.conf.5")}


def have_systemd_build():
    with open(os.path.join(BUILDDIR, "config.h")) as f:
        return re.search(r"^#define HAVE_SYSTEMD 1", f.read(), re.M) is not None


def unit_keys(path):
    """{(section, key): [values]} of a unit file."""
    keys, section = {}, None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = line.strip("[]")
                continue
            k, v = line.split("=", 1)
            keys.setdefault((section, k.strip()), []).append(v.strip())
    return keys


def make_var(name):
    with open(os.path.join(BUILDDIR, "Makefile")) as f:
        m = re.search(rf"^{name} = (.*)$", f.read(), re.M)
    return m.group(1).strip() if m else ""


def systemd_verify(unit_path, manpath):
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is missing")
    env = dict(os.environ, MANPATH=manpath, SYSTEMD_LOG_LEVEL="notice")
    r = subprocess.run(["systemd-analyze", "verify", unit_path], capture_output=True,
                       text=True, timeout=60, env=env)
    # verify prints unknown keys and bad values but may still exit 0.
    assert r.returncode == 0 and r.stdout.strip() == "" and r.stderr.strip() == "", \
        r.stdout + r.stderr


# ---- the unit ------------------------------------------------------------------

def test_unit_contents():
    k = unit_keys(UNIT)
    assert k[("Service", "Type")] == ["notify"]
    assert k[("Service", "Restart")] == ["on-failure"]
    assert re.fullmatch(r"\d+s", k[("Service", "WatchdogSec")][0])
    assert k[("Service", "RuntimeDirectory")] == ["yaoki"]
    assert k[("Service", "StateDirectory")] == ["yaoki"]
    assert k[("Service", "ExecStart")][0].split()[:2] == ["/usr/sbin/yaokid", "-f"]
    after = " ".join(k[("Unit", "After")]).split()
    # Upstream's units and Debian 12's (generated from its init scripts).
    for u in ("xenstored.service", "xen-init-dom0.service", "xendomains.service",
              "xen.service"):
        assert u in after, u
    # Never restarted along with Xen's services (apt restarts xen.service).
    assert ("Unit", "PartOf") not in k and ("Unit", "Requires") not in k
    # Device models libxl starts must survive a restart of yaokid.
    assert k[("Service", "KillMode")] == ["process"]
    # Hardening that would break libxl is absent.
    for bad in ("PrivateDevices", "ProtectKernelTunables", "ProtectClock",
                "DevicePolicy", "CapabilityBoundingSet", "NoNewPrivileges"):
        assert ("Service", bad) not in k, bad
    # /usr and /boot only: vif-nat edits /etc/dhcp; no PrivateTmp, which a
    # device model started for a domain would keep after yaokid stopped.
    assert k[("Service", "ProtectSystem")] == ["yes"]
    assert ("Service", "PrivateTmp") not in k
    assert k[("Install", "WantedBy")] == ["multi-user.target"]


def test_unit_verifies(tmp_path):
    man = tmp_path / "man"
    for page, path in MAN.items():
        d = man / f"man{page[-1]}"
        d.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, d / page)
    unit = tmp_path / "yaokid.service"
    unit.write_text(open(UNIT).read().replace("/usr/sbin/yaokid", os.path.abspath(YAOKID)))
    systemd_verify(str(unit), str(man))


def test_unit_verify_catches_mistakes(tmp_path):
    """The check above can fail: a misspelt key is reported."""
    unit = tmp_path / "yaokid.service"
    unit.write_text(open(UNIT).read().replace("/usr/sbin/yaokid", os.path.abspath(YAOKID))
                    .replace("WatchdogSec=", "WatchDogSec="))
    with pytest.raises(AssertionError):
        systemd_verify(str(unit), str(tmp_path))


# ---- sd_notify --------------------------------------------------------------------

class NotifySocket:
    def __init__(self, path):
        self.path = path
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.s.bind(path)
        self.s.settimeout(0.1)
        self.msgs = []

    def poll(self):
        while True:
            try:
                data = self.s.recv(4096)
            except (socket.timeout, BlockingIOError):
                return self.msgs
            self.msgs.append(data.decode())

    def has(self, line):
        return any(line in m.split("\n") for m in self.poll())

    def count(self, line):
        return sum(line in m.split("\n") for m in self.poll())


def start_notified(sim_factory, yaokid_factory, tmp_path, env_extra):
    if not have_systemd_build():
        pytest.skip("built without libsystemd")
    sim = sim_factory(["web01"])
    y = yaokid_factory(sim, {"web01": {}})
    ns = NotifySocket(str(tmp_path / "notify.sock"))
    env = {k: v for k, v in os.environ.items()
           if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")}
    env["NOTIFY_SOCKET"] = ns.path
    env.update(env_extra)
    y.proc = Proc([YAOKID, "-f", "-c", str(y.conf)], y.log_path, env=env)
    return sim, y, ns


def test_ready_watchdog_reload_stopping(sim_factory, yaokid_factory, tmp_path):
    sim, y, ns = start_notified(sim_factory, yaokid_factory, tmp_path,
                                {"WATCHDOG_USEC": "600000"})
    wait_for(lambda: ns.has("READY=1"), 10, what="READY=1")
    # Ready means serving: the socket answers at once.
    assert y.ctl("status").returncode == 0
    assert any(re.search(r"^STATUS=supervising 1 domains", m, re.M) for m in ns.poll())
    # Pets the watchdog well within WATCHDOG_USEC (600 ms): at least 4
    # times while web01 gets 11 probes (interval 200 ms, fixed rate: that
    # is >= 2 s of yaokid's own time, however slow the machine).
    n = ns.count("WATCHDOG=1")
    y.wait_probes("web01", 11)
    assert ns.count("WATCHDOG=1") - n >= 4
    # SIGHUP: RELOADING=1, then READY=1 again.
    ready = ns.count("READY=1")
    y.proc.p.send_signal(signal.SIGHUP)
    wait_for(lambda: ns.count("READY=1") > ready, 10, what="READY=1 after reload")
    assert ns.has("RELOADING=1")
    # SIGTERM: STOPPING=1 and a clean exit.
    y.proc.p.send_signal(signal.SIGTERM)
    y.proc.p.wait(30)
    assert y.proc.p.returncode == 0
    assert ns.has("STOPPING=1")


def test_no_watchdog_pings_without_watchdog_usec(sim_factory, yaokid_factory, tmp_path):
    sim, y, ns = start_notified(sim_factory, yaokid_factory, tmp_path, {})
    wait_for(lambda: ns.has("READY=1"), 10, what="READY=1")
    y.wait_probes("web01", 6)                # >= 1 s of yaokid's time
    assert ns.count("WATCHDOG=1") == 0


def test_watchdog_for_another_pid_is_ignored(sim_factory, yaokid_factory, tmp_path):
    sim, y, ns = start_notified(sim_factory, yaokid_factory, tmp_path,
                                {"WATCHDOG_USEC": "400000", "WATCHDOG_PID": "1"})
    wait_for(lambda: ns.has("READY=1"), 10, what="READY=1")
    y.wait_probes("web01", 6)                # >= 1 s: 5 watchdog periods of 200 ms
    assert ns.count("WATCHDOG=1") == 0


def test_ready_only_after_the_socket_serves(sim_factory, yaokid_factory, tmp_path):
    """A yaokid that cannot start never says READY=1."""
    if not have_systemd_build():
        pytest.skip("built without libsystemd")
    sim = sim_factory(["web01"])
    y = yaokid_factory(sim, {"web01": {}}, glob={"socket_group": '"no-such-group-yk"'})
    ns = NotifySocket(str(tmp_path / "notify.sock"))
    env = dict(os.environ, NOTIFY_SOCKET=ns.path)
    r = subprocess.run([YAOKID, "-f", "-c", str(y.conf)], env=env, capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 2
    assert not ns.has("READY=1")


# ---- pid file and the LSB init script ------------------------------------------------

def test_pidfile(sim_factory, yaokid_factory, tmp_path):
    sim = sim_factory(["web01"])
    pidfile = tmp_path / "yaokid.pid"
    y = yaokid_factory(sim, {"web01": {}}).start(extra_args=("-p", str(pidfile)))
    assert pidfile.read_text() == f"{y.proc.pid}\n"
    assert stat.S_IMODE(os.stat(pidfile).st_mode) == 0o644
    assert y.stop() == 0
    assert not pidfile.exists()


@pytest.fixture
def initscript(tmp_path):
    """The init script with its defaults file pointed at the test's files."""
    defaults = tmp_path / "default-yaokid"
    script = tmp_path / "yaokid.init"
    script.write_text(open(INIT).read().replace("/etc/default/yaokid", str(defaults)))
    script.chmod(0o755)
    return script, defaults


def run_init(script, *args):
    return subprocess.run(["/bin/sh", str(script), *args], capture_output=True,
                          text=True, timeout=90)


def test_lsb_header():
    text = open(INIT).read()
    hdr = text[text.index("### BEGIN INIT INFO"):text.index("### END INIT INFO")]
    for key in ("Provides:", "Required-Start:", "Required-Stop:", "Default-Start:",
                "Default-Stop:", "Short-Description:"):
        assert f"# {key}" in hdr, key
    assert re.search(r"# Provides:\s+yaokid\b", hdr)
    assert re.search(r"# Should-Stop:.*\bxendomains\b", hdr)
    assert os.access(INIT, os.X_OK)
    assert subprocess.run(["/bin/sh", "-n", INIT], timeout=10).returncode == 0


def test_init_script_drives_the_daemon(sim_factory, yaokid_factory, tmp_path, initscript):
    script, defaults = initscript
    sim = sim_factory(["web01"])
    y = yaokid_factory(sim, {"web01": {}})
    pidfile = tmp_path / "yaokid.pid"
    defaults.write_text(f'DAEMON="{os.path.abspath(YAOKID)}"\nCONFIG="{y.conf}"\n'
                        f'PIDFILE="{pidfile}"\nSTOP_TIMEOUT=20\n')
    pid = None
    try:
        r = run_init(script, "status")
        assert r.returncode == 3, r
        r = run_init(script, "start")
        assert r.returncode == 0, r
        pid = int(pidfile.read_text())
        # It returned only once yaokid serves.
        assert y.status()["ok"] is True
        assert y.wait_state("web01", "healthy")
        r = run_init(script, "status")
        assert r.returncode == 0 and f"pid {pid}" in r.stdout
        r = run_init(script, "start")
        assert r.returncode == 0 and "already running" in r.stdout
        assert int(pidfile.read_text()) == pid
        # reload: an invalid file is refused with its line, nothing changes.
        good = y.conf.read_text()
        y.conf.write_text(good + "failures = many\n")
        r = run_init(script, "reload")
        assert r.returncode == 1 and f"{y.conf}:" in r.stderr, r
        y.conf.write_text(good)
        r = run_init(script, "reload")
        assert r.returncode == 0, r
        r = run_init(script, "stop")
        assert r.returncode == 0, r
        assert not os.path.exists(f"/proc/{pid}")
        assert not pidfile.exists()
        r = run_init(script, "status")
        assert r.returncode == 3
        r = run_init(script, "stop")
        assert r.returncode == 0
        # A configuration error fails the start with yaokid's status.
        y.conf.write_text(good + "failures = many\n")
        r = run_init(script, "start")
        assert r.returncode == 1 and f"{y.conf}:" in r.stderr, r
        assert not pidfile.exists()
        # A stale pid file (dead pid) is reported and then replaced.
        y.conf.write_text(good)
        pidfile.write_text("999999\n")
        r = run_init(script, "status")
        assert r.returncode == 1
        r = run_init(script, "restart")
        assert r.returncode == 0, r
        pid = int(pidfile.read_text())
        assert y.status()["ok"] is True
    finally:
        if pidfile.exists():
            run_init(script, "stop")
        if pid is not None and os.path.exists(f"/proc/{pid}"):
            os.kill(pid, signal.SIGKILL)


# ---- make install ------------------------------------------------------------------------

def test_make_install_puts_everything_in_place(tmp_path):
    dest = tmp_path / "dest"
    r = subprocess.run(["make", "-s", "-C", BUILDDIR, "install", f"DESTDIR={dest}"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    prefix = make_var("prefix")
    sbindir = make_var("sbindir").replace("${exec_prefix}", make_var("exec_prefix")) \
        .replace("${prefix}", prefix)
    sysconfdir = make_var("sysconfdir").replace("${prefix}", prefix)
    mandir = make_var("mandir").replace("${datarootdir}", make_var("datarootdir")) \
        .replace("${prefix}", prefix)
    root = lambda p: dest / p.lstrip("/")
    for prog in ("yaokid", "yaokictl"):
        assert os.access(root(f"{sbindir}/{prog}"), os.X_OK), prog
    for page in ("man5/yaoki.conf.5", "man8/yaokid.8", "man8/yaokictl.8"):
        assert root(f"{mandir}/{page}").is_file(), page
    init = root(f"{sysconfdir}/init.d/yaokid")
    assert stat.S_IMODE(os.stat(init).st_mode) == 0o755
    assert f'DAEMON={sbindir}/yaokid' in init.read_text()
    assert f'CONFIG={sysconfdir}/yaoki/yaoki.conf' in init.read_text()
    units = list(dest.rglob("yaokid.service"))
    assert len(units) == 1
    unitdir = "/" + str(units[0].parent.relative_to(dest))
    expected = make_var("systemdsystemunitdir") or subprocess.run(
        ["pkg-config", "--variable=systemdsystemunitdir", "systemd"],
        capture_output=True, text=True).stdout.strip() or "/lib/systemd/system"
    assert unitdir == expected
    unit = units[0].read_text()
    assert f"ExecStart={sbindir}/yaokid -f" in unit
    # The installed unit verifies, with the installed manual pages.
    check = tmp_path / "yaokid.service"
    check.write_text(unit.replace(f"{sbindir}/yaokid", str(root(f"{sbindir}/yaokid"))))
    systemd_verify(str(check), str(root(mandir)))
    # The configuration: valid, with paths of this prefix, and supervising
    # nothing until the operator names a domain.
    conf = root(f"{sysconfdir}/yaoki/yaoki.conf")
    assert stat.S_IMODE(os.stat(conf).st_mode) == 0o640
    text = conf.read_text()
    assert not re.search(r'^domain "', text, re.M), "an example domain is live"
    assert re.search(r'^#domain "web01"', text, re.M)
    r = subprocess.run([YAOKID, "-t", "-c", str(conf)], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    # And uninstall takes it all away again.
    r = subprocess.run(["make", "-s", "-C", BUILDDIR, "uninstall", f"DESTDIR={dest}"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert [p for p in dest.rglob("*") if p.is_file()] == []


def test_make_install_keeps_the_operators_configuration(tmp_path):
    dest = tmp_path / "dest"
    prefix = make_var("prefix")
    sysconfdir = make_var("sysconfdir").replace("${prefix}", prefix)
    conf = dest / sysconfdir.lstrip("/") / "yaoki" / "yaoki.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text('domain "mine" { url = "http://192.0.2.7/" }\n')
    for target in ("install", "uninstall"):
        r = subprocess.run(["make", "-s", "-C", BUILDDIR, target, f"DESTDIR={dest}"],
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        assert "keeping" in r.stdout, target
        assert conf.read_text() == 'domain "mine" { url = "http://192.0.2.7/" }\n', target


# ---- manual pages ----------------------------------------------------------------------

def test_man_pages_lint_clean():
    if shutil.which("mandoc") is None:
        pytest.fail("mandoc is missing")
    r = subprocess.run(["mandoc", "-Tlint", "-Wwarning", *MAN.values()],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout == "" and r.stderr == "", r.stdout + r.stderr


def man_text(page):
    r = subprocess.run(["mandoc", "-Tascii", MAN[page]], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0
    return re.sub(r".\x08", "", r.stdout)


def config_keys():
    with open(os.path.join(SRCDIR, "conf", "config.c")) as f:
        return re.findall(r'YK_OPT\("(\w+)"\)', f.read())


def test_man_pages_cover_the_contract():
    conf5 = man_text("yaoki.conf.5")
    keys = config_keys()
    assert len(keys) > 20
    for k in keys:
        assert re.search(rf"^\s+{k}\b", conf5, re.M), f"yaoki.conf(5) lacks {k}"
    for default in ("/var/lib/yaoki", "/run/yaoki/yaokid.sock", "30s", "0.5", "120s",
                    "200-399", "recreate", "1h", "5m"):
        assert default in conf5, default

    ctl8 = man_text("yaokictl.8")
    for cmd in ("status", "metrics", "version", "pause", "resume", "recover", "reset",
                "reload"):
        assert re.search(rf"^\s+{cmd}\b", ctl8, re.M), f"yaokictl(8) lacks {cmd}"
    assert re.search(r"EXIT STATUS", ctl8)
    for st in ("0", "1", "2"):
        assert re.search(rf"^\s+{st}\s", ctl8[ctl8.index("EXIT STATUS"):], re.M)
    assert "permission denied" in ctl8 or "socket_group" in ctl8
    for series in ("yaoki_domain_state", "yaoki_probes_total",
                   "yaoki_probe_duration_seconds", "yaoki_recoveries_total", "yaoki_hold",
                   "yaoki_build_info"):
        assert series in ctl8, series

    d8 = man_text("yaokid.8")
    for opt in ("-c", "-f", "-t", "-v", "-V", "-p"):
        assert re.search(rf"^\s+{opt}\b", d8, re.M), f"yaokid(8) lacks {opt}"
    for state in ("absent", "starting", "healthy", "failing", "recovering", "backoff",
                  "unrecoverable", "paused"):
        assert re.search(rf"^\s+{state}\b", d8, re.M), f"yaokid(8) lacks state {state}"
    for sig in ("SIGHUP", "SIGTERM", "SIGINT"):
        assert sig in d8
    for env in ("YAOKI_EVENT", "YAOKI_DOMAIN", "YAOKI_HOST", "YAOKI_REASON",
                "YAOKI_RECOVERIES", "NOTIFY_SOCKET", "WATCHDOG_USEC"):
        assert env in d8, env
    assert "mass-failure" in d8 and "hook_timeout" in d8
    for section in ("EXIT STATUS", "FILES", "EXAMPLES", "MIGRATING FROM MONIT",
                    "SEE ALSO"):
        assert re.search(rf"^{section}$", d8, re.M), section
    for page in MAN:
        assert re.search(r"^EXAMPLES$", man_text(page), re.M), page

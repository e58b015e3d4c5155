"""The host-side holes of yaokid(8)'s SECURITY section, against the real
yaokid: descriptors that programs libxl spawns must not inherit, one
yaokid per state_dir, the owner and mode of state_dir and of domain_config
files, and symbolic links planted where yaokid writes its files."""
import os
import socket
import subprocess

import pytest

from conftest import YAOKID, wait_for

O_CLOEXEC = 0o2000000


def fd_flags(pid):
    """{fd: (flags, target)} of every descriptor of pid above 2."""
    out = {}
    for name in os.listdir(f"/proc/{pid}/fd"):
        fd = int(name)
        if fd <= 2:
            continue
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                info = f.read()
        except FileNotFoundError:
            continue            # closed meanwhile
        for line in info.splitlines():
            if line.startswith("flags:"):
                out[fd] = (int(line.split()[1], 8), target)
    return out


def sockets_of(pid):
    return {fd for fd, (_, t) in fd_flags(pid).items() if t.startswith("socket:")}


def test_every_descriptor_is_close_on_exec(sim_factory, yaokid_factory):
    """Hotplug scripts and device models that libxl spawns (and the hook)
    must not inherit yaokid's descriptors: an open yaokictl connection
    above all (its accepted socket), but also the listener, the probes'
    sockets, the hypervisor's and the state files."""
    sim = sim_factory(["web01"])
    y = yaokid_factory(sim, {"web01": {}}).start()
    y.wait_state("web01", "healthy")
    before = sockets_of(y.proc.pid)
    conns = []
    try:
        for _ in range(3):      # connected, request line not sent yet
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.connect(y.sock)
            conns.append(c)
        wait_for(lambda: len(sockets_of(y.proc.pid) - before) >= 3, 10,
                 what="three accepted sockets in yaokid")
        leaks = {fd: t for fd, (fl, t) in fd_flags(y.proc.pid).items()
                 if not fl & O_CLOEXEC}
        assert leaks == {}, f"descriptors without FD_CLOEXEC: {leaks}"
    finally:
        for c in conns:
            c.close()


def run_yaokid(conf, *args):
    return subprocess.run([YAOKID, "-f", *args, "-c", str(conf)],
                          capture_output=True, text=True, timeout=30)


def test_second_yaokid_on_the_same_state_dir_exits_2(sim_factory, yaokid_factory,
                                                     tmp_path):
    """Two yaokids on one state_dir would both recover the same domains and
    remove each other's temporaries: the second refuses to start, even with
    a socket of its own; `yaokid -t` takes no lock."""
    sim = sim_factory(["web01"])
    y = yaokid_factory(sim, {"web01": {}}).start()
    y.wait_state("web01", "healthy")
    conf = tmp_path / "second.conf"
    conf.write_text(y.conf.read_text().replace(
        f'socket = "{y.sock}"', f'socket = "{tmp_path}/second.sock"'))
    assert f'{tmp_path}/second.sock' in conf.read_text()
    planted = y.state_dir / "web01.state.json.tmp.4242"   # another's write
    planted.write_text("{")
    r = run_yaokid(conf)
    assert r.returncode == 2, r
    assert (f"yaokid: state dir {y.state_dir} is in use by another yaokid "
            f"(pid {y.proc.pid}); one yaokid per state_dir") in r.stderr
    assert not os.path.exists(tmp_path / "second.sock")
    assert planted.exists()
    r = run_yaokid(conf, "-t")
    assert r.returncode == 0 and "configuration OK" in r.stdout, r
    assert y.state("web01") == "healthy"
    # The lock dies with its holder, kill -9 included.
    y.proc.kill9()
    y.proc.log.close()
    y.proc = None
    y2 = yaokid_factory(sim, {"web01": {}}, name="second")
    y2.state_dir = y.state_dir
    y2.write_conf({"web01": {}})
    y2.start()
    y2.wait_state("web01", "healthy")


@pytest.mark.parametrize("mode,owner,what", [
    (0o770, None, "writable by its group (mode 0770)"),
    (0o1777, None, "writable by anybody (mode 1777)"),
    (0o700, 4242, "owned by uid 4242; it must be owned by root"),
])
def test_untrusted_state_dir_cannot_start(sim_factory, yaokid_factory, mode, owner,
                                          what):
    """state_dir holds captured configurations, which libxl runs as root."""
    if owner is not None and os.geteuid() != 0:
        pytest.skip("chown needs root")
    sim = sim_factory(["web01"])
    y = yaokid_factory(sim, {"web01": {}})
    y.state_dir.mkdir()
    os.chmod(y.state_dir, mode)
    if owner is not None:
        os.chown(y.state_dir, owner, -1)
    r = run_yaokid(y.conf)
    assert r.returncode == 2, r
    assert f"yaokid: state dir {y.state_dir}: {what}" in r.stderr, r.stderr
    assert os.listdir(y.state_dir) == []          # not even the lock


def test_untrusted_domain_config_is_a_configuration_error(sim_factory, yaokid_factory,
                                                          tmp_path):
    """A domain_config is code that runs as root (bootloader, device model
    arguments): writable by others, it is refused with its line, by -t, at
    start and at reload; at a recovery it is checked again."""
    sim = sim_factory(["web01"])
    dc = tmp_path / "web01.json"
    dc.write_text("{}")
    os.chmod(dc, 0o666)
    y = yaokid_factory(sim, {"web01": {"domain_config": f'"{dc}"'}})
    lines = y.conf.read_text().splitlines()
    line = next(i for i, l in enumerate(lines, 1)
                if l.strip().startswith("domain_config"))
    want = (f"{y.conf}:{line}: domain_config {dc}: writable by anybody "
            f"(mode 0666); only its owner may write it")
    r = subprocess.run([YAOKID, "-t", "-c", str(y.conf)], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1 and want in r.stderr, r
    r = run_yaokid(y.conf)
    assert r.returncode == 1 and want in r.stderr, r
    os.chmod(dc, 0o644)
    r = subprocess.run([YAOKID, "-t", "-c", str(y.conf)], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r
    y.start()
    y.wait_state("web01", "healthy")
    # Made writable while yaokid runs: a reload is rejected...
    os.chmod(dc, 0o664)
    r = y.ctl("reload", json_out=False)
    assert r.returncode == 1 and "writable by its group" in r.stderr, r
    # ...and a recovery refuses to create from it.
    sim.crash("web01")
    wait_for(lambda: f"domain_config {dc}: writable by its group" in y.log(), 20,
             what="the recovery's refusal")
    assert sim.domid("web01") is None or sim.domains()["web01"]["state"] != "running"


def test_links_planted_in_the_metrics_directory(sim_factory, yaokid_factory, tmp_path):
    """A user who may write the textfile directory (here: a sticky 1777 one)
    plants links at metrics_file's temporary name and at metrics_file
    itself, pointing at a file of root's: the file is neither written,
    truncated nor chmodded; metrics_file becomes a regular file."""
    sim = sim_factory(["web01"])
    tf = tmp_path / "textfile"
    tf.mkdir()
    os.chmod(tf, 0o1777)
    victim = tmp_path / "shadow"
    victim.write_text("root:secret\n")
    os.chmod(victim, 0o600)
    mf = tf / "yaoki.prom"
    y = yaokid_factory(sim, {"web01": {}}, glob={"metrics_file": f'"{mf}"'})
    y.proc = None
    y.start()
    tmp = tf / f"yaoki.prom.tmp.{y.proc.pid}"
    os.symlink(victim, tmp)
    if mf.exists() or mf.is_symlink():
        mf.unlink()
    os.symlink(victim, mf)
    wait_for(lambda: not mf.is_symlink() and mf.exists() and
             "yaoki_build_info" in mf.read_text(), 20, what="metrics_file rewritten")
    assert victim.read_text() == "root:secret\n"
    assert os.stat(victim).st_mode & 0o7777 == 0o600
    assert not tmp.exists() and not tmp.is_symlink()


def test_metrics_directory_others_may_write_is_refused(sim_factory, yaokid_factory,
                                                       tmp_path):
    sim = sim_factory(["web01"])
    tf = tmp_path / "textfile"
    tf.mkdir()
    os.chmod(tf, 0o777)
    mf = tf / "yaoki.prom"
    y = yaokid_factory(sim, {"web01": {}}, glob={"metrics_file": f'"{mf}"'}).start()
    wait_for(lambda: f"cannot write metrics_file {mf}" in y.log(), 20, what="warning")
    assert f"{tf}: writable by anybody (mode 0777)" in y.log()
    assert not mf.exists()
    os.chmod(tf, 0o755)
    wait_for(lambda: mf.exists(), 20, what="metrics_file once the directory is safe")

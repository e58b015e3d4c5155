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

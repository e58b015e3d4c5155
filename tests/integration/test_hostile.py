"""Hostile guests: a guest is untrusted. Each case gets the right verdict
within the probe timeout, with bounded memory in yaokid, and nothing the
guest sent reaches the hook, a shell or the log unsanitised.

The simulated domain web01 exists in simhv (so yaokid probes it), but its
url points at a raw-socket server (hostile.py) that plays the guest."""
import json
import os
import re

import pytest

from conftest import YAOKID, wait_for
from hostile import HostileServer, self_signed, tls_context

TIMEOUT_MS = 1000
SLACK_MS = 700


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def sanitized_build():
    with open(YAOKID, "rb") as f:
        return b"__asan_init" in f.read()


@pytest.fixture
def hostile():
    made = []

    def make(behaviour, **kw):
        s = HostileServer(behaviour, **kw).start()
        made.append(s)
        return s
    yield make
    for s in made:
        s.stop()


def probe_domain(sim_factory, yaokid_factory, url, glob=None, **keys):
    sim = sim_factory(["web01"])
    dom = {"url": f'"{url}"'}
    dom.update(keys)
    y = yaokid_factory(sim, {"web01": dom}, glob=glob,
                       defaults={"interval": "500ms", "timeout": f"{TIMEOUT_MS}ms",
                                 "start_period": "0s", "failures": "1",
                                 "on_failure": '"none"'}).start()
    return sim, y


def verdict(y, n=2):
    """Waits for a first verdict, then for n more; returns the last one."""
    wait_for(lambda: (y.dom("web01") or {}).get("last_probe"), 15,
             what="a first verdict")
    if n:
        y.wait_probes("web01", n, timeout=15 + n * 5)
    p = y.dom("web01")["last_probe"]
    assert p is not None
    assert p["ms"] <= TIMEOUT_MS + SLACK_MS, p
    return p


CASES = {
    # name: (behaviour, server options, domain keys, ok, error text)
    "trickled headers": ("trickle_headers", {}, {}, False, "timed out after 1000 ms"),
    "trickled valid answer": ("trickle_complete", {}, {}, True, None),
    "endless body": ("endless_body", {}, {}, True, None),
    "endless body, text never comes": ("endless_body", {}, {"expect_body": '"needle"'},
                                       False, "in the first 64 KiB"),
    "10 MB body, text at its end": ("big_body", {"tail": b"needle"},
                                    {"expect_body": '"needle"'}, False, "in the first 64 KiB"),
    "10 MB body, text at its start": ("big_body", {}, {"expect_body": '"xxxx"'}, True, None),
    # Too much header is a broken answer, not a failed connection or an
    # out-of-memory condition of Dom0.
    "1 MB of headers": ("huge_headers", {}, {}, False, "not a valid HTTP response"),
    "1 MB header line": ("huge_headers", {"one_line": True}, {}, False,
                         "not a valid HTTP response"),
    "not HTTP": ("raw", {"data": b"\x00\x01\x02 SSH-2.0-OpenSSH_9.2\r\n\r\n"}, {},
                 False, "not a valid HTTP response"),
    "binary noise": ("raw", {"data": bytes(range(256)) * 64}, {}, False, None),
    "early close": ("early_close", {}, {}, False, "connection closed without a response"),
    "half a status line": ("half_status", {}, {}, False, None),
    "reset": ("reset", {}, {}, False, "connection reset"),
    "compression bomb": ("gzip_bomb", {}, {}, True, None),
    "compression bomb, text inside": ("gzip_bomb", {}, {"expect_body": '"ok"'},
                                      False, "body does not contain expected text"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_answer(sim_factory, yaokid_factory, hostile, case):
    behaviour, opts, keys, ok, error = CASES[case]
    srv = hostile(behaviour, **opts)
    sim, y = probe_domain(sim_factory, yaokid_factory, srv.url(), **keys)
    first = verdict(y, n=0)
    rss0 = rss_kb(y.proc.pid)
    p = verdict(y, n=4)
    grew = rss_kb(y.proc.pid) - rss0
    assert p["ok"] is ok, p
    if error:
        assert error in (p["error"] or ""), p
    if not ok:
        assert re.fullmatch(r"[ -~]*", p["error"]), p        # printable ASCII only
    assert first["ok"] is ok, first
    # Every verdict is the same: none is a timeout or a reset by chance.
    results = re.findall(r"web01: probe failed: (.*)", y.log())
    assert len(set(results)) <= 1, sorted(set(results))
    # Bounded memory: no body or header block is kept.
    limit = 64 * 1024 if sanitized_build() else 24 * 1024
    assert grew < limit, f"yaokid grew by {grew} kB"
    assert y.proc.alive()
    assert srv.connections >= 3
    # No compression was asked for: the bomb stays a few KiB of bytes.
    for req in srv.requests:
        assert b"accept-encoding" not in req.lower(), req
    # The log carries nothing raw from the guest.
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", y.log())


def test_redirect_into_dom0_is_never_followed(sim_factory, yaokid_factory, hostile):
    dom0 = hostile("ok")                               # a Dom0-local service
    srv = hostile("redirect", location=dom0.url("/admin/delete-everything"))
    sim, y = probe_domain(sim_factory, yaokid_factory, srv.url())
    p = verdict(y, n=4)
    assert p["ok"] is True and p["http_status"] == 302     # 302 is in 200-399
    assert srv.connections >= 3
    assert dom0.connections == 0


def test_redirect_is_a_failure_when_only_200_is_accepted(sim_factory, yaokid_factory, hostile):
    dom0 = hostile("ok")
    srv = hostile("redirect", location=dom0.url("/"))
    sim, y = probe_domain(sim_factory, yaokid_factory, srv.url(),
                          expect_status='"200"')
    p = verdict(y, n=2)
    assert p["ok"] is False and p["http_status"] == 302
    assert "status 302" in p["error"]
    assert dom0.connections == 0


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    return self_signed(tmp_path_factory.mktemp("tls"))


@pytest.mark.parametrize("mode", ["verify", "no-verify", "ca_file"])
def test_tls_with_a_bad_certificate(sim_factory, yaokid_factory, hostile, cert, mode):
    crt, key = cert
    srv = hostile("ok", tls=tls_context(crt, key))
    keys = {}
    if mode == "no-verify":
        keys["tls_verify"] = "false"
    if mode == "ca_file":
        keys["ca_file"] = f'"{crt}"'
    sim, y = probe_domain(sim_factory, yaokid_factory, srv.url(scheme="https"), **keys)
    p = verdict(y, n=2)
    if mode == "verify":
        assert p["ok"] is False, p
        assert p["error"].startswith("TLS:"), p
        assert srv.requests == []                  # nothing was sent in clear
    else:
        assert p["ok"] is True, p
        assert p["http_status"] == 200


def test_guest_text_never_reaches_hook_or_shell_raw(sim_factory, yaokid_factory,
                                                     hostile, tmp_path):
    """Whatever the guest answers, the hook gets its fixed arguments, a
    one-line printable YAOKI_REASON and valid JSON, and no shell runs."""
    pwned = tmp_path / "PWNED"
    evil = (b"HTTP/1.1 500 $(touch %s)`touch %s`; touch %s\x1b[31m\r\n"
            b"X-Evil: \x1b]0;title\x07\r\n"
            b"Content-Length: 40\r\n\r\n"
            b"\n18:00:00.000 yaokid[1]: notice: forged\n" % ((str(pwned).encode(),) * 3))
    srv = hostile("raw", data=evil)
    out = tmp_path / "hook"
    hook = tmp_path / "hook.sh"
    hook.write_text(
        "#!/bin/sh\n"
        f"printf '%s\\n' \"$#\" \"$1\" \"$2\" > {out}.args\n"
        f"printf '%s' \"$YAOKI_REASON\" > {out}.reason\n"
        f"cat > {out}.stdin\n")
    os.chmod(hook, 0o755)
    sim = sim_factory(["web01"])
    y = yaokid_factory(sim, {"web01": {"url": f'"{srv.url()}"'}},
                       glob={"hook": f'"{hook}"'},
                       defaults={"interval": "200ms", "timeout": "1s", "start_period": "0s",
                                 "failures": "1", "max_recoveries": "1",
                                 "backoff": "100ms"}).start()
    y.wait_state("web01", "unrecoverable", timeout=30)
    # The hook has finished writing its files once yaokid has reaped it.
    wait_for(lambda: re.search(r"hook unrecoverable web01 \(pid \d+\): exited 0", y.log()),
             10, what="hook ran and exited")
    assert open(f"{out}.args").read().split("\n")[:3] == ["2", "unrecoverable", "web01"]
    reason = open(f"{out}.reason", "rb").read()
    assert len(reason) <= 200 and re.fullmatch(rb"[ -~]*", reason), reason
    status = json.loads(open(f"{out}.stdin").read())
    err = status["domains"][0]["last_probe"]["error"]
    assert re.fullmatch(r"[ -~]*", err), err
    assert status["domains"][0]["last_probe"]["http_status"] == 500
    assert not pwned.exists()
    assert "forged" not in y.log()
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", y.log())

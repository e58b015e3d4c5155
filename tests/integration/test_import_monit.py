"""yaoki-import-monit on monit control files: the shapes found on Xen
Dom0s (fixtures/monit/wild: includes, set daemon with a start delay,
xm and xl execs, https, status and content, url tests, line continuations,
alert-only and restart checks, check process/system), each output checked
with yaokid -t, and broken files (fixtures/monit/broken) that must stop it
with FILE:LINE and exit 1."""
import os
import re
import subprocess

import pytest

from conftest import BUILDDIR, YAOKID

IMPORT = os.path.join(BUILDDIR, "yaoki-import-monit")
SRC = os.environ.get("YAOKI_SRCDIR") or os.path.join(
    os.path.dirname(__file__), "..", "..")
FIX = os.path.join(os.path.abspath(SRC), "tests", "integration", "fixtures",
                   "monit")
WILD = os.path.join(FIX, "wild")


def run_import(*args):
    return subprocess.run([IMPORT, *args], capture_output=True, text=True,
                          timeout=10)


def check_t(path):
    r = subprocess.run([YAOKID, "-t", "-c", str(path)], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"{path}: configuration OK\n"


def domains(text):
    """{name: {key: value}} of the domain sections, values as written."""
    out = {}
    for name, body in re.findall(r'^domain "([^"]+)" \{\n(.*?)^\}', text,
                                 re.M | re.S):
        keys = {}
        for line in body.splitlines():
            m = re.match(r'\s*(\w+)\s*=\s*("(?:[^"\\]|\\.)*"|\S+)', line)
            if m:
                keys[m.group(1)] = m.group(2)
        out[name] = keys
    return out


@pytest.fixture
def wild(tmp_path):
    out = tmp_path / "yaoki.conf"
    r = run_import("-o", str(out), os.path.join(WILD, "monitrc"))
    assert r.returncode == 0, r.stderr
    return out, r.stderr


def test_wild_output_passes_yaokid_t(wild):
    out, _ = wild
    check_t(out)


def test_wild_domains(wild):
    out, _ = wild
    text = out.read_text()
    d = domains(text)
    assert sorted(d) == ["db01", "shop01", "web01"]
    assert d["web01"] == {"url": '"http://10.0.0.5/health"',
                          "timeout": "5s", "failures": "3"}
    # named for the exec's domain, not the check's "shop-https"
    assert d["shop01"] == {"url": '"https://10.0.0.6/status?full=1"',
                           "timeout": "10s", "failures": "3",
                           "expect_status": '"200"', "expect_body": '"OK"',
                           "tls_verify": "false"}
    # url test; every 2 cycles of 30 s; the regex content is left out
    assert d["db01"] == {"url": '"http://10.0.0.20:8080/ready"',
                         "timeout": "4s", "failures": "2", "interval": "1m"}
    assert re.search(r"^defaults \{\n\tinterval\s+= 30s\t# monit: set "
                     r"daemon 30\n\tstart_period\s+= 1m\t# monit: start "
                     r"delay 60\n\}", text, re.M), text


def test_wild_notes_name_file_and_line(wild):
    _, err = wild
    lines = err.splitlines()
    rc = os.path.join(WILD, "monitrc")
    cd = os.path.join(WILD, "conf.d")
    want = [
        f"{rc}:3: not translated: set logfile (a setting of monit itself)",
        f"{rc}:5: not translated: set mail-format (a setting of monit "
        "itself)",
        f"{rc}:8: not translated: set httpd (a setting of monit itself)",
        f"{rc}:15: not translated: check system dom0-a (yaoki probes hosts "
        "over HTTP; skipped)",
        f"{rc}:19: not translated: check process sshd (yaoki probes hosts "
        "over HTTP; skipped)",
        f"{cd}/mail:4: not translated: check host mail01: if failed port 25 "
        "protocol smtp ... then alert: yaoki probes HTTP(S) only",
        f"{cd}/mail:5: not translated: check host mail01: if failed port 80 "
        "protocol http ... then restart: monit's restart/start/stop of the "
        "check (only \"then exec\" of xm/xl destroy and create is "
        "translated)",
        f"{cd}/mail:7: not translated: check host proxy: if failed port 80 "
        "protocol http ... then alert: an alert-only test (yaoki alerts "
        "through its hook only when a domain is unrecoverable)",
        f"{cd}/shop:4: not translated: check host shop-https: 3 times within "
        "5 cycles (yaoki counts failures in a row: failures = 3)",
        f"{cd}/shop:11: not translated: check host shop-https: else branch "
        "(yaoki alerts only when a domain is unrecoverable)",
        f"{cd}/shop:12: not translated: check host shop-https: if failed "
        "icmp ... then alert: only HTTP(S) tests are translated",
        f"{cd}/db:3: not translated: check host db01: content = \"^ready$\" "
        "(yaoki's expect_body is a plain substring that must occur; the "
        "body is not checked)",
    ]
    for w in want:
        assert w in lines, (w, lines)
    assert lines[-1].startswith("yaoki-import-monit: 3 domains from 5 check "
                                "hosts written to ")


def test_stdout_is_the_same_as_o(wild):
    out, _ = wild
    r = run_import(os.path.join(WILD, "monitrc"))
    assert r.returncode == 0, r.stderr
    assert r.stdout == out.read_text()


def test_monitrc_from_the_brief(tmp_path):
    """One check per file via include, as most Dom0s have it."""
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "monitrc").write_text("set daemon 30 with start delay 60\n"
                                      "include /nonexistent-yaoki/*.cfg\n"
                                      f"include {tmp_path}/conf.d/*\n")
    for i in range(1, 4):
        (tmp_path / "conf.d" / f"web{i:02d}").write_text(
            f"check host web{i:02d} with address 10.0.0.{i}\n"
            f"  if failed host 10.0.0.{i} port 80 protocol http request "
            '"/health" with timeout 5 seconds for 3 cycles then exec '
            f'"/usr/sbin/xm destroy web{i:02d} && /usr/sbin/xm create '
            f'/etc/xen/web{i:02d}.cfg"\n')
    out = tmp_path / "yaoki.conf"
    r = run_import("-o", str(out), str(tmp_path / "monitrc"))
    assert r.returncode == 0, r.stderr
    assert (f"{tmp_path}/monitrc:2: note: include /nonexistent-yaoki/*.cfg "
            "matches no file") in r.stderr
    d = domains(out.read_text())
    assert sorted(d) == ["web01", "web02", "web03"]
    assert d["web02"]["url"] == '"http://10.0.0.2/health"'
    check_t(out)


def test_strings_are_escaped(tmp_path):
    """A content with quotes, a backslash and a $ comes back unchanged
    through libconfuse (yaokid -t reads it)."""
    (tmp_path / "monitrc").write_text(
        "set daemon 10\n"
        "check host odd with address 192.0.2.9\n"
        "  if failed port 8080 protocol http request '/a%20b'\n"
        "     content = 'say \"hi\" for \\$5 \\\\ ${HOME}'\n"
        '  then exec "xl destroy odd; xl create /etc/xen/odd.cfg"\n')
    out = tmp_path / "yaoki.conf"
    r = run_import("-o", str(out), str(tmp_path / "monitrc"))
    assert r.returncode == 0, r.stderr
    d = domains(out.read_text())
    # ${HOME} is an operator in a regex ($ and {}): left out, noted
    assert "expect_body" not in d["odd"], out.read_text()
    assert "content = " in r.stderr
    assert d["odd"]["url"] == '"http://192.0.2.9:8080/a%20b"'
    check_t(out)
    (tmp_path / "monitrc").write_text(
        "check host odd with address 192.0.2.9\n"
        "  if failed port 8080 protocol http\n"
        "     content = 'say \"hi\" for \\$5 \\\\ now'\n"
        '  then exec "xl destroy odd; xl create /etc/xen/odd.cfg"\n')
    r = run_import("-o", str(out), str(tmp_path / "monitrc"))
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    assert 'expect_body   = "say \\"hi\\" for \\$5 \\\\ now"' in text, text
    check_t(out)


def test_bad_url_is_noted(tmp_path):
    (tmp_path / "monitrc").write_text(
        "check host odd with address 192.0.2.9\n"
        "  if failed port 80 protocol http request '/a b'\n"
        '  then exec "xl destroy odd; xl create /etc/xen/odd.cfg"\n')
    r = run_import(str(tmp_path / "monitrc"))
    assert r.returncode == 0, r.stderr
    assert domains(r.stdout) == {}
    assert (f"{tmp_path}/monitrc:2: not translated: check host odd: "
            "http://192.0.2.9:80/a b is not a valid URL") in r.stderr


def test_nothing_translatable_still_valid(tmp_path):
    (tmp_path / "monitrc").write_text(
        "check process sshd with pidfile /run/sshd.pid\n"
        "  if failed port 22 protocol ssh then restart\n")
    out = tmp_path / "yaoki.conf"
    r = run_import("-o", str(out), str(tmp_path / "monitrc"))
    assert r.returncode == 0, r.stderr
    assert domains(out.read_text()) == {}
    assert f"{tmp_path}/monitrc:1: not translated: no \"set daemon\"" in \
        r.stderr
    check_t(out)


BROKEN = [
    ("unterminated", "unterminated:5: unterminated string (the \" opened "
     "here is never closed)"),
    ("unknown", "unknown:4: check host web01: unknown statement "
     "\"frobnicate\""),
    ("missing-include", "missing-include:3: include "
     "/etc/monit/yaoki-test-no-such-file.cfg: No such file or directory"),
    ("cycle-a", "cycle-b:3: include cycle: {FIX}/broken/cycle-a is already "
     "being read (it is the control file)"),
]


@pytest.mark.parametrize("name,msg", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_file(tmp_path, name, msg):
    out = tmp_path / "yaoki.conf"
    r = run_import("-o", str(out), os.path.join(FIX, "broken", name))
    assert r.returncode == 1
    want = os.path.join(FIX, "broken", msg.replace("{FIX}", FIX))
    assert r.stderr.splitlines()[-1] == want, r.stderr
    assert r.stdout == ""
    assert not out.exists()


def test_usage_and_missing_file(tmp_path):
    r = run_import()
    assert r.returncode == 1
    assert r.stderr.startswith("usage: yaoki-import-monit")
    r = run_import(str(tmp_path / "nope"))
    assert r.returncode == 1
    assert r.stderr == f"{tmp_path}/nope: No such file or directory\n"

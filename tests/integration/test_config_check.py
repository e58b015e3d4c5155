"""yaokid -t: checks a configuration file and exits; never touches the
hypervisor, the socket or the state dir."""
import subprocess

from conftest import YAOKID


def run_t(path):
    return subprocess.run([YAOKID, "-t", "-c", str(path)], capture_output=True,
                          text=True, timeout=10)


def test_good_file(tmp_path):
    f = tmp_path / "y.conf"
    state = tmp_path / "state-never-created"
    f.write_text(f'hypervisor = "libxl"\nstate_dir = "{state}"\n'
                 'domain "web01" { url = "http://192.0.2.10/healthz" }\n')
    r = run_t(f)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"{f}: configuration OK\n"
    assert not state.exists()


def test_bad_file_lists_every_problem_with_its_line(tmp_path):
    f = tmp_path / "y.conf"
    f.write_text('domain "web01" {\n'
                 '  url = "ftp://192.0.2.10/"\n'
                 '  interval = 5 parsecs\n'
                 '}\n')
    r = run_t(f)
    assert r.returncode == 1
    assert r.stdout == ""
    assert f"{f}:" in r.stderr


def test_bad_values_each_named(tmp_path):
    f = tmp_path / "y.conf"
    f.write_text('domain "web01" {\n'
                 '  url = "ftp://192.0.2.10/"\n'
                 '  failures = 0\n'
                 '}\n'
                 'domain "web02" {\n'
                 '  timeout = 2s\n'
                 '}\n')
    r = run_t(f)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert any(l.startswith(f"{f}:2:") and "url" in l for l in lines), lines
    assert any(l.startswith(f"{f}:3:") and "failures" in l for l in lines), lines
    assert any(l.startswith(f"{f}:5:") and "url" in l for l in lines), lines


def test_missing_file(tmp_path):
    r = run_t(tmp_path / "nope.conf")
    assert r.returncode == 1
    assert "nope.conf" in r.stderr


def test_example_config_is_accepted():
    import os
    src = os.environ.get("YAOKI_SRCDIR", ".")
    r = run_t(os.path.join(src, "conf", "yaoki.conf"))
    assert r.returncode == 0, r.stderr


def test_version():
    r = subprocess.run([YAOKID, "-V"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0 and r.stdout.strip() == "yaokid 0.1.0"


def test_libxl_without_xen_exits_2(tmp_path):
    f = tmp_path / "y.conf"
    f.write_text(f'hypervisor = "libxl"\nstate_dir = "{tmp_path}/state"\n'
                 f'socket = "{tmp_path}/y.sock"\n'
                 'domain "web01" { url = "http://127.0.0.1:9/" }\n')
    r = subprocess.run([YAOKID, "-f", "-c", str(f)], capture_output=True,
                       text=True, timeout=20)
    assert r.returncode == 2
    assert "libxl" in r.stderr

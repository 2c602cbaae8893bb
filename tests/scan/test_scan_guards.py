"""Guard rails: bad targets stop `itaudit scan` (exit 2) before nmap starts, and a
missing nmap is an environment failure (exit 3) with the install command.

nmap's place on PATH is taken by a recorder script, so a test proves nmap was
never started, not only that the command failed.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from itaudit.scan.nmap_runner import install_hint


@pytest.fixture
def recorder(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """PATH whose `nmap` only records that it was called."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    calls = tmp_path / "nmap-calls"
    script = bindir / "nmap"
    script.write_text(f'#!/bin/sh\necho "$@" >> {calls}\nexit 0\n', encoding="ascii")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return {"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}, calls


def _scans_stored(workspace) -> int:
    db = workspace.inventory / "itaudit.db"
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        has = conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'scans'").fetchone()[0]
        return conn.execute("SELECT count(*) FROM scans").fetchone()[0] if has else 0


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        (["10.38.16.0/33"], "is not a valid network in CIDR form"),
        (["10.38.16.0/24", "10.38.16.999"], "'10.38.16.999' is not an IPv4 address"),
        ([""], "an empty target was given"),
        (["10.38.16.9-3"], "the range ends before it starts"),
        (["10.0.0.0/15"], "more than a /16"),
        (["10.1.0.0/16", "10.2.0.0/16"], "131,072 addresses together"),
        (["--", "-iL"], "looks like an nmap option"),
    ],
)
def test_bad_targets_exit_2_without_starting_nmap(run_cli, workspace, recorder, targets, message):
    env, calls = recorder
    result = run_cli("-w", str(workspace.root), "scan", *targets, env=env)
    assert result.returncode == 2, result.output
    assert message in result.stderr
    assert not calls.exists(), "nmap was started"
    assert _scans_stored(workspace) == 0


def test_no_targets_and_no_register_exit_2(run_cli, tmp_path, recorder):
    env, calls = recorder
    result = run_cli("-w", str(tmp_path / "empty"), "scan", env=env)
    assert result.returncode == 2
    assert "no targets" in result.stderr
    assert not calls.exists()


def test_the_units_subnets_together_are_bounded_too(run_cli, workspace, recorder):
    env, calls = recorder
    org = workspace.inventory / "organization.yaml"
    text = org.read_text(encoding="utf-8")
    text = text.replace("[10.38.0.0/23]", "[10.0.0.0/15]").replace(
        "gateway: 10.38.0.1\n", "gateway: 10.0.0.1\n"
    )
    org.write_text(text, encoding="utf-8")
    result = run_cli("-w", str(workspace.root), "scan", "--unit", "ho", env=env)
    assert result.returncode == 2
    assert "more than a /16" in result.stderr
    assert not calls.exists()


def test_an_unknown_unit_exits_2(run_cli, workspace, recorder):
    env, calls = recorder
    result = run_cli(
        "-w", str(workspace.root), "scan", "10.38.16.0/24", "--unit", "nowhere", env=env
    )
    assert result.returncode == 2
    assert "unknown unit 'nowhere'" in result.stderr
    assert not calls.exists()


def test_bad_ports_and_timing_exit_2(run_cli, workspace, recorder):
    env, calls = recorder
    for args in (["--ports", "22;80"], ["--timing", "9"]):
        result = run_cli("-w", str(workspace.root), "scan", "10.38.16.0/24", *args, env=env)
        assert result.returncode == 2, args
    assert not calls.exists()


def test_a_broken_port_list_exits_2_with_its_line(run_cli, workspace, recorder):
    env, calls = recorder
    ports = workspace.profiles / "data" / "scan-ports.yaml"
    ports.write_text(
        ports.read_text(encoding="utf-8").replace("risk: high", "risk: extreme", 1),
        encoding="utf-8",
    )
    result = run_cli("-w", str(workspace.root), "scan", "10.38.16.0/24", env=env)
    assert result.returncode == 2
    assert "scan-ports.yaml:" in result.stderr and "risk: must be one of" in result.stderr
    assert not calls.exists()


def test_missing_nmap_exits_3_with_the_install_command(run_cli, workspace, tmp_path):
    empty = tmp_path / "no-nmap"
    empty.mkdir()
    result = run_cli("-w", str(workspace.root), "scan", "10.38.16.0/24", env={"PATH": str(empty)})
    assert result.returncode == 3
    assert "nmap is not installed" in result.stderr
    assert install_hint() in result.stderr
    assert _scans_stored(workspace) == 0


def test_a_failing_nmap_exits_3_and_the_failed_scan_is_recorded(run_cli, workspace, tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "nmap"
    script.write_text(
        "#!/bin/sh\necho 'dnet: Failed to open device eth9' >&2\nexit 1\n", encoding="ascii"
    )
    script.chmod(0o755)
    result = run_cli(
        "-w",
        str(workspace.root),
        "scan",
        "10.38.16.0/24",
        env={"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"},
    )
    assert result.returncode == 3
    assert "nmap failed (exit 1): dnet: Failed to open device eth9" in result.stderr
    with sqlite3.connect(workspace.inventory / "itaudit.db") as conn:
        rows = conn.execute("SELECT status, message, unit FROM scans").fetchall()
    assert rows == [("failed", "nmap failed (exit 1): dnet: Failed to open device eth9", "dvvl")]


def test_a_store_url_that_cannot_work_exits_2_without_starting_nmap(run_cli, workspace, recorder):
    env, calls = recorder
    for url, message in (
        ("mysql://db/itaudit", "'mysql' is not a store URL"),
        ("sqlite://", "an SQLite store needs a file"),
    ):
        result = run_cli(
            "-w", str(workspace.root), "--store", url, "scan", "10.38.16.0/24", env=env
        )
        assert result.returncode == 2, url
        assert message in result.stderr
    assert not calls.exists(), "nmap was started"


def _fake_nmap(tmp_path: Path, body: str) -> dict[str, str]:
    """PATH whose `nmap` answers -V like nmap 7.93 and otherwise runs `body`."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "nmap"
    script.write_text(
        '#!/bin/sh\nif [ "$1" = "-V" ]; then echo "Nmap version 7.93 ( https://nmap.org )"; '
        f"exit 0; fi\n{body}\n",
        encoding="ascii",
    )
    script.chmod(0o755)
    return {"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}


def test_an_unreachable_store_exits_3_and_stops_nmap(run_cli, workspace, tmp_path):
    pid_file = tmp_path / "nmap.pid"
    env = _fake_nmap(tmp_path, f"echo $$ > {pid_file}\nexec sleep 60")
    # Nothing listens on port 1: the connection is refused at once.
    url = "postgresql://postgres@127.0.0.1:1/itaudit"
    result = run_cli("-w", str(workspace.root), "--store", url, "scan", "10.38.16.0/24", env=env)
    assert result.returncode == 3, result.stderr
    assert "store: cannot open postgresql://postgres@127.0.0.1:1/itaudit" in result.stderr
    assert "Traceback" not in result.stderr
    pid = int(pid_file.read_text())
    assert not Path(f"/proc/{pid}").exists(), "nmap still runs"


def test_nmap_ending_without_a_result_exits_3_and_the_scan_is_recorded_as_failed(
    run_cli, workspace, tmp_path
):
    env = _fake_nmap(tmp_path, "echo 'Starting Nmap 7.93'\nexit 0")
    result = run_cli("-w", str(workspace.root), "scan", "10.38.16.0/24", env=env)
    assert result.returncode == 3, result.stderr
    assert "cannot read nmap's result" in result.stderr
    assert "Traceback" not in result.stderr
    with sqlite3.connect(workspace.inventory / "itaudit.db") as conn:
        rows = conn.execute("SELECT status, substr(message, 1, 26) FROM scans").fetchall()
    assert rows == [("failed", "cannot read nmap's result ")]


def test_when_a_later_unit_fails_the_earlier_scans_are_kept_and_printed(
    run_cli, workspace, tmp_path
):
    # The first nmap run "finds" the recorded lab scan; the second fails.
    fixture = Path(__file__).parent / "fixtures" / "nmap-syn.xml"
    count = tmp_path / "runs"
    body = (
        f'echo x >> {count}\nif [ "$(wc -l < {count})" -gt 1 ]; then echo "boom" >&2; exit 1; fi\n'
        'while [ "$1" != "-oX" ]; do shift; done\n'
        f'cp {fixture} "$2"\nexit 0'
    )
    env = _fake_nmap(tmp_path, body)
    result = run_cli("-w", str(workspace.root), "scan", "--format", "json", env=env)
    assert result.returncode == 3
    assert "nmap failed (exit 1): boom" in result.stderr
    scans = json.loads(result.stdout)["scans"]
    assert [(s["scan"]["unit"], len(s["devices"])) for s in scans] == [("ho", 13)]
    with sqlite3.connect(workspace.inventory / "itaudit.db") as conn:
        rows = conn.execute("SELECT unit, status FROM scans ORDER BY id").fetchall()
    assert rows == [("ho", "complete"), ("dvvl", "failed")]


def test_a_folder_that_is_no_workspace_is_refused_before_nmap_starts(run_cli, tmp_path, recorder):
    env, calls = recorder
    typo = tmp_path / "ofice"
    result = run_cli("-w", str(typo), "scan", "127.0.0.1", env=env)
    assert result.returncode == 2, result.output
    assert f"{typo}: no itaudit workspace here" in result.stderr
    assert not calls.exists(), "nmap was started"
    assert not typo.exists()

"""Guard rails: bad targets stop `itaudit scan` (exit 2) before nmap starts, and a
missing nmap is an environment failure (exit 3) with the install command.

nmap's place on PATH is taken by a recorder script, so a test proves nmap was
never started, not only that the command failed.
"""

from __future__ import annotations

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
        (["--", "-iL"], "not an IPv4 address"),
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

"""`itaudit init` creates a workspace and never overwrites."""

from __future__ import annotations

import subprocess
import sys


def test_init_creates_workspace(tmp_path, run_cli):
    target = tmp_path / "office"
    result = run_cli("init", "--workspace", str(target))
    assert result.returncode == 0, result.output
    for rel in (
        "inventory/organization.yaml",
        "inventory/assets.csv",
        "inventory/incident-team.yaml",
        "reports",
    ):
        assert (target / rel).exists(), rel
    assert not list(target.rglob("*.db"))


def test_init_keeps_existing_files(tmp_path, run_cli):
    target = tmp_path / "office"
    run_cli("init", "-w", str(target))
    org = target / "inventory" / "organization.yaml"
    org.write_text("# edited by the officer\n", encoding="utf-8")
    (target / "inventory" / "assets.csv").unlink()
    result = run_cli("init", "-w", str(target))
    assert result.returncode == 0
    assert org.read_text(encoding="utf-8") == "# edited by the officer\n"
    assert (target / "inventory" / "assets.csv").exists()
    assert "Created 1 file(s)" in result.stdout


def test_init_twice_changes_nothing(tmp_path, run_cli):
    run_cli("init", "-w", str(tmp_path / "w"))
    result = run_cli("init", "-w", str(tmp_path / "w"))
    assert "nothing was changed" in result.stdout


def test_init_in_a_folder_it_cannot_write_exits_3(tmp_path, unreadable):
    locked = tmp_path / "locked"
    locked.mkdir()
    prefix = unreadable(locked)
    result = subprocess.run(
        [*prefix, sys.executable, "-m", "itaudit", "init", "-w", str(locked / "office")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert f"Error: cannot create the workspace in {locked / 'office'}" in result.stderr
    assert "Permission denied" in result.stderr and "Traceback" not in result.stderr


def test_a_mistyped_workspace_is_refused_and_left_untouched(tmp_path, run_cli):
    typo = tmp_path / "ofice"
    result = run_cli("-w", str(typo), "hosts")
    assert f"{typo}: no itaudit workspace here" in result.stderr
    assert f"run `itaudit -w {typo} init`" in result.stderr
    for args in (("hosts",), ("ingest", str(tmp_path)), ("check",)):
        result = run_cli("-w", str(typo), *args)
        assert result.returncode == 2, (args, result.output)
        assert "no itaudit workspace here" in result.stderr or (
            "organization.yaml: not found (run `itaudit init`" in result.stderr
        ), args
        assert not typo.exists(), args  # no empty store left behind to collect reports


def test_an_explicit_store_needs_no_workspace(tmp_path, run_cli):
    store = tmp_path / "collector.db"
    result = run_cli("-w", str(tmp_path / "nowhere"), "--store", f"sqlite:///{store}", "hosts")
    assert result.returncode == 0, result.output
    assert "0 host(s)" in result.stdout and store.exists()

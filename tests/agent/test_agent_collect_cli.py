"""`itaudit agent collect` on this Linux machine, end to end through the real CLI."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from itaudit.schema import validate_report


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    """One signed report of this machine, with the raw outputs kept as a bundle."""
    root = tmp_path_factory.mktemp("collect")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ITAUDIT_")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "itaudit",
            "agent",
            "collect",
            "--key",
            str(root / "key.pem"),
            "--out",
            str(root / "report.json"),
            "--unit",
            "ho",
            "--save-bundle",
            str(root / "bundle"),
        ],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return root, json.loads((root / "report.json").read_text(encoding="utf-8")), proc.stderr


def test_collect_writes_a_schema_valid_signed_report(collected):
    _root, report, _err = collected
    assert validate_report(report) == []
    assert report["signature"]["algorithm"] == "ed25519"
    assert report["unit"] == "ho"
    assert (report["platform"], report["agent"]["collector"]) == ("linux", "python")


def test_collect_fills_os_hardware_network_packages_and_security(collected):
    _root, report, _err = collected
    release = Path("/etc/os-release").read_text()
    assert f'VERSION_ID="{report["os"]["version"]}"' in release
    assert report["os"]["kernel"] == os.uname().release
    assert report["hardware"]["memory_bytes"] > 0 and report["hardware"]["cpu"]["threads"] >= 1
    assert any(i["kind"] == "loopback" and i["up"] for i in report["network"]["interfaces"])
    dpkg = subprocess.run(
        ["dpkg-query", "-W", "-f=${db:Status-Abbrev}${Package}\n"], capture_output=True, text=True
    )
    installed = {line[3:] for line in dpkg.stdout.splitlines() if line.startswith("ii ")}
    assert {s["name"] for s in report["software"]} == installed and "dpkg" in installed
    assert report["security"]["accounts"]["uid0"][0] == "root"
    # Counted again here from apt's own listing: the lines whose suites include a -security pocket.
    apt = subprocess.run(["apt", "list", "--upgradable"], capture_output=True, text=True)
    upgradable = [line.split()[0] for line in apt.stdout.splitlines() if "/" in line.split(" ")[0]]
    assert len(report["patches"]["pending"]) == len(upgradable)
    assert report["patches"]["pending_security_count"] == sum(
        1
        for name in upgradable
        if any(s.endswith("-security") for s in name.split("/")[1].split(","))
    )


def test_what_the_machine_lacks_is_an_error_with_a_reason(collected):
    _root, report, _err = collected
    by_probe = {e["probe"]: e for e in report["errors"]}
    if not Path("/sys/class/dmi/id").exists():
        assert by_probe["hardware.dmi"]["kind"] == "absent"
    # This machine has no graphical session: a fact (the rule does not concern it), not
    # an error; a desktop session would be "unsupported" (not read yet).
    assert report["security"]["screen_lock"]["graphical"] is False
    assert "security.screen_lock" not in by_probe


def test_key_is_created_readable_only_by_its_owner(collected):
    root, _report, err = collected
    assert stat.S_IMODE((root / "key.pem").stat().st_mode) == 0o600
    assert "created signing key" in err


def test_ingest_accepts_the_collected_report(collected, workspace, run_cli):
    root, report, _err = collected
    res = run_cli("ingest", str(root / "report.json"), "--workspace", str(workspace.root))
    assert res.returncode == 0, res.output
    assert "1 accepted" in res.stdout
    shown = run_cli(
        "hosts",
        "show",
        report["identity"]["hostname"],
        "--format",
        "json",
        "--workspace",
        str(workspace.root),
    )
    assert json.loads(shown.stdout)["report_id"] == report["report_id"]


def test_saved_bundle_parses_to_the_same_facts(collected, run_cli, tmp_path):
    root, report, _err = collected
    res = run_cli("agent", "parse", str(root / "bundle"), "--out", str(tmp_path / "again.json"))
    assert res.returncode == 0, res.output
    again = json.loads((tmp_path / "again.json").read_text(encoding="utf-8"))
    for key in (
        "identity",
        "os",
        "hardware",
        "network",
        "security",
        "patches",
        "software",
        "errors",
    ):
        assert again[key] == report[key], key
    assert "signature" not in again  # parse signs only with --key


def test_bad_unit_is_a_usage_error(run_cli):
    res = run_cli("agent", "collect", "--no-sign", "--unit", "Bad Unit!")
    assert res.returncode == 2
    assert "unit id" in res.stderr


def test_unwritable_key_location_is_an_environment_error(run_cli, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    res = run_cli(
        "agent", "collect", "--key", str(blocker / "key.pem"), "--out", str(tmp_path / "r.json")
    )
    assert res.returncode == 3
    assert "signing key" in res.stderr
    assert not (tmp_path / "r.json").exists()

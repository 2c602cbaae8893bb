"""`itaudit scan --diff` on a namespace lab that changes between two real scans:
a listener stops, another starts, a host is added and one removed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import netlab
import pytest

from itaudit.workspace import init_workspace

REPO = Path(__file__).resolve().parents[2]


def _scan(workspace: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ITAUDIT_")}
    return subprocess.run(
        [sys.executable, "-m", "itaudit", "-w", str(workspace), "scan", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=180,
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The scans around the lab changes: first (JSON), second (table --diff), third
    (JSON --diff, no change since the second), other (JSON --diff of other targets)."""
    reason = netlab.unavailable_for_scans()
    if reason:
        pytest.skip(f"namespace lab unavailable: {reason}")
    workspace = tmp_path_factory.mktemp("diff") / "ws"
    init_workspace(workspace)  # the sample register: the lab's devices are all unknown to it
    with netlab.Lab() as lab:
        target = f"{lab.address(0)}/28"
        lab.add_host("a", 2, "00:14:22:2d:00:02", (22, 80))
        lab.add_host("b", 3, "00:14:22:2d:00:03", (3389,))
        lab.add_host("c", 4, "00:14:22:2d:00:04", ())
        first = _scan(workspace, target, "--diff", "--format", "json")
        lab.stop_listener("a", 22)
        lab.listen("b", 8080)
        lab.remove_host("c")
        lab.add_host("d", 5, "b4:2e:99:2d:00:05", (23,))
        second = _scan(workspace, target, "--diff", "--lang", "en")
        third = _scan(workspace, target, "--diff", "--format", "json")
        other = _scan(workspace, f"{lab.address(0)}/29", "--diff", "--format", "json")
        addresses = {name: host.address for name, host in lab.hosts.items()}
        addresses["c"] = lab.address(4)
    for run in (first, second, third, other):
        assert run.returncode == 0, run.stderr
    return (
        json.loads(first.stdout)["scans"][0],
        second.stdout,
        json.loads(third.stdout)["scans"][0],
        json.loads(other.stdout)["scans"][0],
        addresses,
    )


def test_the_first_scan_has_nothing_to_compare_with(runs):
    first, *_ = runs
    assert first["diff"] is None


def test_appeared_gone_and_ports_newly_open_and_closed(runs):
    _, table, _, _, ip = runs
    assert "Compared with scan #1" in table
    assert f"+ appeared: {ip['d']} (b4:2e:99:2d:00:05)" in table
    assert f"- gone: {ip['c']} (00:14:22:2d:00:04)" in table
    assert f"! newly open on {ip['b']} (00:14:22:2d:00:03): 8080" in table
    assert f"- now closed on {ip['a']} (00:14:22:2d:00:02): 22" in table


def test_the_next_scan_compares_with_the_latest_one(runs):
    first, _, third, _, _ = runs
    diff = third["diff"]
    assert diff["previous_scan"] == first["scan"]["id"] + 1
    assert (diff["appeared"], diff["gone"], diff["newly_open"], diff["newly_closed"]) == (
        [],
        [],
        [],
        [],
    )


def test_a_scan_of_other_targets_is_not_compared(runs):
    first, _, _, other, _ = runs
    assert other["scan"]["target_key"] != first["scan"]["target_key"]
    assert other["diff"] is None

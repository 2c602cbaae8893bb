"""`itaudit scan` without raw-socket rights: a connect scan whose MAC addresses come
from the operating system's neighbour table (nmap cannot read them), devices
matched by MAC still, and a note of what root would add.

The scan runs as the ordinary user `nobody` (setpriv). Where that user cannot
run this Python (an interpreter installed under /root, as with pyenv), it runs
as root stripped of CAP_NET_RAW instead: for nmap the same situation, as a
plain `nmap -sS` there fails ("Failed to open device").
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

NOBODY = 65534
AS_NOBODY = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
WITHOUT_RAW = ["setpriv", "--bounding-set=-net_raw"]


@pytest.fixture(scope="module")
def drop() -> list[str]:
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed: cannot drop root's rights")
    probe = subprocess.run(
        [*AS_NOBODY, sys.executable, "-c", "import click, sqlalchemy, itaudit"],
        capture_output=True,
        cwd="/",
    )
    return AS_NOBODY if probe.returncode == 0 else WITHOUT_RAW


@pytest.fixture(scope="module")
def user_workspace(lab_scan):
    # Outside pytest's private temp folder, which an ordinary user cannot enter.
    root = Path(tempfile.mkdtemp(prefix="itaudit-user-"))
    try:
        root.chmod(0o755)
        ws = root / "ws"
        shutil.copytree(lab_scan.workspace, ws)
        for path in [ws, *ws.rglob("*")]:
            os.chown(path, NOBODY, NOBODY)
        yield ws
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def user_scan(lab_scan, user_workspace, drop):
    run = lab_scan.cli(
        "scan",
        str(lab_scan.site.network),
        "--unit",
        "lab",
        "--format",
        "json",
        "--lang",
        "en",
        prefix=drop,
        workspace=user_workspace,
    )
    assert run.returncode in (0, 1), run.stderr
    return run


def test_an_ordinary_user_gets_a_connect_scan_with_macs_from_the_neighbour_table(
    user_scan, drop, lab_scan
):
    (scan,) = user_scan.json()["scans"]
    assert scan["scan"]["options"]["privileged"] is False
    assert scan["scan"]["options"]["nmap_arguments"][:1] == ["-sT"]
    assert "--unprivileged" in scan["scan"]["options"]["nmap_arguments"]
    assert scan["scan"]["run_by"] == ("nobody" if drop == AS_NOBODY else "root")
    assert len(scan["devices"]) == 13
    assert scan["scan"]["options"]["ipv6"] is None  # IPv6 discovery needs raw sockets
    others = [d for d in scan["devices"] if d["address"] != lab_scan.lab.gateway]
    for d in others:
        assert (d["mac"], d["mac_source"]) == (
            lab_scan.lab.hosts_by_address()[d["address"]],
            "neighbour",
        )
    printer = next(d for d in others if d["address"] == lab_scan.site.a(13))
    assert printer["vendor"] == "Brother industries"  # nmap's own MAC prefix list


def test_it_says_what_root_would_add(user_scan):
    assert "Not run as root: TCP connect scan; MAC addresses only from this" in user_scan.stderr
    assert "MAC addresses and network-card vendors" in user_scan.stderr


def test_devices_are_still_recognised_by_mac(user_scan, lab_scan):
    (scan,) = user_scan.json()["scans"]
    by_addr = {d["address"]: d for d in scan["devices"]}
    a = lab_scan.site.a
    assert (by_addr[a(10)]["bucket"], by_addr[a(10)]["matched_by"]) == ("managed", "mac")
    assert (by_addr[a(13)]["bucket"], by_addr[a(13)]["asset_tag"]) == ("registered", "LAB-PRN-001")
    # The state-secret machine is identified by the MAC the neighbour table gave.
    assert (by_addr[a(11)]["bucket"], by_addr[a(11)]["matched_by"]) == ("forbidden", "mac")
    assert {p["port"] for p in by_addr[a(11)]["open_ports"]} == {445}

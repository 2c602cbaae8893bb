"""Ctrl-C during a real scan: nmap is stopped, the scan is recorded as failed."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import netlab
import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory):
    reason = netlab.unavailable_for_scans()
    if reason:
        pytest.skip(f"namespace lab unavailable: {reason}")
    workspace = tmp_path_factory.mktemp("interrupt") / "ws"
    workspace.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ITAUDIT_")}
    with netlab.Lab() as lab:
        lab.add_host("a", 10, "00:14:22:4d:00:10", (22,))
        # -T1 makes nmap wait 15 s between probes: it is certainly still running.
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "itaudit",
                "-w",
                str(workspace),
                "scan",
                str(lab.network),
                "--timing",
                "1",
                "--lang",
                "en",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO,
        )
        assert proc.stderr is not None
        first = proc.stderr.readline()  # "Running: nmap ...": nmap has started
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        _, rest = proc.communicate(timeout=60)
        nmaps = subprocess.run(
            ["pgrep", "-f", f"nmap.*{lab.network}"], capture_output=True, text=True
        ).stdout
    return proc.returncode, first + rest, workspace, nmaps


def test_ctrl_c_exits_130_with_a_message(interrupted):
    code, stderr, _, _ = interrupted
    assert "Running: nmap -sS" in stderr
    assert code == 130
    assert "interrupted; the scan is recorded as failed" in stderr


def test_nmap_is_stopped(interrupted):
    *_, nmaps = interrupted
    assert nmaps.strip() == ""


def test_the_interrupted_scan_is_recorded_as_failed(interrupted):
    _, _, workspace, _ = interrupted
    with sqlite3.connect(workspace / "inventory" / "itaudit.db") as conn:
        rows = conn.execute("SELECT status, message FROM scans").fetchall()
        observed = conn.execute("SELECT count(*) FROM scan_observations").fetchone()[0]
    assert rows == [("failed", "interrupted")]
    assert observed == 0

"""Stopping a real scan: Ctrl-C (while nmap reports progress, or at once, while
the store is still being opened) and SIGTERM stop nmap and record the scan as
failed; even SIGKILL of itaudit does not leave nmap scanning on its own.

The tests look only at their own process tree (the nmap itaudit started, by
pid), never at other processes of the machine, and whatever happens (a timeout
on a loaded machine included) they kill what they started before they end.
Waits are bounds scaled by ITAUDIT_TEST_TIMEOUT_SCALE (tests/timeouts.py)."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import netlab
import psutil
import pytest
from timeouts import scaled

from itaudit.workspace import init_workspace

REPO = Path(__file__).resolve().parents[2]
PROGRESS = re.compile(r"^nmap: \d+/256 addresses done \(\d+ up\).*, \d+:\d\d elapsed$")


def _start(lab: netlab.Lab, workspace: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ITAUDIT_")}
    # -T1 waits 15 s between probes: nmap is certainly still running, and says nothing of
    # its progress for 15 s; itaudit still shows the elapsed time every second.
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "itaudit", "-w", str(workspace), "scan", str(lab.network)),
            *("--timing", "1", "--lang", "en"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    return proc


def _nmap_children(proc: subprocess.Popen[str]) -> list[psutil.Process]:
    """The nmap processes itaudit (this test's child) started, waited for up to a bound."""
    deadline = time.monotonic() + scaled(30)
    while True:
        try:
            found = [
                p for p in psutil.Process(proc.pid).children(recursive=True) if p.name() == "nmap"
            ]
        except psutil.NoSuchProcess:
            return []
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def _still_running(nmaps: list[psutil.Process]) -> list[int]:
    """Those of the test's own nmap processes still alive, after giving them a moment."""
    _gone, alive = psutil.wait_procs(nmaps, timeout=scaled(10))
    return [p.pid for p in alive]


def _kill_tree(proc: subprocess.Popen[str], nmaps: list[psutil.Process]) -> None:
    """Stop whatever the test started, whatever state it is in."""
    with contextlib.suppress(psutil.NoSuchProcess):
        nmaps = nmaps + psutil.Process(proc.pid).children(recursive=True)
    for p in nmaps:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    if proc.poll() is None:
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.communicate(timeout=scaled(30))


def _interrupt(
    lab: netlab.Lab, workspace: Path, wait_for_progress: bool, how: signal.Signals
) -> tuple[int, str, list[int]]:
    proc = _start(lab, workspace)
    nmaps: list[psutil.Process] = []
    try:
        assert proc.stderr is not None
        lines: queue.Queue[str] = queue.Queue()
        reader = threading.Thread(target=lambda: [lines.put(x) for x in proc.stderr], daemon=True)
        reader.start()
        seen = [lines.get(timeout=scaled(60))]  # "Running: nmap ...": nmap has started
        if wait_for_progress:
            nmaps = _nmap_children(proc)
            deadline = time.monotonic() + scaled(8)
            with contextlib.suppress(queue.Empty):
                while not PROGRESS.match(seen[-1].rstrip("\n")):
                    seen.append(lines.get(timeout=max(0.0, deadline - time.monotonic())))
        else:
            # Ctrl-C at once: nmap may not be started yet; whatever was, is looked at.
            with contextlib.suppress(psutil.NoSuchProcess):
                nmaps = [
                    p
                    for p in psutil.Process(proc.pid).children(recursive=True)
                    if p.name() == "nmap"
                ]
        proc.send_signal(how)
        proc.wait(timeout=scaled(60))
        reader.join(timeout=scaled(10))
        while not lines.empty():
            seen.append(lines.get())
        return proc.returncode, "".join(seen), _still_running(nmaps)
    finally:
        _kill_tree(proc, nmaps)


@pytest.fixture(scope="module")
def lab():
    reason = netlab.unavailable_for_scans()
    if reason:
        pytest.skip(f"namespace lab unavailable: {reason}")
    with netlab.Lab() as lab:
        lab.add_host("a", 10, "00:14:22:4d:00:10", (22,))
        yield lab


WAYS = {
    "ctrl-c-during-progress": (True, signal.SIGINT),
    "ctrl-c-at-once": (False, signal.SIGINT),
    "sigterm": (False, signal.SIGTERM),
}


@pytest.fixture(scope="module", params=list(WAYS))
def interrupted(request, lab, tmp_path_factory):
    workspace = tmp_path_factory.mktemp("interrupt") / "ws"
    init_workspace(workspace)
    code, stderr, alive = _interrupt(lab, workspace, *WAYS[request.param])
    return request.param, code, stderr, workspace, alive


def test_it_exits_130_with_a_message(interrupted):
    _, code, stderr, _, _ = interrupted
    assert "Running: nmap -sS" in stderr
    assert code == 130
    assert "interrupted; the running scan is recorded as failed" in stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize("interrupted", ["ctrl-c-during-progress"], indirect=True)
def test_progress_is_shown_while_nmap_runs(interrupted):
    _, _, stderr, _, _ = interrupted
    assert any(PROGRESS.match(line) for line in stderr.splitlines()), stderr


def test_nmap_is_stopped(interrupted):
    *_, alive = interrupted
    assert alive == []


def test_the_interrupted_scan_is_recorded_as_failed(interrupted):
    _, _, _, workspace, _ = interrupted
    with sqlite3.connect(workspace / "inventory" / "itaudit.db") as conn:
        rows = conn.execute("SELECT status, message, finished_at IS NOT NULL FROM scans").fetchall()
        observed = conn.execute("SELECT count(*) FROM scan_observations").fetchone()[0]
    assert rows == [("failed", "interrupted", 1)]
    assert observed == 0


def test_nmap_does_not_outlive_a_killed_itaudit(lab, tmp_path):
    init_workspace(tmp_path)
    proc = _start(lab, tmp_path)
    nmaps: list[psutil.Process] = []
    try:
        assert proc.stderr is not None
        assert proc.stderr.readline().startswith("Running: nmap")
        nmaps = _nmap_children(proc)
        assert nmaps, "nmap is not running"
        proc.kill()
        proc.communicate(timeout=scaled(60))
        assert _still_running(nmaps) == []
    finally:
        _kill_tree(proc, nmaps)

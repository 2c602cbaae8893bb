"""The namespace lab leaves nothing behind: not when the code using it fails, not
when its process gets SIGTERM, and a lab whose process was killed outright is
swept away by the next lab."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import netlab
import pytest

HERE = Path(__file__).resolve().parent

# A process that builds a lab with one listening host, says its tag, and waits.
_OWNER = f"""
import sys, time
sys.path.insert(0, {str(HERE)!r})
import netlab
with netlab.Lab() as lab:
    lab.add_host("h", 10, "00:14:22:5e:00:10", (22,))
    print(lab.tag, flush=True)
    time.sleep(120)
"""


@pytest.fixture(autouse=True)
def _needs_namespaces():
    reason = netlab.unavailable()
    if reason:
        pytest.skip(f"namespace lab unavailable: {reason}")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _owner() -> tuple[subprocess.Popen[str], str, list[int]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _OWNER], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    tag = proc.stdout.readline().strip()
    assert tag, proc.stderr.read() if proc.stderr else ""
    listeners = [
        int(p)
        for p in subprocess.run(
            ["ip", "netns", "pids", f"ia-{tag}-h"], capture_output=True, text=True
        ).stdout.split()
    ]
    assert listeners, "the lab host has no listener"
    return proc, tag, listeners


def test_a_lab_is_removed_when_the_code_using_it_fails():
    with pytest.raises(RuntimeError, match="test failed half-way"), netlab.Lab() as lab:
        lab.add_host("h", 10, "00:14:22:5e:00:11", (22,))
        listener = lab.hosts["h"].listeners[22]
        assert netlab.lab_leftovers(lab.tag)  # it exists while in use
        raise RuntimeError("test failed half-way")
    assert netlab.lab_leftovers(lab.tag) == []
    assert listener.poll() is not None


def test_sigterm_tears_the_lab_down():
    proc, tag, listeners = _owner()
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert netlab.lab_leftovers(tag) == []
    assert not [p for p in listeners if _alive(p)]


def test_a_lab_left_by_a_killed_process_is_swept_by_the_next():
    proc, tag, listeners = _owner()
    proc.kill()
    proc.communicate(timeout=60)
    left = netlab.lab_leftovers(tag)
    assert f"netns ia-{tag}-h" in left and f"link iab{tag}" in left
    assert tag in netlab.sweep_stale()
    assert netlab.lab_leftovers(tag) == []
    assert not [p for p in listeners if _alive(p)]


def test_a_live_lab_is_not_swept():
    with netlab.Lab() as lab:
        lab.add_host("h", 10, "00:14:22:5e:00:12")
        assert lab.tag not in netlab.sweep_stale()
        assert f"netns ia-{lab.tag}-h" in netlab.lab_leftovers(lab.tag)

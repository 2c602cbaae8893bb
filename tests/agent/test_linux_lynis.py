"""Lynis beside `itaudit agent collect` on this machine: the facts both report agree.

Lynis is a peer no one here wrote (CI installs it: .ci/run). It runs only the
tests that read the shared facts, about 15-45 s, so the test is marked slow.
Compared: pending security updates (package by package), UID-0 accounts,
password maximum age, and whether an SSH server runs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
LYNIS = shutil.which("lynis") or ("/usr/sbin/lynis" if Path("/usr/sbin/lynis").exists() else None)
TESTS = "PKGS-7392 AUTH-9204 AUTH-9286 SSH-7402"


def _lynis_report(tmp_path: Path) -> dict[str, list[str]]:
    report, log = tmp_path / "lynis.dat", tmp_path / "lynis.log"
    subprocess.run(
        [
            LYNIS,
            "audit",
            "system",
            "--quick",
            "--no-colors",
            "--tests",
            TESTS,
            "--report-file",
            str(report),
            "--log-file",
            str(log),
        ],
        capture_output=True,
        timeout=300,
        check=False,
    )
    out: dict[str, list[str]] = {}
    for line in report.read_text(encoding="utf-8", errors="replace").splitlines():
        key, eq, value = line.partition("=")
        if eq:
            out.setdefault(key.removesuffix("[]"), []).append(value)
    out["_log"] = log.read_text(encoding="utf-8", errors="replace").splitlines()
    return out


@pytest.mark.skipif(LYNIS is None, reason="lynis is not installed (CI installs it in .ci/run)")
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")
def test_lynis_and_itaudit_agree_on_the_facts_both_report(tmp_path):
    lynis = _lynis_report(tmp_path)
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "itaudit",
            "agent",
            "collect",
            "--no-sign",
            "--out",
            str(tmp_path / "r.json"),
        ],
        capture_output=True,
        timeout=120,
        check=False,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    # Pending security updates, package by package. Lynis 3.0.8 also writes a stray
    # "1" line into vulnerable_package[] on Debian 12: only package names compare.
    theirs = {n for n in lynis.get("vulnerable_package", []) if not n.isdigit()}
    ours = {p["id"].split("=", 1)[0] for p in report["patches"]["pending"] if p["security"]}
    assert ours == theirs
    assert report["patches"]["pending_security_count"] == len(ours)
    # UID-0 accounts: Lynis warns only about more than one.
    truth = [
        ln.split(":")[0]
        for ln in Path("/etc/passwd").read_text().splitlines()
        if ln.split(":")[2:3] == ["0"]
    ]
    assert report["security"]["accounts"]["uid0"] == truth
    multiple = any(
        "Multiple users with UID 0" in ln or ("AUTH-9204" in ln and "Warning" in ln)
        for ln in lynis["_log"]
    )
    assert multiple == (len(truth) > 1)
    # Password maximum age: Lynis -1 and itaudit 0 both mean "never expires".
    max_days = int(lynis["password_max_days"][0])
    ours_days = report["security"]["password_policy"]["max_age_days"]
    assert (max_days if max_days > 0 else 0) == ours_days
    # An SSH server running.
    assert (lynis["ssh_daemon_running"][0] == "1") == bool(report["security"]["ssh"]["running"])

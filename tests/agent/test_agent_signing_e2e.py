"""Signed agent reports through the real `itaudit ingest`: tamper, other key, replay."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


def _collect(root, key, name):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ITAUDIT_")}
    out = root / f"{name}.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "itaudit",
            "agent",
            "collect",
            "--key",
            str(root / key),
            "--out",
            str(out),
        ],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    root = tmp_path_factory.mktemp("signed")
    return {
        "old": _collect(root, "a.pem", "old"),
        "new": _collect(root, "a.pem", "new"),
        "other_key": _collect(root, "b.pem", "other"),
    }


def _doc(path):
    return json.loads(path.read_text(encoding="utf-8"))


def test_report_edited_after_signing_is_rejected(reports, workspace, run_cli, tmp_path):
    doc = _doc(reports["new"])
    doc["security"]["accounts"]["uid0"] = []  # hide a UID-0 account after the fact
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(doc), encoding="utf-8")
    res = run_cli("ingest", str(edited), "--workspace", str(workspace.root))
    assert res.returncode == 1
    assert "signature does not match the report content" in res.stderr


def test_report_signed_by_another_key_is_rejected_until_rekey(reports, workspace, run_cli):
    ws = ("--workspace", str(workspace.root))
    assert run_cli("ingest", str(reports["new"]), *ws).returncode == 0
    res = run_cli("ingest", str(reports["other_key"]), *ws)
    assert res.returncode == 1
    host = _doc(reports["new"])["identity"]["hostname"]
    assert "was first seen with key" in res.stderr and f"itaudit hosts rekey {host}" in res.stderr
    assert run_cli("hosts", "rekey", host, "--yes", "--by", "it-officer", *ws).returncode == 0
    assert run_cli("ingest", str(reports["other_key"]), *ws).returncode == 0


def test_old_report_replayed_is_kept_as_history_not_current(reports, workspace, run_cli):
    ws = ("--workspace", str(workspace.root))
    assert run_cli("ingest", str(reports["new"]), *ws).returncode == 0
    res = run_cli("ingest", str(reports["old"]), *ws)
    assert res.returncode == 0
    assert "kept as history" in res.stdout
    host = _doc(reports["new"])["identity"]["hostname"]
    shown = json.loads(run_cli("hosts", "show", host, "--format", "json", *ws).stdout)
    assert shown["report_id"] == _doc(reports["new"])["report_id"]
    history = json.loads(run_cli("hosts", "history", host, "--format", "json", *ws).stdout)
    assert len(history) == 2

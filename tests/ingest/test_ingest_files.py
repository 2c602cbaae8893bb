"""`itaudit ingest` over a folder of good and bad files, through the real CLI."""

from __future__ import annotations

import gzip
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from itaudit.store import open_store


def _write(path: Path, doc: dict) -> Path:
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


@pytest.fixture
def inbox(tmp_path: Path, make_report) -> tuple[Path, dict[str, str]]:
    """Five good reports and one file per kind of bad input, with the reason expected."""
    folder = tmp_path / "inbox"
    folder.mkdir()
    for i in range(4):
        _write(folder / f"good-{i}.json", make_report(f"GOOD-PC{i}"))
    with gzip.open(folder / "good-gz.json.gz", "wt", encoding="utf-8") as fh:
        json.dump(make_report("GOOD-GZ"), fh)
    bad: dict[str, str] = {}
    text = json.dumps(make_report("TRUNC"))
    (folder / "truncated.json").write_text(text[: len(text) // 2])
    bad["truncated.json"] = "invalid JSON at line 1"
    _write(folder / "version.json", make_report("V2", schema="itaudit/host-report/2"))
    bad["version.json"] = "schema: must be 'itaudit/host-report/1'"
    wrong = make_report("TYPES")
    wrong["os"]["build"] = "19045"
    wrong["security"]["firewall"]["profiles"][0]["enabled"] = "on"
    _write(folder / "types.json", wrong)
    bad["types.json"] = "os.build: expected integer or null, got string"
    with open(folder / "huge.json", "wb") as fh:
        fh.write(b'{"pad": "')
        fh.truncate(50 * 1024 * 1024)
    bad["huge.json"] = "file is 52,428,800 bytes; the limit is 5,242,880"
    _write(
        folder / "hostile.json", make_report("<script>alert('x')</script>'; DROP TABLE hosts;--")
    )
    bad["hostile.json"] = "identity.hostname:"
    future = (datetime.now(UTC) + timedelta(days=3 * 365)).strftime("%Y-%m-%dT%H:%M:%SZ")
    _write(folder / "future.json", make_report("FUTURE", collected_at=future))
    bad["future.json"] = "is in the future"
    (folder / "empty.json").write_bytes(b"")
    bad["empty.json"] = "empty file"
    (folder / "binary.json").write_bytes(os.urandom(2048) + b"\x00\x01")
    bad["binary.json"] = "binary file"
    (folder / "bomb.json.gz").write_bytes(gzip.compress(b" " * (20 * 1024 * 1024)))
    bad["bomb.json.gz"] = "larger than the limit"
    return folder, bad


def test_good_files_stored_bad_files_named_exit_1(inbox, workspace, run_cli):
    folder, bad = inbox
    result = run_cli("--workspace", str(workspace.root), "ingest", str(folder))
    assert result.returncode == 1, result.output
    assert f"{5 + len(bad)} file(s): 5 accepted, 0 duplicate, {len(bad)} rejected" in result.stdout
    rejected = [line for line in result.stderr.splitlines() if line.startswith("REJECTED")]
    assert len(rejected) == len(bad)
    for name, reason in bad.items():
        line = next((line for line in rejected if f"{name}:" in line), None)
        assert line is not None, f"{name} not named: {result.stderr}"
        assert reason in line, line
    store = open_store(workspace.store_url())
    try:
        assert sorted(h.hostname for h in store.hosts()) == [
            "GOOD-GZ",
            "GOOD-PC0",
            "GOOD-PC1",
            "GOOD-PC2",
            "GOOD-PC3",
        ]
        assert store.counts() == {"hosts": 5, "reports": 5, "rejections": len(bad)}
        assert store.integrity_check() == []
    finally:
        store.close()


def test_second_ingest_reports_duplicates_and_exits_0(tmp_path, workspace, run_cli, make_report):
    _write(tmp_path / "a.json", make_report("DUP-1"))
    first = run_cli("-w", str(workspace.root), "ingest", str(tmp_path / "a.json"))
    second = run_cli("-w", str(workspace.root), "ingest", str(tmp_path / "a.json"))
    assert first.returncode == 0 and "1 accepted" in first.stdout
    assert second.returncode == 0 and "0 accepted, 1 duplicate, 0 rejected" in second.stdout


def test_stdin(workspace, run_cli, make_report):
    result = run_cli(
        "-w", str(workspace.root), "ingest", "-", input=json.dumps(make_report("FROM-STDIN"))
    )
    assert result.returncode == 0, result.output
    assert "accepted  <stdin> -> FROM-STDIN [unsigned]" in result.stdout


def test_missing_path_is_rejected_others_go_on(tmp_path, workspace, run_cli, make_report):
    _write(tmp_path / "ok.json", make_report("OK-1"))
    result = run_cli(
        "-w", str(workspace.root), "ingest", str(tmp_path / "nope.json"), str(tmp_path / "ok.json")
    )
    assert result.returncode == 1
    assert "nope.json: no such file or folder" in result.stderr
    assert "1 accepted" in result.stdout


def test_max_size_option(tmp_path, workspace, run_cli, make_report):
    _write(tmp_path / "r.json", make_report("SMALL-LIMIT"))
    result = run_cli(
        "-w", str(workspace.root), "ingest", "--max-size", "1k", str(tmp_path / "r.json")
    )
    assert result.returncode == 1
    assert "the limit is 1,024" in result.stderr


def test_bad_max_size_is_a_usage_error(tmp_path, workspace, run_cli):
    result = run_cli("-w", str(workspace.root), "ingest", "--max-size", "lots", str(tmp_path))
    assert result.returncode == 2
    assert "'lots' is not a size" in result.stderr


def test_no_path_is_a_usage_error(workspace, run_cli):
    result = run_cli("-w", str(workspace.root), "ingest")
    assert result.returncode == 2
    assert "Missing argument" in result.stderr


def test_unreachable_store_exits_3(tmp_path, run_cli, make_report):
    _write(tmp_path / "r.json", make_report("NOSTORE"))
    result = run_cli(
        "--store",
        "postgresql://nobody@127.0.0.1:1/x?connect_timeout=2",
        "ingest",
        str(tmp_path / "r.json"),
    )
    assert result.returncode == 3
    assert "store: cannot open postgresql://nobody@127.0.0.1:1/x" in result.stderr

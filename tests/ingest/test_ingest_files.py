"""`itaudit ingest` over a folder of good and bad files, through the real CLI."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
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


def test_good_files_stored_bad_files_named_exit_1(inbox, workspace, run_cli, store_url):
    folder, bad = inbox
    result = run_cli(
        "--workspace", str(workspace.root), "--store", store_url, "ingest", str(folder)
    )
    assert result.returncode == 1, result.output
    assert f"{5 + len(bad)} file(s): 5 accepted, 0 duplicate, {len(bad)} rejected" in result.stdout
    rejected = [line for line in result.stderr.splitlines() if line.startswith("REJECTED")]
    assert len(rejected) == len(bad)
    for name, reason in bad.items():
        line = next((line for line in rejected if f"{name}:" in line), None)
        assert line is not None, f"{name} not named: {result.stderr}"
        assert reason in line, line
    store = open_store(store_url)
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


def test_missing_path_is_a_usage_error_and_the_others_go_on(
    tmp_path, workspace, run_cli, make_report
):
    _write(tmp_path / "ok.json", make_report("OK-1"))
    result = run_cli(
        "-w", str(workspace.root), "ingest", str(tmp_path / "nope.json"), str(tmp_path / "ok.json")
    )
    assert result.returncode == 2, result.output
    assert "nope.json: no such file or folder" in result.stderr
    assert "check the path (the others were ingested)" in result.stderr
    assert "2 file(s): 1 accepted, 0 duplicate, 1 rejected" in result.stdout
    assert _hostnames(workspace) == ["OK-1"]


def _hostnames(workspace) -> list[str]:
    store = open_store(workspace.store_url())
    try:
        return sorted(h.hostname for h in store.hosts())
    finally:
        store.close()


def _run_as(prefix: list[str], *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ITAUDIT_")}
    return subprocess.run(
        [*prefix, sys.executable, "-m", "itaudit", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_unreadable_subfolder_and_file_are_named_not_skipped(
    tmp_path, workspace, make_report, unreadable
):
    inbox = tmp_path / "usb"
    (inbox / "locked").mkdir(parents=True)
    _write(inbox / "a.json", make_report("READ-OK"))
    _write(inbox / "locked" / "b.json", make_report("LOCKED-DIR"))
    _write(inbox / "secret.json", make_report("LOCKED-FILE"))
    unreadable(inbox / "secret.json")
    prefix = unreadable(inbox / "locked")
    result = _run_as(prefix, "-w", str(workspace.root), "ingest", str(inbox))
    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        f"REJECTED  {inbox / 'locked'}: cannot read folder: Permission denied; "
        "its reports were not ingested" in result.stderr
    )
    assert f"REJECTED  {inbox / 'secret.json'}: cannot read: Permission denied" in result.stderr
    assert "3 file(s): 1 accepted, 0 duplicate, 2 rejected" in result.stdout
    assert _hostnames(workspace) == ["READ-OK"]


def test_unreadable_path_argument_is_a_usage_error(tmp_path, workspace, make_report, unreadable):
    folder = tmp_path / "locked"
    folder.mkdir()
    _write(folder / "r.json", make_report("BEHIND-LOCK"))
    # A file inside a folder that cannot be searched: even stat() fails.
    prefix = unreadable(folder)
    result = _run_as(prefix, "-w", str(workspace.root), "ingest", str(folder / "r.json"))
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{folder / 'r.json'}: cannot read: Permission denied" in result.stderr
    assert "Traceback" not in result.stderr


def test_links_and_pipes_inside_a_folder_are_named(tmp_path, workspace, run_cli, make_report):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    _write(inbox / "good.json", make_report("LINKS-OK"))
    (inbox / "gone.json").symlink_to(tmp_path / "deleted.json")
    os.mkfifo(inbox / "pipe.json")  # opening it would block for ever
    (inbox / "loop").symlink_to(inbox)  # a link back up the tree is walked once
    (inbox / "notes.txt").write_text("not a report")
    result = run_cli("-w", str(workspace.root), "ingest", str(inbox), timeout=60)
    assert result.returncode == 1, result.output
    assert f"{inbox / 'gone.json'}: broken symbolic link" in result.stderr
    assert f"{inbox / 'pipe.json'}: not a regular file" in result.stderr
    assert "3 file(s): 1 accepted, 0 duplicate, 2 rejected" in result.stdout


def test_a_pipe_named_on_the_command_line_is_read(tmp_path, workspace, make_report):
    """`itaudit ingest <(zcat report.json.gz)` hands over a pipe, not a file."""
    report = gzip.compress(json.dumps(make_report("FROM-PIPE")).encode())
    (tmp_path / "r.json.gz").write_bytes(report)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ITAUDIT_")}
    script = f'"{sys.executable}" -m itaudit -w "{workspace.root}" ingest <(zcat "{tmp_path / "r.json.gz"}")'
    result = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert _hostnames(workspace) == ["FROM-PIPE"]


def test_large_gzip_is_refused_without_reading_it_whole(tmp_path, workspace, run_cli):
    # 6 MiB of random bytes do not compress: the compressed file itself is over the limit.
    (tmp_path / "big.json.gz").write_bytes(gzip.compress(os.urandom(6 * 1024 * 1024)))
    result = run_cli("-w", str(workspace.root), "ingest", str(tmp_path / "big.json.gz"))
    assert result.returncode == 1
    assert "big.json.gz: file is 6,2" in result.stderr and "the limit is 5,242,880" in result.stderr


def test_corrupt_gzip_is_named(tmp_path, workspace, run_cli, make_report):
    data = gzip.compress(json.dumps(make_report("CUT-GZ")).encode())
    (tmp_path / "cut.json.gz").write_bytes(data[: len(data) // 2])
    result = run_cli("-w", str(workspace.root), "ingest", str(tmp_path / "cut.json.gz"))
    assert result.returncode == 1
    assert "cut.json.gz: corrupt gzip data" in result.stderr


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
    zero = run_cli("-w", str(workspace.root), "ingest", "--max-size", "0k", str(tmp_path))
    assert zero.returncode == 2 and "the size must be above zero" in zero.stderr


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


def test_report_saved_by_windows_powershell_in_utf16_is_read(
    tmp_path, workspace, run_cli, make_report
):
    """`ConvertTo-Json | Out-File r.json` in PowerShell 5.1 writes UTF-16 with a BOM."""
    doc = make_report("PS-UTF16")
    doc["software"][0]["publisher"] = "Công ty Cổ phần Bkav"
    (tmp_path / "r.json").write_bytes(json.dumps(doc, ensure_ascii=False).encode("utf-16"))
    result = run_cli("-w", str(workspace.root), "ingest", str(tmp_path / "r.json"))
    assert result.returncode == 0, result.output
    store = open_store(workspace.store_url())
    try:
        stored = store.latest_document(store.host("PS-UTF16").id)
    finally:
        store.close()
    assert stored == doc

"""Hostile files never lose the rest of a run (issue 12, findings 1-3).

A lone surrogate (which crashed signing before the signature was checked), a NUL
(which crashed PostgreSQL and rolled back a 200-report batch) and dates beyond
arithmetic (which overflowed) each sit in a folder among valid reports: the
hostile file is rejected with its name and reason, every other report is
stored, on SQLite and on PostgreSQL, and `schema validate` agrees with ingest."""

from __future__ import annotations

import json

import pytest

HOSTILE = {
    "surrogate": ("agent.version", '"1.0\\ud800"', "lone UTF-16 surrogate"),
    "nul": ("identity.serial", '"SN\\u0000X"', "NUL character"),
    "year-1": ("collected_at", '"0001-01-01T00:00:00+01:00"', "outside the years 2000-2100"),
    "year-9999": ("collected_at", '"9999-12-31T23:59:59-01:00"', "outside the years 2000-2100"),
}


def _hostile_text(doc: dict, path: str, raw_value: str) -> str:
    """The report as JSON text with one value written raw (a JSON escape Python's
    json.dumps would never produce from a str)."""
    marker = "__HOSTILE__"
    node = doc
    parts = path.split(".")
    for p in parts[:-1]:
        node = node[p]
    node[parts[-1]] = marker
    return json.dumps(doc).replace(f'"{marker}"', raw_value)


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_one_hostile_file_among_valid_reports(kind, store_url, tmp_path, run_cli, make_report):
    folder = tmp_path / "usb"
    folder.mkdir()
    for i in range(5):
        (folder / f"ok-{i}.json").write_text(json.dumps(make_report(f"OK-PC{i:02d}")))
    path, raw, reason = HOSTILE[kind]
    bad = folder / "bad.json"
    bad.write_text(_hostile_text(make_report("BAD-PC01"), path, raw))
    validated = run_cli("schema", "validate", str(bad))
    assert validated.returncode == 1 and reason in validated.output, validated.output
    result = run_cli("--store", store_url, "ingest", str(folder))
    assert result.returncode == 1, result.output
    assert "5 accepted" in result.stdout and "1 rejected" in result.stdout
    assert "bad.json" in result.stderr and reason in result.stderr
    assert "Traceback" not in result.output
    hosts = run_cli("--store", store_url, "hosts")
    assert all(f"OK-PC{i:02d}" in hosts.stdout for i in range(5))
    assert "BAD-PC01" not in hosts.stdout

"""The change since the previous check run, through the real CLI: a second,
later check (as of 50 days on, when every report is stale), then a check of
one unit alone."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import lxml.html
import pytest

from itaudit.check.results import latest_run, previous_run
from itaudit.store import open_store


def _delta(n: int) -> str:
    """How the HTML writes a change: +5, −3 (a real minus sign), ±0."""
    return f"+{n}" if n > 0 else f"−{-n}" if n < 0 else "±0"


@pytest.fixture(scope="module")
def two_runs(demo, tmp_path_factory):
    """The demo's check run, then a later one; returns (first, second) CheckRuns."""
    store = open_store(demo.url)
    try:
        first = latest_run(store)
    finally:
        store.close()
    later = (first.checked_at + timedelta(days=50)).strftime("%Y-%m-%dT%H:%M:%S")
    proc = subprocess.run(
        [sys.executable, "-m", "itaudit", "check", "--now", later, "-w", str(demo.workspace.root)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr  # stale reports fail: findings
    store = open_store(demo.url)
    try:
        second = latest_run(store)
        assert previous_run(store, second).id == first.id
    finally:
        store.close()
    return first, second


def test_department_summary_shows_the_change_in_every_format(two_runs, run_cli, demo, tmp_path):
    first, second = two_runs
    ws = str(demo.workspace.root)
    data = json.loads(run_cli("report", "-f", "json", "--stdout", "-w", ws).stdout)
    assert data["run_id"] == second.id and data["previous_run"] == first.id
    change = data["total"]["change"]
    assert change["compliant_before"] == first.totals.compliant
    assert change["compliant_now"] == second.totals.compliant
    assert change["failed_delta"] == second.totals.failed - first.totals.failed
    assert change["compliant_delta"] < 0 < change["failed_delta"]  # stale reports fail
    ho = next(u for u in data["units"] if u["unit"] == "ho")["change"]
    assert ho["compliant_delta"] == second.unit("ho").compliant - first.unit("ho").compliant

    out = tmp_path / "out"
    result = run_cli("report", "-f", "html", "-f", "md", "--out", str(out), "-w", ws)
    assert result.returncode == 0, result.output
    page = lxml.html.fromstring(next(out.rglob("department.vi.html")).read_text("utf-8"))
    total_cells = page.xpath("//tr[@data-unit='total']/td")
    expected = f"{_delta(change['compliant_delta'])} / {_delta(change['failed_delta'])}"
    assert total_cells[-1].text_content().strip() == expected
    line = page.xpath("//p[@id='change']")[0].text_content()
    assert f"lần kiểm tra số {first.id} ngày {first.checked_at:%d/%m/%Y}" in line
    assert _delta(change["compliant_delta"]) in line
    md = next(out.rglob("department.vi.md")).read_text("utf-8")
    assert f"So với lần kiểm tra số {first.id}" in md
    assert f"số máy đạt {_delta(change['compliant_delta'])}" in md


def test_a_unit_checked_alone_reports_from_its_own_run(two_runs, run_cli, demo):
    """`check --unit U` after a full check: U's report reads the newer run and
    compares it with the full one; the department summary stays on the full run."""
    _first, second = two_runs
    ws = str(demo.workspace.root)
    assert run_cli("check", "--unit", "nghiatrang", "-w", ws).returncode in (0, 1)
    unit = json.loads(
        run_cli("report", "-u", "nghiatrang", "-f", "json", "--stdout", "-w", ws).stdout
    )
    assert unit["run_id"] == second.id + 1
    assert unit["change"]["previous_run"] == second.id
    # Checked as of now again, the stale-report failures of the replay are gone.
    assert unit["change"]["failed_delta"] < 0
    department = json.loads(run_cli("report", "-f", "json", "--stdout", "-w", ws).stdout)
    assert department["run_id"] == second.id


def test_a_change_of_evaluation_method_is_marked(two_runs, run_cli, demo, tmp_path):
    """The earlier run was decided by method 1 (as a store from the previous release
    holds it): the change line is followed by a note that the method changed."""
    import sqlalchemy as sa

    first, second = two_runs
    ws = str(demo.workspace.root)
    store = open_store(demo.url)
    try:
        with store.write() as conn:
            conn.execute(sa.text("UPDATE check_runs SET method = 1 WHERE id = :i"), {"i": first.id})
    finally:
        store.close()
    try:
        data = json.loads(run_cli("report", "-f", "json", "--stdout", "-w", ws).stdout)
        change = data["total"]["change"]
        assert change["method_changed"] is True
        assert (change["method_before"], change["method_now"]) == (1, 2)
        out = tmp_path / "out"
        made = run_cli("report", "--all", "-f", "html", "-f", "md", "--out", str(out), "-w", ws)
        assert made.returncode == 0, made.output
        page = lxml.html.fromstring(next(out.rglob("department.vi.html")).read_text("utf-8"))
        note = page.xpath("//p[@id='method-change']")[0].text_content()
        assert "phương pháp 1 → 2" in note and "chưa rõ" in note
        unit_page = lxml.html.fromstring(next(out.rglob("ho.vi.html")).read_text("utf-8"))
        assert unit_page.xpath("//p[@id='method-change']")
        assert "phương pháp 1 → 2" in next(out.rglob("department.vi.md")).read_text("utf-8")
    finally:
        store = open_store(demo.url)
        try:
            with store.write() as conn:
                conn.execute(
                    sa.text("UPDATE check_runs SET method = :m WHERE id = :i"),
                    {"m": second.method, "i": first.id},
                )
        finally:
            store.close()
    data = json.loads(run_cli("report", "-f", "json", "--stdout", "-w", ws).stdout)
    assert data["total"]["change"]["method_changed"] is False

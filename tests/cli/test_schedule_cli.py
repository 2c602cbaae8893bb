"""`itaudit schedule run`: jobs logged in the store, a failed one shown in the next report."""

from __future__ import annotations

import json
from datetime import date

from itaudit.ingest import ingest_documents
from itaudit.org.matching import RegisterIndex
from itaudit.schedule import parse_jobs, readiness_due
from itaudit.store import open_store


def test_failed_scheduled_job_is_visible_in_the_next_report(workspace, run_cli, make_report):
    ws = str(workspace.root)
    store = open_store(workspace.store_url())
    ingest_documents(
        store,
        RegisterIndex(None),
        [(f"r{i}", make_report(f"SCH-{i}", unit="ho")) for i in range(3)],
    )
    store.close()
    first = run_cli("-w", ws, "schedule", "run", "--jobs", "check,report", timeout=300)
    assert first.returncode == 0, first.output
    assert "check: " in first.stdout and "report: ok" in first.stdout
    department = sorted(workspace.reports.glob("**/*.html"))
    assert department and not any('id="failed-jobs"' in p.read_text() for p in department)

    # The profiles break (a bad edit): the scheduled check fails, the report that
    # follows (from the last good run) says so.
    level1 = workspace.profiles / "level1.yaml"
    level1.write_text(level1.read_text() + "\n  - this: [is not valid\n")
    second = run_cli("-w", ws, "schedule", "run", "--jobs", "check,report", timeout=300)
    assert second.returncode == 3, second.output
    assert "check: failed (exit 2)" in second.stdout and "report: ok" in second.stdout
    pages = [p.read_text() for p in workspace.reports.glob("**/*.html")]
    shown = [page for page in pages if 'id="failed-jobs"' in page]
    assert len(shown) == 1 and "check" in shown[0]
    log = json.loads(run_cli("-w", ws, "schedule", "log", "-f", "json").stdout)
    assert [(r["job"], r["status"]) for r in log][:2] == [("report", "ok"), ("check", "failed")]
    assert log[1]["exit_code"] == 2 and log[1]["message"]

    # Fixed: the next successful check clears it from the report.
    level1.write_text(level1.read_text().replace("\n  - this: [is not valid\n", ""))
    third = run_cli("-w", ws, "schedule", "run", "--jobs", "check,report", timeout=300)
    assert third.returncode == 0, third.output
    assert not any('id="failed-jobs"' in p.read_text() for p in workspace.reports.glob("**/*.html"))


def test_unknown_job_is_a_usage_error(workspace, run_cli):
    result = run_cli("-w", str(workspace.root), "schedule", "run", "--jobs", "check,coffee")
    assert result.returncode == 2 and "coffee" in result.output


def test_jobs_parse_in_order():
    assert parse_jobs("scan, check,report") == ("scan", "check", "report")


def test_readiness_runs_only_in_the_days_before_a_holiday():
    # Tết 2027 (Lunar New Year: 6 February 2027, per the bundled calendar) is within 7 days.
    due, why = readiness_due(date(2027, 2, 1), 7, None)
    assert due, why
    due, why = readiness_due(date(2027, 3, 10), 7, None)
    assert not due and "next holiday" in why


def test_purge_job_without_retention_is_skipped(workspace, run_cli):
    result = run_cli("-w", str(workspace.root), "schedule", "run", "--jobs", "purge")
    assert result.returncode == 0 and "purge: skipped" in result.stdout

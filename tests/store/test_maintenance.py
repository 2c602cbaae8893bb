"""`itaudit store backup` and retention (`store purge`)."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from itaudit.check.tables import check_results, check_runs
from itaudit.ingest import ingest_documents
from itaudit.org.matching import RegisterIndex
from itaudit.store import open_store
from itaudit.store import ops_tables as ot
from itaudit.store import tables as t
from itaudit.store.maintenance import months_before, purge, verify_copy

NOW = datetime(2026, 11, 20, 9, 0)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _store_with_history(tmp_path, make_report, monthly: int = 14):
    store = open_store(f"sqlite:///{tmp_path / 'itaudit.db'}")
    base = make_report("HO-HIST-1")
    ident = {k: base["identity"][k] for k in ("serial", "hardware_uuid", "macs")}
    docs = [
        (
            f"r{m}",
            make_report("HO-HIST-1", collected_at=_iso(NOW - timedelta(days=30 * m)), **ident),
        )
        for m in range(monthly)
    ]
    summary = ingest_documents(store, RegisterIndex(None), docs)
    assert summary.accepted == monthly
    return store


def test_backup_is_restored_and_checked(tmp_path, workspace, make_report, run_cli):
    store = open_store(workspace.store_url())
    ingest_documents(
        store, RegisterIndex(None), [(f"r{i}", make_report(f"BK-{i}")) for i in range(5)]
    )
    counts = store.counts()
    store.close()
    target = tmp_path / "backup.db"
    result = run_cli("-w", str(workspace.root), "store", "backup", str(target))
    assert result.returncode == 0, result.output
    assert "integrity ok, 5 host(s), 5 report(s)" in result.stdout
    # Restore: open the copy as a store of its own; same counts, consistent.
    conn = sqlite3.connect(target)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    restored = open_store(f"sqlite:///{target}")
    try:
        assert restored.counts() == counts
        assert restored.integrity_check() == []
        assert {h.hostname for h in restored.hosts()} == {f"BK-{i}" for i in range(5)}
    finally:
        restored.close()
    again = run_cli("-w", str(workspace.root), "store", "backup", str(target))
    assert again.returncode == 2 and "exists" in again.output


def test_verify_copy_refuses_a_damaged_file(tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    with pytest.raises(sqlite3.DatabaseError):
        verify_copy(bad)


def test_backup_of_postgresql_advises_pg_dump(pg_url, workspace, run_cli):
    result = run_cli("-w", str(workspace.root), "--store", pg_url, "store", "backup", "x.db")
    assert result.returncode == 2 and "pg_dump" in result.output


def test_retention_keeps_each_hosts_latest_report(tmp_path, make_report):
    store = _store_with_history(tmp_path, make_report)
    try:
        latest = store.host("HO-HIST-1").latest_report_id
        dry = purge(store, 6, dry_run=True, now=NOW)
        assert dry.reports == 7 and store.counts()["reports"] == 14  # nothing deleted yet
        plan = purge(store, 6, now=NOW)
        assert plan.reports == 7 and plan.cutoff == datetime(2026, 5, 20, 9, 0)
        assert store.counts()["reports"] == 7
        assert store.host("HO-HIST-1").latest_report_id == latest
        assert store.integrity_check() == []
        # Everything left is newer than the cutoff or needed.
        assert min(m.collected_at for m in store.history(store.host("HO-HIST-1").id)) >= plan.cutoff
    finally:
        store.close()


def test_retention_keeps_a_latest_report_older_than_the_cutoff(tmp_path, make_report):
    store = open_store(f"sqlite:///{tmp_path / 'itaudit.db'}")
    old = make_report("HO-OLD-1", collected_at=_iso(NOW - timedelta(days=400)))
    ingest_documents(store, RegisterIndex(None), [("old", old)])
    plan = purge(store, 3, now=NOW)
    assert plan.reports == 0 and plan.kept_needed == 1
    assert store.counts()["reports"] == 1
    store.close()


def _run(conn, checked_at: datetime, report_ids: list[int], waivers: list | None = None) -> None:
    run_id = conn.execute(
        check_runs.insert().values(
            started_at=checked_at,
            checked_at=checked_at,
            finished_at=checked_at,
            status="complete",
            waivers=json.dumps(waivers or []),
        )
    ).inserted_primary_key[0]
    for rid in report_ids:
        conn.execute(
            check_results.insert().values(
                run_id=run_id,
                kind="host",
                unit="ho",
                hostname="HO-HIST-1",
                report_id=rid,
                passed=1,
                failed=0,
                errors=0,
                not_applicable=0,
                waived=0,
                results="{}",
            )
        )


def test_retention_keeps_what_quarterly_indicators_and_open_waivers_read(tmp_path, make_report):
    store = _store_with_history(tmp_path, make_report, monthly=24)
    with store.read() as conn:
        by_age = list(
            conn.execute(
                sa.select(t.reports.c.id, t.reports.c.collected_at).order_by(
                    t.reports.c.collected_at
                )
            ).all()
        )
    oldest, second = by_age[0].id, by_age[1].id
    q4_2025 = by_age[10]  # about 13 months old: the run of 31/12/2025 read it
    with store.write() as conn:
        _run(conn, datetime(2025, 12, 31, 8), [q4_2025.id])
        # The latest run lists a waiver, still open, for this machine; an older run read
        # `second` for it: the evidence of the waived failure stays.
        _run(conn, datetime(2024, 12, 1), [second])
        waiver = {"rule": "L1-AV-01", "host": "ho-hist-1", "asset": None, "expires": "2027-01-31"}
        _run(conn, NOW - timedelta(days=1), [by_age[-1].id], [waiver])
    plan = purge(store, 6, now=NOW)
    with store.read() as conn:
        left = set(conn.execute(sa.select(t.reports.c.id)).scalars())
    assert q4_2025.id in left  # the indicator table of Y 2025 reads it
    assert second in left  # an open waiver's evidence
    assert oldest not in left
    assert plan.kept_needed == 2
    store.close()


def test_expired_waiver_does_not_keep_reports(tmp_path, make_report):
    store = _store_with_history(tmp_path, make_report, monthly=12)
    with store.read() as conn:
        oldest = (
            conn.execute(sa.select(t.reports.c.id).order_by(t.reports.c.collected_at))
            .scalars()
            .first()
        )
    with store.write() as conn:
        _run(conn, datetime(2024, 6, 1), [oldest])  # before last year: no indicator reads it
        _run(
            conn,
            NOW,
            [],
            [{"rule": "X", "host": "HO-HIST-1", "asset": None, "expires": "2026-01-01"}],
        )
    purge(store, 6, now=NOW)
    with store.read() as conn:
        assert oldest not in set(conn.execute(sa.select(t.reports.c.id)).scalars())
    store.close()


def test_retention_setting_drives_purge(workspace, run_cli, make_report):
    ws = str(workspace.root)
    none = run_cli("-w", ws, "store", "purge")
    assert none.returncode == 2 and "retention --months" in none.output
    assert run_cli("-w", ws, "store", "retention", "--months", "18").returncode == 0
    shown = run_cli("-w", ws, "store", "retention")
    assert "18 month(s)" in shown.stdout
    dry = run_cli("-w", ws, "store", "purge", "--dry-run")
    assert dry.returncode == 0 and "would delete 0" in dry.stdout
    store = open_store(workspace.store_url())
    with store.read() as conn:
        value = conn.execute(sa.select(ot.store_settings.c.value)).scalar_one()
    store.close()
    assert value == "18"


@pytest.mark.parametrize(
    ("moment", "months", "expected"),
    [
        (datetime(2026, 11, 20), 6, datetime(2026, 5, 20)),
        (datetime(2026, 3, 31), 1, datetime(2026, 2, 28)),
        (datetime(2026, 1, 15), 13, datetime(2024, 12, 15)),
    ],
)
def test_months_before(moment, months, expected):
    assert months_before(moment, months) == expected


def test_new_tables_match_their_definitions(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'x.db'}")
    inspector = sa.inspect(store.engine)
    for table in (
        ot.enrolment_secrets,
        ot.host_status,
        ot.enrolment_failures,
        ot.store_settings,
        ot.job_runs,
    ):
        assert {c["name"] for c in inspector.get_columns(table.name)} == {
            c.name for c in table.columns
        }
    assert "core.004_operations" in store.applied_migrations()
    store.close()

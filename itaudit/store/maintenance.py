"""Backup and retention of the store.

Backup: SQLite's online backup API (`sqlite3.Connection.backup`) copies a
consistent snapshot while collectors keep writing; the copy is then opened and
checked. PostgreSQL is backed up with its own tool, `pg_dump`.

Retention: report history older than N months is deleted, except what is
still needed:
- each host's latest report (current state);
- the reports a quarterly indicator table reads: the check results of the
  run `itaudit report --kind indicators` picks for each period end (Q1, H1,
  9M, Y) of this year and last year, and of the latest run, point at reports
  by id (check_results.report_id);
- the reports behind the results of a host under an open waiver (the evidence
  of the failure the waiver excuses), from the waivers of the latest run.
Check runs and their results themselves are never purged: they are small
(one row per machine and run) and every trend and indicator is built on them.
Rejections older than the cutoff go too.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from itaudit.errors import StoreError, UsageError
from itaudit.store import Store, utcnow
from itaudit.store import ops_tables as ot
from itaudit.store import tables as t

RETENTION_SETTING = "retention_months"
PERIOD_ENDS = ((3, 31), (6, 30), (9, 30), (12, 31))


@dataclass(frozen=True)
class BackupResult:
    path: Path
    counts: dict[str, int]
    pages: int


def pg_dump_advice(store: Store) -> str:
    url = make_url(store.url)
    return (
        "a PostgreSQL store is backed up with PostgreSQL's own tool: "
        f"pg_dump --format=custom --file=itaudit.dump --host={url.host or 'localhost'} "
        f"--username={url.username or 'postgres'} {url.database or 'itaudit'}  "
        "(restore: pg_restore --clean --dbname=... itaudit.dump); see docs/operations.md"
    )


def _sqlite_path(store: Store) -> Path:
    database = make_url(store.url).database
    assert database  # open_store refuses an SQLite URL without a file
    return Path(database)


def backup(store: Store, target: Path, *, overwrite: bool = False) -> BackupResult:
    """Copy the SQLite store to `target` with the online backup API, then check the copy."""
    if store.dialect != "sqlite":
        raise UsageError(pg_dump_advice(store))
    source_path = _sqlite_path(store)
    if target.exists() and not overwrite:
        raise UsageError(f"{target} exists; give a new file (or --force to replace it)")
    if target.resolve() == source_path.resolve():
        raise UsageError(f"{target} is the store itself")
    if not target.parent.is_dir():
        raise UsageError(f"the folder {target.parent} does not exist")
    partial = target.with_name(target.name + ".partial")
    try:
        src = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
        try:
            dst = sqlite3.connect(partial)
            try:
                # Pages in steps: writers are blocked only for one step at a time.
                src.backup(dst, pages=1024)
            finally:
                dst.close()
        finally:
            src.close()
        counts, pages = verify_copy(partial)
        partial.replace(target)
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise StoreError(f"backup of {source_path} to {target} failed: {exc}") from exc
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise StoreError(f"cannot write {target}: {exc.strerror or exc}") from exc
    return BackupResult(target, counts, pages)


def verify_copy(path: Path) -> tuple[dict[str, int], int]:
    """Open a backup, run `PRAGMA integrity_check`; its row counts and page count."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        result = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        if result != ["ok"]:
            raise sqlite3.DatabaseError(f"integrity check of the copy: {'; '.join(result[:3])}")
        counts = {
            name: conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]  # fixed table names
            for name in ("hosts", "reports", "rejections", "schema_migrations")
        }
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    finally:
        conn.close()
    return counts, pages


# -- settings ---------------------------------------------------------------------


def get_setting(store: Store, name: str) -> str | None:
    s = ot.store_settings
    with store.read() as conn:
        return conn.execute(sa.select(s.c.value).where(s.c.name == name)).scalar_one_or_none()


def set_setting(store: Store, name: str, value: str | None) -> None:
    s = ot.store_settings
    with store.write() as conn:
        conn.execute(s.delete().where(s.c.name == name))
        if value is not None:
            conn.execute(s.insert().values(name=name, value=value, changed_at=utcnow()))


def retention_months(store: Store) -> int | None:
    value = get_setting(store, RETENTION_SETTING)
    return int(value) if value is not None and value.isdigit() else None


# -- retention --------------------------------------------------------------------


@dataclass(frozen=True)
class PurgePlan:
    cutoff: datetime
    reports: int  # older than the cutoff and not needed: deleted
    kept_needed: int  # older than the cutoff but still needed
    rejections: int
    applied: bool


def months_before(moment: datetime, months: int) -> datetime:
    """The same day `months` months earlier (the month's last day when it has no such day)."""
    year, month = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    month += 1
    day = moment.day
    while True:
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            day -= 1


def _indicator_runs(conn: sa.Connection, today: date) -> set[int]:
    """The check runs the indicator tables of this year and last year are built on."""
    from itaudit.check.tables import check_runs as r

    full = sa.and_(
        r.c.status == "complete",
        r.c.scope_host.is_(None),
        r.c.framework.is_(None),
        r.c.scope_unit.is_(None),
    )
    # (period start, period end): periods are cumulative from 1 January, and a run
    # from before the period's start is not used for it (report/indicators.py).
    spans = [
        (datetime(year, 1, 1), datetime.combine(date(year, m, d), time.max))
        for year in (today.year - 1, today.year)
        for m, d in PERIOD_ENDS
        if date(year, m, d) <= today
    ]
    spans.append((datetime.min, datetime.combine(today, time.max)))  # the latest run
    runs: set[int] = set()
    for start, end in spans:
        found = conn.execute(
            sa.select(r.c.id)
            .where(full, r.c.checked_at <= end, r.c.checked_at >= start)
            .order_by(r.c.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        if found is not None:
            runs.add(found)
    # A unit's own runs count for that unit's indicators: keep the latest of each.
    for (run_id,) in conn.execute(
        sa.select(sa.func.max(r.c.id))
        .where(r.c.status == "complete", r.c.scope_unit.is_not(None))
        .group_by(r.c.scope_unit)
    ):
        runs.add(run_id)
    return runs


def _waived_hosts(conn: sa.Connection, today: date) -> tuple[set[str], set[str]]:
    """(host names lower-cased, asset tags) under a waiver still open, per the latest run."""
    from itaudit.check.tables import check_runs as r

    text = conn.execute(
        sa.select(r.c.waivers).where(r.c.status == "complete").order_by(r.c.id.desc()).limit(1)
    ).scalar_one_or_none()
    names: set[str] = set()
    tags: set[str] = set()
    for w in json.loads(text or "[]"):
        if date.fromisoformat(w["expires"]) < today:
            continue
        if w.get("asset"):
            tags.add(w["asset"])
        elif w.get("host"):
            names.add(str(w["host"]).lower())
    return names, tags


def needed_reports(conn: sa.Connection, today: date) -> set[int]:
    from itaudit.check.tables import check_results as c

    needed = set(
        conn.execute(
            sa.select(t.hosts.c.latest_report_id).where(t.hosts.c.latest_report_id.is_not(None))
        ).scalars()
    )
    runs = _indicator_runs(conn, today)
    if runs:
        needed.update(
            conn.execute(
                sa.select(c.c.report_id).where(c.c.run_id.in_(runs), c.c.report_id.is_not(None))
            ).scalars()
        )
    names, tags = _waived_hosts(conn, today)
    if names or tags:
        needed.update(
            conn.execute(
                sa.select(c.c.report_id).where(
                    c.c.report_id.is_not(None),
                    sa.or_(
                        sa.func.lower(c.c.hostname).in_(sorted(names)),
                        c.c.asset_tag.in_(sorted(tags)),
                    ),
                )
            ).scalars()
        )
    return needed


def purge(
    store: Store, months: int, *, dry_run: bool = False, now: datetime | None = None
) -> PurgePlan:
    """Delete report history collected more than `months` months ago, except what is needed."""
    import itaudit.check.tables  # noqa: F401 - the check tables are read here

    if months < 1:
        raise UsageError("the retention is at least 1 month")
    moment = now or utcnow()
    cutoff = months_before(moment, months)
    with store.write() as conn:
        needed = needed_reports(conn, moment.date())
        old = list(
            conn.execute(
                sa.select(t.reports.c.id).where(t.reports.c.collected_at < cutoff)
            ).scalars()
        )
        doomed = [rid for rid in old if rid not in needed]
        rejections = conn.execute(
            sa.select(sa.func.count())
            .select_from(t.rejections)
            .where(t.rejections.c.received_at < cutoff)
        ).scalar_one()
        if not dry_run:
            for start in range(0, len(doomed), 500):
                chunk = doomed[start : start + 500]
                conn.execute(t.reports.delete().where(t.reports.c.id.in_(chunk)))
            conn.execute(t.rejections.delete().where(t.rejections.c.received_at < cutoff))
    return PurgePlan(cutoff, len(doomed), len(old) - len(doomed), rejections, not dry_run)


def purge_due(store: Store, now: datetime | None = None) -> PurgePlan | None:
    """The purge the retention setting asks for (None when no retention is set)."""
    months = retention_months(store)
    return purge(store, months, now=now) if months else None

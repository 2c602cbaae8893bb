"""Storing and reading reconciled scans: findings and missing entries beside the
observations (whose bucket, asset tag and host are filled in), all written in
the scan's own transaction so a scan is never stored half reconciled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from itaudit.scan import tables as st
from itaudit.scan.reconcile import Finding, Missing, Reconciliation
from itaudit.scan.records import Observation, ScanRecord, _observation, insert_scan
from itaudit.store import Store, utcnow


def store_scan(store: Store, record: ScanRecord, result: Reconciliation) -> int:
    """Store a complete scan, its reconciled observations, findings and missing entries."""
    with store.write() as conn:
        scan_id = insert_scan(conn, record, result.observations)
        conn.execute(
            st.scan_reconciliations.insert().values(
                scan_id=scan_id,
                reconciled_at=utcnow(),
                unit=result.unit,
                summary=json.dumps(result.summary(), sort_keys=True),
            )
        )
        if result.missing:
            conn.execute(
                st.scan_missing.insert(),
                [
                    {
                        "scan_id": scan_id,
                        "asset_tag": m.asset_tag,
                        "host_id": m.host_id,
                        "hostname": (m.hostname or None) and m.hostname[:63],
                        "type": m.type,
                        "address": m.address,
                        "source": m.source,
                    }
                    for m in result.missing
                ],
            )
        if result.findings:
            conn.execute(
                st.scan_findings.insert(),
                [
                    {
                        "scan_id": scan_id,
                        "kind": f.kind,
                        "severity": f.severity,
                        "address": f.address,
                        "mac": f.mac,
                        "asset_tag": f.asset_tag,
                        "host_id": f.host_id,
                        "port": f.port,
                        "detail": json.dumps(f.detail, ensure_ascii=False, sort_keys=True),
                    }
                    for f in result.findings
                ],
            )
    return scan_id


@dataclass(frozen=True)
class StoredScan:
    """A scan as stored, with its reconciliation (empty when it failed)."""

    id: int
    unit: str | None
    targets: tuple[str, ...]
    target_key: str
    options: dict[str, Any]
    started_at: datetime
    finished_at: datetime | None
    status: str
    nmap_version: str | None
    run_by: str | None
    addresses: int | None
    message: str | None
    observations: tuple[Observation, ...]
    findings: tuple[Finding, ...]
    missing: tuple[Missing, ...]
    summary: dict[str, Any] | None


def _finding(m: Any) -> Finding:
    return Finding(
        kind=m["kind"],
        severity=m["severity"],
        address=m["address"],
        mac=m["mac"],
        asset_tag=m["asset_tag"],
        host_id=m["host_id"],
        port=m["port"],
        detail=json.loads(m["detail"]),
    )


def _scan_row(conn: sa.Connection, scan_id: int) -> Any:
    return conn.execute(sa.select(st.scans).where(st.scans.c.id == scan_id)).first()


def load_scan(store: Store, scan_id: int) -> StoredScan | None:
    with store.read() as conn:
        row = _scan_row(conn, scan_id)
        if row is None:
            return None
        obs = conn.execute(
            sa.select(st.scan_observations)
            .where(st.scan_observations.c.scan_id == scan_id)
            .order_by(st.scan_observations.c.id)
        ).all()
        findings = conn.execute(
            sa.select(st.scan_findings)
            .where(st.scan_findings.c.scan_id == scan_id)
            .order_by(st.scan_findings.c.id)
        ).all()
        missing = conn.execute(
            sa.select(st.scan_missing)
            .where(st.scan_missing.c.scan_id == scan_id)
            .order_by(st.scan_missing.c.id)
        ).all()
        summary = conn.execute(
            sa.select(st.scan_reconciliations.c.summary).where(
                st.scan_reconciliations.c.scan_id == scan_id
            )
        ).scalar_one_or_none()
    m = row._mapping
    return StoredScan(
        id=m["id"],
        unit=m["unit"],
        targets=tuple(json.loads(m["targets"])),
        target_key=m["target_key"],
        options=json.loads(m["options"]),
        started_at=m["started_at"],
        finished_at=m["finished_at"],
        status=m["status"],
        nmap_version=m["nmap_version"],
        run_by=m["run_by"],
        addresses=m["addresses"],
        message=m["message"],
        observations=tuple(_observation(r._mapping) for r in obs),
        findings=tuple(_finding(f._mapping) for f in findings),
        missing=tuple(
            Missing(
                source=r._mapping["source"],
                asset_tag=r._mapping["asset_tag"],
                host_id=r._mapping["host_id"],
                hostname=r._mapping["hostname"],
                type=r._mapping["type"],
                address=r._mapping["address"],
            )
            for r in missing
        ),
        summary=json.loads(summary) if summary else None,
    )


def previous_scan_id(store: Store, target_key: str, before: int | None = None) -> int | None:
    """The latest complete scan of the same targets (before scan `before`, if given)."""
    query = sa.select(sa.func.max(st.scans.c.id)).where(
        st.scans.c.target_key == target_key, st.scans.c.status == "complete"
    )
    if before is not None:
        query = query.where(st.scans.c.id < before)
    with store.read() as conn:
        return conn.execute(query).scalar_one_or_none()


def latest_findings(
    store: Store, unit: str | None = None, before: datetime | None = None
) -> list[tuple[int, str | None, Finding]]:
    """(scan id, unit, finding) for the latest complete scan of each unit (or of `unit`),
    as of `before` (naive UTC) when given."""
    from itaudit.scan.records import latest_scan_ids

    with store.read() as conn:
        ids = latest_scan_ids(conn, unit, before)
        if not ids:
            return []
        rows = conn.execute(
            sa.select(st.scan_findings, st.scans.c.unit)
            .join(st.scans, st.scans.c.id == st.scan_findings.c.scan_id)
            .where(st.scan_findings.c.scan_id.in_(list(ids.values())))
            .order_by(st.scan_findings.c.id)
        ).all()
    return [(r._mapping["scan_id"], r._mapping["unit"], _finding(r._mapping)) for r in rows]


@dataclass(frozen=True)
class LanState:
    """A unit's LAN state as its latest complete scan holds it (see scan.coverage)."""

    scan_id: int
    finished_at: datetime | None
    options: dict[str, Any]
    # Each with seen_at, seen_scan_id and method filled in.
    observations: tuple[Observation, ...]
    coverage: tuple[tuple[str, datetime], ...]  # networks scanned within the window, when


def previous_state(store: Store, unit: str | None) -> LanState | None:
    """The state a new scan of `unit` (None: scans outside any unit) builds on."""
    from dataclasses import replace

    s = st.scans
    query = sa.select(sa.func.max(s.c.id)).where(s.c.status == "complete")
    query = query.where(s.c.unit.is_(None) if unit is None else s.c.unit == unit)
    with store.read() as conn:
        scan_id = conn.execute(query).scalar_one_or_none()
    if scan_id is None:
        return None
    scan = load_scan(store, scan_id)
    if scan is None:
        return None
    when = scan.finished_at or scan.started_at
    # Scans stored before methods were recorded: their method follows from root or not.
    default_method = scan.options.get("method") or (
        "raw" if scan.options.get("privileged") else "connect"
    )
    observations = tuple(
        replace(
            o,
            seen_at=o.seen_at or when,
            seen_scan_id=o.seen_scan_id or scan.id,
            method=o.method or default_method,
        )
        for o in scan.observations
    )
    coverage: list[tuple[str, datetime]] = []
    for item in scan.options.get("coverage") or ():
        try:
            coverage.append((str(item[0]), datetime.fromisoformat(item[1])))
        except (TypeError, ValueError, IndexError):
            continue
    if not coverage:
        from itaudit.scan.targets import TargetError, parse_targets

        try:
            nets = parse_targets(scan.target_key.split(","), yes_large=True).networks
        except TargetError:  # a hashed key of a very long target list: no coverage known
            nets = ()
        coverage = [(str(n), when) for n in nets]
    return LanState(scan.id, scan.finished_at, scan.options, observations, tuple(coverage))

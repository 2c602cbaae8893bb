"""Migrations of the scan tables."""

from __future__ import annotations

import sqlalchemy as sa

from itaudit.store.migrations import Migration


def _001_initial(conn: sa.Connection) -> None:
    m = sa.MetaData()
    sa.Table(
        "scans",
        m,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("unit", sa.String(64), index=True),
        sa.Column("targets", sa.Text, nullable=False),
        sa.Column("target_key", sa.String(512), nullable=False, index=True),
        sa.Column("options", sa.Text, nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("nmap_version", sa.String(32)),
        sa.Column("run_by", sa.String(128)),
        sa.Column("addresses", sa.Integer),
        sa.Column("hosts_up", sa.Integer),
        sa.Column("message", sa.String(1024)),
    )
    sa.Table(
        "scan_observations",
        m,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "scan_id",
            sa.Integer,
            sa.ForeignKey("scans.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("address", sa.String(45), nullable=False),
        sa.Column("mac", sa.String(17), index=True),
        sa.Column("vendor", sa.String(128)),
        sa.Column("hostnames", sa.Text, nullable=False),
        sa.Column("open_ports", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("bucket", sa.String(16)),
        sa.Column("asset_tag", sa.String(64)),
        sa.Column("host_id", sa.Integer),
    )
    m.create_all(conn)


def _002_reconciliation(conn: sa.Connection) -> None:
    m = sa.MetaData()
    sa.Table("scans", m, sa.Column("id", sa.Integer, primary_key=True))
    sa.Table(
        "scan_reconciliations",
        m,
        sa.Column(
            "scan_id", sa.Integer, sa.ForeignKey("scans.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("reconciled_at", sa.DateTime, nullable=False),
        sa.Column("unit", sa.String(64)),
        sa.Column("summary", sa.Text, nullable=False),
    )
    sa.Table(
        "scan_missing",
        m,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "scan_id",
            sa.Integer,
            sa.ForeignKey("scans.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("asset_tag", sa.String(64)),
        sa.Column("host_id", sa.Integer),
        sa.Column("hostname", sa.String(63)),
        sa.Column("type", sa.String(32)),
        sa.Column("address", sa.String(45)),
        sa.Column("source", sa.String(16), nullable=False),
    )
    sa.Table(
        "scan_findings",
        m,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "scan_id",
            sa.Integer,
            sa.ForeignKey("scans.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("address", sa.String(45)),
        sa.Column("mac", sa.String(17)),
        sa.Column("asset_tag", sa.String(64)),
        sa.Column("host_id", sa.Integer),
        sa.Column("port", sa.Integer),
        sa.Column("detail", sa.Text, nullable=False),
    )
    # Only the new tables: `scans` above is a stub for the foreign keys.
    for name in ("scan_reconciliations", "scan_missing", "scan_findings"):
        m.tables[name].create(conn)


def _003_coverage(conn: sa.Connection) -> None:
    # The unit's LAN state is built by coverage (itaudit.scan.coverage): a scan stores
    # the devices it saw and those it carried from earlier scans it did not cover.
    # Observations stored before are all the scan's own (NULL seen_scan_id) and their
    # method is unknown (NULL): a later scan of any method covers them.
    for ddl in (
        "ALTER TABLE scan_observations ADD COLUMN method VARCHAR(16)",
        "ALTER TABLE scan_observations ADD COLUMN mac_source VARCHAR(16)",
        "ALTER TABLE scan_observations ADD COLUMN seen_at TIMESTAMP",
        "ALTER TABLE scan_observations ADD COLUMN seen_scan_id INTEGER",
    ):
        conn.execute(sa.text(ddl))


MIGRATIONS = [
    Migration("scan.001_initial", _001_initial),
    Migration("scan.002_reconciliation", _002_reconciliation),
    Migration("scan.003_coverage", _003_coverage),
]

"""Tables of LAN scans and what they observed."""

from __future__ import annotations

import sqlalchemy as sa

from itaudit.store.tables import metadata

scans = sa.Table(
    "scans",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("unit", sa.String(64), index=True),  # null for targets outside any unit
    sa.Column("targets", sa.Text, nullable=False),  # JSON list, as the officer gave them
    sa.Column(
        "target_key", sa.String(512), nullable=False, index=True
    ),  # normalised, to find the previous scan
    sa.Column(
        "options", sa.Text, nullable=False
    ),  # JSON: ports, timing, privileged, nmap arguments
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime),
    sa.Column("status", sa.String(16), nullable=False),  # running, complete, failed
    sa.Column("nmap_version", sa.String(32)),
    sa.Column("run_by", sa.String(128)),
    sa.Column("addresses", sa.Integer),  # how many addresses the targets cover
    sa.Column("hosts_up", sa.Integer),
    sa.Column("message", sa.String(1024)),
)

scan_observations = sa.Table(
    "scan_observations",
    metadata,
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
    sa.Column("hostnames", sa.Text, nullable=False),  # JSON list of names (reverse DNS)
    sa.Column("open_ports", sa.Text, nullable=False),  # JSON list of {"port", "proto", "service"}
    sa.Column("state", sa.String(16), nullable=False),
    # Reconciliation: filled when the scan is reconciled with the store and register.
    sa.Column("bucket", sa.String(16)),  # managed, registered, unknown, forbidden
    sa.Column("asset_tag", sa.String(64)),
    sa.Column("host_id", sa.Integer),
    # Migration scan.003: how the device was found and, for a device carried from an
    # earlier scan this one did not cover, when and by which scan it was last seen.
    sa.Column("method", sa.String(16)),  # raw, connect, nd
    sa.Column("mac_source", sa.String(16)),  # nmap, neighbour, earlier
    sa.Column("seen_at", sa.DateTime),
    sa.Column("seen_scan_id", sa.Integer),
)

# Reconciliation of a scan with the store and the register (migration scan.002).
scan_reconciliations = sa.Table(
    "scan_reconciliations",
    metadata,
    sa.Column(
        "scan_id", sa.Integer, sa.ForeignKey("scans.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("reconciled_at", sa.DateTime, nullable=False),
    sa.Column("unit", sa.String(64)),
    sa.Column("summary", sa.Text, nullable=False),  # JSON: counts per bucket, missing, findings
)

# Register entries and reporting hosts expected on the scanned LAN but not seen.
scan_missing = sa.Table(
    "scan_missing",
    metadata,
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
    sa.Column("address", sa.String(45)),  # where it was expected, when known
    sa.Column("source", sa.String(16), nullable=False),  # register, agent
)

scan_findings = sa.Table(
    "scan_findings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "scan_id",
        sa.Integer,
        sa.ForeignKey("scans.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),  # critical, high, medium, low
    sa.Column("address", sa.String(45)),
    sa.Column("mac", sa.String(17)),
    sa.Column("asset_tag", sa.String(64)),
    sa.Column("host_id", sa.Integer),
    sa.Column("port", sa.Integer),
    sa.Column("detail", sa.Text, nullable=False),  # JSON: what the finding is based on
)

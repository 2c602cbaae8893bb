"""Table definitions used by queries (the current shape of the store).

Migrations in `itaudit.store.migrations` create and change these tables; a
test checks that a freshly migrated store matches this metadata, so the two
cannot drift. Components that keep their own tables (scan, check, ...) add
them to `metadata` in their own module and register a migration beside it.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

schema_migrations = sa.Table(
    "schema_migrations",
    metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("applied_at", sa.DateTime, nullable=False),
)

hosts = sa.Table(
    "hosts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("hostname", sa.String(63), nullable=False),
    sa.Column("hostname_key", sa.String(63), nullable=False, index=True),
    sa.Column("hardware_uuid", sa.String(36), index=True),
    sa.Column("serial", sa.String(128), index=True),
    sa.Column("platform", sa.String(16)),
    sa.Column("unit", sa.String(64), index=True),
    sa.Column("unit_source", sa.String(16)),
    sa.Column("asset_tag", sa.String(64), index=True),
    sa.Column("match_method", sa.String(16)),
    sa.Column("first_seen", sa.DateTime, nullable=False),
    sa.Column("last_collected_at", sa.DateTime),
    sa.Column(
        "latest_report_id",
        sa.Integer,
        sa.ForeignKey("reports.id", use_alter=True, name="fk_hosts_latest_report"),
    ),
    sa.Column("public_key", sa.String(64)),
    sa.Column("key_fingerprint", sa.String(64)),
    sa.Column("key_first_seen", sa.DateTime),
    # Possible impostor: the host whose name it took (itaudit.identity.CONFLICT_STATES).
    sa.Column("conflict_with", sa.Integer),
    sa.Column("conflict_state", sa.String(16)),  # suspect, accepted, rejected; null: none
)

# Pinned signing keys, one per (host, slot): `agent` (Ed25519 reports), `machine`
# and `user` (the Windows collector's CNG key stores; a host may have both).
host_keys = sa.Table(
    "host_keys",
    metadata,
    sa.Column(
        "host_id", sa.Integer, sa.ForeignKey("hosts.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("slot", sa.String(16), primary_key=True),
    sa.Column("public_key", sa.Text, nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("first_seen", sa.DateTime, nullable=False),
)

host_macs = sa.Table(
    "host_macs",
    metadata,
    sa.Column(
        "host_id", sa.Integer, sa.ForeignKey("hosts.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("mac", sa.String(17), primary_key=True),
    sa.Index("ix_host_macs_mac", "mac"),
)

reports = sa.Table(
    "reports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("host_id", sa.Integer, sa.ForeignKey("hosts.id"), nullable=False, index=True),
    sa.Column("content_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("report_uuid", sa.String(36), nullable=False),
    sa.Column("collected_at", sa.DateTime, nullable=False),
    sa.Column("received_at", sa.DateTime, nullable=False),
    sa.Column("source", sa.String(512)),
    sa.Column("collector", sa.String(16)),
    sa.Column("agent_version", sa.String(32)),
    sa.Column("signature_state", sa.String(16), nullable=False),
    sa.Column("key_fingerprint", sa.String(64)),
    sa.Column("size_bytes", sa.Integer, nullable=False),
    sa.Column("document", sa.Text, nullable=False),
)

key_events = sa.Table(
    "key_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("host_id", sa.Integer, sa.ForeignKey("hosts.id"), nullable=False, index=True),
    sa.Column("event", sa.String(16), nullable=False),  # pinned, rekey-allowed, rekeyed
    sa.Column("fingerprint", sa.String(64)),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("actor", sa.String(128)),
    sa.Column("note", sa.String(512)),
)

rejections = sa.Table(
    "rejections",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("received_at", sa.DateTime, nullable=False),
    sa.Column("source", sa.String(512), nullable=False),
    sa.Column("reason", sa.String(2048), nullable=False),
    sa.Column("content_hash", sa.String(64)),
    sa.Column("hostname", sa.String(63)),
)

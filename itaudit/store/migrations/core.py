"""Migrations of the core tables: hosts, reports, keys, rejections."""

from __future__ import annotations

import sqlalchemy as sa

from itaudit.store.migrations import Migration


def _001_initial(conn: sa.Connection) -> None:
    m = sa.MetaData()
    sa.Table(
        "hosts",
        m,
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
    )
    sa.Table(
        "host_macs",
        m,
        sa.Column(
            "host_id", sa.Integer, sa.ForeignKey("hosts.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("mac", sa.String(17), primary_key=True),
        sa.Index("ix_host_macs_mac", "mac"),
    )
    sa.Table(
        "reports",
        m,
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
    sa.Table(
        "key_events",
        m,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("host_id", sa.Integer, sa.ForeignKey("hosts.id"), nullable=False, index=True),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("fingerprint", sa.String(64)),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("actor", sa.String(128)),
        sa.Column("note", sa.String(512)),
    )
    sa.Table(
        "rejections",
        m,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("received_at", sa.DateTime, nullable=False),
        sa.Column("source", sa.String(512), nullable=False),
        sa.Column("reason", sa.String(2048), nullable=False),
        sa.Column("content_hash", sa.String(64)),
        sa.Column("hostname", sa.String(63)),
    )
    m.create_all(conn)
    # "Current state" is a view over the latest report of each host.
    conn.execute(
        sa.text(
            "CREATE VIEW current_reports AS "
            "SELECT r.*, h.hostname, h.unit, h.asset_tag, h.match_method "
            "FROM hosts h JOIN reports r ON r.id = h.latest_report_id"
        )
    )


def _002_name_conflict(conn: sa.Connection) -> None:
    # A new machine whose report carries a known host's name but a new key and no
    # identifier in common: a possible impostor until the officer resolves it.
    conn.execute(sa.text("ALTER TABLE hosts ADD COLUMN conflict_with INTEGER"))
    conn.execute(sa.text("ALTER TABLE hosts ADD COLUMN conflict_state VARCHAR(16)"))


def _003_host_keys(conn: sa.Connection) -> None:
    # One pinned key per (host, slot): `agent` (Ed25519), or the Windows collector's
    # `machine` and `user` key stores, which one host may both use. The key pinned
    # so far moves in as the `agent` slot; hosts.key_fingerprint stays the host's
    # first key (shown, and compared for name conflicts).
    m = sa.MetaData()
    sa.Table("hosts", m, sa.Column("id", sa.Integer, primary_key=True))
    keys = sa.Table(
        "host_keys",
        m,
        sa.Column(
            "host_id", sa.Integer, sa.ForeignKey("hosts.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("slot", sa.String(16), primary_key=True),
        sa.Column("public_key", sa.Text, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("first_seen", sa.DateTime, nullable=False),
    )
    keys.create(conn)
    conn.execute(
        sa.text(
            "INSERT INTO host_keys (host_id, slot, public_key, fingerprint, first_seen) "
            "SELECT id, 'agent', public_key, key_fingerprint, COALESCE(key_first_seen, first_seen) "
            "FROM hosts WHERE key_fingerprint IS NOT NULL AND public_key IS NOT NULL"
        )
    )


def _004_operations(conn: sa.Connection) -> None:
    # Continuous operation: enrolment secrets per unit (hashed), host enrolment and
    # revocation, refused enrolment attempts, store settings (retention), and the
    # log of scheduled jobs. Spelled out here: ops_tables.py is only the latest shape.
    m = sa.MetaData()
    sa.Table("hosts", m, sa.Column("id", sa.Integer, primary_key=True))
    sa.Table(
        "enrolment_secrets",
        m,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("unit", sa.String(64), nullable=False, index=True),
        sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("created_by", sa.String(128)),
        sa.Column("replaced_at", sa.DateTime),
    )
    sa.Table(
        "host_status",
        m,
        sa.Column(
            "host_id", sa.Integer, sa.ForeignKey("hosts.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("enrolled_unit", sa.String(64)),
        sa.Column("enrolled_at", sa.DateTime),
        sa.Column("enrolled_from", sa.String(64)),
        sa.Column("revoked_at", sa.DateTime),
        sa.Column("revoked_by", sa.String(128)),
        sa.Column("revoked_reason", sa.String(512)),
    )
    sa.Table(
        "enrolment_failures",
        m,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime, nullable=False, index=True),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("hostname", sa.String(63)),
        sa.Column("reason", sa.String(512), nullable=False),
    )
    sa.Table(
        "store_settings",
        m,
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(512), nullable=False),
        sa.Column("changed_at", sa.DateTime, nullable=False),
    )
    sa.Table(
        "job_runs",
        m,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("job", sa.String(32), nullable=False, index=True),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("exit_code", sa.Integer),
        sa.Column("message", sa.String(2048)),
    )
    for name in (
        "enrolment_secrets",
        "host_status",
        "enrolment_failures",
        "store_settings",
        "job_runs",
    ):
        m.tables[name].create(conn)


MIGRATIONS = [
    Migration("core.001_initial", _001_initial),
    Migration("core.002_name_conflict", _002_name_conflict),
    Migration("core.003_host_keys", _003_host_keys),
    Migration("core.004_operations", _004_operations),
]

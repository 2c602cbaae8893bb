"""Migrations of the checker's tables: check runs, results, attestations."""

from __future__ import annotations

import sqlalchemy as sa

from itaudit.store.migrations import Migration


def _001_initial(conn: sa.Connection) -> None:
    m = sa.MetaData()
    sa.Table(
        "check_runs",
        m,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("checked_at", sa.DateTime, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("scope_unit", sa.String(64)),
        sa.Column("scope_host", sa.String(128)),
        sa.Column("framework", sa.String(64)),
        sa.Column("run_by", sa.String(128)),
        sa.Column("itaudit_version", sa.String(32)),
        sa.Column("subjects", sa.Integer),
        sa.Column("summary", sa.Text),
        sa.Column("rules", sa.Text),
        sa.Column("waivers", sa.Text),
        sa.Column("attestations", sa.Text),
    )
    sa.Table(
        "check_results",
        m,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "run_id",
            sa.Integer,
            sa.ForeignKey("check_runs.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("unit", sa.String(64), index=True),
        sa.Column("profile", sa.String(64)),
        sa.Column("host_id", sa.Integer),
        sa.Column("hostname", sa.String(63)),
        sa.Column("asset_tag", sa.String(64)),
        sa.Column("asset_type", sa.String(16)),
        sa.Column("platform", sa.String(16)),
        sa.Column("report_id", sa.Integer),
        sa.Column("collected_at", sa.DateTime),
        sa.Column("passed", sa.Integer, nullable=False),
        sa.Column("failed", sa.Integer, nullable=False),
        sa.Column("errors", sa.Integer, nullable=False),
        sa.Column("not_applicable", sa.Integer, nullable=False),
        sa.Column("waived", sa.Integer, nullable=False),
        sa.Column("score", sa.Float),
        sa.Column("results", sa.Text, nullable=False),
    )
    sa.Table(
        "attestations",
        m,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("rule_id", sa.String(64), nullable=False, index=True),
        sa.Column("target_kind", sa.String(8), nullable=False),
        sa.Column("unit", sa.String(64), index=True),
        sa.Column("hostname", sa.String(63)),
        sa.Column("asset_tag", sa.String(64)),
        sa.Column("reference", sa.String(256), nullable=False),
        sa.Column("evidence_date", sa.Date, nullable=False),
        sa.Column("expires", sa.Date),
        sa.Column("file_name", sa.String(255)),
        sa.Column("file_sha256", sa.String(64)),
        sa.Column("file_size", sa.BigInteger),
        sa.Column("note", sa.String(1024)),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.Column("recorded_by", sa.String(128)),
    )
    m.create_all(conn)


def _002_method(conn: sa.Connection) -> None:
    # Runs stored before this column existed used evaluation method 1, under which a
    # probe the agent called "unsupported" made its rules not-applicable. They keep
    # that meaning; reports mark the change of method between two runs.
    conn.execute(sa.text("ALTER TABLE check_runs ADD COLUMN method INTEGER"))
    conn.execute(sa.text("UPDATE check_runs SET method = 1"))
    # host:pid of the process running a check, so that a killed run can be told
    # from one still going (itaudit.check.stale).
    conn.execute(sa.text("ALTER TABLE check_runs ADD COLUMN runner VARCHAR(128)"))


MIGRATIONS = [
    Migration("check.001_initial", _001_initial),
    Migration("check.002_method", _002_method),
]

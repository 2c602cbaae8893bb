"""Tables of check runs, their results, and attestations.

`check_results` holds one row per subject (a machine, a register entry that
never reported, or a unit for unit-wide rules) with every rule's outcome packed
as JSON: 100,000 machines x 40 rules stay 100,000 rows. Read them through
`itaudit.check.results`, never by hand.
"""

from __future__ import annotations

import sqlalchemy as sa

from itaudit.store.tables import metadata

check_runs = sa.Table(
    "check_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime),
    sa.Column("checked_at", sa.DateTime, nullable=False),  # "now" of time-relative rules
    sa.Column("status", sa.String(16), nullable=False),  # running, complete, failed
    sa.Column("scope_unit", sa.String(64)),
    sa.Column("scope_host", sa.String(128)),
    sa.Column("framework", sa.String(64)),
    sa.Column("run_by", sa.String(128)),
    sa.Column("itaudit_version", sa.String(32)),
    # Evaluation method (itaudit.check.engine.METHOD) the run used; see METHODS.
    sa.Column("method", sa.Integer),
    sa.Column("runner", sa.String(128)),  # host:pid while running (itaudit.check.stale)
    sa.Column("subjects", sa.Integer),
    sa.Column("summary", sa.Text),  # JSON: per-unit numbers and totals
    sa.Column("rules", sa.Text),  # JSON: rule texts and per-profile parameters, as checked
    sa.Column("waivers", sa.Text),  # JSON: every waiver in scope with its state
    sa.Column("attestations", sa.Text),  # JSON: attestations considered, with their state
)

check_results = sa.Table(
    "check_results",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "run_id",
        sa.Integer,
        sa.ForeignKey("check_runs.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("kind", sa.String(8), nullable=False),  # host, asset (never reported), unit
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
    sa.Column("score", sa.Float),  # passed / (passed + failed + error); null when all are 0
    sa.Column(
        "results", sa.Text, nullable=False
    ),  # JSON: rule id -> [status, trace, notes, waiver]
)

attestations = sa.Table(
    "attestations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("rule_id", sa.String(64), nullable=False, index=True),
    sa.Column("target_kind", sa.String(8), nullable=False),  # unit, host
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

"""Tables of continuous operation: enrolment secrets per unit, host enrolment
and revocation, refused enrolment attempts, store settings, scheduled job runs.

Created by migration `core.004_operations`; import this module from the code
that queries them (it registers the tables on `itaudit.store.tables.metadata`).
"""

from __future__ import annotations

import sqlalchemy as sa

from itaudit.store.tables import metadata

# One row per secret ever issued: the active one of a unit has `replaced_at` null.
# Only a SHA-256 of the secret is kept: the secret is 256 random bits, so a slow
# password hash would add nothing, and the collector checks it on every push.
enrolment_secrets = sa.Table(
    "enrolment_secrets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("unit", sa.String(64), nullable=False, index=True),
    sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("created_by", sa.String(128)),
    sa.Column("replaced_at", sa.DateTime),  # rotated: enrols no new host any more
)

# A host enrolled by a unit secret (the collector pinned its key then), and its
# revocation: a revoked host's pushes are refused until the revocation is lifted.
host_status = sa.Table(
    "host_status",
    metadata,
    sa.Column(
        "host_id", sa.Integer, sa.ForeignKey("hosts.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("enrolled_unit", sa.String(64)),
    sa.Column("enrolled_at", sa.DateTime),
    sa.Column("enrolled_from", sa.String(64)),  # the address of the first push
    sa.Column("revoked_at", sa.DateTime),
    sa.Column("revoked_by", sa.String(128)),
    sa.Column("revoked_reason", sa.String(512)),
)

# Pushes refused for a wrong or missing secret, a revoked host, a key that is
# not the pinned one: what the officer reads after an alert, and what the rate
# limit counts.
enrolment_failures = sa.Table(
    "enrolment_failures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime, nullable=False, index=True),
    sa.Column("address", sa.String(64), nullable=False),
    sa.Column("hostname", sa.String(63)),
    sa.Column("reason", sa.String(512), nullable=False),
)

store_settings = sa.Table(
    "store_settings",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(512), nullable=False),
    sa.Column("changed_at", sa.DateTime, nullable=False),
)

# One row per job of `itaudit schedule run`: its outcome is shown in the next report.
job_runs = sa.Table(
    "job_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("job", sa.String(32), nullable=False, index=True),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime),
    sa.Column("status", sa.String(16), nullable=False),  # running, ok, findings, failed, skipped
    sa.Column("exit_code", sa.Integer),
    sa.Column("message", sa.String(2048)),
)

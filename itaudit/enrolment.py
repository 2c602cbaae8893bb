"""Enrolment secrets per unit, host enrolment and revocation, refused attempts.

A unit's enrolment secret lets a machine's first push enrol it: the collector
pins the key that signed it and records the unit. Later pushes are accepted
only when signed by that key; a revoked host is refused whatever it sends.
Secrets are 256 random bits shown once; the store keeps their SHA-256 only.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from itaudit.errors import UsageError
from itaudit.store import Store, utcnow
from itaudit.store import ops_tables as ot
from itaudit.store import tables as t

SECRET_BYTES = 32


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.strip().encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SecretInfo:
    unit: str
    created_at: datetime
    created_by: str | None
    replaced_at: datetime | None

    @property
    def active(self) -> bool:
        return self.replaced_at is None


@dataclass(frozen=True)
class Credential:
    """Who a push's bearer secret says it comes from."""

    kind: str  # open (no secret configured), token (the shared --token-file), unit
    unit: str | None = None
    active: bool = True  # a rotated unit secret only serves hosts it already enrolled


@dataclass(frozen=True)
class HostState:
    host_id: int
    enrolled_unit: str | None
    enrolled_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None
    revoked_reason: str | None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def label(self) -> str:
        """The short state `itaudit hosts` shows."""
        if self.revoked_at is not None:
            return f"revoked {self.revoked_at:%Y-%m-%d}"
        if self.enrolled_unit is not None:
            return f"enrolled ({self.enrolled_unit})"
        return ""


def create_secret(
    store: Store, unit: str, *, rotate: bool = False, actor: str | None = None
) -> str:
    """A new enrolment secret for `unit`, returned once in clear.

    Without `rotate`, a unit that already has an active secret is refused (the
    officer would silently lock out machines being installed with the old one).
    With it, the old secret stops enrolling new machines at once; machines it
    already enrolled keep pushing with it (their key is what authenticates them).
    """
    secret = secrets.token_urlsafe(SECRET_BYTES)
    now = utcnow()
    s = ot.enrolment_secrets
    with store.write() as conn:
        active = conn.execute(
            sa.select(s.c.id).where(s.c.unit == unit, s.c.replaced_at.is_(None))
        ).first()
        if active is not None and not rotate:
            raise UsageError(
                f"unit {unit!r} already has an enrolment secret; give --rotate to replace it"
            )
        if active is not None:
            conn.execute(s.update().where(s.c.id == active.id).values(replaced_at=now))
        conn.execute(
            s.insert().values(
                unit=unit,
                secret_hash=secret_hash(secret),
                created_at=now,
                created_by=(actor or _current_user())[:128],
            )
        )
    return secret


def list_secrets(store: Store) -> list[SecretInfo]:
    s = ot.enrolment_secrets
    with store.read() as conn:
        rows = conn.execute(sa.select(s).order_by(s.c.unit, s.c.id)).all()
    return [SecretInfo(r.unit, r.created_at, r.created_by, r.replaced_at) for r in rows]


def any_secret(conn: sa.Connection) -> bool:
    return conn.execute(sa.select(ot.enrolment_secrets.c.id).limit(1)).first() is not None


def find_credential(
    conn: sa.Connection, presented: str, shared_token: str | None
) -> Credential | None:
    """The credential a bearer secret stands for, or None when it stands for nothing."""
    if shared_token is not None and hmac.compare_digest(presented.encode(), shared_token.encode()):
        return Credential("token")
    if not presented:
        return None
    s = ot.enrolment_secrets
    row = conn.execute(
        sa.select(s.c.unit, s.c.replaced_at).where(s.c.secret_hash == secret_hash(presented))
    ).first()
    if row is None:
        return None
    return Credential("unit", row.unit, row.replaced_at is None)


def host_states(store: Store) -> dict[int, HostState]:
    with store.read() as conn:
        return states(conn)


def states(conn: sa.Connection, host_ids: list[int] | None = None) -> dict[int, HostState]:
    h = ot.host_status
    query = sa.select(h)
    if host_ids is not None:
        query = query.where(h.c.host_id.in_(host_ids))
    return {
        r.host_id: HostState(
            r.host_id,
            r.enrolled_unit,
            r.enrolled_at,
            r.revoked_at,
            r.revoked_by,
            r.revoked_reason,
        )
        for r in conn.execute(query)
    }


def record_enrolment(conn: sa.Connection, host_id: int, unit: str, address: str) -> bool:
    """Record that `host_id` was enrolled into `unit` now; False if it already was."""
    h = ot.host_status
    row = conn.execute(sa.select(h.c.enrolled_unit).where(h.c.host_id == host_id)).first()
    if row is not None and row.enrolled_unit is not None:
        return False
    values = {"enrolled_unit": unit, "enrolled_at": utcnow(), "enrolled_from": address[:64]}
    if row is None:
        conn.execute(h.insert().values(host_id=host_id, **values))
    else:
        conn.execute(h.update().where(h.c.host_id == host_id).values(**values))
    conn.execute(
        t.key_events.insert().values(
            host_id=host_id,
            event="enrolled",
            at=utcnow(),
            actor="serve",
            note=f"enrolled into unit {unit} by its first push from {address}"[:512],
        )
    )
    return True


def revoke(
    store: Store, host_id: int, reason: str, actor: str | None = None, lift: bool = False
) -> None:
    """Refuse (or, with `lift`, accept again) the host's further pushes; recorded with who and why."""
    h = ot.host_status
    now = utcnow()
    who = (actor or _current_user())[:128]
    values: dict[str, Any] = (
        {"revoked_at": None, "revoked_by": None, "revoked_reason": None}
        if lift
        else {"revoked_at": now, "revoked_by": who, "revoked_reason": reason[:512]}
    )
    with store.write() as conn:
        exists = conn.execute(sa.select(h.c.host_id).where(h.c.host_id == host_id)).first()
        if exists is None:
            conn.execute(h.insert().values(host_id=host_id, **values))
        else:
            conn.execute(h.update().where(h.c.host_id == host_id).values(**values))
        conn.execute(
            t.key_events.insert().values(
                host_id=host_id,
                event="unrevoked" if lift else "revoked",
                at=now,
                actor=who,
                note=reason[:512] or None,
            )
        )


def record_failure(conn: sa.Connection, address: str, hostname: str | None, reason: str) -> None:
    conn.execute(
        ot.enrolment_failures.insert().values(
            at=utcnow(),
            address=address[:64],
            hostname=(hostname or None) and hostname[:63],
            reason=reason[:512],
        )
    )


def recent_failures(store: Store, since: timedelta = timedelta(days=7)) -> list[dict[str, Any]]:
    f = ot.enrolment_failures
    with store.read() as conn:
        rows = conn.execute(
            sa.select(f).where(f.c.at >= utcnow() - since).order_by(f.c.id.desc()).limit(1000)
        ).all()
    return [dict(r._mapping) for r in rows]


def _current_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"

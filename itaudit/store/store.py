"""The inventory store: one interface over SQLite (default) and PostgreSQL.

Reports are kept as append-only history with a content hash; each host points
at its latest report (the `current_reports` view). Writers take the store's
write lock for the whole transaction (SQLite `BEGIN IMMEDIATE`, a PostgreSQL
advisory lock), so two ingests never create the same host twice.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    InterfaceError,
    NoSuchModuleError,
    OperationalError,
    SQLAlchemyError,
)

from itaudit.errors import StoreError, StoreURLError
from itaudit.store import tables as t
from itaudit.store.migrations import all_migrations

_WRITE_LOCK_KEY = 0x17A0D17  # PostgreSQL advisory lock id for writers


def utcnow() -> datetime:
    """Naive UTC: the store keeps every timestamp as naive UTC on both back ends."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def to_naive_utc(value: datetime) -> datetime:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


@dataclass(frozen=True)
class HostRow:
    """A host as the store knows it."""

    id: int
    hostname: str
    unit: str | None
    unit_source: str | None
    asset_tag: str | None
    match_method: str | None
    platform: str | None
    first_seen: datetime
    last_collected_at: datetime | None
    latest_report_id: int | None
    key_fingerprint: str | None
    hardware_uuid: str | None = None
    serial: str | None = None
    conflict_with: int | None = None  # the host whose name it took (possible impostor)
    conflict_state: str | None = None  # suspect, accepted, rejected

    @property
    def suspect(self) -> bool:
        return self.conflict_state == "suspect"

    @classmethod
    def from_row(cls, row: Any) -> HostRow:
        m = row._mapping
        return cls(
            id=m["id"],
            hostname=m["hostname"],
            unit=m["unit"],
            unit_source=m["unit_source"],
            asset_tag=m["asset_tag"],
            match_method=m["match_method"],
            platform=m["platform"],
            first_seen=m["first_seen"],
            last_collected_at=m["last_collected_at"],
            latest_report_id=m["latest_report_id"],
            key_fingerprint=m["key_fingerprint"],
            hardware_uuid=m["hardware_uuid"],
            serial=m["serial"],
            conflict_with=m["conflict_with"],
            conflict_state=m["conflict_state"],
        )


@dataclass(frozen=True)
class ReportMeta:
    """A stored report without its document."""

    id: int
    host_id: int
    content_hash: str
    collected_at: datetime
    received_at: datetime
    source: str | None
    signature_state: str
    key_fingerprint: str | None
    size_bytes: int
    is_current: bool


_HOST_COLUMNS = [
    t.hosts.c.id,
    t.hosts.c.hostname,
    t.hosts.c.unit,
    t.hosts.c.unit_source,
    t.hosts.c.asset_tag,
    t.hosts.c.match_method,
    t.hosts.c.platform,
    t.hosts.c.first_seen,
    t.hosts.c.last_collected_at,
    t.hosts.c.latest_report_id,
    t.hosts.c.key_fingerprint,
    t.hosts.c.hardware_uuid,
    t.hosts.c.serial,
    t.hosts.c.conflict_with,
    t.hosts.c.conflict_state,
]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # We issue BEGIN ourselves (see _sqlite_begin): pysqlite's implicit
    # transactions would leave DDL and reads outside them.
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin(conn: sa.Connection) -> None:
    mode = "BEGIN IMMEDIATE" if conn.get_execution_options().get("itaudit_write") else "BEGIN"
    conn.exec_driver_sql(mode)


def _reason(exc: BaseException) -> str:
    """The driver's own first line, without SQLAlchemy's statement dump and help link."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextmanager
def _environment_errors(url: str) -> Iterator[None]:
    # A server that goes away, a locked or full disk: the environment failed, and
    # the officer needs the reason, not a traceback. Errors in our own statements
    # (integrity, programming) stay as they are: they are bugs to see in full.
    try:
        yield
    except (OperationalError, InterfaceError) as exc:
        raise StoreError(f"{url}: {_reason(exc)}") from exc


class Store:
    """Open with `open_store(url)`; close when done."""

    def __init__(self, url: str, engine: sa.Engine):
        self.url = url
        self.engine = engine
        self.dialect = engine.dialect.name

    # -- connections -------------------------------------------------------
    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """A read transaction (a consistent snapshot on both back ends).

        A lost server or an unreadable file raises StoreError with the reason.
        """
        with _environment_errors(self.url), self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """A write transaction holding the store's write lock; commits on success."""
        with _environment_errors(self.url), self.engine.connect() as conn:
            conn = conn.execution_options(itaudit_write=True)
            with conn.begin():
                if self.dialect == "postgresql":
                    conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_WRITE_LOCK_KEY)))
                yield conn

    def close(self) -> None:
        self.engine.dispose()

    # -- schema ------------------------------------------------------------
    def migrate(self) -> list[str]:
        """Apply pending migrations, each in its own transaction; return their ids."""
        applied: list[str] = []
        with self.write() as conn:
            t.schema_migrations.create(conn, checkfirst=True)
            recorded = set(conn.execute(sa.select(t.schema_migrations.c.id)).scalars())
        known = all_migrations()
        unknown = sorted(recorded - {m.id for m in known})
        if unknown:
            # Written by a newer itaudit: its tables may hold what this version
            # would misread or overwrite.
            from itaudit import __version__

            raise StoreError(
                f"{self.url} was created by a newer itaudit (migration(s) "
                f"{', '.join(unknown[:3])} unknown to version {__version__}); upgrade itaudit"
            )
        for migration in known:
            with self.write() as conn:
                done = conn.execute(
                    sa.select(t.schema_migrations.c.id).where(
                        t.schema_migrations.c.id == migration.id
                    )
                ).first()
                if done:
                    continue
                migration.apply(conn)
                conn.execute(
                    t.schema_migrations.insert().values(id=migration.id, applied_at=utcnow())
                )
                applied.append(migration.id)
        return applied

    def applied_migrations(self) -> list[str]:
        with self.read() as conn:
            return list(
                conn.execute(
                    sa.select(t.schema_migrations.c.id).order_by(t.schema_migrations.c.id)
                ).scalars()
            )

    def integrity_check(self) -> list[str]:
        """Problems found in the store (empty when consistent)."""
        problems: list[str] = []
        with self.read() as conn:
            if self.dialect == "sqlite":
                result = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check")]
                if result != ["ok"]:
                    problems.extend(f"sqlite: {r}" for r in result)
                problems.extend(
                    f"foreign key: {tuple(r)}"
                    for r in conn.exec_driver_sql("PRAGMA foreign_key_check")
                )
            dangling = (
                conn.execute(
                    sa.select(t.hosts.c.hostname)
                    .outerjoin(t.reports, t.reports.c.id == t.hosts.c.latest_report_id)
                    .where(t.hosts.c.latest_report_id.is_not(None), t.reports.c.id.is_(None))
                )
                .scalars()
                .all()
            )
            problems.extend(f"host {h}: latest report missing" for h in dangling)
            wrong_host = (
                conn.execute(
                    sa.select(t.hosts.c.hostname)
                    .join(t.reports, t.reports.c.id == t.hosts.c.latest_report_id)
                    .where(t.reports.c.host_id != t.hosts.c.id)
                )
                .scalars()
                .all()
            )
            problems.extend(f"host {h}: latest report belongs to another host" for h in wrong_host)
            orphans = conn.execute(
                sa.select(sa.func.count())
                .select_from(t.hosts)
                .where(t.hosts.c.latest_report_id.is_(None))
            ).scalar_one()
            if orphans:
                problems.append(f"{orphans} host(s) without any report")
        return problems

    # -- queries -----------------------------------------------------------
    def hosts(self, unit: str | None = None) -> list[HostRow]:
        query = sa.select(*_HOST_COLUMNS).order_by(t.hosts.c.unit, t.hosts.c.hostname_key)
        if unit is not None:
            query = query.where(t.hosts.c.unit == unit)
        with self.read() as conn:
            return [HostRow.from_row(r) for r in conn.execute(query)]

    def host(self, ref: str) -> HostRow | None:
        """A host by numeric id, asset tag or host name (case-insensitive)."""
        key = ref.strip()
        conds = [t.hosts.c.hostname_key == key.lower(), t.hosts.c.asset_tag == key]
        if key.isdigit():
            conds.append(t.hosts.c.id == int(key))
        with self.read() as conn:
            rows = list(
                conn.execute(sa.select(*_HOST_COLUMNS).where(sa.or_(*conds)).order_by(t.hosts.c.id))
            )
        if not rows:
            return None
        # An id or a tag is exact; several hosts may share an old host name:
        # the most recently reporting one is meant.
        rows.sort(
            key=lambda r: (
                r._mapping["id"] != (int(key) if key.isdigit() else -1),
                r._mapping["asset_tag"] != key,
                # By name, the established machine, not a newcomer that took its name.
                r._mapping["conflict_state"] in ("suspect", "rejected"),
                datetime.max - (r._mapping["last_collected_at"] or datetime.min),
            )
        )
        return HostRow.from_row(rows[0])

    def latest_document(self, host_id: int) -> dict[str, Any] | None:
        with self.read() as conn:
            text = conn.execute(
                sa.select(t.reports.c.document)
                .join(t.hosts, t.hosts.c.latest_report_id == t.reports.c.id)
                .where(t.hosts.c.id == host_id)
            ).scalar_one_or_none()
        return None if text is None else json.loads(text)

    def iter_latest(
        self, unit: str | None = None, batch_size: int = 1000
    ) -> Iterator[tuple[HostRow, str]]:
        """(host, document JSON text) for the latest report of every host, streamed.

        The text is returned undecoded so the caller decides when to pay for
        decoding (the checker measures it separately).
        """
        query = (
            sa.select(*_HOST_COLUMNS, t.reports.c.document)
            .join(t.reports, t.reports.c.id == t.hosts.c.latest_report_id)
            .order_by(t.hosts.c.id)
        )
        if unit is not None:
            query = query.where(t.hosts.c.unit == unit)
        with _environment_errors(self.url), self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=batch_size).execute(
                query
            )
            for row in result:
                yield HostRow.from_row(row), row._mapping["document"]

    def history(self, host_id: int) -> list[ReportMeta]:
        with self.read() as conn:
            latest = conn.execute(
                sa.select(t.hosts.c.latest_report_id).where(t.hosts.c.id == host_id)
            ).scalar_one_or_none()
            rows = conn.execute(
                sa.select(t.reports)
                .where(t.reports.c.host_id == host_id)
                .order_by(t.reports.c.collected_at.desc())
            ).all()
        return [
            ReportMeta(
                id=m["id"],
                host_id=m["host_id"],
                content_hash=m["content_hash"],
                collected_at=m["collected_at"],
                received_at=m["received_at"],
                source=m["source"],
                signature_state=m["signature_state"],
                key_fingerprint=m["key_fingerprint"],
                size_bytes=m["size_bytes"],
                is_current=m["id"] == latest,
            )
            for m in (r._mapping for r in rows)
        ]

    def counts(self) -> dict[str, int]:
        with self.read() as conn:
            return {
                name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                for name, table in (
                    ("hosts", t.hosts),
                    ("reports", t.reports),
                    ("rejections", t.rejections),
                )
            }

    def key_events(self, host_id: int) -> list[dict[str, Any]]:
        with self.read() as conn:
            rows = conn.execute(
                sa.select(t.key_events)
                .where(t.key_events.c.host_id == host_id)
                .order_by(t.key_events.c.id)
            ).all()
        return [dict(r._mapping) for r in rows]

    def host_keys(self, host_id: int) -> list[dict[str, Any]]:
        """The host's pinned keys, one per slot (agent, machine, user)."""
        with self.read() as conn:
            rows = conn.execute(
                sa.select(t.host_keys).where(t.host_keys.c.host_id == host_id).order_by("slot")
            ).all()
        return [dict(r._mapping) for r in rows]

    def rekey(
        self,
        host_id: int,
        actor: str | None = None,
        note: str | None = None,
        slot: str | None = None,
    ) -> list[str]:
        """Forget the host's pinned keys (all, or the one of `slot`): the next signed
        report pins a new one. Returns the fingerprints forgotten.

        Recorded in `key_events` with who and when, because accepting a new
        key is a security decision someone must own.
        """
        now = utcnow()
        with self.write() as conn:
            keys = t.host_keys
            where = keys.c.host_id == host_id
            if slot is not None:
                where = sa.and_(where, keys.c.slot == slot)
            forgotten = list(conn.execute(sa.select(keys.c.fingerprint).where(where)).scalars())
            conn.execute(keys.delete().where(where))
            primary = conn.execute(
                sa.select(t.hosts.c.key_fingerprint).where(t.hosts.c.id == host_id)
            ).scalar_one()
            if slot is None and primary is not None and primary not in forgotten:
                forgotten.append(primary)
            if slot is None or primary in forgotten:
                # The host's shown key becomes a key still pinned, if any.
                left = conn.execute(
                    sa.select(keys.c.public_key, keys.c.fingerprint, keys.c.first_seen)
                    .where(keys.c.host_id == host_id)
                    .order_by(keys.c.first_seen, keys.c.slot)
                ).first()
                conn.execute(
                    t.hosts.update()
                    .where(t.hosts.c.id == host_id)
                    .values(
                        public_key=_short_key(left.public_key) if left else None,
                        key_fingerprint=left.fingerprint if left else None,
                        key_first_seen=left.first_seen if left else None,
                    )
                )
            conn.execute(
                t.key_events.insert().values(
                    host_id=host_id,
                    event="rekey-allowed",
                    fingerprint=forgotten[0] if len(forgotten) == 1 else None,
                    at=now,
                    actor=(actor or _current_user())[:128],
                    note="; ".join(
                        part
                        for part in (
                            f"{slot} key" if slot else "",
                            f"keys {', '.join(forgotten)}" if len(forgotten) > 1 else "",
                            note or "",
                        )
                        if part
                    )[:512]
                    or None,
                )
            )
        return forgotten

    def resolve_conflict(
        self, host_id: int, accept: bool, actor: str | None = None, note: str | None = None
    ) -> None:
        """The officer's decision on a possible impostor (a host that took a known
        host's name with a new key): accepted as a machine of its own, or rejected
        (kept as evidence, never checked nor counted). Recorded in `key_events`."""
        with self.write() as conn:
            fingerprint = conn.execute(
                sa.select(t.hosts.c.key_fingerprint).where(t.hosts.c.id == host_id)
            ).scalar_one()
            conn.execute(
                t.hosts.update()
                .where(t.hosts.c.id == host_id)
                .values(conflict_state="accepted" if accept else "rejected")
            )
            conn.execute(
                t.key_events.insert().values(
                    host_id=host_id,
                    event="conflict-accept" if accept else "conflict-reject",
                    fingerprint=fingerprint,
                    at=utcnow(),
                    actor=(actor or _current_user())[:128],
                    note=(note or "")[:512] or None,
                )
            )


def _short_key(public_key: str) -> str | None:
    """hosts.public_key holds an Ed25519 key (44 characters); longer keys live in host_keys only."""
    return public_key if len(public_key) <= 64 else None


def _current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def open_store(url: str, migrate: bool = True) -> Store:
    """Open (and by default migrate) the store at `url`.

    `sqlite:///path/file.db` or `postgresql://user@host/db` (`postgres://` is
    accepted too). A wrong URL raises StoreURLError (a usage error); a store
    that cannot be reached or read raises StoreError with the driver's reason.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreURLError(
            f"{url!r} is not a store URL (sqlite:///FILE or postgresql://USER@HOST/DB)"
        ) from exc
    if parsed.drivername == "postgres":
        parsed = parsed.set(drivername="postgresql")
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise StoreURLError(f"unsupported store {backend!r}: use sqlite:/// or postgresql://")
    label = parsed.render_as_string(hide_password=True)
    try:
        if backend == "sqlite":
            if not parsed.database or parsed.database == ":memory:":
                raise StoreURLError("an SQLite store needs a file: sqlite:///path/to/itaudit.db")
            folder = Path(parsed.database).parent
            if not folder.is_dir():
                raise StoreError(f"cannot open {label}: the folder {folder} does not exist")
            engine = sa.create_engine(parsed)
            sa.event.listen(engine, "connect", _sqlite_pragmas)
            sa.event.listen(engine, "begin", _sqlite_begin)
        else:
            engine = sa.create_engine(parsed, pool_pre_ping=True)
    except NoSuchModuleError as exc:
        raise StoreError(f"no driver for {backend}: pip install 'itaudit[postgresql]'") from exc
    except ModuleNotFoundError as exc:
        raise StoreError(
            f"no driver for {backend} ({exc.name}): pip install 'itaudit[postgresql]'"
        ) from exc
    except ArgumentError as exc:
        raise StoreURLError(f"{label}: {exc}") from exc
    store = Store(label, engine)
    try:
        if migrate:
            store.migrate()
        else:
            with _environment_errors(label), engine.connect():
                pass
    except StoreError as exc:
        engine.dispose()
        message = str(exc).removeprefix(f"{label}: ")
        raise StoreError(
            message if message.startswith(label) else f"cannot open {label}: {message}"
        ) from exc
    except DBAPIError as exc:
        engine.dispose()
        raise StoreError(f"cannot open {label}: {_reason(exc)}") from exc
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StoreError(f"cannot open {label}: {exc}") from exc
    return store

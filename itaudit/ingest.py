"""Ingest: read report files, verify them, store them.

Every file is untrusted. A file is read with a size bound (also after gzip
decompression), decoded strictly, parsed, validated against the schema,
checked for freshness and signature, then stored. A bad file is rejected with
its reason and never stops the others. Reports are committed in batches, each
report in a savepoint, so a killed ingest leaves only whole reports behind.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import stat
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache, partial
from pathlib import Path
from typing import Any, BinaryIO

import sqlalchemy as sa

from itaudit.identity import (
    MATCH_METHODS,
    Identity,
    hostname_key,
    match_method,
    normalise_hostname,
)
from itaudit.org.matching import RegisterIndex
from itaudit.schema import UNSTORABLE, validate_report
from itaudit.signing import (
    KEY_STORES,
    SignatureError,
    content_hash,
    verify_bundle_report,
    verify_report,
)
from itaudit.store import Store, to_naive_utc, utcnow
from itaudit.store import tables as t

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_FUTURE_SKEW = timedelta(hours=24)
EARLIEST = datetime(2000, 1, 1)
BATCH = 200
_MAX_SOURCE = 512
# A hostile report must never take the run down: what goes wrong while reading or
# checking one file rejects that file, with the error named, and the run goes on.
_FILE_ERRORS = (ValueError, TypeError, KeyError, OverflowError, UnicodeError, RecursionError)
MISSING = "no such file or folder"


class Rejected(Exception):
    """A file that cannot be stored; the message is the reason shown to the user."""


@dataclass(frozen=True)
class FileOutcome:
    source: str
    status: str  # accepted, duplicate, rejected
    reason: str = ""
    hostname: str | None = None
    current: bool = True  # False when stored as history (older than the host's latest)
    signed: bool = False
    conflict: bool = False  # stored as a possible impostor of a known host (same name)


@dataclass
class IngestSummary:
    outcomes: list[FileOutcome] = field(default_factory=list)
    # Paths given by the caller that do not exist or cannot be read: a usage error.
    bad_paths: list[str] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def accepted(self) -> int:
        return self.count("accepted")

    @property
    def duplicates(self) -> int:
        return self.count("duplicate")

    @property
    def rejected(self) -> int:
        return self.count("rejected")

    @property
    def ok(self) -> bool:
        return self.rejected == 0


@dataclass(frozen=True)
class Source:
    """One input: a name for messages and a way to open it."""

    name: str
    open: Callable[[], BinaryIO]
    size: int | None = None


def _same(stream: BinaryIO) -> BinaryIO:
    return stream


def _open_binary(path: Path) -> BinaryIO:
    return open(path, "rb")


def collect_sources(
    paths: Iterable[str], stdin: BinaryIO | None = None
) -> tuple[list[Source], list[FileOutcome]]:
    """Expand files, folders (recursively: *.json, *.json.gz) and `-` (stdin).

    Nothing is skipped in silence: a path that does not exist, an unreadable
    folder, a broken link or a pipe inside a folder comes back as a rejected
    outcome with its reason.
    """
    sources, bad_paths, inside = _collect(paths, stdin)
    return sources, bad_paths + inside


def _collect(
    paths: Iterable[str], stdin: BinaryIO | None
) -> tuple[list[Source], list[FileOutcome], list[FileOutcome]]:
    """(sources, command-line paths that cannot be used, problems found inside folders)."""
    sources: list[Source] = []
    bad_paths: list[FileOutcome] = []
    inside: list[FileOutcome] = []
    for raw in paths:
        if raw == "-":
            stream = stdin or sys.stdin.buffer
            sources.append(Source("<stdin>", partial(_same, stream)))
            continue
        path = Path(raw)
        try:
            info = path.stat()
        except FileNotFoundError:
            reason = "broken symbolic link" if path.is_symlink() else MISSING
            bad_paths.append(FileOutcome(raw, "rejected", reason))
            continue
        except OSError as exc:
            bad_paths.append(FileOutcome(raw, "rejected", f"cannot read: {exc.strerror or exc}"))
            continue
        if stat.S_ISDIR(info.st_mode):
            found, problems = _walk_folder(path)
            sources.extend(found)
            inside.extend(problems)
        else:
            # Named on the command line, a pipe is fine: `ingest <(zcat reports.gz)`.
            size = info.st_size if stat.S_ISREG(info.st_mode) else None
            sources.append(file_source(path, size))
    return sources, bad_paths, inside


def is_report_name(name: str) -> bool:
    return name.endswith((".json", ".json.gz"))


def _walk_folder(folder: Path) -> tuple[list[Source], list[FileOutcome]]:
    sources: list[Source] = []
    problems: list[FileOutcome] = []
    visited: set[tuple[int, int]] = set()

    def unreadable(exc: OSError) -> None:
        problems.append(
            FileOutcome(
                str(exc.filename or folder),
                "rejected",
                f"cannot read folder: {exc.strerror or exc}; its reports were not ingested",
            )
        )

    for root, dirs, files in os.walk(folder, onerror=unreadable, followlinks=True):
        try:
            info = os.stat(root)
        except OSError as exc:
            unreadable(exc)
            dirs.clear()
            continue
        if (info.st_dev, info.st_ino) in visited:  # a link back up the tree
            dirs.clear()
            continue
        visited.add((info.st_dev, info.st_ino))
        dirs.sort()
        for name in sorted(files):
            if not is_report_name(name):
                continue
            path = Path(root) / name
            try:
                entry = path.stat()
            except FileNotFoundError:
                problems.append(FileOutcome(str(path), "rejected", "broken symbolic link"))
                continue
            except OSError as exc:
                problems.append(
                    FileOutcome(str(path), "rejected", f"cannot read: {exc.strerror or exc}")
                )
                continue
            if not stat.S_ISREG(entry.st_mode):
                # Opening a pipe or a device would block or read without end.
                problems.append(
                    FileOutcome(
                        str(path), "rejected", "not a regular file (pipe, socket or device)"
                    )
                )
                continue
            sources.append(file_source(path, entry.st_size))
    sources.sort(key=lambda s: s.name)
    return sources, problems


def file_source(path: Path, size: int | None = None) -> Source:
    if size is None:
        try:
            info = path.stat()
        except OSError:
            info = None  # opening it will fail and say why
        size = info.st_size if info is not None and stat.S_ISREG(info.st_mode) else None
    return Source(str(path), partial(_open_binary, path), size)


def read_bounded(source: Source, max_bytes: int) -> bytes:
    """The file's bytes (decompressed if gzip), refusing more than max_bytes.

    Never reads more than max_bytes + 1 bytes from the source, nor decompresses
    more than that: a huge file or a small gzip bomb costs no memory.
    """
    if source.size is not None and source.size > max_bytes:
        raise Rejected(
            f"file is {source.size:,} bytes; the limit is {max_bytes:,} (raise it with --max-size)"
        )
    with source.open() as fh:
        data = fh.read(max_bytes + 1)
    if data[:2] == b"\x1f\x8b":
        if len(data) > max_bytes:
            raise Rejected(
                f"compressed report is larger than the limit of {max_bytes:,} bytes "
                "(raise it with --max-size)"
            )
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as unzipped:
                data = unzipped.read(max_bytes + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise Rejected(f"corrupt gzip data ({exc})") from exc
    if len(data) > max_bytes:
        raise Rejected(
            f"report is larger than the limit of {max_bytes:,} bytes (raise it with --max-size)"
        )
    return data


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in a report")


def parse_report(data: bytes) -> dict[str, Any]:
    """Bytes to a JSON object, with a precise reason for anything else."""
    return decode_report(data)[0]


def decode_report(data: bytes) -> tuple[dict[str, Any], str]:
    """Bytes to (JSON object, its text), with a precise reason for anything else."""
    if not data.strip():
        raise Rejected("empty file")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Windows PowerShell 5.1 writes UTF-16 by default (`> report.json`, Out-File).
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise Rejected(
                f"binary file, not a JSON report (or damaged UTF-16 text at offset {exc.start})"
            ) from exc
        if "\x00" in text[:4096]:
            raise Rejected("binary file, not a JSON report")
    elif b"\x00" in data[:4096]:
        raise Rejected("binary file, not a JSON report")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise Rejected(f"not UTF-8 text (invalid byte at offset {exc.start})") from exc
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise Rejected(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from exc
    except ValueError as exc:
        raise Rejected(f"invalid JSON: {exc}") from exc
    except RecursionError as exc:
        raise Rejected("invalid JSON: nested too deeply") from exc
    if not isinstance(document, dict):
        raise Rejected("a report must be a JSON object")
    return document, text


def parse_collected_at(value: str) -> datetime:
    return to_naive_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))


def check_report(document: dict[str, Any], now: datetime, future_skew: timedelta) -> datetime:
    """Schema and freshness; returns collected_at as naive UTC."""
    problems = validate_report(document)
    if problems:
        shown = "; ".join(problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise Rejected(
            f"does not match {document.get('schema', 'the schema')!s:.40}: {shown}{more}"
        )
    collected = parse_collected_at(document["collected_at"])
    if collected > now + future_skew:
        raise Rejected(
            f"collected_at {document['collected_at']} is in the future (now {now:%Y-%m-%dT%H:%M}Z): "
            "check the machine's clock"
        )
    if collected < EARLIEST:
        raise Rejected(
            f"collected_at {document['collected_at']} is before {EARLIEST:%Y}: check the machine's clock"
        )
    return collected


@dataclass
class _Prepared:
    source: str
    document: dict[str, Any]
    text: str
    size: int
    hash: str
    collected_at: datetime
    signer: Any  # signing.Verified | None


class Ingestor:
    """Stores reports in a store; reusable for a stream of files (and the server)."""

    def __init__(
        self,
        store: Store,
        register: RegisterIndex,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        future_skew: timedelta = DEFAULT_FUTURE_SKEW,
        now: Callable[[], datetime] = utcnow,
    ):
        self.store = store
        self.register = register
        self.max_bytes = max_bytes
        self.future_skew = future_skew
        self.now = now

    # -- preparation (no database) -----------------------------------------
    def prepare(self, source: Source) -> _Prepared:
        data = read_bounded(source, self.max_bytes)
        # The received text is what is stored: the evidence exactly as the agent sent it.
        document, text = decode_report(data)
        collected = check_report(document, self.now(), self.future_skew)
        try:
            signer = verify_report(document)
            # The Windows collector's signature, checked here from the report itself
            # (never a flag set by parse). When present, its key is the host's: an
            # Ed25519 signature beside it is the parsing machine's (`agent parse --key`).
            signer = verify_bundle_report(document) or signer
        except SignatureError as exc:
            raise Rejected(f"signature rejected: {exc}") from exc
        return _Prepared(
            source.name[-_MAX_SOURCE:],
            document,
            text,
            len(data),
            content_hash(document),
            collected,
            signer,
        )

    # -- storage -----------------------------------------------------------
    def run(
        self, sources: Iterable[Source], on_outcome: Callable[[FileOutcome], None] | None = None
    ) -> IngestSummary:
        summary = IngestSummary()
        pending: list[tuple[FileOutcome | None, _Prepared | None, str]] = []

        def flush() -> None:
            if not pending:
                return
            results = self._store_batch(pending)
            for outcome in results:
                summary.outcomes.append(outcome)
                if on_outcome:
                    on_outcome(outcome)
            pending.clear()

        for source in sources:
            name = clean_text(source.name)
            try:
                pending.append((None, self.prepare(source), name))
            except Rejected as exc:
                pending.append((FileOutcome(name, "rejected", clean_text(str(exc))), None, name))
            except _FILE_ERRORS as exc:
                reason = (
                    f"could not be processed ({type(exc).__name__}: {clean_text(str(exc))[:300]})"
                )
                pending.append((FileOutcome(name, "rejected", reason), None, name))
            except OSError as exc:
                pending.append(
                    (
                        FileOutcome(source.name, "rejected", f"cannot read: {exc.strerror or exc}"),
                        None,
                        source.name,
                    )
                )
            if len(pending) >= BATCH:
                flush()
        flush()
        return summary

    def _store_batch(
        self, items: list[tuple[FileOutcome | None, _Prepared | None, str]]
    ) -> list[FileOutcome]:
        outcomes: list[FileOutcome] = []
        received = utcnow()
        with self.store.write() as conn:
            for early, prepared, name in items:
                if prepared is None:
                    assert early is not None
                    outcome = early
                else:
                    savepoint = conn.begin_nested()
                    try:
                        outcome = self._store_one(conn, prepared, received)
                    except Rejected as exc:
                        savepoint.rollback()
                        outcome = FileOutcome(
                            name, "rejected", clean_text(str(exc)), _hostname(prepared.document)
                        )
                    except (sa.exc.OperationalError, sa.exc.InterfaceError):
                        raise  # the store failed, not this report: the caller reports it
                    except (sa.exc.StatementError, *_FILE_ERRORS) as exc:
                        # The store refused this one report (a value it cannot hold): only
                        # its savepoint is undone, every other report of the batch is kept.
                        savepoint.rollback()
                        cause = getattr(exc, "orig", None) or exc
                        outcome = FileOutcome(
                            name,
                            "rejected",
                            f"the store refused it ({type(cause).__name__}: "
                            f"{clean_text(str(cause)).splitlines()[0][:200] if str(cause) else ''})",
                            _hostname(prepared.document),
                        )
                    else:
                        savepoint.commit()
                if outcome.status == "rejected":
                    conn.execute(
                        _INSERT_REJECTION,
                        {
                            "received_at": received,
                            "source": name[-_MAX_SOURCE:],
                            "reason": clean_text(outcome.reason)[:2048],
                            "content_hash": prepared.hash if prepared else None,
                            "hostname": clean_text(outcome.hostname) if outcome.hostname else None,
                        },
                    )
                outcomes.append(outcome)
        return outcomes

    def _store_one(self, conn: sa.Connection, p: _Prepared, received: datetime) -> FileOutcome:
        hostname = p.document["identity"]["hostname"]
        signed = p.signer is not None
        if conn.execute(_FIND_DUPLICATE, {"hash": p.hash}).first():
            return FileOutcome(p.source, "duplicate", "already stored", hostname, signed=signed)
        ident = Identity.from_report(p.document)
        host = _find_host(conn, ident)
        if host is None:
            # A new machine: one insert with its identity, key and placement.
            rival = _name_rival(conn, ident, p)
            conflict = {"conflict_with": rival["id"], "conflict_state": "suspect"} if rival else {}
            inserted = conn.execute(
                _INSERT_HOST,
                {
                    **self._placement(p, ident),
                    "first_seen": received,
                    **_key_fields(p, received),
                    **conflict,
                },
            ).inserted_primary_key
            assert inserted is not None  # an INSERT always has one
            host_id = inserted[0]
            if p.signer is not None:
                _record_pin(conn, host_id, p, received)
            if rival is not None:
                note = (
                    f"same name as host #{rival['id']} ({rival['hostname']}, key "
                    f"{rival['key_fingerprint']}), no identifier in common"
                )
                conn.execute(
                    _INSERT_KEY_EVENT,
                    {
                        "host_id": host_id,
                        "event": "name-conflict",
                        "fingerprint": p.signer.fingerprint if p.signer else None,
                        "at": received,
                        "actor": "ingest",
                        "note": note[:512],
                    },
                )
            report_id = self._insert_report(conn, host_id, p, received)
            conn.execute(_UPDATE_HOST, {"hid": host_id, "latest_report_id": report_id})
            if ident.macs:
                conn.execute(
                    _INSERT_MACS, [{"host_id": host_id, "mac": m} for m in sorted(ident.macs)]
                )
            if rival is not None:
                reason = (
                    f"POSSIBLE IMPOSTOR: host {rival['hostname']} (#{rival['id']}) is known with "
                    f"another key and this report shares none of its identifiers; stored as "
                    f"host #{host_id} for the officer to decide (`itaudit hosts resolve "
                    f"{host_id} --accept` if it is a real machine of its own, --reject if not)"
                )
                return FileOutcome(
                    p.source, "accepted", reason, hostname, signed=signed, conflict=True
                )
            return FileOutcome(p.source, "accepted", "", hostname, current=True, signed=signed)
        pins = _check_key(conn, host, p)
        host_id = host["id"]
        note = ""
        if p.signer is not None and p.signer.slot not in pins:
            if host["key_fingerprint"] is None:
                conn.execute(_UPDATE_HOST, {"hid": host_id, **_key_fields(p, received)})
            else:
                note = (
                    f"pinned a second key of this host, its {p.signer.slot} key store "
                    f"({p.signer.fingerprint})"
                )
            _record_pin(conn, host_id, p, received)
        report_id = self._insert_report(conn, host_id, p, received)
        last = host["last_collected_at"]
        if last is not None and p.collected_at <= last:
            reason = f"older than the current report ({last:%Y-%m-%d %H:%M}): kept as history"
            reason = f"{note}; {reason}" if note else reason
            return FileOutcome(p.source, "accepted", reason, hostname, current=False, signed=signed)
        conn.execute(
            _UPDATE_HOST,
            {"hid": host_id, **self._placement(p, ident), "latest_report_id": report_id},
        )
        conn.execute(_DELETE_MACS, {"hid": host_id})
        if ident.macs:
            conn.execute(_INSERT_MACS, [{"host_id": host_id, "mac": m} for m in sorted(ident.macs)])
        return FileOutcome(p.source, "accepted", note, hostname, current=True, signed=signed)

    @staticmethod
    def _insert_report(conn: sa.Connection, host_id: int, p: _Prepared, received: datetime) -> int:
        agent = p.document["agent"]
        inserted = conn.execute(
            _INSERT_REPORT,
            {
                "host_id": host_id,
                "content_hash": p.hash,
                "report_uuid": p.document["report_id"],
                "collected_at": p.collected_at,
                "received_at": received,
                "source": p.source,
                "collector": agent["collector"],
                "agent_version": agent["version"][:32],
                "signature_state": "valid" if p.signer is not None else "unsigned",
                "key_fingerprint": p.signer.fingerprint if p.signer is not None else None,
                "size_bytes": p.size,
                "document": p.text,
            },
        ).inserted_primary_key
        assert inserted is not None  # an INSERT always has one
        return int(inserted[0])

    def _placement(self, p: _Prepared, ident: Identity) -> dict[str, Any]:
        """The host columns that follow its current report: names, unit, asset match."""
        doc = p.document
        match = self.register.match(ident)
        unit: str | None
        unit_source: str | None
        if match is not None:
            unit, unit_source = match.asset.unit, "register"
        elif self.register.has_unit(doc.get("unit")):
            unit, unit_source = doc["unit"], "agent"
        else:
            addresses = [
                a["address"]
                for i in doc["network"].get("interfaces", [])
                for a in i.get("addresses", [])
            ]
            found = self.register.unit_for(addresses)
            unit, unit_source = (found, "subnet") if found else (None, None)
        return {
            "hostname": doc["identity"]["hostname"],
            # The lookup key keeps even a default name: `hosts show localhost` works.
            "hostname_key": hostname_key(doc["identity"]["hostname"]),
            "hardware_uuid": ident.hardware_uuid,
            "serial": ident.serial,
            "platform": doc["platform"],
            "unit": unit,
            "unit_source": unit_source,
            "asset_tag": match.asset.tag if match else None,
            "match_method": match.method if match else None,
            "last_collected_at": p.collected_at,
        }


# Statements built once: building SQLAlchemy constructs per report costs more
# than executing them.
_FIND_DUPLICATE = sa.select(t.reports.c.id).where(t.reports.c.content_hash == sa.bindparam("hash"))
_INSERT_HOST = t.hosts.insert()
_UPDATE_HOST = t.hosts.update().where(t.hosts.c.id == sa.bindparam("hid"))
_INSERT_REPORT = t.reports.insert()
_INSERT_MACS = t.host_macs.insert()
_DELETE_MACS = t.host_macs.delete().where(t.host_macs.c.host_id == sa.bindparam("hid"))
_MACS_OF = sa.select(t.host_macs.c.mac).where(t.host_macs.c.host_id == sa.bindparam("hid"))
_INSERT_REJECTION = t.rejections.insert()
_INSERT_KEY_EVENT = t.key_events.insert()
_INSERT_HOST_KEY = t.host_keys.insert()
_PINS_OF = sa.select(t.host_keys.c.slot, t.host_keys.c.fingerprint).where(
    t.host_keys.c.host_id == sa.bindparam("hid")
)


@cache
def _host_query(by_uuid: bool, by_serial: bool, by_name: bool, by_mac: bool) -> sa.Select:
    h = t.hosts
    conds = []
    if by_uuid:
        conds.append(h.c.hardware_uuid == sa.bindparam("uuid"))
    if by_serial:
        conds.append(h.c.serial == sa.bindparam("serial"))
    if by_name:
        conds.append(h.c.hostname_key == sa.bindparam("name"))
    if by_mac:
        macs = sa.select(t.host_macs.c.host_id).where(
            t.host_macs.c.mac.in_(sa.bindparam("macs", expanding=True))
        )
        conds.append(h.c.id.in_(macs))
    return sa.select(h).where(sa.or_(*conds))


def clean_text(text: str) -> str:
    """`text` with NUL and lone surrogates replaced: what no store, terminal or file can hold
    (a reason may quote the untrusted value that made it fail)."""
    return UNSTORABLE.sub("\ufffd", text)


def ident_hostname(document: dict[str, Any]) -> str:
    return document["identity"]["hostname"]


def _hostname(document: dict[str, Any]) -> str | None:
    ident = document.get("identity")
    name = ident.get("hostname") if isinstance(ident, dict) else None
    return name[:63] if isinstance(name, str) else None


def _find_host(conn: sa.Connection, ident: Identity) -> Any:
    """The stored host this identity belongs to, by the strongest identifier."""
    flags = (bool(ident.hardware_uuid), bool(ident.serial), bool(ident.hostname), bool(ident.macs))
    if not any(flags):
        return None
    params = {
        "uuid": ident.hardware_uuid,
        "serial": ident.serial,
        "name": ident.hostname,
        "macs": sorted(ident.macs),
    }
    rows = conn.execute(_host_query(*flags), {k: v for k, v in params.items() if v}).all()
    best, best_rank = None, len(MATCH_METHODS)
    for row in rows:
        m = row._mapping
        macs = frozenset(conn.execute(_MACS_OF, {"hid": m["id"]}).scalars())
        stored = Identity(
            normalise_hostname(m["hostname_key"]), m["hardware_uuid"], m["serial"], macs
        )
        method = match_method(ident, stored)
        if method is not None and MATCH_METHODS.index(method) < best_rank:
            best, best_rank = m, MATCH_METHODS.index(method)
    return best


def _name_rival(conn: sa.Connection, ident: Identity, p: _Prepared) -> Any:
    """A known host this new machine's report takes the name of, with another key.

    The new report matched no stored host by hardware UUID, serial or MAC; if a
    host of the same (real, not default) name signs its reports with a key this
    report does not carry, the report may come from an impostor: a fresh key can
    claim any name. A replaced PC looks the same, which is why the officer decides.
    """
    if not ident.hostname:
        return None
    rows = conn.execute(
        sa.select(t.hosts.c.id, t.hosts.c.hostname, t.hosts.c.key_fingerprint)
        .where(
            t.hosts.c.hostname_key == hostname_key(ident.hostname),
            t.hosts.c.key_fingerprint.is_not(None),
            sa.or_(t.hosts.c.conflict_state.is_(None), t.hosts.c.conflict_state == "accepted"),
        )
        .order_by(t.hosts.c.id)
    ).all()
    fingerprint = p.signer.fingerprint if p.signer is not None else None
    for row in rows:
        known = set(_pins(conn, row._mapping["id"]).values()) | {row._mapping["key_fingerprint"]}
        if fingerprint not in known:
            return row._mapping
    return None


def _pins(conn: sa.Connection, host_id: int) -> dict[str, str]:
    """The host's pinned keys: slot (agent, machine, user) -> fingerprint."""
    return {r.slot: r.fingerprint for r in conn.execute(_PINS_OF, {"hid": host_id})}


def _check_key(conn: sa.Connection, host: Any, p: _Prepared) -> dict[str, str]:
    """The host's pins, when this report may be stored under them; Rejected if not.

    One key per slot. The Windows collector keeps its key in the machine store
    when run as administrator or SYSTEM and in the user's store otherwise, so one
    host has up to two keys, `machine` and `user`, each trusted on first use; a
    third key of a store already pinned is refused, as is a key of another kind
    (Ed25519 beside a Windows key, or the reverse).
    """
    pins = _pins(conn, host["id"])
    if not pins and host["key_fingerprint"] is not None:
        pins = {"agent": host["key_fingerprint"]}  # a store not yet migrated (cannot happen)
    if not pins:
        return pins
    shown = ", ".join(f"{fp} ({slot})" for slot, fp in sorted(pins.items()))
    if p.signer is None:
        raise Rejected(
            f"unsigned, but host {host['hostname']} signs its reports (key {shown}); "
            "an unsigned report cannot replace signed ones"
        )
    slot = p.signer.slot
    if pins.get(slot) == p.signer.fingerprint:
        return pins
    if slot not in pins and slot in KEY_STORES and set(pins) <= set(KEY_STORES):
        return pins  # the host's other Windows key store: trusted on first use too
    raise Rejected(
        f"signed with key {p.signer.fingerprint} ({slot}), but host {host['hostname']} was first "
        f"seen with key {shown}; if the agent was reinstalled, accept the new key with "
        f"`itaudit hosts rekey {host['hostname']}`"
    )


def _key_fields(p: _Prepared, received: datetime) -> dict[str, Any]:
    """The host's shown key: its first pinned one (every pin is in host_keys)."""
    if p.signer is None:
        return {}
    key = p.signer.public_key
    return {
        # hosts.public_key is sized for Ed25519; a Windows key lives in host_keys only.
        "public_key": key if len(key) <= 64 else None,
        "key_fingerprint": p.signer.fingerprint,
        "key_first_seen": received,
    }


def _record_pin(conn: sa.Connection, host_id: int, p: _Prepared, received: datetime) -> None:
    conn.execute(
        _INSERT_HOST_KEY,
        {
            "host_id": host_id,
            "slot": p.signer.slot,
            "public_key": p.signer.public_key,
            "fingerprint": p.signer.fingerprint,
            "first_seen": received,
        },
    )
    conn.execute(
        _INSERT_KEY_EVENT,
        {
            "host_id": host_id,
            "event": "pinned",
            "fingerprint": p.signer.fingerprint,
            "at": received,
            "actor": "ingest",
            "note": f"first signed report with its {p.signer.slot} key ({p.source})"[:512],
        },
    )


def ingest_paths(
    store: Store,
    register: RegisterIndex,
    paths: Iterable[str],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    on_outcome: Callable[[FileOutcome], None] | None = None,
    stdin: BinaryIO | None = None,
) -> IngestSummary:
    """Ingest files, folders and `-`; the library entry point of `itaudit ingest`."""
    sources, bad_paths, inside = _collect(paths, stdin)
    for outcome in bad_paths + inside:
        if on_outcome:
            on_outcome(outcome)
    summary = Ingestor(store, register, max_bytes=max_bytes).run(sources, on_outcome)
    summary.outcomes[:0] = bad_paths + inside
    summary.bad_paths = [o.source for o in bad_paths]
    return summary


def ingest_documents(
    store: Store, register: RegisterIndex, documents: Iterable[tuple[str, dict[str, Any]]]
) -> IngestSummary:
    """Ingest reports already in memory (the demo and tests), through the same checks."""

    def sources() -> Iterator[Source]:
        for name, doc in documents:
            data = json.dumps(doc, ensure_ascii=False).encode()
            yield Source(name, partial(io.BytesIO, data), len(data))

    return Ingestor(store, register).run(sources())

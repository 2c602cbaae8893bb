"""Attestations: evidence the officer records for what no machine can show.

`itaudit attest L1-MGT-01 --unit ho --ref "1052/QĐ-SLĐTBXH" --date 2026-03-02
--file policy.pdf` stores the reference, the date, an optional expiry and,
for a file, its name, size and SHA-256 (the file itself is never opened as
anything but bytes to hash, never parsed, never executed, never copied).

An attestation names a unit, or a machine (`--host`: host name or asset tag)
for rules evaluated per machine, such as a server's tested backup.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from itaudit.check import tables as ct
from itaudit.errors import UsageError
from itaudit.store import Store, utcnow

MAX_FILE_BYTES = 100 * 1024 * 1024
MAX_REFERENCE = 256
MAX_NOTE = 1024


@dataclass(frozen=True)
class Attestation:
    id: int
    rule_id: str
    target_kind: str  # unit, host
    unit: str | None
    hostname: str | None
    asset_tag: str | None
    reference: str
    date: dt.date
    expires: dt.date | None  # as recorded; None: the rule's valid_days decides
    file_name: str | None
    file_sha256: str | None
    file_size: int | None
    note: str | None
    recorded_at: datetime
    recorded_by: str | None

    @property
    def target(self) -> str:
        if self.target_kind == "unit":
            return self.unit or ""
        return self.asset_tag or self.hostname or ""

    def effective_expiry(self, valid_days: int | None) -> dt.date | None:
        if self.expires is not None:
            return self.expires
        if valid_days is not None:
            return self.date + timedelta(days=int(valid_days))
        return None

    def state(self, today: dt.date, valid_days: int | None) -> str:
        """valid, expired or future (dated after the check)."""
        if self.date > today:
            return "future"
        expiry = self.effective_expiry(valid_days)
        return "expired" if expiry is not None and today > expiry else "valid"


def _row(m: Any) -> Attestation:
    return Attestation(
        id=m["id"],
        rule_id=m["rule_id"],
        target_kind=m["target_kind"],
        unit=m["unit"],
        hostname=m["hostname"],
        asset_tag=m["asset_tag"],
        reference=m["reference"],
        date=m["evidence_date"],
        expires=m["expires"],
        file_name=m["file_name"],
        file_sha256=m["file_sha256"],
        file_size=m["file_size"],
        note=m["note"],
        recorded_at=m["recorded_at"],
        recorded_by=m["recorded_by"],
    )


def hash_file(path: Path, max_bytes: int = MAX_FILE_BYTES) -> tuple[str, int]:
    """(SHA-256 hex, size) of a file read as bytes, refusing more than max_bytes."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ({exc.strerror})") from exc
    if not path.is_file():
        raise UsageError(f"{path}: not a file")
    if size > max_bytes:
        raise UsageError(
            f"{path}: {size:,} bytes; evidence files are limited to {max_bytes:,} bytes"
        )
    digest = hashlib.sha256()
    read = 0
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                read += len(chunk)
                if read > max_bytes:
                    raise UsageError(f"{path}: grew past {max_bytes:,} bytes while being read")
                digest.update(chunk)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ({exc.strerror})") from exc
    return digest.hexdigest(), read


def _current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def record_attestation(
    store: Store,
    rule_id: str,
    *,
    reference: str,
    evidence_date: date,
    unit: str | None = None,
    hostname: str | None = None,
    asset_tag: str | None = None,
    expires: date | None = None,
    file: Path | None = None,
    note: str | None = None,
    recorded_by: str | None = None,
    recorded_at: datetime | None = None,
) -> tuple[Attestation, bool]:
    """Store an attestation; returns it and whether it is new.

    The same rule, target, reference, date and file recorded again is not
    duplicated (the demo and a re-run script stay idempotent).
    """
    reference = " ".join(reference.split())
    if not reference:
        raise UsageError("--ref is required: the decision, minutes or document number")
    if len(reference) > MAX_REFERENCE:
        raise UsageError(f"--ref is longer than {MAX_REFERENCE} characters")
    if note is not None and len(note) > MAX_NOTE:
        raise UsageError(f"--note is longer than {MAX_NOTE} characters")
    if (unit is None) == (hostname is None and asset_tag is None):
        raise UsageError("an attestation names either a unit (--unit) or a machine (--host)")
    if expires is not None and expires < evidence_date:
        raise UsageError(f"--expires {expires} is before --date {evidence_date}")
    digest = size = None
    file_name = None
    if file is not None:
        digest, size = hash_file(file)
        file_name = file.name[:255]
    kind = "unit" if unit is not None else "host"
    values = {
        "rule_id": rule_id,
        "target_kind": kind,
        "unit": unit,
        "hostname": hostname,
        "asset_tag": asset_tag,
        "reference": reference,
        "evidence_date": evidence_date,
        "expires": expires,
        "file_name": file_name,
        "file_sha256": digest,
        "file_size": size,
        "note": note,
    }
    a = ct.attestations
    with store.write() as conn:
        same = conn.execute(
            sa.select(a).where(
                *[
                    (a.c[k] == v) if v is not None else a.c[k].is_(None)
                    for k, v in values.items()
                    if k not in ("note",)
                ]
            )
        ).first()
        if same is not None:
            return _row(same._mapping), False
        key = conn.execute(
            a.insert().values(
                **values,
                recorded_at=recorded_at or utcnow(),
                recorded_by=(recorded_by or _current_user())[:128],
            )
        ).inserted_primary_key
        assert key is not None
        new_id = key[0]
        row = conn.execute(sa.select(a).where(a.c.id == new_id)).one()
    return _row(row._mapping), True


def list_attestations(
    store: Store, rule_id: str | None = None, unit: str | None = None
) -> list[Attestation]:
    a = ct.attestations
    query = sa.select(a).order_by(a.c.rule_id, a.c.unit, a.c.evidence_date.desc(), a.c.id.desc())
    if rule_id is not None:
        query = query.where(a.c.rule_id == rule_id)
    if unit is not None:
        query = query.where(a.c.unit == unit)
    with store.read() as conn:
        return [_row(r._mapping) for r in conn.execute(query)]


class AttestationIndex:
    """The latest attestation per (rule, target) as of the check day, for the checker.

    With `today`, evidence dated after it does not hide evidence valid on that
    day (a replay with `--now`, or a record dated ahead by mistake); it is the
    one used only when there is nothing earlier (its state is then "future").
    """

    def __init__(self, items: Iterable[Attestation], today: date | None = None):
        self._by: dict[tuple[str, str, str], Attestation] = {}

        def rank(att: Attestation) -> tuple[bool, date, int]:
            current = today is None or att.date <= today
            return (current, att.date, att.id)

        for att in items:
            keys = []
            if att.target_kind == "unit" and att.unit:
                keys.append((att.rule_id, "unit", att.unit))
            else:
                if att.asset_tag:
                    keys.append((att.rule_id, "host", att.asset_tag))
                if att.hostname:
                    keys.append((att.rule_id, "host", att.hostname.lower()))
            for key in keys:
                best = self._by.get(key)
                if best is None or rank(att) > rank(best):
                    self._by[key] = att

    def for_unit(self, rule_id: str, unit: str | None) -> Attestation | None:
        return self._by.get((rule_id, "unit", unit or ""))

    def for_host(
        self, rule_id: str, hostname: str | None, asset_tag: str | None
    ) -> Attestation | None:
        found = self._by.get((rule_id, "host", asset_tag)) if asset_tag else None
        if found is None and hostname:
            found = self._by.get((rule_id, "host", hostname.lower()))
        return found


def takes_unit_attestation(rule: Any) -> bool:
    """Whether a per-machine rule also accepts one attestation for the whole unit.

    An attestation rule evaluated per machine that also reads the machine's
    report (L1-AV-04: the anti-malware reports to the console, where the
    product shows nothing on the machine) takes the unit's attestation for
    every machine that has none of its own. One that reads only the
    attestation (L1-MGT-08, each server's verified backup) is about each
    machine itself and never takes the unit's word.
    """
    return rule.kind == "attestation" and rule.scope == "host" and bool(rule.reads_report)


def attestation_facts(
    att: Attestation | None, valid_days: int | None, today: date
) -> dict[str, Any]:
    """The `$attestation` facts a rule reads."""
    if att is None:
        return {"recorded": False, "valid": False, "date": None, "expires": None, "reference": None}
    return {
        "recorded": True,
        "valid": att.state(today, valid_days) == "valid",
        "date": att.date,
        "expires": att.effective_expiry(valid_days),
        "reference": att.reference,
    }

"""Who may push to `itaudit serve`: bearer secrets, enrolment, revocation, rate limit.

Three kinds of bearer secret open the door (itaudit.enrolment.Credential):
none at all when the collector has neither a `--token-file` nor any unit
secret (a trusted segment); the single shared token of `--token-file`
(back-compat); a unit's enrolment secret. Once through it, a report is
checked against the host it claims to be (`check`) before ingest stores it:

- a revoked host is refused, whatever secret and key it uses;
- a unit secret enrols only signed reports of its own unit, and a rotated one
  enrols no new machine;
- a host enrolled by a unit secret accepts only reports signed by its pinned
  key, also under another machine's name: the secret alone (unit or shared)
  no longer lets anyone push for it.

Refusals and wrong secrets are logged, recorded in `enrolment_failures` and
counted per address: past `limit` in `window` seconds the address gets 429
until the window has passed.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from itaudit import enrolment
from itaudit.enrolment import Credential
from itaudit.identity import Identity
from itaudit.ingest import Rejected, _find_host, _pins  # the lookups ingest itself uses
from itaudit.store import Store
from itaudit.store import tables as t

log = logging.getLogger("itaudit.server")

FAILURE_LIMIT = 10
FAILURE_WINDOW = 600.0  # seconds


class RateLimiter:
    """Failures per address in a sliding window; thread-safe, bounded in memory."""

    def __init__(
        self,
        limit: int = FAILURE_LIMIT,
        window: float = FAILURE_WINDOW,
        clock: Callable[[], float] = time.monotonic,
        max_addresses: int = 10_000,
    ):
        self.limit, self.window, self.clock = limit, window, clock
        self.max_addresses = max_addresses
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _prune(self, address: str, now: float) -> deque[float]:
        times = self._failures.get(address, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def blocked_for(self, address: str) -> float:
        """Seconds until `address` may try again (0: it may now)."""
        now = self.clock()
        with self._lock:
            times = self._prune(address, now)
            if len(times) < self.limit:
                return 0.0
            return max(1.0, times[-self.limit] + self.window - now)

    def failed(self, address: str) -> None:
        now = self.clock()
        with self._lock:
            if address not in self._failures and len(self._failures) >= self.max_addresses:
                # A flood of spoofed sources cannot grow the table without bound.
                for stale in [a for a, q in self._failures.items() if not self._prune(a, now)]:
                    del self._failures[stale]
                if len(self._failures) >= self.max_addresses:
                    self._failures.pop(next(iter(self._failures)))
            times = self._prune(address, now)
            times.append(now)
            self._failures[address] = times


class Gate:
    def __init__(self, store: Store, shared_token: str | None, limiter: RateLimiter | None = None):
        self.store = store
        self.shared_token = shared_token
        self.limiter = limiter or RateLimiter()

    def credential(self, header: str) -> Credential | None:
        """The credential of an Authorization header; None: refuse with 401."""
        presented = header[7:].strip() if header[:7].lower() == "bearer " else ""
        with self.store.read() as conn:
            if self.shared_token is None and not enrolment.any_secret(conn):
                return Credential("open")
            return enrolment.find_credential(conn, presented, self.shared_token)

    def refused(self, address: str, hostname: str | None, reason: str) -> None:
        """A bad attempt: logged, stored, counted against the address."""
        self.limiter.failed(address)
        log.warning("%s refused%s: %s", address, f" ({hostname})" if hostname else "", reason)
        with self.store.write() as conn:
            enrolment.record_failure(conn, address, hostname, reason)

    def check(
        self, document: dict[str, Any], fingerprint: str | None, credential: Credential
    ) -> str | None:
        """Why this report may not be stored under `credential` (None: it may)."""
        name = str(document["identity"]["hostname"])
        ident = Identity.from_report(document)
        if credential.kind == "unit":
            claimed = document.get("unit")
            if claimed is not None and claimed != credential.unit:
                return (
                    f"the report is for unit {claimed}, the enrolment secret for unit "
                    f"{credential.unit}"
                )
            if fingerprint is None:
                return "a unit's enrolment secret enrols signed reports only"
        with self.store.read() as conn:
            ids: set[int] = set()
            host = _find_host(conn, ident)
            if host is not None:
                ids.add(host["id"])
            if ident.hostname:
                # Another machine's key under this name would otherwise be stored as a
                # possible impostor; for an enrolled host it is refused outright.
                h = t.hosts
                ids.update(
                    conn.execute(
                        sa.select(h.c.id).where(
                            h.c.hostname_key == ident.hostname,
                            sa.or_(h.c.conflict_state.is_(None), h.c.conflict_state == "accepted"),
                        )
                    ).scalars()
                )
            states = enrolment.states(conn, sorted(ids))
            for hid in sorted(ids):
                state = states.get(hid)
                if state is not None and state.revoked_at is not None:
                    return (
                        f"host {name} was revoked on {state.revoked_at:%Y-%m-%d} by "
                        f"{state.revoked_by}: {state.revoked_reason}"
                    )
            enrolled_any = False
            for hid in sorted(ids):
                state = states.get(hid)
                unit = state.enrolled_unit if state is not None else None
                enrolled = unit is not None
                enrolled_any = enrolled_any or enrolled
                if enrolled and credential.kind == "unit" and unit != credential.unit:
                    return (
                        f"host {name} is enrolled in unit {unit}; "
                        f"the secret of unit {credential.unit} cannot push for it"
                    )
                pins = _pins(conn, hid)
                if (
                    (enrolled or credential.kind == "unit")
                    and pins
                    and fingerprint not in pins.values()
                ):
                    shown = ", ".join(sorted(pins.values()))
                    return (
                        f"host {name} is enrolled with key {shown}; this report is "
                        f"{'signed with ' + fingerprint if fingerprint else 'unsigned'}: only the "
                        f"pinned key may push for it (after a reinstall: itaudit hosts rekey {name})"
                    )
            if credential.kind == "unit" and not credential.active and not enrolled_any:
                return "this enrolment secret was replaced (enrol create --rotate): it enrols no new machine"
        return None

    def enrolled(self, document: dict[str, Any], credential: Credential, address: str) -> None:
        """After a stored push with a unit secret: record the host's enrolment (first time)."""
        if credential.kind != "unit" or credential.unit is None:
            return
        with self.store.write() as conn:
            host = _find_host(conn, Identity.from_report(document))
            if host is not None and enrolment.record_enrolment(
                conn, host["id"], credential.unit, address
            ):
                log.warning(
                    "%s enrolled host %s into unit %s",
                    address,
                    document["identity"]["hostname"],
                    credential.unit,
                )


def bundle_report(body: bytes, unit: str | None, catalog_files: tuple[Path, ...]) -> bytes:
    """A pushed Windows collector bundle (.zip) → the HostReport JSON, parsed here
    with the code of `itaudit agent parse` (its signature verified the same way)."""
    import json

    from itaudit.agent.collect import load_catalogs, parse_bundle
    from itaudit.errors import InputError

    with tempfile.TemporaryDirectory(prefix="itaudit-bundle-") as folder:
        path = Path(folder) / "bundle.zip"
        path.write_bytes(body)
        try:
            catalog = load_catalogs(
                list(catalog_files[1:]), catalog_files[0] if catalog_files else None
            )
            report = parse_bundle(path, catalog, unit)
        except InputError as exc:
            # The temporary file's name means nothing to the officer.
            raise Rejected(f"bundle not parsed: {str(exc).replace(str(path), 'bundle')}") from exc
    return json.dumps(report, ensure_ascii=False).encode("utf-8")

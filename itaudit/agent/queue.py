"""A bounded local queue of reports not yet sent to the collector.

`agent collect --push URL --queue DIR` keeps a report it cannot send (the
collector is down, the network is out, the store answers 503) in DIR, and
every later run (or `agent push --queue DIR`) sends the waiting reports, oldest
first, before its own. The queue holds at most `limit` reports: the oldest are
dropped first, since the collector keeps only a host's newest as current state.
A report the collector refuses for good (422 rejected, 403 refused) leaves the
queue: sending it again would not change the answer.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from itaudit.agent.push import PushError, PushResult

DEFAULT_LIMIT = 30
SUFFIX = ".json.gz"
FINAL = {"accepted", "duplicate"}


@dataclass
class DrainResult:
    sent: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (name, reason)
    waiting: int = 0
    stopped: str | None = None  # why sending stopped (the collector cannot be reached...)


class ReportQueue:
    def __init__(self, folder: Path, limit: int = DEFAULT_LIMIT):
        if limit < 1:
            raise ValueError("a queue holds at least one report")
        self.folder = folder
        self.limit = limit

    def items(self) -> list[Path]:
        """Waiting reports, oldest first (names start with the UTC time they were queued)."""
        if not self.folder.is_dir():
            return []
        return sorted(p for p in self.folder.iterdir() if p.name.endswith(SUFFIX) and p.is_file())

    def put(self, data: bytes) -> tuple[Path, list[str]]:
        """Queue one report (JSON bytes); returns its file and the names dropped to make room."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        name = f"{stamp}-{hashlib.sha256(data).hexdigest()[:12]}{SUFFIX}"
        target = self.folder / name
        partial = self.folder / (name + ".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(gzip.compress(data, mtime=0))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(partial, target)
        dropped = []
        waiting = self.items()
        for old in waiting[: max(0, len(waiting) - self.limit)]:
            old.unlink(missing_ok=True)
            dropped.append(old.name)
        return target, dropped

    def drain(self, send: Callable[[bytes], PushResult]) -> DrainResult:
        """Send waiting reports oldest first; stop at the first one that cannot be delivered."""
        result = DrainResult()
        waiting = self.items()
        for index, path in enumerate(waiting):
            try:
                data = gzip.decompress(path.read_bytes())
            except (OSError, EOFError, gzip.BadGzipFile) as exc:
                path.unlink(missing_ok=True)
                result.refused.append((path.name, f"damaged in the queue ({exc})"))
                continue
            try:
                reply = send(data)
            except PushError as exc:
                result.stopped = str(exc)
                result.waiting = len(waiting) - index
                return result
            if reply.status in FINAL:
                path.unlink(missing_ok=True)
                result.sent.append(path.name)
            elif reply.http_status in (403, 422):
                path.unlink(missing_ok=True)
                result.refused.append((path.name, f"HTTP {reply.http_status}: {reply.reason}"))
            else:
                result.stopped = f"HTTP {reply.http_status} {reply.status}: {reply.reason}"
                result.waiting = len(waiting) - index
                return result
        return result

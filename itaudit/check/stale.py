"""Check runs that will never finish: their process was killed (SIGKILL, power cut).

A run is stored as `running` before its first result and marked `complete` or
`failed` at the end; a killed process does neither. The next check marks such
runs failed and drops their partial results, so that nothing (a report, the
indicators, a later comparison) ever reads half a run, and the history says
what happened. A run counts as stale when its process, on this machine, is gone,
or when it started longer ago than any run could take (another machine's run
sharing a PostgreSQL store cannot be probed).
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

import psutil
import sqlalchemy as sa

from itaudit.check import tables as ct
from itaudit.store import Store, utcnow

# 100,000 machines check in minutes; a run silent for this long is dead.
STALE_AFTER = timedelta(hours=12)


def runner_id() -> str:
    """host:pid of this process, as stored with a running check."""
    return f"{socket.gethostname()[:100]}:{os.getpid()}"


def _gone(runner: str | None) -> bool:
    if not runner or ":" not in runner:
        return False
    host, _, pid = runner.rpartition(":")
    if host != socket.gethostname()[:100] or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return False
    return not psutil.pid_exists(int(pid))


def mark_stale_runs(store: Store, now: datetime | None = None) -> list[int]:
    """Mark every stale `running` run failed (partial results removed); their ids."""
    now = now or utcnow()
    runs = ct.check_runs.c
    with store.read() as conn:
        rows = conn.execute(
            sa.select(runs.id, runs.started_at, runs.runner).where(runs.status == "running")
        ).all()
    stale = [r.id for r in rows if _gone(r.runner) or r.started_at < now - STALE_AFTER]
    if stale:
        with store.write() as conn:
            conn.execute(ct.check_results.delete().where(ct.check_results.c.run_id.in_(stale)))
            conn.execute(
                ct.check_runs.update()
                .where(runs.id.in_(stale), runs.status == "running")
                .values(status="failed", finished_at=now)
            )
    return stale

"""Scheduled work on the officer's machine: `itaudit schedule run`, started by the
OS scheduler (Task Scheduler, a systemd timer, cron).

Each job is the ordinary command in its own process (`itaudit scan`, `check`,
`report --all`, `readiness --notice`), so a job that crashes or hangs costs only
itself; its outcome is recorded in `job_runs` and a job whose latest run failed
is shown in the next department report. Exit status 1 of a command means it ran
and found something (failed rules, NO-GO): the job did its work. 2 and 3, a
signal, or the time limit are failures.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from itaudit.errors import ItauditError, UsageError
from itaudit.store import Store, utcnow
from itaudit.store import ops_tables as ot

JOBS = ("scan", "check", "report", "readiness", "purge")
DEFAULT_JOBS = ("scan", "check", "report", "readiness")
JOB_TIMEOUT = 4 * 3600.0
MESSAGE_LINES = 4

# argv (after `itaudit -w WS --store URL`) -> (exit code, output)
Runner = Callable[[list[str], float], tuple[int, str]]


@dataclass(frozen=True)
class JobRun:
    id: int
    job: str
    started_at: datetime
    finished_at: datetime | None
    status: str  # running, ok, findings, failed, skipped
    exit_code: int | None
    message: str | None

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "job": self.job,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "status": self.status,
            "exit_code": self.exit_code,
            "message": self.message,
        }


def parse_jobs(text: str) -> tuple[str, ...]:
    jobs = tuple(j.strip() for j in text.split(",") if j.strip())
    unknown = [j for j in jobs if j not in JOBS]
    if unknown or not jobs:
        raise UsageError(
            f"unknown job(s) {', '.join(unknown) or '(none)'}; jobs: {', '.join(JOBS)}"
        )
    return jobs


def cli_runner(workspace: Path, store_url: str) -> Runner:
    """Run `itaudit ARGS` in a child process against this workspace and store."""

    def run(args: list[str], timeout: float) -> tuple[int, str]:
        argv = [sys.executable, "-m", "itaudit", "-w", str(workspace), "--store", store_url, *args]
        try:
            done = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            tail = (exc.output or b"").decode("utf-8", "replace")
            return -1, f"{tail}\nstopped after {timeout:.0f} s (time limit)"
        except OSError as exc:
            return -1, f"could not start: {exc.strerror or exc}"
        return done.returncode, done.stdout.decode("utf-8", "replace")

    return run


def _status(code: int) -> str:
    return {0: "ok", 1: "findings"}.get(code, "failed")


def _tail(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return " | ".join(lines[-MESSAGE_LINES:])[:2048]


def readiness_due(today: date, days: int, org: object | None) -> tuple[bool, str]:
    """Whether the next holiday starts within `days` days (or is under way)."""
    from itaudit.readiness.calendar import next_holiday

    holiday = next_holiday(today, org)  # type: ignore[arg-type]
    until = (holiday.start - today).days
    if until <= days:
        return (
            True,
            f"{holiday.name_en} starts {holiday.start.isoformat()} (in {max(until, 0)} day(s))",
        )
    return (
        False,
        f"next holiday {holiday.name_en} starts {holiday.start.isoformat()}, in {until} days",
    )


def _start(store: Store, job: str) -> int:
    with store.write() as conn:
        inserted = conn.execute(
            ot.job_runs.insert().values(job=job, started_at=utcnow(), status="running")
        ).inserted_primary_key
    assert inserted is not None
    return int(inserted[0])


def _finish(store: Store, run_id: int, status: str, code: int | None, message: str) -> None:
    with store.write() as conn:
        conn.execute(
            ot.job_runs.update()
            .where(ot.job_runs.c.id == run_id)
            .values(finished_at=utcnow(), status=status, exit_code=code, message=message[:2048])
        )


def run_jobs(
    store: Store,
    jobs: Sequence[str],
    runner: Runner,
    *,
    today: date,
    readiness_days: int = 7,
    org: object | None = None,
    timeout: float = JOB_TIMEOUT,
    reports: Path = Path("reports"),
    echo: Callable[[str], None] = lambda _line: None,
) -> list[JobRun]:
    """Run `jobs` in order, each recorded; a failed job does not stop the next ones
    (a failed check still lets the report job show the failure)."""
    done: list[JobRun] = []
    for job in jobs:
        run_id = _start(store, job)
        code, status, message = _run_one(
            job, store, runner, today, readiness_days, org, timeout, reports
        )
        _finish(store, run_id, status, code, message)
        shown = f" (exit {code})" if code not in (None, 0) else ""
        echo(f"{job}: {status}{shown} - {message}")
        done.append(JobRun(run_id, job, utcnow(), utcnow(), status, code, message))
    return done


def _run_one(
    job: str,
    store: Store,
    runner: Runner,
    today: date,
    readiness_days: int,
    org: object | None,
    timeout: float,
    reports: Path,
) -> tuple[int | None, str, str]:
    """(exit code, status, message) of one job."""
    if job == "purge":
        from itaudit.store.maintenance import purge_due

        try:
            plan = purge_due(store)
        except ItauditError as exc:
            return 3, "failed", str(exc)
        if plan is None:
            return None, "skipped", "no retention set (itaudit store retention --months N)"
        return 0, "ok", f"deleted {plan.reports} report(s) collected before {plan.cutoff:%Y-%m-%d}"
    if job == "readiness":
        try:
            due, why = readiness_due(today, readiness_days, org)
        except ItauditError as exc:
            return 2, "failed", str(exc)
        if not due:
            return None, "skipped", why
        # The assessment as a file, each day of the run-up; the notice to the units
        # stays a person's step (`readiness --notice`): it is edited and signed.
        code, output = runner(["readiness", "--format", "html", "--out", str(reports)], timeout)
        return code, _status(code), f"{why}: {_tail(output)}"
    args = {"scan": ["scan"], "check": ["check"], "report": ["report", "--all"]}[job]
    code, output = runner(args, timeout)
    return code, _status(code), _tail(output)


def job_log(store: Store, days: int = 30) -> list[JobRun]:
    j = ot.job_runs
    with store.read() as conn:
        rows = conn.execute(
            sa.select(j)
            .where(j.c.started_at >= utcnow() - timedelta(days=days))
            .order_by(j.c.id.desc())
        ).all()
    return [_row(r) for r in rows]


def failed_jobs(store: Store) -> list[JobRun]:
    """Each job whose latest finished run failed: what the next report must show."""
    j = ot.job_runs
    latest = (
        sa.select(sa.func.max(j.c.id))
        .where(j.c.status.in_(("ok", "findings", "failed")))
        .group_by(j.c.job)
    )
    with store.read() as conn:
        rows = conn.execute(
            sa.select(j).where(j.c.id.in_(latest), j.c.status == "failed").order_by(j.c.job)
        ).all()
    return [_row(r) for r in rows]


def _row(r: sa.Row) -> JobRun:
    m = r._mapping
    return JobRun(
        m["id"],
        m["job"],
        m["started_at"],
        m["finished_at"],
        m["status"],
        m["exit_code"],
        m["message"],
    )

"""`itaudit schedule run | log`: the officer's scheduled work, for the OS scheduler."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from itaudit.cli.common import (
    EXIT_ENVIRONMENT,
    CommandFailed,
    Env,
    Format,
    emit_rows,
    format_option,
    pass_env,
    workspace_options,
)
from itaudit.errors import InputError


@click.group()
def schedule() -> None:
    """Scheduled scans, checks, reports and readiness (run by Task Scheduler, a
    systemd timer or cron; see docs/operations.md)."""


@schedule.command()
@click.option(
    "--jobs",
    default="scan,check,report,readiness",
    show_default=True,
    help="Jobs to run, in order: scan, check, report, readiness, purge (comma-separated).",
)
@click.option(
    "--readiness-days",
    type=click.IntRange(0, 60),
    default=7,
    show_default=True,
    help="Run the readiness assessment from this many days before a holiday.",
)
@click.option(
    "--timeout",
    type=click.IntRange(60, 86400),
    default=4 * 3600,
    show_default=True,
    help="Seconds one job may take before it is stopped and counted as failed.",
)
@workspace_options
@pass_env
def run(env: Env, jobs: str, readiness_days: int, timeout: int) -> None:
    """Run the scheduled jobs once, each logged in the store.

    \b
    scan       itaudit scan (every unit's subnets)
    check      itaudit check
    report     itaudit report --all (the department report shows failed jobs)
    readiness  itaudit readiness -f html, from --readiness-days before a holiday
    purge      itaudit store purge with the retention setting

    A job that fails does not stop the next one. Exit status: 0 every job ran
    (failed rules or NO-GO are findings, not failures), 3 a job failed.
    """
    from itaudit.schedule import cli_runner, parse_jobs, run_jobs

    chosen = parse_jobs(jobs)
    store = env.store()
    try:
        org = env.org()
    except InputError:
        org = None
    outcomes = run_jobs(
        store,
        chosen,
        cli_runner(env.workspace.root, env.store_url),
        today=datetime.now(UTC).date(),
        readiness_days=readiness_days,
        org=org,
        timeout=float(timeout),
        reports=env.workspace.reports,
        echo=click.echo,
    )
    failed = [o.job for o in outcomes if o.status == "failed"]
    if failed:
        raise CommandFailed(
            f"{len(failed)} job(s) failed: {', '.join(failed)} (itaudit schedule log)",
            EXIT_ENVIRONMENT,
        )


@schedule.command()
@click.option(
    "--days", type=click.IntRange(1, 3650), default=30, show_default=True, help="How far back."
)
@format_option(Format.TABLE, Format.JSON, Format.CSV)
@workspace_options
@pass_env
def log(env: Env, days: int, fmt: str) -> None:
    """The scheduled jobs of the last DAYS days, newest first."""
    from itaudit.schedule import job_log

    rows = [r.as_dict() for r in job_log(env.store(), days)]
    emit_rows(rows, fmt, ["started_at", "job", "status", "exit_code", "message"])

"""`itaudit store backup | retention | purge`: keeping the store safe and bounded."""

from __future__ import annotations

from pathlib import Path

import click

from itaudit.cli.common import EXIT_USAGE, CommandFailed, Env, pass_env, workspace_options
from itaudit.errors import UsageError


@click.group()
def store() -> None:
    """Back up the store and purge old report history (see docs/operations.md)."""


@store.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@workspace_options
@pass_env
def backup(env: Env, file: Path, force: bool) -> None:
    """Copy the SQLite store to FILE while collectors keep writing, then check the copy.

    Uses SQLite's online backup API: the copy is one consistent snapshot.
    The copy is opened and checked (PRAGMA integrity_check) before it takes
    FILE's name. A PostgreSQL store is backed up with pg_dump (printed, exit 2).
    """
    from itaudit.store.maintenance import backup as run_backup
    from itaudit.store.maintenance import pg_dump_advice

    st = env.store()
    if st.dialect != "sqlite":
        raise CommandFailed(pg_dump_advice(st), EXIT_USAGE)
    result = run_backup(st, file, overwrite=force)
    c = result.counts
    click.echo(
        f"backup written to {result.path}: integrity ok, {c['hosts']} host(s), "
        f"{c['reports']} report(s), {c['rejections']} rejection(s)"
    )


@store.command()
@click.option(
    "--months",
    type=click.IntRange(1, 600),
    help="Keep report history this many months (then `store purge` and the scheduled "
    "purge use it).",
)
@click.option("--off", is_flag=True, help="Keep every report (no retention).")
@workspace_options
@pass_env
def retention(env: Env, months: int | None, off: bool) -> None:
    """Show or set how many months of report history the store keeps."""
    from itaudit.store.maintenance import RETENTION_SETTING, retention_months, set_setting

    st = env.store()
    if months is not None and off:
        raise UsageError("--months and --off exclude each other")
    if months is not None or off:
        set_setting(st, RETENTION_SETTING, None if off else str(months))
    current = retention_months(st)
    click.echo(
        f"retention: {current} month(s) of report history"
        if current
        else "retention: none (every report is kept)"
    )


@store.command()
@click.option(
    "--older-than-months",
    "months",
    type=click.IntRange(1, 600),
    help="Delete report history collected before this many months ago "
    "[default: the retention setting].",
)
@click.option("--dry-run", is_flag=True, help="Only say what would be deleted.")
@workspace_options
@pass_env
def purge(env: Env, months: int | None, dry_run: bool) -> None:
    """Delete old report history, keeping what is still needed.

    Kept whatever its age: each host's latest report, the reports behind the
    check runs the quarterly indicator tables of this year and last year use,
    and those behind the results of a host under an open waiver. Check runs
    are never purged. Old rejections are deleted too.
    """
    from itaudit.store.maintenance import purge as run_purge
    from itaudit.store.maintenance import retention_months

    st = env.store()
    months = months or retention_months(st)
    if months is None:
        raise UsageError(
            "give --older-than-months N, or set it: itaudit store retention --months N"
        )
    plan = run_purge(st, months, dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    click.echo(
        f"reports collected before {plan.cutoff:%Y-%m-%d}: {verb} {plan.reports}, kept "
        f"{plan.kept_needed} still needed (latest per host, indicators, open waivers); "
        f"{verb} {plan.rejections} rejection(s)"
    )

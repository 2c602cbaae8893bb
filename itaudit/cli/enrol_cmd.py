"""`itaudit enrol create | list | failures`: per-unit enrolment secrets for `itaudit serve`."""

from __future__ import annotations

import os
from pathlib import Path

import click

from itaudit.cli.common import Env, Format, emit_rows, format_option, pass_env, workspace_options
from itaudit.errors import InputError, UsageError


@click.group()
def enrol() -> None:
    """Enrolment secrets per unit: a machine's first push with its unit's secret
    enrols it into that unit and pins its signing key (see docs/operations.md)."""


@enrol.command()
@click.option(
    "--unit", "-u", required=True, metavar="UNIT", help="The unit the secret enrols into."
)
@click.option("--rotate", is_flag=True, help="Replace the unit's current secret.")
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the secret to FILE (mode 0600) instead of printing it.",
)
@click.option("--by", "actor", help="Who issues it [default: the current user].")
@workspace_options
@pass_env
def create(env: Env, unit: str, rotate: bool, out: Path | None, actor: str | None) -> None:
    """Issue UNIT's enrolment secret (shown once; the store keeps only its hash).

    Give it to the unit's machines as the token file of `itaudit agent install`
    or `agent collect --push ... --token-file`. --rotate replaces it: the old
    secret then enrols no new machine, while machines it already enrolled keep
    pushing (their pinned key is what the collector trusts).
    """
    from itaudit.enrolment import create_secret

    try:
        org = env.org()
    except InputError:
        org = None
    if org is not None and org.unit(unit) is None:
        raise UsageError(f"unknown unit {unit!r}; units: {', '.join(u.id for u in org.units)}")
    secret = create_secret(env.store(), unit, rotate=rotate, actor=actor)
    if out is None:
        click.echo(secret)
        click.echo(
            f"{'rotated' if rotate else 'created'}: the enrolment secret of unit {unit} "
            "(shown once; keep it like a password)",
            err=True,
        )
        return
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(secret + "\n")
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from exc
    if os.name == "nt":
        from itaudit.fileaccess import restrict_to_owner

        problem = restrict_to_owner(out)
        if problem:
            click.echo(f"warning: {out}: {problem}; restrict it by hand", err=True)
    click.echo(
        f"{'rotated' if rotate else 'created'}: unit {unit}'s enrolment secret written to {out}"
    )


@enrol.command("list")
@format_option(Format.TABLE, Format.JSON, Format.CSV)
@workspace_options
@pass_env
def list_(env: Env, fmt: str) -> None:
    """Every secret issued: unit, when, by whom, and whether it was rotated."""
    from itaudit.enrolment import list_secrets

    rows = [
        {
            "unit": s.unit,
            "state": "active" if s.active else "rotated",
            "created_at": s.created_at,
            "created_by": s.created_by,
            "replaced_at": s.replaced_at,
        }
        for s in list_secrets(env.store())
    ]
    emit_rows(rows, fmt, ["unit", "state", "created_at", "created_by", "replaced_at"])


@enrol.command()
@click.option(
    "--days", type=click.IntRange(1, 3650), default=7, show_default=True, help="How far back."
)
@format_option(Format.TABLE, Format.JSON, Format.CSV)
@workspace_options
@pass_env
def failures(env: Env, days: int, fmt: str) -> None:
    """Refused pushes of the last DAYS days: wrong secret, revoked host, another key."""
    from datetime import timedelta

    from itaudit.enrolment import recent_failures

    rows = recent_failures(env.store(), timedelta(days=days))
    emit_rows(rows, fmt, ["at", "address", "hostname", "reason"])

"""`itaudit holidays`."""

from __future__ import annotations

from datetime import date

import click

from itaudit.cli.common import (
    Env,
    Format,
    emit_rows,
    format_option,
    lang_option,
    pass_env,
    workspace_options,
)
from itaudit.errors import InputError
from itaudit.i18n import format_date, t


@click.command()
@click.option(
    "--year",
    "-y",
    type=int,
    metavar="YYYY",
    help="Calendar year, 1901 to 2100 [default: this year].",
)
@click.option(
    "--unit", "-u", metavar="UNIT", help="Include this unit's own days off (organization.yaml)."
)
@lang_option
@format_option(Format.TABLE, Format.JSON, Format.CSV)
@workspace_options
@pass_env
def holidays(env: Env, year: int | None, unit: str | None, lang: str, fmt: str) -> None:
    """List the holidays of a year, as the incident-response team must cover them.

    Each line is a span of consecutive days off (official holidays joined with
    the weekends and bridge days around them), so "from" and "to" are the days
    the offices stay empty. Dates come from the `holidays` package (Tết and the
    Hùng Kings' day from the Vietnamese lunar calendar); the organisation's and
    the unit's own extra days off come from inventory/organization.yaml.

    \b
    Examples:
      itaudit holidays                     this year's holidays
      itaudit holidays -y 2027 -l en       in English
      itaudit holidays -u tcn-miennui      with the school's own days off
    """
    from itaudit.readiness.calendar import year_calendar

    try:
        org = env.org()
    except InputError as exc:
        if unit:
            raise
        org = None  # the national calendar needs no register...
        if env.workspace.is_initialised():
            # ...but a register that exists and is wrong must not drop its days off silently.
            first = str(exc).splitlines()[0] if str(exc) else ""
            click.echo(
                f"warning: the organisation's own days off are not listed: {first}", err=True
            )
    spans = year_calendar(year or date.today().year, org, unit)
    rows = [
        {
            "id": h.ident(),
            "holiday": h.name(lang),
            "from": format_date(h.start, lang) if fmt == Format.TABLE else h.start.isoformat(),
            "to": format_date(h.end, lang) if fmt == Format.TABLE else h.end.isoformat(),
            "days": h.days,
            # The table stays narrow (dates only); JSON and CSV carry the names.
            "official": ", ".join(
                s.day.strftime("%d/%m")
                if fmt == Format.TABLE
                else f"{s.day.isoformat()} {s.name_vi if lang == 'vi' else s.name_en}"
                for s in h.official
            ),
        }
        for h in spans
    ]
    columns = ["id", "holiday", "from", "to", "days", "official"]
    headers = [t(f"holidays.header.{c}", lang) for c in columns]
    emit_rows(rows, fmt, columns, headers)

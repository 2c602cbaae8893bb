"""`itaudit readiness`: GO or NO-GO before a holiday, and the draft notice."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import click

from itaudit.cli.common import (
    EXIT_FINDINGS,
    CommandFailed,
    Env,
    Format,
    format_option,
    lang_option,
    pass_env,
    workspace_options,
)
from itaudit.errors import UsageError
from itaudit.i18n import t

TODAY_ENV = "ITAUDIT_TODAY"


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise UsageError(f"{option} {value!r} is not a date (YYYY-MM-DD)") from exc


@click.command()
@click.option(
    "--holiday",
    "holiday_name",
    metavar="NAME",
    help="The holiday: tet, tet-2027, 'quoc khanh', 'Hùng Vương'... (see itaudit holidays) "
    "[default: the next one].",
)
@click.option(
    "--date", "on_date", metavar="YYYY-MM-DD", help="The holiday under way on or next after DATE."
)
@click.option("--unit", "-u", metavar="UNIT", help="Only this unit's machines (and its days off).")
@click.option(
    "--roster",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The duty roster [default: inventory/duty-roster.yaml].",
)
@click.option(
    "--notice",
    is_flag=True,
    help="Also write the draft notice to the units (DOCX and Markdown) for the team to edit and sign.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the notice, and for md/html output [default: the notice in reports/, "
    "md/html on the terminal].",
)
@click.option(
    "--force",
    is_flag=True,
    help="Replace a notice already written for this holiday (it may hold the team's edits).",
)
@click.option(
    "--today",
    metavar="YYYY-MM-DD",
    envvar=TODAY_ENV,
    hidden=True,
    help="Assess as of this day (for tests and rehearsals) [env ITAUDIT_TODAY].",
)
@lang_option
@format_option(Format.TABLE, Format.MD, Format.HTML, Format.JSON)
@workspace_options
@pass_env
def readiness(
    env: Env,
    holiday_name: str | None,
    on_date: str | None,
    unit: str | None,
    roster: Path | None,
    notice: bool,
    out_dir: Path | None,
    force: bool,
    today: str | None,
    lang: str,
    fmt: str,
) -> None:
    """Is the department ready for the next holiday? GO or NO-GO, with every blocker.

    Shows the holiday's days off, the days remaining, and the checklist of the
    profiles' `readiness:` section: fresh check results and reports, anti-malware
    and EDR, critical advisories, a recent LAN scan without unknown or forbidden
    devices, state-secret machines, waivers and attestations expiring before the
    holiday ends, servers' verified backups, the team's lead, deputy and 24/7
    duty roster with phones, and the last drill. Blockers are grouped by unit and
    machine, each with its owner and remediation. It reads what `itaudit check`
    and `itaudit scan` stored; it never re-checks a machine.

    \b
    Examples:
      itaudit readiness                          the next holiday (or the one under way)
      itaudit readiness --holiday tet --notice   Tết, and the draft notice (DOCX, Markdown)
      itaudit readiness --date 2027-04-30 -l en  the holiday on or after that day
      itaudit readiness -u dvvl -f html --out reports/

    \b
    Exit: 0 GO, 1 NO-GO, 2 usage errors (unknown holiday or unit, bad roster file),
    3 the store cannot be read.
    """
    from itaudit.profiles import load_profiles
    from itaudit.readiness.evaluate import choose_holiday, evaluate_readiness
    from itaudit.readiness.roster import ROSTER_FILE, load_roster
    from itaudit.readiness.view import as_json, render_html, render_markdown, text_report

    day = _day(today, "--today") or date.today()
    org = env.org()
    if unit is not None and org.unit(unit) is None:
        raise UsageError(f"unknown unit {unit!r}; units: {', '.join(u.id for u in org.units)}")
    holiday = choose_holiday(
        org, day, name=holiday_name, on_or_after=_day(on_date, "--date"), unit=unit
    )
    if out_dir is not None and not notice and fmt not in (Format.MD, Format.HTML):
        raise UsageError(
            "--out is where md/html output and the notice go: add -f md|html or --notice"
        )
    stem = f"readiness-{holiday.ident()}" + (f"-{unit}" if unit else "")
    if notice and not force:
        from itaudit.readiness.notice import notice_paths

        # The notice is a draft the team edits: never write over it unasked.
        existing = [p for p in notice_paths(out_dir or env.workspace.reports, stem) if p.exists()]
        if existing:
            raise UsageError(
                f"{existing[0]} exists and may hold the team's edits: pass --force to replace "
                "it, or --out DIR to write the notice elsewhere"
            )
    profiles = load_profiles(env.workspace.profiles, env.workspace.inventory)
    roster_path = roster or env.workspace.inventory / ROSTER_FILE
    duty = load_roster(roster_path, org.team) if roster or roster_path.is_file() else None
    result = evaluate_readiness(env.store(), org, profiles, holiday, day, unit=unit, roster=duty)

    written: list[Path] = []
    if fmt == Format.JSON:
        click.echo(json.dumps(as_json(result), ensure_ascii=False, indent=2))
    elif fmt in (Format.MD, Format.HTML):
        body = render_markdown(result, lang) if fmt == Format.MD else render_html(result, lang)
        if out_dir is None:
            click.echo(body, nl=False)
        else:
            from itaudit.report.render import write_text

            written.append(write_text(out_dir / f"{stem}.{fmt}", body))
    else:
        click.echo(text_report(result, lang))
    if notice:
        from itaudit.readiness.notice import write_notice

        written += write_notice(result, org, out_dir or env.workspace.reports, lang, stem)
    for path in written:
        # JSON on stdout stays parseable: the paths go to stderr.
        click.echo(t("readiness.label.written", lang, path=path), err=fmt == Format.JSON)
    if result.verdict != "GO":
        raise CommandFailed(
            f"{result.verdict}: {len(result.blockers)} blocker(s) before {holiday.name(lang)}",
            EXIT_FINDINGS,
        )

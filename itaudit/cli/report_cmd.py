"""`itaudit report`: compliance reports for unit heads, the department summary,
and the quarterly indicator table."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from itaudit.cli.common import Env, lang_option, pass_env, workspace_options
from itaudit.errors import UsageError

if TYPE_CHECKING:
    from itaudit.org.model import Organisation
    from itaudit.store import Store

KINDS = ("unit", "department", "indicators")
FORMATS = ("html", "md", "csv", "xlsx", "json", "docx")


@click.command()
@click.option(
    "--kind",
    "-k",
    type=click.Choice(KINDS),
    help="unit: a unit head's compliance report; department: one row per unit; "
    "indicators: the quarterly indicator table (Appendix I) "
    "[default: unit with --unit, else department (with every unit's report under --all)].",
)
@click.option(
    "--unit", "-u", "units", metavar="UNIT", multiple=True, help="Report on this unit (repeatable)."
)
@click.option(
    "--all", "all_units", is_flag=True, help="The department summary and every unit's report."
)
@click.option(
    "--format",
    "-f",
    "formats",
    type=click.Choice(FORMATS),
    multiple=True,
    help="Output format, repeatable [default: html]. docx: indicators only.",
)
@lang_option
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write into [default: WORKSPACE/reports].",
)
@click.option(
    "--period",
    type=click.Choice(["Q1", "H1", "9M", "Y"]),
    help="Indicators: the reporting period (cumulative from 1 January) [default: the one running].",
)
@click.option("--year", type=int, help="Indicators: the year [default: this year].")
@click.option(
    "--stdout",
    is_flag=True,
    help="Print the one Markdown or JSON result instead of writing a file.",
)
@workspace_options
@pass_env
def report(
    env: Env,
    kind: str | None,
    units: tuple[str, ...],
    all_units: bool,
    formats: tuple[str, ...],
    lang: str,
    out: Path | None,
    period: str | None,
    year: int | None,
    stdout: bool,
) -> None:
    """Write compliance reports from the latest check run (files under reports/).

    \b
      itaudit report --unit ho                  the head office's report (HTML, Vietnamese)
      itaudit report --all -f html -f xlsx      the department summary and all 12 unit reports
      itaudit report -f md --stdout             the department summary in the terminal
      itaudit report --kind indicators --period 9M --year 2026 -f docx -f xlsx

    Numbers come from the stored check run, the register and the latest LAN
    scans, never re-evaluated: `itaudit check` first. Files are named for what
    they are: reports/<check date>/ho.vi.html, department.vi.xlsx,
    reports/indicators/2026-9M.vi.docx. With --unit alone, a later check of
    that unit only (`itaudit check --unit U`) counts too.

    Exit 0 when written; 2 on a usage error or when the store holds no check
    run; 3 when a file cannot be written (the message names it).
    """
    from itaudit.report.output import INDICATOR_FORMATS, REPORT_FORMATS

    if kind is None:
        kind = "unit" if units and not all_units else "department"
    if units and all_units:
        raise UsageError("give --unit or --all, not both")
    if kind == "indicators" and (units or all_units):
        raise UsageError("--kind indicators covers the whole department: no --unit or --all")
    if kind != "indicators" and (period or year):
        raise UsageError("--period and --year are for --kind indicators")
    if kind == "unit" and not units and not all_units:
        raise UsageError("--kind unit needs --unit U (or --all)")
    formats = formats or ("html",)
    allowed = INDICATOR_FORMATS if kind == "indicators" else REPORT_FORMATS
    bad = [f for f in formats if f not in allowed]
    if bad:
        raise UsageError(f"--format {bad[0]} is not available for {kind}: {', '.join(allowed)}")
    if stdout and (len(formats) != 1 or formats[0] not in ("md", "json")):
        raise UsageError("--stdout prints one Markdown or JSON result: give -f md or -f json")
    org = env.org()
    store = env.store()
    folder = out or env.workspace.root / "reports"

    if kind == "indicators":
        _indicators(env, org, store, formats, lang, folder, period, year, stdout)
        return

    from itaudit.report.figures import build_reports, load_framework_titles
    from itaudit.report.output import (
        department_markdown,
        report_folder,
        to_json,
        unit_markdown,
        write_department,
        write_unit,
    )

    wanted = None if all_units else list(units)
    department = kind == "department"
    if stdout and (all_units or len(units) > 1 or (department and units)):
        raise UsageError("--stdout prints one report: the department, or one --unit")
    frameworks = load_framework_titles(env.workspace.profiles, env.workspace.inventory)
    from itaudit.check.unknown_products import workspace_catalog

    reports = build_reports(
        store,
        org,
        units=wanted,
        department=department,
        frameworks=frameworks,
        catalog=workspace_catalog(env.workspace.root),
    )
    if stdout:
        fmt = formats[0]
        if department:
            assert reports.department is not None
            text = (
                department_markdown(reports.department, lang, org)
                if fmt == "md"
                else to_json(reports.department.as_dict())
            )
        else:
            r = next(iter(reports.units.values()))
            text = unit_markdown(r, lang, org) if fmt == "md" else to_json(r.as_dict())
        click.echo(text, nl=False)
        return
    target = report_folder(folder, reports)
    count = len(formats) * (len(reports.units) + (reports.department is not None))
    click.echo(
        f"check run {reports.run.id} of {reports.run.checked_at:%Y-%m-%d %H:%M} UTC; "
        f"writing {count} file(s) into {target}:",
        err=True,
    )
    # Each path as soon as it is written: progress on a large fleet, and a
    # failure part-way names what was already written.
    for fmt in formats:
        if reports.department is not None:
            click.echo(str(write_department(reports.department, fmt, lang, org, target)))
        for r in reports.units.values():
            click.echo(str(write_unit(r, fmt, lang, org, target)))


def _indicators(
    env: Env,
    org: Organisation,
    store: Store,
    formats: tuple[str, ...],
    lang: str,
    folder: Path,
    period: str | None,
    year: int | None,
    stdout: bool,
) -> None:
    from itaudit.report.indicators import build_indicators, default_period
    from itaudit.report.output import indicators_markdown, to_json, write_indicators

    today = datetime.now(UTC).date()
    year = year or today.year
    if period is None:
        period = default_period(today) if year == today.year else "Y"
    table = build_indicators(store, org, period, year)
    if stdout:
        text = (
            to_json(table.as_dict()) if formats[0] == "json" else indicators_markdown(table, lang)
        )
        click.echo(text, nl=False)
        return
    paths = [write_indicators(table, fmt, lang, org, folder) for fmt in formats]
    state = (
        f"check run {table.run_id}" if table.run_id else "no check run in the period (no data rows)"
    )
    click.echo(
        f"indicators {period} {year} as of {table.end:%Y-%m-%d}; {state}; {len(paths)} file(s) written:",
        err=True,
    )
    for p in paths:
        click.echo(str(p))

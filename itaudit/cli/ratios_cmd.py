"""`itaudit ratios`: equipment ratios and coverage per unit, and where the sources disagree."""

from __future__ import annotations

from pathlib import Path

import click

from itaudit.cli.common import Env, lang_option, pass_env, workspace_options

FORMATS = ("table", "json", "csv", "md", "xlsx")


@click.command()
@click.option("--unit", "-u", metavar="UNIT", help="Only this unit (no department total).")
@click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="Output format; xlsx needs --out.",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of printing (required for xlsx).",
)
@lang_option
@workspace_options
@pass_env
def ratios(env: Env, unit: str | None, fmt: str, out: Path | None, lang: str) -> None:
    """Workstations (of which laptops), servers (on site or hosted), machines per
    staff, anti-malware and EDR coverage, LAN and reporting coverage, per unit and
    for the department; then the discrepancies between the register, the agent
    reports and the LAN scans.

    \b
    Machines per staff: register workstations and laptops / staff (organization.yaml).
    Anti-malware (L1-AV-02), EDR (L1-EDR-02), patched (L1-PATCH-01): machines the
      latest check found with the product active / machines that should have it
      (register machines that never reported count as not covered).
    LAN: register computers expected on the LAN (state-secret machines excluded)
      that the unit's latest scan saw / those expected.
    Reporting: register computers with a report / register computers.
    The reports show the same figures (the same function computes them); the
    patch figure is in the JSON output and the reports.

    Without a check run, the register's figures are shown and coverage is "—".
    Exit 0; 2 on a usage error; 3 when --out cannot be written.
    """
    from itaudit.errors import UsageError
    from itaudit.ratios import compute_ratios
    from itaudit.report import render
    from itaudit.report.figures import NoCheckRun, find_run
    from itaudit.report.output import to_json
    from itaudit.report.tables import discrepancy_table, ratios_brief, ratios_table

    org = env.org()
    if unit is not None and org.unit(unit) is None:
        raise UsageError(f"unknown unit {unit!r}; units: {', '.join(u.id for u in org.units)}")
    if fmt == "xlsx" and out is None:
        raise UsageError("-f xlsx writes a file: give --out FILE.xlsx")
    store = env.store()
    try:
        run = find_run(store, unit=unit)
    except NoCheckRun as exc:
        # The register alone still gives the equipment counts and machines per staff.
        click.echo(f"{exc}; coverage figures need a check run (shown as —)", err=True)
        run = None
    report = compute_ratios(store, org, run, unit=unit)
    names = {u.id: u.name(lang) for u in org.units}
    table = ratios_table(report, lang, names)
    items = report.total.discrepancies if report.total else report.units[0].discrepancies
    gaps = discrepancy_table(items, lang, names)
    none = "report.discrepancies.none" if run is not None else "report.discrepancies.no_run"
    if fmt == "json":
        text = to_json(report.as_dict())
    elif fmt == "csv":
        text = render.csv_text(table.headers, table.rows)
    elif fmt == "md":
        brief = ratios_brief(report, lang, names)
        text = (
            f"## {brief.title}\n\n"
            + render.md_table(brief.headers, brief.rows)
            + "\n"
            + t("report.ratios.brief.legend", lang)
            + f"\n\n## {gaps.title}\n\n"
            + (
                "".join(
                    f"- {render.md_escape(g[0])}: {render.md_escape(g[5])}\n" for g in gaps.rows
                )
                or t(none, lang) + "\n"
            )
        )
    elif fmt == "xlsx":
        assert out is not None
        render.write_xlsx(
            out,
            [
                render.Sheet(table.title, table.headers, table.rows),
                render.Sheet(gaps.title, gaps.headers, gaps.rows),
            ],
        )
        click.echo(str(out))
        return
    else:
        from tabulate import tabulate

        brief = ratios_brief(report, lang)
        text = (
            tabulate(
                brief.rows,
                headers=list(brief.headers),
                tablefmt="simple",
                colalign=("left",) + ("right",) * (len(brief.headers) - 1),
                disable_numparse=True,
            )
            + "\n"
            + t("report.ratios.brief.legend", lang)
            + f"\n\n{gaps.title}:\n"
            + ("\n".join(f"  {g[0]}: {g[5]}" for g in gaps.rows) or "  " + t(none, lang))
            + "\n"
        )
    if out is not None:
        render.write_text(out, text, bom=fmt == "csv")
        click.echo(str(out))
    else:
        click.echo(text, nl=False)


def t(key: str, lang: str) -> str:
    from itaudit.i18n import t as translate

    return translate(key, lang)

"""Demo stage: the department summary and one report per unit into reports/."""

from __future__ import annotations

from typing import Any


def stage_reports(run: Any) -> None:
    """Write the department summary and every unit's report (HTML, Vietnamese),
    and the year's indicator table (DOCX, XLSX), from the demo's check run."""
    from itaudit.report.figures import build_reports, load_framework_titles
    from itaudit.report.indicators import build_indicators, default_period
    from itaudit.report.output import write_indicators, write_reports

    ws = run.workspace
    frameworks = load_framework_titles(ws.profiles, ws.inventory)
    from itaudit.check.unknown_products import workspace_catalog

    reports = build_reports(
        run.store,
        run.org,
        units=None,
        frameworks=frameworks,
        now=run.now,
        catalog=workspace_catalog(ws.root),
    )
    out = ws.root / "reports"
    paths = write_reports(reports, run.org, out, ("html",), "vi")
    run.outputs.append(("Department summary (HTML)", paths[0]))
    for path in paths[1:]:
        run.outputs.append((f"Unit report {path.name.split('.')[0]} (HTML)", path))
    today = run.now.date()
    table = build_indicators(run.store, run.org, default_period(today), today.year, now=run.now)
    for fmt in ("docx", "xlsx"):
        run.outputs.append(
            (f"Indicator table ({fmt.upper()})", write_indicators(table, fmt, "vi", run.org, out))
        )
    d = reports.department
    assert d is not None
    run.echo(
        f"Reports: department summary and {len(paths) - 1} unit reports in {paths[0].parent} "
        f"(compliant machines {d.total.compliant.numerator}/{d.total.compliant.denominator}, "
        f"head office machines per staff {d.rows[0].ratios.machines_per_staff.percent} %); "
        f"indicators {table.period} {table.year}"
    )

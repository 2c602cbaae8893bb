"""Renderers: the figures of a report as HTML, Markdown, CSV, XLSX or JSON.

Each renderer only formats what `figures.py` / `ratios.py` computed; the CSV,
XLSX and Markdown tables all come from `tables.py`, JSON from the figures'
`as_dict()`, HTML from the Jinja2 templates.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from itaudit.i18n import t
from itaudit.org.model import Organisation
from itaudit.report import render
from itaudit.report.figures import DepartmentSummary, ReportSet, UnitReport
from itaudit.report.tables import (
    Table,
    department_table,
    discrepancy_table,
    discrepancy_text,
    unit_machine_table,
    unit_tables,
)
from itaudit.scan.reconcile import type_name

REPORT_FORMATS = ("html", "md", "csv", "xlsx", "json")


def _helpers(lang: str, org: Organisation | None) -> dict[str, Any]:
    names = {u.id: u.name(lang) for u in org.units} if org else {}
    return {
        "discrepancy_text": lambda d: discrepancy_text(d, lang),
        "type_label": lambda kind: type_name(kind, lang),
        "unit_name": lambda unit_id: names.get(unit_id, unit_id),
    }


def _severity_items(by_severity: dict[str, int], lang: str) -> list[dict[str, Any]]:
    return [
        {"label": t("report.severity." + s, lang), "value": int(n), "css": s}
        for s, n in by_severity.items()
    ]


def unit_html(r: UnitReport, lang: str, org: Organisation) -> str:
    return render.render_html(
        "unit.html",
        lang,
        r=r,
        org_name=_org_name(org),
        severity_items=_severity_items(r.banner.failed_by_severity, lang),
        **_helpers(lang, org),
    )


def department_html(d: DepartmentSummary, lang: str, org: Organisation) -> str:
    items = [
        {
            "label": row.unit_id,
            "value": row.compliant.percent or 0,
            "css": "ok" if row.compliant.numerator == row.compliant.denominator else "medium",
        }
        for row in d.rows
    ]
    days = ", ".join(str(x) for x in d.patch_days) or "—"
    return render.render_html(
        "department.html",
        lang,
        d=d,
        compliance_items=items,
        patch_days=days,
        **_helpers(lang, org),
    )


def _org_name(org: Organisation) -> Any:
    from itaudit.profiles.model import Text

    return Text(org.name_vi, org.name_en)


def _md_table(table: Table, lang: str) -> render.MdSafe:
    return render.md_table(table.headers, [[_cell(v, lang) for v in row] for row in table.rows])


def _cell(value: Any, lang: str) -> Any:
    if isinstance(value, datetime | date):
        return render.format_date(value, lang)
    if isinstance(value, float):
        return render.format_number(value, lang)
    if isinstance(value, int):
        return render.format_number(value, lang)
    return "—" if value is None else value


def unit_markdown(r: UnitReport, lang: str, org: Organisation) -> str:
    tables = {tb.key: _md_table(tb, lang) for tb in unit_tables(r, lang)}
    return render.render_markdown(
        "unit.md",
        lang,
        r=r,
        tables=tables,
        org_name=_org_name(org),
        **_helpers(lang, org),
    )


def department_markdown(d: DepartmentSummary, lang: str, org: Organisation) -> str:
    names = {u.id: u.name(lang) for u in org.units}
    return render.render_markdown(
        "department.md",
        lang,
        d=d,
        units=_md_table(department_table(d, lang), lang),
        discrepancies=_md_table(discrepancy_table(d.discrepancies, lang, names), lang)
        if d.discrepancies
        else None,
        **_helpers(lang, org),
    )


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, default=_json_default) + "\n"


def _sheets(tables: Sequence[Table]) -> list[render.Sheet]:
    return [render.Sheet(tb.title, tb.headers, tb.rows) for tb in tables]


def write_unit(r: UnitReport, fmt: str, lang: str, org: Organisation, folder: Path) -> Path:
    path = folder / f"{r.unit_id}.{lang}.{fmt}"
    if fmt == "html":
        return render.write_html(path, unit_html(r, lang, org))
    if fmt == "md":
        return render.write_text(path, unit_markdown(r, lang, org))
    if fmt == "json":
        return render.write_text(path, to_json(r.as_dict()))
    if fmt == "csv":
        table = unit_machine_table(r, lang)
        return render.write_csv(path, table.headers, table.rows)
    if fmt == "xlsx":
        return render.write_xlsx(path, _sheets(unit_tables(r, lang)))
    raise ValueError(f"unknown report format {fmt!r}")


def write_department(
    d: DepartmentSummary, fmt: str, lang: str, org: Organisation, folder: Path
) -> Path:
    path = folder / f"department.{lang}.{fmt}"
    names = {u.id: u.name(lang) for u in org.units}
    if fmt == "html":
        return render.write_html(path, department_html(d, lang, org))
    if fmt == "md":
        return render.write_text(path, department_markdown(d, lang, org))
    if fmt == "json":
        return render.write_text(path, to_json(d.as_dict()))
    if fmt == "csv":
        table = department_table(d, lang)
        return render.write_csv(path, table.headers, table.rows)
    if fmt == "xlsx":
        return render.write_xlsx(
            path,
            _sheets([department_table(d, lang), discrepancy_table(d.discrepancies, lang, names)]),
        )
    raise ValueError(f"unknown report format {fmt!r}")


def report_folder(out: Path, reports: ReportSet) -> Path:
    """reports/<date of the check run>/: one folder per check, so reports of
    different checks never overwrite each other."""
    return out / reports.run.checked_at.strftime("%Y-%m-%d")


def write_reports(
    reports: ReportSet,
    org: Organisation,
    out: Path,
    formats: Sequence[str] = ("html",),
    lang: str = "vi",
) -> list[Path]:
    """Write the department summary and every unit report in `formats`; return the paths."""
    folder = report_folder(out, reports)
    paths: list[Path] = []
    for fmt in formats:
        if reports.department is not None:
            paths.append(write_department(reports.department, fmt, lang, org, folder))
        for r in reports.units.values():
            paths.append(write_unit(r, fmt, lang, org, folder))
    return paths

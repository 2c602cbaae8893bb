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

from itaudit.i18n import format_percent, t
from itaudit.org.model import Organisation
from itaudit.report import render
from itaudit.report.figures import DepartmentSummary, ReportSet, UnitReport
from itaudit.report.indicators import IndicatorTable
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
INDICATOR_FORMATS = ("html", "md", "csv", "xlsx", "json", "docx")


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
    names = {u.id: u.name(lang) for u in org.units}
    items = [
        {
            "label": names.get(row.unit_id, row.unit_id),
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
        text = f"{value:.1f}"
        return text.replace(".", ",") if lang == "vi" else text
    if isinstance(value, int):
        return render.format_number(value, lang)
    return "—" if value is None else value


def _ratio_text(r: Any, lang: str) -> str:
    """ "7/8 (87,5 %)", or "—" when there is nothing to count."""
    if r is None or r.denominator == 0:
        return "—"
    return (
        f"{render.format_number(r.numerator, lang)}/{render.format_number(r.denominator, lang)}"
        f" ({format_percent(r.percent, lang)})"
    )


def _delta_text(n: int, lang: str) -> str:
    if n == 0:
        return "±0"
    return ("+" if n > 0 else "−") + render.format_number(abs(n), lang)


def unit_markdown(r: UnitReport, lang: str, org: Organisation) -> str:
    tables = {tb.key: _md_table(tb, lang) for tb in unit_tables(r, lang)}
    return render.render_markdown(
        "unit.md",
        lang,
        r=r,
        tables=tables,
        org_name=_org_name(org),
        ratio=lambda x: _ratio_text(x, lang),
        delta=lambda n: _delta_text(n, lang),
        **_helpers(lang, org),
    )


def department_markdown(d: DepartmentSummary, lang: str, org: Organisation) -> str:
    return render.render_markdown(
        "department.md",
        lang,
        d=d,
        units=_md_table(department_table(d, lang), lang),
        delta=lambda n: _delta_text(n, lang),
        **_helpers(lang, org),
    )


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, default=_json_default) + "\n"


def _xlsx_date(lang: str) -> str:
    """Dates as the reader writes them (format_date): dd/mm/yyyy in Vietnamese."""
    return "dd/mm/yyyy" if lang == "vi" else "yyyy-mm-dd"


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
        return render.write_xlsx(path, _sheets(unit_tables(r, lang)), date_format=_xlsx_date(lang))
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
            date_format=_xlsx_date(lang),
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


# -- the indicator table (Appendix I, section VI) ----------------------------------------------
def indicator_table(x: IndicatorTable, lang: str) -> Table:
    headers = (
        t("report.indicators.columns.number", lang),
        t("report.indicators.columns.title", lang),
        t("report.indicators.columns.target", lang),
        t("report.indicators.columns.result", lang),
        t("report.indicators.columns.evidence", lang),
        "key",
        "numerator",
        "denominator",
        "percent",
    )
    rows = tuple(
        (
            r.number,
            r.title.get(lang),
            r.target.get(lang),
            t("report.indicators.status." + r.status, lang),
            r.evidence.get(lang),
            r.key,
            r.ratio.numerator if r.ratio else None,
            r.ratio.denominator if r.ratio else None,
            r.ratio.percent if r.ratio else None,
        )
        for r in x.rows
    )
    return Table("indicators", t("report.indicators.title", lang), headers, rows)


def indicators_html(x: IndicatorTable, lang: str, org: Organisation) -> str:
    return render.render_html("indicators.html", lang, x=x, org_name=_org_name(org))


def indicators_docx(x: IndicatorTable, lang: str, org: Organisation) -> bytes:
    """The Appendix I layout: TT | Các chỉ tiêu | Chỉ tiêu | Kết quả thực hiện, under
    the section row "VI Bảo đảm an toàn thông tin", ready to paste into the report."""
    period = t(
        "report.indicators.period",
        lang,
        period=t("report.indicators.periods." + x.period, lang),
        year=x.year,
        start=render.format_date(x.start, lang),
        end=render.format_date(x.end, lang),
    )
    doc = render.docx_document(t("report.indicators.title", lang))
    render.docx_paragraph(doc, org.name_vi if lang == "vi" else org.name_en, italic=True)
    render.docx_paragraph(doc, period)
    if not x.complete:
        render.docx_paragraph(
            doc, t("report.indicators.period_open", lang, end=render.format_date(x.end, lang))
        )
    section = ("VI", t("report.indicators.section", lang), "", "")
    rows = [section] + [
        (
            r.number,
            r.title.get(lang),
            r.target.get(lang),
            t("report.indicators.status." + r.status, lang) + "\n" + r.evidence.get(lang),
        )
        for r in x.rows
    ]
    render.docx_table(
        doc,
        [
            t("report.indicators.columns.number", lang),
            t("report.indicators.columns.title", lang),
            t("report.indicators.columns.target", lang),
            t("report.indicators.columns.evidence", lang),
        ],
        rows,
        widths_mm=(12, 60, 28, 65),  # 165 mm: A4 less Decree 30 margins
        bold_rows=lambda row: row is section,
    )
    return render.docx_bytes(doc)


def indicators_markdown(x: IndicatorTable, lang: str) -> str:
    table = indicator_table(x, lang)
    return render.render_markdown(
        "indicators.md",
        lang,
        x=x,
        table=render.md_table(table.headers[:5], [row[:5] for row in table.rows], limit=1500),
    )


def write_indicators(x: IndicatorTable, fmt: str, lang: str, org: Organisation, out: Path) -> Path:
    path = out / "indicators" / f"{x.year}-{x.period}.{lang}.{fmt}"
    table = indicator_table(x, lang)
    if fmt == "html":
        return render.write_html(path, indicators_html(x, lang, org))
    if fmt == "md":
        return render.write_text(path, indicators_markdown(x, lang))
    if fmt == "json":
        return render.write_text(path, to_json(x.as_dict()))
    if fmt == "csv":
        return render.write_csv(path, table.headers, table.rows, limit=2000)
    if fmt == "xlsx":
        # Appendix I's section row heads the table, as in the plan.
        section = ("VI", t("report.indicators.section", lang)) + (None,) * (len(table.headers) - 2)
        return render.write_xlsx(
            path,
            [
                render.Sheet(
                    table.title,
                    table.headers,
                    (section, *table.rows),
                    widths=(5, 50, 14, 14, 80),
                )
            ],
            limit=2000,
        )
    if fmt == "docx":
        return render.write_bytes(path, indicators_docx(x, lang, org))
    raise ValueError(f"unknown indicator format {fmt!r}")

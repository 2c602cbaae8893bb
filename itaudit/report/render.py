"""Shared rendering: every HTML, Markdown, CSV, XLSX and DOCX file itaudit writes
goes through here, so the compliance reports and the holiday readiness notices
look alike and treat untrusted text the same way.

    from itaudit.report import render

    html = render.render_html("unit.html", lang, unit=figures)   # extends base.html
    render.write_html(path, html)
    md = render.render_markdown("unit.md", lang, unit=figures)
    render.write_csv(path, headers, rows)                        # UTF-8 BOM, formula-safe
    render.write_xlsx(path, [render.Sheet("Units", headers, rows)])
    doc = render.docx_document(title)
    render.docx_table(doc, headers, rows)
    render.save_docx(doc, path)

Everything a template shows that came from an agent, a scan or a register
(host names, software names, rule text) is untrusted: HTML templates escape it
(autoescape), every format bounds it (`clip`), CSV and XLSX never let a cell
become a formula, DOCX and XLSX drop the control characters their XML forbids.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from itaudit.errors import ItauditError
from itaudit.i18n import format_date, format_percent, t
from itaudit.safefile import write_file

# The longest any single value is shown; a 10 kB host name becomes this many
# characters and an ellipsis. Templates may clip shorter with `|clip(n)`.
MAX_TEXT = 500
ELLIPSIS = "…"

# Control characters XML 1.0 forbids (DOCX, XLSX) and that a terminal would
# interpret (Markdown): everything below 0x20 except tab and newline, and DEL.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# Spreadsheet formula triggers (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class RenderError(ItauditError):
    """A template is missing or broken, or an output file cannot be written."""


# -- text --------------------------------------------------------------------------------------
def clip(value: Any, limit: int = MAX_TEXT) -> str:
    """`value` as text of at most `limit` characters (control characters removed)."""
    text = _CONTROL.sub("", "" if value is None else str(value))
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + ELLIPSIS


def format_number(value: int | float | None, lang: str = "vi") -> str:
    """40.921 in Vietnamese (dot for thousands), 40,921 in English; one decimal for floats."""
    if value is None:
        return "—"
    text = (
        f"{value:,.1f}"
        if isinstance(value, float) and not value.is_integer()
        else f"{int(value):,}"
    )
    if lang == "vi":
        text = text.translate(str.maketrans(",.", ".,"))
    return text


def md_escape(value: Any, limit: int = MAX_TEXT) -> str:
    """Text safe inside a Markdown table cell or paragraph: clipped, one line, no markup."""
    text = clip(value, limit).replace("\r", " ").replace("\n", " ")
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"([\\`*_\[\]|#])", r"\\\1", text)


class MdSafe(str):
    """Markdown already built by a helper (a table): not escaped again."""


def csv_cell(value: Any, limit: int = MAX_TEXT) -> Any:
    """A CSV cell: numbers as they are, text clipped and never read as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return value
    text = clip(value, limit)
    return "'" + text if text.startswith(_FORMULA_START) else text


# -- Jinja2 environments -------------------------------------------------------------------------
def _finalize_html(value: Any) -> Any:
    # Markup is already escaped template output (a macro, an SVG): never clip it.
    if isinstance(value, str) and not isinstance(value, Markup):
        return clip(value)
    return "" if value is None else value


def _finalize_md(value: Any) -> Any:
    if isinstance(value, MdSafe):
        return value
    if isinstance(value, str):
        return md_escape(value)
    return "" if value is None else value


@cache
def environment(lang: str = "vi", kind: str = "html") -> jinja2.Environment:
    """The Jinja2 environment for `kind` ("html" or "md") in `lang`.

    Both load templates from `itaudit/report/templates/`, fail on an undefined
    variable, and clip every value they print to MAX_TEXT characters. HTML
    autoescapes; Markdown escapes markup characters. Globals: `t(key, **params)`
    and `lang`; filters: `date`, `percent`, `number`, `clip`, `md`, `tr` (a
    text in both languages shown in `lang`).
    """
    if kind not in ("html", "md"):
        raise ValueError(f"unknown template kind {kind!r}")
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("itaudit.report", "templates"),
        autoescape=kind == "html",
        undefined=jinja2.StrictUndefined,
        finalize=_finalize_html if kind == "html" else _finalize_md,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals.update(
        t=lambda key, **params: t(key, lang, **params),
        lang=lang,
    )
    env.filters.update(
        date=lambda d: format_date(d, lang),
        percent=lambda v, digits=1: format_percent(v, lang, digits),
        number=lambda v: format_number(v, lang),
        clip=clip,
        md=md_escape,
        # A text in both languages (profiles' Text, or {"vi": ..., "en": ...}) in `lang`.
        tr=lambda v: v.get(lang) if hasattr(v, "get") else v,
    )
    return env


def _render(kind: str, template: str, lang: str, context: dict[str, Any]) -> str:
    try:
        return environment(lang, kind).get_template(template).render(**context)
    except jinja2.TemplateNotFound as exc:
        raise RenderError(f"no template {template!r} in itaudit/report/templates") from exc
    except jinja2.TemplateError as exc:
        raise RenderError(f"template {template}: {exc}") from exc


def render_html(template: str, lang: str = "vi", **context: Any) -> str:
    """Render an HTML template (usually one that extends `base.html`)."""
    return _render("html", template, lang, context)


def render_markdown(template: str, lang: str = "vi", **context: Any) -> str:
    """Render a Markdown template; values print escaped (wrap built Markdown in MdSafe)."""
    return _render("md", template, lang, context)


def md_table(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], limit: int = MAX_TEXT
) -> MdSafe:
    """A GitHub-style Markdown table; every cell escaped and clipped."""
    lines = [
        "| " + " | ".join(md_escape(h) for h in headers) + " |",
        "|" + "|".join(" --- " for _ in headers) + "|",
    ]
    for row in rows:
        lines.append("| " + " | ".join(md_escape(c, limit) for c in row) + " |")
    return MdSafe("\n".join(lines) + "\n")


# -- writing files ---------------------------------------------------------------------------------
def write_bytes(path: Path, data: bytes) -> Path:
    """Write a whole file at once (temporary file, then rename): a reader never sees half.
    A device, pipe or socket is written to directly, never replaced (itaudit.safefile)."""
    path = Path(path)
    try:
        return write_file(path, data)
    except OSError as exc:
        raise RenderError(f"cannot write {path}: {exc.strerror or exc}") from exc


def write_text(path: Path, text: str, bom: bool = False) -> Path:
    return write_bytes(path, ("\ufeff" if bom else "").encode() + text.encode("utf-8"))


def write_html(path: Path, html: str) -> Path:
    """A self-contained HTML file in UTF-8 (templates carry their CSS and SVG inline)."""
    return write_text(path, html)


def csv_text(headers: Sequence[str], rows: Iterable[Sequence[Any]], limit: int = MAX_TEXT) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([csv_cell(h) for h in headers])
    for row in rows:
        writer.writerow([csv_cell(c, limit) for c in row])
    return buffer.getvalue()


def write_csv(
    path: Path, headers: Sequence[str], rows: Iterable[Sequence[Any]], limit: int = MAX_TEXT
) -> Path:
    """CSV in UTF-8 with a BOM (so Excel shows Vietnamese), CRLF, formula-safe cells."""
    return write_text(path, csv_text(headers, rows, limit), bom=True)


@dataclass(frozen=True)
class Sheet:
    """One XLSX worksheet: a title (≤ 31 characters), a header row and rows."""

    title: str
    headers: tuple[str, ...] | list[str]
    rows: Sequence[Sequence[Any]]
    widths: tuple[int, ...] | None = None


def _xlsx_value(value: Any, limit: int) -> Any:
    if value is None:
        return None
    if isinstance(value, bool | int | float | date | datetime):
        return value
    return clip(value, limit)


def xlsx_bytes(
    sheets: Sequence[Sheet], limit: int = MAX_TEXT, date_format: str | None = None
) -> bytes:
    """The workbook; `date_format` ("dd/mm/yyyy" for Vietnamese readers) is how
    date cells show, which stay dates Excel can sort and filter."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    # Write-only mode streams rows: a 20,000-machine sheet in seconds, not minutes.
    wb = Workbook(write_only=True)
    used: set[str] = set()
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    for sheet in sheets:
        title = re.sub(r"[\[\]:*?/\\]", " ", sheet.title)[:31] or "Sheet"
        while title in used:
            title = title[:28] + f"~{len(used)}"
        used.add(title)
        ws = wb.create_sheet(title)
        ws.freeze_panes = "A2"
        for i, header in enumerate(sheet.headers, start=1):
            width = sheet.widths[i - 1] if sheet.widths and i <= len(sheet.widths) else None
            ws.column_dimensions[get_column_letter(i)].width = width or min(
                max(len(str(header)) + 2, 10), 40
            )
        header_cells = []
        for h in sheet.headers:
            cell = WriteOnlyCell(ws, value=clip(h, 100))
            cell.font, cell.alignment = bold, wrap
            header_cells.append(cell)
        ws.append(header_cells)
        for row in sheet.rows:
            values: list[Any] = []
            for v in row:
                value = _xlsx_value(v, limit)
                if isinstance(value, str) and value.startswith("="):
                    # openpyxl would store it as a formula: keep it text.
                    cell = WriteOnlyCell(ws, value=value)
                    cell.data_type = "s"
                    values.append(cell)
                elif date_format and isinstance(value, date | datetime):
                    cell = WriteOnlyCell(ws, value=value)
                    cell.number_format = date_format
                    values.append(cell)
                else:
                    values.append(value)
            ws.append(values)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def write_xlsx(
    path: Path, sheets: Sequence[Sheet], limit: int = MAX_TEXT, date_format: str | None = None
) -> Path:
    """An XLSX workbook with one sheet per table: bold frozen header, text never a formula."""
    return write_bytes(path, xlsx_bytes(sheets, limit, date_format))


# -- DOCX -----------------------------------------------------------------------------------------
def docx_document(title: str | None = None, font: str = "Times New Roman", size: int = 13) -> Any:
    """A python-docx Document in the department's usual face (Times New Roman 13),
    A4 portrait, with `title` as its first heading."""
    from docx import Document
    from docx.shared import Mm, Pt

    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = font
    style.font.size = Pt(size)
    for section in doc.sections:
        section.page_width, section.page_height = Mm(210), Mm(297)
        # Decree 30/2020/NĐ-CP, Appendix I: top and bottom 20-25 mm, left 30-35 mm
        # (the binding edge), right 15-20 mm.
        section.left_margin = Mm(30)
        section.right_margin = Mm(15)
        section.top_margin = section.bottom_margin = Mm(20)
    if title:
        docx_heading(doc, title, 0)
    return doc


def docx_heading(doc: Any, text: str, level: int = 1) -> Any:
    return doc.add_heading(clip(text, 500), level)


def docx_paragraph(doc: Any, text: str, bold: bool = False, italic: bool = False) -> Any:
    paragraph = doc.add_paragraph()
    run = paragraph.add_run(clip(text, 2000))
    run.bold, run.italic = bold, italic
    return paragraph


def docx_table(
    doc: Any,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    widths_mm: Sequence[float] | None = None,
    bold_rows: Callable[[Sequence[Any]], bool] | None = None,
    limit: int = 2000,
) -> Any:
    """A bordered table ("Table Grid") with a bold, repeated header row.

    `bold_rows(row)` marks rows shown in bold (section rows, totals).
    """
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Mm

    table = doc.add_table(rows=1, cols=len(headers))
    table.style = "Table Grid"
    header = table.rows[0]
    # Repeat the header on every page of a long table.
    trpr = header._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    trpr.append(repeat)
    for cell, text in zip(header.cells, headers, strict=True):
        cell.text = ""
        cell.paragraphs[0].add_run(clip(text, 200)).bold = True
    for row in rows:
        cells = table.add_row().cells
        bold = bool(bold_rows and bold_rows(row))
        for cell, value in zip(cells, row, strict=False):
            lines = clip("" if value is None else value, limit).split("\n")
            paragraph = cell.paragraphs[0]
            for i, line in enumerate(lines):
                run = paragraph.add_run(line)
                run.bold = bold
                if i < len(lines) - 1:
                    run.add_break()
    if widths_mm:
        for row in table.rows:
            for cell, width in zip(row.cells, widths_mm, strict=False):
                cell.width = Mm(width)
    return table


def docx_bytes(doc: Any) -> bytes:
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def save_docx(doc: Any, path: Path) -> Path:
    return write_bytes(path, docx_bytes(doc))

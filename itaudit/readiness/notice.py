"""The draft notice the incident-response team sends before a holiday.

The usual form of such a letter (công văn): the issuing body and the national
motto side by side, the number left blank (`Số: .../SLĐTBXH-VP`), place and
date, the subject line (`V/v tăng cường bảo đảm an toàn thông tin mạng trong dịp
nghỉ lễ ...`), the addressees, the requests ministry letters make before every
holiday (24/7 duty, patches per official alerts, malware hunting on all servers
and workstations, the anti-malware and monitoring consoles, backups, the
incident plan ready with fast restore), then what readiness measured: the
blockers per unit and the duty roster; recipients and a signature block left for
the team lead. Written as DOCX and Markdown for the team to edit and sign.

Every word comes from the catalogue (`readiness.notice.*`); every value that
came from a register, an agent or a scan goes through the shared renderer's
escaping and bounding (`itaudit.report.render`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from itaudit.i18n import format_date, t
from itaudit.org.model import Organisation
from itaudit.readiness.evaluate import Readiness, tn
from itaudit.readiness.view import roster_rows, subject_label

REQUESTS = ("duty", "patches", "hunting", "consoles", "backups", "plan")
# Decree 30/2020/NĐ-CP letters sub-points in the Vietnamese alphabet: no f, j, w, z.
VI_LETTERS = (
    "a",
    "b",
    "c",
    "d",
    "đ",
    "e",
    "g",
    "h",
    "i",
    "k",
    "l",
    "m",
    "n",
    "o",
    "p",
    "q",
    "r",
    "s",
    "t",
    "u",
    "v",
    "x",
    "y",
)


def sub_point(index: int) -> str:
    """The letter of the `index`-th sub-point (0-based): a, b, c, d, đ, e, g, ...;
    past y, doubled (aa, bb, ...) rather than borrowing a letter Vietnamese lacks."""
    n = len(VI_LETTERS)
    return VI_LETTERS[index % n] * (index // n + 1)


_UNKNOWN = "......"


@dataclass(frozen=True)
class UnitFindings:
    name: str
    ok: bool
    ok_text: str  # "<unit>: meets the whole checklist."
    rows: tuple[tuple[str, str, str, str], ...]  # machine, problem, owner, remediation


@dataclass(frozen=True)
class Notice:
    """The letter's parts, in one language, ready for DOCX or Markdown."""

    authority: str | None  # the body above the issuer (UBND TỈNH ...), when known
    issuer: str
    number: str
    country: str
    motto: str
    place_date: str
    subject: str
    to: str
    addressees: tuple[str, ...]
    intro: str
    requests: tuple[str, ...]
    findings_title: str
    findings_intro: str
    units: tuple[UnitFindings, ...]
    team_rows: tuple[tuple[str, str, str, str], ...]  # item, problem, owner, remediation
    team_title: str
    contacts: str
    roster_title: str
    roster_rows: tuple[tuple[str, ...], ...]
    no_roster: str  # in place of the roster table when no shift falls in the holiday
    closing: str
    recipients: str
    recipients_list: tuple[str, ...]
    signer: tuple[str, ...]  # TL. GIÁM ĐỐC / CHÁNH VĂN PHÒNG SỞ
    sign_here: str
    signer_name: str
    draft: str
    headers: dict[str, tuple[str, ...]]  # table headers: findings, team, roster


def _issuer(org: Organisation, lang: str) -> tuple[str | None, str, str]:
    """(authority above, issuer, place) from the organisation's name.

    "Sở Lao động - Thương binh và Xã hội tỉnh Thanh Hóa" gives
    ("UBND TỈNH THANH HÓA", "SỞ LAO ĐỘNG - THƯƠNG BINH VÀ XÃ HỘI", "Thanh Hóa").
    """
    if lang != "vi":
        return None, org.name_en.upper(), _UNKNOWN
    match = re.match(r"^(.*?)\s+(tỉnh|thành phố)\s+(.+)$", org.name_vi.strip(), re.IGNORECASE)
    if not match:
        return None, org.name_vi.upper(), _UNKNOWN
    kind = "TỈNH" if match.group(2).lower() == "tỉnh" else "THÀNH PHỐ"
    place = match.group(3).strip()
    return f"UBND {kind} {place.upper()}", match.group(1).upper(), place


def _code(org: Organisation) -> str:
    """The issuer's abbreviation (SLĐTBXH) from the team's decision number, if it shows one."""
    decision = org.team.decision if org.team else None
    found = re.search(r"/QĐ-([^\s,;]+)", decision or "")
    return found.group(1) if found else _UNKNOWN


def _place_date(place: str, day: date, lang: str) -> str:
    # Government style: days 1-9 and months 1-2 take a leading zero.
    d = f"{day.day:02d}" if day.day < 10 else str(day.day)
    m = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return t("readiness.notice.place_date", lang, place=place, day=d, month=m, year=day.year)


def build_notice(r: Readiness, org: Organisation, lang: str = "vi") -> Notice:
    """The parts of the notice for readiness `r`."""

    def N(key: str, **params: Any) -> str:
        return t(f"readiness.notice.{key}", lang, **params)

    def L(key: str) -> str:
        return t(f"readiness.label.{key}", lang)

    h = r.holiday
    authority, issuer, place = _issuer(org, lang)
    # Who the letter asks: every office and unit, or the one unit of --unit.
    whom = N("whom_unit" if r.unit else "whom_all")
    verdict = t(f"readiness.verdict.{r.verdict}", lang)
    org_name = org.name_vi if lang == "vi" else org.name_en
    if not r.blockers:
        findings_intro = N(
            "findings_none", today=format_date(r.today, lang), verdict=verdict, whom=whom
        )
    elif r.run_id is None:
        findings_intro = N(
            "findings_intro_no_run",
            today=format_date(r.today, lang),
            verdict=verdict,
            start=format_date(h.start, lang),
            whom=whom,
        )
    else:
        findings_intro = N(
            "findings_intro",
            today=format_date(r.today, lang),
            run=r.run_id,
            checked=format_date(r.checked_at, lang),
            verdict=verdict,
            start=format_date(h.start, lang),
            whom=whom,
        )
    units = tuple(
        UnitFindings(
            u.name.get(lang),
            not u.blockers,
            N("unit_ok", unit=u.name.get(lang)),
            tuple(
                (
                    subject_label(b, lang) or "—",
                    b.problem.get(lang),
                    b.owner or "—",
                    b.remediation.get(lang),
                )
                for b in u.blockers
            ),
        )
        for u in r.units
    )
    team_rows = tuple(
        (
            t(f"readiness.item.{b.item}", lang),
            b.problem.get(lang),
            b.owner or "—",
            b.remediation.get(lang),
        )
        for b in r.team
    )
    lead, deputy = r.lead, r.deputy

    def person(m: Any) -> str:
        if m is None:
            return "—"
        return f"{m.name} ({m.phone})" if m.phone else m.name

    signer_title = (lead.title or "").upper() if lead and lead.title else None
    return Notice(
        authority=authority,
        issuer=issuer,
        number=N("number", code=_code(org)),
        country=N("country"),
        motto=N("motto"),
        place_date=_place_date(place, r.today, lang),
        subject=N("subject", holiday=h.name(lang), year=h.start.year),
        to=N("to"),
        # A notice for one unit (--unit) goes to that unit only.
        addressees=tuple(f"{u.name.get(lang)}." for u in r.units if u.unit == r.unit)
        if r.unit
        else (N("to_offices"), N("to_units")),
        intro=N(
            "intro",
            holiday=h.name(lang),
            start=format_date(h.start, lang),
            end=format_date(h.end, lang),
            # "(03 ngày, từ ... đến ...)": administrative style pads a count below 10.
            days=t("readiness.label.days", lang, n=f"{h.days:02d}")
            if lang == "vi"
            else tn("readiness.label.days", lang, n=h.days),
            org=org_name,
            whom=whom,
        ),
        requests=tuple(N(f"request_{k}") for k in REQUESTS),
        findings_title=N("findings_title"),
        findings_intro=findings_intro,
        units=units,
        team_rows=team_rows,
        team_title=N("team_title"),
        contacts=N(
            "contacts",
            lead_title=L("lead"),
            lead=person(lead),
            deputy_title=L("deputy"),
            deputy=person(deputy),
        ),
        roster_title=N("roster_title"),
        roster_rows=tuple(tuple(row) for row in roster_rows(r, lang)),
        no_roster=L("no_roster"),
        closing=N("closing", office=N("office"), whom=whom),
        recipients=N("recipients"),
        recipients_list=tuple(N("recipients_list").splitlines()),
        # Decree 30/2020/NĐ-CP: a letter of the Department signed on the Director's
        # behalf reads "TL. GIÁM ĐỐC" over the signer's own post; a lead with no
        # recorded post signs as the team's lead.
        signer=(N("signer_on_behalf"), signer_title) if signer_title else (N("signer_role"),),
        sign_here=N("sign_here"),
        signer_name=lead.name if lead else "",
        draft=N("draft", today=format_date(r.today, lang)),
        headers={
            "findings": (L("machine"), L("problem"), L("owner"), L("remediation")),
            "team": (L("item"), L("problem"), L("owner"), L("remediation")),
            "roster": (L("date"), L("hours"), L("person"), L("phone")),
        },
    )


# -- DOCX ----------------------------------------------------------------------------------------
def notice_docx(n: Notice) -> bytes:
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm, Pt

    from itaudit.report import render

    doc = render.docx_document(None)
    # Tables fill the text width: A4 210 mm less the margins (30 left, 15 right) = 165 mm.
    center, justify = WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.JUSTIFY

    def cell_lines(cell: Any, lines: list[tuple[str, bool, bool]]) -> None:
        cell.text = ""
        for i, (text, bold, italic) in enumerate(lines):
            paragraph = cell.paragraphs[0] if i == 0 else cell.add_paragraph()
            paragraph.alignment = center
            run = paragraph.add_run(render.clip(text, 300))
            run.bold, run.italic = bold, italic

    # The heading block: issuer and number on the left, the national motto on the right.
    head = doc.add_table(rows=1, cols=2)
    head.alignment = WD_TABLE_ALIGNMENT.CENTER
    left = [(n.authority, False, False)] if n.authority else []
    left += [(n.issuer, True, False), (n.number, False, False), (n.subject, False, True)]
    cell_lines(head.rows[0].cells[0], left)
    cell_lines(
        head.rows[0].cells[1],
        [(n.country, True, False), (n.motto, True, False), (n.place_date, False, True)],
    )
    for cell, width in zip(head.rows[0].cells, (Mm(70), Mm(95)), strict=True):
        cell.width = width

    to = doc.add_paragraph()
    to.alignment = center
    to.add_run(n.to).italic = True
    if len(n.addressees) == 1:  # one addressee stays on the line of "Kính gửi:"
        to.add_run(f" {render.clip(n.addressees[0], 300)}")
    for line in n.addressees if len(n.addressees) > 1 else ():
        to.add_run().add_break()
        to.add_run(f"- {render.clip(line, 300)}")

    def para(text: str, bold: bool = False, italic: bool = False) -> Any:
        p = render.docx_paragraph(doc, text, bold=bold, italic=italic)
        p.alignment = justify
        p.paragraph_format.first_line_indent = Mm(10)
        return p

    para(n.intro)
    for i, request in enumerate(n.requests, start=1):
        para(f"{i}. {request}")
    para(f"{len(n.requests) + 1}. {n.findings_title}", bold=True)
    para(n.findings_intro)
    for index, u in enumerate(n.units):
        letter = sub_point(index)
        if u.ok:
            para(f"{letter}) {u.ok_text}")
            continue
        para(f"{letter}) {u.name}", bold=True)
        render.docx_table(doc, n.headers["findings"], u.rows, widths_mm=(32, 60, 32, 41))
    para(f"{len(n.requests) + 2}. {n.team_title}", bold=True)
    para(n.contacts)
    if n.team_rows:
        render.docx_table(doc, n.headers["team"], n.team_rows, widths_mm=(32, 58, 34, 41))
    para(n.roster_title, italic=True)
    if n.roster_rows:
        render.docx_table(doc, n.headers["roster"], n.roster_rows, widths_mm=(27, 27, 74, 37))
    else:
        para(n.no_roster)
    para(n.closing)

    # Recipients on the left, the signature block for the team lead on the right.
    foot = doc.add_table(rows=1, cols=2)
    rec = foot.rows[0].cells[0]
    rec.text = ""
    first = rec.paragraphs[0]
    first.add_run(n.recipients).bold = True
    for line in n.recipients_list:
        run = rec.add_paragraph().add_run(line)
        run.font.size = Pt(11)
    cell_lines(
        foot.rows[0].cells[1],
        [(line, True, False) for line in n.signer]
        + [(n.sign_here, False, True), ("", False, False), ("", False, False)]
        + [(n.signer_name, True, False)],
    )
    note = doc.add_paragraph()
    note.add_run(render.clip(n.draft, 500)).italic = True
    return render.docx_bytes(doc)


# -- Markdown ------------------------------------------------------------------------------------
def notice_markdown(n: Notice, lang: str) -> str:
    from itaudit.report import render

    tables = {
        "units": [
            render.md_table(n.headers["findings"], u.rows) if not u.ok else None for u in n.units
        ],
        "team": render.md_table(n.headers["team"], n.team_rows) if n.team_rows else None,
        "roster": render.md_table(n.headers["roster"], n.roster_rows) if n.roster_rows else None,
    }
    # The letter's paragraphs are longer than the renderer's default bound for a value.
    paragraphs = {
        "intro": render.MdSafe(render.md_escape(n.intro, 3000)),
        "findings_intro": render.MdSafe(render.md_escape(n.findings_intro, 3000)),
        "closing": render.MdSafe(render.md_escape(n.closing, 3000)),
        "requests": [render.MdSafe(render.md_escape(r, 3000)) for r in n.requests],
    }
    return render.render_markdown(
        "readiness-notice.md",
        lang,
        n=n,
        tables=tables,
        paragraphs=paragraphs,
        letters=[sub_point(i) for i in range(len(n.units))],
    )


def notice_paths(folder: Path, stem: str) -> tuple[Path, Path]:
    """Where write_notice puts the notice: `<stem>-notice.docx` and `.md` in `folder`."""
    return folder / f"{stem}-notice.docx", folder / f"{stem}-notice.md"


def write_notice(
    r: Readiness, org: Organisation, folder: Path, lang: str = "vi", stem: str | None = None
) -> list[Path]:
    """Write the notice as `<stem>-notice.docx` and `.md` into `folder`; return the paths."""
    from itaudit.report import render

    n = build_notice(r, org, lang)
    docx_path, md_path = notice_paths(folder, stem or f"readiness-{r.holiday.ident()}")
    return [
        render.write_bytes(docx_path, notice_docx(n)),
        render.write_text(md_path, notice_markdown(n, lang)),
    ]

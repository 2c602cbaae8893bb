"""Readiness as the team reads it: the terminal text, JSON, Markdown and HTML.

Every format shows the same `Readiness` (computed once by `evaluate.py`);
Markdown and HTML go through the shared renderer (`itaudit.report.render`) and
the templates `readiness.md` / `readiness.html`. No format re-counts anything.
"""

from __future__ import annotations

from typing import Any

from itaudit.i18n import format_date, t
from itaudit.readiness.evaluate import Blocker, Readiness, tn
from itaudit.readiness.roster import Shift


def subject_label(b: Blocker, lang: str) -> str:
    """How a blocker's subject is named: machine (with its tag), device, date, person."""
    if b.subject is None:
        return t("readiness.label.unit_itself", lang) if b.unit else ""
    if b.item == "roster" and len(b.subject) == 10 and b.subject[4] == "-":
        from datetime import date

        try:
            return format_date(date.fromisoformat(b.subject), lang)
        except ValueError:
            return b.subject
    if b.asset_tag and b.asset_tag != b.subject:
        return f"{b.subject} ({b.asset_tag})"
    return b.subject


def span_text(r: Readiness, lang: str) -> str:
    h = r.holiday
    days = tn("readiness.label.days", lang, n=h.days)
    if h.start == h.end:
        return f"{format_date(h.start, lang)} ({days})"
    return f"{format_date(h.start, lang)} – {format_date(h.end, lang)} ({days})"


def verdict_text(verdict: str, lang: str) -> str:
    """CHƯA SẴN SÀNG (NO-GO) in Vietnamese; NO-GO alone where the word is the code."""
    word = t(f"readiness.verdict.{verdict}", lang)
    return word if word == verdict else f"{word} ({verdict})"


def remaining_text(r: Readiness, lang: str) -> str:
    if r.under_way:
        return t("readiness.label.under_way", lang)
    return tn("readiness.label.remaining_days", lang, n=r.days_remaining)


def run_text(r: Readiness, lang: str) -> str:
    if r.run_id is None:
        return t("readiness.label.run_none", lang)
    return f"#{r.run_id}, {format_date(r.checked_at, lang)}"


def shifts(r: Readiness) -> list[Shift]:
    """The roster's shifts during the holiday, in time order."""
    if r.roster is None:
        return []
    return r.roster.during(r.holiday.start, r.holiday.end)


def roster_rows(r: Readiness, lang: str) -> list[list[str]]:
    """Date, hours, person (and title), phone: the notice's and the reports' roster table."""
    rows = []
    for s in shifts(r):
        person = f"{s.name} ({s.title})" if s.title else s.name
        rows.append(
            [
                format_date(s.start, lang),
                s.hours,
                person,
                s.phone or t("readiness.label.no_phone", lang),
            ]
        )
    return rows


def contact(member: Any) -> str:
    if member is None:
        return "—"
    return f"{member.name} ({member.phone})" if member.phone else member.name


def as_json(r: Readiness) -> dict[str, Any]:
    """Everything, in both languages where there are words."""
    h = r.holiday
    return {
        "holiday": {
            "id": h.ident(),
            "key": h.key,
            "name": {"vi": h.name_vi, "en": h.name_en},
            "start": h.start.isoformat(),
            "end": h.end.isoformat(),
            "days": h.days,
            "official": [s.day.isoformat() for s in h.official],
        },
        "today": r.today.isoformat(),
        "days_remaining": r.days_remaining,
        "under_way": r.under_way,
        "scope": r.unit,
        "check_run": {
            "id": r.run_id,
            "checked_at": r.checked_at.isoformat() if r.checked_at else None,
        },
        "verdict": r.verdict,
        "blockers": len(r.blockers),
        "checklist": [
            {
                "item": i.key,
                "title": {"vi": i.title("vi"), "en": i.title("en")},
                "state": i.state,
                "checked": i.checked,
                "blockers": i.blockers,
                "detail": i.detail.as_dict(),
            }
            for i in r.items
        ],
        "units": [
            {
                "unit": u.unit,
                "name": u.name.as_dict(),
                "verdict": u.verdict,
                "machines": u.machines,
                "could_not_check": u.unknown,
                "blockers": [b.as_json() for b in u.blockers],
            }
            for u in r.units
        ],
        "team": {
            "lead": contact(r.lead) if r.lead else None,
            "deputy": contact(r.deputy) if r.deputy else None,
            "blockers": [b.as_json() for b in r.team],
            "roster": {
                "source": r.roster.source if r.roster else None,
                "shifts": [
                    {
                        "start": s.start.isoformat(timespec="minutes"),
                        "end": s.end.isoformat(timespec="minutes"),
                        "name": s.name,
                        "member": s.member_id,
                        "title": s.title,
                        "phone": s.phone,
                    }
                    for s in shifts(r)
                ],
            },
        },
    }


def text_report(r: Readiness, lang: str) -> str:
    """The terminal view: the holiday, the verdict, the checklist, then every blocker."""
    from tabulate import tabulate

    from itaudit.report.render import clip

    def L(key: str, **params: Any) -> str:
        return t(f"readiness.label.{key}", lang, **params)

    lines = [
        f"{L('holiday')}: {r.holiday.name(lang)} [{r.holiday.ident()}]",
        f"{L('span')}: {span_text(r, lang)}; {L('remaining')}: {remaining_text(r, lang)}",
        f"{L('today')}: {format_date(r.today, lang)}; {L('run')}: {run_text(r, lang)}",
        f"{L('verdict')}: {verdict_text(r.verdict, lang)}, {L('blockers').lower()}: "
        f"{len(r.blockers)}",
        "",
    ]
    checklist = [
        [
            i.title(lang),
            t(f"readiness.state.{i.state}", lang),
            i.blockers or "",
            i.detail.get(lang),
        ]
        for i in r.items
    ]
    lines.append(
        tabulate(
            checklist,
            headers=[L("item"), L("state"), L("blockers"), L("detail")],
            tablefmt="simple",
            disable_numparse=True,
        )
    )

    def block(b: Blocker, indent: str) -> list[str]:
        problem = b.problem.get(lang)
        rule = f" [{b.rule}]" if b.rule and b.rule not in problem else ""
        out = [f"{indent}- {clip(problem, 300)}{rule}"]
        out.append(f"{indent}  {L('remediation')}: {clip(b.remediation.get(lang), 400)}")
        return out

    for u in r.units:
        if r.unit is not None and u.unit != r.unit:
            continue
        verdict = t(f"readiness.verdict.{u.verdict}", lang)
        lines += ["", f"== {u.name.get(lang)} ({u.unit or '—'}): {verdict}"]
        for _subject, blockers in u.by_subject():
            first = blockers[0]
            owner = f" — {L('owner')}: {clip(first.owner, 120)}" if first.owner else ""
            lines.append(f"  {clip(subject_label(first, lang), 120)}{owner}")
            for b in blockers:
                lines += block(b, "    ")
    lines += [
        "",
        f"== {L('team')}: {L('lead')} {contact(r.lead)}; {L('deputy')} {contact(r.deputy)}",
    ]
    if not r.team:
        lines.append(f"  {L('none')}")
    for b in r.team:
        label = subject_label(b, lang)
        lines.append(f"  {t('readiness.item.' + b.item, lang)}{': ' + label if label else ''}")
        lines += block(b, "    ")
    rows = roster_rows(r, lang)
    if rows:
        lines += ["", f"{L('roster')}:"]
        lines.append(
            tabulate(
                [[clip(c, 120) for c in row] for row in rows],
                headers=[L("date"), L("hours"), L("person"), L("phone")],
                tablefmt="simple",
                disable_numparse=True,
            )
        )
    return "\n".join(lines)


def _context(r: Readiness, lang: str) -> dict[str, Any]:
    return {
        "r": r,
        "span": span_text(r, lang),
        "remaining": remaining_text(r, lang),
        "run": run_text(r, lang),
        "label": lambda b: subject_label(b, lang),
        "roster_rows": roster_rows(r, lang),
        "lead": contact(r.lead),
        "deputy": contact(r.deputy),
        "verdict": verdict_text(r.verdict, lang),
    }


def render_markdown(r: Readiness, lang: str) -> str:
    from itaudit.report import render

    ctx = _context(r, lang)
    L = lambda key: t(f"readiness.label.{key}", lang)  # noqa: E731
    ctx["checklist_table"] = render.md_table(
        [L("item"), L("state"), L("blockers"), L("detail")],
        [
            [i.title(lang), t(f"readiness.state.{i.state}", lang), i.blockers, i.detail.get(lang)]
            for i in r.items
        ],
    )
    ctx["units_table"] = render.md_table(
        [L("unit"), L("machines"), L("verdict"), L("blockers"), t("report.status.error", lang)],
        [
            [
                u.name.get(lang),
                u.machines,
                t(f"readiness.verdict.{u.verdict}", lang),
                len(u.blockers),
                u.unknown,
            ]
            for u in r.units
        ],
    )
    ctx["unit_tables"] = {
        u.unit: render.md_table(
            [L("machine"), L("problem"), L("owner"), L("remediation")],
            [
                [
                    subject_label(b, lang),
                    b.problem.get(lang),
                    b.owner or "—",
                    b.remediation.get(lang),
                ]
                for b in u.blockers
            ],
        )
        for u in r.units
        if u.blockers
    }
    ctx["team_table"] = render.md_table(
        [L("item"), L("problem"), L("owner"), L("remediation")],
        [
            [
                t(f"readiness.item.{b.item}", lang),
                b.problem.get(lang),
                b.owner or "—",
                b.remediation.get(lang),
            ]
            for b in r.team
        ],
    )
    ctx["roster_table"] = render.md_table(
        [L("date"), L("hours"), L("person"), L("phone")], ctx["roster_rows"]
    )
    return render.render_markdown("readiness.md", lang, **ctx)


def render_html(r: Readiness, lang: str) -> str:
    from itaudit.report import render

    return render.render_html("readiness.html", lang, **_context(r, lang))

"""The reports' tables as header + rows of plain values, for CSV, XLSX and Markdown.

Values stay numbers (counts, percents with one decimal) and dates; the writers
format or store them. Every table is built from the figures, never from the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from itaudit.i18n import format_percent, t
from itaudit.ratios import Discrepancy, RatiosReport, UnitRatios
from itaudit.report.figures import DepartmentSummary, UnitReport
from itaudit.scan.reconcile import type_name


@dataclass(frozen=True)
class Table:
    key: str  # sheet / file name part
    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


def _day(moment: datetime | date | None) -> date | None:
    if isinstance(moment, datetime):
        return moment.date()
    return moment


def item_name(item: str, lang: str) -> str:
    if item in ("workstations", "servers"):
        return t(f"report.items.{item}", lang)
    return type_name(item, lang)


def discrepancy_text(d: Discrepancy, lang: str) -> str:
    """One discrepancy in words: "Sổ tài sản ghi 4 máy chiếu; quét mạng thấy 5"."""
    if d.kind == "register-vs-scan":
        text = t(
            "report.discrepancies.scan",
            lang,
            register=d.register,
            item=item_name(d.item, lang),
            scan=d.scan,
        )
    else:
        text = t(
            "report.discrepancies.agents",
            lang,
            register=d.register,
            item=item_name(d.item, lang),
            agents=d.agents,
        )
    parts = [
        t(f"report.discrepancies.{key}", lang, names=_some(names))
        for key, names in (
            ("unregistered", d.unregistered),
            ("never_reported", d.never_reported),
        )
        if names
    ]
    if not parts and d.names:
        parts = [t("report.discrepancies.names", lang, names=_some(d.names))]
    if parts:
        text += " (" + "; ".join(parts) + ")"
    return text


def _some(names: Sequence[str], limit: int = 10) -> str:
    return ", ".join(names[:limit]) + (", …" if len(names) > limit else "")


def department_table(d: DepartmentSummary, lang: str) -> Table:
    days = ", ".join(str(x) for x in d.patch_days) or "—"
    headers = (
        t("report.columns.unit", lang),
        "id",
        t("report.columns.machines", lang),
        t("report.columns.staff", lang),
        t("report.ratios.workstations", lang),
        t("report.columns.machines_per_staff", lang) + " (%)",
        t("report.columns.antivirus", lang) + " (%)",
        t("report.columns.edr", lang) + " (%)",
        t("report.columns.patched", lang, days=days) + " (%)",
        t("report.columns.compliant", lang),
        t("report.columns.compliant", lang) + " (%)",
        t("report.status.fail", lang),
        t("report.status.error", lang),
        t("report.columns.unknown_lan", lang),
        t("report.columns.forbidden_lan", lang),
        t("report.columns.last_scan", lang),
        t("report.columns.last_check", lang),
        t("report.columns.change", lang) + ": " + t("report.columns.compliant", lang),
        t("report.columns.change", lang) + ": " + t("report.status.fail", lang),
    )
    rows = []
    for row in (*d.rows, d.total):
        q = row.ratios
        rows.append(
            (
                row.name.get(lang),
                row.unit_id or None,
                row.machines,
                q.staff,
                q.counts.workstations,
                q.machines_per_staff.percent,
                q.antivirus.percent,
                q.edr.percent,
                q.patched.percent,
                row.compliant.numerator,
                row.compliant.percent,
                row.failed,
                row.errors,
                q.unknown_lan,
                q.forbidden_lan,
                _day(q.last_scan),
                _day(row.last_check),
                row.change.compliant_delta if row.change else None,
                row.change.failed_delta if row.change else None,
            )
        )
    return Table("units", t("report.department.table", lang), headers, tuple(rows))


def discrepancy_table(items: Sequence[Any], lang: str, unit_names: dict[str, str]) -> Table:
    headers = (
        t("report.columns.unit", lang),
        "item",
        "register",
        "agents",
        "scan",
        t("report.discrepancies.title", lang),
    )
    rows = tuple(
        (
            unit_names.get(x.unit, x.unit),
            x.item,
            x.register,
            x.agents,
            x.scan,
            discrepancy_text(x, lang),
        )
        for x in items
    )
    return Table("discrepancies", t("report.discrepancies.title", lang), headers, rows)


def ratios_table(report: RatiosReport, lang: str, unit_names: dict[str, str]) -> Table:
    headers = (
        t("report.columns.unit", lang),
        "id",
        t("report.columns.staff", lang),
        t("report.ratios.workstations", lang),
        t("report.ratios.laptops", lang),
        t("report.ratios.servers", lang),
        t("report.ratios.servers_onsite", lang),
        t("report.ratios.machines_per_staff", lang) + " (%)",
        t("report.ratios.antivirus", lang),
        t("report.ratios.antivirus", lang) + " (%)",
        t("report.ratios.edr", lang),
        t("report.ratios.edr", lang) + " (%)",
        t("report.ratios.lan", lang),
        t("report.ratios.lan", lang) + " (%)",
        t("report.ratios.reporting", lang),
        t("report.ratios.reporting", lang) + " (%)",
    )

    def frac(r: Any) -> str | None:
        return None if r is None or r.denominator == 0 else f"{r.numerator}/{r.denominator}"

    def line(u: UnitRatios, name: str) -> tuple[Any, ...]:
        c = u.counts
        return (
            name,
            u.unit or None,
            u.staff,
            c.workstations,
            c.laptops,
            c.servers_onsite + c.servers_offsite,
            c.servers_onsite,
            u.machines_per_staff.percent,
            frac(u.antivirus),
            u.antivirus.percent,
            frac(u.edr),
            u.edr.percent,
            frac(u.lan),
            u.lan.percent if u.lan else None,
            frac(u.reporting),
            u.reporting.percent,
        )

    rows = [line(u, unit_names.get(u.unit, u.unit)) for u in report.units]
    if report.total is not None:
        rows.append(line(report.total, t("report.department.total", lang)))
    return Table("ratios", t("report.ratios.title", lang), headers, tuple(rows))


def ratios_brief(
    report: RatiosReport, lang: str, unit_names: dict[str, str] | None = None
) -> Table:
    """The ratios as short text cells for a terminal or an e-mail: "83/84 (98,8 %)".
    Units by id unless `unit_names` is given; CSV, XLSX and JSON use `ratios_table`."""
    headers = (
        t("report.columns.unit", lang),
        t("report.columns.staff", lang),
        t("report.ratios.brief.workstations", lang),
        t("report.ratios.brief.servers", lang),
        t("report.columns.machines_per_staff", lang),
        t("report.columns.antivirus", lang),
        t("report.columns.edr", lang),
        t("report.ratios.brief.lan", lang),
        t("report.ratios.brief.reporting", lang),
    )

    def frac(r: Any) -> str:
        if r is None or r.denominator == 0:
            return "—"
        return f"{r.numerator}/{r.denominator} ({format_percent(r.percent, lang)})"

    def line(u: UnitRatios, name: str) -> tuple[str, ...]:
        c = u.counts
        mps = u.machines_per_staff
        return (
            name,
            str(u.staff),
            f"{c.workstations} ({c.laptops})",
            f"{c.servers_onsite + c.servers_offsite} ({c.servers_onsite}/{c.servers_offsite})",
            f"{c.workstations}/{u.staff} ({format_percent(mps.percent, lang)})"
            if mps.denominator
            else "—",
            frac(u.antivirus),
            frac(u.edr),
            frac(u.lan),
            frac(u.reporting),
        )

    names = unit_names or {}
    rows = [line(u, names.get(u.unit, u.unit)) for u in report.units]
    if report.total is not None:
        rows.append(line(report.total, t("report.department.total", lang)))
    return Table("ratios", t("report.ratios.title", lang), headers, tuple(rows))


def unit_machine_table(r: UnitReport, lang: str) -> Table:
    headers = (
        t("report.machines.host", lang),
        t("report.machines.asset_tag", lang),
        t("report.machines.type", lang),
        t("report.machines.assigned", lang),
        t("report.machines.last_report", lang),
        t("report.status.pass", lang),
        t("report.status.fail", lang),
        t("report.status.error", lang),
        t("report.status.not-applicable", lang),
        t("report.status.waived", lang),
        t("report.machines.score", lang) + " (%)",
        t("report.machines.issues", lang),
    )
    rows = tuple(
        (
            m.hostname or m.asset_tag,
            m.asset_tag,
            type_name(m.asset_type, lang),
            m.assigned_to,
            _day(m.collected_at),
            m.passed,
            m.failed,
            m.errors,
            m.not_applicable,
            m.waived,
            m.score,
            "; ".join(
                f"{t('report.status.' + p.status, lang)}: {p.title.get(lang)}" for p in m.issues
            ),
        )
        for m in r.machines
    )
    return Table("machines", t("report.machines.title", lang), headers, rows)


def unit_action_table(r: UnitReport, lang: str) -> Table:
    headers = (
        t("report.rules.severity", lang),
        t("report.machines.host", lang),
        t("report.machines.assigned", lang),
        t("report.rules.what", lang),
        t("report.actions.problem", lang),
        t("report.actions.fix", lang),
        t("report.waivers.state", lang),
    )
    rows = tuple(
        (
            t("report.severity." + p.severity, lang),
            a.subject if a.kind != "unit" else t("report.actions.unit_itself", lang),
            a.assigned_to,
            p.title.get(lang),
            p.what.get(lang),
            p.remediation.get(lang),
            t("report.status." + p.status, lang),
        )
        for a in r.actions
        for p in a.problems
    )
    return Table("actions", t("report.actions.title", lang), headers, rows)


def unit_summary_table(r: UnitReport, lang: str) -> Table:
    b = r.banner
    q = r.ratios
    rows = (
        (t("report.meta.unit", lang), r.name.get(lang)),
        (t("report.meta.profile", lang), r.profile),
        (t("report.meta.framework", lang), r.framework_title.get(lang)),
        (t("report.meta.checked_at", lang), _day(r.checked_at)),
        (t("report.columns.machines", lang), b.machines),
        (t("report.columns.compliant", lang), b.compliant.numerator),
        (t("report.columns.compliant", lang) + " (%)", b.compliant.percent),
        (t("report.banner.score", lang) + " (%)", b.mean_score),
        (t("report.status.pass", lang), b.passed),
        (t("report.status.fail", lang), b.failed),
        (t("report.status.error", lang), b.errors),
        (t("report.status.not-applicable", lang), b.not_applicable),
        (t("report.status.waived", lang), b.waived),
        *((t("report.severity." + s, lang), n) for s, n in b.failed_by_severity.items()),
        (t("report.ratios.machines_per_staff", lang) + " (%)", q.machines_per_staff.percent),
        (t("report.ratios.antivirus", lang) + " (%)", q.antivirus.percent),
        (t("report.ratios.edr", lang) + " (%)", q.edr.percent),
        (t("report.ratios.lan", lang) + " (%)", q.lan.percent if q.lan else None),
    )
    return Table("summary", t("report.unit.summary", lang), ("", ""), rows)


def unit_rules_table(r: UnitReport, lang: str) -> Table:
    """The requirements as a unit head reads them: clause and citation in words, no
    rule ids (those are in `unit_annex_table`, the officer's)."""
    headers = (
        t("report.rules.clause", lang),
        t("report.rules.what", lang),
        t("report.rules.severity", lang),
        t("report.status.pass", lang),
        t("report.status.fail", lang),
        t("report.status.error", lang),
        t("report.status.not-applicable", lang),
        t("report.status.waived", lang),
        t("report.rules.references", lang),
    )
    rows = tuple(
        (
            g.heading.get(lang) or t("report.rules.other", lang),
            x.title.get(lang),
            t("report.severity." + x.severity, lang),
            x.passed,
            x.failed,
            x.errors,
            x.not_applicable,
            x.waived,
            x.references.get(lang),
        )
        for g in r.requirements
        for x in g.rules
    )
    return Table("rules", t("report.rules.title", lang), headers, rows)


def unit_annex_table(r: UnitReport, lang: str) -> Table:
    """The officer's annex: each rule's id, its requirement and the clause ids as stored."""
    headers = (
        t("report.annex.rule", lang),
        t("report.annex.what", lang),
        t("report.annex.refs", lang),
    )
    rows = tuple(
        (
            x.rule_id,
            x.title.get(lang),
            "; ".join(f"{fw}: {', '.join(ids)}" for fw, ids in x.refs.items()),
        )
        for x in r.rule_rows
    )
    return Table("annex", t("report.annex.rules", lang), headers, rows)


def unit_lan_table(r: UnitReport, lang: str) -> Table:
    headers = (
        t("report.rules.severity", lang),
        t("report.lan.device", lang),
        t("report.lan.address", lang),
        t("report.lan.finding", lang),
    )
    rows = tuple(
        (t("report.severity." + f.severity, lang), f.device, f.address, f.message.get(lang))
        for f in (r.lan.findings if r.lan else ())
    )
    return Table("lan", t("report.lan.title", lang), headers, rows)


def unit_tables(r: UnitReport, lang: str) -> list[Table]:
    return [
        unit_summary_table(r, lang),
        unit_action_table(r, lang),
        unit_rules_table(r, lang),
        unit_lan_table(r, lang),
        unit_machine_table(r, lang),
        unit_annex_table(r, lang),
    ]

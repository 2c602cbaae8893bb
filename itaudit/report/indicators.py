"""The quarterly information-security indicator table (the plan's Appendix I,
section VI "Bảo đảm an toàn thông tin"), filled from measured data.

Each row: the indicator, its target, the result (Đạt / Chưa đạt, or no data /
not applicable) and the evidence in words. The state is as of the period's end
(Q1: 31/03, H1: 30/06, 9M: 30/09, Y: 31/12, or today while the period runs):
the latest complete check run and the latest scans up to then count, and an
attestation that expired by then no longer counts. Without a check run inside
the period, rows that need one say so and show "no data"; only what the data
proves is marked "Chưa đạt".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from itaudit.check.results import CheckRun, iter_subjects, latest_run
from itaudit.errors import UsageError
from itaudit.i18n import format_date, format_percent, t
from itaudit.org.model import Organisation
from itaudit.profiles.model import Text
from itaudit.ratios import Ratio, RatiosReport, compute_ratios
from itaudit.report.figures import attestation_state
from itaudit.store import Store, to_naive_utc

PERIODS = {"Q1": (3, 31), "H1": (6, 30), "9M": (9, 30), "Y": (12, 31)}
ASSESSMENT_RULE = "L1-MGT-05"
MACHINES_PER_STAFF_TARGET = 100.0  # percent: at least one computer per member of staff
STATUSES = ("dat", "chua_dat", "no_data", "not_applicable")


@dataclass(frozen=True)
class Indicator:
    number: str  # TT
    key: str
    title: Text  # Các chỉ tiêu
    target: Text  # Chỉ tiêu
    status: str  # dat, chua_dat, no_data, not_applicable
    evidence: Text  # Kết quả thực hiện
    ratio: Ratio | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "key": self.key,
            "title": self.title.as_dict(),
            "target": self.target.as_dict(),
            "status": self.status,
            "evidence": self.evidence.as_dict(),
            "ratio": self.ratio.as_dict() if self.ratio else None,
        }


@dataclass(frozen=True)
class IndicatorTable:
    period: str
    year: int
    start: date
    end: date  # the day the state is taken at
    complete: bool  # the period has ended
    run_id: int | None
    checked_at: datetime | None
    rows: tuple[Indicator, ...]
    ratios: RatiosReport | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": "indicators",
            "period": self.period,
            "year": self.year,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "complete": self.complete,
            "run_id": self.run_id,
            "checked_at": self.checked_at.isoformat() if self.checked_at else None,
            "indicators": [r.as_dict() for r in self.rows],
        }


def default_period(today: date) -> str:
    """The period that contains `today` (so far): Q1, H1, 9M or Y."""
    for name, (month, _day) in PERIODS.items():
        if today.month <= month:
            return name
    return "Y"


def period_bounds(period: str, year: int) -> tuple[date, date]:
    if period not in PERIODS:
        raise UsageError(f"unknown period {period!r}; periods: {', '.join(PERIODS)}")
    if not 2000 <= year <= 2100:
        raise UsageError(f"year {year} is out of range (2000-2100)")
    month, day = PERIODS[period]
    return date(year, 1, 1), date(year, month, day)


def _tx(key: str, **params: Any) -> Text:
    """A catalogue message in both languages (percent and date params per language)."""
    out = {}
    for lang in ("vi", "en"):
        values = {k: (v(lang) if callable(v) else v) for k, v in params.items()}
        out[lang] = t(key, lang, **values)
    return Text(out["vi"], out["en"])


def _pct(value: float | None) -> Any:
    return lambda lang: format_percent(value, lang)


def _day(value: date | None) -> Any:
    return lambda lang: format_date(value, lang)


def _ratio_status(r: Ratio | None, target: float = 100.0) -> str:
    if r is None or r.denominator == 0:
        return "no_data"
    return "dat" if (r.percent or 0) >= target else "chua_dat"


def build_indicators(
    store: Store,
    org: Organisation,
    period: str,
    year: int,
    now: datetime | None = None,
) -> IndicatorTable:
    start, end = period_bounds(period, year)
    today = (now or datetime.now(UTC)).date()
    if start > today:
        raise UsageError(f"the period {period} {year} has not started yet")
    complete = end < today
    as_of_day = min(end, today)
    as_of = to_naive_utc(
        datetime.combine(as_of_day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    ) - timedelta(microseconds=1)
    run = latest_run(store, before=as_of)
    if run is not None and run.checked_at.date() < start:
        run = None  # the latest check is older than the period: no data for it
    ratios = compute_ratios(store, org, run, as_of=as_of) if run else None
    no_run = _tx("report.indicators.no_run", start=_day(start), end=_day(as_of_day))
    rows = [
        _dossiers(org, as_of_day),
        _plans(store, org, run, as_of_day, no_run),
        _websites(org),
        _assessment(store, org, run, no_run),
        _coverage("antivirus", org, ratios, no_run),
        _coverage("edr", org, ratios, no_run),
        _machines_per_staff(org, ratios),
        _drill(org, start, as_of_day),
    ]
    return IndicatorTable(
        period=period,
        year=year,
        start=start,
        end=as_of_day,
        complete=complete,
        run_id=run.id if run else None,
        checked_at=run.checked_at if run else None,
        rows=tuple(Indicator(str(i + 1), *row) for i, row in enumerate(rows)),
        ratios=ratios,
    )


Row = tuple[str, Text, Text, str, Text, Ratio | None]


def _unit_name(org: Organisation, unit_id: str, lang: str) -> str:
    """The unit's name: the table is pasted into an official report, ids mean nothing there."""
    unit = org.unit(unit_id)
    return unit.name(lang) if unit else unit_id


def _names(org: Organisation, unit_ids: list[str]) -> Any:
    def names(lang: str) -> str:
        return "; ".join(_unit_name(org, u, lang) for u in unit_ids)

    return names


def _dossiers(org: Organisation, day: date) -> Row:
    approved = [u for u in org.units if u.approval and u.approval.date <= day]
    ratio = Ratio(len(approved), len(org.units))
    missing = [u.id for u in org.units if u not in approved]
    if missing:
        evidence = _tx(
            "report.indicators.dossiers.missing",
            n=ratio.numerator,
            total=ratio.denominator,
            units=_names(org, missing),
        )
    else:
        evidence = _tx(
            "report.indicators.dossiers.all",
            n=ratio.numerator,
            total=ratio.denominator,
            decisions="; ".join(u.approval.decision for u in approved if u.approval),
        )
    return (
        "dossiers",
        _tx("report.indicators.dossiers.title"),
        _tx("report.indicators.target_all"),
        _ratio_status(ratio),
        evidence,
        ratio,
    )


def _unit_failures(store: Store, run: CheckRun) -> dict[str, list[str]]:
    """Unit-level rules (management evidence) that failed or are unknown, per unit."""
    out: dict[str, list[str]] = {}
    for s in iter_subjects(store, run, kinds=("unit",)):
        out[s.unit or ""] = [r.rule_id for r in s.results if r.status in ("fail", "error")]
    return out


def _plans(store: Store, org: Organisation, run: CheckRun | None, day: date, no_run: Text) -> Row:
    title = _tx("report.indicators.plans.title")
    target = _tx("report.indicators.target_all")
    if run is None:
        return ("plans", title, target, "no_data", no_run, None)
    failures = _unit_failures(store, run)
    for a in run.attestations:
        # An attestation valid at check time may have expired by the period's end.
        if a.target_kind == "unit" and attestation_state(a, day) == "expired":
            rules = failures.setdefault(a.target, [])
            if a.rule not in rules:
                rules.append(a.rule)
    short = [u.id for u in org.units if failures.get(u.id)]
    ratio = Ratio(len(org.units) - len(short), len(org.units))
    if short:

        def detail(lang: str) -> str:
            return "; ".join(
                f"{_unit_name(org, u, lang)} ({', '.join(sorted(failures[u]))})" for u in short
            )

        evidence = _tx(
            "report.indicators.plans.short",
            n=ratio.numerator,
            total=ratio.denominator,
            detail=detail,
            date=_day(run.checked_at.date()),
        )
    else:
        evidence = _tx(
            "report.indicators.plans.all",
            n=ratio.numerator,
            total=ratio.denominator,
            date=_day(run.checked_at.date()),
        )
    return ("plans", title, target, _ratio_status(ratio), evidence, ratio)


def _websites(org: Organisation) -> Row:
    sites = [a for a in org.assets if a.type == "website"]
    granted = [a for a in sites if a.trust_label == "granted"]
    ratio = Ratio(len(granted), len(sites))
    title = _tx("report.indicators.websites.title")
    target = _tx("report.indicators.target_all")
    if not sites:
        return ("websites", title, target, "no_data", _tx("report.indicators.websites.none"), None)
    others = [a.url or a.tag for a in sites if a not in granted]
    evidence = _tx(
        "report.indicators.websites.result",
        n=ratio.numerator,
        total=ratio.denominator,
    )
    if others:
        evidence = Text(
            evidence.vi
            + " "
            + t("report.indicators.websites.pending", "vi", sites=", ".join(others)),
            evidence.en
            + " "
            + t("report.indicators.websites.pending", "en", sites=", ".join(others)),
        )
    return ("websites", title, target, _ratio_status(ratio), evidence, ratio)


def _assessment(store: Store, org: Organisation, run: CheckRun | None, no_run: Text) -> Row:
    title = _tx("report.indicators.assessment.title")
    target = _tx("report.indicators.assessment.target")
    if run is None:
        return ("assessment", title, target, "no_data", no_run, None)
    passed: list[str] = []
    failed: list[str] = []
    for s in iter_subjects(store, run, kinds=("unit",)):
        r = s.result(ASSESSMENT_RULE)
        if r is None or r.status == "not-applicable":
            continue
        (passed if r.status in ("pass", "waived") else failed).append(s.unit or "")
    ratio = Ratio(len(passed), len(passed) + len(failed))
    if ratio.denominator == 0:
        return ("assessment", title, target, "no_data", no_run, None)
    evidence = _tx(
        "report.indicators.assessment.result",
        n=ratio.numerator,
        total=ratio.denominator,
        date=_day(run.checked_at.date()),
    )
    if failed:
        late = _tx("report.indicators.assessment.late", units=_names(org, failed))
        evidence = Text(evidence.vi + " " + late.vi, evidence.en + " " + late.en)
    return ("assessment", title, target, _ratio_status(ratio), evidence, ratio)


def _coverage(kind: str, org: Organisation, ratios: RatiosReport | None, no_run: Text) -> Row:
    title = _tx(f"report.indicators.{kind}.title")
    target = _tx("report.indicators.target_all")
    if ratios is None or ratios.total is None:
        return (kind, title, target, "no_data", no_run, None)
    ratio: Ratio = getattr(ratios.total, kind)
    below = [
        (u.unit, getattr(u, kind))
        for u in ratios.units
        if getattr(u, kind).denominator
        and getattr(u, kind).numerator < getattr(u, kind).denominator
    ]
    evidence = _tx(
        f"report.indicators.{kind}.result",
        n=ratio.numerator,
        total=ratio.denominator,
        pct=_pct(ratio.percent),
    )
    if below:

        def units(lang: str) -> str:
            return "; ".join(
                f"{_unit_name(org, u, lang)} {r.numerator}/{r.denominator}" for u, r in below
            )

        extra = _tx("report.indicators.below", units=units)
        evidence = Text(evidence.vi + " " + extra.vi, evidence.en + " " + extra.en)
    return (kind, title, target, _ratio_status(ratio), evidence, ratio)


def _machines_per_staff(org: Organisation, ratios: RatiosReport | None) -> Row:
    from itaudit.org.counts import unit_counts
    from itaudit.ratios import total_ratios

    title = _tx("report.indicators.machines_per_staff.title")
    target = _tx("report.indicators.machines_per_staff.target")
    if ratios is not None and ratios.total is not None:
        units = list(ratios.units)
        total = ratios.total
    else:
        # The register alone gives this figure: no check run needed.
        from itaudit.ratios import Tally, unit_ratios

        units = [unit_ratios(c, org, None, Tally(), None) for c in unit_counts(org)]
        total = total_ratios(org, units)
    # The plan states this figure for the head office only ("tại Cơ quan Sở": 80/74):
    # schools and care centres count teachers and carers who need no computer of
    # their own, so the department-wide figure is shown for reference, never judged.
    # The head office is the first unit of organization.yaml.
    head = next((u for u in units if u.unit == org.units[0].id), None)
    ratio = head.machines_per_staff if head is not None else total.machines_per_staff
    whole = total.machines_per_staff

    def per_unit(lang: str) -> str:
        return "; ".join(
            f"{_unit_name(org, u.unit, lang)} {u.counts.workstations}/{u.staff}"
            for u in units
            if u.staff
        )

    evidence = _tx(
        "report.indicators.machines_per_staff.result",
        n=ratio.numerator,
        total=ratio.denominator,
        pct=_pct(ratio.percent),
        all_n=whole.numerator,
        all_total=whole.denominator,
        all_pct=_pct(whole.percent),
        units=per_unit,
    )
    return (
        "machines_per_staff",
        title,
        target,
        _ratio_status(ratio, MACHINES_PER_STAFF_TARGET),
        evidence,
        ratio,
    )


def _drill(org: Organisation, start: date, end: date) -> Row:
    level3 = [u.id for u in org.units if u.approval and u.approval.level >= 3]
    title = _tx("report.indicators.drill.title")
    target = _tx("report.indicators.drill.target")
    if not level3:
        return ("drill", title, target, "not_applicable", _tx("report.indicators.drill.none"), None)
    team = org.team
    drilled = bool(team and team.last_drill and start <= team.last_drill <= end)
    evidence = _tx(
        "report.indicators.drill.result",
        units=", ".join(level3),
        date=_day(team.last_drill if team else None),
    )
    return ("drill", title, target, "dat" if drilled else "no_data", evidence, None)

"""Holiday readiness: GO or NO-GO, with every blocker, its owner and its remedy.

Readiness is a view: it never evaluates a rule. It reads the latest check run
(rule results, waivers and attestations as stored), the latest LAN scan of each
unit, the register and the incident-response team, and adds the checklist
items no rule covers (how old reports, scans and backups are, what expires
before the holiday ends, the duty roster, the last drill). What counts and the
limits come from the profiles' `readiness:` settings (docs/profiles.md), per unit.

    readiness = evaluate_readiness(store, org, profiles, holiday, today, roster=roster)
    readiness.verdict            # "GO" or "NO-GO"
    readiness.items              # the checklist, one ItemState per item
    readiness.units              # per unit: its blockers grouped by machine
    readiness.team               # blockers of the whole team (check run, roster, drill)
"""

from __future__ import annotations

import calendar as _cal
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from itaudit.errors import UsageError
from itaudit.i18n import catalogue, format_date, t
from itaudit.org.model import Asset, Member, Organisation, Unit
from itaudit.profiles.model import ReadinessSettings, Text
from itaudit.readiness.calendar import Holiday
from itaudit.readiness.roster import Roster, RosterProblem, roster_problems
from itaudit.store import Store

# The checklist, in the order it is shown.
ITEMS = (
    "check",
    "reports",
    "antimalware",
    "edr",
    "patches",
    "lan",
    "secret",
    "expiries",
    "backups",
    "roster",
    "drill",
)
RULE_ITEMS = ("antimalware", "edr", "patches", "secret")
# Items of the department's incident-response team rather than of a unit.
TEAM_ITEMS = frozenset({"check", "roster", "drill"})
GO, NO_GO = "GO", "NO-GO"
LANGS = ("vi", "en")


@dataclass(frozen=True)
class Blocker:
    """One thing that must be fixed before the holiday."""

    item: str  # one of ITEMS
    unit: str | None  # None: the department's incident-response team
    subject: str | None  # machine, device address, date or person; None: the unit or team itself
    problem: Text
    remediation: Text
    owner: str | None  # who must act: the machine's assigned_to, else the unit's IT contact
    rule: str | None = None
    severity: str | None = None
    evidence: tuple[str, ...] = ()  # the checker's evidence lines, as stored (English)
    asset_tag: str | None = None  # the machine's register tag, when it has one
    unknown: bool = False  # a rule that could not be checked (facts not collected), not a failure

    def as_json(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "unit": self.unit,
            "subject": self.subject,
            "problem": self.problem.as_dict(),
            "remediation": self.remediation.as_dict(),
            "owner": self.owner,
            "rule": self.rule,
            "severity": self.severity,
            "evidence": list(self.evidence),
            "asset_tag": self.asset_tag,
            "could_not_check": self.unknown,
        }


@dataclass(frozen=True)
class ItemState:
    """A checklist item: ok, blocked, or not-evaluated (no data to judge it)."""

    key: str
    state: str
    checked: int  # machines, units, servers, days... looked at
    blockers: int
    detail: Text

    def title(self, lang: str = "vi") -> str:
        return t(f"readiness.item.{self.key}", lang)


@dataclass(frozen=True)
class UnitReadiness:
    unit: str | None
    name: Text
    machines: int
    blockers: tuple[Blocker, ...]

    @property
    def verdict(self) -> str:
        return NO_GO if self.blockers else GO

    @property
    def unknown(self) -> int:
        """Blockers that are rules the agent's facts could not decide ("chưa rõ")."""
        return sum(1 for b in self.blockers if b.unknown)

    def by_subject(self) -> list[tuple[str | None, list[Blocker]]]:
        """Blockers grouped by machine (or device, or the unit itself: None first)."""
        groups: dict[str | None, list[Blocker]] = {}
        for b in self.blockers:
            groups.setdefault(b.subject, []).append(b)
        return sorted(groups.items(), key=lambda kv: (kv[0] is not None, kv[0] or ""))


@dataclass(frozen=True)
class Readiness:
    holiday: Holiday
    today: date
    unit: str | None  # the scope (--unit), None: every unit
    run_id: int | None
    checked_at: datetime | None
    items: tuple[ItemState, ...]
    units: tuple[UnitReadiness, ...]
    team: tuple[Blocker, ...]
    roster: Roster | None
    lead: Member | None
    deputy: Member | None
    settings: ReadinessSettings = field(default_factory=ReadinessSettings)

    @property
    def days_remaining(self) -> int:
        """Days until the first day off (0 when the holiday is under way)."""
        return max((self.holiday.start - self.today).days, 0)

    @property
    def under_way(self) -> bool:
        return self.holiday.covers(self.today)

    @property
    def blockers(self) -> list[Blocker]:
        return [b for u in self.units for b in u.blockers] + list(self.team)

    @property
    def verdict(self) -> str:
        return NO_GO if self.blockers else GO

    def item(self, key: str) -> ItemState:
        return next(i for i in self.items if i.key == key)


# -- words -----------------------------------------------------------------------------------
def _fmt(value: Any, lang: str) -> Any:
    if isinstance(value, Text):
        return value.get(lang)
    if isinstance(value, date | datetime):
        return format_date(value, lang)
    return "—" if value is None else value


def tn(key: str, lang: str, **params: Any) -> str:
    """t(key), or its `KEY_one` form when the count `n` is 1 ("1 day", not "1 days")."""
    if params.get("n") == 1 and f"{key}_one" in catalogue(lang):
        key = f"{key}_one"
    return t(key, lang, **params)


def text(key: str, **params: Any) -> Text:
    """A catalogue message (readiness.KEY) in both languages, dates formatted for each."""
    vi, en = (
        tn(f"readiness.{key}", lang, **{k: _fmt(v, lang) for k, v in params.items()})
        for lang in LANGS
    )
    return Text(vi, en)


def _contact(name: str | None, phone: str | None) -> str | None:
    if not name:
        return None
    return f"{name} ({phone})" if phone else name


def _unit_contact(unit: Unit | None) -> str | None:
    if unit is None or unit.it_contact is None:
        return None
    return _contact(unit.it_contact.name, unit.it_contact.phone)


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, _cal.monthrange(year, month)[1]))


# -- the evaluation ----------------------------------------------------------------------------
class _Context:
    def __init__(
        self, org: Organisation, profiles: Any, holiday: Holiday, today: date, unit: str | None
    ):
        self.org, self.profiles, self.holiday, self.today, self.scope = (
            org,
            profiles,
            holiday,
            today,
            unit,
        )
        self.blockers: list[Blocker] = []
        self.counts: dict[str, int] = {}
        self.items: dict[str, ItemState] = {}
        self.assets_by_name = {a.hostname.lower(): a for a in org.assets if a.hostname}
        self.assets_by_tag = {a.tag: a for a in org.assets}
        base = profiles.base()
        self.base_settings: ReadinessSettings = base.readiness if base else ReadinessSettings()

    def settings(self, unit_id: str | None) -> ReadinessSettings:
        unit = self.org.unit(unit_id) if unit_id else None
        eff = self.profiles.effective.get(unit.profile) if unit else None
        return eff.readiness if eff is not None else self.base_settings

    def rule_enabled(self, unit_id: str | None, rule_id: str) -> bool:
        unit = self.org.unit(unit_id) if unit_id else None
        eff = self.profiles.effective.get(unit.profile) if unit else self.profiles.base()
        er = eff.get(rule_id) if eff is not None else None
        return er is not None and er.disabled is None

    def in_scope(self, unit_id: str | None) -> bool:
        return self.scope is None or unit_id == self.scope

    def owner(self, asset: Asset | None, unit_id: str | None) -> str | None:
        if asset is not None and asset.assigned_to:
            return asset.assigned_to
        return _unit_contact(self.org.unit(unit_id) if unit_id else None)

    def team_owner(self) -> str | None:
        lead = self.org.team.lead() if self.org.team else None
        return _contact(lead.name, lead.phone) if lead else None

    def asset_for(self, tag: str | None, hostname: str | None) -> Asset | None:
        if tag:
            found = self.assets_by_tag.get(tag)
            if found is not None:
                return found
        return self.assets_by_name.get(hostname.lower()) if hostname else None

    def add(self, blocker: Blocker) -> None:
        self.blockers.append(blocker)
        self.counts[blocker.item] = self.counts.get(blocker.item, 0) + 1

    def item(self, key: str, checked: int, detail: Text, state: str | None = None) -> None:
        count = self.counts.get(key, 0)
        self.items[key] = ItemState(
            key, state or ("blocked" if count else "ok"), checked, count, detail
        )


def evaluate_readiness(
    store: Store,
    org: Organisation,
    profiles: Any,
    holiday: Holiday,
    today: date,
    *,
    unit: str | None = None,
    roster: Roster | None = None,
) -> Readiness:
    """The readiness of the department (or of `unit`) for `holiday`, as of `today`."""
    from itaudit.check.results import iter_subjects, latest_run

    if unit is not None and org.unit(unit) is None:
        raise UsageError(f"unknown unit {unit!r}; units: {', '.join(u.id for u in org.units)}")
    ctx = _Context(org, profiles, holiday, today, unit)
    run = latest_run(store, unit=unit, before=datetime.combine(today + timedelta(days=1), time()))
    _check_item(ctx, run)
    machines: dict[str | None, int] = {}
    if run is not None:
        # One pass over the run's machines (streamed: a large fleet is never all in memory).
        backups = _Backups(run)
        rules_seen: dict[str, set[str]] = {key: set() for key in RULE_ITEMS}
        for s in iter_subjects(store, run, unit=unit, kinds=("host", "asset")):
            machines[s.unit] = machines.get(s.unit, 0) + 1
            _report_blocker(ctx, s)
            _rule_blockers(ctx, s, rules_seen)
            backups.check(ctx, s)
        n = sum(machines.values())
        ctx.item("reports", n, text("detail.machines", n=n))
        for key in RULE_ITEMS:
            seen = rules_seen[key]
            detail = (
                text("detail.rules", n=n, rules=", ".join(sorted(seen)))
                if seen
                else text("detail.no_rules")
            )
            ctx.item(key, n, detail, None if seen else "not-evaluated")
        ctx.item("backups", backups.servers, text("detail.servers", n=backups.servers))
        _expiries_item(ctx, run)
    else:
        for key in ("reports", *RULE_ITEMS, "expiries", "backups"):
            ctx.item(key, 0, text("detail.no_run"), "not-evaluated")
    _lan_item(ctx, store)
    _roster_item(ctx, roster)
    _drill_item(ctx)

    team = tuple(b for b in ctx.blockers if b.item in TEAM_ITEMS)
    by_unit: dict[str | None, list[Blocker]] = {}
    for b in ctx.blockers:
        if b.item not in TEAM_ITEMS:
            by_unit.setdefault(b.unit, []).append(b)
    order = {key: i for i, key in enumerate(ITEMS)}
    unit_ids: list[str | None] = [u.id for u in org.units if ctx.in_scope(u.id)]
    if None in machines or None in by_unit:
        unit_ids.append(None)
    units = []
    for uid in unit_ids:
        found = org.unit(uid) if uid else None
        name = Text(found.name_vi, found.name_en) if found else text("no_unit")
        blockers = sorted(
            by_unit.get(uid, []), key=lambda b: (b.subject or "", order[b.item], b.rule or "")
        )
        units.append(UnitReadiness(uid, name, machines.get(uid, 0), tuple(blockers)))
    team_obj = org.team
    return Readiness(
        holiday=holiday,
        today=today,
        unit=unit,
        run_id=run.id if run else None,
        checked_at=run.checked_at if run else None,
        items=tuple(ctx.items[k] for k in ITEMS),
        units=tuple(units),
        team=team,
        roster=roster,
        lead=team_obj.lead() if team_obj else None,
        deputy=team_obj.deputy_lead() if team_obj else None,
        settings=ctx.settings(unit) if unit else ctx.base_settings,
    )


def _check_item(ctx: _Context, run: Any) -> None:
    limit = ctx.base_settings.number("check_age_days")
    if run is None:
        ctx.add(
            Blocker(
                "check",
                None,
                None,
                text("problem.no_run"),
                text("fix.no_run"),
                ctx.team_owner(),
            )
        )
        ctx.item("check", 0, text("detail.no_run"))
        return
    age = (ctx.today - run.checked_at.date()).days
    if age > limit:
        ctx.add(
            Blocker(
                "check",
                None,
                None,
                text("problem.old_run", run=run.id, date=run.checked_at, days=age, limit=limit),
                text("fix.old_run"),
                ctx.team_owner(),
            )
        )
    ctx.item("check", 1, text("detail.check", run=run.id, date=run.checked_at, limit=limit))


def _report_blocker(ctx: _Context, s: Any) -> None:
    limit = ctx.settings(s.unit).number("report_age_days")
    if s.kind == "asset" or s.collected_at is None:
        problem = text("problem.never_reported")
    else:
        age = (ctx.today - s.collected_at.date()).days
        if age <= limit:
            return
        problem = text("problem.old_report", date=s.collected_at, days=age, limit=limit)
    ctx.add(
        Blocker(
            "reports",
            s.unit,
            s.hostname or s.asset_tag,
            problem,
            text("fix.report"),
            ctx.owner(ctx.asset_for(s.asset_tag, s.hostname), s.unit),
            asset_tag=s.asset_tag,
        )
    )


def _rule_blockers(ctx: _Context, s: Any, rules_seen: dict[str, set[str]]) -> None:
    """Failed or unknown results of the rules each checklist item counts, for one machine."""
    item_of: dict[str, str] = {}
    for key, rule_ids in ctx.settings(s.unit).rules.items():
        rules_seen[key].update(rule_ids)
        for rule_id in rule_ids:
            item_of.setdefault(rule_id, key)
    asset = None
    for r in s.results:
        item = item_of.get(r.rule_id)
        if item is None or r.status not in ("fail", "error"):
            continue
        asset = asset or ctx.asset_for(s.asset_tag, s.hostname)
        # The rule's own plain-words problem when it has one; a generic sentence otherwise.
        if r.status == "fail" and r.rule.problem is not None:
            problem = text("problem.rule_problem", rule=r.rule_id, problem=r.rule.problem)
        else:
            problem = text(
                "problem.rule_fail" if r.status == "fail" else "problem.rule_unknown",
                rule=r.rule_id,
                title=r.rule.title,
            )
        ctx.add(
            Blocker(
                item,
                s.unit,
                s.hostname or s.asset_tag,
                problem,
                r.rule.remediation,
                ctx.owner(asset, s.unit),
                r.rule_id,
                r.severity,
                r.evidence,
                s.asset_tag,
                unknown=r.status == "error",
            )
        )


def _lan_item(ctx: _Context, store: Store) -> None:
    from itaudit.scan.records import latest_scan_ids
    from itaudit.scan.results import load_scan

    with store.read() as conn:
        ids = latest_scan_ids(conn)
    units = [u for u in ctx.org.units if ctx.in_scope(u.id)]
    for unit in units:
        limit = ctx.settings(unit.id).number("scan_age_days")
        contact = _unit_contact(unit)
        scan = load_scan(store, ids[unit.id]) if unit.id in ids else None
        if scan is None:
            ctx.add(
                Blocker(
                    "lan",
                    unit.id,
                    None,
                    text("problem.never_scanned"),
                    text("fix.scan", unit=unit.id),
                    contact,
                )
            )
            continue
        when = scan.finished_at or scan.started_at
        age = (ctx.today - when.date()).days
        if age > limit:
            ctx.add(
                Blocker(
                    "lan",
                    unit.id,
                    None,
                    text("problem.old_scan", date=when, days=age, limit=limit),
                    text("fix.scan", unit=unit.id),
                    contact,
                )
            )
        for o in scan.observations:
            if o.bucket == "unknown":
                ctx.add(
                    Blocker(
                        "lan",
                        unit.id,
                        o.address,
                        text(
                            "problem.unknown_device",
                            address=o.address,
                            mac=o.mac or "—",
                            vendor=o.vendor or "—",
                            date=o.seen_at or when,
                        ),
                        text("fix.unknown_device"),
                        contact,
                    )
                )
            elif o.bucket == "forbidden":
                asset = ctx.asset_for(o.asset_tag, None)
                ctx.add(
                    Blocker(
                        "lan",
                        unit.id,
                        (asset.hostname if asset else None) or o.asset_tag or o.address,
                        text(
                            "problem.forbidden_device",
                            tag=o.asset_tag or "—",
                            address=o.address,
                            date=o.seen_at or when,  # carried from the scan that saw it
                        ),
                        text("fix.forbidden_device"),
                        ctx.owner(asset, unit.id),
                        asset_tag=o.asset_tag,
                    )
                )
    ctx.item("lan", len(units), text("detail.lan", n=len(units)))


def _expiries_item(ctx: _Context, run: Any) -> None:
    end = ctx.holiday.end
    units_of_profile: dict[str, list[str]] = {}
    for u in ctx.org.units:
        units_of_profile.setdefault(u.profile, []).append(u.id)
    checked = 0
    for w in run.waivers:
        asset = ctx.asset_for(w.target, w.target)
        candidates = [asset.unit] if asset else units_of_profile.get(w.profile, [])
        unit_ids = [u for u in candidates if ctx.in_scope(u)]
        if not unit_ids:
            continue
        checked += 1
        if w.expires >= end:
            continue
        key = "problem.waiver_expired" if w.expired else "problem.waiver_expires"
        for waiver_unit in unit_ids:
            ctx.add(
                Blocker(
                    "expiries",
                    waiver_unit,
                    (asset.hostname if asset else None) or w.target,
                    text(key, rule=w.rule, decision=w.decision, date=w.expires, end=end),
                    text("fix.waiver", rule=w.rule),
                    ctx.owner(asset, waiver_unit),
                    w.rule,
                    asset_tag=asset.tag if asset else None,
                )
            )
    # A server whose backup already blocks (too old) needs one remedy, not two.
    backup_blocked = {
        (b.unit, b.asset_tag or b.subject, b.rule) for b in ctx.blockers if b.item == "backups"
    }
    for a in run.attestations:
        if a.state not in ("valid", "expired") or a.expires is None:
            continue
        uid: str | None
        subject: str | None
        if a.target_kind == "unit":
            uid, asset, subject = a.target, None, None
        else:
            asset = ctx.asset_for(a.target, a.target)
            uid = asset.unit if asset else None
            subject = (asset.hostname if asset else None) or a.target
        if not ctx.in_scope(uid):
            continue
        checked += 1
        if a.expires >= end:
            continue
        if (uid, asset.tag if asset else subject, a.rule) in backup_blocked:
            continue
        rule = run.rules.get(a.rule)
        key = (
            "problem.attestation_expired" if a.state == "expired" else "problem.attestation_expires"
        )
        ctx.add(
            Blocker(
                "expiries",
                uid,
                subject,
                text(
                    key,
                    rule=a.rule,
                    title=rule.title if rule else a.rule,
                    reference=a.reference or "—",
                    date=a.expires,
                    end=end,
                ),
                rule.remediation if rule else text("fix.attestation", rule=a.rule),
                ctx.owner(asset, uid),
                a.rule,
                asset_tag=asset.tag if asset else None,
            )
        )
    ctx.item("expiries", checked, text("detail.expiries", n=checked, end=end))


class _Backups:
    """Each server's latest verified backup, from the attestations the run recorded."""

    def __init__(self, run: Any):
        self.run = run
        # The run keeps one attestation (the latest) per rule and machine.
        self.latest = {(a.rule, a.target): a for a in run.attestations if a.target_kind == "host"}
        self.servers = 0

    def check(self, ctx: _Context, s: Any) -> None:
        if s.asset_type != "server":
            return
        settings = ctx.settings(s.unit)
        rule_id = settings.backup_rule
        if rule_id is None or not ctx.rule_enabled(s.unit, rule_id):
            return
        self.servers += 1
        limit = settings.number("backup_age_days")
        att = self.latest.get((rule_id, s.asset_tag or s.hostname or ""))
        if att is None or att.state == "missing" or att.date is None:
            problem = text("problem.no_backup", rule=rule_id)
        else:
            age = (ctx.today - att.date).days
            if age <= limit:
                return
            problem = text(
                "problem.old_backup",
                date=att.date,
                days=age,
                limit=limit,
                reference=att.reference or "—",
            )
        rule = self.run.rules.get(rule_id)
        ctx.add(
            Blocker(
                "backups",
                s.unit,
                s.hostname or s.asset_tag,
                problem,
                rule.remediation if rule else text("fix.attestation", rule=rule_id),
                ctx.owner(ctx.asset_for(s.asset_tag, s.hostname), s.unit),
                rule_id,
                asset_tag=s.asset_tag,
            )
        )


_ROSTER_KEYS = {
    "no-team": "problem.no_team",
    "no-lead": "problem.no_lead",
    "no-deputy": "problem.no_deputy",
    "lead-no-phone": "problem.lead_no_phone",
    "deputy-no-phone": "problem.deputy_no_phone",
    "no-roster": "problem.no_roster",
    "no-duty-day": "problem.no_duty_day",
    "gap": "problem.duty_gap",
    "no-phone": "problem.no_phone",
}


def _roster_problem_text(p: RosterProblem) -> Text:
    if p.kind == "no-phone":
        vi, en = (
            "; ".join(f"{format_date(s.start, lang)} {s.hours}" for s in p.shifts) for lang in LANGS
        )
        return text(_ROSTER_KEYS[p.kind], person=p.person, shifts=Text(vi, en))
    return text(_ROSTER_KEYS[p.kind], day=p.day, hours=p.hours, person=p.person)


def _roster_subject(p: RosterProblem) -> str | None:
    if p.day is not None:
        return p.day.isoformat()
    return p.person


def _roster_item(ctx: _Context, roster: Roster | None) -> None:
    h = ctx.holiday
    problems = roster_problems(ctx.org.team, roster, h.start, h.end)
    for p in problems:
        fix = "fix." + _ROSTER_KEYS[p.kind].removeprefix("problem.")
        ctx.add(
            Blocker(
                "roster",
                None,
                _roster_subject(p),
                _roster_problem_text(p),
                text(fix),
                ctx.team_owner(),
            )
        )
    ctx.item("roster", h.days, text("detail.roster", n=h.days, start=h.start, end=h.end))


def _drill_item(ctx: _Context) -> None:
    months = ctx.base_settings.number("drill_months")
    team = ctx.org.team
    last = team.last_drill if team else None
    if last is None:
        ctx.add(
            Blocker(
                "drill",
                None,
                None,
                text("problem.no_drill"),
                text("fix.drill"),
                ctx.team_owner(),
            )
        )
    elif _add_months(last, months) < ctx.today:
        ctx.add(
            Blocker(
                "drill",
                None,
                None,
                text("problem.old_drill", date=last, months=months),
                text("fix.drill"),
                ctx.team_owner(),
            )
        )
    ctx.item("drill", 1 if team else 0, text("detail.drill", date=last, months=months))


def choose_holiday(
    org: Organisation | None,
    today: date,
    *,
    name: str | None = None,
    on_or_after: date | None = None,
    unit: str | None = None,
) -> Holiday:
    """The holiday to get ready for: named, the one on or after a date, or the next one."""
    from itaudit.readiness.calendar import find_holiday, next_holiday

    if name is not None and on_or_after is not None:
        raise UsageError("give --holiday or --date, not both")
    if name is not None:
        return find_holiday(name, today, org, unit)
    holiday = next_holiday(on_or_after or today, org, unit)
    if holiday.end < today:
        raise UsageError(
            f"{holiday.name_en} ({holiday.ident()}) ended on {holiday.end}: readiness is for a "
            "holiday still to come (--today assesses as of another day)"
        )
    return holiday


def iter_blockers(readiness: Readiness) -> Iterable[Blocker]:
    """Every blocker: units in register order (by machine), then the team's."""
    for u in readiness.units:
        yield from u.blockers
    yield from readiness.team

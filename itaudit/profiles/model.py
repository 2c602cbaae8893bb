"""What a profile holds once loaded: rules, parameters, waivers, catalogues, frameworks.

Everything is a frozen dataclass carrying the file and line it came from, so
`itaudit profiles show` can say where each value was set and a check run can
cite it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from itaudit.profiles.conditions import Node
from itaudit.profiles.types import FType

SEVERITIES = ("critical", "high", "medium", "low")
KINDS = ("automated", "attestation")
SCOPES = ("host", "unit")
SECRET_MODES = ("include", "exclude", "only")
HOST_TYPES = ("workstation", "laptop", "server")
PLATFORMS = ("windows", "linux", "macos", "other")


def severity_rank(severity: str) -> int:
    """critical 4 ... low 1: `--fail-on high` fails on ranks >= 3."""
    return len(SEVERITIES) - SEVERITIES.index(severity)


@dataclass(frozen=True)
class Text:
    """A text in Vietnamese and English."""

    vi: str
    en: str

    def get(self, lang: str = "vi") -> str:
        return self.vi if lang == "vi" else self.en

    def as_dict(self) -> dict[str, str]:
        return {"vi": self.vi, "en": self.en}


@dataclass(frozen=True)
class Where:
    """A place in a profile file, shown as `file:line`."""

    source: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.source}:{self.line}" if self.line else self.source


@dataclass(frozen=True)
class ParamSpec:
    name: str
    type: FType
    type_name: str  # as written: integer, list[string]...
    default: Any = None
    has_default: bool = False
    minimum: float | None = None
    maximum: float | None = None
    description: str = ""
    where: Where = Where("")


@dataclass(frozen=True)
class Applicability:
    """Which machines a host rule applies to; anything else is not-applicable."""

    types: frozenset[str] = frozenset(HOST_TYPES)
    platforms: frozenset[str] | None = None  # None: every platform
    secret: str = "include"  # include, exclude (not on state-secret machines), only
    lan: frozenset[str] | None = None  # register `lan` states; None: any

    def describe(self) -> str:
        parts = [", ".join(t for t in HOST_TYPES if t in self.types)]
        if self.platforms:
            parts.append(", ".join(sorted(self.platforms)))
        if self.secret != "include":
            parts.append(
                "state-secret machines only" if self.secret == "only" else "not state-secret"
            )
        if self.lan:
            parts.append("LAN: " + ", ".join(sorted(self.lan)))
        return "; ".join(parts)


@dataclass(frozen=True)
class Rule:
    id: str
    title: Text
    remediation: Text
    rationale: Text | None
    severity: str
    kind: str  # automated, attestation
    scope: str  # host, unit
    applies: Applicability
    params: dict[str, ParamSpec]
    references: dict[str, tuple[str, ...]]
    probes: tuple[str, ...]
    when: Node | None
    condition: Node | None
    reads_report: bool
    profile: str
    where: Where
    fact_paths: tuple[str, ...] = ()  # report paths read (to match agent `errors` to the rule)
    problem: Text | None = None  # what is wrong when the rule fails, in plain words


@dataclass(frozen=True)
class ParamValue:
    value: Any
    where: Where
    origin: str  # "default" or the profile that set it


@dataclass(frozen=True)
class Disabled:
    rule: str
    reason: str
    profile: str
    where: Where


@dataclass(frozen=True)
class Waiver:
    """An exception granted to one machine for one rule, until a date."""

    rule: str
    host: str | None  # exact host name (case-insensitive, as Windows names are)
    asset: str | None  # exact asset tag
    reason: str
    approved_by: str
    decision: str
    expires: date
    profile: str
    where: Where

    @property
    def target(self) -> str:
        return self.asset or self.host or ""

    def expired(self, today: date) -> bool:
        """Valid through its expiry date inclusive."""
        return today > self.expires

    def matches(self, hostname: str | None, asset_tag: str | None) -> bool:
        if self.asset is not None:
            return asset_tag is not None and asset_tag == self.asset
        return (
            hostname is not None and self.host is not None and hostname.lower() == self.host.lower()
        )


# -- readiness: the holiday checklist's settings (docs/profiles.md "Readiness") --------------
# name -> (minimum, maximum, default) for the whole numbers.
READINESS_NUMBERS: dict[str, tuple[int, int, int]] = {
    "check_age_days": (1, 90, 3),
    "report_age_days": (1, 365, 7),
    "scan_age_days": (1, 365, 14),
    "backup_age_days": (1, 365, 7),
    "drill_months": (1, 60, 12),
}
# Checklist items that read rule results: item -> the rules that count (host rules).
READINESS_RULE_ITEMS = ("antimalware", "edr", "patches", "secret")
# Settings of the department's incident-response team, not of a unit: only a
# profile that extends nothing (the base) may set them.
READINESS_TEAM_WIDE = frozenset({"check_age_days", "drill_months"})
READINESS_KEYS = (*READINESS_NUMBERS, "backup_rule", "rules")


@dataclass(frozen=True)
class ReadinessSettings:
    """The effective `readiness:` settings of a profile, with where each value was set.

    Values not set by any profile of the chain take the defaults above (rule
    lists empty, no backup rule), so a profile without the section still loads.
    """

    numbers: dict[str, int] = field(
        default_factory=lambda: {k: v[2] for k, v in READINESS_NUMBERS.items()}
    )
    rules: dict[str, tuple[str, ...]] = field(
        default_factory=lambda: {k: () for k in READINESS_RULE_ITEMS}
    )
    backup_rule: str | None = None
    sources: dict[str, Where] = field(default_factory=dict)  # "report_age_days", "rules.edr"...

    def number(self, name: str) -> int:
        return self.numbers[name]


@dataclass(frozen=True)
class ProfileFile:
    """One profile file as written (before inheritance)."""

    name: str
    path: str
    extends: str | None
    title: Text | None
    rules: tuple[Rule, ...]
    params: dict[str, dict[str, tuple[Any, Where]]]  # rule id -> name -> (value, where)
    disabled: tuple[Disabled, ...]
    waivers: tuple[Waiver, ...]
    where_extends: Where | None = None
    # `readiness:` as written: "report_age_days" / "backup_rule" / "rules.edr" -> (value, where)
    readiness: dict[str, tuple[Any, Where]] = field(default_factory=dict)


@dataclass(frozen=True)
class EffectiveRule:
    rule: Rule
    params: dict[str, ParamValue]
    disabled: Disabled | None = None

    @property
    def id(self) -> str:
        return self.rule.id

    def param_values(self) -> dict[str, Any]:
        return {k: v.value for k, v in self.params.items()}


@dataclass(frozen=True)
class EffectiveProfile:
    """A profile after inheritance: the rule set a unit is checked against."""

    name: str
    chain: tuple[str, ...]  # this profile first, then what it extends
    title: Text | None
    rules: tuple[EffectiveRule, ...]
    waivers: tuple[Waiver, ...]
    readiness: ReadinessSettings = field(default_factory=ReadinessSettings)

    @property
    def enabled(self) -> tuple[EffectiveRule, ...]:
        return tuple(r for r in self.rules if r.disabled is None)

    def get(self, rule_id: str) -> EffectiveRule | None:
        return next((r for r in self.rules if r.id == rule_id), None)


@dataclass(frozen=True)
class Catalog:
    """Reference data a rule can match against (end-of-support table, advisories)."""

    name: str
    title: str
    fields: dict[str, FType]
    entries: tuple[dict[str, Any], ...]
    # For `lookup`: each entry's conditions on report facts, (path, allowed values).
    matches: tuple[tuple[tuple[str, tuple[Any, ...]], ...], ...] = ()
    where: Where = Where("")
    sources: tuple[str, ...] = ()
    # The day the table's facts were last brought up to date (release tables):
    # rules that depend on its being recent refuse to judge from an old one.
    as_of: date | None = None


@dataclass(frozen=True)
class Requirement:
    id: str
    title: Text
    rules: tuple[str, ...]
    confirmed: bool
    note: str | None
    where: Where
    # How a reader finds it in the published text ("Phụ lục I, mục 1.1"), and the
    # document when it is not the framework's own (a Decree 85 article listed
    # beside Circular 12): see itaudit.report.citations.
    clause: Text | None = None
    document: Text | None = None


@dataclass(frozen=True)
class Framework:
    id: str
    title: Text
    source: str
    requirements: tuple[Requirement, ...]
    where: Where
    notes: str | None = None
    # The document's number and name as a reader looks it up ("Thông tư
    # 12/2022/TT-BTTTT") and what it is: legal (law, decree, circular, directive),
    # standard (TCVN), reference (CIS, a cross-reference only) or policy (the
    # department's own choice beyond level 1).
    document: Text | None = None
    kind: str = "legal"
    _by_id: dict[str, Requirement] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_id.update({r.id: r for r in self.requirements})

    def requirement(self, req_id: str) -> Requirement | None:
        return self._by_id.get(req_id)

    def rule_ids(self) -> set[str]:
        return {rule for req in self.requirements for rule in req.rules}

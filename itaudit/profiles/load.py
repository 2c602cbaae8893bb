"""Loading profiles, catalogues and framework mappings, with every problem located.

Layout of a workspace's `profiles/` folder:

    level1.yaml                the base profile (any top-level *.yaml is a profile)
    units/<unit>.yaml          one profile per unit, `extends: level1`
    frameworks/<id>.yaml       one mapping per legal framework: requirements -> rule ids
    data/<catalogue>.yaml      reference data rules match against (end-of-support table)

plus the advisories in `inventory/advisories/*.yaml`, read as the catalogue
`advisories`. Problems are collected, not raised one by one, so the officer
sees every mistake with its file and line in one pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from itaudit.errors import InputError, Problem, UsageError
from itaudit.org.model import LAN_STATES
from itaudit.profiles.conditions import ConditionParser, Literal, Node, Ref, Test
from itaudit.profiles.model import (
    HOST_TYPES,
    KINDS,
    PLATFORMS,
    READINESS_KEYS,
    READINESS_NUMBERS,
    READINESS_RULE_ITEMS,
    READINESS_TEAM_WIDE,
    SCOPES,
    SECRET_MODES,
    SEVERITIES,
    Applicability,
    Catalog,
    Disabled,
    EffectiveProfile,
    EffectiveRule,
    Framework,
    ParamSpec,
    ParamValue,
    ProfileFile,
    ReadinessSettings,
    Requirement,
    Rule,
    Text,
    Waiver,
    Where,
)
from itaudit.profiles.types import (
    BOOLEAN,
    CATALOG_TYPES,
    DATE,
    INTEGER,
    PARAM_TYPES,
    STRING,
    enum,
    list_of,
    report_path_type,
    value_fits,
)
from itaudit.yamlfile import LineDict, LineList, load_yaml

RULE_ID_RE = re.compile(r"^[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+$")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
ADVISORIES = "advisories"
ADVISORY_SEVERITIES = ("critical", "high", "medium", "low")
_HOST_NAMESPACES = frozenset({"asset", "unit", "host", "lan", "org"})
_UNIT_NAMESPACES = frozenset({"unit", "org", "attestation"})
_TEXT_MAX = 4000


# -- small typed readers ---------------------------------------------------------
class _Reader:
    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = problems

    def error(self, node: Any, key: Any, message: str, severity: str = "error") -> None:
        line = node.line_of(key) if isinstance(node, LineDict | LineList) else None
        self.problems.append(
            Problem(self.source, message, line, None if key is None else str(key), severity)
        )

    def where(self, node: Any, key: Any = None) -> Where:
        if isinstance(node, LineDict | LineList):
            return Where(self.source, node.line_of(key) if key is not None else node.line)
        return Where(self.source)

    def mappings(
        self,
        node: LineDict,
        key: str,
        list_message: str,
        item_message: str,
        *,
        required: bool = False,
    ) -> list[LineDict] | None:
        """The mapping items of the list `node[key]`; None when the list is absent or wrong.

        An item that is not a mapping is reported (with its own line) and skipped.
        A required list must also be non-empty.
        """
        value = node.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, LineList) or (required and not value):
            self.error(node, key, list_message)
            return None
        items = []
        for i, item in enumerate(value):
            if isinstance(item, LineDict):
                items.append(item)
            else:
                self.problems.append(Problem(self.source, item_message, value.line_of(i), key))
        return items

    def known_keys(self, node: LineDict, allowed: tuple[str, ...], what: str) -> None:
        for key in node:
            if key not in allowed:
                self.error(node, key, f"unknown key in {what} (allowed: {', '.join(allowed)})")

    def text(self, node: LineDict, key: str, required: bool = True) -> str | None:
        value = node.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.error(node, key, "is required")
            return None
        if not isinstance(value, str | int | float):
            self.error(node, key, "must be text")
            return None
        text = str(value).strip()
        if len(text) > _TEXT_MAX:
            self.error(node, key, f"longer than {_TEXT_MAX} characters")
            return None
        return text

    def bilingual(self, node: LineDict, key: str, required: bool = True) -> Text | None:
        value = node.get(key)
        if value is None:
            if required:
                self.error(node, key, "is required: {vi: ..., en: ...}")
            return None
        if isinstance(value, str) and value.strip():
            # One language given: shown in both until translated.
            return Text(value.strip(), value.strip())
        if not isinstance(value, LineDict):
            self.error(node, key, "must be {vi: ..., en: ...}")
            return None
        self.known_keys(value, ("vi", "en"), key)
        vi = self.text(value, "vi")
        en = self.text(value, "en")
        return Text(vi, en) if vi and en else None

    def day(self, node: LineDict, key: str, required: bool = True) -> date | None:
        value = node.get(key)
        if value is None:
            if required:
                self.error(node, key, "is required (a date, YYYY-MM-DD)")
            return None
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        self.error(node, key, f"{value!r} is not a date (YYYY-MM-DD)")
        return None

    def str_list(
        self, node: LineDict, key: str, allowed: tuple[str, ...] | None = None
    ) -> tuple[str, ...] | None:
        value = node.get(key)
        if value is None:
            return None
        if not isinstance(value, LineList) or not all(isinstance(v, str) for v in value):
            self.error(node, key, "must be a list of names")
            return None
        if allowed is not None:
            for i, v in enumerate(value):
                if v not in allowed:
                    self.problems.append(
                        Problem(
                            self.source,
                            f"{v!r} is not one of {', '.join(allowed)}",
                            value.line_of(i),
                            key,
                        )
                    )
                    return None
        return tuple(value)


# -- catalogues --------------------------------------------------------------------
def _load_catalog(path: Path, problems: list[Problem]) -> Catalog | None:
    src = str(path)
    r = _Reader(src, problems)
    try:
        doc = load_yaml(path)
    except InputError as exc:
        problems.extend(exc.problems)
        return None
    if not isinstance(doc, LineDict):
        problems.append(Problem(src, "a catalogue file is a mapping with catalog, fields, entries"))
        return None
    r.known_keys(
        doc,
        ("catalog", "title", "description", "sources", "as_of", "fields", "entries"),
        "a catalogue",
    )
    name = r.text(doc, "catalog")
    if name and name != path.stem:
        r.error(doc, "catalog", f"must equal the file name ({path.stem!r})")
    if name and not NAME_RE.match(name):
        r.error(doc, "catalog", "must be lower-case letters, digits and dashes")
    title = r.text(doc, "title", required=False) or name or path.stem
    sources = r.str_list(doc, "sources") or ()
    as_of = r.day(doc, "as_of", required=False)
    fields_node = doc.get("fields")
    fields: dict[str, Any] = {}
    if not isinstance(fields_node, LineDict) or not fields_node:
        r.error(doc, "fields", "is required: field name -> type (" + ", ".join(CATALOG_TYPES) + ")")
    else:
        for fname, tname in fields_node.items():
            ftype = CATALOG_TYPES.get(tname) if isinstance(tname, str) else None
            if ftype is None:
                r.error(
                    fields_node,
                    fname,
                    f"unknown type {tname!r} (types: {', '.join(CATALOG_TYPES)})",
                )
            else:
                fields[fname] = ftype
    entry_nodes = r.mappings(
        doc,
        "entries",
        "is required: a list of entries",
        "an entry must be a mapping",
        required=True,
    )
    if entry_nodes is None:
        return None
    entries: list[dict[str, Any]] = []
    matches: list[tuple[tuple[str, tuple[Any, ...]], ...]] = []
    for entry in entry_nodes:
        values: dict[str, Any] = {}
        for key, value in entry.items():
            if key == "match":
                continue
            ftype = fields.get(key)
            if ftype is None:
                r.error(entry, key, f"not a declared field (fields: {', '.join(fields)})")
                continue
            if value is not None and not value_fits(_plain(value), ftype):
                r.error(entry, key, f"{value!r} is not {_article(ftype)} {ftype}")
                continue
            values[key] = _plain(value)
        for fname in fields:
            values.setdefault(fname, None)
        match = entry.get("match")
        if match is not None:
            conds = []
            if not isinstance(match, LineDict) or not match:
                r.error(entry, "match", "must map report fact paths to values")
            else:
                for fpath, wanted in match.items():
                    ftype = report_path_type(fpath) if isinstance(fpath, str) else None
                    if ftype is None or ftype.kind in ("list", "object"):
                        r.error(match, fpath, f"{fpath!r} is not a single-valued HostReport fact")
                        continue
                    options = list(wanted) if isinstance(wanted, list) else [wanted]
                    if not all(value_fits(o, ftype) for o in options):
                        r.error(match, fpath, f"{wanted!r} does not fit {fpath} ({ftype})")
                        continue
                    conds.append((fpath, tuple(options)))
            matches.append(tuple(conds))
        elif matches:
            r.error(entry, None, "every entry of a looked-up catalogue needs 'match'")
        entries.append(values)
    if matches and len(matches) != len(entries):
        r.error(doc, "entries", "either every entry has 'match' or none does")
    return Catalog(
        name or path.stem,
        str(title),
        fields,
        tuple(entries),
        tuple(matches),
        Where(src, doc.line),
        tuple(sources),
        as_of,
    )


ADVISORY_FIELDS = {
    "advisory": STRING,
    "title_vi": STRING,
    "title_en": STRING,
    "published": DATE,
    "reference": STRING,
    "kb": STRING,
    "product": STRING,
    "platform": STRING,
    "builds": list_of(INTEGER),
    "fixed_revision": INTEGER,
    "severity": enum(ADVISORY_SEVERITIES),
}


def load_advisories(folder: Path, problems: list[Problem]) -> Catalog:
    """Every update of every advisory file as one catalogue entry."""
    entries: list[dict[str, Any]] = []
    files = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
    for path in files:
        src = str(path)
        r = _Reader(src, problems)
        try:
            doc = load_yaml(path)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        if not isinstance(doc, LineDict):
            problems.append(
                Problem(src, "an advisory file is a mapping (id, title_vi, ..., updates)")
            )
            continue
        r.known_keys(
            doc,
            (
                "id",
                "sample",
                "title_vi",
                "title_en",
                "published",
                "issued_by",
                "reference",
                "severity",
                "updates",
                "notes",
            ),
            "an advisory",
        )
        adv_id = r.text(doc, "id")
        published = r.day(doc, "published")
        severity = doc.get("severity", "high")
        if severity not in ADVISORY_SEVERITIES:
            r.error(doc, "severity", f"must be one of {', '.join(ADVISORY_SEVERITIES)}")
            severity = "high"
        updates = doc.get("updates")
        if not isinstance(updates, LineList) or not updates:
            r.error(
                doc,
                "updates",
                "is required: a list of {kb, product, platform, builds, fixed_revision}",
            )
            continue
        for i, up in enumerate(updates):
            if not isinstance(up, LineDict):
                problems.append(
                    Problem(src, "an update must be a mapping", updates.line_of(i), "updates")
                )
                continue
            r.known_keys(
                up,
                ("kb", "product", "platform", "builds", "fixed_revision", "severity"),
                "an update",
            )
            kb = r.text(up, "kb")
            if kb and not re.match(r"^KB[0-9]{6,8}$", kb):
                r.error(up, "kb", f"{kb!r} is not a KB number such as KB5072033")
            platform = up.get("platform", "windows")
            if platform not in PLATFORMS:
                r.error(up, "platform", f"must be one of {', '.join(PLATFORMS)}")
            builds = up.get("builds")
            if not isinstance(builds, LineList) or not all(
                isinstance(b, int) and not isinstance(b, bool) for b in builds
            ):
                r.error(
                    up,
                    "builds",
                    "is required: the OS builds it applies to, e.g. [26100]"
                    if builds is None
                    else f"{builds!r} is not a list of OS builds such as [26100]",
                )
                builds = []
            fixed = up.get("fixed_revision")
            if fixed is not None and (
                not isinstance(fixed, int) or isinstance(fixed, bool) or fixed < 0
            ):
                r.error(
                    up,
                    "fixed_revision",
                    "must be a whole number (the build revision, UBR, that includes the fix)",
                )
                fixed = None
            up_sev = up.get("severity", severity)
            if up_sev not in ADVISORY_SEVERITIES:
                r.error(up, "severity", f"must be one of {', '.join(ADVISORY_SEVERITIES)}")
                up_sev = severity
            entries.append(
                {
                    "advisory": adv_id,
                    "title_vi": doc.get("title_vi"),
                    "title_en": doc.get("title_en"),
                    "published": published,
                    "reference": doc.get("reference"),
                    "kb": kb,
                    "product": up.get("product"),
                    "platform": platform,
                    "builds": list(builds),
                    "fixed_revision": fixed,
                    "severity": up_sev,
                }
            )
    return Catalog(
        ADVISORIES,
        "Security advisories (inventory/advisories)",
        dict(ADVISORY_FIELDS),
        tuple(entries),
        (),
        Where(str(folder)),
        tuple(str(p) for p in files),
    )


# -- frameworks ----------------------------------------------------------------------
FRAMEWORK_KINDS = ("legal", "standard", "reference", "policy")


def _load_framework(path: Path, problems: list[Problem]) -> Framework | None:
    src = str(path)
    r = _Reader(src, problems)
    try:
        doc = load_yaml(path)
    except InputError as exc:
        problems.extend(exc.problems)
        return None
    if not isinstance(doc, LineDict):
        problems.append(
            Problem(src, "a framework file is a mapping (framework, title, requirements)")
        )
        return None
    r.known_keys(
        doc,
        ("framework", "title", "source", "notes", "requirements", "document", "kind"),
        "a framework",
    )
    fw_id = r.text(doc, "framework")
    if fw_id and fw_id != path.stem:
        r.error(doc, "framework", f"must equal the file name ({path.stem!r})")
    title = r.bilingual(doc, "title")
    source = r.text(doc, "source") or ""
    document = r.bilingual(doc, "document", required=False)
    kind = r.text(doc, "kind", required=False) or "legal"
    if kind not in FRAMEWORK_KINDS:
        r.error(doc, "kind", f"must be one of {', '.join(FRAMEWORK_KINDS)}")
    req_nodes = r.mappings(
        doc,
        "requirements",
        "is required: a list of {id, title, rules}",
        "a requirement must be a mapping",
        required=True,
    )
    if req_nodes is None:
        return None
    reqs: list[Requirement] = []
    seen: set[str] = set()
    for node in req_nodes:
        r.known_keys(
            node,
            ("id", "title", "rules", "confirmed", "note", "clause", "document"),
            "a requirement",
        )
        req_id = r.text(node, "id")
        if req_id in seen:
            r.error(node, "id", f"duplicate requirement {req_id!r}")
        seen.add(req_id or "")
        req_title = r.bilingual(node, "title")
        rules = r.str_list(node, "rules")
        if rules is None:
            r.error(node, "rules", "is required: the rule ids that evidence this requirement")
            rules = ()
        confirmed = node.get("confirmed", True)
        if not isinstance(confirmed, bool):
            r.error(node, "confirmed", "must be true or false")
            confirmed = False
        if req_id and req_title:
            reqs.append(
                Requirement(
                    req_id,
                    req_title,
                    rules,
                    confirmed,
                    r.text(node, "note", required=False),
                    r.where(node),
                    r.bilingual(node, "clause", required=False),
                    r.bilingual(node, "document", required=False),
                )
            )
    if not fw_id or not title:
        return None
    return Framework(
        fw_id,
        title,
        source,
        tuple(reqs),
        Where(src, doc.line),
        r.text(doc, "notes", required=False),
        document,
        kind,
    )


# -- profile files -------------------------------------------------------------------
_RULE_KEYS = (
    "id",
    "title",
    "problem",
    "remediation",
    "rationale",
    "severity",
    "kind",
    "scope",
    "applies_to",
    "params",
    "references",
    "probes",
    "when",
    "condition",
)
_PROFILE_KEYS = (
    "profile",
    "title",
    "description",
    "extends",
    "rules",
    "params",
    "disabled",
    "waivers",
    "readiness",
)


def _param_specs(r: _Reader, node: Any, rule_id: str) -> dict[str, ParamSpec]:
    specs: dict[str, ParamSpec] = {}
    if node is None:
        return specs
    if not isinstance(node, LineDict):
        r.error(node, "params", "must map parameter names to {type, default, ...}")
        return specs
    for name, spec in node.items():
        if not isinstance(name, str) or not re.match(r"^[a-z][a-z0-9_]{0,62}$", name):
            r.error(node, name, "a parameter name is lower-case letters, digits and _")
            continue
        if not isinstance(spec, LineDict):
            r.error(node, name, "must be {type, default, min, max, description}")
            continue
        r.known_keys(spec, ("type", "default", "min", "max", "description"), f"parameter {name}")
        tname = spec.get("type")
        ftype = PARAM_TYPES.get(tname) if isinstance(tname, str) else None
        if ftype is None:
            r.error(
                spec, "type", f"unknown parameter type {tname!r} (types: {', '.join(PARAM_TYPES)})"
            )
            continue
        bounds = []
        for key in ("min", "max"):
            b = spec.get(key)
            if b is not None and (isinstance(b, bool) or not isinstance(b, int | float)):
                r.error(spec, key, "must be a number")
                b = None
            bounds.append(b)
        has_default = "default" in spec
        default = _plain(spec.get("default"))
        if has_default and not _param_ok(r, spec, "default", default, ftype, bounds[0], bounds[1]):
            continue
        specs[name] = ParamSpec(
            name,
            ftype,
            str(tname),
            default,
            has_default,
            bounds[0],
            bounds[1],
            str(spec.get("description") or ""),
            r.where(node, name),
        )
    return specs


def _param_ok(
    r: _Reader, node: LineDict, key: Any, value: Any, ftype: Any, lo: Any, hi: Any
) -> bool:
    if value is None or not value_fits(value, ftype):
        r.error(node, key, f"{value!r} is not {_article(ftype)} {ftype}")
        return False
    numbers = value if isinstance(value, list) else [value]
    for v in numbers:
        if isinstance(v, int | float) and not isinstance(v, bool):
            if lo is not None and v < lo:
                r.error(node, key, f"{v} is below the minimum {lo}")
                return False
            if hi is not None and v > hi:
                r.error(node, key, f"{v} is above the maximum {hi}")
                return False
    return True


def _applicability(r: _Reader, node: Any) -> Applicability:
    if node is None:
        return Applicability()
    if not isinstance(node, LineDict):
        r.error(node, "applies_to", "must be {types, platforms, secret, lan}")
        return Applicability()
    r.known_keys(node, ("types", "platforms", "secret", "lan"), "applies_to")
    types = r.str_list(node, "types", HOST_TYPES)
    platforms = r.str_list(node, "platforms", PLATFORMS)
    lan = r.str_list(node, "lan", LAN_STATES)
    secret = node.get("secret", "include")
    if secret not in SECRET_MODES:
        r.error(node, "secret", f"must be one of {', '.join(SECRET_MODES)}")
        secret = "include"
    return Applicability(
        frozenset(types) if types else frozenset(HOST_TYPES),
        frozenset(platforms) if platforms else None,
        secret,
        frozenset(lan) if lan else None,
    )


def _default_attestation_condition(line: int) -> Node:
    return Test(
        line,
        Ref("ns", "$attestation.valid", BOOLEAN, ("attestation", "valid")),
        "equals",
        Literal(True, BOOLEAN),
        False,
        0,
    )


def _rationale(r: _Reader, node: LineDict) -> Text | None:
    """Rationale: text, or {vi, en} where one language may wait for its translation."""
    value = node.get("rationale")
    if value is None:
        return None
    if isinstance(value, LineDict) and value and set(value) <= {"vi", "en"}:
        vi = r.text(value, "vi", required=False)
        en = r.text(value, "en", required=False)
        if vi or en:
            return Text(vi or en or "", en or vi or "")
    return r.bilingual(node, "rationale")


def _parse_rule(
    r: _Reader, node: LineDict, profile: str, catalogs: dict[str, Catalog]
) -> Rule | None:
    r.known_keys(node, _RULE_KEYS, "a rule")
    rule_id = r.text(node, "id")
    if rule_id and not RULE_ID_RE.match(rule_id):
        r.error(node, "id", f"{rule_id!r} is not a rule id such as L1-AV-01 (upper case, dashes)")
        rule_id = None
    before = len(r.problems)
    title = r.bilingual(node, "title")
    remediation = r.bilingual(node, "remediation")
    problem = r.bilingual(node, "problem", required=False)
    rationale = _rationale(r, node)
    severity = node.get("severity")
    if severity not in SEVERITIES:
        r.error(node, "severity", f"must be one of {', '.join(SEVERITIES)}")
    kind = node.get("kind", "automated")
    if kind not in KINDS:
        r.error(node, "kind", f"must be one of {', '.join(KINDS)}")
        kind = "automated"
    scope = node.get("scope", "unit" if kind == "attestation" else "host")
    if scope not in SCOPES:
        r.error(node, "scope", f"must be one of {', '.join(SCOPES)}")
        scope = "host"
    if kind == "automated" and scope != "host":
        r.error(node, "scope", "automated rules are evaluated per machine: scope must be host")
    if scope == "unit" and "applies_to" in node:
        r.error(node, "applies_to", "a unit-wide rule applies to the unit, not to machine types")
    applies = _applicability(r, node.get("applies_to"))
    params = _param_specs(r, node.get("params"), rule_id or "?")
    refs_node = node.get("references")
    references: dict[str, tuple[str, ...]] = {}
    if refs_node is not None:
        if not isinstance(refs_node, LineDict):
            r.error(node, "references", "must map framework ids to lists of clause ids")
        else:
            for fw, clauses in refs_node.items():
                if isinstance(clauses, str | int | float):
                    clauses = [str(clauses)]
                if not isinstance(clauses, list) or not all(
                    isinstance(c, str | int | float) for c in clauses
                ):
                    r.error(refs_node, fw, "must be a list of clause ids")
                    continue
                references[str(fw)] = tuple(str(c) for c in clauses)
    probes = r.str_list(node, "probes") or ()
    namespaces = (
        _HOST_NAMESPACES
        if scope == "host" and kind == "automated"
        else (_UNIT_NAMESPACES if scope == "unit" else _HOST_NAMESPACES | {"attestation"})
    )
    parser = ConditionParser(r.source, r.problems, params, catalogs, namespaces)
    when = None
    if "when" in node:
        when = parser.parse(node["when"], node.line_of("when"), "when")
    condition: Node | None = None
    if "condition" in node:
        condition = parser.parse(node["condition"], node.line_of("condition"), "condition")
    elif kind == "automated":
        r.error(node, "condition", "is required for an automated rule")
    else:
        condition = _default_attestation_condition(node.line)
    unused = set(params) - parser.used_params
    if kind == "attestation":
        unused.discard("valid_days")
    for name in sorted(unused):
        r.error(
            node.get("params"),
            name,
            f"parameter {name!r} is declared but no condition uses it",
            "warning",
        )
    if len(r.problems) > before and any(p.severity == "error" for p in r.problems[before:]):
        return None
    if not rule_id or not title or not remediation or severity not in SEVERITIES:
        return None
    return Rule(
        rule_id,
        title,
        remediation,
        rationale,
        severity,
        kind,
        scope,
        applies,
        params,
        references,
        probes,
        when,
        condition,
        parser.reads_report,
        profile,
        r.where(node),
        tuple(sorted(parser.report_paths)),
        problem,
    )


def _load_profile_file(
    path: Path, problems: list[Problem], catalogs: dict[str, Catalog]
) -> ProfileFile | None:
    src = str(path)
    r = _Reader(src, problems)
    try:
        doc = load_yaml(path)
    except InputError as exc:
        problems.extend(exc.problems)
        return None
    if not isinstance(doc, LineDict):
        problems.append(
            Problem(
                src, "a profile is a mapping (profile, extends, rules, params, disabled, waivers)"
            )
        )
        return None
    r.known_keys(doc, _PROFILE_KEYS, "a profile")
    name = r.text(doc, "profile")
    if name and name != path.stem:
        r.error(doc, "profile", f"must equal the file name ({path.stem!r})")
    name = name or path.stem
    extends = doc.get("extends")
    if extends is not None and not isinstance(extends, str):
        r.error(doc, "extends", "names one profile")
        extends = None
    title = r.bilingual(doc, "title", required=False)
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for node in (
        r.mappings(doc, "rules", "must be a list of rules", "a rule must be a mapping") or []
    ):
        rule = _parse_rule(r, node, name, catalogs)
        if rule is None:
            continue
        if rule.id in seen:
            r.error(node, "id", f"duplicate rule {rule.id} (first at line {seen[rule.id]})")
            continue
        seen[rule.id] = node.line
        rules.append(rule)
    params: dict[str, dict[str, tuple[Any, Where]]] = {}
    params_node = doc.get("params")
    if params_node is not None:
        if not isinstance(params_node, LineDict):
            r.error(doc, "params", "must map rule ids to {parameter: value}")
        else:
            for rule_id, values in params_node.items():
                if not isinstance(values, LineDict):
                    r.error(params_node, rule_id, "must map parameter names to values")
                    continue
                params[str(rule_id)] = {
                    str(k): (_plain(v), Where(src, values.line_of(k))) for k, v in values.items()
                }
    disabled: list[Disabled] = []
    for item in (
        r.mappings(doc, "disabled", "must be a list of {rule, reason}", "must be {rule, reason}")
        or []
    ):
        r.known_keys(item, ("rule", "reason"), "a disabled rule")
        rule_id = r.text(item, "rule")
        reason = r.text(item, "reason")
        if rule_id and reason:
            disabled.append(Disabled(rule_id, reason, name, r.where(item)))
    waivers: list[Waiver] = []
    for item in (
        r.mappings(doc, "waivers", "must be a list of waivers", "a waiver must be a mapping") or []
    ):
        waiver = _parse_waiver(r, item, name)
        if waiver is not None:
            waivers.append(waiver)
    readiness: dict[str, tuple[Any, Where]] = {}
    if "readiness" in doc:
        readiness = _parse_readiness(r, doc, base=extends is None)
    return ProfileFile(
        name,
        src,
        extends,
        title,
        tuple(rules),
        params,
        tuple(disabled),
        tuple(waivers),
        r.where(doc, "extends") if extends else None,
        readiness,
    )


def _parse_readiness(r: _Reader, doc: LineDict, base: bool) -> dict[str, tuple[Any, Where]]:
    """`readiness:` as written, types and bounds checked; rule ids are checked once the
    profile's rules are known (in `_effective`)."""
    node = doc.get("readiness")
    out: dict[str, tuple[Any, Where]] = {}
    if not isinstance(node, LineDict):
        r.error(doc, "readiness", "must be a mapping (docs/profiles.md, Readiness)")
        return out
    r.known_keys(node, READINESS_KEYS, "readiness")
    for key, (lo, hi, _default) in READINESS_NUMBERS.items():
        if key not in node:
            continue
        if key in READINESS_TEAM_WIDE and not base:
            r.error(
                node,
                key,
                "is a setting of the department's incident-response team: set it in the base profile",
            )
            continue
        if _param_ok(r, node, key, node[key], INTEGER, lo, hi):
            out[key] = (node[key], r.where(node, key))
    if "backup_rule" in node:
        value = node["backup_rule"]
        if not isinstance(value, str) or not RULE_ID_RE.match(value):
            r.error(node, "backup_rule", f"{value!r} is not a rule id such as L1-MGT-08")
        else:
            out["backup_rule"] = (value, r.where(node, "backup_rule"))
    rules = node.get("rules")
    if rules is not None:
        if not isinstance(rules, LineDict):
            r.error(
                node, "rules", f"must map {', '.join(READINESS_RULE_ITEMS)} to lists of rule ids"
            )
            return out
        r.known_keys(rules, READINESS_RULE_ITEMS, "readiness rules")
        for item in READINESS_RULE_ITEMS:
            if item not in rules:
                continue
            ids = rules[item]
            if not isinstance(ids, LineList) or not all(
                isinstance(i, str) and RULE_ID_RE.match(i) for i in ids
            ):
                r.error(rules, item, "must be a list of rule ids such as [L1-AV-01, L1-AV-02]")
                continue
            out[f"rules.{item}"] = (tuple(ids), r.where(rules, item))
    return out


def _effective_readiness(
    pf_chain: list[ProfileFile], rules: dict[str, Rule], problems: list[Problem]
) -> ReadinessSettings:
    """Merge `readiness:` from the base down (a unit's value replaces its parent's)."""
    defaults = ReadinessSettings()
    numbers, lists = dict(defaults.numbers), dict(defaults.rules)
    backup_rule: str | None = None
    sources: dict[str, Where] = {}
    for pf in pf_chain:
        for key, (value, where) in pf.readiness.items():
            if key == "backup_rule":
                rule = rules.get(value)
                if rule is None or rule.kind != "attestation" or rule.scope != "host":
                    why = (
                        "not a rule of this profile"
                        if rule is None
                        else "not an attestation recorded per machine (kind: attestation, scope: host)"
                    )
                    problems.append(Problem(where.source, f"{value}: {why}", where.line, key))
                    continue
                backup_rule = value
            elif key.startswith("rules."):
                bad = [i for i in value if i not in rules or rules[i].scope != "host"]
                if bad:
                    problems.append(
                        Problem(
                            where.source,
                            f"{', '.join(bad)}: not a machine rule of this profile",
                            where.line,
                            key,
                        )
                    )
                    continue
                lists[key.removeprefix("rules.")] = tuple(value)
            else:
                numbers[key] = int(value)
            sources[key] = where
    return ReadinessSettings(numbers, lists, backup_rule, sources)


def _parse_waiver(r: _Reader, item: LineDict, profile: str) -> Waiver | None:
    r.known_keys(
        item, ("rule", "host", "asset", "reason", "approved_by", "decision", "expires"), "a waiver"
    )
    rule = r.text(item, "rule")
    host = r.text(item, "host", required=False)
    asset = r.text(item, "asset", required=False)
    if bool(host) == bool(asset):
        r.error(
            item,
            "asset" if asset else "host",
            "a waiver names exactly one machine: host (exact name) or asset (exact tag)",
        )
    reason = r.text(item, "reason")
    approved_by = r.text(item, "approved_by")
    decision = r.text(item, "decision")
    if "expires" not in item:
        r.error(
            item,
            None,
            "a waiver needs an expiry date ('expires: YYYY-MM-DD'): waivers never last forever",
        )
        return None
    expires = r.day(item, "expires")
    if not (
        rule
        and (host or asset)
        and bool(host) != bool(asset)
        and reason
        and approved_by
        and decision
        and expires
    ):
        return None
    return Waiver(rule, host, asset, reason, approved_by, decision, expires, profile, r.where(item))


# -- the set -------------------------------------------------------------------------
@dataclass
class ProfileSet:
    """All profiles, catalogues and frameworks of a workspace, validated."""

    root: Path | None
    files: dict[str, ProfileFile]
    catalogs: dict[str, Catalog]
    frameworks: dict[str, Framework]
    effective: dict[str, EffectiveProfile] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)

    def profile(self, name: str) -> EffectiveProfile:
        found = self.effective.get(name)
        if found is None:
            known = ", ".join(sorted(self.effective)) or "none"
            raise UsageError(f"no profile {name!r} (profiles: {known})")
        return found

    def rules(self) -> dict[str, Rule]:
        """Every rule defined in any profile file, by id."""
        out: dict[str, Rule] = {}
        for pf in self.files.values():
            for rule in pf.rules:
                out.setdefault(rule.id, rule)
        return out

    def base(self) -> EffectiveProfile | None:
        """The root profile (extends nothing) that most profiles build on."""
        roots = [n for n, f in self.files.items() if f.extends is None]
        if not roots:
            return None
        roots.sort(key=lambda n: -sum(1 for e in self.effective.values() if n in e.chain))
        return self.effective.get(roots[0])

    def leaves(self) -> list[str]:
        extended = {f.extends for f in self.files.values() if f.extends}
        return sorted(n for n in self.files if n not in extended)


def _chain(
    name: str, files: dict[str, ProfileFile], problems: list[Problem]
) -> tuple[str, ...] | None:
    chain = [name]
    current = files[name]
    while current.extends:
        parent = current.extends
        where = current.where_extends or Where(current.path)
        if parent in chain:
            cycle = " → ".join([*chain[chain.index(parent) :], parent])
            problems.append(Problem(where.source, f"cycle {cycle}", where.line, "extends"))
            return None
        if parent not in files:
            known = ", ".join(sorted(files)) or "none"
            problems.append(
                Problem(
                    where.source,
                    f"{parent!r} is not a profile (profiles: {known})",
                    where.line,
                    "extends",
                )
            )
            return None
        chain.append(parent)
        current = files[parent]
    return tuple(chain)


def _effective(
    name: str,
    chain: tuple[str, ...],
    files: dict[str, ProfileFile],
    problems: list[Problem],
    check_required: bool,
) -> EffectiveProfile:
    rules: dict[str, Rule] = {}
    values: dict[str, dict[str, ParamValue]] = {}
    disabled: dict[str, Disabled] = {}
    waivers: list[Waiver] = []
    for pname in reversed(chain):  # base first, so children override
        pf = files[pname]
        r = _Reader(pf.path, problems)
        for rule in pf.rules:
            if rule.id in rules:
                if pname == name:
                    problems.append(
                        Problem(
                            pf.path,
                            f"rule {rule.id} is already defined in {rules[rule.id].where}: change it with params, or disable it",
                            rule.where.line,
                            "id",
                        )
                    )
                continue
            rules[rule.id] = rule
            values[rule.id] = {
                p.name: ParamValue(p.default, p.where, "default")
                for p in rule.params.values()
                if p.has_default
            }
        for rule_id, overrides in pf.params.items():
            target = rules.get(rule_id)
            if target is None:
                first = next(iter(overrides.values()))[1]
                problems.append(
                    Problem(
                        pf.path,
                        f"params for {rule_id}, which is not a rule of this profile",
                        first.line,
                        rule_id,
                    )
                )
                continue
            for pname_, (value, where) in overrides.items():
                spec = target.params.get(pname_)
                if spec is None:
                    known = ", ".join(sorted(target.params)) or "none"
                    problems.append(
                        Problem(
                            pf.path,
                            f"{rule_id} has no parameter {pname_!r} (parameters: {known})",
                            where.line,
                            pname_,
                        )
                    )
                    continue
                probe = LineDict({pname_: value})
                probe.lines = {pname_: where.line or 0}
                if _param_ok(r, probe, pname_, value, spec.type, spec.minimum, spec.maximum):
                    values[rule_id][pname_] = ParamValue(value, where, pf.name)
        for d in pf.disabled:
            if d.rule not in rules:
                problems.append(
                    Problem(
                        pf.path,
                        f"disables {d.rule}, which is not a rule of this profile",
                        d.where.line,
                        "rule",
                    )
                )
                continue
            disabled[d.rule] = d
        for w in pf.waivers:
            if w.rule not in rules:
                problems.append(
                    Problem(
                        pf.path,
                        f"waiver for {w.rule}, which is not a rule of this profile",
                        w.where.line,
                        "rule",
                    )
                )
                continue
            if rules[w.rule].scope != "host":
                problems.append(
                    Problem(
                        pf.path,
                        f"waiver for {w.rule}: waivers are for machine rules; {w.rule} is unit-wide",
                        w.where.line,
                        "rule",
                    )
                )
                continue
            waivers.append(w)
    effective_rules = []
    for rule in rules.values():
        params = values[rule.id]
        if check_required and rule.id not in disabled:
            for spec in rule.params.values():
                if spec.name not in params:
                    pf = files[name]
                    problems.append(
                        Problem(
                            pf.path,
                            f"{rule.id} needs parameter {spec.name!r} ({spec.description or spec.type_name}): set it under params: {rule.id}:",
                            None,
                            "params",
                        )
                    )
        effective_rules.append(EffectiveRule(rule, params, disabled.get(rule.id)))
    readiness = _effective_readiness([files[p] for p in reversed(chain)], rules, problems)
    return EffectiveProfile(
        name, chain, files[name].title, tuple(effective_rules), tuple(waivers), readiness
    )


def _cross_check(ps: ProfileSet, problems: list[Problem], warnings: list[Problem]) -> None:
    rules = ps.rules()
    served: dict[str, set[tuple[str, str]]] = {rid: set() for rid in rules}
    for fw in ps.frameworks.values():
        for req in fw.requirements:
            for rid in req.rules:
                if rid not in rules:
                    problems.append(
                        Problem(
                            req.where.source,
                            f"requirement {req.id} names rule {rid}, which no profile defines",
                            req.where.line,
                            "rules",
                        )
                    )
                    continue
                served[rid].add((fw.id, req.id))
    for rule in rules.values():
        for fw_id, clauses in rule.references.items():
            framework = ps.frameworks.get(fw_id)
            if framework is None:
                known = ", ".join(sorted(ps.frameworks)) or "none"
                problems.append(
                    Problem(
                        rule.where.source,
                        f"{rule.id} cites framework {fw_id!r}, which has no file in frameworks/ (frameworks: {known})",
                        rule.where.line,
                        "references",
                    )
                )
                continue
            for clause in clauses:
                found = framework.requirement(clause)
                if found is None:
                    problems.append(
                        Problem(
                            rule.where.source,
                            f"{rule.id} cites {fw_id} {clause!r}, which is not a requirement of {framework.where.source}",
                            rule.where.line,
                            "references",
                        )
                    )
                elif rule.id not in found.rules:
                    problems.append(
                        Problem(
                            found.where.source,
                            f"requirement {clause} does not list {rule.id}, which cites it ({rule.where})",
                            found.where.line,
                            "rules",
                        )
                    )
        cited = {(fw, c) for fw, cs in rule.references.items() for c in cs}
        for fw_id, req_id in served[rule.id] - cited:
            listing = ps.frameworks[fw_id].requirement(req_id)
            assert listing is not None
            problems.append(
                Problem(
                    rule.where.source,
                    f"{rule.id} is listed by {fw_id} requirement {req_id} ({listing.where}) but does not cite it under references",
                    rule.where.line,
                    "references",
                )
            )
        if not served[rule.id] and not cited:
            warnings.append(
                Problem(
                    rule.where.source,
                    f"{rule.id} serves no requirement of any framework",
                    rule.where.line,
                    "references",
                    "warning",
                )
            )


def _first_key(path: Path) -> str | None:
    """The first of framework/catalog/profile found at the start of a line."""
    try:
        with open(path, encoding="utf-8-sig") as fh:
            head = fh.read(16384)
    except (OSError, UnicodeDecodeError):
        return None
    for line in head.splitlines():
        for key in ("framework", "catalog", "profile"):
            if line.startswith(key + ":"):
                return key
    return None


def _classify(path: Path) -> str:
    """profile, catalog or framework, from the file's folder or its first key."""
    if path.parent.name == "frameworks":
        return "framework"
    return _first_key(path) or "profile"


def validate_profiles(
    root: Path | None,
    inventory: Path | None = None,
    extra: list[Path] | tuple[Path, ...] = (),
) -> tuple[ProfileSet | None, list[Problem]]:
    """Load every profile, catalogue and framework under `root` (plus `extra` files).

    Returns the set (None when there are errors) and every problem, warnings
    included. Extra files replace workspace files of the same name.
    """
    problems: list[Problem] = []
    paths: dict[tuple[str, str], Path] = {}
    if root is not None and root.is_dir():
        for p in sorted(root.glob("*.yaml")):
            paths[("profile", p.stem)] = p
        for p in sorted((root / "units").glob("*.yaml")):
            key = ("profile", p.stem)
            if key in paths:
                problems.append(
                    Problem(str(p), f"a profile named {p.stem!r} already exists ({paths[key]})")
                )
                continue
            paths[key] = p
        for p in sorted((root / "frameworks").glob("*.yaml")):
            paths[("framework", p.stem)] = p
        for p in sorted((root / "data").glob("*.yaml")):
            # data/ is shared with other components (the scan's port list):
            # a catalogue is a file that says `catalog:`.
            if _first_key(p) == "catalog":
                paths[("catalog", p.stem)] = p
    elif root is not None and not extra:
        problems.append(
            Problem(
                str(root), "no profiles folder here (expected level1.yaml, units/, frameworks/)"
            )
        )
        return None, problems
    for p in extra:
        if not p.is_file():
            problems.append(Problem(str(p), "no such file"))
            continue
        paths[(_classify(p), p.stem)] = p
    if root is not None and root.is_dir() and not any(kind == "profile" for kind, _ in paths):
        # A mistyped folder must not pass as "0 errors": there is nothing to check there.
        problems.append(
            Problem(
                str(root),
                "no profile here (expected level1.yaml and units/<unit>.yaml: see docs/profiles.md)",
            )
        )
        return None, problems

    catalogs: dict[str, Catalog] = {}
    for (kind, _stem), p in sorted(paths.items()):
        if kind == "catalog":
            cat = _load_catalog(p, problems)
            if cat is not None:
                catalogs[cat.name] = cat
    adv_folder = inventory / "advisories" if inventory is not None else None
    if adv_folder is not None:
        catalogs[ADVISORIES] = load_advisories(adv_folder, problems)
    else:
        catalogs[ADVISORIES] = Catalog(ADVISORIES, "Security advisories", dict(ADVISORY_FIELDS), ())
    frameworks: dict[str, Framework] = {}
    for (kind, _stem), p in sorted(paths.items()):
        if kind == "framework":
            fw = _load_framework(p, problems)
            if fw is not None:
                frameworks[fw.id] = fw
    files: dict[str, ProfileFile] = {}
    for (kind, _stem), p in sorted(paths.items()):
        if kind == "profile":
            pf = _load_profile_file(p, problems, catalogs)
            if pf is not None:
                files[pf.name] = pf
    ps = ProfileSet(root, files, catalogs, frameworks)
    extended = {f.extends for f in files.values() if f.extends}
    for name in sorted(files):
        chain = _chain(name, files, problems)
        if chain is None:
            continue
        ps.effective[name] = _effective(
            name, chain, files, problems, check_required=name not in extended
        )
    warnings: list[Problem] = []
    _cross_check(ps, problems, warnings)
    problems.extend(warnings)
    problems[:] = list(dict.fromkeys(problems))  # a parent's problem is met once per child
    ps.warnings = [p for p in problems if p.severity != "error"]
    if any(p.severity == "error" for p in problems):
        return None, problems
    return ps, problems


def load_profiles(root: Path, inventory: Path | None = None) -> ProfileSet:
    """The workspace's profiles; any error raises InputError with every problem."""
    ps, problems = validate_profiles(root, inventory)
    errors = [p for p in problems if p.severity == "error"]
    if ps is None or errors:
        raise InputError(errors or problems)
    return ps


def unit_profile_problems(ps: ProfileSet, org: Any) -> list[Problem]:
    """Units whose `profile` names no profile; waivers naming machines not in the register."""
    problems: list[Problem] = []
    tags = {a.tag for a in org.assets}
    names = {(a.hostname or "").lower() for a in org.assets if a.hostname}
    for unit in org.units:
        if unit.profile not in ps.effective:
            problems.append(
                Problem(
                    "organization.yaml",
                    f"unit {unit.id}: profile {unit.profile!r} is not in profiles/ (profiles: {', '.join(sorted(ps.effective))})",
                    unit.line,
                    "profile",
                )
            )
    for eff in ps.effective.values():
        for w in eff.waivers:
            if w.profile != eff.name:
                continue
            if w.asset and w.asset not in tags:
                problems.append(
                    Problem(
                        w.where.source,
                        f"waiver for asset {w.asset!r}, which is not in the register",
                        w.where.line,
                        "asset",
                        "warning",
                    )
                )
            if w.host and w.host.lower() not in names:
                problems.append(
                    Problem(
                        w.where.source,
                        f"waiver for host {w.host!r}, which is not in the register (it may still report)",
                        w.where.line,
                        "host",
                        "warning",
                    )
                )
    return problems


def _plain(value: Any) -> Any:
    """LineDict/LineList to plain dicts and lists (values kept)."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


__all__ = [
    "ADVISORIES",
    "ProfileSet",
    "load_advisories",
    "load_profiles",
    "unit_profile_problems",
    "validate_profiles",
]


def _article(word: object) -> str:
    return "an" if str(word)[:1] in "aeiou" else "a"

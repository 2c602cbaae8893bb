"""Rule conditions: parsing and type-checking the YAML into a small syntax tree.

A condition is a tree of mappings. A logical node has one key (`all`, `any`,
`none`: a list of conditions; `not`: one condition). A test has one *subject*
and one *comparison*:

    {fact: security.screen_lock.timeout_seconds, le: {param: max_seconds}}
    {count: {fact: security.local_admins, where: {not: {item: name, in: {param: allowed}}}}, equals: 0}
    {age_days: patches.last_install_at, le: 35}
    {lookup: {catalog: os-support, field: end_of_support}, after: {fact: $now}}
    {release_age: {catalog: windows-releases, max_table_age: {param: max_table_days}}, le: 35}

Subjects: `fact`, `item`, `param`, `count`, `age_days`, `lookup`, `release_age`. Comparisons:
`exists`, `equals`, `in`, `ge` `gt` `le` `lt`, `version_ge` `version_gt`
`version_le` `version_lt`, `before` `after`, `contains`, `in_networks`.
Nothing is ever evaluated as code: the tree is compiled into closures by
`itaudit.check.operators`. Every mistake is reported with its file and line.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from itaudit.errors import Problem
from itaudit.profiles.types import (
    BOOLEAN,
    DATETIME,
    INTEGER,
    NAMESPACES,
    NETWORK,
    NOW,
    NUMBER,
    FType,
    list_of,
    report_fact_types,
    report_path_type,
    type_of_value,
    value_fits,
)
from itaudit.yamlfile import LineDict, LineList

if TYPE_CHECKING:
    from itaudit.profiles.model import Catalog, ParamSpec

LOGIC = ("all", "any", "none", "not")
SUBJECTS = ("fact", "item", "param", "count", "age_days", "lookup", "release_age")
# What a release table (`release_age`) must declare, and the report facts it is matched on.
RELEASE_FIELDS = {
    "build": "integer",
    "revision": "integer",
    "released": "date",
    "server": "boolean",
}
RELEASE_FACTS = ("os.build", "os.patch_revision", "os.server")
COMPARISONS = (
    "exists",
    "equals",
    "in",
    "ge",
    "gt",
    "le",
    "lt",
    "version_ge",
    "version_gt",
    "version_le",
    "version_lt",
    "before",
    "after",
    "contains",
    "in_networks",
)
MODIFIERS = ("ignore_case",)
SYMBOLS = {
    "equals": "=",
    "ge": "≥",
    "gt": ">",
    "le": "≤",
    "lt": "<",
    "version_ge": "≥",
    "version_gt": ">",
    "version_le": "≤",
    "version_lt": "<",
    "before": "before",
    "after": "after",
    "in": "in",
    "contains": "contains",
    "in_networks": "in",
}
_VERSION_RE = re.compile(r"^[0-9]+(\.[0-9]+)*$")
MAX_DEPTH = 32


# -- syntax tree ----------------------------------------------------------------
@dataclass(frozen=True)
class Node:
    line: int


@dataclass(frozen=True)
class Logic(Node):
    op: str  # all, any, none
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not(Node):
    child: Node


@dataclass(frozen=True)
class Ref:
    """A value read at evaluation time."""

    kind: str  # report, ns, item, param, now
    path: str  # as written (report path, `$ns.field`, item-relative path, param name)
    ftype: FType
    parts: tuple[str, ...] = ()  # path split for the getter (report/ns/item)

    def label(self) -> str:
        if self.kind == "param":
            return f"param {self.path}"
        return self.path


@dataclass(frozen=True)
class Literal:
    value: Any
    ftype: FType


@dataclass(frozen=True)
class Count:
    source: Ref | None  # the collection (report/ns path or item path)
    catalog: str | None  # or a catalogue's entries
    where: Node | None
    label: str | None  # item field naming matched items in the evidence

    def label_text(self) -> str:
        what = (
            f"catalogue {self.catalog}"
            if self.catalog
            else self.source.path
            if self.source
            else "?"
        )
        return f"count of {what}" + (" where …" if self.where else "")


@dataclass(frozen=True)
class AgeDays:
    target: Ref


@dataclass(frozen=True)
class Lookup:
    catalog: str
    field: str
    ftype: FType


@dataclass(frozen=True)
class ReleaseAge:
    """Days since the oldest release of the machine's build that it lacks.

    Read from a release table (a catalogue with build, revision, released,
    server); `max_table_age` is a literal number of days or a parameter.
    """

    catalog: str
    max_table_age: Ref | Literal


Subject = Ref | Count | AgeDays | Lookup | ReleaseAge


@dataclass(frozen=True)
class Test(Node):
    subject: Subject
    op: str
    operand: Ref | Literal
    ignore_case: bool = False
    leaf: int | None = None  # evidence slot; None for tests inside a `where`


def subject_type(subject: Subject) -> FType:
    if isinstance(subject, Ref):
        return subject.ftype
    if isinstance(subject, Count):
        return INTEGER
    if isinstance(subject, AgeDays | ReleaseAge):
        return NUMBER
    return subject.ftype


def iter_tests(node: Node | None):
    """Every test of a tree, outer first (tests inside `where` included)."""
    if node is None:
        return
    if isinstance(node, Logic):
        for child in node.children:
            yield from iter_tests(child)
    elif isinstance(node, Not):
        yield from iter_tests(node.child)
    elif isinstance(node, Test):
        yield node
        if isinstance(node.subject, Count):
            yield from iter_tests(node.subject.where)


def parse_version(text: str) -> tuple[int, ...] | None:
    """`10.0.22631` -> (10, 0, 22631); None when not a dotted number."""
    text = text.strip()
    if not _VERSION_RE.match(text):
        return None
    return tuple(int(p) for p in text.split("."))


# -- parsing --------------------------------------------------------------------
@dataclass(frozen=True)
class _Scope:
    """What `item:` means inside a `where`."""

    kind: str  # report (items of a report array), value (scalar items), catalog
    prefix: str = ""  # report: schema path of one item, e.g. security.antivirus[]
    ftype: FType | None = None  # value: the item type
    catalog: str | None = None


class ConditionParser:
    """Turns a condition mapping into a `Node`, appending problems instead of raising."""

    def __init__(
        self,
        source: str,
        problems: list[Problem],
        params: dict[str, ParamSpec],
        catalogs: dict[str, Catalog],
        namespaces: frozenset[str],
    ):
        self.source = source
        self.problems = problems
        self.params = params
        self.catalogs = catalogs
        self.namespaces = namespaces
        self.leaves = 0
        self.reads_report = False
        self.used_params: set[str] = set()
        self.report_paths: set[str] = set()

    def error(self, line: int | None, message: str, field: str | None = None) -> None:
        self.problems.append(Problem(self.source, message, line, field))

    # -- entry point ------------------------------------------------------------
    def parse(self, value: Any, line: int, field: str = "condition") -> Node | None:
        return self._node(value, line, field, (), 0)

    def _node(
        self, value: Any, line: int, field: str, scopes: tuple[_Scope, ...], depth: int
    ) -> Node | None:
        if depth > MAX_DEPTH:
            self.error(line, f"nested more than {MAX_DEPTH} levels deep", field)
            return None
        if not isinstance(value, LineDict) or not value:
            self.error(line, "a condition must be a mapping (all/any/none/not, or a test)", field)
            return None
        line = value.line
        logic = [k for k in value if k in LOGIC]
        if logic:
            key = logic[0]
            extra = [k for k in value if k != key]
            if extra:
                self.error(
                    value.line_of(extra[0]),
                    f"'{key}' stands alone: move {', '.join(map(repr, extra))} into its own condition",
                    field,
                )
                return None
            inner = value[key]
            kline = value.line_of(key)
            if key == "not":
                child = self._node(inner, kline, f"{field}.not", scopes, depth + 1)
                return Not(line, child) if child is not None else None
            if not isinstance(inner, LineList) or not inner:
                self.error(kline, f"'{key}' takes a non-empty list of conditions", field)
                return None
            children = []
            for i, item in enumerate(inner):
                child = self._node(item, inner.line_of(i), f"{field}.{key}[{i}]", scopes, depth + 1)
                if child is not None:
                    children.append(child)
            if len(children) != len(inner):
                return None
            return Logic(line, key, tuple(children))
        return self._test(value, field, scopes, depth)

    def _test(
        self, value: LineDict, field: str, scopes: tuple[_Scope, ...], depth: int
    ) -> Test | None:
        unknown = [k for k in value if k not in SUBJECTS + COMPARISONS + MODIFIERS]
        if unknown:
            key = unknown[0]
            self.error(
                value.line_of(key),
                f"unknown operator {key!r}; logic: {', '.join(LOGIC)}; subjects: "
                f"{', '.join(SUBJECTS)}; comparisons: {', '.join(COMPARISONS)}",
                field,
            )
            return None
        subjects = [k for k in value if k in SUBJECTS]
        comparisons = [k for k in value if k in COMPARISONS]
        if len(subjects) != 1:
            self.error(
                value.line,
                "a test names exactly one subject ("
                + ", ".join(SUBJECTS)
                + ")"
                + (f"; found {', '.join(subjects)}" if subjects else ""),
                field,
            )
            return None
        if len(comparisons) != 1:
            self.error(
                value.line,
                f"a test has exactly one comparison ({', '.join(COMPARISONS)})"
                + (f"; found {', '.join(comparisons)}" if comparisons else ""),
                field,
            )
            return None
        skey, op = subjects[0], comparisons[0]
        subject = self._subject(skey, value[skey], value.line_of(skey), field, scopes, depth)
        if subject is None:
            return None
        ignore_case = value.get("ignore_case", False)
        if not isinstance(ignore_case, bool):
            self.error(value.line_of("ignore_case"), "ignore_case must be true or false", field)
            return None
        operand = self._operand(op, value[op], value.line_of(op), subject, field, scopes)
        if operand is None:
            return None
        if ignore_case and op not in ("equals", "in", "contains"):
            self.error(value.line_of("ignore_case"), f"ignore_case does not apply to '{op}'", field)
            return None
        leaf = None
        if not scopes:
            leaf = self.leaves
            self.leaves += 1
        return Test(value.line, subject, op, operand, ignore_case, leaf)

    # -- subjects -----------------------------------------------------------------
    def _subject(
        self,
        key: str,
        raw: Any,
        line: int,
        field: str,
        scopes: tuple[_Scope, ...],
        depth: int,
    ) -> Subject | None:
        if key in ("fact", "item", "param"):
            return self._ref(key, raw, line, field, scopes)
        if key == "age_days":
            if isinstance(raw, LineDict):
                keys = [k for k in raw if k in ("fact", "item")]
                if len(raw) != 1 or len(keys) != 1:
                    self.error(
                        line, "age_days takes a fact path, or {fact: PATH} / {item: PATH}", field
                    )
                    return None
                target = self._ref(keys[0], raw[keys[0]], raw.line_of(keys[0]), field, scopes)
            else:
                target = self._ref("fact", raw, line, field, scopes)
            if target is None:
                return None
            if not target.ftype.temporal:
                self.error(
                    line,
                    f"age_days needs a date or date-time, but {target.path} is {target.ftype}",
                    field,
                )
                return None
            return AgeDays(target)
        if key == "lookup":
            return self._lookup(raw, line, field)
        if key == "release_age":
            return self._release_age(raw, line, field, scopes)
        return self._count(raw, line, field, scopes, depth)

    def _ref(
        self, key: str, raw: Any, line: int, field: str, scopes: tuple[_Scope, ...]
    ) -> Ref | None:
        if not isinstance(raw, str) or not raw.strip():
            self.error(line, f"'{key}' takes a path written as text", field)
            return None
        path = raw.strip()
        if key == "param":
            spec = self.params.get(path)
            if spec is None:
                known = ", ".join(sorted(self.params)) or "none"
                self.error(line, f"unknown parameter {path!r} (this rule declares: {known})", field)
                return None
            self.used_params.add(path)
            return Ref("param", path, spec.type)
        if key == "item":
            if not scopes:
                self.error(line, "'item' is only meaningful inside a count's 'where'", field)
                return None
            return self._item_ref(path, line, field, scopes[-1])
        if path.startswith("$"):
            return self._ns_ref(path, line, field)
        ftype = report_path_type(path)
        if ftype is None:
            hint = _closest(path, report_fact_types())
            self.error(
                line,
                f"unknown fact {path!r}: the HostReport schema has no such field"
                + (f" (did you mean {hint!r}?)" if hint else "")
                + "; context facts start with $ ($asset, $unit, $host, $lan, $org, $now)",
                field,
            )
            return None
        self.reads_report = True
        self.report_paths.add(path)
        return Ref("report", path, ftype, tuple(path.split(".")))

    def _ns_ref(self, path: str, line: int, field: str) -> Ref | None:
        if path == NOW:
            return Ref("now", path, DATETIME)
        body = path[1:]
        ns, _, name = body.partition(".")
        if ns == "params":
            spec = self.params.get(name)
            if spec is None:
                self.error(line, f"unknown parameter {name!r} in {path!r}", field)
                return None
            self.used_params.add(name)
            return Ref("param", name, spec.type)
        fields = NAMESPACES.get(ns)
        if fields is None or ns not in self.namespaces:
            allowed = ", ".join(f"${n}" for n in sorted(self.namespaces)) + ", $params, $now"
            self.error(line, f"unknown context {('$' + ns)!r} in {path!r} (here: {allowed})", field)
            return None
        ftype = fields.get(name)
        if ftype is None:
            self.error(
                line,
                f"unknown fact {path!r}: ${ns} has {', '.join(sorted(fields))}",
                field,
            )
            return None
        return Ref("ns", path, ftype, (ns, name))

    def _item_ref(self, rel: str, line: int, field: str, scope: _Scope) -> Ref | None:
        if scope.kind == "catalog":
            catalog = self.catalogs[scope.catalog or ""]
            ftype = catalog.fields.get(rel)
            if ftype is None:
                self.error(
                    line,
                    f"catalogue {scope.catalog!r} has no field {rel!r} (fields: {', '.join(sorted(catalog.fields))})",
                    field,
                )
                return None
            return Ref("item", rel, ftype, (rel,))
        if scope.kind == "value":
            if rel != ".":
                self.error(
                    line, f"these items are single values: write 'item: .', not {rel!r}", field
                )
                return None
            assert scope.ftype is not None
            return Ref("item", rel, scope.ftype, ())
        if rel == ".":
            ftype = report_fact_types().get(scope.prefix)
            assert ftype is not None
            return Ref("item", rel, ftype, ())
        full = f"{scope.prefix}.{rel}"
        one = None if full.endswith("[]") else report_fact_types().get(full)
        # One item's field is one value; through a `[]` of its own it is a list.
        ftype = (
            None
            if one is None
            else (one if "[]" not in rel or one.kind == "list" else list_of(one))
        )
        if ftype is None:
            self.error(
                line,
                f"unknown field {rel!r} of {scope.prefix!r} items (no {full!r} in the HostReport schema)",
                field,
            )
            return None
        self.reads_report = True
        return Ref("item", rel, ftype, tuple(rel.split(".")))

    def _lookup(self, raw: Any, line: int, field: str) -> Lookup | None:
        if not isinstance(raw, LineDict) or set(raw) != {"catalog", "field"}:
            self.error(line, "lookup takes {catalog: NAME, field: FIELD}", field)
            return None
        name, fname = raw["catalog"], raw["field"]
        catalog = self.catalogs.get(name) if isinstance(name, str) else None
        if catalog is None:
            self.error(
                raw.line_of("catalog"),
                f"unknown catalogue {name!r} (known: {', '.join(sorted(self.catalogs)) or 'none'})",
                field,
            )
            return None
        if not catalog.matches:
            self.error(
                raw.line_of("catalog"),
                f"catalogue {name!r} has no 'match' entries: it cannot be looked up (use count)",
                field,
            )
            return None
        ftype = catalog.fields.get(fname) if isinstance(fname, str) else None
        if ftype is None:
            self.error(
                raw.line_of("field"),
                f"catalogue {name!r} has no field {fname!r} (fields: {', '.join(sorted(catalog.fields))})",
                field,
            )
            return None
        for entry in catalog.matches:
            for path, _values in entry:
                self.reads_report = True
                self.report_paths.add(path)
        return Lookup(name, fname, ftype)

    def _release_age(
        self, raw: Any, line: int, field: str, scopes: tuple[_Scope, ...]
    ) -> ReleaseAge | None:
        if not isinstance(raw, LineDict) or set(raw) != {"catalog", "max_table_age"}:
            self.error(line, "release_age takes {catalog: NAME, max_table_age: DAYS}", field)
            return None
        name = raw["catalog"]
        catalog = self.catalogs.get(name) if isinstance(name, str) else None
        if catalog is None:
            self.error(
                raw.line_of("catalog"),
                f"unknown catalogue {name!r} (known: {', '.join(sorted(self.catalogs)) or 'none'})",
                field,
            )
            return None
        lacking = [
            f"{f} ({kind})"
            for f, kind in RELEASE_FIELDS.items()
            if f not in catalog.fields or catalog.fields[f].kind != kind
        ]
        if lacking:
            self.error(
                raw.line_of("catalog"),
                f"catalogue {name!r} is not a release table: it lacks {', '.join(lacking)}",
                field,
            )
            return None
        if catalog.as_of is None:
            self.error(
                raw.line_of("catalog"),
                f"catalogue {name!r} has no as_of date: a release table must say how recent it is",
                field,
            )
            return None
        # An old table silently passes machines that lack newer releases: the limit is required.
        limit = self._value(raw["max_table_age"], raw.line_of("max_table_age"), field, scopes)
        if limit is None:
            return None
        if not limit.ftype.numeric or (isinstance(limit, Ref) and limit.kind != "param"):
            self.error(
                raw.line_of("max_table_age"),
                "max_table_age is a number of days or {param: NAME}",
                field,
            )
            return None
        self.reads_report = True
        self.report_paths.update(RELEASE_FACTS)
        return ReleaseAge(name, limit)

    def _count(
        self, raw: Any, line: int, field: str, scopes: tuple[_Scope, ...], depth: int
    ) -> Count | None:
        if not isinstance(raw, LineDict):
            self.error(
                line, "count takes {fact|item|catalog: ..., where: CONDITION, label: FIELD}", field
            )
            return None
        unknown = [k for k in raw if k not in ("fact", "item", "catalog", "where", "label")]
        if unknown:
            self.error(
                raw.line_of(unknown[0]),
                f"count does not take {unknown[0]!r} (fact, item, catalog, where, label)",
                field,
            )
            return None
        sources = [k for k in raw if k in ("fact", "item", "catalog")]
        if len(sources) != 1:
            self.error(raw.line, "count needs exactly one of fact, item, catalog", field)
            return None
        key = sources[0]
        source: Ref | None = None
        catalog: str | None = None
        if key == "catalog":
            catalog = raw["catalog"]
            if not isinstance(catalog, str) or catalog not in self.catalogs:
                self.error(
                    raw.line_of("catalog"),
                    f"unknown catalogue {catalog!r} (known: {', '.join(sorted(self.catalogs)) or 'none'})",
                    field,
                )
                return None
            scope = _Scope("catalog", catalog=catalog)
        else:
            source = self._ref(key, raw[key], raw.line_of(key), field, scopes)
            if source is None:
                return None
            if source.ftype.kind != "list" or source.ftype.item is None:
                self.error(
                    raw.line_of(key),
                    f"count needs a list, but {source.path} is {source.ftype}",
                    field,
                )
                return None
            scope = self._scope_of(source, scopes)
        label = raw.get("label")
        if label is not None and (
            not isinstance(label, str)
            or self._item_ref(label, raw.line_of("label"), field, scope) is None
        ):
            if not isinstance(label, str):
                self.error(raw.line_of("label"), "label must be an item field name", field)
            return None
        where = None
        if "where" in raw:
            where = self._node(
                raw["where"], raw.line_of("where"), f"{field}.where", (*scopes, scope), depth + 1
            )
            if where is None:
                return None
        return Count(source, catalog, where, label)

    def _scope_of(self, source: Ref, scopes: tuple[_Scope, ...]) -> _Scope:
        assert source.ftype.item is not None
        prefix = None
        if source.kind == "report":
            prefix = source.path + "[]"
        elif source.kind == "item" and scopes and scopes[-1].kind == "report":
            prefix = f"{scopes[-1].prefix}.{source.path}[]"
        if prefix is not None and prefix in report_fact_types():
            return _Scope("report", prefix=prefix)
        # Values gathered through `[]` (or context lists) are plain items: `item: .`
        return _Scope("value", ftype=source.ftype.item)

    # -- comparisons ----------------------------------------------------------------
    def _operand(
        self,
        op: str,
        raw: Any,
        line: int,
        subject: Subject,
        field: str,
        scopes: tuple[_Scope, ...],
    ) -> Ref | Literal | None:
        stype = subject_type(subject)
        what = _describe_subject(subject)
        if op == "exists":
            if isinstance(subject, Count):
                self.error(
                    line,
                    "a count always exists when its list does; compare it with a number",
                    field,
                )
                return None
            if not isinstance(raw, bool):
                self.error(line, "exists takes true or false", field)
                return None
            return Literal(raw, BOOLEAN)
        if stype.kind == "list" and op not in ("contains",):
            self.error(
                line,
                f"{what} is a {stype}: use 'contains', or 'count' to compare its items",
                field,
            )
            return None
        operand = self._value(raw, line, field, scopes)
        if operand is None:
            return None
        otype = operand.ftype
        if op == "equals":
            if not stype.accepts(otype):
                self.error(line, f"type mismatch: {what} is {stype}, compared with {otype}", field)
                return None
            if isinstance(operand, Literal) and stype.values and operand.value not in stype.values:
                self.error(line, f"{operand.value!r} can never equal {what} ({stype})", field)
                return None
            return self._coerce(operand, stype, line, field)
        if op == "in":
            if otype.kind != "list" or otype.item is None:
                self.error(line, f"'in' takes a list, got {otype}", field)
                return None
            if not stype.accepts(otype.item) and not (
                isinstance(operand, Literal) and not operand.value
            ):
                self.error(
                    line, f"type mismatch: {what} is {stype}, listed values are {otype.item}", field
                )
                return None
            if isinstance(operand, Literal) and stype.values:
                bad = [v for v in operand.value if v not in stype.values]
                if bad:
                    self.error(line, f"{bad[0]!r} can never equal {what} ({stype})", field)
                    return None
            return operand
        if op in ("ge", "gt", "le", "lt"):
            if not stype.numeric:
                hint = (
                    " (use before/after for dates, version_* for versions)"
                    if stype.kind != "boolean"
                    else ""
                )
                self.error(line, f"'{op}' compares numbers, but {what} is {stype}{hint}", field)
                return None
            if not otype.numeric:
                self.error(line, f"type mismatch: '{op}' needs a number, got {otype}", field)
                return None
            return operand
        if op.startswith("version_"):
            if stype.kind != "string":
                self.error(
                    line, f"'{op}' compares dotted version strings, but {what} is {stype}", field
                )
                return None
            if isinstance(operand, Literal):
                if not isinstance(operand.value, str) or parse_version(operand.value) is None:
                    self.error(
                        line, f"{operand.value!r} is not a dotted version such as 10.0.22631", field
                    )
                    return None
            elif otype.kind != "string":
                self.error(
                    line, f"type mismatch: '{op}' needs a version string, got {otype}", field
                )
                return None
            return operand
        if op in ("before", "after"):
            if not stype.temporal:
                self.error(line, f"'{op}' compares dates, but {what} is {stype}", field)
                return None
            operand = self._coerce(operand, stype, line, field)
            if operand is None:
                return None
            if not operand.ftype.temporal:
                self.error(line, f"type mismatch: '{op}' needs a date, got {operand.ftype}", field)
                return None
            return operand
        if op == "contains":
            if stype.kind != "list" or stype.item is None:
                self.error(line, f"'contains' needs a list, but {what} is {stype}", field)
                return None
            if not stype.item.accepts(otype):
                self.error(
                    line, f"type mismatch: {what} holds {stype.item}, looked for {otype}", field
                )
                return None
            return operand
        # in_networks
        if stype.kind not in ("ip", "string"):
            self.error(line, f"'in_networks' needs an IP address, but {what} is {stype}", field)
            return None
        if isinstance(operand, Literal):
            values = operand.value if isinstance(operand.value, list) else [operand.value]
            try:
                nets = tuple(ipaddress.ip_network(v, strict=False) for v in values)
            except (TypeError, ValueError):
                self.error(
                    line,
                    f"in_networks takes networks such as 10.38.0.0/23, got {operand.value!r}",
                    field,
                )
                return None
            return Literal(nets, list_of(NETWORK))
        if otype.kind == "network":
            return operand
        if otype.kind != "list" or otype.item is None or otype.item.kind != "network":
            self.error(line, f"type mismatch: in_networks needs networks, got {otype}", field)
            return None
        return operand

    def _value(
        self, raw: Any, line: int, field: str, scopes: tuple[_Scope, ...]
    ) -> Ref | Literal | None:
        if isinstance(raw, LineDict):
            keys = list(raw)
            if len(keys) != 1 or keys[0] not in ("fact", "item", "param"):
                self.error(
                    line,
                    "a value is a literal, or {fact: PATH}, {param: NAME}, {item: PATH}",
                    field,
                )
                return None
            return self._ref(keys[0], raw[keys[0]], raw.line_of(keys[0]), field, scopes)
        ftype = type_of_value(raw)
        if ftype is None:
            self.error(line, f"{raw!r} is not a value a condition can compare (mixed list?)", field)
            return None
        return Literal(_plain(raw), ftype)

    def _coerce(
        self, operand: Ref | Literal, stype: FType, line: int, field: str
    ) -> Ref | Literal | None:
        """Make a literal the subject's type where the YAML spelling is ambiguous."""
        if not isinstance(operand, Literal):
            return operand
        value = operand.value
        if stype.temporal and isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                self.error(line, f"{value!r} is not a date (YYYY-MM-DD) or date-time", field)
                return None
            return Literal(parsed, DATETIME)
        if stype.kind == "ip" and isinstance(value, str) and not value_fits(value, stype):
            self.error(line, f"{value!r} is not an IP address", field)
            return None
        if isinstance(value, date) and not isinstance(value, datetime) and not stype.temporal:
            self.error(line, f"type mismatch: {value} is a date, compared with {stype}", field)
            return None
        return operand


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _describe_subject(subject: Subject) -> str:
    if isinstance(subject, Ref):
        return subject.label()
    if isinstance(subject, Count):
        return subject.label_text()
    if isinstance(subject, AgeDays):
        return f"age in days of {subject.target.path}"
    if isinstance(subject, ReleaseAge):
        return f"release age from {subject.catalog}"
    return f"{subject.catalog}.{subject.field}"


def _closest(path: str, known: dict[str, Any]) -> str | None:
    import difflib

    found = difflib.get_close_matches(path, list(known), n=1, cutoff=0.75)
    return found[0] if found else None

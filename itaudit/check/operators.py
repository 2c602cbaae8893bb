"""Conditions compiled to closures, evaluated in three-valued logic.

A condition's syntax tree (`itaudit.profiles.conditions`) is compiled once per
effective profile into nested closures; parameters are constants by then, so
evaluating a host is only dictionary look-ups and comparisons. Nothing is ever
passed to `eval`.

Every test returns True, False or None. None means *unknown*: a fact the
report does not hold (null or absent). Logic follows Kleene: `all` is False
as soon as one part is False, else unknown if one part is unknown; `any` is
True as soon as one part is True; `not` keeps unknown. A `count` over items
whose filter is unknown is a range (2 to 3 items), and a comparison of a range
is decided only when every value in it agrees. So a missing fact never makes a
rule fail: it makes it unknown, which the checker reports as `error`.

Each top-level test records what it saw in `ctx.trace` as (leaf, value,
outcome): that is the evidence stored with the result.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from itaudit.profiles.conditions import (
    SYMBOLS,
    AgeDays,
    Count,
    Literal,
    Logic,
    Lookup,
    Node,
    Not,
    Ref,
    Subject,
    Test,
    parse_version,
    subject_type,
)
from itaudit.profiles.model import Catalog

Eval = Callable[["Ctx", Any], "bool | None"]
Getter = Callable[["Ctx", Any], Any]
MAX_LABELS = 5
NO_MATCH = "(no entry of the catalogue matches)"


class Ctx:
    """What one evaluation reads: the report, the context facts, the time."""

    __slots__ = ("doc", "now", "ns", "today", "trace")

    def __init__(self, doc: Any, ns: dict[str, dict[str, Any]], now: datetime):
        self.doc = doc
        self.ns = ns
        self.now = now
        self.today = now.date()
        self.trace: list[tuple[int, Any, bool | None]] = []


# -- value helpers --------------------------------------------------------------------
@lru_cache(maxsize=65536)
def _ip(text: str) -> Any:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def to_datetime(value: Any) -> datetime | None:
    """Report timestamps (RFC 3339 text), dates and datetimes as naive UTC."""
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _date_only(value: Any) -> bool:
    if isinstance(value, date) and not isinstance(value, datetime):
        return True
    return isinstance(value, str) and len(value) == 10


def _to_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    moment = to_datetime(value)
    return moment.date() if moment else None


# -- getters ---------------------------------------------------------------------------
def _path_getter(parts: tuple[str, ...]) -> Callable[[Any], Any]:
    """Nested look-up; `name[]` segments gather values across list items (flat)."""
    if not any(p.endswith("[]") for p in parts):
        if len(parts) == 1:
            (a,) = parts

            def get1(obj: Any) -> Any:
                try:
                    return obj[a]
                except (KeyError, TypeError, IndexError):
                    return None

            return get1
        if len(parts) == 2:
            a, b = parts

            def get2(obj: Any) -> Any:
                try:
                    return obj[a][b]
                except (KeyError, TypeError, IndexError):
                    return None

            return get2
        if len(parts) == 3:
            a, b, c = parts

            def get3(obj: Any) -> Any:
                try:
                    return obj[a][b][c]
                except (KeyError, TypeError, IndexError):
                    return None

            return get3

        def getn(obj: Any) -> Any:
            try:
                for p in parts:
                    obj = obj[p]
            except (KeyError, TypeError, IndexError):
                return None
            return obj

        return getn

    def gather(obj: Any) -> Any:
        values: list[Any] = [obj]
        fanned = False
        for part in parts:
            many = part.endswith("[]")
            key = part[:-2] if many else part
            nxt: list[Any] = []
            for v in values:
                got = v.get(key) if isinstance(v, dict) else None
                if many:
                    if not isinstance(got, list):
                        if not fanned:
                            return None  # the list itself is not reported: unknown
                        continue  # an item without this sub-list adds nothing
                    nxt.extend(got)
                else:
                    nxt.append(got)
            fanned = fanned or many
            values = nxt
        flat: list[Any] = []
        for v in values:
            if isinstance(v, list):
                flat.extend(v)
            else:
                flat.append(v)
        return flat

    return gather


def _split(path: str) -> tuple[str, ...]:
    return tuple(path.split("."))


def ref_getter(ref: Ref, params: dict[str, Any]) -> Getter:
    if ref.kind == "param":
        value = params.get(ref.path)
        return lambda ctx, item: value
    if ref.kind == "now":
        return lambda ctx, item: ctx.now
    if ref.kind == "ns":
        ns, name = ref.parts

        def ns_get(ctx: Ctx, item: Any) -> Any:
            return ctx.ns[ns].get(name)

        return ns_get
    if ref.kind == "item":
        if not ref.parts:
            return lambda ctx, item: item
        get = _path_getter(ref.parts)
        return lambda ctx, item: get(item)
    get = _path_getter(_split(ref.path))
    return lambda ctx, item: get(ctx.doc)


def _operand_getter(operand: Ref | Literal, params: dict[str, Any]) -> tuple[Getter | None, Any]:
    """(getter, constant): a constant when the operand is a literal or a parameter."""
    if isinstance(operand, Literal):
        return None, operand.value
    if operand.kind == "param":
        return None, params.get(operand.path)
    return ref_getter(operand, params), None


# -- comparisons -----------------------------------------------------------------------
def _cmp_scalar(op: str, stype_kind: str, ignore_case: bool) -> Callable[[Any, Any], bool | None]:
    """(value, operand) -> outcome; None in, None out."""
    if op == "equals":
        if stype_kind == "ip":

            def eq_ip(v: Any, o: Any) -> bool | None:
                if v is None or o is None:
                    return None
                a, b = _ip(str(v)), _ip(str(o))
                return None if a is None or b is None else a == b

            return eq_ip
        if stype_kind in ("date", "datetime"):

            def eq_t(v: Any, o: Any) -> bool | None:
                a, b = to_datetime(v), to_datetime(o)
                return None if a is None or b is None else a == b

            return eq_t
        if ignore_case:

            def eq_ci(v: Any, o: Any) -> bool | None:
                if v is None or o is None:
                    return None
                return str(v).casefold() == str(o).casefold()

            return eq_ci

        def eq(v: Any, o: Any) -> bool | None:
            if v is None or o is None:
                return None
            return v == o

        return eq
    if op == "in":
        if ignore_case:

            def in_ci(v: Any, o: Any) -> bool | None:
                if v is None or o is None:
                    return None
                return str(v).casefold() in {str(x).casefold() for x in o}

            return in_ci

        def in_(v: Any, o: Any) -> bool | None:
            if v is None or o is None:
                return None
            return v in o

        return in_
    if op in ("ge", "gt", "le", "lt"):
        import operator

        fn = {"ge": operator.ge, "gt": operator.gt, "le": operator.le, "lt": operator.lt}[op]

        def num(v: Any, o: Any) -> bool | None:
            if v is None or o is None or isinstance(v, bool):
                return None
            return fn(v, o)

        return num
    if op.startswith("version_"):
        import operator

        fn = {
            "version_ge": operator.ge,
            "version_gt": operator.gt,
            "version_le": operator.le,
            "version_lt": operator.lt,
        }[op]

        def ver(v: Any, o: Any) -> bool | None:
            if v is None or o is None:
                return None
            a, b = parse_version(str(v)), parse_version(str(o))
            if a is None or b is None:
                return None
            width = max(len(a), len(b))  # 10.0 == 10.0.0
            return fn(a + (0,) * (width - len(a)), b + (0,) * (width - len(b)))

        return ver
    if op in ("before", "after"):

        def when(v: Any, o: Any) -> bool | None:
            # A plain date on either side compares whole days: a support period
            # ending 2025-10-14 is not over during 2025-10-14.
            if _date_only(v) or _date_only(o):
                a, b = _to_date(v), _to_date(o)
            else:
                a, b = to_datetime(v), to_datetime(o)
            if a is None or b is None:
                return None
            return a < b if op == "before" else a > b  # type: ignore[operator]

        return when
    if op == "contains":

        def contains(v: Any, o: Any) -> bool | None:
            if v is None or o is None:
                return None
            if ignore_case:
                want = str(o).casefold()
                if any(x is not None and str(x).casefold() == want for x in v):
                    return True
            elif o in v:
                return True
            return None if None in v else False

        return contains
    if op == "in_networks":

        def in_nets(v: Any, o: Any) -> bool | None:
            if v is None or o is None:
                return None
            ip = _ip(str(v))
            if ip is None:
                return None
            nets = o if isinstance(o, list | tuple) else (o,)
            return any(ip.version == n.version and ip in n for n in nets)

        return in_nets
    raise ValueError(f"unknown comparison {op}")  # the parser never lets one through


def _range_outcome(op: str, lo: int, hi: int, o: Any) -> bool | None:
    """A comparison of a count known to lie in [lo, hi]."""
    if o is None:
        return None
    if op == "equals":
        if lo == hi:
            return lo == o
        return None if lo <= o <= hi else False
    if op == "in":
        hits = [x in o for x in range(lo, hi + 1)]
        return True if all(hits) else (False if not any(hits) else None)
    import operator

    fn = {"ge": operator.ge, "gt": operator.gt, "le": operator.le, "lt": operator.lt}[op]
    a, b = fn(lo, o), fn(hi, o)
    return a if a == b else None


# -- compilation ----------------------------------------------------------------------
class Compiler:
    """Compiles nodes for one rule with its parameter values and the catalogues."""

    def __init__(self, params: dict[str, Any], catalogs: dict[str, Catalog]):
        self.params = params
        self.catalogs = catalogs

    def node(self, node: Node) -> Eval:
        if isinstance(node, Logic):
            parts = tuple(self.node(c) for c in node.children)
            if node.op == "all":
                return _all(parts)
            if node.op == "any":
                return _any(parts)
            inner = _any(parts)
            return _not(inner)
        if isinstance(node, Not):
            return _not(self.node(node.child))
        assert isinstance(node, Test)
        return self.test(node)

    def test(self, t: Test) -> Eval:
        subject = t.subject
        if isinstance(subject, Count):
            return self._count_test(t, subject)
        value = self.subject(subject)
        if t.op == "exists":
            want = bool(t.operand.value)  # type: ignore[union-attr]

            def check_exists(v: Any, _o: Any) -> bool:
                return (v is not None) is want

            cmp: Callable[[Any, Any], bool | None] = check_exists
        else:
            cmp = _cmp_scalar(t.op, subject_type(subject).kind, t.ignore_case)
        oget, const = _operand_getter(t.operand, self.params)
        if (
            t.op in ("in", "contains")
            and oget is None
            and isinstance(const, list)
            and not t.ignore_case
        ):
            with contextlib.suppress(TypeError):
                const = frozenset(const) if t.op == "in" else const
        leaf = t.leaf
        if leaf is None:
            if oget is None:
                return lambda ctx, item: cmp(value(ctx, item), const)
            return lambda ctx, item: cmp(value(ctx, item), oget(ctx, item))
        if isinstance(subject, AgeDays | Lookup):
            # The recorded value carries what it was computed from.
            raw = self.subject_evidence(subject)

            def rec_derived(ctx: Ctx, item: Any) -> bool | None:
                v = value(ctx, item)
                r = cmp(v, const if oget is None else oget(ctx, item))
                ctx.trace.append((leaf, raw(ctx, item, v), r))
                return r

            return rec_derived
        if oget is None:

            def rec_const(ctx: Ctx, item: Any) -> bool | None:
                v = value(ctx, item)
                r = cmp(v, const)
                ctx.trace.append((leaf, v, r))
                return r

            return rec_const

        def rec_ref(ctx: Ctx, item: Any) -> bool | None:
            v = value(ctx, item)
            o = oget(ctx, item)
            r = cmp(v, o)
            ctx.trace.append((leaf, [v, o], r))
            return r

        return rec_ref

    def subject(self, subject: Subject) -> Getter:
        if isinstance(subject, Ref):
            return ref_getter(subject, self.params)
        if isinstance(subject, AgeDays):
            target = ref_getter(subject.target, self.params)
            if subject.target.ftype.kind == "date":

                def age_date(ctx: Ctx, item: Any) -> Any:
                    d = _to_date(target(ctx, item))
                    return None if d is None else (ctx.today - d).days

                return age_date

            def age(ctx: Ctx, item: Any) -> Any:
                moment = to_datetime(target(ctx, item))
                if moment is None:
                    return None
                return (ctx.now - moment).total_seconds() / 86400.0

            return age
        if isinstance(subject, Lookup):
            lookup = self._lookup(subject)
            return lambda ctx, item: lookup(ctx)[0]
        raise TypeError(subject)

    def subject_evidence(self, subject: AgeDays | Lookup) -> Callable[[Ctx, Any, Any], Any]:
        if isinstance(subject, AgeDays):
            target = ref_getter(subject.target, self.params)

            def age_ev(ctx: Ctx, item: Any, v: Any) -> Any:
                return [None if v is None else round(v, 1), target(ctx, item)]

            return age_ev
        lookup = self._lookup(subject)

        def lookup_ev(ctx: Ctx, item: Any, v: Any) -> Any:
            value, state = lookup(ctx)
            return NO_MATCH if state == "nomatch" else value

        return lookup_ev

    def _lookup(self, subject: Lookup) -> Callable[[Ctx], tuple[Any, str]]:
        catalog = self.catalogs[subject.catalog]
        field = subject.field
        compiled = [
            (
                tuple((_path_getter(_split(path)), frozenset(values)) for path, values in conds),
                entry.get(field),
            )
            for conds, entry in zip(catalog.matches, catalog.entries, strict=True)
        ]

        def lookup(ctx: Ctx) -> tuple[Any, str]:
            doc = ctx.doc
            for conds, value in compiled:
                matched: bool | None = True
                for get, allowed in conds:
                    v = get(doc)
                    if v is None:
                        matched = None
                    elif v not in allowed:
                        matched = False
                        break
                if matched:
                    return value, "found"
                if matched is None:
                    return None, "unknown"
            return None, "nomatch"

        return lookup

    def _count_test(self, t: Test, c: Count) -> Eval:
        if c.catalog is not None:
            items = list(self.catalogs[c.catalog].entries)

            def collection(ctx: Ctx, item: Any) -> Any:
                return items

        else:
            assert c.source is not None
            collection = ref_getter(c.source, self.params)
        where = self.node(c.where) if c.where is not None else None
        label = _label_getter(c)
        oget, const = _operand_getter(t.operand, self.params)
        if t.op == "in" and isinstance(const, list):
            const = frozenset(const)
        op = t.op
        leaf = t.leaf

        def count(ctx: Ctx, item: Any) -> bool | None:
            coll = collection(ctx, item)
            o = const if oget is None else oget(ctx, item)
            if coll is None:
                if leaf is not None:
                    ctx.trace.append((leaf, None, None))
                return None
            lo = hi = 0
            names: list[Any] = []
            if where is None:
                lo = hi = len(coll)
                if leaf is not None:
                    names = [label(x) for x in coll[:MAX_LABELS]]
            else:
                for x in coll:
                    r = where(ctx, x)
                    if r:
                        lo += 1
                        hi += 1
                        if leaf is not None and len(names) < MAX_LABELS:
                            names.append(label(x))
                    elif r is None:
                        hi += 1
            outcome = _range_outcome(op, lo, hi, o)
            if leaf is not None:
                ctx.trace.append((leaf, [lo, hi, names], outcome))
            return outcome

        return count


def _label_getter(c: Count) -> Callable[[Any], Any]:
    if c.label:
        get = _path_getter(_split(c.label))
        return get

    def default(x: Any) -> Any:
        if isinstance(x, dict):
            for key in ("name", "ssid", "kb", "address", "id", "probe"):
                if key in x:
                    return x[key]
            return None
        return x

    return default


def _all(parts: tuple[Eval, ...]) -> Eval:
    def all_(ctx: Ctx, item: Any) -> bool | None:
        unknown = False
        for p in parts:
            r = p(ctx, item)
            if r is False:
                return False
            if r is None:
                unknown = True
        return None if unknown else True

    return all_


def _any(parts: tuple[Eval, ...]) -> Eval:
    def any_(ctx: Ctx, item: Any) -> bool | None:
        unknown = False
        for p in parts:
            r = p(ctx, item)
            if r is True:
                return True
            if r is None:
                unknown = True
        return None if unknown else False

    return any_


def _not(inner: Eval) -> Eval:
    def not_(ctx: Ctx, item: Any) -> bool | None:
        r = inner(ctx, item)
        return None if r is None else not r

    return not_


# -- descriptions -------------------------------------------------------------------------
def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple | frozenset | set):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _operand_text(operand: Ref | Literal, params: dict[str, Any]) -> str:
    if isinstance(operand, Literal):
        return _fmt(operand.value)
    if operand.kind == "param":
        return _fmt(params.get(operand.path))
    if operand.kind == "now":
        return "now"
    return operand.path


def subject_text(subject: Subject, params: dict[str, Any]) -> str:
    if isinstance(subject, Ref):
        if subject.kind == "param":
            return f"parameter {subject.path}"
        return "now" if subject.kind == "now" else ("item" if subject.path == "." else subject.path)
    if isinstance(subject, AgeDays):
        return f"days since {subject.target.path}"
    if isinstance(subject, Lookup):
        return f"{subject.field} in {subject.catalog}"
    what = (
        f"catalogue {subject.catalog}"
        if subject.catalog
        else (subject.source.path if subject.source else "?")
    )
    text = f"number of {what}"
    if subject.where is not None:
        text += f" where {describe_node(subject.where, params)}"
    return text


def condition_text(t: Test, params: dict[str, Any]) -> str:
    """The comparison part of a test, parameters shown with their values: `≤ 900`."""
    if t.op == "exists":
        return "is reported" if t.operand.value else "is not reported"  # type: ignore[union-attr]
    operand = _operand_text(t.operand, params)
    unit = " days" if isinstance(t.subject, AgeDays) else ""
    text = f"{SYMBOLS.get(t.op, t.op)} {operand}{unit}"
    if t.op.startswith("version_"):
        text += " (version)"
    if t.ignore_case:
        text += " (any case)"
    return text


def describe_test(t: Test, params: dict[str, Any]) -> str:
    return f"{subject_text(t.subject, params)} {condition_text(t, params)}"


def describe_node(node: Node, params: dict[str, Any]) -> str:
    if isinstance(node, Test):
        return describe_test(node, params)
    if isinstance(node, Not):
        return f"not ({describe_node(node.child, params)})"
    assert isinstance(node, Logic)
    inner = [describe_node(c, params) for c in node.children]
    if node.op == "none":
        return "none of (" + "; ".join(inner) + ")"
    joined = (" and " if node.op == "all" else " or ").join(inner)
    return f"({joined})" if len(inner) > 1 else joined


def leaf_tests(node: Node | None) -> list[Test]:
    """The recorded tests of a tree (outside any `where`), in leaf order."""
    out: list[Test] = []

    def walk(n: Node | None) -> None:
        if n is None:
            return
        if isinstance(n, Logic):
            for c in n.children:
                walk(c)
        elif isinstance(n, Not):
            walk(n.child)
        elif isinstance(n, Test) and n.leaf is not None:
            out.append(n)

    walk(node)
    return out

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
import operator
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from itaudit.check.releases import Judgement, ReleaseTable
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
    ReleaseAge,
    Subject,
    Test,
    iter_tests,
    parse_version,
    subject_type,
)
from itaudit.profiles.model import Catalog

Eval = Callable[["Ctx", Any], "bool | None"]
Getter = Callable[["Ctx", Any], Any]
MAX_LABELS = 5
NO_MATCH = "(no entry of the catalogue matches)"
MAX_TEXT = 200
MAX_ITEMS = 10


def clip_value(v: Any) -> Any:
    """Bound a value kept as evidence: agents' strings and lists are untrusted in size."""
    if v.__class__ is list and len(v) > MAX_ITEMS:
        return [*(clip_value(x) for x in v[:MAX_ITEMS]), f"… {len(v) - MAX_ITEMS} more"]
    if v.__class__ is str and len(v) > MAX_TEXT:
        return v[:MAX_TEXT] + "…"
    return v


class Ctx:
    """What one evaluation reads: the report, the context facts, the time."""

    __slots__ = ("doc", "memo", "now", "ns", "today", "trace")

    def __init__(self, doc: Any, ns: dict[str, dict[str, Any]], now: datetime):
        self.doc = doc
        self.ns = ns
        self.now = now
        self.today = now.date()
        self.trace: list[tuple[int, Any, bool | None]] = []
        # Counts several rules share (enabled anti-malware, running EDR...) are
        # computed once per machine; keys are fixed when the rules compile.
        self.memo: dict[str, Any] = {}


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


def _direct(parts: tuple[str, ...], on_item: bool) -> Getter:
    """A getter reading `ctx.doc` (or the current item) in one call, no wrapper."""
    if any(p.endswith("[]") for p in parts):
        gather = _path_getter(parts)
        if on_item:
            return lambda ctx, item: gather(item)
        return lambda ctx, item: gather(ctx.doc)
    n = len(parts)
    if n == 1:
        (a,) = parts
        if on_item:

            def i1(ctx: Ctx, item: Any) -> Any:
                try:
                    return item[a]
                except (KeyError, TypeError, IndexError):
                    return None

            return i1

        def d1(ctx: Ctx, item: Any) -> Any:
            try:
                return ctx.doc[a]
            except (KeyError, TypeError, IndexError):
                return None

        return d1
    if n == 2 and not on_item:
        a, b = parts

        def d2(ctx: Ctx, item: Any) -> Any:
            try:
                return ctx.doc[a][b]
            except (KeyError, TypeError, IndexError):
                return None

        return d2
    if n == 3 and not on_item:
        a, b, c = parts

        def d3(ctx: Ctx, item: Any) -> Any:
            try:
                return ctx.doc[a][b][c]
            except (KeyError, TypeError, IndexError):
                return None

        return d3
    if n == 4 and not on_item:
        a, b, c, d = parts

        def d4(ctx: Ctx, item: Any) -> Any:
            try:
                return ctx.doc[a][b][c][d]
            except (KeyError, TypeError, IndexError):
                return None

        return d4
    get = _path_getter(parts)
    if on_item:
        return lambda ctx, item: get(item)
    return lambda ctx, item: get(ctx.doc)


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
        return _direct(ref.parts, on_item=True)
    return _direct(_split(ref.path), on_item=False)


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


def _memo_key(c: Count, params: dict[str, Any]) -> str | None:
    """A key naming what a count computes, shared by equal counts of any rule.

    Counts over the current item (inside a `where`) depend on it: not shared.
    Parameters read inside the filter are part of the key.
    """
    if c.source is not None and c.source.kind == "item":
        return None
    used = sorted(
        {
            ref.path
            for t in iter_tests(c.where)
            for ref in (t.subject, t.operand)
            if isinstance(ref, Ref) and ref.kind == "param"
        }
    )
    source = (c.source.kind, c.source.path) if c.source is not None else None
    return repr((source, c.catalog, _canon(c.where), c.label, [(n, params.get(n)) for n in used]))


def _canon(node: Any) -> Any:
    """A node's meaning without its position (line, evidence slot), for memo keys."""
    if isinstance(node, Logic):
        return (node.op, tuple(_canon(c) for c in node.children))
    if isinstance(node, Not):
        return ("not", _canon(node.child))
    if isinstance(node, Test):
        return (_canon(node.subject), node.op, _canon(node.operand), node.ignore_case)
    if isinstance(node, Ref):
        return ("ref", node.kind, node.path)
    if isinstance(node, Literal):
        return ("lit", repr(node.value))
    if isinstance(node, Count):
        return ("count", _canon(node.source), node.catalog, _canon(node.where), node.label)
    if isinstance(node, AgeDays):
        return ("age", _canon(node.target))
    if isinstance(node, Lookup):
        return ("lookup", node.catalog, node.field)
    if isinstance(node, ReleaseAge):
        return ("release_age", node.catalog, _canon(node.max_table_age))
    return node


_INT_OPS = {
    "equals": operator.eq,
    "ge": operator.ge,
    "gt": operator.gt,
    "le": operator.le,
    "lt": operator.lt,
}


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
        self._lookups: dict[tuple[str, str], Callable[[Ctx], tuple[Any, str]]] = {}
        self._releases: dict[tuple[str, Any], Callable[[Ctx], Judgement]] = {}

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
            fast = _fast_item_test(t, oget, const)
            if fast is not None:
                return fast
            if oget is None:
                return lambda ctx, item: cmp(value(ctx, item), const)
            return lambda ctx, item: cmp(value(ctx, item), oget(ctx, item))
        if isinstance(subject, AgeDays | Lookup | ReleaseAge):
            # The recorded value carries what it was computed from.
            raw = self.subject_evidence(subject)

            def rec_derived(ctx: Ctx, item: Any) -> bool | None:
                v = value(ctx, item)
                r = cmp(v, const if oget is None else oget(ctx, item))
                ctx.trace.append((leaf, raw(ctx, item, v), r))
                return r

            return rec_derived
        # Evidence keeps values small: long lists and texts are cut when recorded.
        clip = isinstance(subject, Ref) and subject.ftype.kind in ("list", "string")
        if oget is None and not clip:

            def rec_const(ctx: Ctx, item: Any) -> bool | None:
                v = value(ctx, item)
                r = cmp(v, const)
                ctx.trace.append((leaf, v, r))
                return r

            return rec_const
        if oget is None:

            def rec_clip(ctx: Ctx, item: Any) -> bool | None:
                v = value(ctx, item)
                r = cmp(v, const)
                ctx.trace.append((leaf, clip_value(v), r))
                return r

            return rec_clip

        def rec_ref(ctx: Ctx, item: Any) -> bool | None:
            v = value(ctx, item)
            o = oget(ctx, item)
            r = cmp(v, o)
            ctx.trace.append((leaf, [clip_value(v), clip_value(o)], r))
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
        if isinstance(subject, ReleaseAge):
            judge = self._release_age(subject)
            return lambda ctx, item: judge(ctx).days
        raise TypeError(subject)

    def _release_age(self, subject: ReleaseAge) -> Callable[[Ctx], Judgement]:
        """The judgement of a machine against a release table, once per machine and limit."""
        _get, limit = _operand_getter(subject.max_table_age, self.params)
        key = (subject.catalog, limit)
        found = self._releases.get(key)
        if found is not None:
            return found
        table = ReleaseTable(self.catalogs[subject.catalog])
        memo_key = f"release_age:{subject.catalog}:{limit}"
        build = _path_getter(("os", "build"))
        revision = _path_getter(("os", "patch_revision"))
        server = _path_getter(("os", "server"))

        def judge(ctx: Ctx) -> Judgement:
            seen = ctx.memo.get(memo_key)
            if seen is None:
                doc = ctx.doc
                seen = ctx.memo[memo_key] = table.judge(
                    build(doc), revision(doc), server(doc), ctx.today, limit
                )
            return seen

        self._releases[key] = judge
        return judge

    def subject_evidence(
        self, subject: AgeDays | Lookup | ReleaseAge
    ) -> Callable[[Ctx, Any, Any], Any]:
        if isinstance(subject, ReleaseAge):
            judge = self._release_age(subject)

            def release_ev(ctx: Ctx, item: Any, v: Any) -> Any:
                j = judge(ctx)
                return f"unknown: {j.text}" if j.days is None else f"{j.days} ({j.text})"

            return release_ev
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
        key = (subject.catalog, subject.field)
        found = self._lookups.get(key)
        if found is None:
            found = self._lookups[key] = _compile_lookup(
                self.catalogs[subject.catalog], subject.field
            )
        return found

    def _count_test(self, t: Test, c: Count) -> Eval:
        if c.catalog is not None:
            items = list(self.catalogs[c.catalog].entries)

            def all_entries(ctx: Ctx, item: Any) -> Any:
                return items

            collection: Getter = all_entries
        else:
            assert c.source is not None
            collection = ref_getter(c.source, self.params)
        where = self.node(c.where) if c.where is not None else None
        label = _label_getter(c, self.catalogs)
        oget, const = _operand_getter(t.operand, self.params)
        if t.op == "in" and isinstance(const, list):
            const = frozenset(const)
        op = t.op
        leaf = t.leaf
        memo_key = _memo_key(c, self.params)
        if (
            oget is None
            and op in _INT_OPS
            and isinstance(const, int)
            and not isinstance(const, bool)
        ):
            fixed = _INT_OPS[op]

            def scalar(a: int, o: Any) -> bool | None:
                return fixed(a, const)  # the operand is the constant: `o` is always it

        else:
            generic = _cmp_scalar(op, "integer", False)

            def scalar(a: int, o: Any) -> bool | None:
                return generic(a, o)

        if where is None:
            # Only the length: no filter to run.
            def count_all(ctx: Ctx, item: Any) -> bool | None:
                seen = ctx.memo.get(memo_key) if memo_key else None
                if seen is None:
                    coll = collection(ctx, item)
                    if coll is None:
                        seen = (None, None)
                    else:
                        seen = (
                            len(coll),
                            [label(x) for x in coll[:MAX_LABELS]] if leaf is not None else [],
                        )
                    if memo_key:
                        ctx.memo[memo_key] = seen
                n, names = seen
                if n is None:
                    if leaf is not None:
                        ctx.trace.append((leaf, None, None))
                    return None
                outcome = scalar(n, const if oget is None else oget(ctx, item))
                if leaf is not None:
                    ctx.trace.append((leaf, [n, n, names], outcome))
                return outcome

            return count_all
        if leaf is None:
            # Inside another filter: nothing is recorded.
            def count_inner(ctx: Ctx, item: Any) -> bool | None:
                coll = collection(ctx, item)
                if coll is None:
                    return None
                lo = unknown = 0
                for x in coll:
                    r = where(ctx, x)
                    if r:
                        lo += 1
                    elif r is None:
                        unknown += 1
                o = const if oget is None else oget(ctx, item)
                return scalar(lo, o) if not unknown else _range_outcome(op, lo, lo + unknown, o)

            return count_inner

        def count(ctx: Ctx, item: Any) -> bool | None:
            seen: tuple[Any, ...] | None = ctx.memo.get(memo_key) if memo_key else None
            if seen is None:
                coll = collection(ctx, item)
                if coll is None:
                    seen = (None, 0, [])
                else:
                    names: list[Any] = []
                    lo = unknown = 0
                    for x in coll:
                        r = where(ctx, x)
                        if r:
                            lo += 1
                            if lo <= MAX_LABELS:
                                names.append(label(x))
                        elif r is None:
                            unknown += 1
                    seen = (lo, unknown, names)
                if memo_key:
                    ctx.memo[memo_key] = seen
            lo, unknown, names = seen
            if lo is None:
                ctx.trace.append((leaf, None, None))
                return None
            o = const if oget is None else oget(ctx, item)
            outcome = _range_outcome(op, lo, lo + unknown, o) if unknown else scalar(lo, o)
            ctx.trace.append((leaf, [lo, lo + unknown, names], outcome))
            return outcome

        return count


_LOOKUP_CACHE = 4096


def _compile_lookup(catalog: Catalog, field: str) -> Callable[[Ctx], tuple[Any, str]]:
    """First entry whose `match` holds -> its field; cached by the facts the entries read.

    Machines share a handful of (family, build, edition...) combinations, so
    the entries are scanned once per combination, not once per machine.
    """
    paths = sorted({path for conds in catalog.matches for path, _ in conds})
    getters = [_path_getter(_split(p)) for p in paths]
    index = {p: i for i, p in enumerate(paths)}
    entries = [
        (tuple((index[path], frozenset(values)) for path, values in conds), entry.get(field))
        for conds, entry in zip(catalog.matches, catalog.entries, strict=True)
    ]
    cache: dict[tuple[Any, ...], tuple[Any, str]] = {}

    def scan(key: tuple[Any, ...]) -> tuple[Any, str]:
        for conds, value in entries:
            matched: bool | None = True
            for i, allowed in conds:
                v = key[i]
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

    def lookup(ctx: Ctx) -> tuple[Any, str]:
        doc = ctx.doc
        key = tuple([g(doc) for g in getters])
        try:
            hit = cache.get(key)
        except TypeError:  # an unhashable value where a scalar belongs: unknown
            return None, "unknown"
        if hit is None:
            hit = scan(key)
            if len(cache) < _LOOKUP_CACHE:
                cache[key] = hit
        return hit

    return lookup


def _fast_item_test(t: Test, oget: Getter | None, const: Any) -> Eval | None:
    """`{item: field, equals: constant}` (the usual filter inside a count) in one call."""
    s = t.subject
    if (
        oget is not None
        or t.ignore_case
        or not isinstance(s, Ref)
        or s.kind != "item"
        or len(s.parts) != 1
        or s.ftype.kind not in ("string", "integer", "boolean")
    ):
        return None
    (key,) = s.parts
    if t.op == "equals":

        def item_eq(ctx: Ctx, item: Any) -> bool | None:
            try:
                v = item[key]
            except (KeyError, TypeError):
                return None
            return None if v is None else v == const

        return item_eq
    if t.op == "in" and isinstance(const, frozenset):

        def item_in(ctx: Ctx, item: Any) -> bool | None:
            try:
                v = item[key]
            except (KeyError, TypeError):
                return None
            return None if v is None else v in const

        return item_in
    if t.op == "exists":
        want = bool(const)

        def item_exists(ctx: Ctx, item: Any) -> bool:
            try:
                return (item[key] is not None) is want
            except (KeyError, TypeError):
                return not want

        return item_exists
    return None


_LABEL_KEYS = ("name", "ssid", "kb", "address", "mount", "id", "probe")


def _label_getter(c: Count, catalogs: dict[str, Catalog] | None = None) -> Callable[[Any], Any]:
    """How matched items are named in the evidence, decided once from the item's fields."""
    if not c.label:
        fields: set[str] | None = None
        if c.catalog is not None and catalogs is not None:
            fields = set(catalogs[c.catalog].fields)
        elif c.source is not None and c.source.kind == "report" and c.source.ftype.item is not None:
            if c.source.ftype.item.kind != "object":
                return clip_value
            from itaudit.profiles.types import report_fact_types

            prefix = c.source.path + "[]."
            fields = {p[len(prefix) :] for p in report_fact_types() if p.startswith(prefix)}
        if fields is not None:
            key = next((k for k in _LABEL_KEYS if k in fields), None)
            if key is None:
                return lambda x: None

            def named(x: Any) -> Any:
                try:
                    return clip_value(x[key])
                except (KeyError, TypeError):
                    return None

            return named
    if c.label:
        get = _path_getter(_split(c.label))
        return lambda x: clip_value(get(x))

    def default(x: Any) -> Any:
        if isinstance(x, dict):
            for key in ("name", "ssid", "kb", "address", "mount", "id", "probe"):
                if key in x:
                    return clip_value(x[key])
            return None
        return clip_value(x)

    return default


def _kleene(parts: tuple[Eval, ...], decisive: bool) -> Eval:
    """Three-valued `all` (decisive False) or `any` (decisive True).

    The first part that returns the decisive value settles it; otherwise an
    unknown part makes the whole unknown. Two parts, the common case, get a
    closure without a loop.
    """
    if len(parts) == 2:
        a, b = parts

        def both(ctx: Ctx, item: Any) -> bool | None:
            ra = a(ctx, item)
            if ra is decisive:
                return decisive
            rb = b(ctx, item)
            if rb is decisive:
                return decisive
            return None if ra is None or rb is None else not decisive

        return both

    def each(ctx: Ctx, item: Any) -> bool | None:
        unknown = False
        for p in parts:
            r = p(ctx, item)
            if r is decisive:
                return decisive
            if r is None:
                unknown = True
        return None if unknown else not decisive

    return each


def _all(parts: tuple[Eval, ...]) -> Eval:
    return _kleene(parts, decisive=False)


def _any(parts: tuple[Eval, ...]) -> Eval:
    return _kleene(parts, decisive=True)


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
    if isinstance(subject, ReleaseAge):
        return f"days behind the monthly updates ({subject.catalog})"
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
    unit = " days" if isinstance(t.subject, AgeDays | ReleaseAge) else ""
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


def leaf_tests(node: Node | None) -> list[tuple[Test, bool]]:
    """The recorded tests of a tree (outside any `where`) in leaf order, each with
    whether it sits under a negation (`not`, `none`): the evidence then says
    "required not ...", so "met" always means the rule got what it asked for."""
    out: list[tuple[Test, bool]] = []

    def walk(n: Node | None, negated: bool) -> None:
        if n is None:
            return
        if isinstance(n, Logic):
            for c in n.children:
                walk(c, not negated if n.op == "none" else negated)
        elif isinstance(n, Not):
            walk(n.child, not negated)
        elif isinstance(n, Test) and n.leaf is not None:
            out.append((n, negated))

    walk(node, False)
    return out

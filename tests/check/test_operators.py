"""The condition operators, compiled: three-valued logic, counts, comparisons.

Property tests (hypothesis) compare the compiled closures with plain
reference definitions: Kleene logic for all/any/none/not, counts decided over
every completion of the unknown items, numbers, versions, ages and networks.
"""

from __future__ import annotations

import ipaddress
import itertools
import operator
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itaudit.check.operators import NO_MATCH, Compiler, Ctx
from itaudit.errors import Problem
from itaudit.profiles.conditions import ConditionParser
from itaudit.profiles.model import ParamSpec, Where
from itaudit.profiles.types import INTEGER
from itaudit.yamlfile import loads_yaml

NOW = datetime(2026, 11, 20, 8, 0)
NAMESPACES = frozenset({"asset", "unit", "host", "lan", "org"})
TRI = st.sampled_from([True, False, None])


def compile_condition(text: str, params: dict[str, Any] | None = None) -> Any:
    problems: list[Problem] = []
    specs = {
        name: ParamSpec(name, INTEGER, "integer", value, True, where=Where("t"))
        for name, value in (params or {}).items()
    }
    node = ConditionParser("t.yaml", problems, specs, {}, NAMESPACES).parse(
        loads_yaml(text, "t.yaml"), 1
    )
    assert not problems, problems
    assert node is not None
    return Compiler(dict(params or {}), {}).node(node)


def run(
    cond: Any, doc: dict[str, Any], ns: dict[str, Any] | None = None, now: datetime = NOW
) -> Any:
    ctx = Ctx(doc, ns or {}, now)
    return cond(ctx, None)


def kleene_all(xs: list[bool | None]) -> bool | None:
    if any(x is False for x in xs):
        return False
    return None if any(x is None for x in xs) else True


def kleene_any(xs: list[bool | None]) -> bool | None:
    if any(x is True for x in xs):
        return True
    return None if any(x is None for x in xs) else False


def kleene_not(x: bool | None) -> bool | None:
    return None if x is None else not x


BOOL_FACTS = (
    "security.smb1.server_enabled",
    "security.smb1.client_enabled",
    "security.autorun.disabled",
)


def bool_doc(values: tuple[bool | None, ...]) -> dict[str, Any]:
    a, b, c = values
    return {
        "security": {"smb1": {"server_enabled": a, "client_enabled": b}, "autorun": {"disabled": c}}
    }


def leaf(i: int) -> str:
    return f"{{fact: {BOOL_FACTS[i]}, equals: true}}"


# -- logic ---------------------------------------------------------------------------
@given(st.tuples(TRI, TRI, TRI))
def test_all_any_none_follow_kleene(values: tuple[bool | None, ...]) -> None:
    doc = bool_doc(values)
    leaves = ", ".join(leaf(i) for i in range(3))
    assert run(compile_condition(f"{{all: [{leaves}]}}"), doc) == kleene_all(list(values))
    assert run(compile_condition(f"{{any: [{leaves}]}}"), doc) == kleene_any(list(values))
    assert run(compile_condition(f"{{none: [{leaves}]}}"), doc) == kleene_not(
        kleene_any(list(values))
    )


@given(st.tuples(TRI, TRI, TRI))
def test_de_morgan_holds_with_unknowns(values: tuple[bool | None, ...]) -> None:
    doc = bool_doc(values)
    left = compile_condition(f"{{not: {{all: [{leaf(0)}, {leaf(1)}]}}}}")
    right = compile_condition(f"{{any: [{{not: {leaf(0)}}}, {{not: {leaf(1)}}}]}}")
    assert run(left, doc) == run(right, doc)


@given(TRI)
def test_double_negation_is_identity(value: bool | None) -> None:
    doc = bool_doc((value, None, None))
    assert run(compile_condition(f"{{not: {{not: {leaf(0)}}}}}"), doc) == (
        None if value is None else value
    )


def test_a_false_part_decides_all_even_beside_an_unknown() -> None:
    doc = bool_doc((None, False, None))
    assert run(compile_condition(f"{{all: [{leaf(0)}, {leaf(1)}]}}"), doc) is False


def test_exists_is_never_unknown() -> None:
    cond = compile_condition("{fact: security.smb1.server_enabled, exists: true}")
    assert run(cond, bool_doc((None, None, None))) is False
    assert run(cond, {}) is False
    assert run(cond, bool_doc((False, None, None))) is True


# -- numbers --------------------------------------------------------------------------
OPS = {
    "ge": operator.ge,
    "gt": operator.gt,
    "le": operator.le,
    "lt": operator.lt,
    "equals": operator.eq,
}


@given(
    st.one_of(st.none(), st.integers(0, 1024)), st.integers(0, 1024), st.sampled_from(sorted(OPS))
)
def test_numeric_comparisons_match_python(value: int | None, bound: int, op: str) -> None:
    cond = compile_condition(f"{{fact: security.password_policy.min_length, {op}: {bound}}}")
    doc = {"security": {"password_policy": {"min_length": value}}}
    expected = None if value is None else OPS[op](value, bound)
    assert run(cond, doc) == expected


@given(st.integers(0, 1024), st.integers(1, 1024))
def test_parameter_operand_is_its_value(value: int, limit: int) -> None:
    cond = compile_condition(
        "{fact: security.password_policy.min_length, ge: {param: n}}", {"n": limit}
    )
    assert run(cond, {"security": {"password_policy": {"min_length": value}}}) == (value >= limit)


def test_absent_parent_is_unknown_not_false() -> None:
    cond = compile_condition("{fact: security.password_policy.min_length, ge: 8}")
    assert run(cond, {"security": {"password_policy": None}}) is None
    assert run(cond, {}) is None


# -- counts -----------------------------------------------------------------------------
@settings(max_examples=300)
@given(st.lists(TRI, max_size=6), st.integers(0, 6), st.sampled_from(sorted(OPS)))
def test_count_is_decided_only_when_every_completion_agrees(
    flags: list[bool | None], k: int, op: str
) -> None:
    cond = compile_condition(
        f"{{count: {{fact: security.antivirus, where: {{item: enabled, equals: true}}}}, {op}: {k}}}"
    )
    doc = {
        "security": {
            "antivirus": [
                {"name": f"av{i}", "source": "catalog", "enabled": f} for i, f in enumerate(flags)
            ]
        }
    }
    known = sum(1 for f in flags if f is True)
    unknown = sum(1 for f in flags if f is None)
    outcomes = {OPS[op](known + extra, k) for extra in range(unknown + 1)}
    expected = outcomes.pop() if len(outcomes) == 1 else None
    assert run(cond, doc) == expected


def test_count_of_a_list_not_reported_is_unknown() -> None:
    cond = compile_condition("{count: {fact: security.antivirus}, ge: 1}")
    assert run(cond, {"security": {"antivirus": None}}) is None
    assert run(cond, {"security": {"antivirus": []}}) is False


def test_count_records_matched_items_by_name() -> None:
    cond = compile_condition(
        "{count: {fact: security.local_admins, where: {item: name, equals: x}}, equals: 0}"
    )
    ctx = Ctx({"security": {"local_admins": [{"name": "x"}, {"name": "y"}]}}, {}, NOW)
    assert cond(ctx, None) is False
    assert ctx.trace == [(0, [1, 1, ["x"]], False)]


def test_nested_count_reads_the_inner_items() -> None:
    cond = compile_condition(
        "{count: {fact: network.interfaces, where: {count: {item: addresses, where: "
        "{item: address, in_networks: [10.38.0.0/23]}}, ge: 1}}, ge: 1}"
    )
    lan = {"network": {"interfaces": [{"name": "e", "addresses": [{"address": "10.38.1.5"}]}]}}
    away = {"network": {"interfaces": [{"name": "e", "addresses": [{"address": "192.168.1.5"}]}]}}
    assert run(cond, lan) is True
    assert run(cond, away) is False


# -- versions, ages, networks, lists ------------------------------------------------------------
VERSION = st.lists(st.integers(0, 30000), min_size=1, max_size=4)


@given(VERSION, VERSION)
def test_version_comparison_matches_padded_tuples(a: list[int], b: list[int]) -> None:
    width = max(len(a), len(b))
    pa, pb = tuple(a) + (0,) * (width - len(a)), tuple(b) + (0,) * (width - len(b))
    text_b = ".".join(map(str, b))
    cond = compile_condition(f'{{fact: os.version, version_ge: "{text_b}"}}')
    assert run(cond, {"os": {"version": ".".join(map(str, a))}}) == (pa >= pb)


def test_version_that_is_not_a_version_is_unknown() -> None:
    cond = compile_condition('{fact: os.version, version_ge: "10.0.22000"}')
    assert run(cond, {"os": {"version": "10.0.x"}}) is None


@given(st.integers(0, 2000), st.integers(0, 400), st.integers(0, 100))
def test_age_in_days_against_the_check_time(hours_ago: int, limit: int, later: int) -> None:
    moment = NOW - timedelta(hours=hours_ago)
    doc = {"patches": {"last_install_at": moment.isoformat() + "Z"}}
    cond = compile_condition(f"{{age_days: patches.last_install_at, le: {limit}}}")
    assert run(cond, doc) == (hours_ago / 24 <= limit)
    # Later checks never make an old update look newer.
    if run(cond, doc, now=NOW) is False:
        assert run(cond, doc, now=NOW + timedelta(days=later)) is False


@given(st.integers(0, 2**32 - 1))
def test_in_networks_matches_ipaddress(value: int) -> None:
    address = str(ipaddress.IPv4Address(value))
    cond = compile_condition("{fact: network.default_gateways, contains: 10.38.0.1}")
    assert run(cond, {"network": {"default_gateways": [address]}}) == (address == "10.38.0.1")
    inside = compile_condition(
        "{count: {fact: network.default_gateways, where: {item: ., in_networks: [10.38.0.0/23, 10.38.16.0/24]}}, ge: 1}"
    )
    nets = [ipaddress.ip_network("10.38.0.0/23"), ipaddress.ip_network("10.38.16.0/24")]
    expected = any(ipaddress.IPv4Address(value) in n for n in nets)
    assert run(inside, {"network": {"default_gateways": [address]}}) == expected


def test_contains_with_an_unknown_item_is_unknown_unless_found() -> None:
    cond = compile_condition('{fact: "patches.installed[].id", contains: KB1}')
    assert run(cond, {"patches": {"installed": [{"id": "KB1"}, {"title": "x"}]}}) is True
    assert run(cond, {"patches": {"installed": [{"id": "KB2"}, {"title": "x"}]}}) is None
    assert run(cond, {"patches": {"installed": [{"id": "KB2"}]}}) is False


def test_ignore_case_in() -> None:
    cond = compile_condition(
        '{fact: security.ssh.permit_root_login, in: ["no", prohibit-password], ignore_case: true}'
    )
    assert run(cond, {"security": {"ssh": {"permit_root_login": "NO"}}}) is True


def test_context_facts_read_their_namespace() -> None:
    cond = compile_condition("{fact: $asset.secret, equals: true}")
    assert run(cond, {}, {"asset": {"secret": True}}) is True
    assert run(cond, {}, {"asset": {"secret": None}}) is None


@pytest.mark.parametrize(
    ("day", "expected"),
    [("2025-10-14", True), ("2025-10-15", False)],
    ids=["last-day-of-support", "day-after"],
)
def test_dates_compare_by_whole_days(day: str, expected: bool) -> None:
    cond = compile_condition("{not: {fact: $unit.last_assessment, before: {fact: $now}}}")
    ns = {"unit": {"last_assessment": datetime(2025, 10, 14).date()}}
    now = datetime.fromisoformat(day) + timedelta(hours=20)
    assert run(cond, {}, ns, now=now) is expected


def test_all_completions_helper_sanity() -> None:
    # The reference used above: two unknowns, one known -> counts 1..3.
    flags = [True, None, None]
    counts = {
        sum(1 for f in c if f)
        for c in itertools.product(*[[f] if f is not None else [True, False] for f in flags])
    }
    assert counts == {1, 2, 3}


# -- text, lists, dates, catalogues --------------------------------------------------------------
# Short alphabets so that equal values (and case-only differences) come up often.
WORD = st.text(alphabet="aAbBnNoO-", min_size=1, max_size=4)


@given(st.one_of(st.none(), WORD), WORD, st.booleans())
def test_text_equals_matches_python(value: str | None, wanted: str, ignore_case: bool) -> None:
    cond = compile_condition(
        f'{{fact: security.ssh.permit_root_login, equals: "{wanted}", ignore_case: {str(ignore_case).lower()}}}'
    )
    doc = {"security": {"ssh": {"permit_root_login": value}}}
    if value is None:
        expected = None
    elif ignore_case:
        expected = value.casefold() == wanted.casefold()
    else:
        expected = value == wanted
    assert run(cond, doc) == expected


@given(st.one_of(st.none(), WORD), st.lists(WORD, min_size=1, max_size=4), st.booleans())
def test_text_in_matches_python(value: str | None, options: list[str], ignore_case: bool) -> None:
    listed = ", ".join(f'"{o}"' for o in options)
    cond = compile_condition(
        f"{{fact: security.ssh.permit_root_login, in: [{listed}], ignore_case: {str(ignore_case).lower()}}}"
    )
    doc = {"security": {"ssh": {"permit_root_login": value}}}
    if value is None:
        expected = None
    elif ignore_case:
        expected = value.casefold() in {o.casefold() for o in options}
    else:
        expected = value in options
    assert run(cond, doc) == expected
    # `not in` keeps an unknown unknown and flips the rest.
    negated = compile_condition(
        f"{{not: {{fact: security.ssh.permit_root_login, in: [{listed}], ignore_case: {str(ignore_case).lower()}}}}}"
    )
    assert run(negated, doc) == (None if expected is None else not expected)


@given(st.lists(st.one_of(st.none(), WORD), max_size=5), WORD, st.booleans())
def test_contains_is_found_or_unknown_when_an_item_is_not_reported(
    ids: list[str | None], wanted: str, ignore_case: bool
) -> None:
    cond = compile_condition(
        f'{{fact: "patches.installed[].id", contains: "{wanted}", ignore_case: {str(ignore_case).lower()}}}'
    )
    doc = {"patches": {"installed": [{"id": i} if i is not None else {} for i in ids]}}
    same = (lambda a: a.casefold() == wanted.casefold()) if ignore_case else (lambda a: a == wanted)
    if any(i is not None and same(i) for i in ids):
        expected: bool | None = True
    elif any(i is None for i in ids):
        expected = None
    else:
        expected = False
    assert run(cond, doc) == expected


@given(st.integers(-800, 800), st.integers(0, 23), st.sampled_from(["before", "after"]))
def test_dates_against_the_check_time_match_whole_days(
    offset_days: int, hour: int, op: str
) -> None:
    day = (NOW + timedelta(days=offset_days)).date()
    cond = compile_condition(f"{{fact: $unit.last_assessment, {op}: {{fact: $now}}}}")
    now = datetime(NOW.year, NOW.month, NOW.day, hour)
    expected = day < now.date() if op == "before" else day > now.date()
    assert run(cond, {}, {"unit": {"last_assessment": day}}, now=now) is expected


def _os_catalog(entries: list[tuple[str | None, list[int], str]]) -> Any:
    from itaudit.profiles.model import Catalog
    from itaudit.profiles.types import DATE, STRING

    matches = []
    rows = []
    for edition, builds, end in entries:
        conds: list[tuple[str, tuple[Any, ...]]] = [("os.build", tuple(builds))]
        if edition is not None:
            conds.append(("os.edition", (edition,)))
        matches.append(tuple(conds))
        rows.append({"name": f"{edition} {builds}", "end_of_support": end})
    return Catalog(
        "os",
        "t",
        {"name": STRING, "end_of_support": DATE},
        tuple(rows),
        tuple(matches),
    )


def compile_lookup(catalog: Any) -> Any:
    problems: list[Problem] = []
    node = ConditionParser("t.yaml", problems, {}, {"os": catalog}, NAMESPACES).parse(
        loads_yaml("{lookup: {catalog: os, field: end_of_support}, before: 2100-01-01}", "t.yaml"),
        1,
    )
    assert not problems, problems
    return Compiler({}, {"os": catalog}).node(node)


ENTRY = st.tuples(
    st.one_of(st.none(), st.sampled_from(["Enterprise", "Professional"])),
    st.lists(st.sampled_from([19045, 22631, 26100, 26200]), min_size=1, max_size=2),
    st.sampled_from(["2025-10-14", "2026-10-13", "2027-10-12"]),
)


@settings(max_examples=200)
@given(
    st.lists(ENTRY, min_size=1, max_size=5),
    st.one_of(st.none(), st.sampled_from([19045, 22631, 26100, 26200, 9600])),
    st.one_of(st.none(), st.sampled_from(["Enterprise", "Professional", "Core"])),
)
def test_lookup_takes_the_first_entry_that_matches(
    entries: list[tuple[str | None, list[int], str]], build: int | None, edition: str | None
) -> None:
    cond = compile_lookup(_os_catalog(entries))
    # Reference: the entries in order. An entry a reported fact rules out is skipped; one
    # that depends on a fact not reported makes the answer unknown; none at all: no match.
    state, value = "nomatch", NO_MATCH
    for ed, builds, end in entries:
        checks = [None if build is None else build in builds]
        if ed is not None:
            checks.append(None if edition is None else edition == ed)
        if False in checks:
            continue
        state, value = ("found", end) if all(checks) else ("unknown", None)
        break
    ctx = Ctx({"os": {"build": build, "edition": edition}}, {}, NOW)
    assert cond(ctx, None) is (True if state == "found" else None)
    ((_leaf, recorded, _outcome),) = ctx.trace
    assert (str(recorded) if recorded is not None else None) == value

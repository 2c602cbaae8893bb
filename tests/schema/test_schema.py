"""The HostReport schema and its one validator."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from itaudit.schema import SCHEMA_ID, fact_paths, load_schema, validate_report
from itaudit.schema.docs import render_markdown

REPO = Path(__file__).resolve().parents[2]


def test_every_demo_report_is_valid(demo_reports):
    assert len(demo_reports) > 300
    for name, doc in demo_reports:
        assert validate_report(doc) == [], name


def test_problems_are_named_by_field_path(make_report):
    doc = make_report()
    doc["os"]["build"] = "22631"
    doc["network"]["interfaces"][0]["addresses"][0]["address"] = "10.0.0.999"
    doc["security"]["antivirus"][0]["enabled"] = "yes"
    problems = validate_report(doc)
    assert "os.build: expected integer or null, got string" in problems
    assert any(
        p.startswith("network.interfaces[0].addresses[0].address: '10.0.0.999' is not a valid")
        for p in problems
    )
    assert "security.antivirus[0].enabled: expected boolean or null, got string" in problems
    assert len(problems) == 3


def test_wrong_schema_version_is_one_clear_problem(make_report):
    doc = make_report()
    doc["schema"] = "itaudit/host-report/2"
    assert validate_report(doc) == [f"schema: must be {SCHEMA_ID!r}, got 'itaudit/host-report/2'"]


def test_missing_group_and_unknown_field_are_reported(make_report):
    doc = make_report()
    del doc["patches"]
    doc["security"]["backdoor"] = True
    problems = validate_report(doc)
    assert "(report): 'patches' is a required property" in problems
    assert "security: unexpected field(s): 'backdoor'" in problems


def test_hostile_hostname_is_rejected_and_not_echoed_in_full(make_report):
    doc = make_report(
        hostname="<script>alert(1)</script>' OR 1=1; DROP TABLE hosts;--" + "x" * 5000
    )
    problems = validate_report(doc)
    assert len(problems) == 2  # too long, and characters not allowed
    assert all(len(p) < 400 for p in problems)


def test_timestamp_without_offset_is_rejected(make_report):
    doc = make_report(collected_at="2026-11-20T08:00:00")
    assert validate_report(doc) == ["collected_at: '2026-11-20T08:00:00' is not a valid date-time"]


def test_impossible_date_is_rejected(make_report):
    doc = make_report(collected_at="2026-02-30T08:00:00Z")
    assert validate_report(doc) == ["collected_at: '2026-02-30T08:00:00Z' is not a valid date-time"]


def test_not_an_object():
    assert validate_report([1, 2]) == ["(report): expected a JSON object, got array"]


def test_fact_paths_cover_nested_arrays():
    paths = fact_paths()
    assert "security.antivirus[].enabled" in paths
    assert "network.interfaces[].addresses[].address" in paths
    assert "security.password_policy.min_length" in paths
    assert "security.antivirus.enabled" not in paths


def test_every_string_and_array_is_bounded():
    """Reports are untrusted: an unbounded string or list would let one report eat memory."""

    def walk(node: dict, path: str) -> list[str]:
        found = []
        types = node.get("type", [])
        types = [types] if isinstance(types, str) else types
        if (
            "string" in types
            and "maxLength" not in node
            and "pattern" not in node
            and "enum" not in node
        ):
            found.append(path)
        if "array" in types and "maxItems" not in node:
            found.append(path)
        for name, sub in node.get("properties", {}).items():
            found += walk(sub, f"{path}.{name}")
        if isinstance(node.get("items"), dict):
            found += walk(node["items"], path + "[]")
        for sub in node.get("anyOf", []):
            found += walk(sub, path)
        return found

    assert walk(load_schema(), "") == []


def test_docs_match_the_schema():
    committed = (REPO / "docs" / "host-report.md").read_text(encoding="utf-8")
    assert committed == render_markdown(), (
        "regenerate: python -m itaudit schema docs > docs/host-report.md"
    )


_leaf = st.one_of(st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.text(max_size=30))


@st.composite
def _mutated(draw, base):
    """A report with one value somewhere replaced by an arbitrary JSON value."""
    doc = copy.deepcopy(base)
    node, key = doc, None
    for _ in range(draw(st.integers(1, 5))):
        container = node if key is None else node[key]
        if isinstance(container, dict) and container:
            node, key = container, draw(st.sampled_from(sorted(container)))
        elif isinstance(container, list) and container:
            node, key = container, draw(st.integers(0, len(container) - 1))
        else:
            break
    if key is not None:
        node[key] = draw(_leaf)
    return doc


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_fast_and_full_validators_agree(data, make_report):
    """The compiled fast path and jsonschema must judge every report alike."""
    doc = data.draw(_mutated(make_report()))  # make_report returns a new copy per call
    fast_ok = validate_report(doc) == []
    # The full path: jsonschema, then the same content checks (NUL, surrogates, dates).
    full_ok = validate_report(json.loads(json.dumps(doc)), compiled=False) == []
    assert fast_ok == full_ok


def test_nul_and_lone_surrogates_are_refused_with_their_field(make_report):
    """Issue 12 (1, 2): a lone surrogate crashed signing, a NUL crashed PostgreSQL;
    the one validator now names both, and an astral character (a surrogate pair in
    JSON) stays valid."""
    doc = make_report()
    doc["identity"]["serial"] = "SN\x00123"
    doc["agent"]["version"] = "1.0\ud800"
    doc["os"]["name"] = "Windows 11 😀"
    problems = validate_report(doc)
    assert problems == [
        "agent.version: holds a lone UTF-16 surrogate (at position 3)",
        "identity.serial: holds a NUL character (at position 2)",
    ]
    clean = make_report()
    clean["os"]["name"] = "Windows 11 😀 with a literal \\u0000 in its name"
    assert validate_report(clean) == []


def test_dates_beyond_arithmetic_are_refused_before_any_arithmetic(make_report):
    """Issue 12 (3): year 1 with a positive offset, year 9999 with a negative one
    overflowed after the schema let them through."""
    for at in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "1999-12-31T23:00:00Z"):
        doc = make_report()
        doc["collected_at"] = at
        assert validate_report(doc) == [f"collected_at: {at!r} is outside the years 2000-2100"], at
    doc = make_report()
    doc["patches"]["last_install_at"] = "0001-01-01T00:00:00+01:00"
    assert validate_report(doc) == [
        "patches.last_install_at: '0001-01-01T00:00:00+01:00' is not a valid date-time"
    ]

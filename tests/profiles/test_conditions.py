"""Condition parsing: every mistake is refused with its line, before any machine is checked."""

from __future__ import annotations

import pytest

from itaudit.errors import Problem
from itaudit.profiles.conditions import ConditionParser
from itaudit.profiles.model import ParamSpec, Where
from itaudit.profiles.types import INTEGER
from itaudit.yamlfile import loads_yaml

HOST = frozenset({"asset", "unit", "host", "lan", "org"})


def parse(text: str, namespaces: frozenset[str] = HOST) -> list[str]:
    problems: list[Problem] = []
    params = {"n": ParamSpec("n", INTEGER, "integer", 1, True, where=Where("t"))}
    ConditionParser("t.yaml", problems, params, {}, namespaces).parse(loads_yaml(text, "t.yaml"), 1)
    return [str(p) for p in problems]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "fact: hardware.form_factor\nequals: labtop\n",
            "t.yaml:2: condition: 'labtop' can never equal hardware.form_factor",
        ),
        (
            "fact: security.disk_encryption.volumes[].protection\nequals: 'on'\n",
            "is a list of one of off, on, unknown: use 'contains', or 'count'",
        ),
        (
            "fact: os.build\nversion_ge: '10.0'\n",
            "t.yaml:2: condition: 'version_ge' compares dotted version strings, but os.build is integer",
        ),
        ("fact: os.version\nversion_ge: 10.0.x\n", "'10.0.x' is not a dotted version"),
        (
            "age_days: os.name\nle: 3\n",
            "t.yaml:1: condition: age_days needs a date or date-time, but os.name is string",
        ),
        ("item: enabled\nequals: true\n", "'item' is only meaningful inside a count's 'where'"),
        ("fact: $office.gateway\nequals: 1\n", "unknown context '$office'"),
        ("fact: $attestation.valid\nequals: true\n", "unknown context '$attestation'"),
        ("fact: $asset.secrets\nequals: true\n", "unknown fact '$asset.secrets': $asset has"),
        ("lookup: {catalog: eos, field: end}\nbefore: 2026-01-01\n", "unknown catalogue 'eos'"),
        ("count: {fact: os.build}\nge: 1\n", "count needs a list, but os.build is integer"),
        ("fact: os.build\nin: 26100\n", "'in' takes a list, got integer"),
        ("fact: os.build\nge: 1\nignore_case: true\n", "ignore_case does not apply to 'ge'"),
        ("fact: os.build\nitem: x\nge: 1\n", "a test names exactly one subject"),
        ("fact: os.build\n", "a test has exactly one comparison"),
        ("all: []\n", "'all' takes a non-empty list of conditions"),
        ("all: [{fact: os.build, ge: 1}]\nany: [{fact: os.build, ge: 1}]\n", "'all' stands alone"),
        (
            "fact: security.screen_lock.enabled\nequals: 'on'\n",
            "type mismatch: security.screen_lock.enabled is boolean, compared with string",
        ),
        (
            "count: {fact: security.antivirus, where: {item: enabld, equals: true}}\nge: 1\n",
            "unknown field 'enabld' of 'security.antivirus[]' items",
        ),
        ("fact: network.default_gateways\ncontains: not-an-ip\n", None),
        ("fact: patches.last_install_at\nafter: yesterday\n", "'yesterday' is not a date"),
        ("fact: os.build\nge: {param: m}\n", "unknown parameter 'm' (this rule declares: n)"),
    ],
    ids=[
        "enum-value-that-cannot-occur",
        "list-compared-as-a-scalar",
        "version-on-integer",
        "bad-version-literal",
        "age-of-a-string",
        "item-outside-where",
        "unknown-namespace",
        "attestation-outside-attestation-rule",
        "unknown-context-field",
        "unknown-catalogue",
        "count-of-a-scalar",
        "in-without-list",
        "ignore-case-on-number",
        "two-subjects",
        "no-comparison",
        "empty-all",
        "two-logic-keys",
        "on-is-not-a-boolean",
        "unknown-item-field",
        "ip-list-contains-string-accepted",
        "date-that-is-not",
        "undeclared-parameter",
    ],
)
def test_condition_mistakes_are_refused_with_their_line(text: str, message: str | None) -> None:
    problems = parse(text)
    if message is None:
        assert problems == []  # strings and IPs compare: the value is checked when evaluated
        return
    assert problems, f"accepted: {text!r}"
    assert message in problems[0], problems


def test_attestation_facts_are_allowed_in_attestation_rules() -> None:
    assert (
        parse("fact: $attestation.valid\nequals: true\n", frozenset({"unit", "attestation"})) == []
    )


def test_deep_nesting_is_refused() -> None:
    text = "{not: " * 40 + "{fact: os.build, ge: 1}" + "}" * 40
    problems = parse(text)
    assert any("nested more than 32 levels" in p for p in problems)

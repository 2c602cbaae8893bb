"""Every recorded bundle parses to the facts its expected.json lists.

Cases are found by glob: a new folder tests/agent/fixtures/<case>/ with a
`bundle/` and an `expected.json` is a new test. expected.json is a partial
report: objects are compared key by key (keys it leaves out are not checked),
lists element by element with the same length. Two extra keys check long
lists without spelling them out: `software_count` and `software_includes`.
A third, `_known_defects`, maps a fact path (as `mismatches` names it) to the
parser defect that still gets it wrong: expected.json states the right value,
the main test leaves that path out, and a strict xfail case per path fails as
soon as the parser is fixed (then delete the entry).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from itaudit.schema import validate_report

FIXTURES = Path(__file__).resolve().parent / "fixtures"

CASES = sorted(p.name for p in FIXTURES.iterdir() if (p / "expected.json").is_file())


def mismatches(expected: Any, actual: Any, path: str = "") -> list[str]:
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path or '(report)'}: expected an object, got {actual!r}"]
        out = []
        for key, value in expected.items():
            if key not in actual:
                out.append(f"{path}.{key}: missing")
            else:
                out.extend(mismatches(value, actual[key], f"{path}.{key}" if path else key))
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{path}: expected {len(expected)} item(s), got {actual!r}"]
        out = []
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            out.extend(mismatches(e, a, f"{path}[{i}]"))
        return out
    if expected != actual or type(expected) is not type(actual):
        return [f"{path}: expected {expected!r}, got {actual!r}"]
    return []


def test_fixture_cases_cover_the_required_machines():
    assert {
        "win10-bkav-defender-passive",
        "win11-defender-only",
        "winserver2019-no-securitycenter",
        "win10-vietnamese",
        "win10-thirdparty-av-outdated",
        "win10-state-secret-offline",
        "linux-ubuntu-server",
    } <= set(CASES)


def _expected(case: str) -> dict[str, Any]:
    return json.loads((FIXTURES / case / "expected.json").read_text(encoding="utf-8"))


def _path(problem: str) -> str:
    return problem.split(":", 1)[0]


KNOWN_DEFECTS = [
    pytest.param(
        case,
        path,
        marks=pytest.mark.xfail(strict=True, reason=reason),
        id=f"{case}:{path}",
    )
    for case in CASES
    for path, reason in _expected(case).get("_known_defects", {}).items()
]


@pytest.mark.parametrize("case", CASES)
def test_bundle_parses_to_expected_facts(case, parsed):
    report = parsed(case)
    assert validate_report(report) == []
    expected = _expected(case)
    count = expected.pop("software_count", None)
    includes = expected.pop("software_includes", [])
    defects = expected.pop("_known_defects", {})
    problems = [p for p in mismatches(expected, report) if _path(p) not in defects]
    if count is not None and len(report["software"]) != count:
        problems.append(f"software: expected {count} packages, got {len(report['software'])}")
    for item in includes:
        if item not in report["software"]:
            problems.append(f"software: {item} not found")
    assert problems == []


@pytest.mark.parametrize(("case", "path"), KNOWN_DEFECTS)
def test_known_parser_defect_gives_the_right_fact(case, path, parsed):
    expected = _expected(case)
    for key in ("software_count", "software_includes", "_known_defects"):
        expected.pop(key, None)
    assert [p for p in mismatches(expected, parsed(case)) if _path(p) == path] == []


@pytest.mark.parametrize("case", CASES)
def test_fixture_has_a_readme_citing_sources(case):
    readme = (FIXTURES / case / "README.md").read_text(encoding="utf-8")
    manifest = json.loads(
        (FIXTURES / case / "bundle" / "manifest.json").read_text(encoding="utf-8")
    )
    missing = [name for name in manifest["sources"] if f"`{name}`" not in readme]
    assert missing == [], f"README.md of {case} does not say where these come from: {missing}"


def test_the_same_bundle_always_gives_the_same_report_id(catalog):
    from itaudit.agent.collect import parse_bundle

    path = FIXTURES / "win11-defender-only" / "bundle"
    assert parse_bundle(path, catalog)["report_id"] == parse_bundle(path, catalog)["report_id"]

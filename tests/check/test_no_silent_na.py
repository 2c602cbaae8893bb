"""Never "fine" without knowing: the probe-failure matrix.

For every rule of the level-1 profile that reads the agent report, on every
frozen base machine it concerns, and for every kind of probe failure an agent
records (`errors[].kind`), the facts the rule reads are taken away the way a
failing probe leaves them (null) and the failure is recorded under the probe's
name. The rule must then say "could not be checked" (or fail on facts it still
has): never not-applicable, never pass. Not-applicable stays what the machine
is (type, platform, state-secret, LAN placement), which the clean base shows.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import pytest
from test_golden import _world, evaluate_case

from itaudit.check.engine import METHOD, METHODS

FAILURE_KINDS = ("unsupported", "denied", "absent", "failed", "timeout", "unparsed")
BASES = (
    "windows-workstation",
    "windows-laptop",
    "windows-server",
    "linux-server",
    "linux-laptop",
    "secret-workstation",
    # No Linux machine of the sample register is a state-secret one: the Linux server,
    # registered as one, for the rules that concern only those (L1-USB-01).
    "linux-server+secret",
)


def _case(base: str, **case: Any) -> dict[str, Any]:
    name, _, variant = base.partition("+")
    return {**case, "base": name, **({"asset": {"secret": True}} if variant == "secret" else {})}


def _top(path: str) -> tuple[str, ...]:
    """The part of a fact path a failing probe leaves null: up to the first list."""
    parts = []
    for p in path.split("."):
        if p.endswith("[]"):
            parts.append(p[:-2])
            break
        parts.append(p)
    return tuple(parts)


# Written by the agent itself, not by a probe that can fail.
_ENVELOPE = {"platform", "identity", "unit", "agent", "schema", "collected_at", "signature"}


def _report_paths(rule: Any) -> list[tuple[str, ...]]:
    return sorted(
        {_top(p) for p in rule.fact_paths if not p.startswith("$")} - {(e,) for e in _ENVELOPE}
    )


@cache
def _matrix() -> list[Any]:
    _org, profiles = _world()
    out = []
    for rid, rule in sorted(profiles.rules().items()):
        if rule.scope != "host" or rule.kind == "attestation" or not _report_paths(rule):
            continue
        for base in BASES:
            # Only where the rule concerns the machine: not-applicable there is the truth.
            if "+" in base and rule.applies.secret != "only":
                continue
            if evaluate_case(rid, _case(base, name="clean"))[0] == "not-applicable":
                continue
            for kind in FAILURE_KINDS:
                out.append(pytest.param(rid, base, kind, id=f"{rid}:{base}:{kind}"))
    return out


def _break(doc: dict[str, Any], paths: list[tuple[str, ...]], kind: str) -> None:
    for parts in paths:
        node: Any = doc
        for p in parts[:-1]:
            if not isinstance(node, dict) or node.get(p) is None:
                node = None
                break
            node = node[p]
        if isinstance(node, dict):
            node[parts[-1]] = None
    doc.setdefault("errors", [])
    for parts in paths:
        doc["errors"].append(
            {"probe": ".".join(parts), "kind": kind, "message": f"matrix: {kind} here"}
        )


@pytest.mark.parametrize(("rule_id", "base", "kind"), _matrix())
def test_missing_facts_are_never_fine(rule_id: str, base: str, kind: str) -> None:
    _org, profiles = _world()
    paths = _report_paths(profiles.rules()[rule_id])
    case: dict[str, Any] = _case(base, name=kind, _break=(paths, kind))
    status, evidence = _evaluate_broken(rule_id, case)
    text = "\n".join(evidence)
    assert status not in ("not-applicable", "pass", "waived"), (
        f"{rule_id} on {base} with its facts {kind}: {status}\n{text}"
    )
    if status == "error":
        # The reason reaches the reader: the agent's own note names the probe.
        assert f"probe {'.'.join(paths[0])}" in text or "not reported" in text.lower(), text


def _evaluate_broken(rule_id: str, case: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    import test_golden

    paths, kind = case.pop("_break")
    original = test_golden._base

    def broken_base(name: str) -> dict[str, Any]:
        doc = copy.deepcopy(original(name))
        _break(doc, paths, kind)
        return doc

    test_golden._base = broken_base  # type: ignore[assignment]
    try:
        return evaluate_case(rule_id, case)
    finally:
        test_golden._base = original


def test_an_unsupported_probe_no_longer_makes_a_rule_not_applicable() -> None:
    """The defect itself: Windows password rules never ran because the probe said
    "unsupported" for complexity; length 0 must fail whatever complexity says."""
    case = {
        "name": "length 0, complexity unsupported",
        "base": "windows-workstation",
        "set": {"security.password_policy.min_length": 0, "errors": []},
        "append": {
            "errors": {
                "probe": "security.password_policy",
                "kind": "unsupported",
                "message": "password complexity is not exposed",
            }
        },
    }
    status, evidence = evaluate_case("L1-PWD-01", case)
    assert status == "fail", "\n".join(evidence)


def test_the_matrix_covers_every_rule_that_reads_the_report() -> None:
    _org, profiles = _world()
    readers = {
        rid
        for rid, r in profiles.rules().items()
        if r.scope == "host" and r.kind != "attestation" and _report_paths(r)
    }
    covered = {p.values[0] for p in _matrix()}
    assert readers and covered == readers, sorted(readers - covered)


def test_the_method_is_recorded_and_described() -> None:
    assert max(METHODS) == METHOD
    assert "not-applicable" in METHODS[1] and "could not be checked" in METHODS[METHOD]

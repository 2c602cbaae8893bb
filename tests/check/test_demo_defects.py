"""On the demo data, every planted defect is found by exactly the rules defects.yaml
lists for it, and every other machine passes every rule.

The demo runs end to end (register, generated reports, ingest, sample
attestations, check) at a fixed time, into a real store on each back end.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from itaudit.check.results import iter_subjects, latest_run
from itaudit.demo.generate import load_defects
from itaudit.demo.run import run_demo
from itaudit.store import open_store
from itaudit.workspace import Workspace

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


@pytest.fixture
def demo(tmp_path, store_url):
    store = open_store(store_url)
    run = run_demo(Workspace(tmp_path / "demo"), store, lambda _text: None, now=NOW)
    checked = latest_run(store)
    assert checked is not None and checked.id == run.results["check"].run_id
    subjects = {}
    for s in iter_subjects(store, checked, kinds=("host", "asset")):
        subjects[s.asset_tag or s.hostname] = s
    yield run, checked, subjects
    store.close()


def _bad(subject) -> dict[str, str]:
    return {r.rule_id: r.status for r in subject.results if r.status in ("fail", "error", "waived")}


def test_every_defect_has_rules_listed() -> None:
    for defect in load_defects():
        assert defect.rules, f"defect {defect.id} lists no rule"


def test_every_planted_defect_is_found_by_exactly_its_rules(demo) -> None:
    _run, _checked, subjects = demo
    by_machine: dict[str, dict[str, str]] = {}
    for defect in load_defects():
        key = defect.asset or defect.hostname
        expected = "waived" if defect.expect == "waived" else "fail"
        for rule in defect.rules:
            by_machine.setdefault(key, {})[rule] = expected
    for key, expected in by_machine.items():
        assert key in subjects, f"{key} was not checked"
        assert _bad(subjects[key]) == expected, f"{key}: {_bad(subjects[key])} != {expected}"


def test_every_other_machine_passes_every_rule(demo) -> None:
    _run, _checked, subjects = demo
    planted = {d.asset or d.hostname for d in load_defects()}
    clean = {k: s for k, s in subjects.items() if k not in planted}
    assert (
        len(clean) == 314 - len(planted) + 1
    )  # the unregistered machine and the silent one are planted
    dirty = {k: _bad(s) for k, s in clean.items() if _bad(s)}
    assert dirty == {}
    assert all(s.failed == 0 and s.errors == 0 and s.waived == 0 for s in clean.values())


def test_demo_summary_counts_and_plants(demo) -> None:
    run, checked, _subjects = demo
    summary = run.results["check"]
    assert summary.totals["machines"] == 315  # 314 register computers + the unregistered one
    assert summary.totals["errors"] == 0
    assert summary.totals["waived"] == 1
    assert summary.expired_waivers == 1
    assert summary.expired_attestations == 2
    expired = [a for a in checked.attestations if a.state == "expired"]
    assert {(a.rule, a.target) for a in expired} == {
        ("L1-MGT-06", "dvvl"),
        ("L1-MGT-01", "nghiatrang"),
    }
    nghiatrang = checked.unit("nghiatrang")
    assert (
        nghiatrang.unit_rules["failed"] == 3
    )  # policy review expired, no training, assessment 2023

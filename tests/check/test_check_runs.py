"""Check runs through a real store (SQLite file and PostgreSQL): storing, reading
back, waivers, attestations, LAN sightings, filters, change since the last run."""

from __future__ import annotations

import copy
import hashlib
import shutil
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from itaudit.check import tables as ct
from itaudit.check.attestations import list_attestations, record_attestation
from itaudit.check.results import (
    compare_runs,
    iter_results,
    iter_subjects,
    latest_run,
    list_runs,
    load_run,
    previous_run,
)
from itaudit.check.runs import run_check
from itaudit.demo.generate import generate
from itaudit.errors import UsageError
from itaudit.ingest import ingest_documents
from itaudit.org.matching import RegisterIndex
from itaudit.profiles import load_profiles
from itaudit.scan.records import Observation, ScanRecord, save_scan
from itaudit.store import open_store
from itaudit.workspace import sample_root

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
PICK = {
    "HO-PC-001",  # clean
    "HO-PC-020",  # screen lock after an hour
    "HO-PC-070",  # clean state-secret machine
    "HO-PC-071",  # state-secret machine on the network
    "PHCN-PC-002",  # Windows 10 under a waiver
    "BTXH2-PC-005",  # autorun on, waiver expired
    "DESKTOP-7F3K2QJ",  # not in the register
}


@pytest.fixture(scope="module")
def fleet(sample_org):
    return {
        name.removesuffix(".json"): doc
        for name, doc in generate(sample_org, now=NOW)
        if name.removesuffix(".json") in PICK
    }


@pytest.fixture(scope="module")
def profiles():
    root = sample_root()
    return load_profiles(root / "profiles", root / "inventory")


@pytest.fixture
def store(store_url, sample_org, fleet):
    s = open_store(store_url)
    summary = ingest_documents(
        s, RegisterIndex(sample_org), [(f"{k}.json", v) for k, v in fleet.items()]
    )
    assert summary.accepted == len(PICK), [o.reason for o in summary.outcomes]
    yield s
    s.close()


def subject(store, run, name):
    found = list(iter_subjects(store, run, host=name))
    if not found:
        found = list(iter_subjects(store, run, unit=name, kinds=("unit",)))
    assert len(found) == 1, name
    return found[0]


def test_run_is_stored_and_read_back(store, sample_org, profiles) -> None:
    summary = run_check(store, sample_org, profiles, now=NOW, unit="ho")
    run = latest_run(store, unit="ho")
    assert run is not None and run.id == summary.run_id and run.status == "complete"
    assert run.checked_at == NOW.replace(tzinfo=None)
    (ho,) = run.units
    assert ho.machines == summary.totals["machines"]
    assert ho.failed == summary.totals["failed"]
    assert ho.reported == 5  # four register machines and the unregistered one
    assert ho.never_reported == sum(1 for a in sample_org.assets_of("ho") if a.is_computer) - 4
    pc020 = subject(store, run, "HO-PC020")
    lock = pc020.result("L1-LOCK-01")
    assert lock.status == "fail" and lock.severity == "medium"
    assert any("3600" in line and "≤ 900" in line for line in lock.evidence)
    assert lock.rule.title.vi.startswith("Màn hình") and lock.rule.remediation.en
    assert pc020.failed == 1 and pc020.score == pytest.approx(pc020.passed / (pc020.passed + 1))
    assert subject(store, run, "HO-PC001").failed == 0


def test_unregistered_machine_fails_registration(store, sample_org, profiles) -> None:
    run = load_run(store, run_check(store, sample_org, profiles, now=NOW, unit="ho").run_id)
    desktop = subject(store, run, "DESKTOP-7F3K2QJ")
    assert desktop.asset_tag is None and desktop.kind == "host"
    assert [r.rule_id for r in desktop.results if r.status == "fail"] == ["L1-REG-01"]


def test_register_entries_without_report_fail_only_reg_02(store, sample_org, profiles) -> None:
    run = load_run(store, run_check(store, sample_org, profiles, now=NOW, unit="ho").run_id)
    silent = subject(store, run, "HO-PC-002")
    assert silent.kind == "asset"
    statuses = {r.rule_id: r.status for r in silent.results}
    assert statuses["L1-REG-02"] == "fail"
    assert {s for rid, s in statuses.items() if rid != "L1-REG-02"} == {"not-applicable"}
    assert "no report from this machine" in silent.result("L1-AV-01").evidence


def test_secret_machine_on_the_network(store, sample_org, profiles) -> None:
    run = load_run(store, run_check(store, sample_org, profiles, now=NOW, unit="ho").run_id)
    failing = {r.rule_id for r in subject(store, run, "HO-PC071").results if r.status == "fail"}
    assert failing == {"L1-SECRET-01", "L1-SECRET-02", "L1-SECRET-03", "L1-SECRET-04"}
    clean = subject(store, run, "HO-PC070")
    assert clean.failed == 0
    assert clean.result("L1-SECRET-05").status == "not-applicable"  # no LAN scan yet


def test_lan_scan_seeing_a_secret_machine_fails_it(store, sample_org, profiles) -> None:
    asset = sample_org.asset("HO-PC-070")
    scan = ScanRecord(
        ("10.38.0.0/23",),
        "10.38.0.0/23",
        NOW.replace(tzinfo=None),
        NOW.replace(tzinfo=None),
        unit="ho",
    )
    save_scan(store, scan, [Observation(address="10.38.1.90", mac=asset.mac)])
    run = load_run(store, run_check(store, sample_org, profiles, now=NOW, unit="ho").run_id)
    secret = subject(store, run, "HO-PC070").result("L1-SECRET-05")
    assert secret.status == "fail"
    assert "$lan.seen = true" in " ".join(secret.evidence)
    # Machines the scan did not see pass once the LAN has been scanned.
    assert subject(store, run, "HO-PC071").result("L1-SECRET-05").status == "pass"


def test_waiver_and_expired_waiver(store, sample_org, profiles) -> None:
    run = load_run(store, run_check(store, sample_org, profiles, now=NOW).run_id)
    waived = subject(store, run, "PHCN-PC002").result("L1-OS-01")
    assert waived.status == "waived"
    assert waived.waiver is not None and not waived.waiver.expired
    assert waived.waiver.expires == date(2027, 6, 30)
    autorun = subject(store, run, "BTXH2-PC005").result("L1-AUTORUN-01")
    assert autorun.status == "fail"
    assert autorun.waiver is not None and autorun.waiver.expired
    assert any("expired on 2026-06-30" in line for line in autorun.evidence)
    states = {w.target: (w.expired, w.used) for w in run.waivers}
    assert states["PHCN-PC-002"] == (False, 1)
    assert states["BTXH2-PC-005"] == (True, 0)
    assert run.unit("phcn-tamthan").waived == 1


def test_attestations_pass_and_expire(store, sample_org, profiles) -> None:
    record_attestation(
        store,
        "L1-MGT-06",
        reference="BB 12/2026",
        evidence_date=date(2025, 9, 1),
        unit="dvvl",
        expires=date(2026, 9, 1),
    )
    run = load_run(store, run_check(store, sample_org, profiles, now=NOW, unit="dvvl").run_id)
    unit = subject(store, run, "dvvl")
    assert unit.kind == "unit"
    assert unit.result("L1-MGT-06").status == "fail"
    (state,) = [a for a in run.attestations if a.rule == "L1-MGT-06"]
    assert (state.state, state.reference, state.expires) == (
        "expired",
        "BB 12/2026",
        date(2026, 9, 1),
    )
    record_attestation(
        store, "L1-MGT-06", reference="BB 40/2026", evidence_date=date(2026, 10, 2), unit="dvvl"
    )
    run = load_run(store, run_check(store, sample_org, profiles, now=NOW, unit="dvvl").run_id)
    assert subject(store, run, "dvvl").result("L1-MGT-06").status == "pass"
    (state,) = [a for a in run.attestations if a.rule == "L1-MGT-06"]
    assert (state.state, state.expires) == ("valid", date(2027, 10, 2))  # date + valid_days 365
    missing = [a for a in run.attestations if a.rule == "L1-MGT-01"]
    assert missing[0].state == "missing"


def test_evidence_dated_after_the_check_does_not_hide_valid_evidence(
    store, sample_org, profiles
) -> None:
    record_attestation(
        store, "L1-MGT-04", reference="QĐ 602/2026", evidence_date=date(2026, 5, 14), unit="ho"
    )
    record_attestation(
        store, "L1-MGT-04", reference="QĐ 700/2027", evidence_date=date(2027, 1, 5), unit="ho"
    )
    run = load_run(store, run_check(store, sample_org, profiles, now=NOW, unit="ho").run_id)
    assert subject(store, run, "ho").result("L1-MGT-04").status == "pass"
    (state,) = [a for a in run.attestations if a.rule == "L1-MGT-04"]
    assert (state.state, state.reference) == ("valid", "QĐ 602/2026")
    # Checked as of a day before any evidence: the later record is what exists, not yet valid.
    early = datetime(2026, 3, 1, tzinfo=UTC)
    run = load_run(store, run_check(store, sample_org, profiles, now=early, unit="ho").run_id)
    assert subject(store, run, "ho").result("L1-MGT-04").status == "fail"
    (state,) = [a for a in run.attestations if a.rule == "L1-MGT-04"]
    assert (state.state, state.reference) == ("future", "QĐ 700/2027")
    # Checked after both: the newer one is used.
    late = datetime(2027, 2, 1, tzinfo=UTC)
    run = load_run(store, run_check(store, sample_org, profiles, now=late, unit="ho").run_id)
    (state,) = [a for a in run.attestations if a.rule == "L1-MGT-04"]
    assert (state.state, state.reference) == ("valid", "QĐ 700/2027")


def test_recording_the_same_attestation_twice_keeps_one(store, tmp_path) -> None:
    evidence = tmp_path / "bien-ban.pdf"
    evidence.write_bytes(b"%PDF-1.4 sample minutes")
    first, new1 = record_attestation(
        store,
        "L1-MGT-03",
        reference="BB tập huấn",
        evidence_date=date(2026, 5, 1),
        unit="ho",
        file=evidence,
    )
    again, new2 = record_attestation(
        store,
        "L1-MGT-03",
        reference="BB tập huấn",
        evidence_date=date(2026, 5, 1),
        unit="ho",
        file=evidence,
    )
    assert (new1, new2) == (True, False) and again.id == first.id
    assert first.file_name == "bien-ban.pdf" and first.file_size == len(b"%PDF-1.4 sample minutes")
    assert first.file_sha256 == hashlib.sha256(evidence.read_bytes()).hexdigest()
    assert len(list_attestations(store, "L1-MGT-03")) == 1


def test_host_scoped_attestation_rule(store, sample_org, tmp_path) -> None:
    # A rule recorded per machine (as the holiday readiness will record server backups).
    root = tmp_path / "profiles"
    shutil.copytree(sample_root() / "profiles", root)
    with open(root / "units" / "ho.yaml", "a", encoding="utf-8") as fh:
        fh.write(
            "\nrules:\n"
            "  - id: HO-BAK-01\n"
            "    kind: attestation\n"
            "    scope: host\n"
            "    applies_to: {types: [workstation]}\n"
            "    title: {vi: Sao lưu máy, en: Machine backed up}\n"
            "    remediation: {vi: Sao lưu, en: Back it up}\n"
            "    severity: high\n"
            "    params: {valid_days: {type: integer, default: 30}}\n"
        )
    ps = load_profiles(root, sample_root() / "inventory")
    record_attestation(
        store,
        "HO-BAK-01",
        reference="backup log",
        evidence_date=date(2026, 11, 10),
        hostname="HO-PC001",
        asset_tag="HO-PC-001",
    )
    run = load_run(store, run_check(store, sample_org, ps, now=NOW, unit="ho").run_id)
    assert subject(store, run, "HO-PC001").result("HO-BAK-01").status == "pass"
    assert subject(store, run, "HO-PC020").result("HO-BAK-01").status == "fail"


def test_framework_filter_keeps_only_its_rules(store, sample_org, profiles) -> None:
    run = load_run(
        store,
        run_check(store, sample_org, profiles, now=NOW, unit="ho", framework="law-29-2018").run_id,
    )
    rules = {r.rule_id for r in iter_results(store, run)}
    # Law 29/2018 Art. 5: the air-gap rules, and USB storage blocked on state-secret machines.
    assert rules == {f"L1-SECRET-0{i}" for i in range(1, 6)} | {"L1-USB-01"}
    assert run.framework == "law-29-2018" and not run.full_scope


def test_host_filter_checks_one_machine(store, sample_org, profiles) -> None:
    summary = run_check(store, sample_org, profiles, now=NOW, host="HO-PC020")
    assert summary.totals["machines"] == 1
    run = load_run(store, summary.run_id)
    assert [s.hostname for s in iter_subjects(store, run)] == ["HO-PC020"]


def test_unknown_unit_framework_or_host_is_a_usage_error(store, sample_org, profiles) -> None:
    with pytest.raises(UsageError, match="unknown unit 'hq'"):
        run_check(store, sample_org, profiles, now=NOW, unit="hq")
    with pytest.raises(UsageError, match="unknown framework 'iso-27001'"):
        run_check(store, sample_org, profiles, now=NOW, framework="iso-27001")
    with pytest.raises(UsageError, match="no machine 'NOPE-PC'"):
        run_check(store, sample_org, profiles, now=NOW, host="NOPE-PC")


def test_latest_full_run_ignores_partial_runs_and_previous_shows_changes(
    store, sample_org, profiles, fleet
) -> None:
    first = run_check(store, sample_org, profiles, now=NOW, unit="ho")
    run_check(store, sample_org, profiles, now=NOW, host="HO-PC001")
    fixed = copy.deepcopy(fleet["HO-PC-020"])
    fixed.pop("signature", None)
    fixed.pop("bundle_signature", None)
    fixed["security"]["screen_lock"]["timeout_seconds"] = 600
    fixed["collected_at"] = (NOW - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    fixed["report_id"] = "6f1c7a50-0000-4000-8000-000000000020"
    # The machine re-collects unsigned here, which its pinned key refuses; accept the new key first.
    store.rekey(store.host("HO-PC020").id, "test", "agent reinstalled")
    assert ingest_documents(store, RegisterIndex(sample_org), [("fixed.json", fixed)]).accepted == 1
    second = run_check(store, sample_org, profiles, now=NOW, unit="ho")
    latest = latest_run(store, unit="ho")
    assert latest.id == second.run_id
    before = previous_run(store, latest)
    assert before is not None and before.id == first.run_id
    changes = compare_runs(store, before, latest)
    pc020 = {
        (c.rule_id, c.before, c.after) for c in changes if c.subject == ("machine", "HO-PC-020")
    }
    assert ("L1-LOCK-01", "fail", "pass") in pc020
    assert ("L1-REPORT-02", "pass", "fail") in pc020  # the new report is unsigned


def test_check_tables_match_their_migration(store) -> None:
    inspector = sa.inspect(store.engine)
    for table in (ct.check_runs, ct.check_results, ct.attestations):
        columns = {c["name"] for c in inspector.get_columns(table.name)}
        assert columns == {c.name for c in table.columns}, table.name
    assert "check.001_initial" in store.applied_migrations()


def test_results_of_a_run_do_not_depend_on_later_profile_edits(store, sample_org, tmp_path) -> None:
    root = tmp_path / "profiles"
    shutil.copytree(sample_root() / "profiles", root)
    ps = load_profiles(root, sample_root() / "inventory")
    run_id = run_check(store, sample_org, ps, now=NOW, unit="ho").run_id
    text = (root / "level1.yaml").read_text(encoding="utf-8")
    (root / "level1.yaml").write_text(
        text.replace("en: The screen locks when idle", "en: Renamed later"), encoding="utf-8"
    )
    run = load_run(store, run_id)
    assert run.rules["L1-LOCK-01"].title.en == "The screen locks when idle"


def test_results_are_stored_compactly(store, sample_org, profiles) -> None:
    run_check(store, sample_org, profiles, now=NOW, unit="ho")
    with store.read() as conn:
        sizes = conn.execute(
            sa.select(sa.func.max(sa.func.length(ct.check_results.c.results)))
        ).scalar_one()
    assert sizes < 4000


def test_unsupported_and_failed_probes_are_both_could_not_check(
    store, sample_org, profiles, fleet
) -> None:
    doc = copy.deepcopy(fleet["HO-PC-001"])
    doc.pop("signature", None)
    doc.pop("bundle_signature", None)
    doc["identity"].update(
        hostname="LAB-PC01",
        serial="LAB0001",
        hardware_uuid="4d0c1a8e-7f1e-4a55-9d88-0a6f2b7e9c01",
        macs=["00:1b:21:aa:bb:01"],
        asset_tag=None,
    )
    doc["report_id"] = "6f1c7a50-0000-4000-8000-0000000000a1"
    doc["security"]["screen_lock"] = None
    doc["security"]["password_policy"] = None
    doc["errors"] = [
        {
            "probe": "security.screen_lock",
            "kind": "unsupported",
            "message": "kiosk image without a lock screen",
        },
        {
            "probe": "security.password_policy",
            "kind": "denied",
            "message": "NetUserModalsGet: access denied",
        },
    ]
    assert ingest_documents(store, RegisterIndex(sample_org), [("lab.json", doc)]).accepted == 1
    run = load_run(store, run_check(store, sample_org, profiles, now=NOW, host="LAB-PC01").run_id)
    lab = subject(store, run, "LAB-PC01")
    # Unsupported says nothing about whether the rule concerns the machine: could not check.
    assert lab.result("L1-LOCK-01").status == "error"
    assert "kiosk image without a lock screen" in " ".join(lab.result("L1-LOCK-01").evidence)
    pwd = lab.result("L1-PWD-01")
    assert pwd.status == "error"
    assert any("not reported" in e for e in pwd.evidence)
    assert any("NetUserModalsGet: access denied" in e for e in pwd.evidence)


def test_an_interrupted_run_leaves_no_partial_results(
    store, sample_org, profiles, monkeypatch
) -> None:
    from itaudit.check import runs

    first = run_check(store, sample_org, profiles, now=NOW, unit="ho")
    monkeypatch.setattr(runs, "BATCH", 2)  # results reach the store before the interruption
    evaluate = runs._Run.evaluate
    calls = []

    def interrupted(self, s):
        calls.append(s)
        if len(calls) == 6:
            raise KeyboardInterrupt
        return evaluate(self, s)

    monkeypatch.setattr(runs._Run, "evaluate", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_check(store, sample_org, profiles, now=NOW, unit="ho")
    (failed, complete) = list_runs(store)[:2]
    assert failed.status == "failed" and complete.id == first.run_id
    with store.read() as conn:
        left = conn.execute(
            sa.select(sa.func.count())
            .select_from(ct.check_results)
            .where(ct.check_results.c.run_id == failed.id)
        ).scalar_one()
    assert left == 0
    assert latest_run(store, unit="ho").id == first.run_id


def test_scores_follow_their_definitions(store, sample_org, profiles, fleet) -> None:
    # One machine whose password policy could not be read: its rules are errors,
    # counted and shown, against the score like failures (DESIGN.md "Result"), and
    # the machine is not compliant.
    doc = copy.deepcopy(fleet["HO-PC-001"])
    doc.pop("signature", None)
    doc.pop("bundle_signature", None)
    doc["identity"].update(
        hostname="LAB-PC02",
        serial="LAB0002",
        hardware_uuid="4d0c1a8e-7f1e-4a55-9d88-0a6f2b7e9c02",
        macs=["00:1b:21:aa:bb:02"],
        asset_tag=None,
    )
    doc["report_id"] = "6f1c7a50-0000-4000-8000-0000000000a2"
    doc["security"]["password_policy"] = None
    assert ingest_documents(store, RegisterIndex(sample_org), [("lab.json", doc)]).accepted == 1
    run = load_run(store, run_check(store, sample_org, profiles, now=NOW, unit="ho").run_id)
    (ho,) = run.units
    machines = list(iter_subjects(store, run, unit="ho", kinds=("host", "asset")))
    assert ho.machines == len(machines)
    for s in machines:
        decided = s.passed + s.failed + s.errors
        assert s.score == (pytest.approx(s.passed / decided) if decided else None), s.key
    scored = [s.score for s in machines if s.score is not None]
    assert ho.mean_score == pytest.approx(sum(scored) / len(scored))
    compliant = [s.key for s in machines if s.failed == 0 and s.errors == 0]
    assert ho.compliant == len(compliant)
    assert ho.compliant_share == pytest.approx(len(compliant) / len(machines))
    for field in ("passed", "failed", "errors", "not_applicable", "waived"):
        assert getattr(ho, field) == sum(getattr(s, field) for s in machines), field
    lab = subject(store, run, "LAB-PC02")
    assert lab.errors == 4 and lab.key not in compliant  # L1-PWD-01..04 not reported
    assert lab.score == pytest.approx(lab.passed / (lab.passed + lab.failed + 4))
    assert lab.score < 1.0
    assert ho.errors >= 4


def test_time_relative_rules_use_the_check_time(store, sample_org, profiles) -> None:
    later = NOW + timedelta(days=40)
    run = load_run(store, run_check(store, sample_org, profiles, now=later, host="HO-PC001").run_id)
    pc = subject(store, run, "HO-PC001")
    status = {r.rule_id: r.status for r in pc.results}
    assert status["L1-REPORT-01"] == "fail"
    # Patch age is judged from the release table (its own freshness rule, golden cases of
    # L1-PATCH-01), no longer from the report's age.


def test_worker_processes_give_the_same_results(store_url, sample_org, profiles) -> None:
    # The whole demo fleet, checked by one process and by two worker processes.
    s = open_store(store_url)
    try:
        docs = [(name, doc) for name, doc in generate(sample_org, now=NOW)]
        assert ingest_documents(s, RegisterIndex(sample_org), docs).accepted == len(docs)
        one = run_check(s, sample_org, profiles, now=NOW, workers=1)
        two = run_check(s, sample_org, profiles, now=NOW, workers=2)
        assert two.timings["workers"] == 2 and one.timings["workers"] == 1
        assert one.totals == two.totals and one.units == two.units

        def results(run_id):
            run = load_run(s, run_id)
            return {
                sub.key: {r.rule_id: (r.status, r.evidence) for r in sub.results}
                for sub in iter_subjects(s, run)
            }

        assert results(one.run_id) == results(two.run_id)
        assert compare_runs(s, load_run(s, one.run_id), load_run(s, two.run_id)) == []
    finally:
        s.close()


def test_host_filter_on_a_register_entry_that_never_reported(store, sample_org, profiles) -> None:
    summary = run_check(store, sample_org, profiles, now=NOW, host="HO-PC-002")
    run = load_run(store, summary.run_id)
    (silent,) = list(iter_subjects(store, run))
    assert (silent.kind, silent.asset_tag) == ("asset", "HO-PC-002")
    assert silent.result("L1-REG-02").status == "fail"

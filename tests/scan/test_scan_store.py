"""Reconciled scans in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa

from itaudit.scan import tables as st
from itaudit.scan.reconcile import Finding, Missing, reconcile
from itaudit.scan.records import Observation, Port, ScanRecord, latest_sightings, save_scan
from itaudit.scan.results import latest_findings, load_scan, previous_scan_id, store_scan
from itaudit.scan.targets import parse_targets
from itaudit.store import open_store


@pytest.fixture
def store(store_url):
    s = open_store(store_url)
    yield s
    s.close()


def _record(unit="u", key="10.0.0.0/24", status="complete", minute=0) -> ScanRecord:
    return ScanRecord(
        targets=(key,),
        target_key=key,
        started_at=datetime(2026, 11, 20, 9, minute),
        finished_at=datetime(2026, 11, 20, 9, minute + 1),
        status=status,
        unit=unit,
        options={"ports": [23], "simulated": False},
        nmap_version="7.93",
        run_by="tester",
        addresses=256,
    )


def _result(observations, unit=None):
    return reconcile(
        observations,
        unit=unit,
        targets=parse_targets(["10.0.0.0/24"]),
        org=None,
        hosts=[],
        ports={},
    )


def test_the_reconciliation_migration_is_applied(store):
    assert "scan.002_reconciliation" in store.applied_migrations()


def test_a_reconciled_scan_round_trips(store):
    obs = [
        Observation(
            "10.0.0.5",
            mac="b4:2e:99:00:00:05",
            vendor="Giga-byte",
            hostnames=("x",),
            open_ports=(Port(23, "tcp", "telnet"),),
        )
    ]
    result = _result(obs)
    scan_id = store_scan(store, _record(), result)
    back = load_scan(store, scan_id)
    assert back.observations[0].bucket == "unknown"
    assert back.observations[0].open_ports == (Port(23, "tcp", "telnet"),)
    assert back.findings == result.findings
    assert back.summary["unknown"] == 1
    assert back.options == {"ports": [23], "simulated": False}


def test_missing_entries_and_finding_details_are_stored(store):
    result = _result([])
    result = type(result)(
        "u",
        (),
        (Missing("register", "PC-1", None, "PC1", "workstation", "10.0.0.9"),),
        (
            Finding(
                "register-count",
                "low",
                detail={
                    "type": "projector",
                    "registered": 4,
                    "seen": 5,
                    "unregistered": 1,
                    "unit": "u",
                },
            ),
        ),
    )
    scan_id = store_scan(store, _record(), result)
    back = load_scan(store, scan_id)
    assert back.missing == result.missing
    assert back.findings[0].detail["seen"] == 5
    assert "5" in back.findings[0].message("en")


def test_latest_findings_and_sightings_follow_the_latest_complete_scan(store):
    store_scan(store, _record(minute=0), _result([Observation("10.0.0.1")]))
    newer = store_scan(store, _record(minute=5), _result([Observation("10.0.0.2")]))
    save_scan(store, _record(minute=9, status="failed"), [])
    assert {s.observation.address for s in latest_sightings(store, "u")} == {"10.0.0.2"}
    assert {(sid, f.address) for sid, _, f in latest_findings(store, "u")} == {(newer, "10.0.0.2")}
    assert latest_sightings(store, "u")[0].observation.bucket == "unknown"


def test_previous_scan_is_the_latest_complete_one_of_the_same_targets(store):
    first = store_scan(store, _record(minute=0), _result([]))
    store_scan(store, _record(minute=1, key="10.0.1.0/24"), _result([]))
    save_scan(store, _record(minute=2, status="failed"), [])
    assert previous_scan_id(store, "10.0.0.0/24") == first
    second = store_scan(store, _record(minute=3), _result([]))
    assert previous_scan_id(store, "10.0.0.0/24", before=second) == first
    assert previous_scan_id(store, "10.9.9.0/24") is None


def test_deleting_a_scan_deletes_its_reconciliation(store):
    scan_id = store_scan(store, _record(), _result([Observation("10.0.0.1")]))
    with store.write() as conn:
        conn.execute(st.scans.delete().where(st.scans.c.id == scan_id))
    with store.read() as conn:
        for table in (st.scan_findings, st.scan_reconciliations, st.scan_observations):
            assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() == 0

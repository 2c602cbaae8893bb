"""Signed reports: verification, key pinning (trust on first use), replay, rekey."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from itaudit.ingest import ingest_documents
from itaudit.org.matching import RegisterIndex
from itaudit.signing import key_fingerprint, public_key_b64, sign_report, verify_report
from itaudit.store import open_store


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@pytest.fixture
def store(store_url):
    s = open_store(store_url)
    yield s
    s.close()


@pytest.fixture
def key():
    return Ed25519PrivateKey.generate()


def _one(store, doc):
    summary = ingest_documents(store, RegisterIndex(None), [("r.json", doc)])
    return summary.outcomes[0]


def test_signed_report_is_accepted_and_its_key_pinned(store, make_report, key):
    outcome = _one(store, sign_report(make_report("SIG-1"), key))
    assert (outcome.status, outcome.signed) == ("accepted", True)
    host = store.host("SIG-1")
    assert host.key_fingerprint == key_fingerprint(public_key_b64(key))
    assert [e["event"] for e in store.key_events(host.id)] == ["pinned"]


def test_report_edited_after_signing_is_rejected(store, make_report, key):
    signed = sign_report(make_report("SIG-2"), key)
    signed["security"]["antivirus"][0]["enabled"] = False  # someone "fixes" the evidence
    outcome = _one(store, signed)
    assert outcome.status == "rejected"
    assert "signature does not match the report content" in outcome.reason
    assert store.host("SIG-2") is None


def test_report_signed_by_another_key_is_rejected(store, make_report, key):
    now = datetime.now(UTC)
    _one(
        store,
        sign_report(
            make_report(
                "SIG-3", serial="S3", hardware_uuid=None, collected_at=_iso(now - timedelta(days=1))
            ),
            key,
        ),
    )
    intruder = Ed25519PrivateKey.generate()
    outcome = _one(
        store,
        sign_report(
            make_report("SIG-3", serial="S3", hardware_uuid=None, collected_at=_iso(now)), intruder
        ),
    )
    assert outcome.status == "rejected"
    assert (
        "was first seen with key" in outcome.reason
        and "itaudit hosts rekey SIG-3" in outcome.reason
    )
    assert store.latest_document(store.host("SIG-3").id)["collected_at"] == _iso(
        now - timedelta(days=1)
    )


def test_unsigned_report_for_a_signing_host_is_rejected(store, make_report, key):
    now = datetime.now(UTC)
    _one(
        store,
        sign_report(
            make_report(
                "SIG-4", serial="S4", hardware_uuid=None, collected_at=_iso(now - timedelta(days=1))
            ),
            key,
        ),
    )
    outcome = _one(
        store, make_report("SIG-4", serial="S4", hardware_uuid=None, collected_at=_iso(now))
    )
    assert outcome.status == "rejected"
    assert "unsigned, but host SIG-4 signs its reports" in outcome.reason


def test_unsigned_report_is_accepted_and_marked(store, make_report):
    outcome = _one(store, make_report("UNSIGNED-1"))
    assert (outcome.status, outcome.signed) == ("accepted", False)
    assert store.history(store.host("UNSIGNED-1").id)[0].signature_state == "unsigned"


def test_replayed_old_report_never_becomes_current(store, make_report, key):
    now = datetime.now(UTC)
    old = sign_report(
        make_report(
            "SIG-5", serial="S5", hardware_uuid=None, collected_at=_iso(now - timedelta(days=10))
        ),
        key,
    )
    new = sign_report(
        make_report(
            "SIG-5", serial="S5", hardware_uuid=None, collected_at=_iso(now - timedelta(hours=2))
        ),
        key,
    )
    assert _one(store, new).current
    replay = _one(store, old)
    assert (replay.status, replay.current) == ("accepted", False)
    assert store.latest_document(store.host("SIG-5").id)["collected_at"] == new["collected_at"]


def test_rekey_lets_a_new_key_in_and_is_recorded(store, make_report, key):
    now = datetime.now(UTC)
    _one(
        store,
        sign_report(
            make_report(
                "SIG-6", serial="S6", hardware_uuid=None, collected_at=_iso(now - timedelta(days=1))
            ),
            key,
        ),
    )
    host = store.host("SIG-6")
    store.rekey(host.id, actor="it-officer", note="agent reinstalled")
    new_key = Ed25519PrivateKey.generate()
    outcome = _one(
        store,
        sign_report(
            make_report("SIG-6", serial="S6", hardware_uuid=None, collected_at=_iso(now)), new_key
        ),
    )
    assert outcome.status == "accepted" and outcome.current
    events = store.key_events(host.id)
    assert [e["event"] for e in events] == ["pinned", "rekey-allowed", "pinned"]
    assert events[1]["actor"] == "it-officer" and events[1]["note"] == "agent reinstalled"
    assert store.host("SIG-6").key_fingerprint == key_fingerprint(public_key_b64(new_key))


def test_signature_survives_a_round_trip_through_json(make_report, key):
    signed = sign_report(make_report("ROUND"), key)
    assert verify_report(json.loads(json.dumps(signed, indent=2))) is not None


def test_rekey_command(tmp_path, workspace, run_cli, make_report, key):
    now = datetime.now(UTC)
    first = tmp_path / "1.json"
    first.write_text(
        json.dumps(
            sign_report(
                make_report(
                    "SIG-7",
                    serial="S7",
                    hardware_uuid=None,
                    collected_at=_iso(now - timedelta(days=1)),
                ),
                key,
            )
        )
    )
    second = tmp_path / "2.json"
    second.write_text(
        json.dumps(
            sign_report(
                make_report("SIG-7", serial="S7", hardware_uuid=None, collected_at=_iso(now)),
                Ed25519PrivateKey.generate(),
            )
        )
    )
    ws = ["-w", str(workspace.root)]
    assert run_cli(*ws, "ingest", str(first)).returncode == 0
    refused = run_cli(*ws, "ingest", str(second))
    assert refused.returncode == 1 and "first seen with key" in refused.stderr
    rekey = run_cli(
        *ws, "hosts", "rekey", "SIG-7", "--yes", "--by", "Le Van Tuan", "--reason", "reinstalled"
    )
    assert rekey.returncode == 0 and "forgotten" in rekey.stdout
    accepted = run_cli(*ws, "ingest", str(second))
    assert accepted.returncode == 0, accepted.output

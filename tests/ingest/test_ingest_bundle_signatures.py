"""Windows collector signatures at ingest: verified from the report, pinned per key store."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from itaudit.agent.bundle_signing import sign_bundle
from itaudit.agent.catalog import load_catalog
from itaudit.agent.collect import parse_bundle
from itaudit.ingest import ingest_documents
from itaudit.org.matching import RegisterIndex
from itaudit.signing import sign_report
from itaudit.store import open_store

FIXTURE = Path(__file__).resolve().parent.parent / "agent/fixtures/win11-defender-only/bundle"
HOST = "HO-TTR-LT02"


@pytest.fixture
def store(store_url):
    s = open_store(store_url)
    yield s
    s.close()


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.fixture
def report(tmp_path, catalog):
    """report(day, key=None, key_store="machine"): HOST's report collected on 2024-06-<day>."""

    def make(day: int, key: ec.EllipticCurvePrivateKey | None = None, key_store: str = "machine"):
        folder = tmp_path / f"b{day}-{key_store}"
        shutil.copytree(FIXTURE, folder)
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8-sig"))
        manifest["collected_at"] = f"2024-06-{day:02d}T08:00:00Z"
        (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        if key is not None:
            sign_bundle(folder, key, key_store)
        return parse_bundle(folder, catalog)

    return make


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _one(store, doc):
    return ingest_documents(store, RegisterIndex(None), [("r.json", doc)]).outcomes[0]


def test_machine_and_user_keys_of_one_host_are_both_known(store, report):
    first = _one(store, report(10, _key(), "machine"))
    assert (first.status, first.signed) == ("accepted", True)
    second = _one(store, report(11, _key(), "user"))
    assert second.status == "accepted", second.reason
    assert "second key of this host, its user key store" in second.reason
    host = store.host(HOST)
    assert [k["slot"] for k in store.host_keys(host.id)] == ["machine", "user"]
    assert [e["event"] for e in store.key_events(host.id)] == ["pinned", "pinned"]


@pytest.mark.parametrize("third_store", ["machine", "user"])
def test_a_third_key_of_a_store_already_pinned_is_refused(store, report, third_store):
    machine, user = _key(), _key()
    assert _one(store, report(10, machine, "machine")).status == "accepted"
    assert _one(store, report(11, user, "user")).status == "accepted"
    assert _one(store, report(12, machine, "machine")).status == "accepted"  # its own key: fine
    outcome = _one(store, report(13, _key(), third_store))
    assert outcome.status == "rejected"
    assert "was first seen with key" in outcome.reason
    assert f"itaudit hosts rekey {HOST}" in outcome.reason
    assert store.latest_document(store.host(HOST).id)["collected_at"] == "2024-06-12T08:00:00Z"


def test_rekey_of_one_store_keeps_the_other(store, report):
    user = _key()
    _one(store, report(10, _key(), "machine"))
    _one(store, report(11, user, "user"))
    host = store.host(HOST)
    store.rekey(host.id, "officer", "reinstalled", slot="machine")
    assert [k["slot"] for k in store.host_keys(host.id)] == ["user"]
    assert _one(store, report(12, _key(), "machine")).status == "accepted"
    assert _one(store, report(13, _key(), "user")).status == "rejected"  # still pinned
    assert _one(store, report(14, user, "user")).status == "accepted"


def test_a_windows_key_is_not_taken_beside_an_agent_key(store, report):
    _one(store, sign_report(report(10), Ed25519PrivateKey.generate()))
    outcome = _one(store, report(11, _key(), "user"))
    assert outcome.status == "rejected"
    assert "(agent)" in outcome.reason and "(user)" in outcome.reason


def test_unsigned_bundles_stay_accepted_but_not_over_signed_ones(store, report):
    unsigned = _one(store, report(10))
    assert (unsigned.status, unsigned.signed) == ("accepted", False)
    assert _one(store, report(11, _key())).status == "accepted"  # first key: pinned
    outcome = _one(store, report(12))
    assert outcome.status == "rejected"
    assert "unsigned, but host HO-TTR-LT02 signs its reports" in outcome.reason


def test_a_report_parsed_and_signed_pins_the_workstation_key(store, report):
    # `agent parse --key`: the officer's Ed25519 signature covers the derived facts;
    # the host's key is the collector's, not the parsing machine's.
    key = _key()
    doc = sign_report(report(10, key, "machine"), Ed25519PrivateKey.generate())
    assert _one(store, doc).status == "accepted"
    assert [k["slot"] for k in store.host_keys(store.host(HOST).id)] == ["machine"]
    edited = sign_report(report(11, key, "machine"), Ed25519PrivateKey.generate())
    edited["security"]["firewall"] = None  # after parse-signing: caught by the Ed25519 signature
    outcome = _one(store, edited)
    assert outcome.status == "rejected"
    assert "signature does not match the report content" in outcome.reason


def test_facts_edited_after_an_unsigned_parse_are_not_seen_from_the_report_alone(store, report):
    # The statement binds host, time and files, not the facts parse derived from them:
    # the limit docs/agent.md ("Signed bundles") states. Parse with --key to close it.
    doc = report(10, _key(), "machine")
    doc["security"]["firewall"] = None
    assert _one(store, doc).status == "accepted"


def test_a_forged_bundle_signature_is_rejected_with_its_reason(store, report):
    doc = report(10, _key(), "machine")
    raw = bytearray(base64.b64decode(doc["bundle_signature"]["value"]))
    raw[63] ^= 1  # one bit of s
    doc["bundle_signature"]["value"] = base64.b64encode(bytes(raw)).decode()
    outcome = _one(store, doc)
    assert outcome.status == "rejected"
    assert outcome.reason.startswith("signature rejected: bundle signature does not match")
    assert store.host(HOST) is None

"""A machine whose anti-malware facts were not collected blocks the holiday as
"could not be checked", counted per unit where the response team reads it
(issue 10: every gap in collection shows up where people look)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from readiness_data import DEMO_NOW

from itaudit.demo.run import run_demo
from itaudit.signing import sign_report
from itaudit.store import open_store
from itaudit.workspace import Workspace, init_workspace


def test_missing_antimalware_facts_block_readiness_as_could_not_check(tmp_path, run_cli):
    ws = Workspace(tmp_path / "ws")
    init_workspace(ws.root)
    store = open_store(ws.default_store_url)
    try:
        run_demo(ws, store, lambda _text: None, now=DEMO_NOW)
        row = store.host("DVVL-PC001")
        assert row is not None
        doc = store.latest_document(row.id)
    finally:
        store.close()
    assert doc is not None
    doc.pop("signature", None)
    doc.pop("bundle_signature", None)
    doc["report_id"] = str(uuid.uuid4())
    later = DEMO_NOW + timedelta(hours=1)
    doc["collected_at"] = later.strftime("%Y-%m-%dT%H:%M:%SZ")
    doc["security"]["antivirus"] = None
    doc["errors"] = [
        {"probe": "security.antivirus", "kind": "denied", "message": "WMI access denied"}
    ]
    # The agent was reinstalled on that machine (a new key, accepted by the officer):
    # the test does not depend on how the demo keys its machines.
    doc = sign_report(doc, Ed25519PrivateKey.generate())
    changed = tmp_path / "dvvl-pc-001.json"
    changed.write_text(json.dumps(doc), encoding="utf-8")
    wsa = ("-w", str(ws.root))
    host = doc["identity"]["hostname"]
    assert run_cli("hosts", "rekey", host, "--yes", "--reason", "test", *wsa).returncode == 0
    ingest = run_cli("ingest", str(changed), *wsa)
    assert "1 accepted" in ingest.output, ingest.output
    now = (later + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S")
    run_cli("check", "--now", now, *wsa)
    result = run_cli("readiness", "--today", DEMO_NOW.date().isoformat(), "-f", "json", *wsa)
    data = json.loads(result.stdout)
    dvvl = next(u for u in data["units"] if u["unit"] == "dvvl")
    unknown = [b for b in dvvl["blockers"] if b["could_not_check"]]
    assert {b["rule"] for b in unknown} >= {"L1-AV-02"}, dvvl["blockers"]
    assert dvvl["could_not_check"] == len(unknown) > 0
    assert dvvl["verdict"] == "NO-GO"
    av = next(b for b in unknown if b["rule"] == "L1-AV-02")
    assert "WMI access denied" in " ".join(av["evidence"])

"""A fresh key cannot silently claim a known host's name (issue 12, finding 4).

Through the real CLI: a host signs its reports; a report under the same name
with a new key and no identifier in common is stored as a possible impostor,
named by ingest (exit 1), `hosts`, `hosts show` and the check (L1-REPORT-03),
until the officer resolves it. The same machine with its own key, even with
new hardware identifiers, is not a conflict."""

from __future__ import annotations

import json

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from itaudit.signing import sign_report

NAME = "HO-PC999"


def _write(folder, name, doc):
    path = folder / name
    path.write_text(json.dumps(doc))
    return str(path)


def test_a_new_key_under_a_known_name_is_a_possible_impostor(
    tmp_path, workspace, run_cli, make_report
):
    ws = ("-w", str(workspace.root))
    owner_key, intruder_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    first = sign_report(make_report(NAME), owner_key)
    assert run_cli("ingest", _write(tmp_path, "a.json", first), *ws).returncode == 0
    # The owner's own machine after a motherboard swap: new identifiers, same key.
    same = sign_report(make_report(NAME), owner_key)
    result = run_cli("ingest", _write(tmp_path, "b.json", same), *ws)
    assert result.returncode == 0 and "IMPOSTOR" not in result.output, result.output

    intruder = sign_report(make_report(NAME), intruder_key)
    result = run_cli("ingest", _write(tmp_path, "c.json", intruder), *ws)
    assert result.returncode == 1, result.output
    assert "IMPOSTOR?" in result.stderr and "itaudit hosts resolve" in result.stderr

    listing = run_cli("hosts", "-f", "json", *ws)
    rows = [r for r in json.loads(listing.stdout) if r["hostname"] == NAME]
    suspects = [r for r in rows if r["identity"].startswith("POSSIBLE IMPOSTOR")]
    assert len(rows) == 3 and len(suspects) == 1, rows
    suspect_id = suspects[0]["identity"].rsplit(" ", 1)[-1]

    shown = run_cli("hosts", "show", NAME, *ws)
    assert shown.returncode == 0
    assert f"host #{suspect_id} reports under the same name with another key" in shown.stderr

    check = run_cli("check", "-f", "json", "--fail-on", "critical", *ws)
    results = json.loads(check.stdout)["results"]
    flagged = [r for r in results if r["rule"] == "L1-REPORT-03" and r["status"] == "fail"]
    assert [r["host"] for r in flagged] == [NAME], flagged
    assert any("name_conflict" in line for line in flagged[0]["evidence"])

    resolved = run_cli("hosts", "resolve", suspect_id, "--reject", "--reason", "test", *ws)
    assert resolved.returncode == 0, resolved.output
    check = run_cli("check", "-f", "json", "--fail-on", "critical", *ws)
    results = json.loads(check.stdout)["results"]
    assert not [r for r in results if r["rule"] == "L1-REPORT-03" and r["status"] == "fail"]
    listing = json.loads(run_cli("hosts", "-f", "json", *ws).stdout)
    assert any(r["identity"].startswith("rejected as an impostor") for r in listing)
